//! The traces waiting for a decision, and the decision itself.
//!
//! Spans are grouped per trace id as they end. The trace is decided when its local root
//! ends, when a cap needs room (oldest first), when it has waited `decision_timeout`, or
//! at shutdown. Memory is what waits: a `HashMap` entry and a `Vec` of spans per trace,
//! plus an arrival-ordered `BTreeMap` to find the oldest, nothing preallocated.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use crate::config::TailSamplingConfig;

/// Why a trace is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The head sampler sampled it.
    Head,
    /// A span ended with an error status.
    Error,
    /// The local root took longer than the threshold (or the trace was open that long
    /// when it had to be decided early).
    Slow,
}

impl Reason {
    /// The value of the `otel_toolkit.tail_sampling.reason` attribute.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Error => "error",
            Self::Slow => "slow",
        }
    }
}

/// Why a trace was decided before its local root ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Early {
    /// `max_spans` spans were waiting.
    MaxSpans,
    /// `max_traces` traces were waiting.
    MaxTraces,
    /// The trace waited `decision_timeout`.
    Timeout,
    /// The processor shut down.
    Shutdown,
}

/// A decided trace: its spans, whether (and why) they are kept, and whether the
/// decision came early.
#[derive(Debug)]
pub(crate) struct Decision {
    pub(crate) spans: Vec<SpanData>,
    pub(crate) keep: Option<Reason>,
    pub(crate) early: Option<Early>,
}

/// Whether `span` is the first span of its trace in this process: without a parent,
/// or with a parent in another process.
pub(crate) fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

#[derive(Debug)]
struct Pending {
    /// Position in `Buffer::order`.
    seq: u64,
    /// When its first span arrived, for the timeout.
    since: Instant,
    /// The earliest span start, for deciding an unfinished trace slow.
    earliest_start: SystemTime,
    error: bool,
    spans: Vec<SpanData>,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Buffer {
    config: TailSamplingConfig,
    traces: HashMap<TraceId, Pending>,
    /// Trace ids by arrival; the first entry is the oldest waiting trace.
    order: BTreeMap<u64, TraceId>,
    next_seq: u64,
    spans: usize,
}

impl Buffer {
    pub(crate) fn new(config: TailSamplingConfig) -> Self {
        Buffer {
            config,
            traces: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            spans: 0,
        }
    }

    /// Spans and traces waiting.
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.spans, self.traces.len())
    }

    /// Adds a span the head sampler dropped; what it causes to be decided goes to `out`.
    pub(crate) fn push(&mut self, span: SpanData, now: Instant, out: &mut Vec<Decision>) {
        self.expire(now, out);
        let trace_id = span.span_context.trace_id();
        let error = matches!(span.status, Status::Error { .. });
        if is_local_root(&span) {
            let (mut spans, mut any_error) = match self.remove(trace_id) {
                Some(pending) => (pending.spans, pending.error),
                None => (Vec::new(), false),
            };
            any_error |= error;
            let took = span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or(Duration::ZERO);
            spans.push(span);
            let keep = self.verdict(any_error, took);
            out.push(Decision {
                spans,
                keep,
                early: None,
            });
            return;
        }
        if !self.traces.contains_key(&trace_id) && self.traces.len() >= self.config.max_traces {
            self.evict_oldest(Early::MaxTraces, out);
        }
        let pending = match self.traces.entry(trace_id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.order.insert(seq, trace_id);
                entry.insert(Pending {
                    seq,
                    since: now,
                    earliest_start: span.start_time,
                    error: false,
                    spans: Vec::new(),
                })
            }
        };
        pending.error |= error;
        pending.earliest_start = pending.earliest_start.min(span.start_time);
        pending.spans.push(span);
        self.spans += 1;
        while self.spans > self.config.max_spans {
            self.evict_oldest(Early::MaxSpans, out);
        }
    }

    /// Decides every trace that has waited `decision_timeout` by `now`.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Decision>) {
        while let Some((_, trace_id)) = self.order.first_key_value() {
            let timed_out = self
                .traces
                .get(trace_id)
                .is_some_and(|p| now.saturating_duration_since(p.since) >= self.config.decision_timeout);
            if !timed_out {
                return;
            }
            self.evict_oldest(Early::Timeout, out);
        }
    }

    /// Decides every waiting trace (at shutdown).
    pub(crate) fn drain(&mut self, out: &mut Vec<Decision>) {
        while !self.order.is_empty() {
            self.evict_oldest(Early::Shutdown, out);
        }
    }

    fn evict_oldest(&mut self, why: Early, out: &mut Vec<Decision>) {
        let Some((_, trace_id)) = self.order.pop_first() else {
            return;
        };
        let Some(pending) = self.traces.remove(&trace_id) else {
            return;
        };
        self.spans -= pending.spans.len();
        // The root has not ended: it has run at least as long as the trace has been open.
        let open_for = SystemTime::now()
            .duration_since(pending.earliest_start)
            .unwrap_or(Duration::ZERO);
        out.push(Decision {
            keep: self.verdict(pending.error, open_for),
            spans: pending.spans,
            early: Some(why),
        });
    }

    fn remove(&mut self, trace_id: TraceId) -> Option<Pending> {
        let pending = self.traces.remove(&trace_id)?;
        self.order.remove(&pending.seq);
        self.spans -= pending.spans.len();
        Some(pending)
    }

    fn verdict(&self, error: bool, took: Duration) -> Option<Reason> {
        if error {
            Some(Reason::Error)
        } else if took > self.config.latency_threshold {
            Some(Reason::Slow)
        } else {
            None
        }
    }
}
