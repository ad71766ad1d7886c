//! Wiring: the provider's sampler and its one span processor, with or without tail
//! sampling.

use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Sampler, Span, SpanData, SpanProcessor, TracerProviderBuilder};
use opentelemetry_sdk::Resource;

use super::stats::TailStats;
use super::{RecordDropped, TailProcessor};
use crate::config::TailSamplingConfig;
use crate::context_attributes::ContextAttributesProcessor;

/// Installs `sampler` and `processors` (in order) on `builder`: directly when tail
/// sampling is off; behind [`RecordDropped`] and one [`TailProcessor`] when it is on.
/// Either way the provider holds a single [`Processors`], which also copies the
/// context attributes onto each span as it starts.
pub(crate) fn install(
    builder: TracerProviderBuilder,
    sampler: Sampler,
    processors: Vec<Box<dyn SpanProcessor>>,
    config: TailSamplingConfig,
    stats: &Arc<TailStats>,
) -> TracerProviderBuilder {
    if !config.enabled {
        return builder
            .with_sampler(sampler)
            .with_span_processor(Processors(processors));
    }
    let tail: Box<dyn SpanProcessor> = Box::new(TailProcessor::new(config, processors, stats.clone()));
    builder
        .with_sampler(RecordDropped(sampler))
        .with_span_processor(Processors(vec![tail]))
}

/// The context attributes and the pipeline's processors as the provider's only one.
///
/// The SDK hands each of its processors its own copy of an ended span (a deep clone of
/// every attribute, event and link for each processor but the last). Registered
/// separately, the context attributes processor, which has nothing to do when a span
/// ends, would cost every exported span one such clone: here the span is cloned only
/// for a second exporter or a user's processor, and moved into the last one.
#[derive(Debug)]
struct Processors(Vec<Box<dyn SpanProcessor>>);

impl SpanProcessor for Processors {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        // First, so that every other processor sees the inherited attributes.
        ContextAttributesProcessor.on_start(span, cx);
        for processor in &self.0 {
            processor.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if let Some((last, others)) = self.0.split_last() {
            for processor in others {
                processor.on_end(span.clone());
            }
            last.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.each(|p| p.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.each(|p| p.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        for processor in &mut self.0 {
            processor.set_resource(resource);
        }
    }
}

impl Processors {
    /// Runs `f` on every processor, even after a failure; several failures are
    /// reported together, as the SDK reports those of its processors.
    fn each(&self, f: impl Fn(&dyn SpanProcessor) -> OTelSdkResult) -> OTelSdkResult {
        let mut errors: Vec<OTelSdkError> = self.0.iter().filter_map(|p| f(p.as_ref()).err()).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(OTelSdkError::InternalFailure(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }
}
