use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use opentelemetry::Context;
use tower::Service;

use super::call::ClientCall;
use super::layer::ClientConfig;
use super::HttpClientLayer;
use super::{ResponseBody, ResponseFuture};
use crate::call::Call;
use otel_core::propagation::inject_context;

/// The service produced by [`HttpClientLayer`]: records each request it sends through
/// the inner (transport) service and injects the trace context into it.
///
/// ```
/// use std::convert::Infallible;
/// use otel_tower::HttpClientLayer;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # futures_util::FutureExt::now_or_never(async {
/// let transport = service_fn(|req: http::Request<String>| async move {
///     Ok::<_, Infallible>(http::Response::new(String::new()))
/// });
/// let client = HttpClientLayer::new().layer(transport);
/// let response = client
///     .oneshot(http::Request::get("http://127.0.0.1:1/").body(String::new()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct HttpClient<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

define_service_wrapper!(
    HttpClient,
    HttpClientLayer,
    ClientConfig,
    "otel_tower::HttpClient::new(tower::service_fn(|_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }))"
);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let (mut parts, body) = req.into_parts();
        if !config.shared.is_active() {
            // Telemetry is off, but propagation is not: downstream services may still
            // record the trace.
            inject_context(&Context::current(), &mut parts.headers);
            return ResponseFuture::untracked(self.inner.call(Request::from_parts(parts, body)));
        }
        if !config.shared.records(&parts) {
            return ResponseFuture::untracked(self.inner.call(Request::from_parts(parts, body)));
        }
        let call = ClientCall::start(config.clone(), &parts, body.size_hint().exact());
        match call.context() {
            Some(cx) => inject_context(cx, &mut parts.headers),
            None => inject_context(&Context::current(), &mut parts.headers),
        }
        ResponseFuture::start(&mut self.inner, Request::from_parts(parts, body), call)
    }
}
