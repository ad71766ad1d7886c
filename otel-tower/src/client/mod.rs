//! The HTTP (and gRPC) client layer: [`HttpClientLayer`].
//!
//! One CLIENT span per attempt, named `{method}` (or `{method} {url.template}` with a
//! [`UrlTemplate`] extension), with `url.full` (credentials and sensitive query values
//! redacted), `server.address`/`server.port`, the status and `error.type`; the trace
//! context is injected into the request with the global propagator. Retries are
//! counted in `http.request.resend_count` when a [`ResendCounter`] travels with the
//! request ([`ResendTrackingLayer`]).
//!
//! The reqwest middleware (`otel_tower::reqwest`, feature `reqwest`) runs the same call
//! for reqwest clients.

pub(crate) mod call;
pub(crate) mod layer;
mod resend;
mod service;
mod template;

pub use crate::call::ERROR_TYPE_CANCELLED;
pub use layer::HttpClientLayer;
pub use resend::{ResendCounter, ResendTracking, ResendTrackingLayer};
pub use service::HttpClientService;
pub use template::UrlTemplate;

/// The former name of [`HttpClientService`], which read like a client (and collided with
/// `opentelemetry_http::HttpClient`) and not like the middleware [`HttpClientLayer`]
/// makes.
#[deprecated(note = "renamed to `HttpClientService`, the `Service` of `HttpClientLayer`")]
pub type HttpClient<S> = HttpClientService<S>;

/// The response body of [`HttpClientService`]. For gRPC calls it waits for the trailers,
/// where the status of a normal response is, and ends the call there; other bodies
/// pass through untouched.
pub type ResponseBody<B> = crate::body::ResponseBody<B, call::ClientCall>;

/// The response future of [`HttpClientService`]: polls the transport with the client span as
/// the current context and records the response head.
pub type ResponseFuture<F> = crate::future::ResponseFuture<F, call::ClientCall>;
