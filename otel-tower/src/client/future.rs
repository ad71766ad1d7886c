use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::Response;

use super::body::ResponseBody;
use super::call::ClientCall;
use crate::attrs::error_type_name;

pin_project_lite::pin_project! {
    /// The response future of [`HttpClient`](super::HttpClient).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<ClientCall>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, call: Option<ClientCall>) -> Self {
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
                .and_then(ClientCall::context)
                .map(|cx| cx.clone().attach());
            ready!(this.inner.poll(task))
        };
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(result.map(|res| res.map(ResponseBody::untracked)));
        };
        match result {
            Ok(response) => {
                if call.on_response(&response) {
                    call.finish();
                    Poll::Ready(Ok(response.map(ResponseBody::untracked)))
                } else {
                    Poll::Ready(Ok(response.map(|body| ResponseBody::tracked(body, call))))
                }
            }
            Err(error) => {
                call.on_transport_error(error_type_name::<E>(), error.to_string());
                call.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}
