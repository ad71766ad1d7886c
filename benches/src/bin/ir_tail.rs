//! The cost of in-process tail sampling on a request-shaped span tree (a handler with two
//! children, all `#[instrumented]` with metrics) at 10 % parent-based head sampling:
//! instructions per request under callgrind, and the heap the pipeline holds.
//!
//! ```sh
//! cargo build --release -p otel-benches --bin ir_tail
//! for case in off on on_errors; do for n in 10000 40000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$case.$n target/release/ir_tail $case $n
//! done; done
//! # Ir/request = (Ir(40000) - Ir(10000)) / 30000
//! target/release/ir_tail on_errors 40000   # prints the heap held, without valgrind
//! ```
//!
//! CASE: `off` (head sampling only), `on` (tail sampling, no errors), `on_errors` (tail
//! sampling, 1 % of requests fail). Spans go through a `SimpleSpanProcessor` into a
//! discarding exporter that counts them, so each figure comes with an export count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use otel_benches::{work, DiscardExporter};
use otel_core::config::{SamplerConfig, TailSamplingConfig};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[otel_core::instrumented(skip_all, fields(request = i))]
#[inline(never)]
fn handle(i: u64, fail: bool) -> Result<u64, std::io::Error> {
    let loaded = load(i, fail)?;
    Ok(render(loaded))
}

#[otel_core::instrumented(skip_all)]
#[inline(never)]
fn load(i: u64, fail: bool) -> Result<u64, std::io::Error> {
    if fail {
        return Err(std::io::Error::other("database unavailable"));
    }
    Ok(work(i))
}

#[otel_core::instrumented(skip_all)]
#[inline(never)]
fn render(x: u64) -> u64 {
    work(x)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let (tail, errors_every) = match case.as_str() {
        "off" => (TailSamplingConfig::DISABLED, 0),
        "on" => (TailSamplingConfig::ENABLED, 0),
        "on_errors" => (TailSamplingConfig::ENABLED, 100),
        other => {
            eprintln!("unknown case {other:?}: off, on or on_errors");
            std::process::exit(2);
        }
    };
    let exporter = DiscardExporter::default();
    let reader = otel_core::export::SharedReader::new(std::sync::Arc::new(
        opentelemetry_sdk::metrics::ManualReader::builder().build(),
    ));
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .sampler(SamplerConfig::ParentBasedTraceIdRatio(0.1))
        .tail_sampling(tail)
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .with_span_processor(opentelemetry_sdk::trace::SimpleSpanProcessor::new(
            exporter.clone(),
        ))
        .with_metric_reader(reader)
        .quiet(true)
        .init()
        .expect("a pipeline without exporters always starts");

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut sum = 0u64;
    for i in 0..n {
        let fail = errors_every != 0 && i % errors_every == 0;
        sum = sum.wrapping_add(handle(i, fail).unwrap_or(0));
    }
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let buffered = otel_core::telemetry_status()
        .tail_sampling
        .map_or(0, |t| t.buffered_spans);
    println!(
        "{case} n={n} sum={sum} exported={} buffered_spans={buffered} heap_held_after={held} B heap_peak_above_start={peak} B",
        exporter.exported()
    );
    drop(guard);
}
