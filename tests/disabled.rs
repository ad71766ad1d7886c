//! `OTEL_SDK_DISABLED=true` with a live collector and OTLP configured for every signal:
//! nothing is exported, `is_enabled()` is false, and propagation still forwards an
//! incoming context (same trace id, same parent span id, trace state and baggage).
//!
//! "Nothing exported" is checked without a fixed sleep: after the disabled guard is shut
//! down, a second, enabled pipeline sends one marker span, metric and log record to the
//! same collector. Anything the disabled pipeline had sent would have been received
//! before the markers, so once the markers are printed the collector's output is
//! complete for the disabled phase.

use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{global, KeyValue};
use otel_core::config::{ExporterKind, MetricsExporterKind};
use otel_core::propagation::{extract, inject};
use otel_tests::{unique_service_name, Collector, RECEIVE_TIMEOUT};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const TRACESTATE: &str = "vendor=abc";
const BAGGAGE: &str = "user.tier=gold";

#[test]
fn disabled_sdk_exports_nothing_and_still_propagates() {
    let collector = Collector::start();
    let disabled_service = unique_service_name("disabled");
    let env = [
        ("OTEL_SDK_DISABLED", "true".to_owned()),
        ("OTEL_SERVICE_NAME", disabled_service.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "otlp".to_owned()),
        ("OTEL_METRICS_EXPORTER", "otlp".to_owned()),
        ("OTEL_LOGS_EXPORTER", "otlp".to_owned()),
        ("OTEL_PROPAGATORS", "tracecontext,baggage".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "10".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "10".to_owned()),
    ];
    let guard = otel_core::Telemetry::builder()
        .env(move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .quiet(true)
        .init()
        .expect("init with OTEL_SDK_DISABLED=true");
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());

    assert!(!otel_core::is_enabled());
    let status = otel_core::telemetry_status();
    assert!(status.initialized && !status.enabled, "{status:?}");
    assert!(status.traces.exporters.is_empty(), "{status:?}");
    assert!(guard.tracer_provider().is_none());
    assert!(guard.meter_provider().is_none());
    assert!(guard.logger_provider().is_none());
    assert!(otel_core::logs::tracing_bridge().is_none());
    otel_core::logs::init_log_bridge(log::LevelFilter::Info)
        .expect("the log bridge installs nothing, successfully, when disabled");

    // An incoming request's context...
    let mut incoming = http::HeaderMap::new();
    incoming.insert("traceparent", TRACEPARENT.parse().unwrap());
    incoming.insert("tracestate", TRACESTATE.parse().unwrap());
    incoming.insert("baggage", BAGGAGE.parse().unwrap());
    let remote = extract(&incoming);
    assert_eq!(remote.span().span_context().trace_id().to_string(), TRACE_ID);
    let _request = remote.attach();

    // ...is forwarded unchanged by work done with every API the toolkit offers.
    let outgoing_from_helper =
        otel_core::in_span_with("disabled-work", [KeyValue::new("order.id", 1_i64)], || {
            assert_eq!(otel_core::current_trace_id().as_deref(), Some(TRACE_ID));
            assert_eq!(otel_core::current_span_id().as_deref(), Some(PARENT_ID));
            log::info!("disabled log record");
            let mut outgoing = http::HeaderMap::new();
            inject(&mut outgoing);
            outgoing
        });
    let outgoing_from_global = global::tracer("otel-tests").in_span("disabled-global", |_| {
        let mut outgoing = http::HeaderMap::new();
        inject(&mut outgoing);
        outgoing
    });
    for outgoing in [&outgoing_from_helper, &outgoing_from_global] {
        assert_eq!(
            outgoing.get("traceparent").and_then(|v| v.to_str().ok()),
            Some(TRACEPARENT),
            "same trace id, same parent span id, same flags: {outgoing:?}"
        );
        assert_eq!(
            outgoing.get("tracestate").and_then(|v| v.to_str().ok()),
            Some(TRACESTATE)
        );
        assert_eq!(
            outgoing.get("baggage").and_then(|v| v.to_str().ok()),
            Some(BAGGAGE)
        );
    }
    global::meter("otel-tests")
        .u64_counter("otel_tests.disabled")
        .build()
        .add(1, &[]);
    drop(_request);

    guard
        .force_flush()
        .expect("flushing a disabled pipeline succeeds");
    guard
        .shutdown()
        .expect("shutting down a disabled pipeline succeeds");
    assert!(
        otel_core::is_enabled(),
        "after shutdown the global fallback is back"
    );

    // The markers, through an enabled pipeline to the same collector.
    let marker_service = unique_service_name("marker");
    let marker = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name(marker_service.clone())
        .otlp_endpoint(collector.http_endpoint())
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([MetricsExporterKind::Otlp])
        .logs_exporters([ExporterKind::Otlp])
        .metric_export_interval(Duration::from_secs(3600))
        .quiet(true)
        .init()
        .expect("init the marker pipeline");
    // The disabled phase installed no `log` logger, so this is the process's first.
    otel_core::logs::init_log_bridge(log::LevelFilter::Info).expect("install the log bridge");
    otel_core::in_span("marker", || log::info!("marker log record"));
    global::meter("otel-tests")
        .u64_counter("otel_tests.marker")
        .build()
        .add(1, &[]);
    marker.shutdown().expect("the marker pipeline flushes");

    let marker_spans = collector.wait_for_spans("the marker span", RECEIVE_TIMEOUT, |spans| {
        spans.iter().any(|s| s.name == "marker")
    });
    let marker_points = collector.wait_for_data_points("the marker metric", RECEIVE_TIMEOUT, |points| {
        points.iter().any(|p| p.metric == "otel_tests.marker")
    });
    let marker_logs = collector.wait_for_logs("the marker log record", RECEIVE_TIMEOUT, |logs| {
        logs.iter().any(|l| l.body == "Str(marker log record)")
    });

    // Everything received came from the marker pipeline, and only the markers.
    let names: Vec<&str> = marker_spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["marker"], "{marker_spans:#?}");
    assert_eq!(marker_spans[0].service_name(), Some(marker_service.as_str()));
    assert!(
        marker_points
            .iter()
            .all(|p| p.service_name() == Some(marker_service.as_str()) && p.metric != "otel_tests.disabled"),
        "{marker_points:#?}"
    );
    // The SDK's own diagnostics (scope `opentelemetry`, e.g. "Global tracer provider is
    // set") may reach the marker pipeline's log bridge too, depending on the build's
    // `tracing` features and timing; they come from the marker service all the same.
    let bodies: Vec<&str> = marker_logs
        .iter()
        .filter(|l| l.scope != "opentelemetry")
        .map(|l| l.body.as_str())
        .collect();
    assert_eq!(bodies, ["Str(marker log record)"], "{marker_logs:#?}");
    assert!(
        marker_logs
            .iter()
            .all(|l| l.service_name() == Some(marker_service.as_str())),
        "{marker_logs:#?}"
    );
    assert!(
        !collector.output().contains(&disabled_service),
        "the disabled service sent something:\n{}",
        collector.output()
    );
}
