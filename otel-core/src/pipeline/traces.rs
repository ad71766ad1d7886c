//! The tracer provider: the sampler and span limits, one bounded batch processor per
//! exporter, then the user's own processors (behind tail sampling when it is on).

use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanProcessor};

use super::value_length::ValueLengthLimit;
use super::{Shared, CONSOLE_DELAY};
use crate::config::{ExporterKind, SamplerConfig, SpanLimits};
use crate::export::batch::BatchProcessor;
use crate::export::console::ConsoleSpanExporter;
use crate::head_sampling::{HeadSampler, PinnedIds};
use crate::runtime::Executor;
use crate::{Error, ErrorKind};

pub(super) fn provider(
    shared: &mut Shared<'_>,
    user: Vec<Box<dyn SpanProcessor>>,
) -> Result<SdkTracerProvider, Error> {
    let config = shared.config;
    let limits = config.span_limits;
    let mut processors: Vec<Box<dyn SpanProcessor>> = Vec::new();
    for kind in &config.traces_exporters {
        let processor = match kind {
            ExporterKind::Otlp => otlp(shared)?,
            ExporterKind::Console => console(shared)?,
        };
        processors.push(limited(processor, &limits));
    }
    processors.extend(user);
    // `install` puts the context attributes first, so that every other processor sees
    // them.
    let builder = SdkTracerProvider::builder()
        .with_resource(shared.resource.clone())
        .with_id_generator(PinnedIds::default())
        .with_max_attributes_per_span(limits.attribute_count)
        .with_max_events_per_span(limits.event_count)
        .with_max_links_per_span(limits.link_count)
        .with_max_attributes_per_event(limits.event_attribute_count)
        .with_max_attributes_per_link(limits.link_attribute_count);
    let sampler = sampler(&config.sampler);
    let tail = config.tail_sampling;
    Ok(crate::export::tail::install(builder, sampler, processors, tail, &shared.stats.tail).build())
}

/// An exporter's processor behind the value length limit, when there is one.
fn limited<P: SpanProcessor + 'static>(processor: P, limits: &SpanLimits) -> Box<dyn SpanProcessor> {
    match limits.attribute_value_length {
        Some(max_chars) => Box::new(ValueLengthLimit {
            inner: processor,
            max_chars,
        }),
        None => Box::new(processor),
    }
}

/// Whether a child of an unsampled span is unsampled too, which the hot paths use to
/// skip the SDK: a parent-based sampler, or `always_off`, which samples nothing; and
/// tail sampling, which records such children, is off.
pub(super) fn is_parent_based(config: &crate::config::Config) -> bool {
    !config.tail_sampling.enabled
        && matches!(
            config.sampler,
            SamplerConfig::AlwaysOff
                | SamplerConfig::ParentBasedAlwaysOn
                | SamplerConfig::ParentBasedAlwaysOff
                | SamplerConfig::ParentBasedTraceIdRatio(_)
        )
}

/// Whether the sampler drops every root span and tail sampling, which records dropped
/// spans, is off.
pub(super) fn drops_roots(config: &crate::config::Config) -> bool {
    !config.tail_sampling.enabled
        && matches!(
            config.sampler,
            SamplerConfig::AlwaysOff | SamplerConfig::ParentBasedAlwaysOff
        )
}

/// The sampler as instrumentation may apply it before describing a span: known unless
/// tail sampling, which records the spans it drops, is on.
pub(super) fn head(config: &crate::config::Config) -> HeadSampler {
    if config.tail_sampling.enabled {
        HeadSampler::unknown()
    } else {
        HeadSampler::known(sampler(&config.sampler))
    }
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
