//! Counters behind [`crate::status()`]: what was exported, dropped and failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// Export counters of one signal. Shared between the processor, the exporter wrapper and
/// the status snapshot.
#[derive(Debug, Default)]
pub(crate) struct SignalStats {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
    pub(crate) failed_items: AtomicU64,
    last_error: Mutex<Option<(SystemTime, String)>>,
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
}
