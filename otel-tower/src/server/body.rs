use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

use super::call::ServerCall;
use crate::attrs::error_type_name;

pin_project_lite::pin_project! {
    /// The response body of [`HttpServer`](super::HttpServer): counts the bytes sent and
    /// ends the request's span and duration at the last frame, at the trailers (where
    /// gRPC puts its status), at an error, or when dropped before the end.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        call: Option<ServerCall>,
    }

}

impl<B> ResponseBody<B> {
    pub(crate) fn tracked(inner: B, call: ServerCall) -> Self {
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
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    call.on_data(data.remaining());
                    this.inner.is_end_stream()
                } else if let Some(trailers) = frame.trailers_ref() {
                    call.on_trailers(trailers);
                    true
                } else {
                    false
                }
            }
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
