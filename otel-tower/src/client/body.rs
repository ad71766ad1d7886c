use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};

use super::call::ClientCall;
use crate::attrs::error_type_name;

pin_project_lite::pin_project! {
    /// The response body of [`HttpClient`](super::HttpClient). For gRPC calls it waits
    /// for the trailers, where the status of a normal response is, and ends the call
    /// there; other bodies pass through untouched.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        call: Option<ClientCall>,
    }

}

impl<B> ResponseBody<B> {
    pub(crate) fn tracked(inner: B, call: ClientCall) -> Self {
        Self {
            inner,
            call: Some(call),
        }
    }

    pub(crate) fn untracked(inner: B) -> Self {
        Self { inner, call: None }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("recording", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(task));
        let Some(call) = this.call.as_mut() else {
            return Poll::Ready(frame);
        };
        let done = match &frame {
            Some(Ok(frame)) => match frame.trailers_ref() {
                Some(trailers) => {
                    call.on_trailers(trailers);
                    true
                }
                // Servers stop polling a body that reports its end, so this data frame
                // may be the last thing anyone sees of it.
                None => this.inner.is_end_stream(),
            },
            Some(Err(error)) => {
                call.on_body_error(error_type_name::<B::Error>(), error.to_string());
                true
            }
            None => true,
        };
        if done {
            if let Some(mut call) = this.call.take() {
                call.finish();
            }
        }
        Poll::Ready(frame)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
