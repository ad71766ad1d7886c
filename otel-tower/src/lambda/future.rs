//! The handler's future, then the flush, then the response.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use super::flush;
use super::invocation::{Invocation, Outcome};
use super::layer::LambdaConfig;
use crate::attrs::error_type_name;

pin_project_lite::pin_project! {
    /// The future of [`LambdaService`](super::LambdaService): polls the handler with the
    /// invocation's span as the current context, ends the span with the handler's
    /// result, then waits for the flush before handing the result to the runtime, so
    /// the runtime sends the response only once the invocation's telemetry is exported.
    ///
    /// ```
    /// use lambda_runtime::{service_fn, Error, LambdaEvent};
    /// use otel_tower::lambda::{InvocationFuture, LambdaService};
    /// use tower::Service;
    ///
    /// fn call<S: Service<LambdaEvent<()>>>(mut service: LambdaService<S>) -> InvocationFuture<S::Future>
    /// where
    ///     S::Error: std::fmt::Display,
    /// {
    ///     service.call(LambdaEvent::new((), lambda_runtime::Context::default()))
    /// }
    /// # let _ = call(LambdaService::new(service_fn(|_: LambdaEvent<()>| async { Ok::<_, Error>(()) })));
    /// ```
    pub struct InvocationFuture<F: Future> {
        #[pin]
        inner: F,
        invocation: Option<Invocation>,
        flushing: Option<Flushing<F::Output>>,
    }
}

struct Flushing<T> {
    output: T,
    pending: flush::Pending,
    config: Arc<LambdaConfig>,
}

impl<F: Future> InvocationFuture<F> {
    /// An invocation that is not recorded (telemetry disabled).
    pub(crate) fn untracked(inner: F) -> Self {
        Self {
            inner,
            invocation: None,
            flushing: None,
        }
    }

    /// Calls `service` with the invocation's span current (work the handler does
    /// synchronously in `call` belongs to the span too) and tracks its future.
    pub(crate) fn start<S, R>(service: &mut S, req: R, invocation: Invocation) -> Self
    where
        S: tower::Service<R, Future = F>,
    {
        let inner = match invocation.context() {
            Some(cx) => {
                let _guard = cx.clone().attach();
                service.call(req)
            }
            None => service.call(req),
        };
        Self {
            inner,
            invocation: Some(invocation),
            flushing: None,
        }
    }
}

impl<F: Future> fmt::Debug for InvocationFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationFuture")
            .field("recording", &self.invocation.is_some())
            .field("flushing", &self.flushing.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, R, E> Future for InvocationFuture<F>
where
    F: Future<Output = Result<R, E>>,
    E: fmt::Display,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // At most twice round: the handler finishes, then its flush is polled once.
        loop {
            if let Some(poll) = poll_flushing(this.flushing, task) {
                return poll;
            }

            let polled = {
                let _guard = this
                    .invocation
                    .as_ref()
                    .and_then(Invocation::context)
                    .map(|cx| cx.clone().attach());
                let inner = this.inner.as_mut();
                // A panic is the failure most worth exporting: record and flush it before
                // it goes on to the runtime, which reports it to Lambda.
                panic::catch_unwind(AssertUnwindSafe(|| inner.poll(task)))
            };
            let output = match polled {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(output)) => output,
                Err(payload) => {
                    if let Some(mut invocation) = this.invocation.take() {
                        invocation.finish(Outcome::Panic {
                            message: panic_message(payload.as_ref()),
                        });
                        if let Some(budget) = invocation.flush_budget() {
                            flush::blocking(budget, invocation.config());
                        }
                    }
                    panic::resume_unwind(payload);
                }
            };
            let Some(mut invocation) = this.invocation.take() else {
                return Poll::Ready(output);
            };
            invocation.finish(match &output {
                Ok(_) => Outcome::Ok,
                Err(error) => Outcome::Error {
                    error_type: error_type_name::<E>(),
                    message: error.to_string(),
                },
            });
            let Some(budget) = invocation.flush_budget() else {
                return Poll::Ready(output);
            };
            let config = invocation.config().clone();
            let Some(pending) = flush::start(budget, &config) else {
                return Poll::Ready(output);
            };
            *this.flushing = Some(Flushing {
                output,
                pending,
                config,
            });
        }
    }
}

/// Polls the flush under way, if any; when it is done, gives back the handler's result.
fn poll_flushing<T>(slot: &mut Option<Flushing<T>>, task: &mut TaskContext<'_>) -> Option<Poll<T>> {
    let mut flushing = slot.take()?;
    match Pin::new(&mut flushing.pending).poll(task) {
        Poll::Pending => {
            *slot = Some(flushing);
            Some(Poll::Pending)
        }
        Poll::Ready(result) => {
            flush::report(flush::joined(result), &flushing.config);
            Some(Poll::Ready(flushing.output))
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    match text {
        Some(text) => format!("the handler panicked: {text}"),
        None => "the handler panicked".to_owned(),
    }
}
