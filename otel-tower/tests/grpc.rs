//! tonic server and channel with the layers: gRPC status from headers and trailers,
//! RPC conventions on both sides. One test, so the RPC metrics are this test's alone.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use common::*;
use http::uri::PathAndQuery;
use otel_core::opentelemetry::trace::{SpanKind, Status as SpanStatus};
use otel_core::opentelemetry::Value;
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, metric_points, PointValue};
use otel_tower::grpc::is_grpc_health_check;
use otel_tower::{HttpClientLayer, HttpServerLayer};
use tonic::server::NamedService;
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
struct Msg {
    #[prost(string, tag = "1")]
    name: String,
}

fn outcome(name: &str) -> Result<Msg, Status> {
    match name {
        "missing" => Err(Status::not_found("no such thing")),
        "boom" => Err(Status::internal("it broke")),
        other => Ok(Msg {
            name: format!("hello {other}"),
        }),
    }
}

struct Unary;

impl tonic::server::UnaryService<Msg> for Unary {
    type Response = Msg;
    type Future = std::future::Ready<Result<Response<Msg>, Status>>;

    fn call(&mut self, request: Request<Msg>) -> Self::Future {
        std::future::ready(outcome(&request.into_inner().name).map(Response::new))
    }
}

struct Stream;

type MsgStream = futures_util::stream::Iter<std::vec::IntoIter<Result<Msg, Status>>>;

impl tonic::server::ServerStreamingService<Msg> for Stream {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = std::future::Ready<Result<Response<MsgStream>, Status>>;

    fn call(&mut self, request: Request<Msg>) -> Self::Future {
        // One message first, so the final status can only travel in the trailers.
        let name = request.into_inner().name;
        let items = vec![Ok(Msg { name: "first".into() }), outcome(&name)];
        std::future::ready(Ok(Response::new(futures_util::stream::iter(items))))
    }
}

#[derive(Clone)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

impl tower::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let codec = ProstCodec::<Msg, Msg>::default();
            Ok(match req.uri().path() {
                "/test.Echo/Unary" => tonic::server::Grpc::new(codec).unary(Unary, req).await,
                "/test.Echo/Stream" => {
                    tonic::server::Grpc::new(codec)
                        .server_streaming(Stream, req)
                        .await
                }
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

fn server_span<'a>(spans: &'a [SpanData], client: &SpanData) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server && s.parent_span_id == client.span_context.span_id())
        .unwrap_or_else(|| panic!("no server span under {}", client.name))
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, SpanStatus::Error { .. })
}

#[tokio::test]
async fn tonic_calls_follow_the_rpc_conventions() {
    let cap = testing::capture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(HttpServerLayer::new().filter(|req| !is_grpc_health_check(req)))
            .add_service(Echo)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let origin: http::Uri = format!("http://{addr}").parse().unwrap();
    let channel = tonic::transport::Endpoint::from(origin.clone())
        .connect()
        .await
        .expect("connect");
    let traced = tower::Layer::layer(&HttpClientLayer::new(), channel);
    let mut grpc = tonic::client::Grpc::with_origin(traced, origin);

    // (method, argument, expected code)
    let calls = [
        ("/test.Echo/Unary", "ok", Code::Ok),
        ("/test.Echo/Unary", "missing", Code::NotFound),
        ("/test.Echo/Unary", "boom", Code::Internal),
        ("/test.Echo/Stream", "ok", Code::Ok),
        ("/test.Echo/Stream", "missing", Code::NotFound),
        ("/test.Echo/Stream", "boom", Code::Internal),
        ("/test.Echo/Nope", "ok", Code::Unimplemented),
        ("/grpc.health.v1.Health/Check", "", Code::Unimplemented),
    ];
    for (path, name, expected) in calls {
        grpc.ready().await.expect("ready");
        let codec = ProstCodec::<Msg, Msg>::default();
        let request = Request::new(Msg { name: name.into() });
        let path = PathAndQuery::from_static(path);
        let code = if path.path().ends_with("Stream") {
            match grpc.server_streaming(request, path, codec).await {
                Err(status) => status.code(),
                Ok(response) => {
                    let mut stream = response.into_inner();
                    let mut code = Code::Ok;
                    // At most two messages then the status: bounded.
                    for _ in 0..3 {
                        match stream.message().await {
                            Ok(Some(_)) => continue,
                            Ok(None) => break,
                            Err(status) => {
                                code = status.code();
                                break;
                            }
                        }
                    }
                    code
                }
            }
        } else {
            match grpc.unary(request, path, codec).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        };
        assert_eq!(code, expected, "{name}");
    }

    // 8 client spans, 7 server spans (the health check is filtered on the server).
    let spans = wait_spans(&cap, 15).await;
    let clients: Vec<&SpanData> = {
        let mut c: Vec<&SpanData> = spans.iter().filter(|s| s.span_kind == SpanKind::Client).collect();
        c.sort_by_key(|s| s.start_time);
        c
    };
    assert_eq!(clients.len(), 8, "{}", cap.tree());
    let expected = [
        ("test.Echo/Unary", "OK", false, false),
        ("test.Echo/Unary", "NOT_FOUND", true, false),
        ("test.Echo/Unary", "INTERNAL", true, true),
        ("test.Echo/Stream", "OK", false, false),
        ("test.Echo/Stream", "NOT_FOUND", true, false),
        ("test.Echo/Stream", "INTERNAL", true, true),
    ];
    for (client, (method, code, client_error, server_error)) in clients.iter().zip(expected) {
        let server = server_span(&spans, client);
        for span in [*client, server] {
            assert_eq!(span.name, method);
            assert_eq!(s(span, "rpc.system.name").as_deref(), Some("grpc"));
            assert_eq!(s(span, "rpc.method").as_deref(), Some(method));
            assert_eq!(
                s(span, "rpc.response.status_code").as_deref(),
                Some(code),
                "{method} {code}"
            );
            assert_eq!(
                span.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "http.response.status_code"),
                None
            );
        }
        assert_eq!(is_error(client), client_error, "client {method} {code}");
        assert_eq!(is_error(server), server_error, "server {method} {code}");
        assert_eq!(s(client, "error.type").as_deref(), client_error.then_some(code));
        assert_eq!(s(server, "error.type").as_deref(), server_error.then_some(code));
        assert_eq!(s(client, "server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(i(client, "server.port"), Some(i64::from(addr.port())));
        if server_error {
            assert_eq!(
                server.status,
                SpanStatus::Error {
                    description: "it broke".into()
                }
            );
        }
    }

    // An unknown method: the server does not implement it, so `_OTHER`.
    let nope = clients[6];
    assert_eq!(nope.name, "test.Echo/Nope");
    let nope_server = server_span(&spans, nope);
    assert_eq!(nope_server.name, "grpc");
    assert_eq!(s(nope_server, "rpc.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        s(nope_server, "rpc.method_original").as_deref(),
        Some("test.Echo/Nope")
    );
    assert_eq!(s(nope_server, "error.type").as_deref(), Some("UNIMPLEMENTED"));

    // The health check: a client span, but filtered out on the server.
    let health = clients[7];
    assert_eq!(health.name, "grpc.health.v1.Health/Check");
    assert!(spans
        .iter()
        .all(|s| s.parent_span_id != health.span_context.span_id()));

    // RPC durations, in seconds, one point per (method, code).
    let server_points = metric_points("rpc.server.call.duration");
    let point = |method: &str, code: &str| {
        server_points
            .iter()
            .find(|p| {
                p.attr("rpc.method") == Some(&Value::from(method.to_owned()))
                    && p.attr("rpc.response.status_code") == Some(&Value::from(code.to_owned()))
            })
            .unwrap_or_else(|| panic!("no point for {method} {code}: {server_points:#?}"))
    };
    let ok = point("test.Echo/Unary", "OK");
    assert_eq!(ok.unit, "s");
    assert!(matches!(ok.value, PointValue::Histogram { count: 1, .. }));
    assert_eq!(ok.attr("rpc.system.name"), Some(&Value::from("grpc")));
    assert_eq!(ok.attr("error.type"), None);
    let internal = point("test.Echo/Stream", "INTERNAL");
    assert_eq!(internal.attr("error.type"), Some(&Value::from("INTERNAL")));
    assert_eq!(point("test.Echo/Unary", "NOT_FOUND").attr("error.type"), None);
    let client_points = metric_points("rpc.client.call.duration");
    let not_found = client_points
        .iter()
        .find(|p| {
            p.attr("rpc.method") == Some(&Value::from("test.Echo/Stream"))
                && p.attr("rpc.response.status_code") == Some(&Value::from("NOT_FOUND"))
        })
        .expect("client NOT_FOUND point");
    assert_eq!(not_found.attr("error.type"), Some(&Value::from("NOT_FOUND")));
    // No HTTP metrics for gRPC calls.
    assert!(metric_points("http.server.request.duration").is_empty());
    assert!(metric_points("http.client.request.duration").is_empty());
}
