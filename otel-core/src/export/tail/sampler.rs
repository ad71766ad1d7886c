//! The sampler side of tail sampling: spans the head sampler drops are recorded anyway.

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

/// Asks the configured (head) sampler, and turns its `Drop` into `RecordOnly`.
///
/// A `RecordOnly` span is recording (it reaches `on_end`, where the tail processor holds
/// it) but keeps the sampled flag clear, so the context it propagates to other services
/// carries the head decision unchanged. Its children ask the head sampler again, which
/// follows the unsampled parent, and are recorded the same way: the whole local trace is
/// seen.
#[derive(Debug, Clone)]
pub(crate) struct RecordDropped(pub(crate) Sampler);

impl ShouldSample for RecordDropped {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let mut result = self
            .0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if matches!(result.decision, SamplingDecision::Drop) {
            result.decision = SamplingDecision::RecordOnly;
        }
        result
    }
}
