//! Requests whose trace is not sampled, under the sampler `otel_core::init()` installed
//! (parent-based, trace id ratio 0.5), which the layers apply before describing a span:
//! they still propagate a valid non-recording context downstream (`traceparent` with
//! flags `00`, the same trace id), record their metrics with the attributes of a sampled
//! request, and produce no span; sampled requests still produce their spans; and roots
//! are kept exactly when the SDK's ratio sampler keeps their trace id. Its own process,
//! since `init()` installs process-wide providers.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use http_body_util::Empty;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::ManualReader;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample, SpanData};
use otel_core::config::SamplerConfig;
use otel_core::opentelemetry::trace::{SpanId, SpanKind, TraceId};
use otel_core::opentelemetry::{Key, KeyValue, Value};
use otel_core::testing::SpanRecorder;
use otel_core::TelemetryGuard;
use otel_tower::{HttpClientLayer, HttpServerLayer};
use tower::{Layer, ServiceExt};

const RATIO: f64 = 0.5;

struct Pipeline {
    spans: SpanRecorder,
    reader: Arc<ManualReader>,
    _guard: TelemetryGuard,
}

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let spans = SpanRecorder::default();
        let reader = Arc::new(ManualReader::builder().build());
        let guard = otel_core::Telemetry::builder()
            .env(|_| None)
            .sampler(SamplerConfig::ParentBasedTraceIdRatio(RATIO))
            .traces_exporters([])
            .metrics_exporters([])
            .logs_exporters([])
            .with_span_processor(spans.processor())
            .with_metric_reader(otel_core::export::SharedReader::new(reader.clone()))
            .quiet(true)
            .init()
            .expect("a pipeline without exporters starts");
        Pipeline {
            spans,
            reader,
            _guard: guard,
        }
    })
}

/// A parsed `traceparent`: trace id, span id, flags.
fn parse(traceparent: &str) -> (TraceId, SpanId, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    let trace_id = TraceId::from_hex(parts[1]).expect("trace id");
    let span_id = SpanId::from_hex(parts[2]).expect("span id");
    (trace_id, span_id, parts[3].to_owned())
}

/// Sends `GET http://api.test/users/7` with `traceparent` (if any) through a server
/// layer whose handler calls `http://{host}:8080/data` through a client layer, and
/// returns the `traceparent` the downstream call carried.
async fn request(route: &'static str, host: &'static str, traceparent: Option<String>) -> String {
    pipeline();
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let transport = {
        let seen = seen.clone();
        tower::service_fn(move |req: http::Request<Empty<Bytes>>| {
            let traceparent = req
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            *seen.lock().unwrap_or_else(PoisonError::into_inner) = traceparent;
            async { Ok::<_, Infallible>(http::Response::new(Empty::<Bytes>::new())) }
        })
    };
    let client = HttpClientLayer::new().layer(transport);
    let server = HttpServerLayer::new()
        .route(move |_| Some(route.into()))
        .layer(tower::service_fn(move |_req: http::Request<Empty<Bytes>>| {
            let client = client.clone();
            async move {
                let downstream = http::Request::get(format!("http://{host}:8080/data"))
                    .body(Empty::new())
                    .expect("request");
                let response = client.oneshot(downstream).await?;
                assert_eq!(response.status(), 200);
                Ok::<_, Infallible>(http::Response::new(Empty::<Bytes>::new()))
            }
        }));
    let mut upstream = http::Request::get("http://api.test/users/7");
    if let Some(traceparent) = traceparent {
        upstream = upstream.header("traceparent", traceparent);
    }
    let response = server
        .oneshot(upstream.body(Empty::new()).expect("request"))
        .await
        .expect("response");
    // The server's call ends with its (empty) response body.
    drop(response);
    let traceparent = seen.lock().unwrap_or_else(PoisonError::into_inner).take();
    traceparent.expect("the downstream call carried a traceparent")
}

fn spans_of(trace_id: TraceId) -> Vec<SpanData> {
    pipeline()
        .spans
        .spans_where(|s| s.span_context.trace_id() == trace_id)
}

/// A fresh random trace id, from the SDK's generator.
fn new_trace_id() -> TraceId {
    use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
    RandomIdGenerator::default().new_trace_id()
}

#[tokio::test]
async fn an_unsampled_request_propagates_its_trace_and_records_no_span() {
    let trace_id = new_trace_id();
    let parent = SpanId::from(0x00f0_67aa_0ba9_02b7);
    let downstream = request(
        "/users/{id}",
        "unsampled.test",
        Some(format!("00-{trace_id}-{parent}-00")),
    )
    .await;
    let (seen_trace, seen_span, flags) = parse(&downstream);
    assert_eq!(seen_trace, trace_id, "the same trace goes on downstream");
    assert_eq!(flags, "00", "not sampled: {downstream}");
    assert_ne!(seen_span, parent, "the client's own (non-recording) span id");
    assert_ne!(seen_span, SpanId::INVALID);
    assert!(spans_of(trace_id).is_empty(), "{:?}", spans_of(trace_id));
}

#[tokio::test]
async fn a_sampled_parent_still_produces_the_spans() {
    let trace_id = new_trace_id();
    let parent = SpanId::from(0x00f0_67aa_0ba9_02b8);
    let downstream = request(
        "/users/{id}",
        "sampled.test",
        Some(format!("00-{trace_id}-{parent}-01")),
    )
    .await;
    let (seen_trace, seen_span, flags) = parse(&downstream);
    assert_eq!((seen_trace, flags.as_str()), (trace_id, "01"));
    let spans = spans_of(trace_id);
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("a server span");
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("a client span");
    assert_eq!(server.name, "GET /users/{id}");
    assert_eq!(server.parent_span_id, parent);
    assert_eq!(client.parent_span_id, server.span_context.span_id());
    assert_eq!(client.span_context.span_id(), seen_span);
    assert!(server
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "url.path" && kv.value.as_str() == "/users/7"));
}

/// The points of histogram `name` as (attributes sorted by key, count).
fn histogram_points(name: &str) -> Vec<(Vec<KeyValue>, u64)> {
    let mut rm = ResourceMetrics::default();
    pipeline().reader.collect(&mut rm).expect("collect");
    let mut points = Vec::new();
    for metric in rm
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
    {
        if let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() {
            for point in histogram.data_points() {
                let mut attributes: Vec<KeyValue> = point.attributes().cloned().collect();
                attributes.sort_by(|a, b| a.key.cmp(&b.key));
                points.push((attributes, point.count()));
            }
        }
    }
    points
}

fn has(attributes: &[KeyValue], key: &'static str, value: impl Into<Value>) -> bool {
    let value = value.into();
    attributes
        .iter()
        .any(|kv| kv.key == Key::from_static_str(key) && kv.value == value)
}

#[tokio::test]
async fn unsampled_and_sampled_requests_record_the_same_metric_series() {
    for flags in ["00", "01"] {
        let traceparent = format!("00-{}-{}-{flags}", new_trace_id(), SpanId::from(5));
        request("/metrics/{id}", "metrics.test", Some(traceparent)).await;
    }
    let server: Vec<_> = histogram_points("http.server.request.duration")
        .into_iter()
        .filter(|(a, _)| has(a, "http.route", "/metrics/{id}"))
        .collect();
    assert_eq!(server.len(), 1, "one series for both requests: {server:?}");
    let (attributes, count) = &server[0];
    assert_eq!(*count, 2);
    assert!(has(attributes, "http.request.method", "GET"), "{attributes:?}");
    assert!(has(attributes, "url.scheme", "http"));
    assert!(has(attributes, "http.response.status_code", 200_i64));
    assert!(has(attributes, "network.protocol.version", "1.1"));
    assert_eq!(attributes.len(), 5, "{attributes:?}");

    let client: Vec<_> = histogram_points("http.client.request.duration")
        .into_iter()
        .filter(|(a, _)| has(a, "server.address", "metrics.test"))
        .collect();
    assert_eq!(client.len(), 1, "one series for both requests: {client:?}");
    let (attributes, count) = &client[0];
    assert_eq!(*count, 2);
    assert!(has(attributes, "http.request.method", "GET"), "{attributes:?}");
    assert!(has(attributes, "server.port", 8080_i64));
    assert!(has(attributes, "http.response.status_code", 200_i64));
    assert!(has(attributes, "network.protocol.version", "1.1"));
    assert_eq!(attributes.len(), 5, "{attributes:?}");
}

#[tokio::test]
async fn roots_are_kept_as_the_sdk_sampler_keeps_their_trace_ids() {
    let sdk = Sampler::TraceIdRatioBased(RATIO);
    let mut kept = 0;
    for _ in 0..200 {
        let downstream = request("/roots", "roots.test", None).await;
        let (trace_id, _, flags) = parse(&downstream);
        let sdk_keeps = sdk
            .should_sample(None, trace_id, "GET /roots", &SpanKind::Server, &[], &[])
            .decision
            == SamplingDecision::RecordAndSample;
        // The W3C `random` flag (2) may be set beside `sampled` (1).
        let sampled = u8::from_str_radix(&flags, 16).expect("flags") & 1 == 1;
        assert_eq!(sampled, sdk_keeps, "{downstream}");
        // Two spans (server, client) when sampled, none otherwise.
        assert_eq!(
            spans_of(trace_id).len(),
            if sdk_keeps { 2 } else { 0 },
            "{downstream}"
        );
        kept += usize::from(sdk_keeps);
    }
    assert!((60..=140).contains(&kept), "kept {kept} of 200 at ratio {RATIO}");
}
