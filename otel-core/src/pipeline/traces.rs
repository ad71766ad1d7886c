//! The tracer provider: the sampler and span limits, one bounded batch processor per
//! exporter, then the user's own processors.

use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanProcessor, TracerProviderBuilder};

use super::value_length::ValueLengthLimit;
use super::{Customize, Shared, CONSOLE_DELAY};
use crate::config::{ExporterKind, SamplerConfig, SpanLimits};
use crate::export::batch::BatchProcessor;
use crate::export::console::ConsoleSpanExporter;
use crate::runtime::Executor;
use crate::{Error, ErrorKind};

pub(super) fn provider(
    shared: &mut Shared<'_>,
    customize: Vec<Customize<TracerProviderBuilder>>,
) -> Result<SdkTracerProvider, Error> {
    let config = shared.config;
    let limits = config.span_limits;
    let mut builder = SdkTracerProvider::builder()
        .with_resource(shared.resource.clone())
        .with_sampler(sampler(&config.sampler))
        .with_max_attributes_per_span(limits.attribute_count)
        .with_max_events_per_span(limits.event_count)
        .with_max_links_per_span(limits.link_count)
        .with_max_attributes_per_event(limits.event_attribute_count)
        .with_max_attributes_per_link(limits.link_attribute_count);
    for kind in &config.traces_exporters {
        let processor = match kind {
            ExporterKind::Otlp => otlp(shared)?,
            ExporterKind::Console => console(shared)?,
        };
        builder = with_limited(builder, processor, &limits);
    }
    for add in customize {
        builder = add(builder);
    }
    Ok(builder.build())
}

/// Adds an exporter's processor behind the value length limit, when there is one.
fn with_limited<P: SpanProcessor + 'static>(
    builder: TracerProviderBuilder,
    processor: P,
    limits: &SpanLimits,
) -> TracerProviderBuilder {
    match limits.attribute_value_length {
        Some(max_chars) => builder.with_span_processor(ValueLengthLimit {
            inner: processor,
            max_chars,
        }),
        None => builder.with_span_processor(processor),
    }
}

/// Whether a parent-based sampler is configured (then a child of an unsampled span is
/// unsampled too, which the hot paths use to skip the SDK).
pub(super) fn is_parent_based(config: &SamplerConfig) -> bool {
    matches!(
        config,
        SamplerConfig::ParentBasedAlwaysOn
            | SamplerConfig::ParentBasedAlwaysOff
            | SamplerConfig::ParentBasedTraceIdRatio(_)
    )
}

fn sampler(config: &SamplerConfig) -> Sampler {
    match *config {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerConfig::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

fn console(shared: &Shared<'_>) -> Result<BatchProcessor, Error> {
    let mut batch = shared.config.span_batch;
    batch.scheduled_delay = batch.scheduled_delay.min(CONSOLE_DELAY);
    let exporter = ConsoleSpanExporter::builder().build();
    BatchProcessor::new(exporter, batch, Executor::Inline, shared.stats.spans.clone()).map_err(thread_error)
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn otlp(shared: &mut Shared<'_>) -> Result<BatchProcessor, Error> {
    let config = shared.config;
    let quiet = shared.quiet;
    let runtime = shared.export_runtime()?;
    let exporter = crate::export::otlp::span_exporter(&config.otlp_traces, runtime, quiet)?;
    let executor = Executor::Tokio(runtime.handle().clone());
    let mut batch = config.span_batch;
    // Never wait on a dead collector longer than the OTLP timeout says.
    batch.export_timeout = batch.export_timeout.min(config.otlp_traces.timeout);
    shared.wait_for(batch.export_timeout);
    BatchProcessor::new(exporter, batch, executor, shared.stats.spans.clone()).map_err(thread_error)
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
fn otlp(_: &mut Shared<'_>) -> Result<BatchProcessor, Error> {
    Err(super::otlp_unavailable())
}

fn thread_error(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Exporter,
        format!("cannot start the span export thread: {e}"),
    )
}
