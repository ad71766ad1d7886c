use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::Request;
use tower::{Layer, Service};

/// A request extension shared by every clone of a request, counting how many times
/// [`HttpClientService`](super::HttpClientService) has sent it. Retry middleware clones the request
/// it was given for each attempt; clones share this counter, so the client layer can
/// tell a resend from a first attempt and record `http.request.resend_count`.
///
/// Insert it yourself, or let [`ResendTrackingLayer`] do it above your retry layer. (The
/// reqwest middleware keeps one in the extensions that `reqwest-retry` shares between
/// attempts, so it needs neither.)
///
/// ```
/// use otel_tower::client::ResendCounter;
///
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(ResendCounter::new());
/// let retry = req.extensions().get::<ResendCounter>().cloned().unwrap();
/// # let _ = retry;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResendCounter(Arc<AtomicU32>);

impl ResendCounter {
    /// A counter at zero sends.
    ///
    /// ```
    /// let counter = otel_tower::client::ResendCounter::new();
    /// # let _ = counter;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one send and returns how many sends came before it.
    pub(crate) fn next_send(&self) -> u32 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Inserts a [`ResendCounter`] into every request that has none. Put it *above* the
/// retry layer, with [`HttpClientLayer`](super::HttpClientLayer) below it:
///
/// ```
/// use otel_tower::{HttpClientLayer, ResendTrackingLayer};
/// use tower::ServiceBuilder;
///
/// # fn build<S: Clone>(transport: S) {
/// let client = ServiceBuilder::new()
///     .layer(ResendTrackingLayer::new())
///     // .layer(tower::retry::RetryLayer::new(my_policy))
///     .layer(HttpClientLayer::new())
///     .service(transport);
/// # let _ = client;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ResendTrackingLayer {
    _private: (),
}

impl ResendTrackingLayer {
    /// The layer.
    ///
    /// ```
    /// let layer = otel_tower::ResendTrackingLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ResendTrackingLayer {
    type Service = ResendTracking<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResendTracking { inner }
    }
}

/// The service of [`ResendTrackingLayer`].
///
/// ```
/// use otel_tower::ResendTrackingLayer;
/// use tower::{service_fn, Layer};
///
/// let svc = ResendTrackingLayer::new().layer(service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Debug, Clone)]
pub struct ResendTracking<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for ResendTracking<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if req.extensions().get::<ResendCounter>().is_none() {
            req.extensions_mut().insert(ResendCounter::new());
        }
        self.inner.call(req)
    }
}
