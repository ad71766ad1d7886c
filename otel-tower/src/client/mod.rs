//! The HTTP (and gRPC) client layer: [`HttpClientLayer`].
//!
//! One CLIENT span per attempt, named `{method}` (or `{method} {url.template}` with a
//! [`UrlTemplate`] extension), with `url.full` (credentials and sensitive query values
//! redacted), `server.address`/`server.port`, the status and `error.type`; the trace
//! context is injected into the request with the global propagator. Retries are
//! counted in `http.request.resend_count` when a [`ResendCounter`] travels with the
//! request ([`ResendTrackingLayer`]).

mod body;
mod call;
mod future;
mod layer;
mod resend;
mod service;
mod template;

pub use body::ResponseBody;
pub use call::ERROR_TYPE_CANCELLED;
pub use future::ResponseFuture;
pub use layer::HttpClientLayer;
pub use resend::{ResendCounter, ResendTracking, ResendTrackingLayer};
pub use service::HttpClient;
pub use template::UrlTemplate;
