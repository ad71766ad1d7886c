//! Spans of a trace arrive in several batches, children first: they wait here, per
//! trace and within bounds, until the trace's local root ends.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;
/// Why a trace is drawn, shown in its header when it is not the normal case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Completeness {
    /// A local root ended.
    Complete,
    /// Flushed or shut down before any local root ended.
    RootPending,
    /// Pushed out of the bounded buffer before any local root ended.
    Evicted,
}

#[derive(Debug)]
pub(super) struct FinishedTrace {
    pub(super) trace_id: TraceId,
    pub(super) spans: Vec<SpanData>,
    pub(super) completeness: Completeness,
}

#[derive(Debug)]
struct PendingTrace {
    /// Arrival order, the key into `TraceBuffer::arrival`.
    seq: u64,
    spans: Vec<SpanData>,
    root_ended: bool,
}

/// Spans waiting for their trace's local root, bounded in traces and in spans.
#[derive(Debug)]
pub(super) struct TraceBuffer {
    traces: HashMap<TraceId, PendingTrace>,
    /// Pending traces by first arrival, so the oldest is evicted first.
    arrival: BTreeMap<u64, TraceId>,
    span_count: usize,
    next_seq: u64,
    max_traces: usize,
    max_spans: usize,
}

impl TraceBuffer {
    pub(super) fn new(max_traces: usize, max_spans: usize) -> Self {
        Self {
            traces: HashMap::new(),
            arrival: BTreeMap::new(),
            span_count: 0,
            next_seq: 0,
            max_traces,
            max_spans,
        }
    }

    /// Buffers a batch and returns the traces to draw now: those evicted to stay within
    /// bounds, then those whose local root ended. Roots are acted on after the whole
    /// batch, so children exported in the same batch as their root are drawn with it.
    pub(super) fn insert_batch(&mut self, batch: Vec<SpanData>) -> Vec<FinishedTrace> {
        let mut finished = Vec::new();
        let mut rooted = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let is_local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
            let pending = match self.traces.entry(trace_id) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    self.arrival.insert(seq, trace_id);
                    entry.insert(PendingTrace {
                        seq,
                        spans: Vec::new(),
                        root_ended: false,
                    })
                }
            };
            pending.spans.push(span);
            if is_local_root && !pending.root_ended {
                pending.root_ended = true;
                rooted.push(trace_id);
            }
            self.span_count += 1;
            self.evict_over_limits(&mut finished);
        }
        for trace_id in rooted {
            // Evicted meanwhile (already drawn) or re-opened by later spans without a root.
            if self.traces.get(&trace_id).is_some_and(|t| t.root_ended) {
                if let Some(trace) = self.remove(trace_id) {
                    finished.push(FinishedTrace {
                        trace_id,
                        spans: trace.spans,
                        completeness: Completeness::Complete,
                    });
                }
            }
        }
        finished
    }

    fn evict_over_limits(&mut self, finished: &mut Vec<FinishedTrace>) {
        while self.traces.len() > self.max_traces || self.span_count > self.max_spans {
            let Some((_, trace_id)) = self.arrival.pop_first() else {
                break;
            };
            if let Some(trace) = self.traces.remove(&trace_id) {
                self.span_count -= trace.spans.len();
                finished.push(FinishedTrace {
                    trace_id,
                    completeness: if trace.root_ended {
                        Completeness::Complete
                    } else {
                        Completeness::Evicted
                    },
                    spans: trace.spans,
                });
            }
        }
    }

    /// Traces waiting for their local root.
    pub(super) fn pending_traces(&self) -> usize {
        self.traces.len()
    }

    /// Spans buffered across all pending traces.
    pub(super) fn pending_spans(&self) -> usize {
        self.span_count
    }

    fn remove(&mut self, trace_id: TraceId) -> Option<PendingTrace> {
        let trace = self.traces.remove(&trace_id)?;
        self.arrival.remove(&trace.seq);
        self.span_count -= trace.spans.len();
        Some(trace)
    }

    /// Everything pending, oldest first.
    pub(super) fn drain(&mut self) -> Vec<FinishedTrace> {
        let arrival = std::mem::take(&mut self.arrival);
        let mut drained = Vec::with_capacity(arrival.len());
        for trace_id in arrival.into_values() {
            if let Some(trace) = self.traces.remove(&trace_id) {
                drained.push(FinishedTrace {
                    trace_id,
                    completeness: if trace.root_ended {
                        Completeness::Complete
                    } else {
                        Completeness::RootPending
                    },
                    spans: trace.spans,
                });
            }
        }
        self.traces.clear();
        self.span_count = 0;
        drained
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use opentelemetry_sdk::trace::SpanExporter as _;

    use super::super::test_support::{exporter, S};
    use super::super::ConsoleSpanExporter;
    use crate::export::console::test_support::SharedBuf;
    use crate::sync::lock;

    #[test]
    fn remote_parent_makes_a_local_root() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let child = S::new(2, 1, "child", 1, 2).build();
        block_on(exporter.export(vec![child])).unwrap();
        assert_eq!(buf.text(), "");
        let server = S::new(1, 99, "server", 0, 3).remote_parent().build();
        block_on(exporter.export(vec![server])).unwrap();
        let text = buf.text();
        assert!(text.contains("· 2 spans\nserver "), "{text}");
        assert!(text.contains("\n  child "), "child is nested: {text}");
        assert!(!text.contains("partial"), "{text}");
    }

    #[test]
    fn pending_traces_are_bounded() {
        let buf = SharedBuf::default();
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(false)
            .with_max_pending_traces(2)
            .build();
        let traces = [
            "00000000000000000000000000000001",
            "00000000000000000000000000000002",
            "00000000000000000000000000000003",
        ];
        for (n, hex) in traces.iter().enumerate() {
            let span = S::new(10 + n as u64, 1, "child", 0, 1).in_trace(hex).build();
            block_on(exporter.export(vec![span])).unwrap();
        }
        let text = buf.text();
        assert_eq!(
            text,
            format!(
                "trace {} · 1.00 ms · 1 span · incomplete: evicted before its root span ended (buffer full)\n\
                 child  1.00 ms  │████████████████████████████████│\n\n",
                traces[0]
            )
        );
        assert_eq!(lock(&exporter.buffer).traces.len(), 2);
    }

    #[test]
    fn pending_spans_are_bounded() {
        let buf = SharedBuf::default();
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(false)
            .with_max_pending_spans(3)
            .build();
        let a = "0000000000000000000000000000000a";
        let b = "0000000000000000000000000000000b";
        block_on(exporter.export(vec![
            S::new(2, 1, "a1", 0, 1).in_trace(a).build(),
            S::new(3, 1, "a2", 0, 1).in_trace(a).build(),
            S::new(4, 1, "b1", 0, 1).in_trace(b).build(),
        ]))
        .unwrap();
        assert_eq!(buf.text(), "");
        block_on(exporter.export(vec![S::new(5, 1, "b2", 0, 1).in_trace(b).build()])).unwrap();
        let text = buf.text();
        assert!(text.starts_with(&format!("trace {a} ")), "{text}");
        assert!(text.contains("evicted"), "{text}");
        assert!(text.contains("\na1 ") && text.contains("\na2 "), "{text}");
        assert!(!text.contains("b1"), "{text}");
        let buffer = lock(&exporter.buffer);
        assert_eq!((buffer.traces.len(), buffer.span_count), (1, 2));
    }

    #[test]
    fn late_spans_after_the_root_start_a_new_pending_entry() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(1, 0, "root", 0, 10).build()])).unwrap();
        assert!(buf.text().contains("1 span\nroot "));
        buf.clear();
        block_on(exporter.export(vec![S::new(2, 1, "spawned", 5, 30).build()])).unwrap();
        assert_eq!(buf.text(), "");
        exporter.force_flush().unwrap();
        assert!(buf.text().contains("partial"), "{}", buf.text());
        assert!(buf.text().contains("\nspawned "), "{}", buf.text());
    }
}
