//! `HttpServerLayer` on a plain hyper 1 + hyper-util server (no axum), called by a
//! hyper-util client with `HttpClientLayer`.
//!
//! ```text
//! cargo run -p otel-tower --example hyper_server
//! ```
//! It serves on an ephemeral 127.0.0.1 port, makes three requests, prints them and
//! exits; the console exporter draws each trace (client span, then the server span
//! under it) on stderr.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use otel_tower::{HttpClientLayer, HttpServerLayer};
use tower::{ServiceBuilder, ServiceExt};

/// The application: `/users/{id}` answers, everything else is a 404.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path().strip_prefix("/users/") {
        Some(id) if !id.is_empty() => (StatusCode::OK, format!("user {id}")),
        _ => (StatusCode::NOT_FOUND, "not found".to_owned()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

/// Without a router, the layer is told the route template (never the raw path).
fn route(req: &http::request::Parts) -> Option<Cow<'static, str>> {
    req.uri
        .path()
        .starts_with("/users/")
        .then_some(Cow::Borrowed("/users/{id}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Named unless OTEL_SERVICE_NAME says otherwise.
    let _telemetry = otel_core::Telemetry::builder()
        .default_service_name("hyper-server")
        .init()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    let server = tokio::spawn(async move {
        // Until `main` ends and drops the runtime.
        while let Ok((stream, peer)) = listener.accept().await {
            let service = ServiceBuilder::new()
                // The peer address, for `client.address` and `network.peer.*`.
                .map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert::<SocketAddr>(peer);
                    req
                })
                .layer(HttpServerLayer::new().route(route))
                .service_fn(handle);
            tokio::spawn(async move {
                let io = TokioIo::new(stream);
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(io, TowerToHyperService::new(service))
                    .await;
            });
        }
    });

    let client = ServiceBuilder::new()
        .layer(HttpClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
    for path in ["/users/1", "/users/2", "/nowhere"] {
        let request = Request::get(format!("http://{addr}{path}")).body(Full::default())?;
        let response = client.clone().oneshot(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("GET {path} -> {status} {:?}", String::from_utf8_lossy(&body));
    }
    server.abort();
    Ok(())
}
