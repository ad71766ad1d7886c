//! A capturing log exporter shared by the bridge tests.

use std::sync::{Arc, Mutex};

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Key;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};

/// What a test needs to know about one exported record.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) body: Option<AnyValue>,
    pub(crate) severity: Option<Severity>,
    pub(crate) target: Option<String>,
    pub(crate) trace_id: Option<TraceId>,
    pub(crate) span_id: Option<SpanId>,
    pub(crate) attributes: Vec<(Key, AnyValue)>,
}

/// Keeps every exported record; the SDK's in-memory exporter needs its `testing`
/// feature, which this workspace does not enable.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaptureExporter(Arc<Mutex<Vec<Captured>>>);

impl CaptureExporter {
    pub(crate) fn records(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }
}

impl LogExporter for CaptureExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let mut records = self.0.lock().unwrap();
        for (record, _scope) in batch.iter() {
            records.push(Captured {
                body: record.body().cloned(),
                severity: record.severity_number(),
                target: record.target().map(|t| t.to_string()),
                trace_id: record.trace_context().map(|t| t.trace_id),
                span_id: record.trace_context().map(|t| t.span_id),
                attributes: record.attributes_iter().cloned().collect(),
            });
        }
        std::future::ready(Ok(()))
    }
}
