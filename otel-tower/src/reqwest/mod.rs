//! OpenTelemetry for [reqwest] clients: [`HttpClientMiddleware`], a
//! [`reqwest_middleware`] middleware (feature `reqwest`).
//!
//! A `reqwest::Client` sends `reqwest::Request`s, not `http::Request`s, so it is no Tower
//! service and [`HttpClientLayer`](crate::HttpClientLayer) cannot wrap it. The
//! middleware records what the layer records, with the layer's code: one CLIENT span per
//! attempt named `{method}` (or `{method} {url.template}`), `http.request.method`,
//! `url.full` with credentials and sensitive query values redacted, `server.address`,
//! `server.port`, `http.response.status_code`, Error status and `error.type` for 4xx, 5xx
//! and transport errors, the trace context injected into the outgoing headers, and the
//! `http.client.request.duration` histogram (plus the body-size histograms when turned
//! on).
//!
//! ```no_run
//! use otel_tower::reqwest::HttpClientMiddleware;
//! use reqwest_middleware::ClientBuilder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(HttpClientMiddleware::new())
//!     .build();
//! let body = client.get("http://127.0.0.1:8080/users/42").send().await?.text().await?;
//! # let _ = body;
//! # Ok(())
//! # }
//! ```
//!
//! **Options** are those of [`HttpClientLayer`](crate::HttpClientLayer): build a layer and
//! turn it into the middleware. Its `filter` and `span_name` functions see the reqwest
//! request as [`http::request::Parts`]: its method, URL, version, headers, and the
//! extensions given to the `reqwest_middleware` request builder.
//!
//! ```
//! use otel_tower::reqwest::HttpClientMiddleware;
//! use otel_tower::HttpClientLayer;
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(HttpClientMiddleware::from(
//!         HttpClientLayer::new()
//!             .body_size_metrics(true)
//!             .response_headers(["content-type"])
//!             .filter(|req| req.uri.host() != Some("169.254.169.254")),
//!     ))
//!     .build();
//! # let _ = client;
//! ```
//!
//! **`url.template`**: give the request a [`UrlTemplate`](crate::client::UrlTemplate)
//! extension, and the span is named `GET /users/{id}`, with `url.template` on the span and
//! the duration metric:
//!
//! ```no_run
//! use otel_tower::client::UrlTemplate;
//!
//! # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
//! let user = client
//!     .get("http://users.internal/users/42")
//!     .with_extension(UrlTemplate::new("/users/{id}"))
//!     .send()
//!     .await?;
//! # let _ = user;
//! # Ok(())
//! # }
//! ```
//!
//! **Retries**: add the middleware *after* `reqwest_retry::RetryTransientMiddleware`, so
//! it runs once per attempt: each attempt is its own span, and resends carry
//! `http.request.resend_count` (1 for the first resend, 2 for the second…), counted in the
//! extensions the retry middleware hands every attempt. Added before it, the middleware
//! would see one request however many times it is sent.
//!
//! ```
//! use otel_tower::reqwest::HttpClientMiddleware;
//! use reqwest_retry::{policies::ExponentialBackoff, RetryTransientMiddleware};
//!
//! let retry = ExponentialBackoff::builder().build_with_max_retries(3);
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(RetryTransientMiddleware::new_with_policy(retry))
//!     .with(HttpClientMiddleware::new())
//!     .build();
//! # let _ = client;
//! ```
//!
//! **When the span ends**: when the response headers arrive, or the request fails, as
//! with `HttpClientLayer` for plain HTTP and as the HTTP conventions recommend: reading the
//! body later (`.text()`, `.bytes()`) does not lengthen the span or the duration. A
//! `reqwest::Response` cannot carry our body wrapper, so there is no body end to wait for
//! anyway (reqwest-tracing ends its spans at the same point). Because reqwest never shows
//! a middleware the trailers, where a gRPC call's status is, requests with a gRPC content
//! type follow the HTTP conventions here, not the RPC ones.
//!
//! **Errors** (connection refused, timeouts…): `error.type` is the error's type,
//! `reqwest::error::Error` (for an error from a middleware further down,
//! `reqwest_middleware::error::Error`), and the span status holds its message, in which the URL that
//! reqwest quotes is redacted like `url.full`. A request dropped before its response (a
//! `tokio::time::timeout` above the client) gets `error.type = "cancelled"` without Error
//! status.
//!
//! [reqwest]: https://docs.rs/reqwest

mod middleware;
mod request;

pub use middleware::HttpClientMiddleware;
