//! The server span ends with the response body, not with the response headers.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use common::*;
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::testing;
use otel_tower::HttpServerLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

/// A body of `chunks` chunks, `gap` apart; the time just before the last chunk is
/// yielded goes to `last`.
fn slow_body(chunks: usize, gap: Duration, last: Arc<Mutex<Option<SystemTime>>>) -> Body {
    let stream = futures_util::stream::unfold(0usize, move |n| {
        let last = last.clone();
        async move {
            if n == chunks {
                return None;
            }
            tokio::time::sleep(gap).await;
            if n + 1 == chunks {
                *last.lock().expect("lock") = Some(SystemTime::now());
            }
            Some((Ok::<_, Infallible>(Bytes::from(format!("chunk{n};"))), n + 1))
        }
    });
    Body::from_stream(stream)
}

#[tokio::test]
async fn streaming_body_is_covered_by_the_span() {
    let cap = testing::capture();
    let last = Arc::new(Mutex::new(None));
    let handler_last = last.clone();
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let last = handler_last.clone();
                async move { slow_body(5, Duration::from_millis(20), last) }
            }),
        )
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;

    let (status, headers, body) = send(&traced_client(), get_req(format!("http://{addr}/stream"))).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-length").is_none(), "chunked on the wire");
    assert_eq!(&body[..], b"chunk0;chunk1;chunk2;chunk3;chunk4;");

    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "GET /stream", SpanKind::Server);
    let last_chunk_at = last.lock().expect("lock").expect("last chunk produced");
    // Ordering, not timing: the span cannot have ended before the last chunk existed.
    assert!(
        server.end_time >= last_chunk_at,
        "server span ended at the headers, before the last chunk"
    );
    assert_eq!(server.status, Status::Unset);
    assert_eq!(
        server
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "error.type"),
        None
    );
}

#[tokio::test]
async fn client_disconnect_mid_body_is_recorded() {
    let cap = testing::capture();
    let app = Router::new()
        .route(
            "/forever",
            get(|| async {
                // 250 chunks 20 ms apart: bounded at 5 s, far longer than the client stays.
                slow_body(250, Duration::from_millis(20), Arc::new(Mutex::new(None)))
            }),
        )
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;

    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /forever HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    // Read until the first chunk arrived (bounded), then hang up.
    for _ in 0..100 {
        let n = socket.read(&mut buf).await.expect("read");
        seen.extend_from_slice(&buf[..n]);
        if n == 0 || seen.windows(7).any(|w| w == b"chunk0;") {
            break;
        }
    }
    assert!(seen.windows(7).any(|w| w == b"chunk0;"));
    drop(socket);

    let spans = wait_spans(&cap, 1).await;
    let server = one(&spans, "GET /forever", SpanKind::Server);
    assert_eq!(s(&server, "error.type").as_deref(), Some("cancelled"));
    assert!(matches!(server.status, Status::Error { .. }));
    // The status line did go out: the abort happened in the body.
    assert_eq!(i(&server, "http.response.status_code"), Some(200));
}

#[tokio::test]
async fn panicking_handler_under_catch_panic_is_a_500_error() {
    let cap = testing::capture();
    let app = Router::new()
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        )
        .layer(CatchPanicLayer::new())
        .layer(HttpServerLayer::new());
    let addr = serve(app).await;

    let (status, _, _) = send(&traced_client(), get_req(format!("http://{addr}/panic"))).await;
    assert_eq!(status, 500);
    let spans = wait_spans(&cap, 2).await;
    let server = one(&spans, "GET /panic", SpanKind::Server);
    assert!(matches!(server.status, Status::Error { .. }));
    assert_eq!(s(&server, "error.type").as_deref(), Some("500"));
    assert_eq!(i(&server, "http.response.status_code"), Some(500));
}

#[tokio::test]
async fn a_failing_inner_service_is_recorded() {
    let cap = testing::capture();
    let svc = tower::Layer::layer(
        &HttpServerLayer::new(),
        tower::service_fn(|_req: http::Request<Body>| async {
            Err::<http::Response<Body>, _>(std::io::Error::other("backend unreachable"))
        }),
    );
    let err = svc
        .oneshot(http::Request::get("/x").body(Body::empty()).unwrap())
        .await
        .expect_err("the inner error passes through");
    assert_eq!(err.to_string(), "backend unreachable");
    let server = one(&cap.spans(), "GET", SpanKind::Server);
    assert_eq!(s(&server, "error.type").as_deref(), Some("std::io::error::Error"));
    assert_eq!(
        server.status,
        Status::Error {
            description: "backend unreachable".into()
        }
    );
    assert_eq!(
        server
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "http.response.status_code"),
        None
    );
}
