use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use opentelemetry::Context;
use tower::Service;

use super::call::ClientCall;
use super::future::ResponseFuture;
use super::layer::ClientConfig;
use super::HttpClientLayer;
use crate::propagation::inject_context;

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

impl<S> HttpClient<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<ClientConfig>) -> Self {
        Self { inner, config }
    }

    /// Wraps `inner` with a default [`HttpClientLayer`].
    ///
    /// ```
    /// let client = otel_tower::HttpClient::new(tower::service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// # let _ = client;
    /// ```
    pub fn new(inner: S) -> Self {
        tower::Layer::layer(&HttpClientLayer::new(), inner)
    }

    /// The wrapped service.
    ///
    /// ```
    /// # let client = otel_tower::HttpClient::new(tower::service_fn(|_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }));
    /// let _inner = client.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// # let mut client = otel_tower::HttpClient::new(tower::service_fn(|_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }));
    /// let _inner = client.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # let client = otel_tower::HttpClient::new(tower::service_fn(|_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }));
    /// let _inner = client.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for HttpClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<super::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let (mut parts, body) = req.into_parts();
        if !otel_core::is_enabled() || (config.tracer.is_none() && config.instruments.is_none()) {
            // Telemetry is off, but propagation is not: downstream services may still
            // record the trace.
            inject_context(&Context::current(), &mut parts.headers);
            return ResponseFuture::new(self.inner.call(Request::from_parts(parts, body)), None);
        }
        if config.filter.as_ref().is_some_and(|f| !f(&parts)) {
            return ResponseFuture::new(self.inner.call(Request::from_parts(parts, body)), None);
        }
        let call = ClientCall::start(config.clone(), &parts, body.size_hint().exact());
        match call.context() {
            Some(cx) => inject_context(cx, &mut parts.headers),
            None => inject_context(&Context::current(), &mut parts.headers),
        }
        let req = Request::from_parts(parts, body);
        let future = match call.context() {
            Some(cx) => {
                let _guard = cx.clone().attach();
                self.inner.call(req)
            }
            None => self.inner.call(req),
        };
        ResponseFuture::new(future, Some(call))
    }
}
