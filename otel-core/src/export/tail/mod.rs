//! In-process tail sampling: keep every trace with an error or a slow local root, and
//! the head sampler's share of the others.
//!
//! Two parts, installed together by `crate::pipeline::traces` when
//! [`TailSamplingConfig::enabled`] is set:
//!
//! - [`RecordDropped`] wraps the configured sampler: what it drops is recorded anyway
//!   (`RecordOnly`), so every local span reaches `on_end` while the sampled flag that
//!   propagates stays the head decision.
//! - [`TailProcessor`] is the provider's only span processor and feeds the configured
//!   ones (batch processors, then the user's). Head-sampled spans pass straight through.
//!   The others wait in a [`Buffer`] per trace until the local root ends; a kept trace
//!   is handed on whole, a dropped one is freed.
//!
//! Kept spans carry [`REASON`]. Those the head sampler dropped are handed on with the
//! sampled flag set in their `SpanData` (the record of a span that *was* sampled, by
//! the tail): processors downstream that skip unsampled spans, like the SDK's
//! `BatchSpanProcessor` and `SimpleSpanProcessor`, export them too. The context
//! propagated while the request ran is not touched: it carried the head decision.
//!
//! `on_end` never waits for anything but the buffer's mutex, held for a hash-map
//! operation; a full buffer decides its oldest traces at once instead of growing.

mod buffer;
mod install;
mod sampler;
pub(crate) mod stats;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::trace::SpanContext;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use self::buffer::{is_local_root, Buffer, Decision, Reason};
pub(crate) use self::install::install;
use self::sampler::RecordDropped;
use self::stats::TailStats;
use crate::config::TailSamplingConfig;
use crate::sync::lock;

/// The attribute every exported span gets when tail sampling is on: `head`, `error` or
/// `slow`.
pub(crate) const REASON: &str = "otel_toolkit.tail_sampling.reason";

/// See the module documentation.
pub(crate) struct TailProcessor {
    buffer: Mutex<Buffer>,
    downstream: Vec<Box<dyn SpanProcessor>>,
    stats: Arc<TailStats>,
}

impl std::fmt::Debug for TailProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailProcessor")
            .field("buffer", &self.buffer)
            .field("downstream", &self.downstream.len())
            .finish()
    }
}

impl TailProcessor {
    /// Feeds `downstream`, in order, with the kept spans.
    pub(crate) fn new(
        config: TailSamplingConfig,
        downstream: Vec<Box<dyn SpanProcessor>>,
        stats: Arc<TailStats>,
    ) -> Self {
        stats.enabled.store(true, Ordering::Relaxed);
        TailProcessor {
            buffer: Mutex::new(Buffer::new(config)),
            downstream,
            stats,
        }
    }

    /// Runs `f` on the buffer, then hands on (or frees) what it decided, outside the lock.
    fn with_buffer(&self, f: impl FnOnce(&mut Buffer, &mut Vec<Decision>)) {
        let mut decided = Vec::new();
        {
            let mut buffer = lock(&self.buffer);
            f(&mut buffer, &mut decided);
            self.stats.set_buffered(buffer.len());
        }
        for decision in decided {
            self.stats
                .record(decision.keep, decision.early, decision.spans.len());
            if let Some(reason) = decision.keep {
                for span in decision.spans {
                    self.forward(mark(span, reason));
                }
            }
        }
    }

    fn forward(&self, span: SpanData) {
        if let Some((last, others)) = self.downstream.split_last() {
            for processor in others {
                processor.on_end(span.clone());
            }
            last.on_end(span);
        }
    }

    fn each(&self, f: impl Fn(&dyn SpanProcessor) -> OTelSdkResult) -> OTelSdkResult {
        let mut result = Ok(());
        for processor in &self.downstream {
            if let Err(e) = f(processor.as_ref()) {
                result = Err(e);
            }
        }
        result
    }
}

/// Says why `span` is kept and marks it sampled (see the module documentation).
fn mark(mut span: SpanData, reason: Reason) -> SpanData {
    span.attributes.push(KeyValue::new(REASON, reason.as_str()));
    let sc = &span.span_context;
    if !sc.is_sampled() {
        span.span_context = SpanContext::new(
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().with_sampled(true),
            sc.is_remote(),
            sc.trace_state().clone(),
        );
    }
    span
}

impl SpanProcessor for TailProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        for processor in &self.downstream {
            processor.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            if is_local_root(&span) {
                self.stats.record(Some(Reason::Head), None, 0);
            }
            self.forward(mark(span, Reason::Head));
            return;
        }
        let now = Instant::now();
        self.with_buffer(|buffer, out| buffer.push(span, now, out));
    }

    fn force_flush(&self) -> OTelSdkResult {
        let now = Instant::now();
        self.with_buffer(|buffer, out| buffer.expire(now, out));
        self.each(|p| p.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // Undecided traces are decided with what is known, then exported with the rest.
        self.with_buffer(|buffer, out| buffer.drain(out));
        self.each(|p| p.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        for processor in &mut self.downstream {
            processor.set_resource(resource);
        }
    }
}

#[cfg(test)]
mod tests;
