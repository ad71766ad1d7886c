//! The embeddings API client: one GenAI `embeddings {model}` span per request
//! (`otel_core::genai`), with the HTTP CLIENT span of the request under it
//! (`otel_tower::reqwest::HttpClientMiddleware`).

use std::fmt;

use otel_core::genai::{GenAiCall, Usage};
use otel_tower::reqwest::HttpClientMiddleware;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

use crate::local_ai::{EmbeddingRequest, EmbeddingResponse};

/// The embeddings API refused the request or could not be reached.
#[derive(Debug)]
pub struct EmbeddingError(String);

impl fmt::Display for EmbeddingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "embedding failed: {}", self.0)
    }
}

impl std::error::Error for EmbeddingError {}

/// A client of an OpenAI-compatible `/v1/embeddings` endpoint.
#[derive(Debug, Clone)]
pub struct EmbeddingClient {
    http: ClientWithMiddleware,
    url: String,
    host: String,
    port: u16,
    model: String,
}

impl EmbeddingClient {
    /// A client of the API at `base_url` (`http://127.0.0.1:PORT`) using `model`.
    pub fn new(base_url: &str, model: &str) -> EmbeddingClient {
        let parsed = reqwest::Url::parse(base_url).ok();
        EmbeddingClient {
            http: ClientBuilder::new(reqwest::Client::new())
                .with(HttpClientMiddleware::new())
                .build(),
            url: format!("{base_url}/v1/embeddings"),
            host: parsed
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            port: parsed.and_then(|u| u.port_or_known_default()).unwrap_or(80),
            model: model.to_owned(),
        }
    }

    /// The model name sent with each request.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// One vector per sentence, in order.
    pub async fn embed(&self, sentences: &[String]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let request = EmbeddingRequest {
            model: self.model.clone(),
            input: sentences.to_vec(),
        };
        let response = GenAiCall::embeddings(self.model.clone())
            .provider("openai")
            .server(self.host.clone(), self.port)
            .run(self.post(&request), |r: &EmbeddingResponse| {
                Usage::input_tokens(r.usage.prompt_tokens).with_response_model(r.model.clone())
            })
            .await?;
        Ok(response.data.into_iter().map(|d| d.embedding).collect())
    }

    async fn post(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse, EmbeddingError> {
        let response = self
            .http
            .post(&self.url)
            .json(request)
            .send()
            .await
            .map_err(|e| EmbeddingError(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(EmbeddingError(format!("{status}: {message}")));
        }
        response
            .json()
            .await
            .map_err(|e| EmbeddingError(format!("unreadable response: {e}")))
    }
}
