//! Shared fixtures for the benchmarks: exporters that discard but count, so every
//! result can state how many spans were really exported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// A span exporter that drops every batch after counting it.
#[derive(Debug, Clone, Default)]
pub struct DiscardExporter {
    exported: Arc<AtomicU64>,
}

impl DiscardExporter {
    /// Spans received so far.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.exported.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The unit of work every benchmark wraps: cheap and not optimised away.
#[inline(never)]
pub fn work(x: u64) -> u64 {
    std::hint::black_box(x) + 1
}
