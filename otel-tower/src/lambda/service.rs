use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::LambdaEvent;
use tower::{Layer, Service};

use super::event::{Describe, FromPayload};
use super::invocation::Invocation;
use super::layer::LambdaConfig;
use super::{InvocationFuture, LambdaLayer};

/// The middleware [`LambdaLayer`] wraps around a handler: it records each invocation
/// it passes on and flushes before returning the handler's result. Its `Response` and
/// `Error` are the handler's, so `lambda_runtime::run` takes it as it took the handler.
///
/// ```
/// use lambda_runtime::{service_fn, Error, LambdaEvent};
/// use otel_tower::lambda::LambdaService;
/// use serde_json::Value;
///
/// let service = LambdaService::new(service_fn(|event: LambdaEvent<Value>| async move {
///     Ok::<_, Error>(event.payload)
/// }));
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct LambdaService<S, D = FromPayload> {
    inner: S,
    config: Arc<LambdaConfig>,
    describe: D,
}

impl<S, D> LambdaService<S, D> {
    pub(crate) fn from_parts(inner: S, config: Arc<LambdaConfig>, describe: D) -> Self {
        Self {
            inner,
            config,
            describe,
        }
    }

    /// The wrapped service.
    ///
    /// ```
    /// let service = otel_tower::lambda::LambdaService::new(42);
    /// assert_eq!(*service.get_ref(), 42);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// let mut service = otel_tower::lambda::LambdaService::new(42);
    /// *service.get_mut() += 1;
    /// assert_eq!(*service.get_ref(), 43);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// let service = otel_tower::lambda::LambdaService::new(42);
    /// assert_eq!(service.into_inner(), 42);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> LambdaService<S> {
    /// Wraps `inner` with a default [`LambdaLayer`].
    ///
    /// ```
    /// let service = otel_tower::lambda::LambdaService::new(42);
    /// # let _ = service;
    /// ```
    pub fn new(inner: S) -> Self {
        LambdaLayer::new().layer(inner)
    }
}

impl<S: fmt::Debug, D> fmt::Debug for LambdaService<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, D, T> Service<LambdaEvent<T>> for LambdaService<S, D>
where
    S: Service<LambdaEvent<T>>,
    S::Error: fmt::Display,
    D: Describe<T>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = InvocationFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        // Whatever is recorded, only the first invocation of the process is cold.
        let cold = self.config.cold.swap(false, Ordering::Relaxed);
        if !otel_core::is_enabled() {
            return InvocationFuture::untracked(self.inner.call(event));
        }
        let invocation = Invocation::start(self.config.clone(), &self.describe, &event, cold);
        InvocationFuture::start(&mut self.inner, event, invocation)
    }
}
