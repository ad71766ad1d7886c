//! A circuit breaker as a Tower layer. After `threshold` failures in a row it opens and
//! rejects calls at once (`LlmError::CircuitOpen`) for `cooldown`; then one trial call
//! goes through, and closes it again if it succeeds. Every change of state is a
//! `circuit_breaker.state_change` event on the current span and a log line; every
//! rejection a `circuit_breaker.rejected` event and a `circuit_breaker.rejections` count.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use opentelemetry::metrics::Counter;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{global, KeyValue};
use tower::{Layer, Service, ServiceExt};

use super::error::LlmError;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// Opens after `threshold` failures in a row, for `cooldown`.
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer {
    state: Arc<Mutex<State>>,
    threshold: u32,
    cooldown: Duration,
    rejections: Counter<u64>,
}

impl CircuitBreakerLayer {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreakerLayer {
            state: Arc::new(Mutex::new(State::Closed { failures: 0 })),
            threshold,
            cooldown,
            rejections: global::meter("flashcards")
                .u64_counter("circuit_breaker.rejections")
                .with_unit("{call}")
                .with_description("Calls rejected by an open circuit breaker")
                .build(),
        }
    }

    /// Moves to `next`, telling the current span and the log.
    fn transition(&self, state: &mut State, next: State) {
        if state.name() != next.name() {
            let (from, to) = (state.name(), next.name());
            opentelemetry::Context::map_current(|cx| {
                cx.span().add_event(
                    "circuit_breaker.state_change",
                    vec![
                        KeyValue::new("circuit_breaker.from", from),
                        KeyValue::new("circuit_breaker.to", to),
                    ],
                )
            });
            tracing::warn!(from, to, "circuit breaker");
        }
        *state = next;
    }

    /// Whether a call may go through now.
    fn admit(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Open { until } if Instant::now() < until => false,
            State::Open { .. } => {
                self.transition(&mut state, State::HalfOpen);
                true
            }
            State::Closed { .. } | State::HalfOpen => true,
        }
    }

    fn record(&self, failed: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let next = match (*state, failed) {
            (_, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (_, true) => State::Open {
                until: Instant::now() + self.cooldown,
            },
        };
        self.transition(&mut state, next);
    }
}

impl<S> Layer<S> for CircuitBreakerLayer {
    type Service = CircuitBreaker<S>;

    fn layer(&self, inner: S) -> CircuitBreaker<S> {
        CircuitBreaker {
            inner,
            breaker: self.clone(),
        }
    }
}

/// The service of [`CircuitBreakerLayer`].
#[derive(Debug, Clone)]
pub struct CircuitBreaker<S> {
    inner: S,
    breaker: CircuitBreakerLayer,
}

impl<S, Req> Service<Req> for CircuitBreaker<S>
where
    S: Service<Req, Error = LlmError> + Clone + Send + 'static,
    S::Future: Send,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = LlmError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, LlmError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), LlmError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let breaker = self.breaker.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            if !breaker.admit() {
                breaker.rejections.add(1, &[]);
                opentelemetry::Context::map_current(|cx| {
                    cx.span().add_event("circuit_breaker.rejected", vec![])
                });
                return Err(LlmError::CircuitOpen);
            }
            let result = inner.oneshot(request).await;
            // Only failures of the model count: a rejected request says nothing about it.
            breaker.record(matches!(result, Err(LlmError::Unavailable(_))));
            result
        })
    }
}
