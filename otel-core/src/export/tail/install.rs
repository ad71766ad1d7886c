//! Wiring: the provider's sampler and span processors, with or without tail sampling.

use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, Span, SpanData, SpanProcessor, TracerProviderBuilder};
use opentelemetry_sdk::Resource;

use super::stats::TailStats;
use super::{RecordDropped, TailProcessor};
use crate::config::TailSamplingConfig;

/// Installs `sampler` and `processors` (in order) on `builder`: directly when tail
/// sampling is off; behind [`RecordDropped`] and one [`TailProcessor`] when it is on.
pub(crate) fn install(
    builder: TracerProviderBuilder,
    sampler: Sampler,
    processors: Vec<Box<dyn SpanProcessor>>,
    config: TailSamplingConfig,
    stats: &Arc<TailStats>,
) -> TracerProviderBuilder {
    if !config.enabled {
        return processors
            .into_iter()
            .fold(builder.with_sampler(sampler), |b, p| {
                b.with_span_processor(Boxed(p))
            });
    }
    builder
        .with_sampler(RecordDropped(sampler))
        .with_span_processor(TailProcessor::new(config, processors, stats.clone()))
}

/// A boxed processor as a processor (the SDK implements the trait for no box).
#[derive(Debug)]
struct Boxed(Box<dyn SpanProcessor>);

impl SpanProcessor for Boxed {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
