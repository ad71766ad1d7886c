//! The retry policy for `tower::retry::RetryLayer`: retries what may succeed next time
//! (`LlmError::is_retryable`) with a growing backoff. Each retry is a `retry` event on
//! the current span (the GenAI call's, so the attempts' HTTP spans sit beside it) and a
//! `llm.retries` count.

use std::time::Duration;

use opentelemetry::metrics::Counter;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{global, KeyValue};
use tower::retry::Policy;

use super::error::LlmError;

/// Up to `retries` more attempts per call, waiting `backoff`, `2 × backoff`, ...
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    retries: u32,
    attempt: u32,
    backoff: Duration,
    counter: Counter<u64>,
}

impl RetryPolicy {
    /// A policy for one call.
    pub fn new(retries: u32, backoff: Duration) -> Self {
        RetryPolicy {
            retries,
            attempt: 0,
            backoff,
            counter: global::meter("flashcards")
                .u64_counter("llm.retries")
                .with_unit("{retry}")
                .with_description("LLM calls sent again after a failure")
                .build(),
        }
    }
}

impl<Req: Clone, Res> Policy<Req, Res, LlmError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(&mut self, _request: &mut Req, result: &mut Result<Res, LlmError>) -> Option<Self::Future> {
        let error = result.as_ref().err().filter(|e| e.is_retryable())?;
        if self.attempt >= self.retries {
            return None;
        }
        self.attempt += 1;
        let attributes = [
            KeyValue::new("retry.attempt", i64::from(self.attempt)),
            KeyValue::new("error.type", error.kind()),
        ];
        self.counter.add(1, &attributes[1..]);
        opentelemetry::Context::map_current(|cx| cx.span().add_event("retry", attributes.to_vec()));
        Some(tokio::time::sleep(self.backoff * self.attempt))
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}
