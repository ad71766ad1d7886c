//! The trace waterfall: spans buffered per trace ([`buffer`]) until the local root ends,
//! then laid out on the trace's timeline ([`layout`]) and drawn ([`render`]).

mod buffer;
mod layout;
mod render;
#[cfg(test)]
mod test_support;

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use self::buffer::{FinishedTrace, TraceBuffer};
use self::render::render_trace;
use super::{service_name, Output, OutputConfig};
use crate::sync::lock;

const DEFAULT_MAX_PENDING_TRACES: usize = 1024;
const DEFAULT_MAX_PENDING_SPANS: usize = 10_000;

/// Builder for [`ConsoleSpanExporter`].
///
/// ```
/// use otel_core::export::console::ConsoleSpanExporter;
///
/// let exporter = ConsoleSpanExporter::builder()
///     .with_writer(std::io::stdout())
///     .with_color(false)
///     .with_max_pending_traces(256)
///     .with_max_pending_spans(4096)
///     .build();
/// # drop(exporter);
/// ```
#[must_use]
#[derive(Debug)]
pub struct ConsoleSpanExporterBuilder {
    output: OutputConfig,
    max_pending_traces: usize,
    max_pending_spans: usize,
}

impl Default for ConsoleSpanExporterBuilder {
    fn default() -> Self {
        Self {
            output: OutputConfig::default(),
            max_pending_traces: DEFAULT_MAX_PENDING_TRACES,
            max_pending_spans: DEFAULT_MAX_PENDING_SPANS,
        }
    }
}

impl ConsoleSpanExporterBuilder {
    /// Writes the waterfalls to `writer` instead of stderr. A custom writer is not
    /// coloured unless [`with_color`](Self::with_color) says so.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_writer(std::io::sink()).build();
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
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn with_color(mut self, color: bool) -> Self {
        self.output.color = Some(color);
        self
    }

    /// Caps the traces waiting for their root span to end (default 1024). When a new
    /// trace would exceed it, the oldest one is drawn with what has arrived, marked
    /// incomplete. Values below 1 count as 1.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_max_pending_traces(64).build();
    /// # drop(exporter);
    /// ```
    pub fn with_max_pending_traces(mut self, max: usize) -> Self {
        self.max_pending_traces = max.max(1);
        self
    }

    /// Caps the spans buffered across all pending traces (default 10 000); the oldest
    /// traces are drawn, marked incomplete, until the buffer fits again. Values below 1
    /// count as 1.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_max_pending_spans(2048).build();
    /// # drop(exporter);
    /// ```
    pub fn with_max_pending_spans(mut self, max: usize) -> Self {
        self.max_pending_spans = max.max(1);
        self
    }

    /// Builds the exporter.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().build();
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn build(self) -> ConsoleSpanExporter {
        ConsoleSpanExporter {
            output: self.output.build(),
            buffer: Mutex::new(TraceBuffer::new(self.max_pending_traces, self.max_pending_spans)),
            service_name: None,
            is_shutdown: AtomicBool::new(false),
        }
    }
}

/// A [`SpanExporter`] that draws each finished trace as an indented waterfall, for
/// development.
///
/// One line per span, children indented under their parent in start order, with the
/// duration, a bar placed on the trace's timeline, the span kind when not internal, a
/// `✗` and the status description for errors, and the attributes worth a glance
/// (HTTP method, route and status, `url.full`, database system and query, RPC method,
/// `error.type`; every attribute when a span has only a few). Lines fit 80 columns:
/// what does not fit after the bar continues on the lines below the span's name, and
/// the HTTP method and route are not repeated when the span's name shows them:
///
/// ```text
/// trace 4bf92f3577b34da6a3ce929d0e0e4736 · users-api · 120 ms · 4 spans
/// GET /users/{id}   120 ms  │████████████████████████████████│  SERVER
///     http.response.status_code=500
///   db.query       50.0 ms  │  ██████████████                │  CLIENT
///       db.system.name=sqlite
///       db.query.text="SELECT id, name FROM users WHERE id = ?"
///     db.connect   8.00 ms  │   ███                          │  pool.size=4
///   render         45.0 ms  │                  █████████████ │
///       ✗ template not found  error.type=TemplateError
/// ```
///
/// Spans of a trace arrive in several batches, children first, so they are buffered
/// per trace and drawn when a *local root* ends: a span without a parent, or whose
/// parent is remote. The buffer is bounded (see the builder); `force_flush` and
/// `shutdown` draw whatever is pending. Spans whose parent never arrived are shown at
/// the top level of their trace.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otel_core::export::console::ConsoleSpanExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(ConsoleSpanExporter::default())
///     .build();
/// let tracer = provider.tracer("example");
/// tracer.in_span("parent", |_| tracer.in_span("child", |_| {}));
/// // The waterfall of "parent" is on stderr now.
/// provider.shutdown().unwrap();
/// ```
pub struct ConsoleSpanExporter {
    output: Output,
    buffer: Mutex<TraceBuffer>,
    service_name: Option<String>,
    is_shutdown: AtomicBool,
}

impl ConsoleSpanExporter {
    /// Starts a builder; see [`ConsoleSpanExporterBuilder`].
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn builder() -> ConsoleSpanExporterBuilder {
        ConsoleSpanExporterBuilder::default()
    }

    fn export_batch(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let finished = lock(&self.buffer).insert_batch(batch);
        self.draw(&finished)
    }

    fn draw_pending(&self) -> OTelSdkResult {
        let pending = lock(&self.buffer).drain();
        self.draw(&pending)
    }

    fn draw(&self, traces: &[FinishedTrace]) -> OTelSdkResult {
        let mut text = String::new();
        for trace in traces {
            render_trace(&mut text, trace, self.service_name.as_deref(), self.output.color);
        }
        self.output.write(&text)
    }
}

impl Default for ConsoleSpanExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for ConsoleSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ConsoleSpanExporter");
        debug
            .field("output", &self.output)
            .field("service_name", &self.service_name);
        // try_lock: formatting must never wait on (or deadlock with) an export.
        if let Ok(buffer) = self.buffer.try_lock() {
            debug
                .field("pending_traces", &buffer.pending_traces())
                .field("pending_spans", &buffer.pending_spans());
        }
        debug
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish()
    }
}

impl SpanExporter for ConsoleSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Formatting and one buffered write: nothing worth suspending for.
        std::future::ready(self.export_batch(batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.draw_pending()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.draw_pending()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = service_name(resource);
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;

    use super::test_support::{exporter, S, TRACE};
    use super::*;
    use crate::export::console::test_support::{BrokenPipe, SharedBuf};

    #[test]
    fn debug_shows_configuration_and_pending_counts() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(2, 1, "child", 0, 1).build()])).unwrap();
        let debug = format!("{exporter:?}");
        assert!(debug.contains("service_name: Some(\"users-api\")"), "{debug}");
        assert!(debug.contains("pending_traces: 1, pending_spans: 1"), "{debug}");
    }

    #[test]
    fn default_colour_is_off_for_a_custom_writer() {
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(std::io::sink())
            .build();
        assert!(!exporter.output.color);
    }

    #[test]
    fn flush_draws_pending_traces_with_orphans_at_top_level() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let orphan = S::new(5, 77, "orphan", 10, 20).build();
        let grandchild = S::new(6, 5, "grandchild", 12, 15).build();
        block_on(exporter.export(vec![grandchild, orphan])).unwrap();
        assert_eq!(buf.text(), "");
        exporter.force_flush().unwrap();
        let text = buf.text();
        assert!(
            text.starts_with(&format!(
                "trace {TRACE} · users-api · 10.0 ms · 2 spans · partial: root span not ended yet\norphan "
            )),
            "{text}"
        );
        assert!(text.contains("\n  grandchild "), "{text}");
        buf.clear();
        exporter.force_flush().unwrap();
        assert_eq!(buf.text(), "", "a flush empties the buffer");
    }

    #[test]
    fn shutdown_draws_pending_and_refuses_later_exports() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(2, 1, "late", 0, 1).build()])).unwrap();
        exporter.shutdown().unwrap();
        assert!(buf.text().contains("\nlate "), "{}", buf.text());
        let after = block_on(exporter.export(vec![S::new(1, 0, "root", 0, 1).build()]));
        assert!(matches!(after, Err(OTelSdkError::AlreadyShutdown)));
        assert!(matches!(exporter.shutdown(), Err(OTelSdkError::AlreadyShutdown)));
    }

    #[test]
    fn write_errors_are_returned_not_panicked() {
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(BrokenPipe)
            .with_color(false)
            .build();
        let result = block_on(exporter.export(vec![S::new(1, 0, "root", 0, 1).build()]));
        match result {
            Err(OTelSdkError::InternalFailure(message)) => {
                assert!(message.contains("pipe closed"), "{message}")
            }
            other => panic!("expected a write failure, got {other:?}"),
        }
    }

    #[test]
    fn works_with_a_real_tracer_provider() {
        use opentelemetry::trace::{Tracer, TracerProvider as _};
        use opentelemetry_sdk::trace::SdkTracerProvider;

        let buf = SharedBuf::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(
                ConsoleSpanExporter::builder()
                    .with_writer(buf.clone())
                    .with_color(false)
                    .build(),
            )
            .with_resource(Resource::builder_empty().with_service_name("svc").build())
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("outer", |_| tracer.in_span("inner", |_| {}));
        let text = buf.text();
        assert!(text.starts_with("trace "), "{text}");
        assert!(text.contains(" · svc · "), "{text}");
        assert!(text.contains(" · 2 spans\nouter "), "{text}");
        assert!(text.contains("\n  inner "), "{text}");
        provider.shutdown().unwrap();
    }
}
