use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};

use super::buffer::{Buffer, Decision, Early, Reason};
use super::stats::TailStats;
use super::{TailProcessor, REASON};
use crate::config::TailSamplingConfig;
use crate::testing::SpanRecorder;

const THRESHOLD: Duration = Duration::from_millis(100);

fn config(max_spans: usize, max_traces: usize) -> TailSamplingConfig {
    TailSamplingConfig {
        latency_threshold: THRESHOLD,
        max_spans,
        max_traces,
        decision_timeout: Duration::from_secs(30),
        ..TailSamplingConfig::ENABLED
    }
}

/// A finished span of trace `trace`: `parent` 0 for a root, `took` its duration.
fn span(trace: u128, id: u64, parent: u64, sampled: bool, error: bool, took: Duration) -> SpanData {
    let start = SystemTime::now() - took;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(trace),
            SpanId::from(id),
            TraceFlags::default().with_sampled(sampled),
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "s".into(),
        start_time: start,
        end_time: start + took,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: if error {
            Status::error("failed")
        } else {
            Status::Unset
        },
        instrumentation_scope: InstrumentationScope::default(),
    }
}

fn child(trace: u128, id: u64, error: bool) -> SpanData {
    span(trace, id, 1, false, error, Duration::from_millis(1))
}

fn root(trace: u128, took: Duration) -> SpanData {
    span(trace, 1, 0, false, false, took)
}

fn fast() -> Duration {
    Duration::from_millis(2)
}

#[test]
fn a_trace_waits_for_its_root_and_is_decided_whole() {
    let mut buffer = Buffer::new(config(100, 100));
    let mut out = Vec::new();
    let now = Instant::now();
    buffer.push(child(7, 2, false), now, &mut out);
    buffer.push(child(7, 3, true), now, &mut out);
    assert!(out.is_empty(), "no decision before the root ends");
    assert_eq!(buffer.len(), (2, 1));
    buffer.push(root(7, fast()), now, &mut out);
    assert_eq!(buffer.len(), (0, 0), "nothing is held once decided");
    let [Decision { spans, keep, early }] = &out[..] else {
        panic!("one decision: {out:?}");
    };
    assert_eq!(spans.len(), 3);
    assert_eq!(*keep, Some(Reason::Error));
    assert_eq!(*early, None);
}

#[test]
fn a_slow_root_keeps_its_trace_and_a_fast_clean_one_is_dropped() {
    let mut buffer = Buffer::new(config(100, 100));
    let mut out = Vec::new();
    let now = Instant::now();
    buffer.push(child(1, 2, false), now, &mut out);
    buffer.push(root(1, THRESHOLD * 2), now, &mut out);
    buffer.push(child(2, 2, false), now, &mut out);
    buffer.push(root(2, fast()), now, &mut out);
    let verdicts: Vec<_> = out.iter().map(|d| (d.spans.len(), d.keep)).collect();
    assert_eq!(verdicts, [(2, Some(Reason::Slow)), (2, None)]);
}

#[test]
fn a_span_with_a_remote_parent_is_a_local_root() {
    let mut buffer = Buffer::new(config(100, 100));
    let mut out = Vec::new();
    let mut server = span(3, 9, 42, false, true, fast());
    server.parent_span_is_remote = true;
    buffer.push(server, Instant::now(), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].keep, Some(Reason::Error));
}

#[test]
fn the_trace_cap_decides_the_oldest_trace_early() {
    let mut buffer = Buffer::new(config(100, 2));
    let mut out = Vec::new();
    let now = Instant::now();
    buffer.push(child(1, 2, true), now, &mut out);
    buffer.push(child(2, 2, false), now, &mut out);
    buffer.push(child(3, 2, false), now, &mut out);
    assert_eq!(buffer.len(), (2, 2));
    let [Decision { spans, keep, early }] = &out[..] else {
        panic!("the oldest trace is decided: {out:?}");
    };
    assert_eq!(spans[0].span_context.trace_id(), TraceId::from(1));
    assert_eq!(*keep, Some(Reason::Error), "an error seen so far still keeps it");
    assert_eq!(*early, Some(Early::MaxTraces));
    // A span of a waiting trace needs no room for a new trace.
    buffer.push(child(3, 3, false), now, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn the_span_cap_decides_oldest_traces_until_the_spans_fit() {
    let mut buffer = Buffer::new(config(4, 100));
    let mut out = Vec::new();
    let now = Instant::now();
    for id in 2..4 {
        buffer.push(child(1, id, false), now, &mut out);
        buffer.push(child(2, id, false), now, &mut out);
    }
    assert!(out.is_empty());
    buffer.push(child(3, 2, false), now, &mut out);
    assert_eq!(buffer.len(), (3, 2));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].early, Some(Early::MaxSpans));
    assert_eq!(out[0].keep, None, "fast and clean: dropped");
    assert_eq!(out[0].spans.len(), 2);
    // One trace larger than the cap: it is decided itself, in pieces.
    for id in 10..20 {
        buffer.push(child(9, id, false), now, &mut out);
    }
    assert!(buffer.len().0 <= 4);
}

#[test]
fn a_trace_whose_root_never_ends_is_decided_after_the_timeout() {
    let mut buffer = Buffer::new(config(100, 100));
    let mut out = Vec::new();
    let now = Instant::now();
    buffer.push(child(1, 2, true), now, &mut out);
    buffer.push(child(2, 2, false), now + Duration::from_secs(20), &mut out);
    buffer.expire(now + Duration::from_secs(29), &mut out);
    assert!(out.is_empty());
    buffer.expire(now + Duration::from_secs(30), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].early, Some(Early::Timeout));
    assert_eq!(out[0].keep, Some(Reason::Error));
    assert_eq!(buffer.len(), (1, 1), "the younger trace still waits");
    // Any span ending later also expires what is due.
    buffer.push(child(3, 2, false), now + Duration::from_secs(51), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(buffer.len(), (1, 1));
}

#[test]
fn shutdown_decides_every_waiting_trace() {
    let mut buffer = Buffer::new(config(100, 100));
    let mut out = Vec::new();
    let now = Instant::now();
    buffer.push(child(1, 2, false), now, &mut out);
    buffer.push(child(2, 2, true), now, &mut out);
    buffer.drain(&mut out);
    assert_eq!(buffer.len(), (0, 0));
    let keeps: Vec<_> = out.iter().map(|d| (d.keep, d.early)).collect();
    assert_eq!(
        keeps,
        [
            (None, Some(Early::Shutdown)),
            (Some(Reason::Error), Some(Early::Shutdown))
        ]
    );
}

#[test]
fn the_processor_hands_on_kept_spans_marked_and_counts_decisions() {
    let recorder = SpanRecorder::default();
    let stats = Arc::new(TailStats::default());
    let processor = TailProcessor::new(
        config(100, 100),
        vec![Box::new(recorder.processor())],
        stats.clone(),
    );
    processor.on_end(span(1, 1, 0, true, false, fast()));
    processor.on_end(child(2, 2, true));
    processor.on_end(root(2, fast()));
    processor.on_end(child(3, 2, false));
    processor.on_end(root(3, fast()));

    let spans = recorder.spans();
    let reasons: Vec<_> = spans
        .iter()
        .map(|s| {
            let reason = s.attributes.iter().find(|kv| kv.key.as_str() == REASON);
            (s.span_context.trace_id(), reason.map(|kv| kv.value.to_string()))
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (TraceId::from(1), Some("head".into())),
            (TraceId::from(2), Some("error".into())),
            (TraceId::from(2), Some("error".into())),
        ]
    );
    assert!(
        spans.iter().all(|s| s.span_context.is_sampled()),
        "exported records say they were sampled, so sampled-only processors keep them"
    );
    let status = stats.status(100).expect("enabled");
    assert_eq!(
        (status.kept_head, status.kept_error, status.dropped_traces),
        (1, 1, 1)
    );
    assert_eq!(status.dropped_spans, 2);
    assert_eq!((status.buffered_spans, status.buffered_traces), (0, 0));
}
