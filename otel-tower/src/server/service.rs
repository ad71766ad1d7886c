use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use super::call::ServerCall;
use super::layer::ServerConfig;
use super::HttpServerLayer;
use super::{ResponseBody, ResponseFuture};

/// The middleware [`HttpServerLayer`] wraps around a service: it records each request
/// it passes to the inner service (the layer's `Service`, as tower-http's `TraceLayer`
/// makes a `Trace`).
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use otel_tower::HttpServerLayer;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # futures_util::FutureExt::now_or_never(async {
/// let svc = HttpServerLayer::new().layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::from("hello")))
/// }));
/// let response = svc.oneshot(Request::new(String::new())).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct HttpServerService<S> {
    inner: S,
    config: Arc<ServerConfig>,
}

impl<S> HttpServerService<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<ServerConfig>) -> Self {
        Self { inner, config }
    }

    /// Wraps `inner` with a default [`HttpServerLayer`].
    ///
    /// ```
    /// let svc = otel_tower::HttpServerService::new(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// # let _ = svc;
    /// ```
    pub fn new(inner: S) -> Self {
        HttpServerLayer::new().layer(inner)
    }

    /// The wrapped service.
    ///
    /// ```
    /// let svc = otel_tower::HttpServerService::new(42);
    /// assert_eq!(*svc.get_ref(), 42);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// let mut svc = otel_tower::HttpServerService::new(42);
    /// *svc.get_mut() += 1;
    /// assert_eq!(*svc.get_ref(), 43);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// let svc = otel_tower::HttpServerService::new(42);
    /// assert_eq!(svc.into_inner(), 42);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for HttpServerService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ResBody: http_body::Body,
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
        if !config.shared.is_active() {
            return ResponseFuture::untracked(self.inner.call(req));
        }
        let (parts, body) = req.into_parts();
        if !config.shared.records(&parts) {
            return ResponseFuture::untracked(self.inner.call(Request::from_parts(parts, body)));
        }
        let call = ServerCall::start(config.clone(), &parts);
        ResponseFuture::start(&mut self.inner, Request::from_parts(parts, body), call)
    }
}
