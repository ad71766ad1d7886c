//! Counters behind [`crate::telemetry_status()`]: what was exported, dropped and failed, and the
//! wrapper that records them for metric and log exporters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

use crate::runtime::Executor;

/// Export counters of one signal. Shared between the processor, the exporter wrapper and
/// the status snapshot.
#[derive(Debug, Default)]
pub(crate) struct SignalStats {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    /// The part of `dropped` refused because the processor was shut down (ended after
    /// shutdown, or still queued when the shutdown's deadline passed).
    pub(crate) dropped_at_shutdown: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
    pub(crate) failed_items: AtomicU64,
    last_error: Mutex<Option<(SystemTime, String)>>,
    /// The queues of the batch span processors feeding this signal, for the queue
    /// metrics; weak, so that the metrics never keep a processor alive.
    queues: Mutex<Vec<Weak<crate::export::batch::Shared>>>,
}

impl SignalStats {
    pub(crate) fn record_success(&self, items: usize) {
        self.exported.fetch_add(items as u64, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self, items: usize, error: String) {
        self.failed_exports.fetch_add(1, Ordering::Relaxed);
        self.failed_items.fetch_add(items as u64, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some((SystemTime::now(), error));
        }
    }

    pub(crate) fn record_dropped(&self, items: u64) {
        self.dropped.fetch_add(items, Ordering::Relaxed);
    }

    pub(crate) fn record_dropped_at_shutdown(&self, items: u64) {
        self.dropped.fetch_add(items, Ordering::Relaxed);
        self.dropped_at_shutdown.fetch_add(items, Ordering::Relaxed);
    }

    pub(crate) fn register_queue(&self, queue: &Arc<crate::export::batch::Shared>) {
        crate::sync::lock(&self.queues).push(Arc::downgrade(queue));
    }

    /// The registered queues that still exist, each with its registration number.
    pub(crate) fn queues(&self) -> Vec<(usize, Arc<crate::export::batch::Shared>)> {
        crate::sync::lock(&self.queues)
            .iter()
            .enumerate()
            .filter_map(|(i, queue)| Some((i, queue.upgrade()?)))
            .collect()
    }

    /// Whether a batch span processor reports to these counters.
    pub(crate) fn has_queues(&self) -> bool {
        !crate::sync::lock(&self.queues).is_empty()
    }

    pub(crate) fn last_error(&self) -> Option<(SystemTime, String)> {
        self.last_error.lock().ok().and_then(|l| l.clone())
    }
}

/// The counters of all three signals.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) spans: std::sync::Arc<SignalStats>,
    pub(crate) metrics: std::sync::Arc<SignalStats>,
    pub(crate) logs: std::sync::Arc<SignalStats>,
    pub(crate) tail: std::sync::Arc<crate::export::tail::stats::TailStats>,
}

/// Runs an exporter's futures through an [`Executor`] with a deadline and records the
/// outcome in the signal's counters.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    pub(crate) inner: E,
    pub(crate) executor: Executor,
    pub(crate) timeout: Duration,
    pub(crate) stats: Arc<SignalStats>,
}

impl<E> Counted<E> {
    /// Drives an export future: in place for local exporters (the SDK already polls us
    /// inside its own executor, which must not be entered twice), on the export runtime
    /// with the deadline for network ones.
    async fn drive<F: std::future::Future>(&self, fut: F) -> Option<F::Output> {
        match &self.executor {
            Executor::Inline => Some(fut.await),
            #[allow(unreachable_patterns)]
            other => other.run(self.timeout, fut),
        }
    }

    fn record(&self, what: &str, items: usize, outcome: Option<OTelSdkResult>) -> OTelSdkResult {
        match outcome {
            Some(Ok(())) => {
                self.stats.record_success(items);
                Ok(())
            }
            Some(Err(e)) => {
                self.stats
                    .record_failure(items, format!("{what} export failed: {e}"));
                Err(e)
            }
            None => {
                self.stats.record_failure(
                    items,
                    format!("{what} export timed out after {} ms", self.timeout.as_millis()),
                );
                Err(OTelSdkError::Timeout(self.timeout))
            }
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Counted<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let items = metrics.scope_metrics().map(|s| s.metrics().count()).sum();
        let outcome = self.drive(self.inner.export(metrics)).await;
        self.record("metric", items, outcome)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count();
        let outcome = self.drive(self.inner.export(batch)).await;
        self.record("log", items, outcome)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
