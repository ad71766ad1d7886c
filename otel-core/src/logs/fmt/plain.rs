//! The plain format: `tracing-subscriber`'s full line, then the OpenTelemetry ids.

use std::fmt;

use tracing_core::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, FormatEvent, FormatFields, Full, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

use super::{current_ids, Clock};

/// `tracing-subscriber`'s [`Full`] format with ` trace_id=… span_id=…` before the line
/// break when the event happens inside an OpenTelemetry span.
pub(super) struct PlainFormat {
    full: Format<Full, Clock>,
}

impl PlainFormat {
    pub(super) fn new(clock: Clock, ansi: bool) -> Self {
        // The full format writes through a `Writer` of ours (see `format_event`), which
        // does not carry the layer's colour choice: the format carries it instead.
        let full = Format::default().with_timer(clock).with_ansi(ansi);
        Self { full }
    }
}

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = HoldFinalNewline {
            out: &mut writer,
            held: false,
        };
        self.full.format_event(ctx, Writer::new(&mut line), event)?;
        if let Some((trace_id, span_id)) = current_ids() {
            write!(writer, " trace_id={trace_id} span_id={span_id}")?;
        }
        writer.write_char('\n')
    }
}

/// Passes text through but keeps back a line break that ends a write until more text
/// follows, so the ids can still go on the line the full format has just ended.
struct HoldFinalNewline<'a, 'w> {
    out: &'a mut Writer<'w>,
    held: bool,
}

impl fmt::Write for HoldFinalNewline<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut self.held) {
            self.out.write_char('\n')?;
        }
        match s.strip_suffix('\n') {
            Some(rest) => {
                self.held = true;
                self.out.write_str(rest)
            }
            None => self.out.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::super::fmt_layer;
    use super::super::test_support::{capture, in_otel_span};

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
                // tracing-subscriber lists an error's sources in `<field>.sources`.
                r#"2026-01-01T00:00:00.000123Z  INFO t: error=request failed error.sources=[connection reset] path=/users/7 list=[1, 2] quoted="a \"b\"""#
            ]
        );
    }
}
