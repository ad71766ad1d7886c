//! A stand-in for an OpenAI-compatible model API, served on 127.0.0.1 so the examples
//! need no account and no network: `POST /v1/embeddings` and `POST /v1/chat/completions`
//! answer with the real response shapes, token counts included (one token per word,
//! which is close enough for telemetry). It is an axum server behind
//! `otel_tower::HttpServerLayer`, so its SERVER spans join the caller's traces.
//!
//! Baggage the caller sent is read back: a `user.tier` entry becomes an attribute of the
//! chat request's SERVER span, so a trace shows which tier each model call served.
//!
//! Failures are injected on purpose: more than [`MAX_EMBEDDING_BATCH`] inputs is a `400`
//! (as the real API rejects oversized batches), and the first `failing_chats` chat
//! requests answer `503`, for the retry and circuit-breaker steps of a client.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use otel_tower::HttpServerLayer;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::serve::LocalServer;

/// The most inputs one embeddings request may carry; more is a `400`.
pub const MAX_EMBEDDING_BATCH: usize = 16;

/// Dimensions of the vectors `/v1/embeddings` returns.
pub const EMBEDDING_DIMENSIONS: usize = 16;

/// The running service; dropping it stops the server.
#[derive(Debug)]
pub struct LocalAi {
    server: LocalServer,
}

#[derive(Debug, Default)]
struct Faults {
    failing_chats: usize,
    chats: AtomicUsize,
}

impl LocalAi {
    /// Serves on a port the OS chooses; the first `failing_chats` chat requests fail
    /// with `503 Service Unavailable`.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start(failing_chats: usize) -> std::io::Result<LocalAi> {
        let faults = Arc::new(Faults {
            failing_chats,
            chats: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/chat/completions", post(chat))
            .with_state(faults)
            .layer(HttpServerLayer::new());
        Ok(LocalAi {
            server: LocalServer::start(app).await?,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
}

/// One token per whitespace-separated word.
pub fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// `POST /v1/embeddings` request body.
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// Model name, echoed back.
    pub model: String,
    /// Texts to embed.
    pub input: Vec<String>,
}

/// `POST /v1/embeddings` response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// One vector per input, in order.
    pub data: Vec<EmbeddingData>,
    /// The model that answered.
    pub model: String,
    /// Token counts.
    pub usage: TokenUsage,
}

/// One vector of an [`EmbeddingResponse`].
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingData {
    /// Position of the input.
    pub index: usize,
    /// The unit-length vector.
    pub embedding: Vec<f32>,
}

/// The `usage` object of both endpoints.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens of the input.
    pub prompt_tokens: u64,
    /// Tokens generated (absent for embeddings).
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// `POST /v1/chat/completions` request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model name.
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// `POST /v1/chat/completions` response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Response id.
    pub id: String,
    /// The dated model version that answered.
    pub model: String,
    /// The generated messages.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: TokenUsage,
}

/// One generated message.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatChoice {
    /// The message.
    pub message: ChatMessage,
    /// `stop` or `length`.
    pub finish_reason: String,
}

fn api_error(status: StatusCode, message: String) -> Response {
    let kind = if status.is_client_error() {
        "invalid_request_error"
    } else {
        "server_error"
    };
    (
        status,
        Json(json!({ "error": { "message": message, "type": kind } })),
    )
        .into_response()
}

async fn embeddings(Json(request): Json<EmbeddingRequest>) -> Response {
    if request.input.len() > MAX_EMBEDDING_BATCH {
        let message = format!(
            "batch of {} inputs is over the limit of {MAX_EMBEDDING_BATCH}",
            request.input.len()
        );
        return api_error(StatusCode::BAD_REQUEST, message);
    }
    let prompt_tokens = request.input.iter().map(|t| count_tokens(t)).sum();
    let data = request
        .input
        .iter()
        .enumerate()
        .map(|(index, text)| EmbeddingData {
            index,
            embedding: embed(text),
        })
        .collect();
    Json(EmbeddingResponse {
        data,
        model: request.model,
        usage: TokenUsage {
            prompt_tokens,
            completion_tokens: 0,
            total_tokens: prompt_tokens,
        },
    })
    .into_response()
}

/// A bag-of-words vector: each word adds to the dimension its hash picks, so texts that
/// share words are close, which is all the clustering downstream needs.
fn embed(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0_f32; EMBEDDING_DIMENSIONS];
    for word in text.split_whitespace() {
        let hash = word
            .bytes()
            .fold(2166136261_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
        vector[hash as usize % EMBEDDING_DIMENSIONS] += 1.0;
    }
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
    vector
}

async fn chat(State(faults): State<Arc<Faults>>, Json(request): Json<ChatRequest>) -> Response {
    // The caller's baggage arrived with its trace context: the server span shows it.
    if let Some(tier) = otel_core::baggage::get("user.tier") {
        otel_core::set_attribute(opentelemetry::KeyValue::new("user.tier", tier));
    }
    let n = faults.chats.fetch_add(1, Ordering::Relaxed);
    if n < faults.failing_chats {
        return api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the model is overloaded, retry later".to_owned(),
        );
    }
    let prompt = request
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let subject = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.as_str())
        .unwrap_or_default();
    let answer = format!("{subject}: a word worth knowing; use it in a sentence today.");
    let words: Vec<&str> = answer.split_whitespace().collect();
    let limit = usize::try_from(request.max_tokens).unwrap_or(usize::MAX);
    let (content, finish_reason) = if words.len() > limit {
        (words[..limit].join(" "), "length")
    } else {
        (answer.clone(), "stop")
    };
    let prompt_tokens = count_tokens(&prompt);
    let completion_tokens = count_tokens(&content);
    Json(ChatResponse {
        id: format!("chatcmpl-{n}"),
        model: format!("{}-2025-01-01", request.model),
        choices: vec![ChatChoice {
            message: ChatMessage {
                role: "assistant".to_owned(),
                content,
            },
            finish_reason: finish_reason.to_owned(),
        }],
        usage: TokenUsage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    })
    .into_response()
}
