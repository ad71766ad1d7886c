//! A token-bucket rate limiter as a Tower layer. A call that finds the bucket empty
//! reserves the next token and waits for it inside a `rate_limiter.wait` span, so the
//! wait shows in the trace where it happened; `rate_limiter.wait.duration` records it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use opentelemetry::metrics::Histogram;
use opentelemetry::{global, KeyValue};
use tower::{Layer, Service, ServiceExt};

/// At most `capacity` calls at once, then one per `refill`.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<Mutex<Bucket>>,
    waits: Histogram<f64>,
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    refill: Duration,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes a token, going into debt if none is left: the debt is how long to wait.
    fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed / self.refill.as_secs_f64()).min(self.capacity) - 1.0;
        self.last = now;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            self.refill.mul_f64(-self.tokens)
        }
    }
}

impl RateLimitLayer {
    /// A bucket of `capacity` tokens, one more every `refill`.
    pub fn new(capacity: u32, refill: Duration) -> Self {
        RateLimitLayer {
            bucket: Arc::new(Mutex::new(Bucket {
                capacity: f64::from(capacity),
                refill,
                tokens: f64::from(capacity),
                last: Instant::now(),
            })),
            waits: global::meter("flashcards")
                .f64_histogram("rate_limiter.wait.duration")
                .with_unit("s")
                .with_description("Time calls waited for the rate limiter")
                .build(),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            limits: self.clone(),
        }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    limits: RateLimitLayer,
}

impl<S, Req> Service<Req> for RateLimit<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per call, after the wait.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let wait = self
            .limits
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reserve(Instant::now());
        let inner = self.inner.clone();
        let waits = self.limits.waits.clone();
        Box::pin(async move {
            waits.record(wait.as_secs_f64(), &[]);
            if !wait.is_zero() {
                let waited = [KeyValue::new("rate_limiter.wait_ms", wait.as_millis() as i64)];
                otel_core::in_span_async_with("rate_limiter.wait", waited, tokio::time::sleep(wait)).await;
            }
            inner.oneshot(request).await
        })
    }
}
