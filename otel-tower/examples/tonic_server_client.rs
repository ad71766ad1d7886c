//! A tonic server with `HttpServerLayer` and a tonic channel with `HttpClientLayer`:
//! both detect gRPC and follow the RPC conventions, reading the status from the
//! trailers. No `.proto` build step: the message is a hand-written prost type.
//!
//! ```text
//! cargo run -p otel-tower --example tonic_server_client
//! ```
//! It serves on an ephemeral 127.0.0.1 port, makes an OK, a NOT_FOUND and an INTERNAL
//! call, prints them and exits; the console exporter draws each trace on stderr.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::uri::PathAndQuery;
use otel_tower::{HttpClientLayer, HttpServerLayer};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
struct Greeting {
    #[prost(string, tag = "1")]
    name: String,
}

/// `demo.Greeter/Hello`: greets anyone but "nobody" (NOT_FOUND) and "crash" (INTERNAL).
struct Hello;

impl tonic::server::UnaryService<Greeting> for Hello {
    type Response = Greeting;
    type Future = std::future::Ready<Result<Response<Greeting>, Status>>;

    fn call(&mut self, request: Request<Greeting>) -> Self::Future {
        std::future::ready(match request.into_inner().name.as_str() {
            "nobody" => Err(Status::not_found("nobody is not here")),
            "crash" => Err(Status::internal("the greeter crashed")),
            name => Ok(Response::new(Greeting {
                name: format!("hello {name}"),
            })),
        })
    }
}

/// What `tonic-build` would generate for the service, by hand.
#[derive(Clone)]
struct Greeter;

impl NamedService for Greeter {
    const NAME: &'static str = "demo.Greeter";
}

impl tower::Service<http::Request<tonic::body::Body>> for Greeter {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let codec = ProstCodec::<Greeting, Greeting>::default();
            Ok(match req.uri().path() {
                "/demo.Greeter/Hello" => tonic::server::Grpc::new(codec).unary(Hello, req).await,
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Named unless OTEL_SERVICE_NAME says otherwise.
    let _telemetry = otel_core::Telemetry::builder()
        .default_service_name("tonic-server-client")
        .init()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin: http::Uri = format!("http://{}", listener.local_addr()?).parse()?;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(HttpServerLayer::new())
            .add_service(Greeter)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let channel = tonic::transport::Endpoint::from(origin.clone()).connect().await?;
    let traced = tower::Layer::layer(&HttpClientLayer::new(), channel);
    let mut grpc = tonic::client::Grpc::with_origin(traced, origin);
    for name in ["world", "nobody", "crash"] {
        grpc.ready().await?;
        let request = Request::new(Greeting { name: name.into() });
        let path = PathAndQuery::from_static("/demo.Greeter/Hello");
        let codec = ProstCodec::<Greeting, Greeting>::default();
        match grpc.unary(request, path, codec).await {
            Ok(response) => println!("Hello({name:?}) -> OK {:?}", response.into_inner().name),
            Err(status) => println!("Hello({name:?}) -> {:?} {:?}", status.code(), status.message()),
        }
    }
    server.abort();
    Ok(())
}
