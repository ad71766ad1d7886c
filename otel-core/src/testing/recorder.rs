//! Recorders: in-memory exporters that keep finished spans and log records for
//! assertions.
//!
//! [`crate::testing::capture`] builds on these; they are public so tests can also wire
//! them into a provider of their own. They are named apart from the SDK's
//! `InMemorySpanExporter` and `InMemoryLogExporter`, which a test may use beside them.

use std::sync::{Arc, Mutex};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

// A panicking test thread must not hide the spans from every other test.
use crate::sync::lock;

/// A span exporter that keeps every exported span; clones share the storage.
///
/// ```
/// use otel_core::testing::SpanRecorder;
/// use otel_core::opentelemetry::trace::{Tracer, TracerProvider};
/// use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let exporter = SpanRecorder::default();
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
/// provider.tracer("demo").in_span("work", |_| {});
/// assert_eq!(exporter.spans()[0].name, "work");
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpanRecorder {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanRecorder {
    /// A copy of every span exported so far, in export order.
    pub fn spans(&self) -> Vec<SpanData> {
        lock(&self.spans).clone()
    }

    /// Spans for which `keep` returns true, without copying the others.
    pub fn spans_where(&self, keep: impl Fn(&SpanData) -> bool) -> Vec<SpanData> {
        lock(&self.spans).iter().filter(|s| keep(s)).cloned().collect()
    }

    /// Forgets every span.
    pub fn clear(&self) {
        lock(&self.spans).clear();
    }
}

impl SpanRecorder {
    /// A processor that stores each span as it ends, on the ending thread.
    ///
    /// Unlike `SimpleSpanProcessor` it runs no executor, so spans may end inside any
    /// executor (`futures::executor::block_on` included) and are readable at once.
    ///
    /// ```
    /// use otel_core::testing::SpanRecorder;
    /// use otel_core::opentelemetry::trace::{Tracer, TracerProvider};
    /// use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
    ///
    /// let spans = SpanRecorder::default();
    /// let provider = SdkTracerProvider::builder().with_span_processor(spans.processor()).build();
    /// futures_executor::block_on(async { provider.tracer("demo").in_span("work", |_| {}) });
    /// assert_eq!(spans.spans().len(), 1);
    /// ```
    pub fn processor(&self) -> RecordingSpanProcessor {
        RecordingSpanProcessor(self.clone())
    }
}

/// Stores spans in an [`SpanRecorder`] as they end; see
/// [`SpanRecorder::processor`].
#[derive(Debug)]
pub struct RecordingSpanProcessor(SpanRecorder);

impl SpanProcessor for RecordingSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        lock(&self.0.spans).push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl SpanExporter for SpanRecorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        lock(&self.spans).extend(batch);
        Ok(())
    }
}

/// A log record kept by [`LogRecorder`], with its instrumentation scope.
#[derive(Debug, Clone)]
pub struct CapturedLog {
    /// The record (body, severity, attributes, trace context).
    pub record: SdkLogRecord,
    /// The scope of the logger that emitted it.
    pub scope: InstrumentationScope,
}

/// A log exporter that keeps every exported record; clones share the storage.
///
/// ```
/// use otel_core::testing::LogRecorder;
/// use otel_core::opentelemetry::logs::{LogRecord, Logger, LoggerProvider};
/// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
///
/// let exporter = LogRecorder::default();
/// let provider = SdkLoggerProvider::builder().with_simple_exporter(exporter.clone()).build();
/// let logger = provider.logger("demo");
/// let mut record = logger.create_log_record();
/// record.set_body("hello".into());
/// logger.emit(record);
/// assert_eq!(exporter.logs().len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogRecorder {
    logs: Arc<Mutex<Vec<CapturedLog>>>,
}

impl LogRecorder {
    /// A copy of every record exported so far.
    pub fn logs(&self) -> Vec<CapturedLog> {
        lock(&self.logs).clone()
    }

    /// Records for which `keep` returns true.
    pub fn logs_where(&self, keep: impl Fn(&CapturedLog) -> bool) -> Vec<CapturedLog> {
        lock(&self.logs).iter().filter(|l| keep(l)).cloned().collect()
    }

    /// Forgets every record.
    pub fn clear(&self) {
        lock(&self.logs).clear();
    }
}

impl LogRecorder {
    /// A processor that stores each record as it is emitted, without an executor (see
    /// [`SpanRecorder::processor`]).
    ///
    /// ```
    /// use otel_core::testing::LogRecorder;
    /// use otel_core::opentelemetry::logs::{LogRecord, Logger, LoggerProvider};
    /// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
    ///
    /// let logs = LogRecorder::default();
    /// let provider = SdkLoggerProvider::builder().with_log_processor(logs.processor()).build();
    /// let logger = provider.logger("demo");
    /// let mut record = logger.create_log_record();
    /// record.set_body("hello".into());
    /// logger.emit(record);
    /// assert_eq!(logs.logs().len(), 1);
    /// ```
    pub fn processor(&self) -> RecordingLogProcessor {
        RecordingLogProcessor(self.clone())
    }
}

/// Stores log records in an [`LogRecorder`] as they are emitted; see
/// [`LogRecorder::processor`].
#[derive(Debug)]
pub struct RecordingLogProcessor(LogRecorder);

impl LogProcessor for RecordingLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        lock(&self.0.logs).push(CapturedLog {
            record: record.clone(),
            scope: scope.clone(),
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}

impl LogExporter for LogRecorder {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let mut logs = lock(&self.logs);
        for (record, scope) in batch.iter() {
            logs.push(CapturedLog {
                record: record.clone(),
                scope: scope.clone(),
            });
        }
        Ok(())
    }
}
