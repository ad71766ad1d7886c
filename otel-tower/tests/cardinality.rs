//! A hostile client cannot blow up span names or metric series: a client-chosen gRPC
//! content type on plain HTTP routes, and a route function that leaks raw paths, both
//! stay bounded. One test, so the metric points are this test's alone.

mod common;

use std::borrow::Cow;
use std::collections::HashSet;

use axum::routing::{get, post};
use axum::Router;
use common::*;
use otel_core::testing::{self, metric_points};
use otel_tower::HttpServerLayer;

const REQUESTS: usize = 400;

fn grpc_post(uri: String) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request")
}

#[tokio::test]
async fn hostile_names_stay_bounded() {
    let cap = testing::capture();
    let client = transport();

    // 1. gRPC content type on an axum app that is not a gRPC server.
    let app = Router::new()
        .route("/users/{id}", post(|| async { "not grpc" }))
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;
    for i in 0..REQUESTS {
        let (status, _, _) = send(&client, grpc_post(format!("http://{addr}/users/u{i:x}z"))).await;
        assert_eq!(status, 200);
    }
    let spans = wait_spans(&cap, REQUESTS).await;
    let names: HashSet<String> = spans.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, HashSet::from(["grpc".to_owned()]), "span names");
    let methods: HashSet<String> = metric_points("rpc.server.call.duration")
        .iter()
        .flat_map(|p| p.attributes.iter())
        .filter(|kv| kv.key.as_str() == "rpc.method")
        .map(|kv| kv.value.to_string())
        .collect();
    assert_eq!(methods, HashSet::from(["_OTHER".to_owned()]), "rpc.method series");

    // 2. A route function that (wrongly) returns the raw path, under a limit of 5.
    let app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .layer(
            HttpServerLayer::new()
                .route(|parts| Some(Cow::Owned(parts.uri.path().to_owned())))
                .cardinality_limit(5),
        );
    let addr = serve(app).await;
    for i in 0..50 {
        send(&client, get_req(format!("http://{addr}/items/{i}"))).await;
    }
    let spans = wait_spans(&cap, REQUESTS + 50).await;
    let names: HashSet<String> = spans[REQUESTS..].iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names.len(), 6, "five routes and the bare method: {names:?}");
    assert!(names.contains("GET"));
    let routes: HashSet<String> = metric_points("http.server.request.duration")
        .iter()
        .flat_map(|p| p.attributes.iter())
        .filter(|kv| kv.key.as_str() == "http.route")
        .map(|kv| kv.value.to_string())
        .collect();
    assert_eq!(routes.len(), 6, "{routes:?}");
    assert!(routes.contains("_OTHER"));

    let overflows = otel_core::telemetry_status().cardinality_overflows;
    let server = overflows
        .iter()
        .find(|r| r.owner == "HttpServerLayer" && r.limit == 5)
        .expect("the overflow is reported");
    assert_eq!(server.distinct, 5);
    assert_eq!(server.overflowed, 45);
}
