//! Tail sampling's limits through the installed pipeline: with the head sampler keeping
//! nothing, a full buffer decides its oldest traces early (an error still keeps its
//! trace) instead of growing or making callers wait, a trace whose root never ends is
//! decided after the timeout, and all of it is counted. Its own process: `init()`
//! installs global state.

use std::time::{Duration, Instant};

use otel_core::config::{SamplerConfig, TailSamplingConfig};
use otel_core::opentelemetry::trace::{Span as _, Status, TraceContextExt as _, Tracer as _};
use otel_core::opentelemetry::{global, Context};
use otel_core::testing::SpanRecorder;

const MAX_SPANS: usize = 64;
const MAX_TRACES: usize = 16;
const TIMEOUT: Duration = Duration::from_millis(200);

fn reason(span: &otel_core::opentelemetry_sdk::trace::SpanData) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == "otel_toolkit.tail_sampling.reason")
        .map(|kv| kv.value.to_string())
}

#[test]
fn caps_decide_early_without_blocking_and_leaked_roots_time_out() {
    let recorder = SpanRecorder::default();
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .sampler(SamplerConfig::ParentBasedAlwaysOff)
        .tail_sampling(TailSamplingConfig {
            latency_threshold: Duration::from_secs(60),
            max_spans: MAX_SPANS,
            max_traces: MAX_TRACES,
            decision_timeout: TIMEOUT,
            ..TailSamplingConfig::ENABLED
        })
        .traces_exporters([])
        .metrics_exporters([])
        .with_span_processor(recorder.processor())
        .quiet(true)
        .init()
        .expect("init");
    let tracer = global::tracer("limits");

    // 8 threads each open 100 traces whose roots stay open while a child ends: far more
    // than the caps. Every 10th child fails.
    let started = Instant::now();
    let slowest_end = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                scope.spawn(move || {
                    let tracer = global::tracer("limits");
                    let mut roots = Vec::new();
                    let mut slowest = Duration::ZERO;
                    for i in 0..100 {
                        let root = tracer.start("request");
                        assert!(root.is_recording(), "tail sampling records head-dropped spans");
                        assert!(!root.span_context().is_sampled());
                        let cx = Context::current_with_span(root);
                        let mut child = tracer.start_with_context("query", &cx);
                        if (t * 100 + i) % 10 == 0 {
                            child.set_status(Status::error("timeout"));
                        }
                        let before = Instant::now();
                        child.end();
                        slowest = slowest.max(before.elapsed());
                        let buffered = otel_core::telemetry_status()
                            .tail_sampling
                            .expect("on")
                            .buffered_spans;
                        assert!(buffered <= MAX_SPANS as u64, "{buffered} spans buffered");
                        roots.push(cx);
                    }
                    // The roots end after the others' children pushed them out.
                    drop(roots);
                    slowest
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .max()
            .unwrap_or_default()
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "800 traces took {:?}",
        started.elapsed()
    );
    assert!(
        slowest_end < Duration::from_secs(1),
        "ending a span waits for nothing but a short lock: slowest {slowest_end:?}"
    );

    let tail = otel_core::telemetry_status().tail_sampling.expect("on");
    assert!(tail.decided_early_max_traces > 0, "{tail:?}");
    assert_eq!(tail.kept_head, 0);
    // Once every root has ended, nothing waits: a root ending after its trace was
    // decided early is decided alone.
    assert_eq!((tail.buffered_spans, tail.buffered_traces), (0, 0));
    // Every failing child was exported, with its reason.
    let failed: Vec<_> = recorder.spans_where(|s| matches!(s.status, Status::Error { .. }));
    assert_eq!(failed.len(), 80, "every failing span is kept");
    assert!(failed.iter().all(|s| reason(s).as_deref() == Some("error")));
    // Nothing kept without a reason: no span is slow and none head-sampled.
    assert!(recorder
        .spans()
        .iter()
        .all(|s| reason(s).as_deref() == Some("error")));

    // A leaked root: its child fails, the root never ends. After the timeout, a flush
    // (or the next span to end) decides the trace.
    recorder.clear();
    let leaked = tracer.start("leaked");
    let trace_id = leaked.span_context().trace_id();
    let cx = Context::current_with_span(leaked);
    let mut child = tracer.start_with_context("work", &cx);
    child.set_status(Status::error("lost"));
    child.end();
    guard.force_flush().expect("flush");
    assert!(
        recorder.spans().is_empty(),
        "waits for its root until the timeout"
    );
    std::thread::sleep(TIMEOUT + Duration::from_millis(50));
    guard.force_flush().expect("flush");
    let spans = recorder.spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0].span_context.trace_id(), trace_id);
    assert_eq!(reason(&spans[0]).as_deref(), Some("error"));
    let tail = otel_core::telemetry_status().tail_sampling.expect("on");
    assert_eq!(tail.timed_out, 1);
    assert_eq!((tail.buffered_spans, tail.buffered_traces), (0, 0));
    drop(cx);
    guard.shutdown().expect("shutdown");
}
