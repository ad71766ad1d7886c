//! The HTTP (and gRPC) server layer: [`HttpServerLayer`].
//!
//! One SERVER span per request, named `{method} {http.route}` (or `{method}`, or `HTTP`
//! for unknown methods), with the stable HTTP attributes, and the
//! `http.server.request.duration` histogram (seconds, advised buckets). The optional,
//! Development-status metrics `http.server.active_requests`
//! ([`HttpServerLayer::active_requests`]) and `http.server.request.body.size` /
//! `http.server.response.body.size` ([`HttpServerLayer::body_size_metrics`]) are one
//! call away. Requests with a gRPC content type get the RPC conventions instead (see
//! [`crate::grpc`]).
//!
//! What is recorded, and when:
//! - the parent comes from the incoming headers through the global propagator, after
//!   strict W3C validation ([`otel_core::propagation`]), or the request starts a new trace
//!   linked to it in public-endpoint mode;
//! - the span status is Error for 5xx responses only (a 4xx is the caller's problem),
//!   with `error.type` set to the status code;
//! - the span and the duration end when the response body ends: last data frame,
//!   trailers, or error. A body dropped before its end (client gone) gets
//!   `error.type = "cancelled"` and Error status;
//! - `http.server.request.body.size` comes from `Content-Length` (the request body is
//!   not wrapped, so routers such as axum keep their body type).

mod call;
mod layer;
mod service;

pub use crate::call::ERROR_TYPE_CANCELLED;
pub use layer::HttpServerLayer;
pub use service::HttpServerService;

/// The former name of [`HttpServerService`], which read like a server and not like the
/// middleware [`HttpServerLayer`] makes.
#[deprecated(note = "renamed to `HttpServerService`, the `Service` of `HttpServerLayer`")]
pub type HttpServer<S> = HttpServerService<S>;

/// The response body of [`HttpServerService`]: counts the bytes sent and ends the request's
/// span and duration at the last frame, at the trailers (where gRPC puts its status),
/// at an error, or, when dropped before its end, with `error.type = "cancelled"`.
pub type ResponseBody<B> = crate::body::ResponseBody<B, call::ServerCall>;

/// The response future of [`HttpServerService`]: polls the inner future with the server span
/// as the current context, then hands the request's telemetry to the [`ResponseBody`].
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, call::ServerCall>;
