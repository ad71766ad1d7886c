//! The scenario shared by the "collector absent" and "collector unresponsive" tests:
//! with nothing useful at the endpoint, creating spans never blocks, spans beyond a
//! tiny queue are dropped and counted in `status()`, failed exports and the last error
//! are reported after a flush, every span is accounted for, and flush and shutdown
//! return within bounds derived from the configured OTLP timeout.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use otel_core::config::{BatchConfig, ExporterKind, MetricsExporterKind, Protocol};
use otel_core::SignalStatus;

use crate::unique_service_name;

/// The configured OTLP timeout (the default is 10 s).
pub const OTLP_TIMEOUT: Duration = Duration::from_millis(300);
/// Spans created while the collector is unreachable.
pub const SPANS: u64 = 2_000;
/// The span queue: tiny, so most spans must be dropped.
pub const QUEUE: usize = 8;

/// Creating the spans must not wait on exports. The bound is generous (shared CI
/// machines, debug build): the loop normally takes a few milliseconds, while an
/// `on_end` that waited for room in the 8-span queue would wait for an export attempt
/// for every 8 spans (250 exports; against an unresponsive collector 250 × 300 ms).
pub const CREATE_BOUND: Duration = Duration::from_secs(5);

/// A flush waits at most for the export in progress and one more batch per pipeline
/// (spans, logs, metrics), each bounded by the OTLP timeout; generous slack on top.
/// Without the timeout, a flush against an unresponsive collector would wait for the
/// 10 s default or hang.
pub fn flush_bound() -> Duration {
    3 * (2 * OTLP_TIMEOUT) + Duration::from_secs(2)
}

/// The guard gives each of the three providers max(1 s, timeout + 500 ms) to shut
/// down; generous slack on top. With the 10 s default timeout, or none, shutdown against
/// an unresponsive collector would take far longer.
pub fn shutdown_bound() -> Duration {
    3 * (OTLP_TIMEOUT + Duration::from_millis(500)).max(Duration::from_secs(1)) + Duration::from_secs(2)
}

/// How long the counters may take to account for every span after the flush. The
/// flush normally settles them; this only covers a flush that gave up at its own
/// timeout while an export was still failing.
const SETTLE: Duration = Duration::from_secs(10);

/// Runs the scenario against `endpoint` (a closed port or a server that never answers).
/// Installs global state: call it from one thread at a time.
pub fn unreachable_collector(endpoint: &str, protocol: Protocol) {
    let what = format!("{} to {endpoint}", protocol.as_str());
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name(unique_service_name("unreachable"))
        .otlp_endpoint(endpoint)
        .otlp_protocol(protocol)
        .otlp_timeout(OTLP_TIMEOUT)
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([MetricsExporterKind::Otlp])
        .logs_exporters([ExporterKind::Otlp])
        .span_batch(BatchConfig {
            max_queue_size: QUEUE,
            // Exports start only when a batch is full, or on flush.
            scheduled_delay: Duration::from_secs(3600),
            max_export_batch_size: QUEUE,
            export_timeout: Duration::from_secs(30),
        })
        .metric_export_interval(Duration::from_secs(3600))
        .quiet(true)
        .init()
        .expect("init does not need the collector to be up");

    let started = Instant::now();
    for i in 0..SPANS {
        otel_core::in_span_with("doomed", [KeyValue::new("i", i as i64)], || {});
    }
    let creating = started.elapsed();
    assert!(
        creating < CREATE_BOUND,
        "{what}: creating {SPANS} spans took {creating:?}"
    );

    let traces = otel_core::telemetry_status().traces;
    assert!(
        traces.dropped > 0,
        "{what}: spans beyond the {QUEUE}-span queue are dropped and counted: {traces:?}"
    );
    assert!(
        traces.dropped < SPANS,
        "{what}: some spans were queued: {traces:?}"
    );

    // Something for the metric pipeline to fail on.
    opentelemetry::global::meter("otel-tests")
        .u64_counter("otel_tests.unreachable")
        .build()
        .add(1, &[]);

    // The flush's own result is not asserted: a background export started by a full
    // batch may already have taken (and failed on) the queued spans, leaving the flush
    // nothing to do. The counters below are the contract.
    let started = Instant::now();
    let flushed = guard.force_flush();
    let flushing = started.elapsed();
    assert!(
        flushing < flush_bound(),
        "{what}: force_flush took {flushing:?} (OTLP timeout {OTLP_TIMEOUT:?}): {flushed:?}"
    );

    let traces = settled_traces(&what);
    assert_eq!(traces.exported, 0, "{what}: {traces:?}");
    assert!(traces.failed_exports > 0, "{what}: {traces:?}");
    assert!(traces.failed_items > 0, "{what}: {traces:?}");
    assert!(traces.last_error_unix_ms.is_some(), "{what}: {traces:?}");
    let last_error = traces.last_error.as_deref().unwrap_or_default();
    assert!(
        last_error.starts_with("span export"),
        "{what}: the last error says what failed: {last_error:?}"
    );

    let status = otel_core::telemetry_status();
    let exporter = &status.traces.exporters[0];
    assert_eq!(exporter.kind, "otlp");
    assert_eq!(exporter.protocol.as_deref(), Some(protocol.as_str()));
    assert!(
        exporter
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with(endpoint)),
        "{what}: {exporter:?}"
    );
    let metrics = &status.metrics;
    assert!(
        metrics.failed_exports > 0 && metrics.exported == 0,
        "{what}: the metric flush failed too: {metrics:?}"
    );
    assert!(
        metrics
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("metric export")),
        "{what}: {metrics:?}"
    );

    let started = Instant::now();
    let result = guard.shutdown();
    let shutting_down = started.elapsed();
    assert!(
        shutting_down < shutdown_bound(),
        "{what}: shutdown took {shutting_down:?} (OTLP timeout {OTLP_TIMEOUT:?}): {result:?}"
    );
    assert!(
        !otel_core::telemetry_status().initialized,
        "{what}: shutdown retracts the status"
    );
}

/// Polls `status()` until every span is accounted for as dropped or failed.
fn settled_traces(what: &str) -> SignalStatus {
    let deadline = Instant::now() + SETTLE;
    loop {
        let traces = otel_core::telemetry_status().traces;
        if traces.dropped + traces.failed_items + traces.exported == SPANS {
            return traces;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: after the flush, dropped + failed + exported should be {SPANS}: {traces:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
