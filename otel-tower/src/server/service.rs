use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tower::Service;

use super::call::ServerCall;
use super::future::ResponseFuture;
use super::layer::ServerConfig;
use super::HttpServerLayer;

/// The service produced by [`HttpServerLayer`]: records each request it passes to the
/// inner service.
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
pub struct HttpServer<S> {
    inner: S,
    config: Arc<ServerConfig>,
}

impl<S> HttpServer<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<ServerConfig>) -> Self {
        Self { inner, config }
    }

    /// Wraps `inner` with a default [`HttpServerLayer`].
    ///
    /// ```
    /// use otel_tower::HttpServer;
    /// use tower::service_fn;
    ///
    /// let svc = HttpServer::new(service_fn(|req: http::Request<()>| async move {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// # let _ = svc;
    /// ```
    pub fn new(inner: S) -> Self {
        tower::Layer::layer(&HttpServerLayer::new(), inner)
    }

    /// The wrapped service.
    ///
    /// ```
    /// # let svc = otel_tower::HttpServer::new(tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) }));
    /// let _inner = svc.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// # let mut svc = otel_tower::HttpServer::new(tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) }));
    /// let _inner = svc.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # let svc = otel_tower::HttpServer::new(tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) }));
    /// let _inner = svc.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for HttpServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpServer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ResBody: http_body::Body,
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
        let enabled = (config.tracer.is_some() || config.instruments.is_some()) && otel_core::is_enabled();
        if !enabled {
            return ResponseFuture::new(self.inner.call(req), None);
        }
        let (parts, body) = req.into_parts();
        if config.filter.as_ref().is_some_and(|f| !f(&parts)) {
            return ResponseFuture::new(self.inner.call(Request::from_parts(parts, body)), None);
        }
        let call = ServerCall::start(config.clone(), &parts);
        let req = Request::from_parts(parts, body);
        // Work the inner service does synchronously in `call` belongs to the span too.
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
