//! The response body both layers return: reports frames to the request's [`Call`] and
//! ends it at the body's end.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

use crate::attrs::error_type_name;
use crate::call::{Call, InFlight};

pin_project_lite::pin_project! {
    /// A response body that tells the request's telemetry `C` about each frame and ends
    /// it at the last data frame, at the trailers (where gRPC puts its status), at an
    /// error, or, when dropped before any of these, as cancelled.
    ///
    /// Named through the aliases [`server::ResponseBody`](crate::server::ResponseBody)
    /// and [`client::ResponseBody`](crate::client::ResponseBody).
    pub struct ResponseBody<B, C: Call> {
        #[pin]
        inner: B,
        call: Option<InFlight<C>>,
    }
}

impl<B, C: Call> ResponseBody<B, C> {
    pub(crate) fn tracked(inner: B, call: InFlight<C>) -> Self {
        Self {
            inner,
            call: Some(call),
        }
    }

    pub(crate) fn untracked(inner: B) -> Self {
        Self { inner, call: None }
    }
}

impl<B, C: Call> fmt::Debug for ResponseBody<B, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("recording", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<B, C> Body for ResponseBody<B, C>
where
    B: Body,
    B::Error: fmt::Display,
    C: Call,
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
                None => {
                    if let Some(data) = frame.data_ref() {
                        call.on_data(data.remaining());
                    }
                    // Servers stop polling a body that reports its end, so this frame
                    // may be the last thing anyone sees of it.
                    this.inner.is_end_stream()
                }
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
