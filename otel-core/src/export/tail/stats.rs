//! Tail sampling's counters (read by [`crate::telemetry_status()`]) and its metrics:
//!
//! | instrument | kind | what |
//! |:-|:-|:-|
//! | `otel_toolkit.tail_sampling.traces` | counter | decided traces; `otel_toolkit.tail_sampling.decision` = `kept` with `otel_toolkit.tail_sampling.reason` = `head` / `error` / `slow`, or `dropped` |
//! | `otel_toolkit.tail_sampling.overflow` | counter | traces decided before their root ended; `otel_toolkit.tail_sampling.cause` = `max_spans` / `max_traces` / `timeout` |
//! | `otel_toolkit.tail_sampling.buffered` | up-down counter | spans waiting for a decision |

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::buffer::{Early, Reason};
use crate::status::TailSamplingStatus;

const DECISION: &str = "otel_toolkit.tail_sampling.decision";
const REASON: &str = super::REASON;
const CAUSE: &str = "otel_toolkit.tail_sampling.cause";

/// Counters of the tail processor; shared with the status and the metrics callbacks.
#[derive(Debug, Default)]
pub(crate) struct TailStats {
    /// A tail processor reports here.
    pub(crate) enabled: AtomicBool,
    kept_head: AtomicU64,
    kept_error: AtomicU64,
    kept_slow: AtomicU64,
    dropped_traces: AtomicU64,
    dropped_spans: AtomicU64,
    early_max_spans: AtomicU64,
    early_max_traces: AtomicU64,
    timed_out: AtomicU64,
    buffered_spans: AtomicU64,
    buffered_traces: AtomicU64,
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl TailStats {
    /// Counts one decided trace of `spans` spans.
    pub(crate) fn record(&self, keep: Option<Reason>, early: Option<Early>, spans: usize) {
        let counter = match keep {
            Some(Reason::Head) => &self.kept_head,
            Some(Reason::Error) => &self.kept_error,
            Some(Reason::Slow) => &self.kept_slow,
            None => {
                self.dropped_spans.fetch_add(spans as u64, Ordering::Relaxed);
                &self.dropped_traces
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let early = match early {
            Some(Early::MaxSpans) => &self.early_max_spans,
            Some(Early::MaxTraces) => &self.early_max_traces,
            Some(Early::Timeout) => &self.timed_out,
            Some(Early::Shutdown) | None => return,
        };
        early.fetch_add(1, Ordering::Relaxed);
    }

    /// What waits now.
    pub(crate) fn set_buffered(&self, (spans, traces): (usize, usize)) {
        self.buffered_spans.store(spans as u64, Ordering::Relaxed);
        self.buffered_traces.store(traces as u64, Ordering::Relaxed);
    }

    /// The snapshot for [`crate::telemetry_status()`]; `None` when tail sampling is off.
    pub(crate) fn status(&self, latency_threshold_ms: u64) -> Option<TailSamplingStatus> {
        self.enabled.load(Ordering::Relaxed).then(|| TailSamplingStatus {
            latency_threshold_ms,
            kept_head: load(&self.kept_head),
            kept_error: load(&self.kept_error),
            kept_slow: load(&self.kept_slow),
            dropped_traces: load(&self.dropped_traces),
            dropped_spans: load(&self.dropped_spans),
            decided_early_max_spans: load(&self.early_max_spans),
            decided_early_max_traces: load(&self.early_max_traces),
            timed_out: load(&self.timed_out),
            buffered_spans: load(&self.buffered_spans),
            buffered_traces: load(&self.buffered_traces),
        })
    }
}

/// Registers the instruments on `provider` when a tail processor reports to `stats`;
/// the callbacks read the counters at each collection.
pub(crate) fn register(provider: &SdkMeterProvider, stats: &Arc<TailStats>) {
    if !stats.enabled.load(Ordering::Relaxed) {
        return;
    }
    let scope = InstrumentationScope::builder(crate::span::SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let meter = provider.meter_with_scope(scope);

    let counts = stats.clone();
    let kept = |reason: &'static str| [KeyValue::new(DECISION, "kept"), KeyValue::new(REASON, reason)];
    let (head, error, slow) = (kept("head"), kept("error"), kept("slow"));
    let dropped = [KeyValue::new(DECISION, "dropped")];
    meter
        .u64_observable_counter("otel_toolkit.tail_sampling.traces")
        .with_unit("{trace}")
        .with_description("Traces decided by tail sampling")
        .with_callback(move |observer| {
            observer.observe(load(&counts.kept_head), &head);
            observer.observe(load(&counts.kept_error), &error);
            observer.observe(load(&counts.kept_slow), &slow);
            observer.observe(load(&counts.dropped_traces), &dropped);
        })
        .build();

    let counts = stats.clone();
    let cause = |c: &'static str| [KeyValue::new(CAUSE, c)];
    let (max_spans, max_traces, timeout) = (cause("max_spans"), cause("max_traces"), cause("timeout"));
    meter
        .u64_observable_counter("otel_toolkit.tail_sampling.overflow")
        .with_unit("{trace}")
        .with_description(
            "Traces decided before their local root ended: a cap was reached, or the decision timed out",
        )
        .with_callback(move |observer| {
            observer.observe(load(&counts.early_max_spans), &max_spans);
            observer.observe(load(&counts.early_max_traces), &max_traces);
            observer.observe(load(&counts.timed_out), &timeout);
        })
        .build();

    let counts = stats.clone();
    meter
        .i64_observable_up_down_counter("otel_toolkit.tail_sampling.buffered")
        .with_unit("{span}")
        .with_description("Spans waiting for a tail sampling decision")
        .with_callback(move |observer| {
            observer.observe(
                i64::try_from(load(&counts.buffered_spans)).unwrap_or(i64::MAX),
                &[],
            );
        })
        .build();
}
