//! Tail sampling end to end at 10 % head sampling: 2000 request-shaped traces (a handler
//! and two children), 40 of them failing (the handler stops after the first child) and
//! 20 slow. Every failing and slow trace is exported whole, the others in the head
//! sampler's share, the propagated flag stays the head decision, and the RED metrics
//! count every call. Its own process: `init()` installs global state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use otel_core::config::TailSamplingConfig;
use otel_core::export::SharedReader;
use otel_core::instrumented;
use otel_core::opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId};
use otel_core::opentelemetry::Context;
use otel_core::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use otel_core::opentelemetry_sdk::metrics::reader::MetricReader as _;
use otel_core::opentelemetry_sdk::metrics::ManualReader;
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::SpanRecorder;

const REQUESTS: usize = 2000;
const THRESHOLD: Duration = Duration::from_millis(20);
const REASON: &str = "otel_toolkit.tail_sampling.reason";

fn failing(i: usize) -> bool {
    i % 50 == 7
}

fn slow(i: usize) -> bool {
    i % 100 == 13
}

/// What the handler saw while it ran: its trace, and the sampled flag it would
/// propagate (its own, and in a `traceparent` it injects).
struct Seen {
    index: usize,
    trace_id: TraceId,
    sampled: bool,
    traceparent_flags: String,
}

#[instrumented(skip(seen))]
fn handle(i: usize, seen: &mut Vec<Seen>) -> Result<(), std::io::Error> {
    let cx = Context::current();
    let sc = cx.span().span_context().clone();
    let mut headers = http::HeaderMap::new();
    otel_core::propagation::inject(&mut headers);
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    seen.push(Seen {
        index: i,
        trace_id: sc.trace_id(),
        sampled: sc.is_sampled(),
        traceparent_flags: traceparent.rsplit('-').next().unwrap_or_default().to_owned(),
    });
    load(i)?;
    render(i);
    Ok(())
}

#[instrumented]
fn load(i: usize) -> Result<(), std::io::Error> {
    if failing(i) {
        return Err(std::io::Error::other("database unavailable"));
    }
    Ok(())
}

#[instrumented]
fn render(i: usize) {
    if slow(i) {
        std::thread::sleep(THRESHOLD + Duration::from_millis(10));
    }
}

fn reason(span: &SpanData) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == REASON)
        .map(|kv| kv.value.to_string())
}

/// The sum of `name`'s points whose `code.function.name` ends with `function`.
fn calls(reader: &SharedReader, name: &str, function: &str, result: Option<&str>) -> u64 {
    let mut rm = ResourceMetrics::default();
    reader.collect(&mut rm).expect("collect");
    let mut total = 0;
    for metric in rm
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
    {
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
            panic!("{name} is a u64 counter");
        };
        for point in sum.data_points() {
            let attr = |key: &str| {
                point
                    .attributes()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.to_string())
            };
            let matches_fn = attr("code.function.name").is_some_and(|f| f.ends_with(function));
            let matches_result = result.is_none_or(|r| attr("result").as_deref() == Some(r));
            if matches_fn && matches_result {
                total += point.value();
            }
        }
    }
    total
}

#[test]
fn errors_and_slow_traces_are_kept_whole_and_the_rest_follows_the_head_ratio() {
    let recorder = SpanRecorder::default();
    let reader = SharedReader::new(Arc::new(ManualReader::builder().build()));
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("tail-sampling-test")
        .sampler_ratio(0.1)
        .tail_sampling(TailSamplingConfig {
            latency_threshold: THRESHOLD,
            ..TailSamplingConfig::ENABLED
        })
        .traces_exporters([])
        .metrics_exporters([])
        .with_span_processor(recorder.processor())
        .with_metric_reader(reader.clone())
        .quiet(true)
        .init()
        .expect("init");

    let mut seen = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        assert_eq!(handle(i, &mut seen).is_err(), failing(i));
    }
    guard.force_flush().expect("flush");

    // What propagates is the head decision: about 10 % of requests, and the same in the
    // `traceparent` the handler injects, whether or not the trace is kept later.
    for s in &seen {
        let flags = u8::from_str_radix(&s.traceparent_flags, 16).expect("hex flags");
        assert_eq!(flags & 1 == 1, s.sampled, "traceparent flags {flags:02x}");
    }
    let head_sampled = seen.iter().filter(|s| s.sampled).count();

    let spans = recorder.spans();
    let mut traces: HashMap<TraceId, Vec<SpanData>> = HashMap::new();
    for span in spans {
        traces.entry(span.span_context.trace_id()).or_default().push(span);
    }
    let by_id: HashMap<TraceId, &Seen> = seen.iter().map(|s| (s.trace_id, s)).collect();

    // Every exported trace is whole: the handler is the root, both children point at it.
    let mut failing_ids = HashSet::new();
    let mut slow_ids = HashSet::new();
    let mut others = 0;
    for (trace_id, spans) in &traces {
        let s = by_id.get(trace_id).expect("a trace of the test");
        // A failing request stops before `render`.
        let expected = if failing(s.index) { 2 } else { 3 };
        assert_eq!(spans.len(), expected, "all local spans of {trace_id}: {spans:#?}");
        let root = spans
            .iter()
            .find(|s| s.name.ends_with("handle"))
            .expect("root exported");
        assert_eq!(root.parent_span_id, SpanId::INVALID);
        for child in spans
            .iter()
            .filter(|s| s.span_context.span_id() != root.span_context.span_id())
        {
            assert_eq!(
                child.parent_span_id,
                root.span_context.span_id(),
                "parent link intact"
            );
        }
        let reasons: HashSet<_> = spans.iter().map(reason).collect();
        assert_eq!(reasons.len(), 1, "one reason per trace: {reasons:?}");
        let reason = reasons.into_iter().next().flatten().expect("a reason attribute");
        let is_error = spans
            .iter()
            .any(|s| matches!(s.status, otel_core::opentelemetry::trace::Status::Error { .. }));
        assert_eq!(is_error, failing(s.index));
        if failing(s.index) {
            assert_eq!(reason, if s.sampled { "head" } else { "error" });
            failing_ids.insert(s.index);
        } else if slow(s.index) {
            assert_eq!(reason, if s.sampled { "head" } else { "slow" });
            slow_ids.insert(s.index);
        } else {
            assert!(s.sampled, "a clean, fast trace is exported only if head-sampled");
            assert_eq!(reason, "head");
            others += 1;
        }
    }
    let failing_total = (0..REQUESTS).filter(|&i| failing(i)).count();
    let slow_total = (0..REQUESTS).filter(|&i| slow(i)).count();
    assert_eq!(
        failing_ids.len(),
        failing_total,
        "every failing trace is exported"
    );
    assert_eq!(slow_ids.len(), slow_total, "every slow trace is exported");

    // The others follow the head ratio: binomial(n, 0.1) within 4 standard deviations.
    let n = (REQUESTS - failing_total - slow_total) as f64;
    let (mean, sigma) = (n * 0.1, (n * 0.1 * 0.9).sqrt());
    assert!(
        (others as f64 - mean).abs() <= 4.0 * sigma,
        "{others} clean traces exported, expected {mean:.0} ± {:.0}",
        4.0 * sigma
    );

    // Status and metrics see the same decisions.
    let tail = otel_core::telemetry_status()
        .tail_sampling
        .expect("tail sampling on");
    assert_eq!(
        tail.kept_head + tail.kept_error + tail.kept_slow,
        traces.len() as u64
    );
    assert_eq!(tail.kept_head, head_sampled as u64);
    assert_eq!(
        tail.kept_head + tail.kept_error + tail.kept_slow + tail.dropped_traces,
        REQUESTS as u64
    );
    // Only clean, fast traces (three spans each) are dropped.
    assert_eq!(tail.dropped_spans, 3 * tail.dropped_traces);
    assert_eq!((tail.buffered_spans, tail.buffered_traces), (0, 0));
    assert_eq!(
        tail.decided_early_max_spans + tail.decided_early_max_traces + tail.timed_out,
        0
    );

    // RED metrics count every call, whatever was kept.
    assert_eq!(calls(&reader, "function.calls", "handle", None), REQUESTS as u64);
    assert_eq!(
        calls(&reader, "function.calls", "render", None),
        (REQUESTS - failing_total) as u64
    );
    assert_eq!(
        calls(&reader, "function.calls", "load", Some("error")),
        failing_total as u64
    );

    guard.shutdown().expect("shutdown");
}
