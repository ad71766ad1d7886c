use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tower::Service;

use super::call::ServerCall;
use super::layer::ServerConfig;
use super::HttpServerLayer;
use super::{ResponseBody, ResponseFuture};

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

define_service_wrapper!(
    HttpServer,
    HttpServerLayer,
    ServerConfig,
    "otel_tower::HttpServer::new(tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) }))"
);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpServer<S>
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
