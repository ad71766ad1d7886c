//! The response future both layers return.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::Response;

use crate::attrs::error_type_name;
use crate::body::ResponseBody;
use crate::call::{Call, InFlight};

pin_project_lite::pin_project! {
    /// A response future that polls the inner one with the request's span as the
    /// current context, records the response head, then hands the request's telemetry
    /// `C` to the [`ResponseBody`] unless the call is already complete.
    ///
    /// Named through the aliases [`server::ResponseFuture`](crate::server::ResponseFuture)
    /// and [`client::ResponseFuture`](crate::client::ResponseFuture).
    pub struct ResponseFuture<F, C: Call> {
        #[pin]
        inner: F,
        call: Option<InFlight<C>>,
    }
}

impl<F, C: Call> ResponseFuture<F, C> {
    /// A request that is not recorded.
    pub(crate) fn untracked(inner: F) -> Self {
        Self { inner, call: None }
    }

    /// Calls `service` with the request's span current (work the service does
    /// synchronously in `call` belongs to the span too) and tracks its future.
    pub(crate) fn start<S, R>(service: &mut S, req: R, call: C) -> Self
    where
        S: tower::Service<R, Future = F>,
    {
        // Owned before the inner call, so a panic in it still ends the request.
        let call = InFlight::new(call);
        let inner = match call.context() {
            Some(cx) => {
                let _guard = cx.clone().attach();
                service.call(req)
            }
            None => service.call(req),
        };
        Self {
            inner,
            call: Some(call),
        }
    }
}

impl<F, C: Call> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("recording", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, C, B, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: fmt::Display,
    C: Call,
{
    type Output = Result<Response<ResponseBody<B, C>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _guard = this
                .call
                .as_ref()
                .and_then(|call| call.context())
                .map(|cx| cx.clone().attach());
            ready!(this.inner.poll(task))
        };
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(result.map(|res| res.map(ResponseBody::untracked)));
        };
        match result {
            Ok(mut response) => {
                if call.on_response(&mut response) {
                    call.finish();
                    Poll::Ready(Ok(response.map(ResponseBody::untracked)))
                } else {
                    Poll::Ready(Ok(response.map(|body| ResponseBody::tracked(body, call))))
                }
            }
            Err(error) => {
                call.on_error(error_type_name::<E>(), error.to_string());
                call.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}
