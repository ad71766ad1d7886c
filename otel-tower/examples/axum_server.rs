//! axum with `HttpServerLayer`: `http.route` comes from axum's `MatchedPath`, and a
//! handler calls the same server back through a client with `HttpClientLayer`, so one
//! trace crosses two HTTP hops.
//!
//! ```text
//! cargo run -p otel-tower --features axum --example axum_server
//! ```
//! It serves on an ephemeral 127.0.0.1 port, makes three requests, prints them and
//! exits; the console exporter draws each trace on stderr:
//! `GET` (client) → `GET /users/{id}` (server) → `GET` (client) → `GET /profiles/{id}`.

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use otel_tower::{HttpClientLayer, HttpClientService, HttpServerLayer};
use tower::ServiceExt;

type TracedClient = HttpClientService<Client<HttpConnector, Full<Bytes>>>;

#[derive(Clone)]
struct App {
    client: TracedClient,
    addr: SocketAddr,
}

/// GET `url` through the traced client; the body as text.
async fn fetch(
    client: &TracedClient,
    url: String,
) -> Result<(StatusCode, String), Box<dyn std::error::Error>> {
    let response = client
        .clone()
        .oneshot(http::Request::get(url).body(Full::default())?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn user(State(app): State<App>, Path(id): Path<u64>) -> Result<String, StatusCode> {
    // The client span is a child of this handler's server span, and the context goes
    // out in `traceparent`.
    match fetch(&app.client, format!("http://{}/profiles/{id}", app.addr)).await {
        Ok((StatusCode::OK, profile)) => Ok(format!("user {id} ({profile})")),
        Ok((status, _)) => Err(status),
        Err(_) => Err(StatusCode::BAD_GATEWAY),
    }
}

async fn profile(Path(id): Path<u64>) -> Result<String, StatusCode> {
    match id {
        1..=99 => Ok(format!("profile #{id}")),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Named unless OTEL_SERVICE_NAME says otherwise.
    let _telemetry = otel_core::Telemetry::builder()
        .default_service_name("axum-server")
        .init()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client: TracedClient = tower::Layer::layer(
        &HttpClientLayer::new(),
        Client::builder(TokioExecutor::new()).build_http(),
    );
    let app = Router::new()
        .route("/users/{id}", get(user))
        .route("/profiles/{id}", get(profile))
        // `Router::layer` wraps each route, where `MatchedPath` is known.
        .layer(HttpServerLayer::new())
        .with_state(App {
            client: client.clone(),
            addr,
        });
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });

    for id in [7, 8, 404] {
        let (status, body) = fetch(&client, format!("http://{addr}/users/{id}")).await?;
        println!("GET /users/{id} -> {status} {body:?}");
    }
    server.abort();
    Ok(())
}
