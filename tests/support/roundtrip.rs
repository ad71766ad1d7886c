//! The end-to-end export scenario shared by the gRPC and HTTP/protobuf tests: spans,
//! metrics and correlated logs go through `otel_core::init()` to a real collector, and
//! everything that arrives is checked.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use otel_core::config::{ExporterKind, MetricsExporterKind, Protocol};
use tracing_subscriber::layer::SubscriberExt;

use crate::parse::{ReceivedDataPoint, ReceivedLog, ReceivedSpan};
use crate::{unique_service_name, Collector, RECEIVE_TIMEOUT};

const ROOT: &str = "GET /orders/{id}";
const CHILD: &str = "load order";
const GRANDCHILD: &str = "charge card";
/// The counter the scenario records: 2 + 3 on `/orders/{id}`, 7 on `/refunds`.
pub const COUNTER: &str = "otel_tests.orders";
/// The histogram the scenario records: 0.25, 0.5 and 1.25 s with boundaries 0.1, 0.5,
/// 1.0 and 2.5.
pub const HISTOGRAM: &str = "otel_tests.order.duration";
const TRACING_MESSAGE: &str = "charging card";
const LOG_MESSAGE: &str = "card charge is slow";

/// The service the scenario ran as, and the ids captured while its spans were current,
/// to compare with what arrives.
#[derive(Debug)]
pub struct Sent {
    /// The unique `service.name` of this run.
    pub service: String,
    trace_id: String,
    root_span_id: String,
    child_span_id: String,
    grandchild_span_id: String,
}

/// Runs the whole scenario over `protocol` against a fresh collector.
///
/// Installs global state (the providers and the process-wide `log` logger), so call it
/// once per test process.
pub fn export_through_collector(protocol: Protocol) {
    let collector = Collector::start();
    let endpoint = match protocol {
        Protocol::Grpc => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    export_to(&collector, protocol, &endpoint, |builder| builder);
}

/// The same scenario sent to `endpoint`, which reaches `collector` some other way (a
/// TLS terminator in front of it), with `configure` adding builder settings (the CA,
/// a client certificate). Call it once per test process, like
/// [`export_through_collector`].
pub fn export_to(
    collector: &Collector,
    protocol: Protocol,
    endpoint: &str,
    configure: impl FnOnce(otel_core::TelemetryBuilder) -> otel_core::TelemetryBuilder,
) {
    let sent = send(protocol, endpoint, configure);
    check_spans(collector, &sent);
    check_metrics(collector, &sent);
    check_logs(collector, &sent);
}

/// Runs the scenario (spans, logs, metrics) through `init()` to `endpoint` and shuts
/// down; the checks are left to the caller.
pub fn send(
    protocol: Protocol,
    endpoint: &str,
    configure: impl FnOnce(otel_core::TelemetryBuilder) -> otel_core::TelemetryBuilder,
) -> Sent {
    let service = unique_service_name(&format!("roundtrip-{}", protocol.as_str().replace('/', "-")));
    let endpoint = endpoint.to_owned();

    let builder = otel_core::Telemetry::builder()
        // Ignore the machine's OTEL_* variables: the test says everything.
        .env(|_| None)
        .service_name(service.clone())
        .otlp_endpoint(endpoint.clone())
        .otlp_protocol(protocol)
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([MetricsExporterKind::Otlp])
        .logs_exporters([ExporterKind::Otlp])
        // Only the shutdown's final collection exports metrics, so each point is sent once.
        .metric_export_interval(Duration::from_secs(3600))
        .quiet(true);
    let guard = configure(builder).init().expect("init with a collector endpoint");
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());

    let status = otel_core::telemetry_status();
    assert!(status.enabled && status.initialized, "{status:?}");
    assert_eq!(status.service_name.as_deref(), Some(service.as_str()));
    let traces_exporter = &status.traces.exporters[0];
    assert_eq!(traces_exporter.kind, "otlp");
    assert_eq!(traces_exporter.protocol.as_deref(), Some(protocol.as_str()));
    let expected_endpoint = match protocol {
        Protocol::Grpc => endpoint.clone(),
        _ => format!("{endpoint}/v1/traces"),
    };
    assert_eq!(
        traces_exporter.endpoint.as_deref(),
        Some(expected_endpoint.as_str())
    );

    // Logs: the `log` bridge process-wide, the `tracing` bridge for the scope below.
    otel_core::logs::init_log_bridge(log::LevelFilter::Info).expect("install the log bridge");
    let bridge = otel_core::logs::tracing_bridge().expect("init() installed a logger provider");
    let subscriber = tracing_subscriber::registry().with(bridge);

    let sent = tracing::subscriber::with_default(subscriber, || emit_spans_and_logs(service));
    record_metrics();

    guard.shutdown().expect("shutdown flushes to a live collector");
    sent
}

/// A SERVER span from the global tracer (as instrumentation written against the plain
/// OpenTelemetry API would make), with otel-core helper spans nested inside it and a
/// log record from each bridge in the innermost one.
fn emit_spans_and_logs(service: String) -> Sent {
    let tracer = global::tracer("otel-tests");
    let root = tracer
        .span_builder(ROOT)
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200_i64),
        ])
        .start(&tracer);
    let root_cx = Context::current_with_span(root);
    let root_span_id = root_cx.span().span_context().span_id().to_string();
    let trace_id = root_cx.span().span_context().trace_id().to_string();
    let attached = root_cx.clone().attach();

    let (child_span_id, grandchild_span_id) = otel_core::in_span_with(
        CHILD,
        [
            KeyValue::new("order.id", 42_i64),
            KeyValue::new("order.total", 12.5_f64),
            KeyValue::new("order.express", true),
            KeyValue::new("db.system.name", "sqlite"),
        ],
        || {
            let child = otel_core::current_span_id().expect("inside a span");
            let grandchild = otel_core::in_span(GRANDCHILD, || {
                tracing::info!(attempt = 1_i64, "{TRACING_MESSAGE}");
                log::warn!("{LOG_MESSAGE}");
                let refused = std::io::Error::other("card declined");
                otel_core::record_error(&refused);
                otel_core::current_span_id().expect("inside a span")
            });
            (child, grandchild)
        },
    );
    drop(attached);
    root_cx.span().end();

    Sent {
        service,
        trace_id,
        root_span_id,
        child_span_id,
        grandchild_span_id,
    }
}

fn record_metrics() {
    let meter = global::meter("otel-tests");
    let orders = meter
        .u64_counter(COUNTER)
        .with_unit("{order}")
        .with_description("Orders placed")
        .build();
    let route = KeyValue::new("http.route", "/orders/{id}");
    orders.add(2, std::slice::from_ref(&route));
    orders.add(3, std::slice::from_ref(&route));
    orders.add(7, &[KeyValue::new("http.route", "/refunds")]);

    let duration = meter
        .f64_histogram(HISTOGRAM)
        .with_unit("s")
        .with_boundaries(vec![0.1, 0.5, 1.0, 2.5])
        .build();
    for seconds in [0.25, 0.5, 1.25] {
        duration.record(seconds, std::slice::from_ref(&route));
    }
}

/// The three spans arrived once each, with their ids, parents, kinds, attributes and
/// status.
pub fn check_spans(collector: &Collector, sent: &Sent) {
    let service = sent.service.as_str();
    let ours = |spans: &[ReceivedSpan]| -> Vec<ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.service_name() == Some(service))
            .cloned()
            .collect()
    };
    let spans = collector.wait_for_spans("the three spans", RECEIVE_TIMEOUT, |spans| {
        let ours = ours(spans);
        [ROOT, CHILD, GRANDCHILD]
            .iter()
            .all(|name| ours.iter().any(|s| s.name == *name))
    });
    let spans = ours(&spans);
    assert_eq!(spans.len(), 3, "each span arrives once: {spans:#?}");
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).expect(name).clone();
    let (root, child, grandchild) = (by_name(ROOT), by_name(CHILD), by_name(GRANDCHILD));

    for span in [&root, &child, &grandchild] {
        assert_eq!(span.trace_id, sent.trace_id, "{span:#?}");
        assert_eq!(span.service_name(), Some(service));
        assert_eq!(
            span.resource
                .iter()
                .find(|(k, _)| k == "telemetry.sdk.language")
                .map(|(_, v)| v.as_str()),
            Some("Str(rust)"),
            "{span:#?}"
        );
    }

    assert_eq!(root.span_id, sent.root_span_id);
    assert_eq!(root.parent_id, "", "the server span is a root");
    assert_eq!(root.kind, "SPAN_KIND_SERVER");
    assert_eq!(root.scope, "otel-tests");
    assert_eq!(root.attr("http.request.method"), Some("Str(GET)"));
    assert_eq!(root.attr("http.response.status_code"), Some("Int(200)"));
    assert_eq!(root.status_code, "STATUS_CODE_UNSET");

    assert_eq!(child.span_id, sent.child_span_id);
    assert_eq!(
        child.parent_id, root.span_id,
        "in_span_with under the global-tracer span"
    );
    assert_eq!(child.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(child.scope, "otel-core");
    assert_eq!(child.attr("order.id"), Some("Int(42)"));
    assert_eq!(child.attr("order.total"), Some("Double(12.5)"));
    assert_eq!(child.attr("order.express"), Some("Bool(true)"));
    assert_eq!(child.attr("db.system.name"), Some("Str(sqlite)"));
    assert_eq!(child.status_code, "STATUS_CODE_UNSET");

    assert_eq!(grandchild.span_id, sent.grandchild_span_id);
    assert_eq!(grandchild.parent_id, child.span_id, "in_span under in_span_with");
    assert_eq!(grandchild.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(grandchild.status_code, "STATUS_CODE_ERROR");
    assert_eq!(grandchild.status_message, "card declined");
    assert_eq!(grandchild.attr("error.type"), Some("Str(Error)"));
    assert_eq!(grandchild.events, vec!["exception".to_owned()]);
}

/// The counter's two series and the histogram arrived with their values and buckets.
pub fn check_metrics(collector: &Collector, sent: &Sent) {
    let service = sent.service.as_str();
    let ours = |points: &[ReceivedDataPoint]| -> Vec<ReceivedDataPoint> {
        points
            .iter()
            .filter(|p| p.service_name() == Some(service))
            .cloned()
            .collect()
    };
    let points = collector.wait_for_data_points("the counter and the histogram", RECEIVE_TIMEOUT, |points| {
        let ours = ours(points);
        ours.iter().any(|p| p.metric == COUNTER) && ours.iter().any(|p| p.metric == HISTOGRAM)
    });
    let points = ours(&points);

    let mut counter: HashMap<String, ReceivedDataPoint> = HashMap::new();
    for p in points.iter().filter(|p| p.metric == COUNTER) {
        counter.insert(p.attr("http.route").unwrap_or_default().to_owned(), p.clone());
    }
    assert_eq!(counter.len(), 2, "one point per route: {points:#?}");
    let orders = &counter["Str(/orders/{id})"];
    assert_eq!(orders.data_type, "Sum");
    assert_eq!(orders.is_monotonic, "true");
    assert_eq!(orders.unit, "{order}");
    assert_eq!(orders.scope, "otel-tests");
    assert_eq!(orders.value.as_deref(), Some("5"), "2 + 3: {orders:#?}");
    assert_eq!(counter["Str(/refunds)"].value.as_deref(), Some("7"));

    let histograms: Vec<_> = points.iter().filter(|p| p.metric == HISTOGRAM).collect();
    assert_eq!(histograms.len(), 1, "{histograms:#?}");
    let h = histograms[0];
    assert_eq!(h.data_type, "Histogram");
    assert_eq!(h.unit, "s");
    assert_eq!(h.attr("http.route"), Some("Str(/orders/{id})"));
    assert_eq!(h.count, Some(3));
    assert_eq!(h.sum, Some(2.0));
    assert_eq!(h.min, Some(0.25));
    assert_eq!(h.max, Some(1.25));
    assert_eq!(h.bounds, vec![0.1, 0.5, 1.0, 2.5]);
    // 0.25 and 0.5 in (0.1, 0.5], 1.25 in (1.0, 2.5].
    assert_eq!(h.bucket_counts, vec![0, 2, 0, 1, 0]);
}

/// Both log records arrived with the trace and span ids.
pub fn check_logs(collector: &Collector, sent: &Sent) {
    let service = sent.service.as_str();
    let ours = |logs: &[ReceivedLog]| -> Vec<ReceivedLog> {
        logs.iter()
            .filter(|l| l.service_name() == Some(service))
            .cloned()
            .collect()
    };
    let has = |logs: &[ReceivedLog], body: &str| logs.iter().any(|l| l.body == body);
    let tracing_body = format!("Str({TRACING_MESSAGE})");
    let log_body = format!("Str({LOG_MESSAGE})");
    let logs = collector.wait_for_logs("both log records", RECEIVE_TIMEOUT, |logs| {
        let ours = ours(logs);
        has(&ours, &tracing_body) && has(&ours, &log_body)
    });
    let logs = ours(&logs);

    let from_tracing: Vec<_> = logs.iter().filter(|l| l.body == tracing_body).collect();
    assert_eq!(from_tracing.len(), 1, "{logs:#?}");
    let record = from_tracing[0];
    assert_eq!(
        record.trace_id, sent.trace_id,
        "tracing event carries the trace id"
    );
    assert_eq!(
        record.span_id, sent.grandchild_span_id,
        "and the innermost span id"
    );
    assert_eq!(record.severity_text, "INFO");
    assert_eq!(record.attr("attempt"), Some("Int(1)"));

    let from_log: Vec<_> = logs.iter().filter(|l| l.body == log_body).collect();
    assert_eq!(from_log.len(), 1, "{logs:#?}");
    let record = from_log[0];
    assert_eq!(record.trace_id, sent.trace_id, "log record carries the trace id");
    assert_eq!(record.span_id, sent.grandchild_span_id);
    assert_eq!(record.severity_text, "WARN");
}
