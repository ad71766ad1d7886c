//! Stand-ins for the third-party APIs the search backend calls: an embeddings API and a
//! chat-completions API shaped like OpenAI's (same paths, request and response fields,
//! token counts in `usage`), served by axum on 127.0.0.1.
//!
//! They carry no telemetry of their own, like a real third party: what the backend
//! sees of them is its CLIENT spans. The chat API answers 503 to any question that
//! mentions an "outage", so one query of the demo fails the way a real provider does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::serve::LocalServer;

/// Dimensions of the stand-in embeddings.
pub const EMBEDDING_DIMENSIONS: usize = 16;

/// `POST /v1/embeddings` request body.
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// Model name, e.g. `text-embedding-3-small`.
    pub model: String,
    /// The text to embed.
    pub input: String,
}

/// `POST /v1/embeddings` response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// One entry per input.
    pub data: Vec<EmbeddingData>,
    /// The model that answered.
    pub model: String,
    /// Tokens billed.
    pub usage: Usage,
}

/// One embedding.
#[derive(Debug, Serialize, Deserialize)]
pub struct EmbeddingData {
    /// The vector.
    pub embedding: Vec<f32>,
}

/// Token counts, as the real APIs report them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated (chat only).
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// A chat message.
#[derive(Debug, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// `POST /v1/chat/completions` request body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model name, e.g. `gpt-4o-mini`.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
}

/// `POST /v1/chat/completions` response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answers; the first is used.
    pub choices: Vec<Choice>,
    /// The model that answered.
    pub model: String,
    /// Tokens billed.
    pub usage: Usage,
}

/// One answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Choice {
    /// The assistant's message.
    pub message: Message,
}

/// A rough token count: one per word, as close as a stand-in needs.
fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// A deterministic embedding: each word adds to the dimensions its letters pick, then
/// the vector is normalised, so texts sharing words are close.
pub fn embed(text: &str) -> Vec<f32> {
    let mut v = [0f32; EMBEDDING_DIMENSIONS];
    for word in text.split_whitespace() {
        let word = word.to_lowercase();
        let hash = word
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        v[hash as usize % EMBEDDING_DIMENSIONS] += 1.0;
        v[(hash >> 8) as usize % EMBEDDING_DIMENSIONS] += 0.5;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::EPSILON);
    v.iter().map(|x| x / norm).collect()
}

async fn embeddings(Json(request): Json<EmbeddingRequest>) -> Json<EmbeddingResponse> {
    let prompt_tokens = tokens(&request.input);
    Json(EmbeddingResponse {
        data: vec![EmbeddingData {
            embedding: embed(&request.input),
        }],
        model: request.model,
        usage: Usage {
            prompt_tokens,
            completion_tokens: 0,
            total_tokens: prompt_tokens,
        },
    })
}

async fn chat(Json(request): Json<ChatRequest>) -> Response {
    let question = request
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or_default();
    if question.to_lowercase().contains("outage") {
        let error = json!({"error": {"message": "The server is overloaded", "type": "server_error"}});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(error)).into_response();
    }
    let prompt_tokens: u64 = request.messages.iter().map(|m| tokens(&m.content)).sum();
    let content = format!(
        "Based on {} sources: {}",
        request.messages.len().saturating_sub(1),
        question.trim_end_matches('?')
    );
    let completion_tokens = tokens(&content);
    Json(ChatResponse {
        choices: vec![Choice {
            message: Message {
                role: "assistant".to_owned(),
                content,
            },
        }],
        model: request.model,
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    })
    .into_response()
}

/// The two stand-in APIs, served until dropped.
#[derive(Debug)]
pub struct Apis {
    embeddings: LocalServer,
    chat: LocalServer,
}

impl Apis {
    /// Starts both on ports the OS picks.
    pub async fn start() -> std::io::Result<Apis> {
        Ok(Apis {
            embeddings: LocalServer::start(Router::new().route("/v1/embeddings", post(embeddings))).await?,
            chat: LocalServer::start(Router::new().route("/v1/chat/completions", post(chat))).await?,
        })
    }

    /// Base URL of the embeddings API (`http://127.0.0.1:PORT`).
    pub fn embeddings_url(&self) -> String {
        self.embeddings.base_url()
    }

    /// Base URL of the chat-completions API.
    pub fn chat_url(&self) -> String {
        self.chat.base_url()
    }
}
