//! Self-observability: what the toolkit is doing, for a `/health` endpoint.

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use crate::config::{Config, ExporterKind, MetricsExporterKind, OtlpConfig};
use crate::export::stats::{SignalStats, Stats};

/// A snapshot of the telemetry pipeline, safe to serve publicly: header values and URL
/// credentials never appear in it.
///
/// Named apart from `opentelemetry::trace::Status` (a span's status), which instrumented
/// code imports too.
///
/// ```
/// let status = otel_core::telemetry_status();
/// let json = serde_json::to_string(&status).unwrap();
/// assert!(json.contains("\"enabled\""));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryStatus {
    /// `false` when nothing is installed or telemetry is disabled.
    pub enabled: bool,
    /// Whether [`crate::init`] has installed a pipeline (or left it disabled).
    pub initialized: bool,
    /// `service.name` of the resource.
    pub service_name: Option<String>,
    /// The sampler in `OTEL_TRACES_SAMPLER` spelling, with its ratio.
    pub sampler: Option<String>,
    /// Active propagators.
    pub propagators: Vec<String>,
    /// Spans.
    pub traces: SignalStatus,
    /// Metrics (counts are metric streams per export).
    pub metrics: SignalStatus,
    /// Log records.
    pub logs: SignalStatus,
    /// Configuration warnings from start-up, then setup mistakes noticed at run time
    /// (see [`crate::diagnostics`]).
    pub warnings: Vec<String>,
    /// Components that refused new `http.route` / `rpc.method` values at their
    /// cardinality limit (recorded as `_OTHER` instead).
    pub cardinality_overflows: Vec<crate::cardinality::CardinalityReport>,
    /// In-process tail sampling's decisions, when it is on.
    pub tail_sampling: Option<TailSamplingStatus>,
}

/// What in-process tail sampling decided (see [`crate::config::TailSamplingConfig`]).
///
/// ```
/// let status = otel_core::telemetry_status();
/// assert!(status.tail_sampling.is_none()); // off unless enabled
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TailSamplingStatus {
    /// Local roots longer than this keep their trace.
    pub latency_threshold_ms: u64,
    /// Traces exported because the head sampler sampled them.
    pub kept_head: u64,
    /// Traces exported because a span ended with an error.
    pub kept_error: u64,
    /// Traces exported because the local root was slow.
    pub kept_slow: u64,
    /// Traces dropped (neither head-sampled, failed nor slow).
    pub dropped_traces: u64,
    /// Spans in those dropped traces.
    pub dropped_spans: u64,
    /// Traces decided before their root ended because `max_spans` spans were waiting.
    pub decided_early_max_spans: u64,
    /// Traces decided before their root ended because `max_traces` traces were waiting.
    pub decided_early_max_traces: u64,
    /// Traces decided after waiting `decision_timeout` for their root.
    pub timed_out: u64,
    /// Spans waiting for a decision now.
    pub buffered_spans: u64,
    /// Traces waiting for a decision now.
    pub buffered_traces: u64,
}

/// Exporters and counters of one signal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SignalStatus {
    /// Where the signal goes.
    pub exporters: Vec<ExporterStatus>,
    /// Items exported successfully.
    pub exported: u64,
    /// Items dropped: the queue was full (the backend is slow or down), or they were
    /// still queued when shutdown's deadline passed.
    pub dropped: u64,
    /// Export calls that failed or timed out.
    pub failed_exports: u64,
    /// Items in those failed exports.
    pub failed_items: u64,
    /// The most recent export error.
    pub last_error: Option<String>,
    /// When it happened, in milliseconds since the Unix epoch.
    pub last_error_unix_ms: Option<u64>,
}

/// One exporter, described without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExporterStatus {
    /// `otlp`, `console` or `prometheus`.
    pub kind: String,
    /// Endpoint without credentials or query, for network exporters.
    pub endpoint: Option<String>,
    /// `grpc` or `http/protobuf` for OTLP.
    pub protocol: Option<String>,
    /// Configured header names; their values are always shown as `<redacted>`.
    pub headers: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct StatusSource {
    pub(crate) config: Config,
    pub(crate) stats: Arc<Stats>,
    pub(crate) warnings: Vec<String>,
    pub(crate) generation: Option<u64>,
}

static SOURCE: RwLock<Option<Arc<StatusSource>>> = RwLock::new(None);

pub(crate) fn publish(source: StatusSource) {
    if let Ok(mut slot) = SOURCE.write() {
        *slot = Some(Arc::new(source));
    }
}

pub(crate) fn retract(generation: Option<u64>) {
    if let Ok(mut slot) = SOURCE.write() {
        if slot.as_ref().is_some_and(|s| s.generation == generation) {
            *slot = None;
        }
    }
}

/// The export counters of the installation `generation`, if it is the one published.
pub(crate) fn stats(generation: u64) -> Option<Arc<Stats>> {
    let slot = SOURCE.read().ok()?;
    let source = slot.as_ref()?;
    (source.generation == Some(generation)).then(|| source.stats.clone())
}

/// The former name of [`TelemetryStatus`].
#[deprecated(note = "renamed to `TelemetryStatus` (`Status` collides with `opentelemetry::trace::Status`)")]
pub type Status = TelemetryStatus;

/// The former name of [`telemetry_status`].
///
/// ```
/// #[allow(deprecated)]
/// let status = otel_core::status();
/// assert_eq!(status, otel_core::telemetry_status());
/// ```
#[deprecated(note = "renamed to `telemetry_status()`")]
pub fn status() -> TelemetryStatus {
    telemetry_status()
}

/// The current status of the pipeline installed by [`crate::init`].
///
/// ```
/// let status = otel_core::telemetry_status();
/// assert!(!status.initialized); // nothing installed in this doctest
/// ```
pub fn telemetry_status() -> TelemetryStatus {
    let source = SOURCE.read().ok().and_then(|s| s.clone());
    let Some(source) = source else {
        return TelemetryStatus {
            enabled: false,
            initialized: false,
            service_name: None,
            sampler: None,
            propagators: Vec::new(),
            traces: SignalStatus::default(),
            metrics: SignalStatus::default(),
            logs: SignalStatus::default(),
            warnings: runtime_warnings().collect(),
            cardinality_overflows: crate::cardinality::overflows(),
            tail_sampling: None,
        };
    };
    let c = &source.config;
    TelemetryStatus {
        enabled: !c.disabled,
        initialized: true,
        service_name: Some(c.service_name.clone()),
        sampler: Some(c.sampler.to_string()),
        propagators: c.propagators.iter().map(|p| p.name().to_owned()).collect(),
        traces: signal(
            exporters(&c.traces_exporters, &c.otlp_traces),
            &source.stats.spans,
            c,
        ),
        metrics: signal(metrics_exporters(c), &source.stats.metrics, c),
        logs: signal(exporters(&c.logs_exporters, &c.otlp_logs), &source.stats.logs, c),
        warnings: source
            .warnings
            .iter()
            .cloned()
            .chain(runtime_warnings())
            .collect(),
        cardinality_overflows: crate::cardinality::overflows(),
        tail_sampling: source
            .stats
            .tail
            .status(u64::try_from(c.tail_sampling.latency_threshold.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// What instrumentation noticed at run time ([`crate::diagnostics`]).
fn runtime_warnings() -> impl Iterator<Item = String> {
    crate::diagnostics::warnings().into_iter().map(str::to_owned)
}

fn exporters(kinds: &[ExporterKind], otlp: &OtlpConfig) -> Vec<ExporterStatus> {
    kinds
        .iter()
        .map(|kind| match kind {
            ExporterKind::Otlp => otlp_exporter(otlp),
            ExporterKind::Console => console_exporter(),
        })
        .collect()
}

fn metrics_exporters(c: &Config) -> Vec<ExporterStatus> {
    c.metrics_exporters
        .iter()
        .map(|kind| match kind {
            MetricsExporterKind::Otlp => otlp_exporter(&c.otlp_metrics),
            MetricsExporterKind::Console => console_exporter(),
            MetricsExporterKind::Prometheus => ExporterStatus {
                kind: kind.as_str().to_owned(),
                endpoint: Some(format!(
                    "http://{}:{}/metrics",
                    c.prometheus_address.0, c.prometheus_address.1
                )),
                protocol: None,
                headers: Vec::new(),
            },
        })
        .collect()
}

fn otlp_exporter(otlp: &OtlpConfig) -> ExporterStatus {
    ExporterStatus {
        kind: ExporterKind::Otlp.as_str().to_owned(),
        endpoint: Some(redact_url(&otlp.endpoint)),
        protocol: Some(otlp.protocol.as_str().to_owned()),
        headers: otlp
            .headers
            .iter()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect(),
    }
}

fn console_exporter() -> ExporterStatus {
    ExporterStatus {
        kind: ExporterKind::Console.as_str().to_owned(),
        endpoint: None,
        protocol: None,
        headers: Vec::new(),
    }
}

fn signal(exporters: Vec<ExporterStatus>, stats: &SignalStats, config: &Config) -> SignalStatus {
    // Disabled: the configuration still names exporters, but nothing reaches them.
    let exporters = if config.disabled { Vec::new() } else { exporters };
    let last = stats.last_error();
    SignalStatus {
        exporters,
        exported: stats.exported.load(Ordering::Relaxed),
        dropped: stats.dropped.load(Ordering::Relaxed),
        failed_exports: stats.failed_exports.load(Ordering::Relaxed),
        failed_items: stats.failed_items.load(Ordering::Relaxed),
        last_error_unix_ms: last
            .as_ref()
            .and_then(|(at, _)| at.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64),
        last_error: last.map(|(_, e)| e),
    }
}

/// Drops user info and query from a URL: `https://user:pw@host/p?k=v` → `https://host/p`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    match scheme {
        Some(s) => format!("{s}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_credentials_and_query() {
        assert_eq!(
            redact_url("https://user:secret@api.example.com:443/v1/traces?key=abc"),
            "https://api.example.com:443/v1/traces"
        );
        assert_eq!(redact_url("http://localhost:4317"), "http://localhost:4317");
        assert_eq!(redact_url("http://token@host"), "http://host");
    }
}
