//! Shared test plumbing: a real axum server on 127.0.0.1 and a hyper-util client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::opentelemetry::Value;
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{Capture, SpanDataExt};
use otel_tower::{HttpClientLayer, HttpClientService};

pub type Transport = Client<HttpConnector, Full<Bytes>>;

/// Serves `app` on an ephemeral 127.0.0.1 port, on the current runtime, with the peer
/// address available to the layer through `ConnectInfo`.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    addr
}

pub fn transport() -> Transport {
    Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>()
}

pub fn traced_client() -> HttpClientService<Transport> {
    tower::Layer::layer(&HttpClientLayer::new(), transport())
}

pub fn get_req(uri: String) -> http::Request<Full<Bytes>> {
    http::Request::get(uri)
        .header(http::header::USER_AGENT, "otel-tower-tests/1.0")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// An empty-bodied request with any method, including extension ones (`PURGE`).
pub fn method_req(method: &str, uri: String) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(http::Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// Sends `req` through `client` and reads the whole body.
pub async fn send<S, B>(
    client: &S,
    req: http::Request<Full<Bytes>>,
) -> (http::StatusCode, http::HeaderMap, Bytes)
where
    S: tower::Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    use tower::ServiceExt;
    let response = client.clone().oneshot(req).await.expect("request failed");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

/// Waits, without blocking the runtime the server runs on, until `n` spans of the
/// capture have ended (at most 5 s), and returns them.
pub async fn wait_spans(cap: &Capture, n: usize) -> Vec<SpanData> {
    for _ in 0..500 {
        let spans = cap.spans();
        if spans.len() >= n {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let spans = cap.spans();
    assert!(spans.len() >= n, "expected {n} spans, got:\n{}", cap.tree());
    spans
}

pub fn one(spans: &[SpanData], name: &str, kind: SpanKind) -> SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind:?} span named {name:?} in {:#?}",
        spans.iter().map(|s| (&s.name, &s.span_kind)).collect::<Vec<_>>()
    );
    found[0].clone()
}

pub fn s(span: &SpanData, key: &str) -> Option<String> {
    span.attr(key).map(|v| match v {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    })
}

pub fn i(span: &SpanData, key: &str) -> Option<i64> {
    match span.attr(key) {
        Some(Value::I64(v)) => Some(*v),
        None => None,
        other => panic!("{key} is not an i64: {other:?}"),
    }
}
