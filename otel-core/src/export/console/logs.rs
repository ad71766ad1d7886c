//! Log records as one line each.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Key;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};

use super::{clean, fmt_f64, fmt_key, fmt_timestamp, paint, quote_if_needed, Output, OutputConfig, Style};

const BODY_CHARS: usize = 2000;
const ATTRIBUTE_VALUE_CHARS: usize = 200;
const TARGET_CHARS: usize = 80;
/// Nested maps and lists are shown this deep, then elided.
const MAX_NESTING: usize = 4;

/// Builder for [`ConsoleLogExporter`].
///
/// ```
/// use otel_core::export::console::ConsoleLogExporter;
///
/// let exporter = ConsoleLogExporter::builder()
///     .with_writer(std::io::stdout())
///     .with_color(false)
///     .build();
/// # drop(exporter);
/// ```
#[must_use]
#[derive(Debug, Default)]
pub struct ConsoleLogExporterBuilder {
    output: OutputConfig,
}

impl ConsoleLogExporterBuilder {
    /// Writes the records to `writer` instead of stderr. A custom writer is not
    /// coloured unless [`with_color`](Self::with_color) says so.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleLogExporter;
    ///
    /// let exporter = ConsoleLogExporter::builder().with_writer(std::io::sink()).build();
    /// # drop(exporter);
    /// ```
    pub fn with_writer<W: Write + Send + 'static>(mut self, writer: W) -> Self {
        self.output.writer = Some(Box::new(writer));
        self
    }

    /// Turns ANSI colours on or off. Default: on only when writing to stderr, stderr is
    /// a terminal and `NO_COLOR` is unset or empty.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleLogExporter;
    ///
    /// let exporter = ConsoleLogExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn with_color(mut self, color: bool) -> Self {
        self.output.color = Some(color);
        self
    }

    /// Builds the exporter.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleLogExporter;
    ///
    /// let exporter = ConsoleLogExporter::builder().build();
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn build(self) -> ConsoleLogExporter {
        ConsoleLogExporter {
            output: self.output.build(),
            is_shutdown: AtomicBool::new(false),
        }
    }
}

/// A [`LogExporter`] that prints one line per log record, for development.
///
/// Time (UTC), severity, target, body, the short `trace_id`/`span_id` (first 8 hex
/// digits, enough to find the trace's waterfall above) when the record was emitted
/// inside a span, and the attributes:
///
/// ```text
/// 2023-11-14T22:13:20.005Z INFO  users::repo: user loaded  trace_id=4bf92f35 span_id=00f067aa  user.id=42
/// ```
///
/// ```
/// use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use otel_core::export::console::ConsoleLogExporter;
///
/// let provider = SdkLoggerProvider::builder()
///     .with_simple_exporter(ConsoleLogExporter::default())
///     .build();
/// let logger = provider.logger("example");
/// let mut record = logger.create_log_record();
/// record.set_severity_number(Severity::Info);
/// record.set_body("user loaded".into());
/// logger.emit(record); // printed on stderr
/// # provider.shutdown().unwrap();
/// ```
pub struct ConsoleLogExporter {
    output: Output,
    is_shutdown: AtomicBool,
}

impl ConsoleLogExporter {
    /// Starts a builder; see [`ConsoleLogExporterBuilder`].
    ///
    /// ```
    /// use otel_core::export::console::ConsoleLogExporter;
    ///
    /// let exporter = ConsoleLogExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn builder() -> ConsoleLogExporterBuilder {
        ConsoleLogExporterBuilder::default()
    }

    fn export_batch(&self, batch: &LogBatch<'_>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut text = String::new();
        for (record, _scope) in batch.iter() {
            render_record(&mut text, record, self.output.color);
        }
        self.output.write(&text)
    }
}

impl Default for ConsoleLogExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for ConsoleLogExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleLogExporter")
            .field("output", &self.output)
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish()
    }
}

impl LogExporter for ConsoleLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_batch(&batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }
}

fn severity_style(severity: Option<Severity>) -> Option<Style> {
    // Severity numbers: 1-8 trace/debug, 9-12 info, 13-16 warn, 17-24 error/fatal.
    match severity.map(|s| s as i32) {
        Some(17..) => Some(Style::Red),
        Some(13..=16) => Some(Style::Yellow),
        Some(..=8) => Some(Style::Dim),
        _ => None,
    }
}

fn fmt_any(value: &AnyValue, depth: usize) -> String {
    match value {
        AnyValue::Int(v) => v.to_string(),
        AnyValue::Double(v) => fmt_f64(*v),
        AnyValue::Boolean(v) => v.to_string(),
        AnyValue::String(s) => quote_if_needed(clean(s.as_str(), ATTRIBUTE_VALUE_CHARS, false)),
        AnyValue::Bytes(bytes) => format!("<{} bytes>", bytes.len()),
        AnyValue::ListAny(items) if depth >= MAX_NESTING => format!("[{} items]", items.len()),
        AnyValue::ListAny(items) => {
            let items: Vec<String> = items.iter().map(|v| fmt_any(v, depth + 1)).collect();
            format!("[{}]", items.join(", "))
        }
        AnyValue::Map(map) if depth >= MAX_NESTING => format!("{{{} entries}}", map.len()),
        AnyValue::Map(map) => {
            // Sorted: a HashMap's order would make equal records print differently.
            let mut entries: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| (fmt_key(k), fmt_any(v, depth + 1)))
                .collect();
            entries.sort();
            let entries: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => clean(&format!("{other:?}"), ATTRIBUTE_VALUE_CHARS, false),
    }
}

/// The first 8 hex digits: enough to match a waterfall header by eye.
fn short_id(hex: String) -> String {
    hex.chars().take(8).collect()
}

fn render_record(out: &mut String, record: &SdkLogRecord, color: bool) {
    let time = record
        .timestamp()
        .or_else(|| record.observed_timestamp())
        .map_or_else(|| "-".to_owned(), fmt_timestamp);
    paint(out, color, Style::Dim, &time);
    out.push(' ');

    let severity = record
        .severity_text()
        .map(|text| clean(text, 10, true))
        .or_else(|| record.severity_number().map(|s| s.name().to_owned()))
        .unwrap_or_else(|| "-".to_owned());
    let severity = format!("{severity:<5}");
    match severity_style(record.severity_number()) {
        Some(style) => paint(out, color, style, &severity),
        None => out.push_str(&severity),
    }

    if let Some(target) = record.target().filter(|t| !t.is_empty()) {
        out.push(' ');
        paint(
            out,
            color,
            Style::Dim,
            &format!("{}:", clean(target, TARGET_CHARS, true)),
        );
    }

    match record.body() {
        Some(AnyValue::String(body)) => {
            out.push(' ');
            out.push_str(&clean(body.as_str(), BODY_CHARS, false));
        }
        Some(body) => {
            out.push(' ');
            out.push_str(&fmt_any(body, 0));
        }
        None => {}
    }

    if let Some(context) = record.trace_context() {
        if context.trace_id != TraceId::INVALID {
            out.push_str("  ");
            let mut ids = format!("trace_id={}", short_id(context.trace_id.to_string()));
            if context.span_id != SpanId::INVALID {
                ids.push_str(&format!(" span_id={}", short_id(context.span_id.to_string())));
            }
            paint(out, color, Style::Cyan, &ids);
        }
    }

    let attributes: Vec<String> = record
        .attributes_iter()
        .map(|(key, value): &(Key, AnyValue)| format!("{}={}", fmt_key(key), fmt_any(value, 0)))
        .collect();
    if !attributes.is_empty() {
        out.push_str("  ");
        paint(out, color, Style::Dim, &attributes.join(" "));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{BrokenPipe, SharedBuf};
    use super::*;
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::trace::TraceFlags;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use std::collections::HashMap;
    use std::time::UNIX_EPOCH;

    fn provider(buf: &SharedBuf, color: bool) -> SdkLoggerProvider {
        SdkLoggerProvider::builder()
            .with_simple_exporter(
                ConsoleLogExporter::builder()
                    .with_writer(buf.clone())
                    .with_color(color)
                    .build(),
            )
            .build()
    }

    #[test]
    fn one_line_per_record_with_trace_ids_and_attributes() {
        let buf = SharedBuf::default();
        let provider = provider(&buf, false);
        let logger = provider.logger("test");

        let mut record = logger.create_log_record();
        record.set_timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_000_005));
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.set_target("users::repo");
        record.set_body("user loaded".into());
        record.set_trace_context(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            Some(TraceFlags::SAMPLED),
        );
        record.add_attribute("user.id", 42);
        record.add_attribute("cache", "hit");
        logger.emit(record);

        let mut record = logger.create_log_record();
        record.set_timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_001_000));
        record.set_severity_number(Severity::Error);
        record.set_body("query failed:\nno such table\x1b[2J".into());
        let details: HashMap<Key, AnyValue> = [
            (Key::from("retries"), AnyValue::Int(3)),
            (Key::from("table"), AnyValue::from("users")),
        ]
        .into_iter()
        .collect();
        record.add_attribute("details", AnyValue::Map(Box::new(details)));
        record.add_attribute("ratio", 0.5);
        logger.emit(record);

        let expected = "\
2023-11-14T22:13:20.005Z INFO  users::repo: user loaded  trace_id=4bf92f35 span_id=00f067aa  user.id=42 cache=hit
2023-11-14T22:13:21.000Z ERROR query failed:\\nno such table\\u{1b}[2J  details={retries: 3, table: users} ratio=0.5
";
        assert_eq!(buf.text(), expected, "actual:\n{}", buf.text());
        provider.shutdown().unwrap();
    }

    #[test]
    fn colour_follows_severity() {
        let buf = SharedBuf::default();
        let provider = provider(&buf, true);
        let logger = provider.logger("test");
        for severity in [Severity::Warn, Severity::Error] {
            let mut record = logger.create_log_record();
            record.set_severity_number(severity);
            record.set_body("x".into());
            logger.emit(record);
        }
        let text = buf.text();
        assert!(text.contains("\x1b[33mWARN \x1b[0m x"), "{text:?}");
        assert!(text.contains("\x1b[31mERROR\x1b[0m x"), "{text:?}");
        provider.shutdown().unwrap();
    }

    #[test]
    fn write_errors_and_shutdown_are_reported() {
        let exporter = ConsoleLogExporter::builder().with_writer(BrokenPipe).build();
        let record = SdkLoggerProvider::builder()
            .build()
            .logger("test")
            .create_log_record();
        let scope = opentelemetry::InstrumentationScope::builder("test").build();
        let data = [(&record, &scope)];
        let result = futures_executor::block_on(exporter.export(LogBatch::new(&data)));
        assert!(
            matches!(result, Err(OTelSdkError::InternalFailure(ref m)) if m.contains("pipe closed")),
            "{result:?}"
        );
        exporter.shutdown().unwrap();
        let after = futures_executor::block_on(exporter.export(LogBatch::new(&data)));
        assert!(matches!(after, Err(OTelSdkError::AlreadyShutdown)));
    }
}
