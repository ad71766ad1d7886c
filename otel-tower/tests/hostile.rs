//! Secrets in URLs, headers and cookies never reach an exported attribute; retries are
//! counted.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use common::*;
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::opentelemetry::{Array, Value};
use otel_core::testing::{self, metric_points};
use otel_tower::{HttpClientLayer, HttpServerLayer, ResendTrackingLayer};

const SECRETS: &[&str] = &[
    "hunter2",
    "admin",
    "T0K3N",
    "K3YV4L",
    "S1GV4L",
    "AMZV4L",
    "PWDV4L",
    "bearer-secret",
    "cookie-secret",
    "set-cookie-secret",
    "proxy-secret",
];

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(Array::String(items)) => items.iter().map(|s| s.as_str().to_owned()).collect(),
        other => vec![other.to_string()],
    }
}

#[tokio::test]
async fn nothing_secret_is_exported() {
    let cap = testing::capture();
    let capture_all = [
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "x-request-id",
    ];
    let app = Router::new()
        .route(
            "/account/{id}",
            get(|| async {
                (
                    [(header::SET_COOKIE, "session=set-cookie-secret; HttpOnly")],
                    "account",
                )
            }),
        )
        .layer(
            HttpServerLayer::new()
                .request_headers(capture_all)
                .response_headers(capture_all),
        );
    let addr = serve(app).await;
    let client = tower::Layer::layer(
        &HttpClientLayer::new()
            .request_headers(capture_all)
            .response_headers(capture_all),
        transport(),
    );
    let uri = format!(
        "http://admin:hunter2@{addr}/account/1?token=T0K3N&api_key=K3YV4L&sig=S1GV4L&X-Amz-Signature=AMZV4L&password=PWDV4L&page=2"
    );
    let mut req = get_req(uri);
    let headers = req.headers_mut();
    headers.insert(header::AUTHORIZATION, "Bearer bearer-secret".parse().unwrap());
    headers.insert(header::COOKIE, "session=cookie-secret".parse().unwrap());
    headers.insert(header::PROXY_AUTHORIZATION, "Basic proxy-secret".parse().unwrap());
    headers.insert("x-request-id", "req-1".parse().unwrap());
    let (status, response_headers, _) = send(&client, req).await;
    assert_eq!(status, 200);
    assert!(response_headers.contains_key(header::SET_COOKIE));

    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "GET /account/{id}", SpanKind::Server);
    let client_span = one(&spans, "GET", SpanKind::Client);
    // The allow-listed harmless header is captured, so capture itself works.
    let request_id = server
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "http.request.header.x-request-id")
        .map(|kv| texts(&kv.value));
    assert_eq!(request_id, Some(vec!["req-1".to_owned()]));
    let redacted_query = s(&server, "url.query").expect("url.query");
    assert_eq!(
        redacted_query,
        "token=REDACTED&api_key=REDACTED&sig=REDACTED&X-Amz-Signature=REDACTED&password=REDACTED&page=2"
    );
    assert!(s(&client_span, "url.full")
        .expect("url.full")
        .starts_with("http://REDACTED:REDACTED@127.0.0.1:"));

    let exported = exported_texts(&spans);
    for text in &exported {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret:?} leaked in {text:?}");
        }
    }
    for key in ["authorization", "cookie", "set-cookie", "proxy-authorization"] {
        for span in &spans {
            assert!(
                span.attributes
                    .iter()
                    .all(|kv| !kv.key.as_str().ends_with(&format!(".{key}"))),
                "{key} captured on {}",
                span.name
            );
        }
    }
}

/// Every text a span, its events and the HTTP metrics export.
fn exported_texts(spans: &[otel_core::opentelemetry_sdk::trace::SpanData]) -> Vec<String> {
    let mut exported: Vec<String> = Vec::new();
    for span in spans {
        exported.push(span.name.to_string());
        for kv in &span.attributes {
            exported.push(kv.key.as_str().to_owned());
            exported.extend(texts(&kv.value));
        }
        for event in span.events.iter() {
            exported.push(event.name.to_string());
            for kv in &event.attributes {
                exported.extend(texts(&kv.value));
            }
        }
    }
    for name in [
        "http.server.request.duration",
        "http.server.response.body.size",
        "http.client.request.duration",
    ] {
        for point in metric_points(name) {
            for kv in &point.attributes {
                exported.extend(texts(&kv.value));
            }
        }
    }
    exported
}

/// The forms an independent probe got past the redaction: encoded, decorated and
/// unlisted query keys, credential headers on the allow-list, a `Referer` carrying a
/// token and a `Host` with userinfo.
#[tokio::test]
async fn every_secret_form_of_a_hostile_client_is_redacted() {
    let cap = testing::capture();
    let query_keys = [
        "%74oken",
        "api%5Fkey",
        "token[]",
        "+token",
        "access-token",
        "access_token",
        "private_token",
        "client_secret",
        "refresh_token",
        "id_token",
        "code",
        "Signature",
        "AWSAccessKeyId",
        "X-Goog-Signature",
        "x-api-key",
    ];
    let mut query: Vec<String> = query_keys
        .iter()
        .enumerate()
        .map(|(i, key)| format!("{key}=LEAKQ{i:02}"))
        .collect();
    query.push("a=1;token=LEAKSEMI".to_owned());
    query.push("page=2".to_owned());
    let query = query.join("&");
    let captured = [
        "x-api-key",
        "x-auth-token",
        "x-amz-security-token",
        "x-csrf-token",
        "referer",
        "host",
        "x-request-id",
    ];
    let app = Router::new().route("/cb", get(|| async { "ok" })).layer(
        HttpServerLayer::new()
            .request_headers(captured)
            .response_headers(captured),
    );
    let addr = serve(app).await;
    let client = tower::Layer::layer(&HttpClientLayer::new().request_headers(captured), transport());
    let mut req = get_req(format!("http://{addr}/cb?{query}"));
    let headers = req.headers_mut();
    headers.insert("x-api-key", "LEAKH1".parse().unwrap());
    headers.insert("x-auth-token", "LEAKH2".parse().unwrap());
    headers.insert("x-amz-security-token", "LEAKH3".parse().unwrap());
    headers.insert("x-csrf-token", "LEAKH4".parse().unwrap());
    headers.insert(
        header::REFERER,
        "https://ref:LEAKR1@site.example/login?access_token=LEAKR2&page=1"
            .parse()
            .unwrap(),
    );
    headers.insert(header::HOST, format!("user:LEAKHOST@{addr}").parse().unwrap());
    headers.insert("x-request-id", "req-2".parse().unwrap());
    let (status, _, _) = send(&client, req).await;
    assert_eq!(status, 200);

    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "GET /cb", SpanKind::Server);
    let header = |key: &str| {
        server
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == format!("http.request.header.{key}"))
            .map(|kv| texts(&kv.value))
    };
    // Present, without their values.
    for key in [
        "x-api-key",
        "x-auth-token",
        "x-amz-security-token",
        "x-csrf-token",
    ] {
        assert_eq!(header(key), Some(vec!["REDACTED".to_owned()]), "{key}");
    }
    assert_eq!(
        header("referer"),
        Some(vec![
            "https://REDACTED:REDACTED@site.example/login?access_token=REDACTED&page=1".to_owned()
        ])
    );
    assert_eq!(header("x-request-id"), Some(vec!["req-2".to_owned()]));
    assert!(s(&server, "url.query").expect("url.query").ends_with("&page=2"));

    let mut exported = exported_texts(&spans);
    let status = serde_json::to_string(&otel_core::telemetry_status()).expect("status serializes");
    exported.push(status);
    let planted = query_keys.len() + 1 + 4 + 2 + 1;
    let mut leaked = Vec::new();
    for text in &exported {
        for marker in ["LEAKQ", "LEAKSEMI", "LEAKH", "LEAKR", "LEAKHOST"] {
            if text.contains(marker) {
                leaked.push(text.clone());
            }
        }
    }
    assert!(
        leaked.is_empty(),
        "{} of {planted} planted secrets leaked: {leaked:#?}",
        leaked.len()
    );
}

#[derive(Clone)]
struct RetryUnavailable {
    left: usize,
}

impl<B, E> tower::retry::Policy<http::Request<http_body_util::Full<bytes::Bytes>>, http::Response<B>, E>
    for RetryUnavailable
{
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _req: &mut http::Request<http_body_util::Full<bytes::Bytes>>,
        result: &mut Result<http::Response<B>, E>,
    ) -> Option<Self::Future> {
        let unavailable = matches!(result, Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE);
        if unavailable && self.left > 0 {
            self.left -= 1;
            Some(std::future::ready(()))
        } else {
            None
        }
    }

    fn clone_request(
        &mut self,
        req: &http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Option<http::Request<http_body_util::Full<bytes::Bytes>>> {
        Some(req.clone())
    }
}

#[tokio::test]
async fn retries_are_separate_client_spans_with_resend_count() {
    let cap = testing::capture();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/flaky",
            get(move || {
                let calls = calls.clone();
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        (StatusCode::SERVICE_UNAVAILABLE, "later")
                    } else {
                        (StatusCode::OK, "now")
                    }
                }
            }),
        )
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;
    let client = tower::ServiceBuilder::new()
        .layer(ResendTrackingLayer::new())
        .layer(tower::retry::RetryLayer::new(RetryUnavailable { left: 5 }))
        .layer(HttpClientLayer::new())
        .service(transport());
    let (status, _, body) = send(&client, get_req(format!("http://{addr}/flaky"))).await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"now");

    let spans = wait_spans(&cap, 6).await;
    let mut attempts: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
    attempts.sort_by_key(|s| s.start_time);
    assert_eq!(attempts.len(), 3, "{}", cap.tree());
    assert_eq!(
        attempts[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "http.request.resend_count"),
        None
    );
    assert_eq!(i(attempts[1], "http.request.resend_count"), Some(1));
    assert_eq!(i(attempts[2], "http.request.resend_count"), Some(2));
    assert_eq!(i(attempts[0], "http.response.status_code"), Some(503));
    assert_eq!(i(attempts[2], "http.response.status_code"), Some(200));
    for attempt in &attempts {
        assert_eq!(attempt.parent_span_id, cap.root_span_id());
    }
    // Each attempt reached the server as its own child span.
    let servers: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Server).collect();
    assert_eq!(servers.len(), 3);
    for server in servers {
        assert!(attempts
            .iter()
            .any(|a| a.span_context.span_id() == server.parent_span_id));
    }
}
