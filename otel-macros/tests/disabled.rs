//! With telemetry disabled an instrumented call costs one atomic load: nothing is
//! evaluated, recorded or allocated. (Own test binary: the state is process-wide.)
#![cfg(not(otel_noop))]

mod support {
    pub mod counting_alloc;
}

use std::sync::atomic::{AtomicUsize, Ordering};

use otel_macros::instrumented;
use support::counting_alloc::{allocations_during, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

static FIELD_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn expensive_field() -> String {
    FIELD_EVALUATIONS.fetch_add(1, Ordering::Relaxed);
    "computed".repeat(10)
}

#[instrumented(fields(detail = expensive_field()), ret, in_flight)]
fn work(name: &str, id: u64) -> Result<usize, std::fmt::Error> {
    Ok(name.len() + id as usize)
}

#[instrumented]
async fn async_work(id: u64) -> u64 {
    id + 1
}

#[test]
fn disabled_calls_evaluate_and_allocate_nothing() {
    let guard = otel_core::Telemetry::builder()
        .disabled(true)
        .init()
        .expect("a disabled init cannot fail");
    assert!(!otel_core::is_enabled());
    let (out, allocations) = allocations_during(|| {
        let mut total = 0;
        for id in 0..100 {
            total += work("name", id).unwrap_or(0);
        }
        total
    });
    assert_eq!(out, (0..100).map(|id| 4 + id).sum::<usize>());
    assert_eq!(allocations, 0);
    assert_eq!(FIELD_EVALUATIONS.load(Ordering::Relaxed), 0);

    // Async: polling the instrumented future allocates nothing either.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let (ready, allocations) = allocations_during(|| {
        let mut fut = std::pin::pin!(async_work(1));
        fut.as_mut().poll(&mut cx)
    });
    assert_eq!(ready, std::task::Poll::Ready(2));
    assert_eq!(allocations, 0);
    drop(guard);
}

use std::future::Future as _;
