//! Client layer -> real HTTP over 127.0.0.1 -> axum with the server layer.

mod common;

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::Router;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::{Array, Value};
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, SpanDataExt};
use otel_tower::client::UrlTemplate;
use otel_tower::method::KNOWN_METHODS_ENV;
use otel_tower::{HttpClientLayer, HttpServerLayer};

fn app(layer: HttpServerLayer) -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/nested",
            get(|| async {
                otel_core::in_span_async("handler.work", async {}).await;
                "nested"
            }),
        )
        .layer(layer)
}

#[tokio::test]
async fn server_span_is_child_of_client_span_with_every_attribute() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let client = traced_client();

    let (status, _, body) = send(
        &client,
        get_req(format!("http://{addr}/users/42?q=rust&token=s3cr3t")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"user");

    let spans = wait_spans(&cap, 2).await;
    let client_span = one(&spans, "GET", SpanKind::Client);
    let server = one(&spans, "GET /users/{id}", SpanKind::Server);

    // The hop: same trace, server parented to the client span through `traceparent`.
    assert_eq!(client_span.span_context.trace_id(), cap.trace_id());
    assert_eq!(client_span.parent_span_id, cap.root_span_id());
    assert_eq!(server.span_context.trace_id(), cap.trace_id());
    assert_eq!(server.parent_span_id, client_span.span_context.span_id());
    assert!(server.parent_span_is_remote);

    assert_eq!(s(&server, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(server.attr("http.request.method_original"), None);
    assert_eq!(s(&server, "url.path").as_deref(), Some("/users/42"));
    assert_eq!(s(&server, "url.query").as_deref(), Some("q=rust&token=REDACTED"));
    assert_eq!(s(&server, "url.scheme").as_deref(), Some("http"));
    assert_eq!(s(&server, "http.route").as_deref(), Some("/users/{id}"));
    assert_eq!(i(&server, "http.response.status_code"), Some(200));
    assert_eq!(s(&server, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(i(&server, "server.port"), Some(i64::from(addr.port())));
    assert_eq!(s(&server, "client.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(s(&server, "network.peer.address").as_deref(), Some("127.0.0.1"));
    assert!(i(&server, "network.peer.port").is_some_and(|p| p > 0));
    assert_eq!(s(&server, "network.protocol.version").as_deref(), Some("1.1"));
    assert_eq!(
        s(&server, "user_agent.original").as_deref(),
        Some("otel-tower-tests/1.0")
    );
    assert_eq!(server.attr("error.type"), None);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.instrumentation_scope.name(), "otel-tower");

    assert_eq!(s(&client_span, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(
        s(&client_span, "url.full").as_deref(),
        Some(format!("http://{addr}/users/42?q=rust&token=REDACTED").as_str())
    );
    assert_eq!(s(&client_span, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(i(&client_span, "server.port"), Some(i64::from(addr.port())));
    assert_eq!(i(&client_span, "http.response.status_code"), Some(200));
    assert_eq!(
        s(&client_span, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(client_span.attr("error.type"), None);
    assert_eq!(client_span.status, Status::Unset);
    // The server span covers the whole exchange seen by the server, inside the client's.
    assert!(server.start_time >= client_span.start_time);
}

#[tokio::test]
async fn handler_spans_are_children_of_the_server_span() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    send(&traced_client(), get_req(format!("http://{addr}/nested"))).await;
    let spans = wait_spans(&cap, 3).await;
    let server = one(&spans, "GET /nested", SpanKind::Server);
    let work = one(&spans, "handler.work", SpanKind::Internal);
    assert_eq!(work.parent_span_id, server.span_context.span_id());
}

#[tokio::test]
async fn not_found_is_an_error_only_on_the_client() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let (status, _, _) = send(&traced_client(), get_req(format!("http://{addr}/nope/123"))).await;
    assert_eq!(status, 404);

    let spans = wait_spans(&cap, 2).await;
    let client_span = one(&spans, "GET", SpanKind::Client);
    // No route matched: the name is the method alone, never the raw path.
    let server = one(&spans, "GET", SpanKind::Server);
    assert_eq!(server.attr("http.route"), None);
    assert_eq!(i(&server, "http.response.status_code"), Some(404));
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.attr("error.type"), None);

    assert_eq!(i(&client_span, "http.response.status_code"), Some(404));
    assert!(matches!(client_span.status, Status::Error { .. }));
    assert_eq!(s(&client_span, "error.type").as_deref(), Some("404"));
}

#[tokio::test]
async fn server_error_is_an_error_on_both_sides() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let (status, _, _) = send(&traced_client(), get_req(format!("http://{addr}/fail"))).await;
    assert_eq!(status, 500);

    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "GET /fail", SpanKind::Server);
    let client_span = one(&spans, "GET", SpanKind::Client);
    for span in [&server, &client_span] {
        assert!(matches!(span.status, Status::Error { .. }), "{span:?}");
        assert_eq!(s(span, "error.type").as_deref(), Some("500"));
        assert_eq!(i(span, "http.response.status_code"), Some(500));
    }
}

#[tokio::test]
async fn unknown_methods_are_other_and_known_methods_are_configurable() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let client = traced_client();
    let purge = |uri: String| method_req("PURGE", uri);
    send(&client, purge(format!("http://{addr}/users/1"))).await;
    let spans = wait_spans(&cap, 2).await;
    for kind in [SpanKind::Client, SpanKind::Server] {
        // axum answers 405 for an unknown method on a known path, through the route.
        let span = spans
            .iter()
            .find(|s| s.span_kind == kind)
            .expect("span of each kind");
        assert!(span.name.starts_with("HTTP"), "{}", span.name);
        assert_eq!(s(span, "http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(s(span, "http.request.method_original").as_deref(), Some("PURGE"));
    }
    drop(cap);

    let cap = testing::capture();
    let layer = HttpServerLayer::new().known_methods(["GET", "PURGE"]);
    let addr = serve(app(layer)).await;
    let raw = transport();
    send(&raw, purge(format!("http://{addr}/users/1"))).await;
    let spans = wait_spans(&cap, 1).await;
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("server span");
    assert_eq!(s(server, "http.request.method").as_deref(), Some("PURGE"));
    assert_eq!(server.attr("http.request.method_original"), None);
    assert!(server.name.starts_with("PURGE"), "{}", server.name);
}

/// The spans of one request: (client, server).
fn exchange(spans: &[SpanData], path: &str) -> (SpanData, SpanData) {
    let client = spans
        .iter()
        .find(|s| {
            s.span_kind == SpanKind::Client && s.attr("url.full").is_some_and(|u| u.as_str().ends_with(path))
        })
        .unwrap_or_else(|| panic!("client span for {path}"))
        .clone();
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server && s.parent_span_id == client.span_context.span_id())
        .unwrap_or_else(|| panic!("server span for {path}"))
        .clone();
    (client, server)
}

#[tokio::test]
async fn known_methods_come_from_the_environment_variable() {
    let cap = testing::capture();
    let lookup = |name: &str| (name == KNOWN_METHODS_ENV).then(|| "GET, PURGE".to_owned());
    let items = Router::new().route("/items/{id}", any(|| async { "item" }));
    let addr = serve(items.clone().layer(HttpServerLayer::new().env(lookup))).await;
    let client = tower::Layer::layer(&HttpClientLayer::new().env(lookup), transport());

    send(&client, method_req("PURGE", format!("http://{addr}/items/1"))).await;
    send(&client, method_req("POST", format!("http://{addr}/items/2"))).await;
    let spans = wait_spans(&cap, 4).await;

    // PURGE is in the list: recorded as itself on both sides.
    let (client_span, server) = exchange(&spans, "/items/1");
    assert_eq!(client_span.name, "PURGE");
    assert_eq!(server.name, "PURGE /items/{id}");
    for span in [&client_span, &server] {
        assert_eq!(s(span, "http.request.method").as_deref(), Some("PURGE"));
        assert_eq!(span.attr("http.request.method_original"), None);
    }
    // The list replaces the default one: POST is now unknown.
    let (client_span, server) = exchange(&spans, "/items/2");
    assert_eq!(client_span.name, "HTTP");
    assert_eq!(server.name, "HTTP /items/{id}");
    for span in [&client_span, &server] {
        assert_eq!(s(span, "http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(s(span, "http.request.method_original").as_deref(), Some("POST"));
    }
    drop(cap);

    // A list given to the builder wins over the variable, whichever comes first; an
    // empty variable means the default list.
    let cap = testing::capture();
    let explicit_first = HttpServerLayer::new().known_methods(["GET"]).env(lookup);
    let explicit_last = HttpClientLayer::new().env(lookup).known_methods(["GET"]);
    let addr = serve(items.clone().layer(explicit_first)).await;
    let client = tower::Layer::layer(&explicit_last, transport());
    send(&client, method_req("PURGE", format!("http://{addr}/items/3"))).await;
    let empty = HttpServerLayer::new().env(|_| Some(" ".to_owned()));
    let default_addr = serve(items.layer(empty)).await;
    send(
        &client,
        method_req("POST", format!("http://{default_addr}/items/4")),
    )
    .await;
    let spans = wait_spans(&cap, 4).await;
    let (client_span, server) = exchange(&spans, "/items/3");
    for span in [&client_span, &server] {
        assert_eq!(
            s(span, "http.request.method").as_deref(),
            Some("_OTHER"),
            "{}",
            span.name
        );
    }
    let (_, server) = exchange(&spans, "/items/4");
    assert_eq!(s(&server, "http.request.method").as_deref(), Some("POST"));
}

#[tokio::test]
async fn filter_skips_requests_and_options_shape_the_span() {
    let cap = testing::capture();
    let layer = HttpServerLayer::new()
        .filter(|req| req.uri.path() != "/health")
        .request_headers(["x-request-id", "authorization", "cookie"])
        .response_headers(["content-type", "set-cookie"])
        .traceresponse(true)
        .span_name(|req, route| Cow::Owned(format!("srv {} {}", req.method, route.unwrap_or("-"))));
    let addr = serve(app(layer)).await;
    let raw = transport();

    send(&raw, get_req(format!("http://{addr}/health"))).await;
    let mut req = get_req(format!("http://{addr}/users/7"));
    req.headers_mut().append("x-request-id", "a".parse().unwrap());
    req.headers_mut().append("x-request-id", "b".parse().unwrap());
    req.headers_mut()
        .insert("authorization", "Bearer top-secret".parse().unwrap());
    req.headers_mut()
        .insert("cookie", "session=top-secret".parse().unwrap());
    let (_, headers, _) = send(&raw, req).await;

    let spans = wait_spans(&cap, 1).await;
    assert_eq!(spans.len(), 1, "/health was filtered out:\n{}", cap.tree());
    let server = one(&spans, "srv GET /users/{id}", SpanKind::Server);
    // No traceparent was sent: the span is a child of whatever was current (the
    // capture), i.e. a new trace in a real server.
    assert_eq!(server.parent_span_id, cap.root_span_id());
    assert_eq!(
        server.attr("http.request.header.x-request-id"),
        Some(&Value::Array(Array::String(vec!["a".into(), "b".into()])))
    );
    assert_eq!(server.attr("http.request.header.authorization"), None);
    assert_eq!(server.attr("http.request.header.cookie"), None);
    assert_eq!(
        server.attr("http.response.header.content-type"),
        Some(&Value::Array(Array::String(vec![
            "text/plain; charset=utf-8".into()
        ])))
    );
    let traceresponse = headers
        .get("traceresponse")
        .expect("traceresponse header")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        traceresponse,
        format!(
            "00-{}-{}-01",
            server.span_context.trace_id(),
            server.span_context.span_id()
        )
    );
}

#[tokio::test]
async fn public_endpoint_starts_a_new_trace_linked_to_the_caller() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new().public_endpoint(true))).await;
    send(&traced_client(), get_req(format!("http://{addr}/users/9"))).await;
    let spans = wait_spans(&cap, 2).await;
    let client_span = one(&spans, "GET", SpanKind::Client);
    let server = one(&spans, "GET /users/{id}", SpanKind::Server);
    assert_ne!(server.span_context.trace_id(), cap.trace_id());
    assert_eq!(
        server.parent_span_id,
        otel_core::opentelemetry::trace::SpanId::INVALID
    );
    let links: Vec<_> = server.links.iter().collect();
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].span_context.trace_id(),
        client_span.span_context.trace_id()
    );
    assert_eq!(
        links[0].span_context.span_id(),
        client_span.span_context.span_id()
    );
}

#[tokio::test]
async fn client_url_template_names_the_span() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let mut req = get_req(format!("http://user:pa55@{addr}/users/5"));
    req.extensions_mut().insert(UrlTemplate::new("/users/{id}"));
    send(&traced_client(), req).await;
    let spans = wait_spans(&cap, 2).await;
    let client_span = one(&spans, "GET /users/{id}", SpanKind::Client);
    assert_eq!(s(&client_span, "url.template").as_deref(), Some("/users/{id}"));
    assert_eq!(
        s(&client_span, "url.full").as_deref(),
        Some(format!("http://REDACTED:REDACTED@{addr}/users/5").as_str())
    );
}

#[tokio::test]
async fn request_and_response_bodies_pass_through() {
    let cap = testing::capture();
    let addr = serve(app(HttpServerLayer::new())).await;
    let req = http::Request::post(format!("http://{addr}/echo"))
        .body(Full::new(Bytes::from_static(b"hello body")))
        .unwrap();
    let (status, _, body) = send(&traced_client(), req).await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"hello body");
    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "POST /echo", SpanKind::Server);
    assert_eq!(i(&server, "http.response.status_code"), Some(200));
}
