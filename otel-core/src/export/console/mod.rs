//! Console exporters for development: each finished trace drawn as an indented waterfall,
//! metrics and log records as compact lines, written to stderr by default.
//!
//! They are meant for a developer's terminal, not for machines: the layout may change
//! between versions. Values coming from the application (span names, attribute values,
//! log bodies) are printed with control characters escaped, so they cannot break the
//! layout or smuggle terminal escape sequences onto the screen.
//!
//! Colour is on by default only when stderr is a terminal and `NO_COLOR` is unset or
//! empty (<https://no-color.org>); a custom writer is never coloured unless
//! `with_color(true)` asks for it.
//!
//! ```
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otel_core::export::console::{
//!     ConsoleLogExporter, ConsoleMetricExporter, ConsoleSpanExporter,
//! };
//!
//! let tracer_provider = SdkTracerProvider::builder()
//!     .with_batch_exporter(ConsoleSpanExporter::default())
//!     .build();
//! let meter_provider = SdkMeterProvider::builder()
//!     .with_periodic_exporter(ConsoleMetricExporter::default())
//!     .build();
//! let logger_provider = SdkLoggerProvider::builder()
//!     .with_simple_exporter(ConsoleLogExporter::default())
//!     .build();
//! # tracer_provider.shutdown().unwrap();
//! # meter_provider.shutdown().unwrap();
//! # logger_provider.shutdown().unwrap();
//! ```

mod logs;
mod metrics;
mod point;
mod trace;

pub use logs::{ConsoleLogExporter, ConsoleLogExporterBuilder};
pub use metrics::{ConsoleMetricExporter, ConsoleMetricExporterBuilder};
pub use trace::{ConsoleSpanExporter, ConsoleSpanExporterBuilder};

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use opentelemetry::{Key, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::resource::SERVICE_NAME;
use unicode_width::UnicodeWidthChar;

use crate::logs::time;
use crate::sync::lock;

/// Writer and colour choice collected by the three builders.
#[derive(Default)]
struct OutputConfig {
    writer: Option<Box<dyn Write + Send>>,
    color: Option<bool>,
}

impl OutputConfig {
    fn build(self) -> Output {
        // A custom writer is usually a file or a buffer, where escape codes are noise.
        let color = self
            .color
            .unwrap_or_else(|| self.writer.is_none() && stderr_wants_color());
        let writer = self
            .writer
            .unwrap_or_else(|| Box::new(std::io::stderr()) as Box<dyn Write + Send>);
        Output {
            writer: Mutex::new(writer),
            color,
        }
    }
}

impl fmt::Debug for OutputConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputConfig")
            .field("writer", &if self.writer.is_some() { "custom" } else { "stderr" })
            .field("color", &self.color)
            .finish()
    }
}

fn stderr_wants_color() -> bool {
    // no-color.org: a present but empty NO_COLOR does not disable colour.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// The destination shared by an exporter's calls; one `write` per export so lines of
/// concurrent exports never interleave.
struct Output {
    writer: Mutex<Box<dyn Write + Send>>,
    color: bool,
}

impl Output {
    fn write(&self, text: &str) -> OTelSdkResult {
        if text.is_empty() {
            return Ok(());
        }
        let mut writer = lock(&self.writer);
        writer
            .write_all(text.as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("console exporter could not write: {e}")))
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

/// ANSI styles used by the exporters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Bold,
    Dim,
    Red,
    Yellow,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Cyan => "36",
        }
    }
}

/// Appends `text` to `out`, wrapped in an SGR sequence when colour is on.
fn paint(out: &mut String, color: bool, style: Style, text: &str) {
    if color && !text.is_empty() {
        out.push_str("\x1b[");
        out.push_str(style.code());
        out.push('m');
        out.push_str(text);
        out.push_str("\x1b[0m");
    } else {
        out.push_str(text);
    }
}

/// Makes untrusted text fit one terminal line of at most `max` columns (the last one
/// `…` when cut), measured with `unicode-width` so wide (CJK, emoji) and zero-width
/// (combining) characters count for what they take on screen. Control characters are
/// shown escaped (`\n`, `\u{1b}`) so they can neither break the layout nor reach the
/// terminal; with `squash`, runs of whitespace (including newlines) become one space
/// instead, which suits SQL and other multi-line attribute values.
fn clean(text: &str, max: usize, squash: bool) -> String {
    let mut out = String::new();
    let mut columns = 0usize;
    let mut cut = false;
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| -> bool {
        let width = c.width().unwrap_or(0);
        if columns + width > max {
            return false;
        }
        out.push(c);
        columns += width;
        true
    };
    'chars: for c in text.chars() {
        if squash && c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            pending_space = false;
            if !push(' ', &mut out) {
                cut = true;
                break;
            }
        }
        if c.is_control() {
            for e in c.escape_default() {
                if !push(e, &mut out) {
                    cut = true;
                    break 'chars;
                }
            }
        } else if !push(c, &mut out) {
            cut = true;
            break;
        }
    }
    if cut && max > 0 {
        // Make room for the one-column `…`.
        while columns + 1 > max {
            match out.pop() {
                Some(c) => columns -= c.width().unwrap_or(0),
                None => break,
            }
        }
        out.push('…');
    }
    out
}

/// Quotes a cleaned string when it would otherwise be ambiguous in `key=value` lists.
fn quote_if_needed(text: String) -> String {
    if text.is_empty() || text.contains([' ', '=', '"', ',']) {
        format!("\"{}\"", text.replace('"', "\\\""))
    } else {
        text
    }
}

/// Formats an attribute value on one line, at most about `max` characters.
fn fmt_value(value: &Value, max: usize) -> String {
    match value {
        Value::String(s) => quote_if_needed(clean(s.as_str(), max, true)),
        Value::F64(v) => fmt_f64(*v),
        other => clean(&other.to_string(), max, true),
    }
}

/// Formats an attribute key; keys normally come from code, but are cleaned all the same.
fn fmt_key(key: &Key) -> String {
    clean(key.as_str(), 64, true)
}

/// Formats a float with at most six significant digits, without trailing zeros, so
/// sums like `0.1 + 0.2` print as `0.3`.
fn fmt_f64(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..15.0).contains(&magnitude) {
        return format!("{v:e}");
    }
    // `magnitude` is within -4..15 here, so the cast is exact.
    let decimals = (5 - magnitude as i32).max(0) as usize;
    let fixed = format!("{v:.decimals$}");
    if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        fixed
    }
}

/// Formats a duration with three significant digits in the largest fitting unit:
/// `850 ns`, `12.3 µs`, `120 ms`, `1.50 s`.
fn fmt_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1_000 {
        return format!("{nanos} ns");
    }
    let units = [(1e3, "µs"), (1e6, "ms"), (1e9, "s")];
    // Display precision only: u128 → f64 loses nothing visible at three digits.
    let nanos = nanos as f64;
    for (i, (scale, unit)) in units.iter().enumerate() {
        let v = nanos / scale;
        // Values that would round up to 1000 move to the next unit ("1.00 ms", not
        // "1000 µs"); seconds are the last unit, whatever their size.
        if v < 999.5 || i == units.len() - 1 {
            let decimals = if v < 9.995 {
                2
            } else if v < 99.95 {
                1
            } else {
                0
            };
            return format!("{v:.decimals$} {unit}");
        }
    }
    unreachable!("the last unit always returns")
}

/// Formats a time as RFC 3339 UTC with milliseconds, e.g. `2024-05-01T12:00:00.123Z`.
fn fmt_timestamp(time: SystemTime) -> String {
    let mut out = String::with_capacity(24);
    // Writing into a String cannot fail.
    let _ = time::write_rfc3339(&mut out, time, 3);
    out
}

/// The `service.name` of a resource, cleaned for display.
fn service_name(resource: &Resource) -> Option<String> {
    resource
        .get(&Key::from_static_str(SERVICE_NAME))
        .map(|v| clean(v.as_str().as_ref(), 64, true))
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod test_support {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read back after the exporter took ownership.
    #[derive(Clone, Default)]
    pub(crate) struct SharedBuf(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl SharedBuf {
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        pub(crate) fn clear(&self) {
            self.0.lock().unwrap().clear();
        }
    }

    impl Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that always fails, like a closed pipe.
    pub(crate) struct BrokenPipe;

    impl Write for BrokenPipe {
        fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
        }

        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_three_significant_digits() {
        let cases = [
            (Duration::from_nanos(850), "850 ns"),
            (Duration::from_nanos(1_234), "1.23 µs"),
            (Duration::from_nanos(12_345), "12.3 µs"),
            (Duration::from_nanos(999_400), "999 µs"),
            (Duration::from_nanos(999_600), "1.00 ms"),
            (Duration::from_millis(50), "50.0 ms"),
            (Duration::from_millis(120), "120 ms"),
            (Duration::from_millis(1_500), "1.50 s"),
            (Duration::from_secs(4_000), "4000 s"),
        ];
        for (input, expected) in cases {
            assert_eq!(fmt_duration(input), expected, "{input:?}");
        }
    }

    #[test]
    fn floats_drop_noise_digits() {
        assert_eq!(fmt_f64(0.1 + 0.2), "0.3");
        assert_eq!(fmt_f64(5.0), "5");
        assert_eq!(fmt_f64(-2.5), "-2.5");
        assert_eq!(fmt_f64(123.456_789), "123.457");
        assert_eq!(fmt_f64(1.5e-7), "1.5e-7");
        assert_eq!(fmt_f64(f64::NAN), "NaN");
    }

    #[test]
    fn clean_escapes_control_characters_and_cuts_long_text() {
        assert_eq!(clean("a\x1b[31mb", 20, false), "a\\u{1b}[31mb");
        assert_eq!(clean("line1\nline2", 20, false), "line1\\nline2");
        assert_eq!(
            clean("SELECT *\n   FROM t\tWHERE x ", 40, true),
            "SELECT * FROM t WHERE x"
        );
        assert_eq!(clean("abcdefgh", 5, false), "abcd…");
        assert_eq!(clean("abcde", 5, false), "abcde");
        assert_eq!(clean("", 5, false), "");
    }

    #[test]
    fn clean_counts_terminal_columns() {
        // Two columns a character: the cut leaves room for the `…`.
        assert_eq!(clean("検索検索", 8, false), "検索検索");
        assert_eq!(clean("検索検索", 7, false), "検索検…");
        assert_eq!(clean("検索検索", 6, false), "検索…");
        // A combining accent takes no column.
        assert_eq!(clean("cafe\u{301}s", 5, false), "cafe\u{301}s");
        assert_eq!(clean("cafe\u{301}s!", 5, false), "cafe\u{301}…");
        assert_eq!(clean("abc", 0, false), "");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        use std::time::UNIX_EPOCH;

        assert_eq!(fmt_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123); // leap year
        assert_eq!(fmt_timestamp(t), "2024-02-29T23:59:59.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(fmt_timestamp(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn values_are_quoted_only_when_ambiguous() {
        assert_eq!(fmt_value(&Value::from("GET"), 10), "GET");
        assert_eq!(fmt_value(&Value::from("a b"), 10), "\"a b\"");
        assert_eq!(fmt_value(&Value::from(""), 10), "\"\"");
        assert_eq!(fmt_value(&Value::from(200_i64), 10), "200");
        assert_eq!(fmt_value(&Value::from(true), 10), "true");
    }
}
