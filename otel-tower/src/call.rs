//! What one request's telemetry is told while its response arrives: the interface
//! between the shared [`ResponseFuture`](crate::future::ResponseFuture) and
//! [`ResponseBody`](crate::body::ResponseBody) and the server and client calls.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

use http::header::{HeaderMap, CONTENT_LENGTH};
use http::Response;
use opentelemetry::trace::{SpanRef, Status, TraceContextExt};
use opentelemetry::Context;

/// `error.type` of a request abandoned before its end: on the server, a response body
/// dropped before its last frame (the client went away, or a timeout above the layer
/// gave up); on the client, a call dropped before its response arrived.
/// Low-cardinality, and distinct from every status code.
///
/// ```
/// assert_eq!(otel_tower::server::ERROR_TYPE_CANCELLED, "cancelled");
/// assert_eq!(otel_tower::client::ERROR_TYPE_CANCELLED, "cancelled");
/// ```
pub const ERROR_TYPE_CANCELLED: &str = "cancelled";

/// One request's live telemetry, as the response future and body report to it.
///
/// Public only so it can bound the public future and body types; it lives in a private
/// module, so no one outside the crate can name or implement it. A call is held in an
/// [`InFlight`], which records it as cancelled when dropped before it finished.
pub trait Call {
    /// The context holding the request's span, made current while the inner service
    /// runs.
    fn context(&self) -> Option<&Context>;

    /// Records the response head. Returns `true` when the call is complete, so the
    /// body needs no tracking.
    fn on_response<B: http_body::Body>(&mut self, response: &mut Response<B>) -> bool;

    /// The inner service (server) or the transport (client) failed instead of
    /// producing a response.
    fn on_error(&mut self, type_name: &'static str, message: String);

    /// A data frame of `bytes` bytes passed through the response body.
    fn on_data(&mut self, bytes: usize) {
        let _ = bytes;
    }

    /// The response body ended with trailers (where gRPC puts its status).
    fn on_trailers(&mut self, trailers: &HeaderMap);

    /// The response body failed while being produced.
    fn on_body_error(&mut self, type_name: &'static str, message: String);

    /// The request was abandoned before its end: its response future or body was
    /// dropped (the peer went away, or a timeout or `select!` above the layer gave up).
    /// [`finish`](Call::finish) follows.
    fn on_cancel(&mut self);

    /// Whether [`finish`](Call::finish) ran.
    fn is_finished(&self) -> bool;

    /// Ends the span and records the metrics. Idempotent.
    fn finish(&mut self);
}

/// A request's [`Call`] while its response is in flight, owned by the response future
/// and then by the response body. Dropped before the call finished, it cancels it: the
/// one place where a drop turns into a cancellation, for every side.
pub(crate) struct InFlight<C: Call>(C);

impl<C: Call> InFlight<C> {
    pub(crate) fn new(call: C) -> Self {
        Self(call)
    }
}

impl<C: Call> Deref for InFlight<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: Call> DerefMut for InFlight<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.0
    }
}

impl<C: Call> Drop for InFlight<C> {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.on_cancel();
            self.0.finish();
        }
    }
}

/// The `Content-Length` of a request or response, when it is a valid number.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The span side of a call: the context holding its span (when traces are on),
/// whether that span records, when the call began, and whether it has ended.
pub(crate) struct CallSpan {
    cx: Option<Context>,
    recording: bool,
    start: Instant,
    finished: bool,
}

impl CallSpan {
    /// A call that begins now, without a span yet.
    pub(crate) fn begin() -> Self {
        Self {
            cx: None,
            recording: false,
            start: Instant::now(),
            finished: false,
        }
    }

    /// The call's span, in the context it was started under.
    pub(crate) fn started(&mut self, cx: Context) {
        self.recording = cx.span().is_recording();
        self.cx = Some(cx);
    }

    pub(crate) fn context(&self) -> Option<&Context> {
        self.cx.as_ref()
    }

    /// Runs `f` on the span if it records, so unsampled calls build no attributes.
    pub(crate) fn if_recording(&self, f: impl FnOnce(&SpanRef<'_>)) {
        if let (true, Some(cx)) = (self.recording, &self.cx) {
            f(&cx.span());
        }
    }

    /// Sets Error status with `message` on the span.
    pub(crate) fn set_error(&self, message: impl Into<Cow<'static, str>>) {
        self.if_recording(|span| span.set_status(Status::error(message)));
    }

    /// Whether [`end`](Self::end) was called.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Marks the call finished and returns the seconds since it began, or `None` if it
    /// was already finished (so everything is recorded once).
    pub(crate) fn finish(&mut self) -> Option<f64> {
        (!std::mem::replace(&mut self.finished, true)).then(|| self.start.elapsed().as_secs_f64())
    }

    /// Lets `f` set the final attributes and status (if the span records), then ends
    /// the span.
    pub(crate) fn end(&self, f: impl FnOnce(&SpanRef<'_>)) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if self.recording {
                f(&span);
            }
            span.end();
        }
    }
}
