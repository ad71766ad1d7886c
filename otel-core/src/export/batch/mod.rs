//! A bounded batch span processor that counts what it drops and whose queue's memory
//! follows its use.
//!
//! The SDK's `BatchSpanProcessor` drops spans when its queue is full but only logs the
//! fact, and preallocates its whole queue; [`crate::telemetry_status()`] must report drops, and a
//! cap large enough for a burst must not cost memory while nothing waits. So:
//!
//! - `on_end` holds a mutex only to append the span to the batch being filled
//!   ([`queue`]) and never waits for an export; past the cap the span is dropped and
//!   counted. (std's unbounded channel would avoid preallocation too, but it allocates
//!   a block per 31 spans: over twice the instructions per `on_end` under callgrind.)
//! - The span that completes a batch wakes the export thread (one wake-up per batch,
//!   and only when that thread sleeps), so a burst is exported while it is produced
//!   instead of piling up until the schedule delay.
//! - The export thread ([`worker`]) also exports on schedule, and on flush and shutdown
//!   exports everything queued, in batches, bounded by the export timeout.
//! - Drops are counted in the signal's [`SignalStats`] and reported as the
//!   `otel.sdk.processor.span.*` metrics ([`metrics`]).

pub(crate) mod metrics;
mod queue;
mod worker;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use self::queue::SpanQueue;
use self::worker::Worker;
use super::stats::SignalStats;
use crate::config::BatchConfig;
use crate::runtime::Executor;
use crate::sync::lock;

/// A request to the export thread.
enum Control {
    /// Export everything queued now, then flush the exporter; give up at `deadline`.
    Flush {
        ack: SyncSender<OTelSdkResult>,
        deadline: Instant,
    },
    /// Export everything queued, drop what is left at `deadline`, shut the exporter down.
    Shutdown {
        ack: SyncSender<OTelSdkResult>,
        deadline: Instant,
    },
    SetResource(Resource),
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Flush { .. } => "Flush",
            Self::Shutdown { .. } => "Shutdown",
            Self::SetResource(_) => "SetResource",
        })
    }
}

/// What the application threads and the export thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled when a batch becomes ready while the export thread sleeps, and on
    /// every request.
    wake: Condvar,
}

#[derive(Debug)]
struct State {
    queue: SpanQueue,
    requests: VecDeque<Control>,
    /// The export thread waits on `wake` and must be woken for new work.
    worker_asleep: bool,
    /// Shut down: spans are no longer accepted.
    closed: bool,
}

impl Shared {
    /// Spans waiting and the most that may wait, for the queue metrics.
    pub(crate) fn queue_size(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.queue.len(), state.queue.cap())
    }
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct BatchProcessor {
    shared: Arc<Shared>,
    export_timeout: Duration,
    stats: Arc<SignalStats>,
    worker: Mutex<Option<JoinHandle<()>>>,
    is_shutdown: AtomicBool,
}

impl BatchProcessor {
    pub(crate) fn new<E>(
        exporter: E,
        config: BatchConfig,
        executor: Executor,
        stats: Arc<SignalStats>,
    ) -> std::io::Result<Self>
    where
        E: SpanExporter + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: SpanQueue::new(config.max_queue_size, config.max_export_batch_size),
                requests: VecDeque::new(),
                worker_asleep: false,
                closed: false,
            }),
            wake: Condvar::new(),
        });
        let worker = Worker::new(exporter, shared.clone(), config, executor, stats.clone());
        let handle = std::thread::Builder::new()
            .name("otel-span-export".into())
            .spawn(move || worker.run())?;
        stats.register_queue(&shared);
        Ok(Self {
            shared,
            export_timeout: config.export_timeout,
            stats,
            worker: Mutex::new(Some(handle)),
            is_shutdown: AtomicBool::new(false),
        })
    }

    /// Hands `control` to the export thread; false once it has shut down.
    fn send(&self, control: Control) -> bool {
        let mut state = lock(&self.shared.state);
        if state.closed {
            return false;
        }
        state.requests.push_back(control);
        drop(state);
        self.shared.wake.notify_one();
        true
    }

    /// Sends the request `make(ack, deadline)`, with its deadline `within` from now, and
    /// waits for the answer until that deadline and `grace` after it.
    fn request(
        &self,
        make: impl FnOnce(SyncSender<OTelSdkResult>, Instant) -> Control,
        within: Duration,
        grace: Duration,
    ) -> OTelSdkResult {
        let (ack, answer) = sync_channel(1);
        let deadline = worker::after(Instant::now(), within);
        if !self.send(make(ack, deadline)) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let wait = within.saturating_add(grace);
        match answer.recv_timeout(wait) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(wait)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }

    /// The state shared with the export thread, for tests.
    #[cfg(test)]
    fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut state = lock(&self.shared.state);
        if state.closed {
            drop(state);
            self.stats.record_dropped_at_shutdown(1);
            return;
        }
        match state.queue.push(span) {
            Ok(true) if state.worker_asleep => {
                // One wake-up per ready batch, and none while the thread is busy
                // exporting: it looks for ready batches before it sleeps again.
                state.worker_asleep = false;
                drop(state);
                self.shared.wake.notify_one();
            }
            Ok(_) => {}
            Err(refused) => {
                drop(state);
                // Freed outside the lock: other threads may be waiting for it.
                drop(refused);
                self.stats.record_dropped(1);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // The export in progress when the flush arrives finishes first (within the
        // export timeout), then the queue is exported until the deadline.
        self.request(
            |ack, deadline| Control::Flush { ack, deadline },
            self.export_timeout.saturating_mul(2),
            Duration::from_millis(100),
        )
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // The queue is exported within the export timeout; what remains of `timeout`
        // lets the exporter shut down and the answer arrive.
        let result = self.request(
            |ack, deadline| Control::Shutdown { ack, deadline },
            timeout.min(self.export_timeout),
            timeout.saturating_sub(self.export_timeout),
        );
        if result.is_ok() {
            if let Some(handle) = lock(&self.worker).take() {
                let _ = handle.join();
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.send(Control::SetResource(resource.clone()));
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        // Dropped without shutdown: the export thread still delivers what is queued and
        // exits. Nobody waits for its answer.
        if !self.is_shutdown.swap(true, Ordering::Relaxed) {
            let (ack, _) = sync_channel(1);
            let deadline = worker::after(Instant::now(), self.export_timeout);
            self.send(Control::Shutdown { ack, deadline });
        }
    }
}

#[cfg(test)]
mod tests;
