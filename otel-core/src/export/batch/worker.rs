//! The export thread: exports ready batches as they come, the rest of the queue on
//! schedule, and everything on flush and shutdown, each export bounded by a deadline.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::{Control, Shared};
use crate::config::BatchConfig;
use crate::export::stats::SignalStats;
use crate::runtime::Executor;
use crate::sync::lock;

/// `from + delay`, or a year from `from` for delays too long to represent (a schedule
/// delay of `u64::MAX` milliseconds from the environment means "never").
pub(super) fn after(from: Instant, delay: Duration) -> Instant {
    from.checked_add(delay)
        .unwrap_or_else(|| from + Duration::from_secs(365 * 24 * 3600))
}

enum Work {
    Control(Control),
    Export(Vec<SpanData>),
}

pub(super) struct Worker<E> {
    exporter: E,
    shared: Arc<Shared>,
    config: BatchConfig,
    executor: Executor,
    stats: Arc<SignalStats>,
    /// The first export failure since the last flush: a flush must report spans that a
    /// background export already failed to deliver, not only its own drain.
    failed_since_flush: Option<String>,
}

impl<E: SpanExporter> Worker<E> {
    pub(super) fn new(
        exporter: E,
        shared: Arc<Shared>,
        config: BatchConfig,
        executor: Executor,
        stats: Arc<SignalStats>,
    ) -> Self {
        Self {
            exporter,
            shared,
            config,
            executor,
            stats,
            failed_since_flush: None,
        }
    }

    pub(super) fn run(mut self) {
        // Telemetry produced while exporting (transport logs, say) must not feed back
        // into the pipeline that is exporting it.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut next_export = after(Instant::now(), self.config.scheduled_delay);
        loop {
            match self.next_work(&mut next_export) {
                Work::Export(batch) => {
                    // Failures are counted in the stats; nobody waits for this result.
                    let _ = self.export(batch, self.config.export_timeout);
                }
                Work::Control(Control::Flush { ack, deadline }) => {
                    let result = self.flush(deadline);
                    let _ = ack.send(result);
                }
                Work::Control(Control::Shutdown { ack, deadline }) => {
                    let result = self.shutdown(deadline);
                    let _ = ack.send(result);
                    return;
                }
                Work::Control(Control::SetResource(resource)) => {
                    self.exporter.set_resource(&resource);
                }
            }
        }
    }

    /// Waits for something to do: a request first, then a ready batch; when the schedule
    /// comes due, the batch being filled is closed and so becomes ready too.
    fn next_work(&self, next_export: &mut Instant) -> Work {
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(control) = state.requests.pop_front() {
                return Work::Control(control);
            }
            if let Some(batch) = state.queue.pop_ready() {
                return Work::Export(batch);
            }
            let now = Instant::now();
            if now >= *next_export {
                state.queue.seal();
                *next_export = after(now, self.config.scheduled_delay);
                continue;
            }
            state.worker_asleep = true;
            state = self
                .shared
                .wake
                .wait_timeout(state, *next_export - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.worker_asleep = false;
        }
    }

    /// Exports what was queued when the flush arrived, then flushes the exporter. Spans
    /// still queued at `deadline` stay queued for the next exports.
    fn flush(&mut self, deadline: Instant) -> OTelSdkResult {
        let batches = {
            let mut state = lock(&self.shared.state);
            state.queue.seal();
            state.queue.ready_batches()
        };
        let mut result = Ok(());
        for _ in 0..batches {
            let Some(timeout) = self.budget(deadline) else {
                result = Err(OTelSdkError::Timeout(self.config.export_timeout));
                break;
            };
            let Some(batch) = lock(&self.shared.state).queue.pop_ready() else {
                break;
            };
            if let Err(e) = self.export(batch, timeout) {
                result = Err(e);
            }
        }
        // The console exporter holds unfinished traces until asked.
        let result = result.and(self.exporter.force_flush());
        match (result, self.failed_since_flush.take()) {
            (Ok(()), Some(earlier)) => Err(OTelSdkError::InternalFailure(earlier)),
            (result, _) => result,
        }
    }

    /// Refuses new spans, exports everything queued until `deadline`, drops and counts
    /// the rest, and shuts the exporter down.
    fn shutdown(&mut self, deadline: Instant) -> OTelSdkResult {
        let pending = {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            state.queue.seal();
            std::mem::take(&mut state.requests)
        };
        // A flush that was queued behind the shutdown will not run.
        for control in pending {
            if let Control::Flush { ack, .. } | Control::Shutdown { ack, .. } = control {
                let _ = ack.send(Err(OTelSdkError::AlreadyShutdown));
            }
        }
        let mut result = Ok(());
        loop {
            let Some(timeout) = self.budget(deadline) else {
                let left = lock(&self.shared.state).queue.clear();
                if left > 0 {
                    self.stats.record_dropped_at_shutdown(left as u64);
                    result = Err(OTelSdkError::Timeout(self.config.export_timeout));
                }
                break;
            };
            let Some(batch) = lock(&self.shared.state).queue.pop_ready() else {
                break;
            };
            if let Err(e) = self.export(batch, timeout) {
                result = Err(e);
            }
        }
        let timeout = remaining(deadline).unwrap_or(Duration::from_millis(100));
        result.and(self.exporter.shutdown_with_timeout(timeout))
    }

    /// How long the next export may take: the export timeout, or less to end by
    /// `deadline`; `None` once `deadline` has passed.
    fn budget(&self, deadline: Instant) -> Option<Duration> {
        remaining(deadline).map(|left| left.min(self.config.export_timeout))
    }

    fn export(&mut self, batch: Vec<SpanData>, timeout: Duration) -> OTelSdkResult {
        let count = batch.len();
        match self.executor.run(timeout, self.exporter.export(batch)) {
            Some(Ok(())) => {
                self.stats.record_success(count);
                Ok(())
            }
            Some(Err(e)) => {
                self.fail(count, format!("span export failed: {e}"));
                Err(e)
            }
            None => {
                self.fail(
                    count,
                    format!("span export timed out after {} ms", timeout.as_millis()),
                );
                Err(OTelSdkError::Timeout(timeout))
            }
        }
    }

    fn fail(&mut self, count: usize, message: String) {
        if self.failed_since_flush.is_none() {
            self.failed_since_flush = Some(format!("{message} ({count} spans)"));
        }
        self.stats.record_failure(count, message);
    }
}

/// Time left before `deadline`; `None` once it has passed.
fn remaining(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}
