//! Shared fixtures for the benchmarks: exporters that discard but count, so every
//! result can state how many spans were really exported.

pub mod raw_layer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// A span exporter that drops every batch after counting it.
#[derive(Debug, Clone, Default)]
pub struct DiscardExporter {
    exported: Arc<AtomicU64>,
}

impl DiscardExporter {
    /// Spans received so far.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.exported.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The unit of work every benchmark wraps: cheap and not optimised away.
#[inline(never)]
pub fn work(x: u64) -> u64 {
    std::hint::black_box(x) + 1
}

/// The reference every span helper is compared with: a span with the two benchmark
/// attributes, written by hand with the OpenTelemetry API and made current around
/// [`work`].
#[inline]
pub fn hand_written_span(tracer: &opentelemetry_sdk::trace::SdkTracer, x: u64) -> u64 {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    use opentelemetry::{Context, KeyValue};

    let span = tracer
        .span_builder("op")
        .with_attributes([KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _guard = cx.clone().attach();
    let out = work(x);
    cx.span().end();
    out
}

/// `otel_core` installed with nothing but a simple processor into `exporter`, the same
/// pipeline the hand-written side uses.
pub fn otel_core_pipeline(exporter: &DiscardExporter) -> otel_core::TelemetryGuard {
    otel_core::Telemetry::builder()
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .with_span_processor(opentelemetry_sdk::trace::SimpleSpanProcessor::new(
            exporter.clone(),
        ))
        .quiet(true)
        .init()
        .expect("a pipeline without exporters always starts")
}
