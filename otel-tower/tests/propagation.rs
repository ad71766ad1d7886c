//! W3C Trace Context over real HTTP: strict extraction on the server, injection on the
//! client, and the `random` flag and `tracestate` carried across a hop.

mod common;

use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::Router;
use common::*;
use otel_core::opentelemetry::trace::{SpanId, SpanKind};
use otel_core::testing::{self, Capture};
use otel_tower::HttpServerLayer;

const PARENT: &str = "00f067aa0ba902b7";

async fn headers_handler(headers: HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
            .join("|")
    };
    format!("{}\n{}", get("traceparent"), get("tracestate"))
}

/// Calls `/headers` on the same server through the client layer.
async fn relay(uri: Uri) -> String {
    let port = uri.query().and_then(|q| q.strip_prefix("port=")).unwrap_or("0");
    let (_, _, body) = send(
        &traced_client(),
        get_req(format!("http://127.0.0.1:{port}/headers")),
    )
    .await;
    String::from_utf8_lossy(&body).into_owned()
}

/// Calls `/headers` on the same server through a reqwest client with the middleware.
#[cfg(feature = "reqwest")]
async fn relay_reqwest(uri: Uri) -> String {
    let port = uri.query().and_then(|q| q.strip_prefix("port=")).unwrap_or("0");
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(otel_tower::reqwest::HttpClientMiddleware::new())
        .build();
    let response = client
        .get(format!("http://127.0.0.1:{port}/headers"))
        .send()
        .await
        .expect("relayed request");
    response.text().await.expect("relayed body")
}

async fn server() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/headers", get(headers_handler))
        .route("/relay", get(relay));
    #[cfg(feature = "reqwest")]
    let app = app.route("/relay-reqwest", get(relay_reqwest));
    let app = app
        .route("/plain", get(|| async { "plain" }))
        .route(
            "/baggage",
            get(|| async {
                use otel_core::opentelemetry::baggage::BaggageExt;
                use otel_core::opentelemetry::trace::TraceContextExt;
                let cx = otel_core::opentelemetry::Context::current();
                format!(
                    "{}|{:02x}|{}",
                    cx.baggage()
                        .get("user")
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    cx.span().span_context().trace_flags().to_u8(),
                    cx.baggage().len()
                )
            }),
        )
        .layer(HttpServerLayer::new());
    serve(app).await
}

fn request(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&'static str, String)],
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut req = get_req(format!("http://{addr}{path}"));
    for (name, value) in headers {
        req.headers_mut()
            .append(*name, value.parse().expect("header value"));
    }
    req
}

fn traceparent(cap: &Capture, flags: &str) -> String {
    format!("00-{}-{PARENT}-{flags}", cap.trace_id())
}

#[tokio::test]
async fn random_flag_and_tracestate_survive_the_hop() {
    let cap = testing::capture();
    let addr = server().await;
    let req = request(
        addr,
        &format!("/relay?port={}", addr.port()),
        &[
            ("traceparent", traceparent(&cap, "03")),
            ("tracestate", "congo=t61rcWkgMzE".into()),
            ("tracestate", "rojo=00f067aa0ba902b7".into()),
        ],
    );
    let (_, _, body) = send(&transport(), req).await;
    let body = String::from_utf8_lossy(&body).into_owned();

    let spans = wait_spans(&cap, 3).await;
    let relay = one(&spans, "GET /relay", SpanKind::Server);
    assert_eq!(relay.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert_eq!(relay.span_context.trace_flags().to_u8(), 0x03);
    assert_eq!(
        relay.span_context.trace_state().header(),
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );
    let client_span = one(&spans, "GET", SpanKind::Client);
    assert_eq!(client_span.parent_span_id, relay.span_context.span_id());

    // What the downstream service received from the client layer.
    let (tp, ts) = body.split_once('\n').expect("two lines");
    assert_eq!(
        tp,
        format!("00-{}-{}-03", cap.trace_id(), client_span.span_context.span_id())
    );
    assert_eq!(ts, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

/// Each incoming case through `HttpServerLayer` → handler → `HttpClientLayer` → the
/// downstream service: what it received.
#[tokio::test]
async fn outgoing_headers_for_each_incoming_case() {
    outgoing_headers_through("/relay").await;
}

/// The same cases with the handler relaying through reqwest and `HttpClientMiddleware`.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn outgoing_headers_for_each_incoming_case_through_reqwest() {
    outgoing_headers_through("/relay-reqwest").await;
}

/// Sends every incoming case to `relay` and checks the headers the downstream service
/// received from the client the relay used.
async fn outgoing_headers_through(relay: &str) {
    let cap = testing::capture();
    let addr = server().await;
    let key14 = format!("t@{}", "v".repeat(14));
    let m33 = (0..33).map(|i| format!("k{i}=1")).collect::<Vec<_>>().join(",");
    // (flags, tracestate fields, expected flags downstream, expected tracestate downstream)
    let cases: Vec<(&str, Vec<String>, &str, String)> = vec![
        ("00", vec![], "00", String::new()),
        ("01", vec![], "01", String::new()),
        ("02", vec![], "02", String::new()),
        ("03", vec![], "03", String::new()),
        ("ff", vec![], "03", String::new()),
        ("01", vec!["foo@=1".into()], "01", "foo@=1".into()),
        (
            "03",
            vec![format!("{key14}=1,b=2")],
            "03",
            format!("{key14}=1,b=2"),
        ),
        ("01", vec!["foo=1,foo=1".into()], "01", "foo=1".into()),
        ("01", vec!["foo=1".into(), "foo=2".into()], "01", "foo=1".into()),
        ("01", vec!["a=1".into(), "b=2".into()], "01", "a=1,b=2".into()),
        ("01", vec![m33], "01", String::new()),
        ("01", vec!["a=1,Bad=2".into()], "01", String::new()),
        ("01", vec!["a=1,b".into()], "01", String::new()),
    ];
    let client = transport();
    for (flags, tracestate, want_flags, want_state) in &cases {
        let mut headers = vec![("traceparent", traceparent(&cap, flags))];
        headers.extend(tracestate.iter().map(|ts| ("tracestate", ts.clone())));
        let req = request(addr, &format!("{relay}?port={}", addr.port()), &headers);
        let (_, _, body) = send(&client, req).await;
        let body = String::from_utf8_lossy(&body).into_owned();
        let (tp, ts) = body.split_once('\n').expect("two lines");
        let case = format!("{relay}: flags {flags}, tracestate {tracestate:?}");
        assert!(
            tp.starts_with(&format!("00-{}-", cap.trace_id())),
            "{case}: same trace, got {tp}"
        );
        assert!(
            !tp.contains(PARENT),
            "{case}: our client span is the parent downstream"
        );
        assert!(tp.ends_with(&format!("-{want_flags}")), "{case}: got {tp}");
        assert_eq!(ts, want_state, "{case}");
    }
}

#[tokio::test]
async fn duplicated_traceparent_starts_a_new_trace() {
    let cap = testing::capture();
    let addr = server().await;
    let tp = traceparent(&cap, "01");
    let req = request(
        addr,
        "/plain",
        &[("traceparent", tp.clone()), ("traceparent", tp)],
    );
    send(&transport(), req).await;
    let spans = wait_spans(&cap, 1).await;
    let server = one(&spans, "GET /plain", SpanKind::Server);
    // Not the header's parent: the capture's synthetic root is what was current.
    assert_ne!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert_eq!(server.parent_span_id, cap.root_span_id());
}

#[tokio::test]
async fn invalid_traceparents_are_ignored() {
    let cap = testing::capture();
    let addr = server().await;
    let tid = cap.trace_id().to_string();
    let invalid = [
        format!("00-{}-{PARENT}-01", tid.to_uppercase()),
        format!("00-{tid}-{}-01", PARENT.to_uppercase()),
        format!("00-+{}-{PARENT}-01", &tid[1..]),
        format!("00-{tid}-{PARENT}-01-extra"),
        format!("ff-{tid}-{PARENT}-01"),
        format!("00-{tid}-0000000000000000-01"),
        format!("00-{tid}-{PARENT}-1"),
        String::new(),
    ];
    let client = transport();
    for tp in &invalid {
        let req = request(addr, "/plain", &[("traceparent", tp.clone())]);
        send(&client, req).await;
    }
    let spans = wait_spans(&cap, invalid.len()).await;
    assert_eq!(spans.len(), invalid.len());
    for span in &spans {
        assert_eq!(span.parent_span_id, cap.root_span_id(), "{span:?}");
    }
}

#[tokio::test]
async fn tracestate_limits_drop_only_the_tracestate() {
    let cap = testing::capture();
    let addr = server().await;
    let members = |n: usize| (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
    let client = transport();
    for (n, (tracestate, expected)) in [
        (members(32), members(32)),
        (members(33), String::new()),
        // Duplicated keys are inherited, the first entry kept (Trace Context Level 2).
        ("a=1,a=2".to_owned(), "a=1".to_owned()),
        ("a=1,,b=2".to_owned(), "a=1,b=2".to_owned()),
        (String::new(), String::new()),
    ]
    .into_iter()
    .enumerate()
    {
        let req = request(
            addr,
            "/plain",
            &[
                ("traceparent", traceparent(&cap, "01")),
                ("tracestate", tracestate.clone()),
            ],
        );
        send(&client, req).await;
        // One request at a time, so the last span to end is this request's.
        let spans = wait_spans(&cap, n + 1).await;
        let server = spans.last().expect("a span").clone();
        assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());
        assert_eq!(
            server.span_context.trace_state().header(),
            expected,
            "tracestate {tracestate:?}"
        );
    }
    assert_eq!(cap.spans().len(), 5);
}

#[tokio::test]
async fn baggage_goes_through_the_global_propagator_with_strict_w3c() {
    let cap = testing::capture();
    let addr = server().await;
    let req = request(
        addr,
        "/baggage",
        &[
            ("traceparent", traceparent(&cap, "03")),
            ("baggage", "user=alice".into()),
            ("baggage", "tier=gold,bad key=1".into()),
        ],
    );
    let (_, _, body) = send(&transport(), req).await;
    // Baggage extracted by the global propagator from both fields (the invalid member
    // dropped alone), random flag kept.
    assert_eq!(&body[..], b"alice|03|2");
    let spans = wait_spans(&cap, 1).await;
    let server = one(&spans, "GET /baggage", SpanKind::Server);
    assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());

    // An invalid traceparent next to baggage: baggage kept, parent refused.
    let tid = cap.trace_id().to_string().to_uppercase();
    let req = request(
        addr,
        "/baggage",
        &[
            ("traceparent", format!("00-{tid}-{PARENT}-01")),
            ("baggage", "user=bob".into()),
        ],
    );
    let (_, _, body) = send(&transport(), req).await;
    assert_eq!(&body[..], b"bob|01|1");
    let spans = wait_spans(&cap, 2).await;
    assert_eq!(spans[1].parent_span_id, cap.root_span_id());
}
