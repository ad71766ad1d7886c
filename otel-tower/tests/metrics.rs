//! The HTTP metrics, over real HTTP. One test in this binary, so the process-wide
//! aggregates (notably `http.server.active_requests`) are this test's alone.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use otel_core::opentelemetry::Value;
use otel_core::testing::{self, metric_points, MetricPoint, PointValue};
use otel_tower::{HttpServerLayer, DURATION_BUCKETS};
use tokio::sync::{mpsc, Notify};

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

fn active(method: &str) -> f64 {
    let points = metric_points("http.server.active_requests");
    let mine: Vec<&MetricPoint> = points
        .iter()
        .filter(|p| attr_is(p, "http.request.method", Value::from(method.to_owned())))
        .collect();
    assert!(mine.len() <= 1, "{points:?}");
    mine.first().map_or(0.0, |p| {
        assert_eq!(p.attributes.len(), 2, "method and scheme only: {p:?}");
        assert!(attr_is(p, "url.scheme", Value::from("http")));
        match p.value {
            PointValue::Sum(v) => v,
            ref other => panic!("not a sum: {other:?}"),
        }
    })
}

#[tokio::test]
async fn http_metrics_follow_the_conventions() {
    let _cap = testing::capture();
    let (entered_tx, mut entered_rx) = mpsc::unbounded_channel::<()>();
    let release = Arc::new(Notify::new());
    let handler_release = release.clone();
    let app = Router::new()
        .route("/m/{id}", get(|| async { "twelve bytes" }))
        .route(
            "/m-fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route(
            "/m-stream",
            // Chunked: no Content-Length, so the client cannot know the size up front.
            get(|| async {
                let chunks =
                    ["chunk", "ed"].map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/m-upload",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/m-wait",
            get(move || {
                let entered = entered_tx.clone();
                let release = handler_release.clone();
                async move {
                    let _ = entered.send(());
                    release.notified().await;
                    "released"
                }
            }),
        )
        .layer(
            HttpServerLayer::new()
                .active_requests(true)
                .body_size_metrics(true),
        );
    let addr = serve(app).await;
    let client = tower::Layer::layer(
        &otel_tower::HttpClientLayer::new().body_size_metrics(true),
        transport(),
    );

    for id in 1..=3 {
        let (status, _, body) = send(&client, get_req(format!("http://{addr}/m/{id}"))).await;
        assert_eq!(status, 200);
        assert_eq!(body.len(), 12);
    }
    send(&client, get_req(format!("http://{addr}/m-fail"))).await;
    let (status, headers, body) = send(&client, get_req(format!("http://{addr}/m-stream"))).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"chunked"[..]));
    assert!(!headers.contains_key(http::header::CONTENT_LENGTH), "{headers:?}");
    let upload = http::Request::post(format!("http://{addr}/m-upload"))
        .body(Full::new(Bytes::from_static(b"0123456789")))
        .unwrap();
    send(&client, upload).await;

    // A request in flight counts as active; it stops counting when its body is done.
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { send(&client, get_req(format!("http://{addr}/m-wait"))).await }
    });
    entered_rx.recv().await.expect("handler entered");
    assert_eq!(active("GET"), 1.0);
    release.notify_one();
    let (status, _, _) = waiting.await.expect("join");
    assert_eq!(status, 200);

    // The server records at body end, which may trail the client by a moment.
    let mut durations = Vec::new();
    for _ in 0..500 {
        durations = metric_points("http.server.request.duration");
        let total: u64 = durations.iter().map(|p| histogram(p).0).sum();
        if total >= 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(active("GET"), 0.0);
    assert_eq!(active("POST"), 0.0);

    let route_point = |points: &[MetricPoint], route: &str| -> MetricPoint {
        let found: Vec<&MetricPoint> = points
            .iter()
            .filter(|p| attr_is(p, "http.route", Value::from(route.to_owned())))
            .collect();
        assert_eq!(found.len(), 1, "one point for {route}: {points:#?}");
        found[0].clone()
    };

    let users = route_point(&durations, "/m/{id}");
    let (count, sum, bounds) = histogram(&users);
    assert_eq!(count, 3, "one measurement per request");
    assert!(sum > 0.0);
    assert_eq!(bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(users.unit, "s");
    assert!(attr_is(&users, "http.request.method", Value::from("GET")));
    assert!(attr_is(&users, "url.scheme", Value::from("http")));
    assert!(attr_is(&users, "http.response.status_code", Value::I64(200)));
    assert!(attr_is(&users, "network.protocol.version", Value::from("1.1")));
    assert_eq!(users.attr("error.type"), None);
    assert_eq!(users.attributes.len(), 5, "{users:?}");

    let failed = route_point(&durations, "/m-fail");
    assert_eq!(histogram(&failed).0, 1);
    assert!(attr_is(&failed, "error.type", Value::from("500")));
    assert!(attr_is(&failed, "http.response.status_code", Value::I64(500)));

    let responses = metric_points("http.server.response.body.size");
    let users_size = route_point(&responses, "/m/{id}");
    assert_eq!(users_size.unit, "By");
    assert_eq!(histogram(&users_size).0, 3);
    assert_eq!(histogram(&users_size).1, 36.0);
    // The server counts what it sends, so a chunked body has a size too.
    let stream_size = route_point(&responses, "/m-stream");
    assert_eq!(histogram(&stream_size).0, 1);
    assert_eq!(histogram(&stream_size).1, 7.0);

    let requests = metric_points("http.server.request.body.size");
    let upload_size = route_point(&requests, "/m-upload");
    assert_eq!(histogram(&upload_size), (1, 10.0, histogram(&upload_size).2));
    assert!(attr_is(&upload_size, "http.request.method", Value::from("POST")));

    // Client side: one point per (method, server, status) with the required attributes.
    let client_points = metric_points("http.client.request.duration");
    let ok: Vec<&MetricPoint> = client_points
        .iter()
        .filter(|p| {
            attr_is(p, "http.response.status_code", Value::I64(200))
                && attr_is(p, "http.request.method", Value::from("GET"))
        })
        .collect();
    assert_eq!(ok.len(), 1, "{client_points:#?}");
    assert_eq!(histogram(ok[0]).0, 5, "three /m/{{id}}, /m-stream and /m-wait");
    assert_eq!(histogram(ok[0]).2, DURATION_BUCKETS.to_vec());
    assert!(attr_is(ok[0], "server.address", Value::from("127.0.0.1")));
    assert!(attr_is(ok[0], "server.port", Value::I64(i64::from(addr.port()))));
    assert!(attr_is(ok[0], "network.protocol.version", Value::from("1.1")));
    let failed_client = client_points
        .iter()
        .find(|p| attr_is(p, "http.response.status_code", Value::I64(500)))
        .expect("client point for the 500");
    assert!(attr_is(failed_client, "error.type", Value::from("500")));

    // Response sizes as the client saw them, from Content-Length, with the duration's
    // attributes; the chunked response has no known size and is left out, not counted
    // as 0.
    let client_responses = metric_points("http.client.response.body.size");
    let by_status = |status: i64, method: &str| -> &MetricPoint {
        let found: Vec<&MetricPoint> = client_responses
            .iter()
            .filter(|p| {
                attr_is(p, "http.response.status_code", Value::I64(status))
                    && attr_is(p, "http.request.method", Value::from(method.to_owned()))
            })
            .collect();
        assert_eq!(found.len(), 1, "{method} {status}: {client_responses:#?}");
        found[0]
    };
    let ok_sizes = by_status(200, "GET");
    assert_eq!(ok_sizes.unit, "By");
    let (count, sum, _) = histogram(ok_sizes);
    assert_eq!(count, 4, "three /m/{{id}} and /m-wait; not /m-stream");
    assert_eq!(sum, (3 * "twelve bytes".len() + "released".len()) as f64);
    assert!(attr_is(ok_sizes, "server.address", Value::from("127.0.0.1")));
    assert!(attr_is(
        ok_sizes,
        "server.port",
        Value::I64(i64::from(addr.port()))
    ));
    assert!(attr_is(ok_sizes, "network.protocol.version", Value::from("1.1")));
    let failed_sizes = by_status(500, "GET");
    assert_eq!(histogram(failed_sizes).0, 1);
    assert_eq!(histogram(failed_sizes).1, 2.0, "\"no\"");
    assert!(attr_is(failed_sizes, "error.type", Value::from("500")));
    let upload_response = by_status(200, "POST");
    assert_eq!(histogram(upload_response).1, 2.0, "the body \"10\"");
    let client_upload = metric_points("http.client.request.body.size");
    let post = client_upload
        .iter()
        .find(|p| attr_is(p, "http.request.method", Value::from("POST")))
        .expect("client body size of the POST");
    assert_eq!(histogram(post).0, 1);
    assert_eq!(histogram(post).1, 10.0);
}
