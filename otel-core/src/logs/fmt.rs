//! A `tracing-subscriber` formatting layer that appends the current OpenTelemetry
//! `trace_id` / `span_id` to every line, in plain text or JSON.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::Context as OtelContext;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// The default writer of [`FmtLayer`]: standard output, like `tracing-subscriber`'s own
/// formatter.
pub type StdoutWriter = fn() -> io::Stdout;

/// Keys the JSON format writes itself; an event field with one of these names is
/// written as `field.<name>` so it cannot shadow (or duplicate) the real value.
const RESERVED: [&str; 5] = ["timestamp", "level", "target", "trace_id", "span_id"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Plain,
    Json,
}

/// A `tracing-subscriber` [`Layer`] that writes one line per `tracing` event and, when
/// the event happens inside an OpenTelemetry span (the span of
/// [`opentelemetry::Context::current`], as set by [`crate::in_span`] or
/// `#[instrumented]`), appends that span's `trace_id` and `span_id`. Outside a span no
/// ids are written.
///
/// Two formats:
///
/// - plain (the default), for humans:
///   `2026-01-01T00:00:00.000000Z  INFO shop: order placed order_id=42 user="bob" trace_id=4bf9… span_id=00f0…`
///   (string fields are quoted and escaped, other values are written as they display);
/// - JSON ([`FmtLayer::json`]), one object per line for log shippers: `timestamp`
///   (RFC 3339, UTC, microseconds), `level`, `target`, `message`, then the event's fields
///   with their JSON types, then `trace_id` and `span_id`. A field named like one of the
///   reserved keys is written as `field.<name>`.
///
/// Timestamps are UTC. Only OpenTelemetry spans are shown; `tracing` spans (from
/// `tracing::span!`) are not printed.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(otel_core::logs::fmt_layer().json());
/// tracing::subscriber::with_default(subscriber, || {
///     otel_core::in_span("checkout", || tracing::info!(items = 3, "checking out"));
/// });
/// ```
#[must_use]
pub struct FmtLayer<W = StdoutWriter> {
    format: Format,
    ansi: bool,
    make_writer: W,
    /// Read once per event; a field so tests can pin the clock.
    now: fn() -> SystemTime,
}

/// A plain-text [`FmtLayer`] writing to standard output, without colours.
///
/// It formats every event it is given: filter by level or target with
/// `tracing-subscriber`'s `Layer::with_filter`.
///
/// ```
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::layer::{Layer, SubscriberExt};
///
/// let subscriber = tracing_subscriber::registry()
///     .with(otel_core::logs::fmt_layer().with_filter(LevelFilter::INFO));
/// # drop(subscriber);
/// ```
pub fn fmt_layer() -> FmtLayer {
    FmtLayer::default()
}

impl Default for FmtLayer {
    fn default() -> Self {
        FmtLayer {
            format: Format::Plain,
            ansi: false,
            make_writer: io::stdout,
            now: SystemTime::now,
        }
    }
}

impl<W> fmt::Debug for FmtLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FmtLayer")
            .field("format", &self.format)
            .field("ansi", &self.ansi)
            .finish_non_exhaustive()
    }
}

impl<W> FmtLayer<W> {
    /// Writes one JSON object per line.
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().json();
    /// # drop(layer);
    /// ```
    pub fn json(mut self) -> Self {
        self.format = Format::Json;
        self
    }

    /// Writes human-readable lines (the default).
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().json().plain();
    /// # drop(layer);
    /// ```
    pub fn plain(mut self) -> Self {
        self.format = Format::Plain;
        self
    }

    /// Colours the level of plain lines with ANSI escape codes (off by default, so
    /// files and pipes stay clean; JSON lines are never coloured).
    ///
    /// ```
    /// use std::io::IsTerminal;
    ///
    /// let layer = otel_core::logs::fmt_layer().with_ansi(std::io::stdout().is_terminal());
    /// # drop(layer);
    /// ```
    pub fn with_ansi(mut self, ansi: bool) -> Self {
        self.ansi = ansi;
        self
    }

    /// Writes to `make_writer` instead of standard output: anything implementing
    /// `tracing_subscriber::fmt::MakeWriter`, such as `std::io::stderr`, a
    /// `Mutex<File>`, or a non-blocking writer.
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().with_writer(std::io::stderr);
    /// # drop(layer);
    /// ```
    pub fn with_writer<W2>(self, make_writer: W2) -> FmtLayer<W2>
    where
        W2: for<'a> MakeWriter<'a> + 'static,
    {
        FmtLayer {
            format: self.format,
            ansi: self.ansi,
            make_writer,
            now: self.now,
        }
    }
}

thread_local! {
    /// The line being built, reused so that formatting does not allocate per event.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S, W> Layer<S> for FmtLayer<W>
where
    S: Subscriber,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let ids = current_ids();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = (self.now)();

        let write = |line: &mut String| {
            line.clear();
            let meta = event.metadata();
            match self.format {
                Format::Plain => write_plain(line, now, meta.level(), meta.target(), &fields, ids, self.ansi),
                Format::Json => write_json(line, now, meta.level(), meta.target(), &fields, ids),
            }
            // A failing log sink must not take the application down, and there is
            // nowhere better to report it than the sink itself.
            let _ = self.make_writer.make_writer_for(meta).write_all(line.as_bytes());
        };
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            // Re-entered from inside the writer (it logged something): use a fresh buffer.
            Err(_) => write(&mut String::new()),
        });
    }
}

fn current_ids() -> Option<(TraceId, SpanId)> {
    OtelContext::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
    })
}

/// A field value, keeping its type so JSON can write numbers and booleans as such.
#[derive(Debug)]
enum Value {
    /// Recorded as a string: quoted in plain lines.
    Str(String),
    /// Recorded through `Debug`/`Display` (including `%x`, `?x` and errors): bare in
    /// plain lines, a string in JSON.
    Text(String),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
}

#[derive(Debug, Default)]
struct Fields {
    message: Option<String>,
    values: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            let text = match value {
                Value::Str(s) | Value::Text(s) => s,
                other => {
                    let mut s = String::new();
                    write_value_plain(&mut s, &other);
                    s
                }
            };
            self.message = Some(text);
        } else {
            self.values.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::U64(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, Value::I128(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, Value::U128(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Str(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Display, with the chain of sources, says more than the Debug of most errors.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.push(field, Value::Text(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Text(format!("{value:?}")));
    }
}

fn level_color(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "\x1b[35m",
        Level::DEBUG => "\x1b[34m",
        Level::INFO => "\x1b[32m",
        Level::WARN => "\x1b[33m",
        Level::ERROR => "\x1b[31m",
    }
}

fn write_plain(
    out: &mut String,
    now: SystemTime,
    level: &Level,
    target: &str,
    fields: &Fields,
    ids: Option<(TraceId, SpanId)>,
    ansi: bool,
) {
    let _ = super::time::write_rfc3339(out, now, 6);
    out.push(' ');
    if ansi {
        let _ = write!(out, "{}{:>5}\x1b[0m", level_color(level), level.as_str());
    } else {
        let _ = write!(out, "{:>5}", level.as_str());
    }
    let _ = write!(out, " {target}:");
    if let Some(message) = &fields.message {
        out.push(' ');
        out.push_str(message);
    }
    for (name, value) in &fields.values {
        let _ = write!(out, " {name}=");
        write_value_plain(out, value);
    }
    if let Some((trace_id, span_id)) = ids {
        let _ = write!(out, " trace_id={trace_id} span_id={span_id}");
    }
    out.push('\n');
}

fn write_value_plain(out: &mut String, value: &Value) {
    let _ = match value {
        Value::Str(s) => write!(out, "{s:?}"),
        Value::Text(s) => write!(out, "{s}"),
        Value::Bool(v) => write!(out, "{v}"),
        Value::I64(v) => write!(out, "{v}"),
        Value::U64(v) => write!(out, "{v}"),
        Value::I128(v) => write!(out, "{v}"),
        Value::U128(v) => write!(out, "{v}"),
        Value::F64(v) => write!(out, "{v}"),
    };
}

fn write_json(
    out: &mut String,
    now: SystemTime,
    level: &Level,
    target: &str,
    fields: &Fields,
    ids: Option<(TraceId, SpanId)>,
) {
    out.push_str("{\"timestamp\":\"");
    let _ = super::time::write_rfc3339(out, now, 6);
    out.push_str("\",\"level\":\"");
    out.push_str(level.as_str());
    out.push_str("\",\"target\":");
    write_json_str(out, target);
    if let Some(message) = &fields.message {
        out.push_str(",\"message\":");
        write_json_str(out, message);
    }
    for (name, value) in &fields.values {
        out.push(',');
        if RESERVED.contains(name) {
            write_json_str(out, &format!("field.{name}"));
        } else {
            write_json_str(out, name);
        }
        out.push(':');
        write_value_json(out, value);
    }
    if let Some((trace_id, span_id)) = ids {
        let _ = write!(out, ",\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"");
    }
    out.push_str("}\n");
}

fn write_value_json(out: &mut String, value: &Value) {
    let _ = match value {
        Value::Str(s) | Value::Text(s) => {
            write_json_str(out, s);
            Ok(())
        }
        Value::Bool(v) => write!(out, "{v}"),
        Value::I64(v) => write!(out, "{v}"),
        Value::U64(v) => write!(out, "{v}"),
        Value::I128(v) => write!(out, "{v}"),
        Value::U128(v) => write!(out, "{v}"),
        // Rust prints finite floats as valid JSON numbers (`1e300` included); NaN and
        // infinities have no JSON form, so they are kept readable as strings.
        Value::F64(v) if v.is_finite() => write!(out, "{v}"),
        Value::F64(v) => write!(out, "\"{v}\""),
    };
}

/// Writes `s` as a JSON string literal (RFC 8259 escaping).
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use serde_json::{json, Value};
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::{fmt_layer, FmtLayer};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// 2026-01-01T00:00:00.000123Z
    fn fixed_now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600) + Duration::from_micros(123)
    }

    fn capture(layer: FmtLayer, f: impl FnOnce()) -> Vec<String> {
        let buffer = Buffer::default();
        let mut layer = layer.with_writer(buffer.clone());
        layer.now = fixed_now;
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        buffer.lines()
    }

    /// Runs `f` inside a sampled span of a real SDK tracer and returns the span's ids
    /// as the formatter must print them.
    fn in_otel_span(f: impl FnOnce()) -> (String, String) {
        let tracer = SdkTracerProvider::builder().build().tracer("test");
        tracer.in_span("work", |cx| {
            f();
            let sc = cx.span().span_context().clone();
            assert!(sc.is_valid());
            (
                format!("{:032x}", sc.trace_id()),
                format!("{:016x}", sc.span_id()),
            )
        })
    }

    #[test]
    fn plain_line_outside_a_span_has_no_ids() {
        let lines = capture(fmt_layer(), || {
            tracing::info!(target: "shop", order_id = 42, user = "bob", ok = true, ratio = 0.5, "order placed");
        });
        assert_eq!(
            lines,
            [
                r#"2026-01-01T00:00:00.000123Z  INFO shop: order placed order_id=42 user="bob" ok=true ratio=0.5"#
            ]
        );
    }

    #[test]
    fn plain_line_inside_a_span_ends_with_its_ids() {
        let mut ids = (String::new(), String::new());
        let lines = capture(fmt_layer(), || {
            ids = in_otel_span(|| {
                tracing::warn!(target: "db", rows = -3_i64, "slow query");
                tracing::error!(target: "db", "no message fields");
            });
            tracing::debug!(target: "db", "after");
        });
        let (trace_id, span_id) = ids;
        assert_eq!(
            lines,
            [
                format!(
                    "2026-01-01T00:00:00.000123Z  WARN db: slow query rows=-3 trace_id={trace_id} span_id={span_id}"
                ),
                format!(
                    "2026-01-01T00:00:00.000123Z ERROR db: no message fields trace_id={trace_id} span_id={span_id}"
                ),
                "2026-01-01T00:00:00.000123Z DEBUG db: after".to_owned(),
            ]
        );
    }

    #[test]
    fn plain_values_display_errors_and_debug_fields() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(io::Error::other("connection reset"));
        let lines = capture(fmt_layer(), || {
            tracing::info!(
                target: "t",
                error = &err as &dyn std::error::Error,
                path = %"/users/7",
                list = ?vec![1, 2],
                quoted = "a \"b\"",
            );
        });
        assert_eq!(
            lines,
            [
                r#"2026-01-01T00:00:00.000123Z  INFO t: error=request failed: connection reset path=/users/7 list=[1, 2] quoted="a \"b\"""#
            ]
        );
    }

    #[test]
    fn ansi_colours_only_the_level() {
        let lines = capture(fmt_layer().with_ansi(true), || {
            tracing::info!(target: "t", "hi");
        });
        assert_eq!(lines, ["2026-01-01T00:00:00.000123Z \x1b[32m INFO\x1b[0m t: hi"]);
    }

    #[test]
    fn json_line_inside_a_span_has_typed_fields_and_ids() {
        let mut ids = (String::new(), String::new());
        let lines = capture(fmt_layer().json(), || {
            ids = in_otel_span(|| {
                tracing::info!(
                    target: "shop",
                    order_id = 42_u64,
                    delta = -1_i64,
                    user = "bob",
                    ok = true,
                    ratio = 0.25,
                    big = u128::MAX,
                    path = %"/users/7",
                    "order placed"
                );
            });
        });
        let (trace_id, span_id) = ids;
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            json!({
                "timestamp": "2026-01-01T00:00:00.000123Z",
                "level": "INFO",
                "target": "shop",
                "message": "order placed",
                "order_id": 42,
                "delta": -1,
                "user": "bob",
                "ok": true,
                "ratio": 0.25,
                "big": u128::MAX.to_string().parse::<f64>().unwrap(),
                "path": "/users/7",
                "trace_id": trace_id,
                "span_id": span_id,
            })
        );
        // The documented key order: the fixed keys first, the ids last.
        assert!(lines[0].starts_with(
            r#"{"timestamp":"2026-01-01T00:00:00.000123Z","level":"INFO","target":"shop","message":"order placed","#
        ));
        assert!(lines[0].ends_with(&format!(r#","trace_id":"{trace_id}","span_id":"{span_id}"}}"#)));
    }

    #[test]
    fn json_line_outside_a_span_has_no_ids() {
        let lines = capture(fmt_layer().json(), || {
            tracing::warn!(target: "t", "alone");
        });
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            json!({
                "timestamp": "2026-01-01T00:00:00.000123Z",
                "level": "WARN",
                "target": "t",
                "message": "alone",
            })
        );
    }

    #[test]
    fn json_escapes_strings_and_renames_reserved_fields() {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} unicode é ✓";
        let lines = capture(fmt_layer().json(), || {
            tracing::error!(
                target: "t",
                level = "mine",
                trace_id = 7,
                not_a_number = f64::NAN,
                text = tricky,
                "{tricky}"
            );
        });
        assert_eq!(lines.len(), 1, "one event is one line even with newlines in it");
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["field.level"], "mine");
        assert_eq!(line["field.trace_id"], 7);
        assert!(line.get("trace_id").is_none());
        assert_eq!(line["not_a_number"], "NaN");
        assert_eq!(line["text"], tricky);
        assert_eq!(line["message"], tricky);
    }

    #[test]
    fn real_clock_timestamps_are_rfc3339_utc() {
        let buffer = Buffer::default();
        let layer = fmt_layer().json().with_writer(buffer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!("now");
        });
        let line: Value = serde_json::from_str(&buffer.lines()[0]).unwrap();
        let ts = line["timestamp"].as_str().unwrap();
        let bytes = ts.as_bytes();
        assert_eq!(ts.len(), 27, "{ts}");
        for (i, b) in bytes.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*b, b'-', "{ts}"),
                10 => assert_eq!(*b, b'T', "{ts}"),
                13 | 16 => assert_eq!(*b, b':', "{ts}"),
                19 => assert_eq!(*b, b'.', "{ts}"),
                26 => assert_eq!(*b, b'Z', "{ts}"),
                _ => assert!(b.is_ascii_digit(), "{ts}"),
            }
        }
        assert!(ts >= "2025", "{ts}");
    }
}
