//! The compact format, for a terminal: time of day, level, the trace's short id, the
//! message and the fields, wrapped between fields to stay within 80 columns.

use std::fmt::{self, Write as _};

use opentelemetry::trace::TraceId;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{current_ids, Clock};

/// Cap on a line, in terminal columns: a field wider than a whole line is broken between
/// words onto lines of its own rather than cut, since a log must not lose data.
const MAX_LINE_COLUMNS: usize = 80;
/// Continuation lines are indented this much, under the time of day.
const CONTINUATION_INDENT: usize = 4;
/// Hex digits of the trace id shown: enough to find the trace's waterfall by eye.
const SHORT_TRACE_ID: usize = 8;

/// `HH:MM:SS.mmm LEVEL [trace] message key=value ...`, UTC, wrapped at 80 columns.
pub(super) struct CompactFormat {
    clock: Clock,
    ansi: bool,
}

impl CompactFormat {
    pub(super) fn new(clock: Clock, ansi: bool) -> Self {
        Self { clock, ansi }
    }

    /// The first line's prefix: time of day, level and, inside a span, the short trace id.
    fn prefix(&self, level: Level, trace_id: Option<TraceId>) -> Result<(String, usize), fmt::Error> {
        let mut timestamp = String::new();
        self.clock.write_now(&mut timestamp)?;
        // `YYYY-MM-DDTHH:MM:SS.ffffffZ`: the time of day to the millisecond.
        let time = timestamp.get(11..23).unwrap_or(&timestamp);
        let level_text = format!("{:>5}", level.as_str());
        let mut visible = format!("{time} {level_text}");
        let mut out = String::new();
        if self.ansi {
            write!(
                out,
                "\x1b[2m{time}\x1b[0m \x1b[{}m{level_text}\x1b[0m",
                level_colour(level)
            )?;
        } else {
            out.push_str(&visible);
        }
        if let Some(trace_id) = trace_id {
            let hex = format!("{trace_id}");
            let short = format!(" [{}]", hex.get(..SHORT_TRACE_ID).unwrap_or(&hex));
            out.push_str(&short);
            visible.push_str(&short);
        }
        Ok((out, visible.width()))
    }
}

impl<S, N> FormatEvent<S, N> for CompactFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (prefix, mut used) = self.prefix(*event.metadata().level(), current_ids().map(|(t, _)| t))?;
        writer.write_str(&prefix)?;
        let mut parts = Parts::default();
        event.record(&mut parts);
        let parts = parts.message.into_iter().chain(parts.fields);
        let newline = |writer: &mut Writer<'_>| -> fmt::Result {
            writer.write_char('\n')?;
            writer.write_str(&" ".repeat(CONTINUATION_INDENT))
        };
        let room = MAX_LINE_COLUMNS - CONTINUATION_INDENT;
        for part in parts {
            let width = part.width();
            if used + 1 + width <= MAX_LINE_COLUMNS {
                writer.write_char(' ')?;
                writer.write_str(&part)?;
                used += 1 + width;
                continue;
            }
            // A part that fits no line is broken between words onto lines of its own.
            for (i, piece) in wrap(&part, room).into_iter().enumerate() {
                if i > 0 || used > CONTINUATION_INDENT {
                    newline(&mut writer)?;
                }
                writer.write_str(&piece)?;
                used = CONTINUATION_INDENT + piece.width();
            }
        }
        writer.write_char('\n')
    }
}

/// `text` in pieces of at most `columns` columns, broken after spaces, or inside a
/// word longer than a whole piece.
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for word in text.split_inclusive(' ') {
        let last = pieces.last_mut().map_or(0, |piece| piece.width());
        if last > 0 && last + word.trim_end().width() > columns {
            pieces.push(String::new());
        }
        for c in word.chars() {
            let full = pieces.last().map_or(0, |piece| piece.width());
            if full + UnicodeWidthChar::width(c).unwrap_or(0) > columns && c != ' ' {
                pieces.push(String::new());
            }
            if let Some(piece) = pieces.last_mut() {
                piece.push(c);
            }
        }
    }
    // The spaces the breaks were taken after are not shown.
    pieces.iter().map(|piece| piece.trim_end().to_owned()).collect()
}

/// ANSI colours of the levels, as `tracing-subscriber` paints them.
fn level_colour(level: Level) -> u8 {
    match level {
        Level::TRACE => 35,
        Level::DEBUG => 34,
        Level::INFO => 32,
        Level::WARN => 33,
        Level::ERROR => 31,
    }
}

/// The message and the `key=value` fields of an event, each kept whole so lines
/// break between them. Values are written as `tracing-subscriber` writes them: strings
/// quoted, `%` values by `Display`, the rest by `Debug`; an error by `Display`, followed
/// by its sources after `: `.
#[derive(Default)]
struct Parts {
    message: Option<String>,
    fields: Vec<String>,
}

impl Visit for Parts {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(error) = source {
            // Bounded by the chain the error owns; `write!` to a String cannot fail.
            let _ = write!(text, ": {error}");
            source = error.source();
        }
        self.record_debug(field, &format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = Some(format!("{value:?}"));
        } else {
            // `r#type` fields are named `type` in the output, as `tracing-subscriber` does.
            let name = field.name().trim_start_matches("r#");
            self.fields.push(format!("{name}={value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use unicode_width::UnicodeWidthStr;

    use super::super::fmt_layer;
    use super::super::test_support::{capture, in_otel_span};

    #[test]
    fn compact_line_outside_a_span_has_time_level_message_and_fields() {
        let lines = capture(fmt_layer().compact(), || {
            tracing::info!(target: "shop", order_id = 42, user = "bob", ok = true, ratio = 0.5, "order placed");
            tracing::warn!(path = %"/users/7", list = ?vec![1, 2], "slow");
        });
        assert_eq!(
            lines,
            [
                r#"00:00:00.000  INFO order placed order_id=42 user="bob" ok=true ratio=0.5"#,
                r#"00:00:00.000  WARN slow path=/users/7 list=[1, 2]"#,
            ]
        );
    }

    #[test]
    fn compact_errors_show_their_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
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
        let err = Outer(std::io::Error::other("connection reset"));
        let lines = capture(fmt_layer().compact(), || {
            tracing::error!(error = &err as &dyn std::error::Error, "call failed");
        });
        assert_eq!(
            lines,
            ["00:00:00.000 ERROR call failed error=request failed: connection reset"]
        );
    }

    #[test]
    fn compact_line_inside_a_span_shows_the_short_trace_id() {
        let mut ids = (String::new(), String::new());
        let lines = capture(fmt_layer().compact(), || {
            ids = in_otel_span(|| tracing::error!(word = "serendipity", "no card"));
        });
        let short = &ids.0[..8];
        assert_eq!(
            lines,
            [format!(
                r#"00:00:00.000 ERROR [{short}] no card word="serendipity""#
            )]
        );
    }

    #[test]
    fn compact_lines_wrap_between_fields_at_80_columns() {
        let long = "x".repeat(100);
        let lines = capture(fmt_layer().compact(), || {
            in_otel_span(|| {
                tracing::warn!(
                    from = "half_open",
                    to = "closed",
                    failures = 3,
                    threshold = 5,
                    reason = "the model answered again after the cool-down",
                    body = long.as_str(),
                    "circuit breaker"
                );
            });
        });
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].ends_with(r#"] circuit breaker from="half_open" to="closed""#),
            "{lines:#?}"
        );
        // Exactly 80 columns: the reason still fits.
        assert_eq!(
            lines[1],
            r#"    failures=3 threshold=5 reason="the model answered again after the cool-down""#
        );
        // Wider than a line: broken onto lines of its own, nothing cut.
        assert_eq!(lines[2], format!("    body=\"{}", &long[..70]));
        assert_eq!(lines[3], format!("    {}\"", &long[70..]));
        for line in &lines {
            assert!(line.width() <= 80, "{line}");
        }
    }

    #[test]
    fn wide_fields_break_between_words() {
        let lines = capture(fmt_layer().compact(), || {
            let error = "embedding failed: 400 Bad Request: batch of 20 inputs is over the limit of 16";
            tracing::error!(error, job = "job-3", "failed");
        });
        assert_eq!(
            lines,
            [
                "00:00:00.000 ERROR failed",
                r#"    error="embedding failed: 400 Bad Request: batch of 20 inputs is over the"#,
                r#"    limit of 16" job="job-3""#,
            ]
        );
        assert_eq!(super::wrap("ab cd", 2), ["ab", "cd"]);
        assert_eq!(super::wrap("abcde", 2), ["ab", "cd", "e"]);
        assert_eq!(super::wrap("", 2), [""]);
    }

    #[test]
    fn compact_ansi_colours_the_level_and_dims_the_time() {
        let lines = capture(fmt_layer().compact().with_ansi(true), || {
            tracing::info!(target: "t", "hi");
        });
        assert_eq!(lines, ["\x1b[2m00:00:00.000\x1b[0m \x1b[32m INFO\x1b[0m hi"]);
    }
}
