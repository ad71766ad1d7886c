//! With a sampler that drops every root (`always_off`, `parentbased_always_off`) set
//! through `init()`, a call with no parent skips the SDK: no span, no argument or field
//! evaluated, no allocation; under a sampled parent, `parentbased_always_off` still
//! records. (Own test binary: it installs the toolkit's state and counts allocations.)
#![cfg(not(otel_noop))]

mod support {
    pub mod counting_alloc;
}

use std::sync::atomic::{AtomicUsize, Ordering};

use otel_core::config::SamplerConfig;
use otel_core::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use otel_core::opentelemetry::Context;
use otel_core::opentelemetry_sdk::trace::SimpleSpanProcessor;
use otel_core::testing::SpanRecorder;
use otel_macros::instrumented;
use support::counting_alloc::{allocations_during, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

static FIELD_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn field() -> i64 {
    FIELD_EVALUATIONS.fetch_add(1, Ordering::Relaxed) as i64
}

#[instrumented(fields(evaluated = field()), metrics = false)]
fn job(name: &str) -> usize {
    name.len()
}

#[test]
fn dropped_roots_skip_the_sdk_and_sampled_parents_still_record() {
    let spans = SpanRecorder::default();
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .quiet(true)
        .sampler(SamplerConfig::ParentBasedAlwaysOff)
        .with_span_processor(SimpleSpanProcessor::new(spans.clone()))
        .init()
        .expect("a pipeline without exporters starts");

    // The first call creates the callsite's cached tracer.
    assert_eq!(job("warm"), 4);
    let (total, allocations) = allocations_during(|| (0..100).map(|_| job("user-42")).sum::<usize>());
    assert_eq!(total, 700);
    assert_eq!(allocations, 0, "a dropped root allocates nothing");
    assert_eq!(
        FIELD_EVALUATIONS.load(Ordering::Relaxed),
        0,
        "nor evaluates its fields"
    );
    assert_eq!(otel_core::current_trace_id(), None);

    let sampled = SpanContext::new(
        TraceId::from(0xabcd_u128),
        SpanId::from(0x42_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    {
        let _parent = Context::new().with_remote_span_context(sampled).attach();
        assert_eq!(job("child"), 5);
    }
    assert_eq!(FIELD_EVALUATIONS.load(Ordering::Relaxed), 1);
    guard.shutdown().expect("the pipeline shuts down");
    let spans = spans.spans();
    assert_eq!(spans.len(), 1, "only the call under a sampled parent is recorded");
    assert_eq!(spans[0].span_context.trace_id(), TraceId::from(0xabcd_u128));
    assert_eq!(spans[0].parent_span_id, SpanId::from(0x42_u64));
}
