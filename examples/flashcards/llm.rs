//! The API client of the local LLM service: a chat completion per word, as a GenAI
//! `chat {model}` span (`otel_core::genai`: token usage, response model, the
//! `gen_ai.client.*` metrics) over a Tower stack — rate limiter → retry → circuit
//! breaker → HTTP transport (reqwest with `otel_tower`'s `HttpClientMiddleware`: one
//! CLIENT span per attempt, with the trace context and the baggage sent downstream).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::genai::{GenAiCall, Usage};
use otel_tower::reqwest::HttpClientMiddleware;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tower::retry::RetryLayer;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt};

use super::circuit_breaker::CircuitBreakerLayer;
use super::error::LlmError;
use super::rate_limit::RateLimitLayer;
use super::retry::RetryPolicy;
use crate::local_ai::{ChatMessage, ChatRequest, ChatResponse};

/// How the client protects the model and itself.
#[derive(Debug, Clone, Copy)]
pub struct Resilience {
    /// Calls allowed at once before the limiter makes callers wait.
    pub burst: u32,
    /// One more call allowed every `refill`.
    pub refill: Duration,
    /// Extra attempts per call.
    pub retries: u32,
    /// Wait before the first retry (doubled, tripled, ... after).
    pub backoff: Duration,
    /// Failures in a row that open the circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open.
    pub breaker_cooldown: Duration,
}

/// The chat client.
#[derive(Clone)]
pub struct LlmClient {
    stack: BoxCloneSyncService<ChatRequest, ChatResponse, LlmError>,
    model: String,
    host: String,
    port: u16,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Generated tokens allowed per answer.
const MAX_TOKENS: u32 = 64;

impl LlmClient {
    /// A client of the service at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: &str, model: &str, resilience: Resilience) -> LlmClient {
        let url = reqwest::Url::parse(base_url).ok();
        let transport = Transport {
            http: ClientBuilder::new(reqwest::Client::new())
                .with(HttpClientMiddleware::new())
                .build(),
            url: format!("{base_url}/v1/chat/completions"),
        };
        let stack = ServiceBuilder::new()
            .layer(RateLimitLayer::new(resilience.burst, resilience.refill))
            .layer(RetryLayer::new(RetryPolicy::new(
                resilience.retries,
                resilience.backoff,
            )))
            .layer(CircuitBreakerLayer::new(
                resilience.breaker_threshold,
                resilience.breaker_cooldown,
            ))
            .service(transport);
        LlmClient {
            stack: BoxCloneSyncService::new(stack),
            model: model.to_owned(),
            host: url
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            port: url.and_then(|u| u.port_or_known_default()).unwrap_or(80),
        }
    }

    /// The model's explanation of `word`.
    pub async fn explain(&self, word: &str) -> Result<String, LlmError> {
        let request = ChatRequest {
            model: self.model.clone(),
            messages: vec![
                ChatMessage {
                    role: "system".to_owned(),
                    content: "Write a one-line flashcard for the word.".to_owned(),
                },
                ChatMessage {
                    role: "user".to_owned(),
                    content: word.to_owned(),
                },
            ],
            max_tokens: MAX_TOKENS,
        };
        let response = GenAiCall::chat(self.model.clone())
            .provider("openai")
            .server(self.host.clone(), self.port)
            .attribute(KeyValue::new("gen_ai.request.max_tokens", i64::from(MAX_TOKENS)))
            .run(self.stack.clone().oneshot(request), |r: &ChatResponse| {
                let mut usage = Usage::tokens(r.usage.prompt_tokens, r.usage.completion_tokens)
                    .with_response_model(r.model.clone())
                    .with_response_id(r.id.clone());
                for choice in &r.choices {
                    usage = usage.with_finish_reason(choice.finish_reason.clone());
                }
                usage
            })
            .await?;
        response
            .choices
            .into_iter()
            .next()
            .map(|c| c.message.content)
            .ok_or_else(|| LlmError::Rejected("no choice in the answer".to_owned()))
    }
}

/// One HTTP request per call.
#[derive(Debug, Clone)]
struct Transport {
    http: ClientWithMiddleware,
    url: String,
}

impl Service<ChatRequest> for Transport {
    type Response = ChatResponse;
    type Error = LlmError;
    type Future = Pin<Box<dyn Future<Output = Result<ChatResponse, LlmError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), LlmError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        let (http, url) = (self.http.clone(), self.url.clone());
        Box::pin(async move {
            let response = http
                .post(&url)
                .json(&request)
                .send()
                .await
                .map_err(|e| LlmError::Unavailable(e.to_string()))?;
            let status = response.status();
            if status.is_server_error() {
                return Err(LlmError::Unavailable(status.to_string()));
            }
            if !status.is_success() {
                return Err(LlmError::Rejected(status.to_string()));
            }
            response
                .json()
                .await
                .map_err(|e| LlmError::Rejected(format!("unreadable answer: {e}")))
        })
    }
}
