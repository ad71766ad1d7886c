//! Target for `HttpServerLayer` around a trivial service, fed requests built from fuzz
//! bytes: a request line (`METHOD URI [VERSION]`), `name: value` header lines, an empty
//! line and a body. Whatever `http` refuses (method, URI, a header) is skipped.
//!
//! The service answers with the status in `x-status`, copies `x-echo-<name>` request
//! headers to response header `<name>` and `x-trailer-<name>` to trailer `<name>`, and
//! echoes the body, so the fuzzer also controls the response (gRPC status, `Location`,
//! `Set-Cookie`, …). The layer records with its own providers and captures credential,
//! URL-valued and `Host` headers; a raw-path route (`/r/…`, the worst a user's route
//! function can do) and a small cardinality limit make the guard reachable.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context as TaskContext, Poll, Waker};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Body, Frame};
use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};
use otel_core::export::SharedReader;
use otel_core::propagation::Traceparent;
use otel_core::redact::{Redactor, REDACTED};
use otel_core::testing::SpanRecorder;
use otel_tower::{HttpServerLayer, HttpServerService, NEVER_CAPTURED};
use tower::{Layer, Service};

use crate::input;
use crate::redact::whatwg;

pub(crate) const TOKENS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"FOO ",
    b" HTTP/1.0",
    b" HTTP/2",
    b"/r/",
    b"/pub",
    b"/pkg.Svc/Method",
    b"http://u:p@h/",
    b"?token=",
    b"&",
    b"%74oken=",
    b"\ncontent-type: application/grpc",
    b"\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    b"\nbaggage: k=v",
    b"\nx-api-key: s3cr3t",
    b"\nreferer: https://u:pw@site.example/cb?code=s3cr3t",
    b"\nhost: u:s3cr3t@api.example:8080",
    b"\nx-status: 5",
    b"\nx-echo-grpc-status: 12",
    b"\nx-echo-location: /next?token=",
    b"\nx-echo-set-cookie: s=1",
    b"\nx-trailer-grpc-status: 0",
    b"\nx-forwarded-for: ",
    b"\n\n",
];

/// The layer's limit on distinct routes and gRPC methods.
const CARDINALITY_LIMIT: usize = 8;

/// Span names a client can cause at most: every known method (RFC 9110 + PATCH +
/// QUERY) and the two fallbacks (`HTTP`, `_OTHER`), each alone or with one of the
/// admitted routes, plus the admitted gRPC methods and their fallbacks. A client that
/// could mint names would pass this at once.
const MAX_SPAN_NAMES: usize = 12 * (CARDINALITY_LIMIT + 1) + CARDINALITY_LIMIT + 4;

/// How often (in executions) the metric series are collected and counted.
const METRICS_EVERY: u64 = 512;

/// Headers whose value is a credential: recorded as `REDACTED` when allow-listed.
const CREDENTIAL_HEADERS: &[&str] = &[
    "x-api-key",
    "x-auth-token",
    "x-amz-security-token",
    "x-csrf-token",
];

/// Headers whose value is a URL: redacted like `url.full`.
const URL_HEADERS: &[&str] = &["referer", "origin", "location", "content-location"];

const CAPTURED: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
    "x-amz-security-token",
    "x-csrf-token",
    "referer",
    "origin",
    "location",
    "content-location",
    "host",
    "user-agent",
    "x-request-id",
    "content-type",
    "grpc-status",
    "grpc-message",
];

/// A response body that yields scripted frames.
#[derive(Debug, Default)]
struct Scripted(VecDeque<Frame<Bytes>>);

impl Body for Scripted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// The trivial service: answers at once with what the request asked for.
#[derive(Debug, Clone)]
struct Echo;

impl Service<Request<Bytes>> for Echo {
    type Response = Response<Scripted>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Scripted>, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let mut response = Response::new(Scripted::default());
        if let Some(status) = parts
            .headers
            .get("x-status")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
        {
            *response.status_mut() = status;
        }
        let mut trailers = HeaderMap::new();
        for (name, value) in &parts.headers {
            let copy = |prefix: &str| {
                let stripped = name.as_str().strip_prefix(prefix)?;
                HeaderName::from_bytes(stripped.as_bytes()).ok()
            };
            if let Some(name) = copy("x-echo-") {
                response.headers_mut().append(name, value.clone());
            } else if let Some(name) = copy("x-trailer-") {
                trailers.append(name, value.clone());
            }
        }
        let frames = &mut response.body_mut().0;
        if !body.is_empty() {
            frames.push_back(Frame::data(body));
        }
        if !trailers.is_empty() {
            frames.push_back(Frame::trailers(trailers));
        }
        std::future::ready(Ok(response))
    }
}

struct Harness {
    service: Mutex<HttpServerService<Echo>>,
    spans: SpanRecorder,
    reader: Arc<ManualReader>,
    names: Mutex<HashSet<String>>,
    runs: Mutex<u64>,
    redactor: Redactor,
    // Kept alive for the process: the layer holds tracers and instruments of these.
    _providers: (SdkTracerProvider, SdkMeterProvider),
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        crate::propagation::install_propagator();
        let spans = SpanRecorder::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_span_processor(spans.processor())
            .build();
        let reader = Arc::new(ManualReader::builder().build());
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(SharedReader::new(reader.clone()))
            .build();
        let layer = HttpServerLayer::new()
            .tracer_provider(&tracer_provider)
            .meter_provider(&meter_provider)
            .cardinality_limit(CARDINALITY_LIMIT)
            .route(|parts| {
                let path = parts.uri.path();
                path.starts_with("/r/").then(|| Cow::Owned(path.to_owned()))
            })
            .request_headers(CAPTURED)
            .response_headers(CAPTURED)
            .sensitive_query_parameters(["q"])
            .traceresponse(true)
            .active_requests(true)
            .body_size_metrics(true)
            .public_endpoint_fn(|parts| parts.uri.path().starts_with("/pub"));
        Harness {
            service: Mutex::new(layer.layer(Echo)),
            spans,
            reader,
            names: Mutex::new(HashSet::new()),
            runs: Mutex::new(0),
            redactor: Redactor::default().with_names(["q"]),
            _providers: (tracer_provider, meter_provider),
        }
    })
}

/// The request the input describes, if `http` accepts its method and URI.
fn request(data: &[u8]) -> Option<Request<Bytes>> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = input::lines(head);
    let mut words = lines.next()?.split(|&b| b == b' ');
    let method = Method::from_bytes(words.next()?).ok()?;
    let uri = Uri::try_from(words.next().unwrap_or(b"/")).ok()?;
    let version = match words.next() {
        Some(b"HTTP/0.9") => Version::HTTP_09,
        Some(b"HTTP/1.0") => Version::HTTP_10,
        Some(b"HTTP/2") => Version::HTTP_2,
        Some(b"HTTP/3") => Version::HTTP_3,
        _ => Version::HTTP_11,
    };
    let mut request = Request::new(Bytes::copy_from_slice(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = input::header_map(lines);
    Some(request)
}

/// Polls a future that must complete without waiting (the service is always ready).
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the layer's future did not complete around a service that is always ready");
}

/// One request through the layer: it completes, its body can be read to the end, it
/// ends exactly one span, and what it records holds no credential and no new name
/// past the cardinality bound.
pub(crate) fn server(data: &[u8]) {
    let Some(request) = request(data) else {
        return;
    };
    let harness = harness();
    let public = request.uri().path().starts_with("/pub");
    // The providers sample parent-based: an unsampled caller gets no span, except on a
    // public endpoint, which starts a new (sampled) trace.
    let parent = otel_core::propagation::extract(request.headers());
    let parent = parent.span().span_context().clone();
    let expected_spans = usize::from(public || !parent.is_valid() || parent.is_sampled());
    let (response, spans) = {
        let mut service = harness.service.lock().unwrap_or_else(PoisonError::into_inner);
        harness.spans.clear();
        let response = match complete(service.call(request)) {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let mut body = pin!(body);
        let mut cx = TaskContext::from_waker(Waker::noop());
        let mut frames = 0;
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            assert!(frame.is_ok(), "the echo body cannot fail");
            frames += 1;
            assert!(frames <= 2, "more frames than the service sent");
        }
        (parts, harness.spans.spans())
    };
    assert_eq!(
        spans.len(),
        expected_spans,
        "one span per sampled request, ended with the body"
    );
    let Some(span) = spans.first() else {
        return;
    };
    if public && parent.is_valid() {
        assert_eq!(
            span.parent_span_id,
            SpanId::INVALID,
            "public endpoint joined the caller's trace"
        );
    }
    if let Some(value) = response.headers.get("traceresponse") {
        let tp =
            Traceparent::parse(value.as_bytes()).unwrap_or_else(|e| panic!("traceresponse {value:?}: {e}"));
        assert_eq!(tp.trace_id, span.span_context.trace_id());
        assert_eq!(tp.parent_id, span.span_context.span_id());
    }
    check_attributes(harness, span);
    {
        let mut names = harness.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.insert(span.name.to_string());
        assert!(
            names.len() <= MAX_SPAN_NAMES,
            "{} distinct span names (latest {:?}): a client can mint names",
            names.len(),
            span.name
        );
    }
    let run = {
        let mut runs = harness.runs.lock().unwrap_or_else(PoisonError::into_inner);
        *runs += 1;
        *runs
    };
    if run % METRICS_EVERY == 0 {
        check_series(harness);
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(Array::String(items)) => items.iter().map(|s| s.as_str().to_owned()).collect(),
        other => vec![other.to_string()],
    }
}

fn check_attributes(harness: &Harness, span: &SpanData) {
    for kv in &span.attributes {
        let key = kv.key.as_str();
        let values = strings(&kv.value);
        let header = [
            "http.request.header.",
            "http.response.header.",
            "rpc.request.metadata.",
            "rpc.response.metadata.",
        ]
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix));
        if let Some(header) = header {
            assert!(!NEVER_CAPTURED.contains(&header), "{key} recorded: {values:?}");
            if CREDENTIAL_HEADERS.contains(&header) {
                assert!(values.iter().all(|v| v == REDACTED), "{key} = {values:?}");
            }
            if URL_HEADERS.contains(&header) {
                for v in &values {
                    assert_eq!(harness.redactor.url(v), v.as_str(), "{key} not redacted: {v:?}");
                    let userinfo = whatwg::parts(v).and_then(|p| p.userinfo);
                    assert!(
                        userinfo.is_none_or(|u| u == format!("{REDACTED}:{REDACTED}")),
                        "{key} keeps credentials: {v:?}"
                    );
                }
            }
            if header == "host" {
                assert!(
                    values.iter().all(|v| !v.contains('@')),
                    "{key} keeps userinfo: {values:?}"
                );
            }
        }
        match key {
            "url.query" => {
                for v in &values {
                    assert_eq!(
                        harness.redactor.query(v),
                        v.as_str(),
                        "url.query not redacted: {v:?}"
                    );
                }
            }
            "http.route" => {
                assert!(
                    values.iter().all(|v| v == "_OTHER" || v.starts_with("/r/")),
                    "http.route {values:?}"
                );
            }
            _ => {}
        }
    }
}

/// Counts the distinct `http.route` and `rpc.method` values across every metric series
/// recorded so far: the guard must keep each within the limit (plus `_OTHER`).
fn check_series(harness: &Harness) {
    let mut rm = ResourceMetrics::default();
    if harness.reader.collect(&mut rm).is_err() {
        return;
    }
    let mut routes = HashSet::new();
    let mut methods = HashSet::new();
    for scope in rm.scope_metrics() {
        for metric in scope.metrics() {
            let mut note = |attributes: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                for kv in attributes {
                    match kv.key.as_str() {
                        "http.route" => routes.insert(kv.value.to_string()),
                        "rpc.method" => methods.insert(kv.value.to_string()),
                        _ => false,
                    };
                }
            };
            match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    h.data_points().for_each(|p| note(&mut p.attributes()))
                }
                AggregatedMetrics::I64(MetricData::Sum(s)) => {
                    s.data_points().for_each(|p| note(&mut p.attributes()))
                }
                AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                    h.data_points().for_each(|p| note(&mut p.attributes()))
                }
                _ => {}
            }
        }
    }
    assert!(
        routes.len() <= CARDINALITY_LIMIT + 1,
        "{} http.route series values: {routes:?}",
        routes.len()
    );
    assert!(
        methods.len() <= CARDINALITY_LIMIT + 1,
        "{} rpc.method series values: {methods:?}",
        methods.len()
    );
}
