//! Tower layers that give HTTP and gRPC servers and clients OpenTelemetry traces and
//! metrics following the semantic conventions.
//!
//! - [`HttpServerLayer`]: one SERVER span per request and the `http.server.*` metrics,
//!   ending when the response body ends; works with axum, hyper 1 + hyper-util and
//!   tonic servers.
//! - [`HttpClientLayer`]: one CLIENT span per request attempt, context injected into
//!   the outgoing headers, the `http.client.*` metrics; works over
//!   `hyper_util::client::legacy::Client` and tonic channels.
//! - `reqwest::HttpClientMiddleware` (feature `reqwest`): the same client telemetry for
//!   `reqwest` clients, as a `reqwest-middleware` middleware.
//! - gRPC (`content-type: application/grpc`) is detected by both layers, which then
//!   follow the RPC conventions and read the status from the trailers ([`grpc`]).
//! - `lambda::LambdaLayer` (feature `lambda`): one FaaS span per AWS Lambda invocation of
//!   a `lambda_runtime` handler, with the telemetry flushed before each response.
//!
//! Both layers take the global tracer, meter and propagator, so install them first
//! (for example with `otel_core::init()`):
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use otel_tower::HttpServerLayer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let _telemetry = otel_core::init()?;
//! let app = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .layer(HttpServerLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Attribute names come from `opentelemetry-semantic-conventions` 0.33 (semconv
//! 1.42.0): stable HTTP conventions, and the RPC conventions of that version
//! (`rpc.system.name`, fully qualified `rpc.method`, string `rpc.response.status_code`,
//! `rpc.{server,client}.call.duration` in seconds).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attrs;
mod body;
mod call;
pub mod client;
mod config;
mod endpoint;
mod future;
pub mod grpc;
mod headers;
mod instruments;
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub mod lambda;
pub mod method;
mod protocol;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod reqwest;
mod series;
pub mod server;
pub mod url;

#[allow(deprecated)]
pub use client::HttpClient;
pub use client::{HttpClientLayer, HttpClientService, ResendTrackingLayer};
pub use headers::NEVER_CAPTURED;
pub use instruments::{DURATION_BUCKETS, SCOPE_NAME};
#[cfg(feature = "reqwest")]
pub use reqwest::HttpClientMiddleware;
#[allow(deprecated)]
pub use server::HttpServer;
pub use server::{HttpServerLayer, HttpServerService};

/// Re-exported so users need no direct dependency on the exact `opentelemetry` version.
pub use opentelemetry;
