//! The W3C test-service example: callbacks carry a child of the incoming context.

mod common;

#[allow(dead_code)]
#[path = "../examples/w3c_test_service.rs"]
mod service;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::testing;
use tokio::sync::mpsc;

#[tokio::test]
async fn callbacks_are_client_spans_under_the_server_span() {
    let cap = testing::capture();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String, Bytes)>();
    let callback = Router::new().route(
        "/callback",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let get = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let _ = tx.send((get("traceparent"), get("tracestate"), body));
                "ok"
            }
        }),
    );
    let callback_addr = serve(callback).await;
    let service_addr = serve(service::app()).await;

    let incoming = format!("00-{}-00f067aa0ba902b7-01", cap.trace_id());
    let payload = format!(
        r#"[{{"url": "http://{callback_addr}/callback", "arguments": [{{"url": "x", "arguments": []}}]}},
            {{"url": "http://{callback_addr}/callback", "arguments": []}}]"#
    );
    let request = http::Request::post(format!("http://{service_addr}/test"))
        .header("traceparent", incoming)
        .header("tracestate", "foo=1")
        .body(Full::new(Bytes::from(payload)))
        .unwrap();
    let (status, _, _) = send(&transport(), request).await;
    assert_eq!(status, 200);

    let spans = wait_spans(&cap, 3).await;
    let server = one(&spans, "POST /{*path}", SpanKind::Server);
    let clients: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
    assert_eq!(clients.len(), 2);
    for (n, client) in clients.iter().enumerate() {
        assert_eq!(client.parent_span_id, server.span_context.span_id());
        let (tp, ts, body) = rx.recv().await.expect("callback received");
        assert_eq!(
            tp,
            format!("00-{}-{}-01", cap.trace_id(), client.span_context.span_id())
        );
        assert_eq!(ts, "foo=1");
        let expected: &[u8] = if n == 0 {
            br#"[{"arguments":[],"url":"x"}]"#
        } else {
            b"[]"
        };
        assert_eq!(&body[..], expected);
    }

    // Callbacks to other hosts are refused, and bad input is a 400, never a panic.
    for bad in [
        r#"[{"url": "http://192.0.2.1/x", "arguments": []}]"#,
        "not json",
        r#"[{"arguments": []}]"#,
    ] {
        let request = http::Request::post(format!("http://{service_addr}/test"))
            .body(Full::new(Bytes::from(bad)))
            .unwrap();
        let (status, _, _) = send(&transport(), request).await;
        assert_eq!(status, 400, "{bad}");
    }
}
