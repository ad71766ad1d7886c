//! An unsampled call under an unsampled parent allocates nothing and evaluates no
//! argument or field. (Own test binary: it counts allocations process-wide.)
#![cfg(not(otel_noop))]

mod support {
    pub mod counting_alloc;
}

use std::sync::atomic::{AtomicUsize, Ordering};

use otel_core::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use otel_core::opentelemetry::Context;
use otel_core::testing;
use otel_macros::instrumented;
use support::counting_alloc::{allocations_during, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

static FIELD_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn expensive_field() -> String {
    FIELD_EVALUATIONS.fetch_add(1, Ordering::Relaxed);
    "computed".repeat(10)
}

#[instrumented(fields(detail = expensive_field()), ret)]
fn traced(name: &str, id: u64) -> Result<usize, std::fmt::Error> {
    Ok(name.len() + id as usize)
}

#[instrumented(fields(detail = expensive_field()), metrics = false)]
fn traced_without_metrics(name: &str) -> usize {
    name.len()
}

#[instrumented]
fn child(n: u64) -> u64 {
    n
}

#[test]
fn unsampled_calls_allocate_nothing() {
    testing::install();
    let unsampled = SpanContext::new(
        TraceId::from(0xabcd_u128),
        SpanId::from(0x42_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _parent = Context::new().with_remote_span_context(unsampled).attach();
    // The first call of each callsite creates its cached tracer and instruments.
    let _ = traced("warm", 0);
    traced_without_metrics("warm");
    child(0);

    let (total, allocations) = allocations_during(|| {
        let mut total = 0;
        for id in 0..100 {
            total += traced("name", id).unwrap_or(0);
            total += traced_without_metrics("name");
            total += child(id) as usize;
        }
        total
    });
    assert!(total > 0);
    assert_eq!(allocations, 0, "unsampled calls allocated");
    assert_eq!(FIELD_EVALUATIONS.load(Ordering::Relaxed), 0);
}
