//! The W3C Trace Context test-suite service, built on `HttpServerLayer` and
//! `HttpClientLayer`.
//!
//! The suite (<https://github.com/w3c/trace-context/tree/main/test>) POSTs a JSON list
//! `[{"url": ..., "arguments": [...]}, ...]`; for each entry the service POSTs
//! `arguments` as JSON to `url` (a CLIENT span per callback, trace context injected),
//! then answers 200.
//!
//! ```text
//! cargo run -p otel-tower --example w3c_test_service -- --addr 127.0.0.1:7777
//! python -m unittest test.py   # with SERVICE_ENDPOINT=http://127.0.0.1:7777/test
//! ```
//! The suite itself is fetched separately; only 127.0.0.1 callbacks are followed.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use otel_core::opentelemetry::global;
use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
use otel_tower::{HttpClientLayer, HttpClientService, HttpServerLayer};
use serde_json::Value;
use tower::ServiceExt;

type Callbacks = HttpClientService<Client<HttpConnector, Full<Bytes>>>;

/// The service's router: `POST` anywhere runs the callbacks in the body.
pub fn app() -> Router {
    let client: Callbacks = tower::Layer::layer(
        &HttpClientLayer::new(),
        Client::builder(TokioExecutor::new()).build_http(),
    );
    let handler = move |body: Bytes| {
        let client = client.clone();
        async move { run(client, body).await }
    };
    Router::new()
        .route("/", post(handler.clone()))
        .route("/{*path}", post(handler))
        .layer(HttpServerLayer::new())
}

async fn run(client: Callbacks, body: Bytes) -> StatusCode {
    let Ok(Value::Array(cases)) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    for case in cases {
        let (Some(url), Some(arguments)) = (case.get("url").and_then(Value::as_str), case.get("arguments"))
        else {
            return StatusCode::BAD_REQUEST;
        };
        let Ok(uri) = url.parse::<http::Uri>() else {
            return StatusCode::BAD_REQUEST;
        };
        // The suite runs on this machine; never follow a callback elsewhere.
        if !matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]")) {
            return StatusCode::BAD_REQUEST;
        }
        let Ok(payload) = serde_json::to_vec(arguments) else {
            return StatusCode::BAD_REQUEST;
        };
        let Ok(request) = http::Request::post(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload)))
        else {
            return StatusCode::BAD_REQUEST;
        };
        // A failed callback is the suite's concern; keep going like the reference
        // services do.
        if let Ok(response) = client.clone().oneshot(request).await {
            let _ = response.into_body().collect().await;
        }
    }
    StatusCode::OK
}

/// Installs a sampling SDK provider without exporter (the suite only looks at the
/// propagated headers) and otel-core's W3C propagator, as `init()` would.
pub fn install_telemetry() -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder().build();
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(otel_core::propagation::Propagator::default());
    provider
}

fn parse_addr() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next(),
            other => match other.strip_prefix("--addr=") {
                Some(value) => addr = Some(value.to_owned()),
                None => {
                    return Err(format!(
                        "unknown argument {other:?}; usage: --addr 127.0.0.1:PORT"
                    ))
                }
            },
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:7777".to_owned());
    addr.parse()
        .map_err(|e| format!("--addr {addr:?} is not an address ({e}); usage: --addr 127.0.0.1:PORT"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = parse_addr()?;
    let _provider = install_telemetry();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("w3c test service listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await?;
    Ok(())
}
