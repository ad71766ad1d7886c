//! `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` from the process environment. The variable
//! is process-wide, so this binary holds this one test alone, and sets it before any
//! layer is built. (Other tests use the layers' `env` hook instead.)

mod common;

use axum::routing::any;
use axum::Router;
use common::*;
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::testing::{self, SpanDataExt};
use otel_tower::method::KNOWN_METHODS_ENV;
use otel_tower::{HttpClientLayer, HttpServerLayer};

#[tokio::test]
async fn new_layers_read_known_methods_from_the_process_environment() {
    // Edition 2021: `set_var` is safe to call; nothing else in this process reads the
    // environment concurrently (one test, and the layers are built below).
    std::env::set_var(KNOWN_METHODS_ENV, "GET,PURGE");
    let cap = testing::capture();
    let app = Router::new()
        .route("/cache/{key}", any(|| async { "purged" }))
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;
    let client = tower::Layer::layer(&HttpClientLayer::new(), transport());

    let (status, _, _) = send(&client, method_req("PURGE", format!("http://{addr}/cache/a"))).await;
    assert_eq!(status, 200);
    send(&client, method_req("DELETE", format!("http://{addr}/cache/b"))).await;
    let spans = wait_spans(&cap, 4).await;

    let server = one(&spans, "PURGE /cache/{key}", SpanKind::Server);
    let client_span = one(&spans, "PURGE", SpanKind::Client);
    for span in [&server, &client_span] {
        assert_eq!(s(span, "http.request.method").as_deref(), Some("PURGE"));
        assert_eq!(span.attr("http.request.method_original"), None);
    }
    // DELETE is standard, but not in the configured list: the list is a replacement.
    let server = one(&spans, "HTTP /cache/{key}", SpanKind::Server);
    let client_span = one(&spans, "HTTP", SpanKind::Client);
    for span in [&server, &client_span] {
        assert_eq!(s(span, "http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(s(span, "http.request.method_original").as_deref(), Some("DELETE"));
    }
}
