use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::Response;

use super::body::ResponseBody;
use super::call::ServerCall;
use crate::attrs::error_type_name;

pin_project_lite::pin_project! {
    /// The response future of [`HttpServer`](super::HttpServer): polls the inner
    /// future with the server span as the current context, then hands the request's
    /// telemetry to the [`ResponseBody`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<ServerCall>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, call: Option<ServerCall>) -> Self {
        Self { inner, call }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("recording", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: fmt::Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _guard = this
                .call
                .as_ref()
                .and_then(ServerCall::context)
                .map(|cx| cx.clone().attach());
            ready!(this.inner.poll(task))
        };
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(result.map(|res| res.map(ResponseBody::untracked)));
        };
        match result {
            Ok(mut response) => {
                call.on_response(&mut response);
                if response.body().is_end_stream() {
                    // Nothing more will be polled (an empty body): the request is done.
                    call.finish();
                    Poll::Ready(Ok(response.map(ResponseBody::untracked)))
                } else {
                    Poll::Ready(Ok(response.map(|body| ResponseBody::tracked(body, call))))
                }
            }
            Err(error) => {
                call.on_service_error(error_type_name::<E>(), error.to_string());
                call.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}
