use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::{Layer, Service};

use super::call::{ClientCall, Trailers};
use super::layer::ClientConfig;
use super::HttpClientLayer;
use super::{ResponseBody, ResponseFuture};

/// The middleware [`HttpClientLayer`] wraps around a transport: it records each
/// request it sends and injects the trace context into it (the layer's `Service`, as
/// tower-http's `TraceLayer` makes a `Trace`).
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
pub struct HttpClientService<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

impl<S> HttpClientService<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<ClientConfig>) -> Self {
        Self { inner, config }
    }

    /// Wraps `inner` with a default [`HttpClientLayer`].
    ///
    /// ```
    /// let client = otel_tower::HttpClientService::new(tower::service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// # let _ = client;
    /// ```
    pub fn new(inner: S) -> Self {
        HttpClientLayer::new().layer(inner)
    }

    /// The wrapped service.
    ///
    /// ```
    /// let client = otel_tower::HttpClientService::new(42);
    /// assert_eq!(*client.get_ref(), 42);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// let mut client = otel_tower::HttpClientService::new(42);
    /// *client.get_mut() += 1;
    /// assert_eq!(*client.get_ref(), 43);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// let client = otel_tower::HttpClientService::new(42);
    /// assert_eq!(client.into_inner(), 42);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for HttpClientService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpClientService<S>
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
        let (mut parts, body) = req.into_parts();
        let call = ClientCall::prepare(&self.config, &mut parts, body.size_hint().exact(), Trailers::Seen);
        let req = Request::from_parts(parts, body);
        match call {
            Some(call) => ResponseFuture::start(&mut self.inner, req, call),
            None => ResponseFuture::untracked(self.inner.call(req)),
        }
    }
}
