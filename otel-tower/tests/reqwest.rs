//! The reqwest middleware over real HTTP on 127.0.0.1: a reqwest client with
//! `HttpClientMiddleware` calling axum with `HttpServerLayer` (needs the `reqwest`
//! feature).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use common::*;
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::{Array, Value};
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, metric_points, MetricPoint, PointValue, SpanDataExt};
use otel_tower::client::UrlTemplate;
use otel_tower::reqwest::HttpClientMiddleware;
use otel_tower::{HttpClientLayer, HttpServerLayer, DURATION_BUCKETS};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::RetryTransientMiddleware;
use tokio::sync::Notify;

/// Answers with the `traceparent` it received; `/flaky` fails twice, then succeeds.
async fn server(release: Arc<Notify>) -> SocketAddr {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/users/{id}",
            get(|headers: HeaderMap| async move {
                headers
                    .get("traceparent")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/upload", post(|body: Bytes| async move { body }))
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
        .route(
            "/wait",
            get(move || {
                let release = release.clone();
                async move {
                    release.notified().await;
                    "released"
                }
            }),
        )
        .layer(HttpServerLayer::new());
    serve(app).await
}

fn traced(middleware: HttpClientMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

#[tokio::test]
async fn client_span_has_the_layers_attributes_and_parents_the_server_span() {
    let cap = testing::capture();
    let addr = server(Arc::default()).await;
    let client = traced(HttpClientMiddleware::new());

    let (traceparent, caller) = otel_core::in_span_async("caller", async {
        // Built by hand: reqwest's request builder would already have moved the
        // userinfo into an `Authorization` header, which is never recorded.
        let url = format!("http://user:pa55@{addr}/users/42?q=rust&token=s3cr3t");
        let req = reqwest::Request::new(http::Method::GET, url.parse().expect("url"));
        let response = client.execute(req).await.expect("request");
        assert_eq!(response.status(), 200);
        let caller = otel_core::current_span_id();
        (response.text().await.expect("body"), caller)
    })
    .await;

    let spans = wait_spans(&cap, 3).await;
    let caller_span = one(&spans, "caller", SpanKind::Internal);
    let client_span = one(&spans, "GET", SpanKind::Client);
    let server_span = one(&spans, "GET /users/{id}", SpanKind::Server);
    assert_eq!(Some(caller_span.span_context.span_id().to_string()), caller);

    // Parented to the caller's span; the server received our span as its parent.
    assert_eq!(client_span.parent_span_id, caller_span.span_context.span_id());
    assert_eq!(client_span.span_context.trace_id(), cap.trace_id());
    // Sampled, and random: the capture's trace was started here.
    assert_eq!(
        traceparent,
        format!("00-{}-{}-03", cap.trace_id(), client_span.span_context.span_id())
    );
    assert_eq!(server_span.parent_span_id, client_span.span_context.span_id());

    assert_eq!(s(&client_span, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(s(&client_span, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(i(&client_span, "server.port"), Some(i64::from(addr.port())));
    assert_eq!(
        s(&client_span, "url.full"),
        Some(format!(
            "http://REDACTED:REDACTED@{addr}/users/42?q=rust&token=REDACTED"
        ))
    );
    assert_eq!(s(&client_span, "url.scheme").as_deref(), Some("http"));
    assert_eq!(i(&client_span, "http.response.status_code"), Some(200));
    assert_eq!(
        s(&client_span, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(client_span.attr("error.type"), None);
    assert_eq!(client_span.attr("http.request.resend_count"), None);
    assert_eq!(client_span.status, Status::Unset);
    assert!(
        client_span
            .attributes
            .iter()
            .all(|kv| !kv.value.as_str().contains("s3cr3t") && !kv.value.as_str().contains("pa55")),
        "{client_span:?}"
    );
}

#[tokio::test]
async fn error_statuses_and_transport_errors_are_errors() {
    let cap = testing::capture();
    let addr = server(Arc::default()).await;
    let client = traced(HttpClientMiddleware::new());
    for path in ["/missing", "/fail"] {
        let response = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("a response");
        assert!(response.status().is_client_error() || response.status().is_server_error());
    }
    // A port nothing listens on any more: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let error = client
        .get(format!("http://127.0.0.1:{closed}/x?api_key=k3y"))
        .send()
        .await
        .expect_err("nothing listens");
    assert!(error.is_connect(), "{error:?}");

    let spans = wait_spans(&cap, 5).await;
    let clients: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
    assert_eq!(clients.len(), 3, "{}", cap.tree());
    let by_port = |port: u16, path: &str| -> SpanData {
        let found: Vec<&&SpanData> = clients
            .iter()
            .filter(|s| i(s, "server.port") == Some(i64::from(port)))
            .filter(|s| s.attr("url.full").is_some_and(|u| u.as_str().contains(path)))
            .collect();
        assert_eq!(found.len(), 1, "{path}: {clients:#?}");
        (*found[0]).clone()
    };

    let missing = by_port(addr.port(), "/missing");
    assert_eq!(s(&missing, "error.type").as_deref(), Some("404"));
    assert_eq!(i(&missing, "http.response.status_code"), Some(404));
    assert!(matches!(missing.status, Status::Error { .. }));
    let fail = by_port(addr.port(), "/fail");
    assert_eq!(s(&fail, "error.type").as_deref(), Some("500"));
    assert!(matches!(fail.status, Status::Error { .. }));
    // The server side treats a 4xx as no error of its own.
    let missing_server = one(&spans, "GET /missing", SpanKind::Server);
    assert_eq!(missing_server.status, Status::Unset);

    let refused = by_port(closed, "/x");
    assert_eq!(
        s(&refused, "error.type").as_deref(),
        Some("reqwest::error::Error")
    );
    assert_eq!(refused.attr("http.response.status_code"), None);
    assert_eq!(
        s(&refused, "url.full"),
        Some(format!("http://127.0.0.1:{closed}/x?api_key=REDACTED"))
    );
    match &refused.status {
        Status::Error { description } => {
            assert!(description.contains("error sending request"), "{description}");
            // The cause, not only the step that failed.
            assert!(description.contains("onnection refused"), "{description}");
            assert!(description.contains("api_key=REDACTED"), "{description}");
            assert!(!description.contains("k3y"), "{description}");
        }
        other => panic!("not an error: {other:?}"),
    }
}

#[tokio::test]
async fn url_template_names_the_span() {
    let cap = testing::capture();
    let addr = server(Arc::default()).await;
    let client = traced(HttpClientMiddleware::new());
    client
        .get(format!("http://{addr}/users/5"))
        .with_extension(UrlTemplate::new("/users/{id}"))
        .send()
        .await
        .expect("request");
    let spans = wait_spans(&cap, 2).await;
    let client_span = one(&spans, "GET /users/{id}", SpanKind::Client);
    assert_eq!(s(&client_span, "url.template").as_deref(), Some("/users/{id}"));
    assert_eq!(
        s(&client_span, "url.full"),
        Some(format!("http://{addr}/users/5"))
    );
}

#[tokio::test]
async fn layer_options_apply_to_the_middleware() {
    let cap = testing::capture();
    let addr = server(Arc::default()).await;
    let layer = HttpClientLayer::new()
        .request_headers(["x-request-id"])
        .response_headers(["content-type"])
        .filter(|req| req.uri.path() != "/fail")
        .span_name(|req| format!("{} users", req.method).into());
    let client = traced(HttpClientMiddleware::from(layer));
    client
        .get(format!("http://{addr}/users/1"))
        .header("x-request-id", "r-1")
        .send()
        .await
        .expect("request");
    let skipped = client
        .get(format!("http://{addr}/fail"))
        .send()
        .await
        .expect("request");
    assert_eq!(skipped.status(), 500);

    // Two server spans, one client span: the filtered request was not recorded.
    let spans = wait_spans(&cap, 3).await;
    let clients: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
    assert_eq!(clients.len(), 1, "{}", cap.tree());
    let client_span = one(&spans, "GET users", SpanKind::Client);
    let strings =
        |v: &[&str]| Value::Array(Array::String(v.iter().map(|s| (*s).to_owned().into()).collect()));
    assert_eq!(
        client_span.attr("http.request.header.x-request-id"),
        Some(&strings(&["r-1"]))
    );
    assert_eq!(
        client_span.attr("http.response.header.content-type"),
        Some(&strings(&["text/plain; charset=utf-8"]))
    );
    // A skipped request carries no context of ours: the server span of `/fail` is a
    // child of the capture's root, not of a client span.
    let fail_server = one(&spans, "GET /fail", SpanKind::Server);
    assert_eq!(fail_server.parent_span_id, cap.root_span_id());
}

#[tokio::test]
async fn each_attempt_of_reqwest_retry_is_a_span_with_its_resend_count() {
    let cap = testing::capture();
    let addr = server(Arc::default()).await;
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(5);
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .with(HttpClientMiddleware::new())
        .build();
    let response = client
        .get(format!("http://{addr}/flaky"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "now");

    let spans = wait_spans(&cap, 6).await;
    let mut attempts: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
    attempts.sort_by_key(|s| s.start_time);
    assert_eq!(attempts.len(), 3, "{}", cap.tree());
    assert_eq!(attempts[0].attr("http.request.resend_count"), None);
    assert_eq!(i(attempts[1], "http.request.resend_count"), Some(1));
    assert_eq!(i(attempts[2], "http.request.resend_count"), Some(2));
    assert_eq!(i(attempts[0], "http.response.status_code"), Some(503));
    assert_eq!(s(attempts[1], "error.type").as_deref(), Some("503"));
    assert_eq!(i(attempts[2], "http.response.status_code"), Some(200));
    for attempt in &attempts {
        assert_eq!(attempt.parent_span_id, cap.root_span_id());
    }
    // Each attempt reached the server as its own child span.
    let servers: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Server).collect();
    assert_eq!(servers.len(), 3);
    for server in servers {
        assert!(attempts
            .iter()
            .any(|a| a.span_context.span_id() == server.parent_span_id));
    }

    // Without a retry middleware, every request is a first send.
    let plain = traced(HttpClientMiddleware::new());
    for _ in 0..2 {
        plain
            .get(format!("http://{addr}/users/1"))
            .send()
            .await
            .expect("request");
    }
    let spans = wait_spans(&cap, 10).await;
    let users: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client && s.name == "GET")
        .filter(|s| {
            s.attr("url.full")
                .is_some_and(|u| u.as_str().ends_with("/users/1"))
        })
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users
        .iter()
        .all(|s| s.attr("http.request.resend_count").is_none()));
}

#[tokio::test]
async fn a_request_dropped_before_its_response_is_cancelled() {
    let cap = testing::capture();
    let release = Arc::new(Notify::new());
    let addr = server(release.clone()).await;
    let client = traced(HttpClientMiddleware::new());
    let timed_out = tokio::time::timeout(
        Duration::from_millis(200),
        client.get(format!("http://{addr}/wait")).send(),
    )
    .await;
    assert!(timed_out.is_err(), "the handler waits to be released");
    let spans = wait_spans(&cap, 1).await;
    let client_span = one(&spans, "GET", SpanKind::Client);
    assert_eq!(s(&client_span, "error.type").as_deref(), Some("cancelled"));
    assert_eq!(client_span.status, Status::Unset);
    release.notify_waiters();
}

fn attr_is(p: &MetricPoint, key: &str, expected: Value) -> bool {
    p.attr(key) == Some(&expected)
}

fn histogram(p: &MetricPoint) -> (u64, f64, Vec<f64>) {
    match &p.value {
        PointValue::Histogram {
            count, sum, bounds, ..
        } => (*count, *sum, bounds.clone()),
        other => panic!("not a histogram: {other:?}"),
    }
}

/// The points of `name` for this test's server (other tests of this binary record into
/// the same process-wide meter provider, each against its own port).
fn points(name: &str, addr: SocketAddr) -> Vec<MetricPoint> {
    metric_points(name)
        .into_iter()
        .filter(|p| attr_is(p, "server.port", Value::I64(i64::from(addr.port()))))
        .collect()
}

#[tokio::test]
async fn duration_and_body_size_histograms_follow_the_conventions() {
    let _cap = testing::capture();
    let addr = server(Arc::default()).await;
    let client = traced(HttpClientMiddleware::from(
        HttpClientLayer::new().body_size_metrics(true),
    ));
    for id in 1..=3 {
        client
            .get(format!("http://{addr}/users/{id}"))
            .with_extension(UrlTemplate::new("/users/{id}"))
            .send()
            .await
            .expect("request");
    }
    client
        .get(format!("http://{addr}/fail"))
        .send()
        .await
        .expect("request");
    let upload = client
        .post(format!("http://{addr}/upload"))
        .body("0123456789")
        .send()
        .await
        .expect("request");
    assert_eq!(upload.bytes().await.expect("body").len(), 10);

    let durations = points("http.client.request.duration", addr);
    assert_eq!(durations.len(), 3, "{durations:#?}");
    let users = durations
        .iter()
        .find(|p| attr_is(p, "url.template", Value::from("/users/{id}")))
        .expect("a point for the template");
    let (count, sum, bounds) = histogram(users);
    assert_eq!(count, 3);
    assert!(sum > 0.0);
    assert_eq!(bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(users.unit, "s");
    assert!(attr_is(users, "http.request.method", Value::from("GET")));
    assert!(attr_is(users, "server.address", Value::from("127.0.0.1")));
    assert!(attr_is(users, "http.response.status_code", Value::I64(200)));
    assert!(attr_is(users, "network.protocol.version", Value::from("1.1")));
    assert_eq!(users.attr("error.type"), None);
    assert_eq!(users.attributes.len(), 6, "{users:?}");

    let failed = durations
        .iter()
        .find(|p| attr_is(p, "http.response.status_code", Value::I64(500)))
        .expect("a point for the 500");
    assert_eq!(histogram(failed).0, 1);
    assert!(attr_is(failed, "error.type", Value::from("500")));
    assert_eq!(failed.attr("url.template"), None);

    let requests = points("http.client.request.body.size", addr);
    let posted = requests
        .iter()
        .find(|p| attr_is(p, "http.request.method", Value::from("POST")))
        .expect("the upload's request size");
    assert_eq!(posted.unit, "By");
    assert_eq!(histogram(posted).0, 1);
    assert_eq!(histogram(posted).1, 10.0);

    let responses = points("http.client.response.body.size", addr);
    let user_sizes = responses
        .iter()
        .find(|p| attr_is(p, "url.template", Value::from("/users/{id}")))
        .expect("the users' response sizes");
    assert_eq!(histogram(user_sizes).0, 3);
    assert_eq!(histogram(user_sizes).1, 3.0 * 55.0, "three traceparents echoed");
}
