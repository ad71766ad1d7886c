//! A bounded batch span processor that counts what it drops.
//!
//! The SDK's `BatchSpanProcessor` drops spans when its queue is full but only logs the
//! fact; [`crate::telemetry_status()`] must report it. Same design otherwise: producers
//! `try_send` into a bounded channel and never block; one worker thread drains it on a
//! schedule, when a batch is full, or on flush/shutdown, and exports with a deadline.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::stats::SignalStats;
use crate::config::BatchConfig;
use crate::runtime::Executor;

enum Control {
    /// A batch's worth of spans is waiting.
    ExportNow,
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
    SetResource(Resource),
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct BatchProcessor {
    spans: SyncSender<SpanData>,
    control: SyncSender<Control>,
    queued: Arc<AtomicUsize>,
    export_requested: Arc<AtomicBool>,
    max_export_batch_size: usize,
    export_timeout: Duration,
    stats: Arc<SignalStats>,
    worker: Mutex<Option<JoinHandle<()>>>,
    is_shutdown: AtomicBool,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ExportNow => "ExportNow",
            Self::Flush(_) => "Flush",
            Self::Shutdown(_) => "Shutdown",
            Self::SetResource(_) => "SetResource",
        })
    }
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
        let (spans, span_rx) = sync_channel(config.max_queue_size);
        let (control, control_rx) = sync_channel(64);
        let queued = Arc::new(AtomicUsize::new(0));
        let export_requested = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            exporter,
            spans: span_rx,
            control: control_rx,
            queued: queued.clone(),
            export_requested: export_requested.clone(),
            config,
            executor,
            stats: stats.clone(),
            failed_since_flush: None,
        };
        let handle = std::thread::Builder::new()
            .name("otel-span-export".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            spans,
            control,
            queued,
            export_requested,
            max_export_batch_size: config.max_export_batch_size,
            export_timeout: config.export_timeout,
            stats,
            worker: Mutex::new(Some(handle)),
            is_shutdown: AtomicBool::new(false),
        })
    }

    fn request(
        &self,
        make: impl FnOnce(SyncSender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (ack, ack_rx) = sync_channel(1);
        self.control
            .send(make(ack))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        match ack_rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        match self.spans.try_send(span) {
            Ok(()) => {
                let queued = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
                // Wake the worker early only once per full batch, so the hot path does
                // not pay a thread wake-up per span.
                if queued >= self.max_export_batch_size
                    && !self.export_requested.load(Ordering::Relaxed)
                    && !self.export_requested.swap(true, Ordering::Relaxed)
                    && self.control.try_send(Control::ExportNow).is_err()
                {
                    self.export_requested.store(false, Ordering::Relaxed);
                }
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.record_dropped(1);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // A flush may have to export a full queue in several batches.
        self.request(Control::Flush, self.export_timeout.saturating_mul(2))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.request(Control::Shutdown, timeout);
        if result.is_ok() {
            if let Some(handle) = self.worker.lock().ok().and_then(|mut w| w.take()) {
                let _ = handle.join();
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.control.try_send(Control::SetResource(resource.clone()));
    }
}

struct Worker<E> {
    exporter: E,
    spans: Receiver<SpanData>,
    control: Receiver<Control>,
    queued: Arc<AtomicUsize>,
    export_requested: Arc<AtomicBool>,
    config: BatchConfig,
    executor: Executor,
    stats: Arc<SignalStats>,
    /// The first export failure since the last flush: a flush must report spans that a
    /// background export already failed to deliver, not only its own drain.
    failed_since_flush: Option<String>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        // Telemetry produced while exporting (transport logs, say) must not feed back
        // into the pipeline that is exporting it.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut next_export = Instant::now() + self.config.scheduled_delay;
        loop {
            let wait = next_export.saturating_duration_since(Instant::now());
            match self.control.recv_timeout(wait) {
                Ok(Control::ExportNow) => {
                    self.export_requested.store(false, Ordering::Relaxed);
                    // Failures are counted in the stats; nobody waits for this result.
                    let _ = self.drain();
                }
                Ok(Control::Flush(ack)) => {
                    // The console exporter holds unfinished traces until asked.
                    let result = self.drain().and(self.exporter.force_flush());
                    let earlier = self.failed_since_flush.take();
                    let result = match (result, earlier) {
                        (Ok(()), Some(message)) => Err(OTelSdkError::InternalFailure(message)),
                        (result, _) => result,
                    };
                    let _ = ack.send(result);
                }
                Ok(Control::Shutdown(ack)) => {
                    let result = self.drain();
                    let shutdown = self.exporter.shutdown_with_timeout(self.config.export_timeout);
                    let _ = ack.send(result.and(shutdown));
                    return;
                }
                Ok(Control::SetResource(resource)) => self.exporter.set_resource(&resource),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.drain();
                    next_export = Instant::now() + self.config.scheduled_delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // The processor was dropped without shutdown: export what is left.
                    let _ = self.drain();
                    let _ = self.exporter.shutdown_with_timeout(self.config.export_timeout);
                    return;
                }
            }
        }
    }

    /// Exports everything queued so far, in batches; reports the last failure.
    fn drain(&mut self) -> OTelSdkResult {
        let mut result = Ok(());
        loop {
            let mut batch = Vec::with_capacity(self.config.max_export_batch_size.min(64));
            while batch.len() < self.config.max_export_batch_size {
                match self.spans.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                return result;
            }
            self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            let full = batch.len() == self.config.max_export_batch_size;
            if let Err(e) = self.export(batch) {
                result = Err(e);
            }
            if !full {
                return result;
            }
        }
    }

    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        let timeout = self.config.export_timeout;
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
