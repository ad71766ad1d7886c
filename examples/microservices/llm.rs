//! The LLM API: a local stand-in that answers `POST /v1/chat/completions` the way the
//! OpenAI API does, token counts included. It is the outside world, so it is not
//! instrumented; the orchestrator's client spans and GenAI metrics see it.

use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// A chat message.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct Message {
    pub role: String,
    pub content: String,
}

/// The request body of `/v1/chat/completions`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
}

/// Token counts, as the API reports them.
#[derive(Serialize, Deserialize)]
pub(crate) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// One generated answer.
#[derive(Serialize, Deserialize)]
pub(crate) struct Choice {
    pub index: u32,
    pub message: Message,
    pub finish_reason: String,
}

/// The response body of `/v1/chat/completions`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ChatCompletion {
    pub id: String,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// Serves the API on `listener` until the process ends.
pub(crate) fn spawn(listener: tokio::net::TcpListener) {
    let app = Router::new().route("/v1/chat/completions", post(complete));
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// About four tokens for every three words, as with English text and BPE tokenizers.
fn tokens(text: &str) -> u64 {
    (text.split_whitespace().count() as u64 * 4).div_ceil(3)
}

async fn complete(Json(request): Json<ChatRequest>) -> Json<ChatCompletion> {
    // The larger model takes longer, as the real ones do.
    let latency = if request.model.ends_with("mini") { 15 } else { 40 };
    tokio::time::sleep(Duration::from_millis(latency)).await;
    let prompt: String = request
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    // The "summary": the first sentence of the last message's text.
    let source = request
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or_default();
    let first_sentence = source.split_inclusive('.').next().unwrap_or(source).trim();
    let answer = format!("In short: {first_sentence}");
    let (prompt_tokens, completion_tokens) = (tokens(&prompt), tokens(&answer));
    Json(ChatCompletion {
        id: format!("chatcmpl-{:x}", prompt.len() * 7919 + answer.len()),
        model: format!("{}-2024-07-18", request.model),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: "assistant".into(),
                content: answer,
            },
            finish_reason: "stop".into(),
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    })
}
