//! The search pipeline, one span per step as the seed names them: `search.normalize`,
//! `search.cache_check`, `search.generate_embedding`, `search.vector_search`,
//! `search.generate_answer`, `search.attach_media`, `search.cache_write`,
//! `search.log_query`. Each step is one `#[instrumented]` attribute; what it learns
//! on the way (cache hit, token counts, result counts) goes on its span with
//! `otel_core::set_attribute`. The user's id and role come from the request's context
//! (see `app.rs`), not from each step.

use std::time::Instant;

use opentelemetry::KeyValue;
use otel_core::{instrumented, set_attribute};
use otel_tower::client::UrlTemplate;
use otel_tower::HttpClientMiddleware;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};

use super::apis::{Apis, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Message};
use super::cache::Cache;
use super::store::{Document, Media, QueryLogEntry, Store, User};

// The GenAI conventions left the semantic-conventions crate (0.33 marks its constants
// deprecated, pointing at semantic-conventions-genai), so their names are spelled here.
const GEN_AI_EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";
const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";

/// Embedding model asked for.
pub const EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// Chat model asked for.
pub const CHAT_MODEL: &str = "gpt-4o-mini";
/// Documents given to the LLM as context.
pub const TOP_K: usize = 3;

/// What a search returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The normalised query.
    pub query: String,
    /// The LLM's answer.
    pub answer: String,
    /// Titles of the documents the answer is based on.
    pub sources: Vec<String>,
    /// Videos and images of those documents.
    pub media: Vec<String>,
    /// Whether it came from the cache.
    pub cached: bool,
}

/// An external API call that failed: transport error, error status or unreadable body.
#[derive(Debug)]
pub struct ApiError {
    /// Which API.
    pub api: &'static str,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} API: {}", self.api, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Why a search failed.
#[derive(Debug)]
pub enum SearchError {
    /// No valid bearer token.
    Unauthorized,
    /// Nothing left after normalisation.
    EmptyQuery,
    /// The embeddings or chat API failed.
    Api(ApiError),
    /// The database failed.
    Db(rusqlite::Error),
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchError::Unauthorized => f.write_str("missing or unknown bearer token"),
            SearchError::EmptyQuery => f.write_str("empty query"),
            SearchError::Api(e) => e.fmt(f),
            SearchError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for SearchError {}

impl From<ApiError> for SearchError {
    fn from(e: ApiError) -> Self {
        SearchError::Api(e)
    }
}

impl From<rusqlite::Error> for SearchError {
    fn from(e: rusqlite::Error) -> Self {
        SearchError::Db(e)
    }
}

/// The pipeline's dependencies: database, cache and the API client.
#[derive(Debug)]
pub struct Pipeline {
    /// The database.
    pub store: Store,
    cache: Cache,
    client: ClientWithMiddleware,
    embeddings_url: String,
    chat_url: String,
}

impl Pipeline {
    /// A pipeline over `store` calling the APIs in `apis`.
    pub fn new(store: Store, apis: &Apis) -> Pipeline {
        Pipeline {
            store,
            cache: Cache::default(),
            // CLIENT spans, the duration metric and the trace context on every call.
            client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(HttpClientMiddleware::new())
                .build(),
            embeddings_url: format!("{}/v1/embeddings", apis.embeddings_url()),
            chat_url: format!("{}/v1/chat/completions", apis.chat_url()),
        }
    }

    /// Runs the pipeline for `user`: from the cache when it can, else embedding, vector
    /// search, answer and media; the query is logged either way.
    pub async fn search(&self, user: &User, raw_query: &str) -> Result<SearchResponse, SearchError> {
        let started = Instant::now();
        let query = normalize(raw_query);
        if query.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        if let Some(mut cached) = self.cache_check(&query) {
            cached.cached = true;
            self.log_query(user, &query, started, true)?;
            return Ok(cached);
        }
        let vector = self.generate_embedding(&query).await?;
        let documents = self.vector_search(&vector)?;
        let answer = self.generate_answer(&query, &documents).await?;
        let media = self.attach_media(&documents)?;
        let response = SearchResponse {
            query: query.clone(),
            answer,
            sources: documents.into_iter().map(|d| d.title).collect(),
            media: media.into_iter().map(|m| m.url).collect(),
            cached: false,
        };
        self.cache_write(&query, &response);
        self.log_query(user, &query, started, false)?;
        Ok(response)
    }

    /// Step 3: the cache lookup, with `cache.hit`.
    #[instrumented(name = "search.cache_check", skip_all, fields(search.step = 3))]
    fn cache_check(&self, query: &str) -> Option<SearchResponse> {
        let hit = self.cache.get(query);
        set_attribute(KeyValue::new("cache.hit", hit.is_some()));
        hit
    }

    /// Step 4: the query's embedding from the embeddings API.
    #[instrumented(
        name = "search.generate_embedding",
        skip_all,
        fields(search.step = 4, search.query = query, gen_ai.operation.name = "embeddings",
               gen_ai.request.model = EMBEDDING_MODEL)
    )]
    async fn generate_embedding(&self, query: &str) -> Result<Vec<f32>, ApiError> {
        let request = EmbeddingRequest {
            model: EMBEDDING_MODEL.to_owned(),
            input: query.to_owned(),
        };
        let response: EmbeddingResponse = self
            .call("embeddings", &self.embeddings_url, "/v1/embeddings", &request)
            .await?;
        set_attribute(KeyValue::new(
            GEN_AI_USAGE_INPUT_TOKENS,
            response.usage.prompt_tokens as i64,
        ));
        let vector = response
            .data
            .into_iter()
            .next()
            .map(|d| d.embedding)
            .ok_or_else(|| ApiError {
                api: "embeddings",
                message: "no embedding in the response".to_owned(),
            })?;
        set_attribute(KeyValue::new(
            GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
            vector.len() as i64,
        ));
        Ok(vector)
    }

    /// Step 5: the nearest documents in the database.
    #[instrumented(name = "search.vector_search", skip_all, fields(search.step = 5, search.top_k = TOP_K))]
    fn vector_search(&self, vector: &[f32]) -> rusqlite::Result<Vec<Document>> {
        let hits = self.store.nearest(vector, TOP_K)?;
        let ids: Vec<i64> = hits.iter().map(|(id, _)| *id).collect();
        let documents = self.store.documents(&ids)?;
        set_attribute(KeyValue::new("search.result_count", documents.len() as i64));
        Ok(documents)
    }

    /// Step 6: the answer from the chat API, the documents as context.
    #[instrumented(
        name = "search.generate_answer",
        skip_all,
        fields(search.step = 6, gen_ai.operation.name = "chat", gen_ai.request.model = CHAT_MODEL)
    )]
    async fn generate_answer(&self, query: &str, documents: &[Document]) -> Result<String, ApiError> {
        set_attribute(KeyValue::new("search.context_count", documents.len() as i64));
        let mut messages: Vec<Message> = documents
            .iter()
            .map(|d| Message {
                role: "system".to_owned(),
                content: d.body.clone(),
            })
            .collect();
        messages.push(Message {
            role: "user".to_owned(),
            content: query.to_owned(),
        });
        let request = ChatRequest {
            model: CHAT_MODEL.to_owned(),
            messages,
        };
        let response: ChatResponse = self
            .call("chat", &self.chat_url, "/v1/chat/completions", &request)
            .await?;
        set_attribute(KeyValue::new(
            GEN_AI_USAGE_INPUT_TOKENS,
            response.usage.prompt_tokens as i64,
        ));
        set_attribute(KeyValue::new(
            GEN_AI_USAGE_OUTPUT_TOKENS,
            response.usage.completion_tokens as i64,
        ));
        let answer = response
            .choices
            .into_iter()
            .next()
            .map(|c| c.message.content)
            .ok_or_else(|| ApiError {
                api: "chat",
                message: "no choice in the response".to_owned(),
            })?;
        set_attribute(KeyValue::new(
            "search.answer_length",
            answer.chars().count() as i64,
        ));
        Ok(answer)
    }

    /// Step 8: videos and images of the documents.
    #[instrumented(name = "search.attach_media", skip_all, fields(search.step = 8))]
    fn attach_media(&self, documents: &[Document]) -> rusqlite::Result<Vec<Media>> {
        let ids: Vec<i64> = documents.iter().map(|d| d.id).collect();
        let media = self.store.media(&ids)?;
        let videos = media.iter().filter(|m| m.kind == "video").count();
        set_attribute(KeyValue::new("search.videos_count", videos as i64));
        set_attribute(KeyValue::new(
            "search.images_count",
            (media.len() - videos) as i64,
        ));
        Ok(media)
    }

    /// Step 9: the response into the cache.
    #[instrumented(name = "search.cache_write", skip_all, fields(search.step = 9))]
    fn cache_write(&self, query: &str, response: &SearchResponse) {
        self.cache.put(query.to_owned(), response.clone());
    }

    /// Step 10: the query log row, with the search's latency.
    #[instrumented(name = "search.log_query", skip_all, fields(search.step = 10, search.cached = cached))]
    fn log_query(&self, user: &User, query: &str, started: Instant, cached: bool) -> rusqlite::Result<()> {
        let latency_ms = started.elapsed().as_millis() as u64;
        set_attribute(KeyValue::new("search.latency_ms", latency_ms as i64));
        self.store.log_query(&QueryLogEntry {
            user_id: &user.id,
            query,
            latency_ms,
            cached,
        })
    }

    /// POSTs `body` as JSON and reads the JSON answer; any failure is an [`ApiError`].
    async fn call<B: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        api: &'static str,
        url: &str,
        template: &'static str,
        body: &B,
    ) -> Result<R, ApiError> {
        let failed = |message: String| ApiError { api, message };
        let response = self
            .client
            .post(url)
            .with_extension(UrlTemplate::new(template))
            .json(body)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        response.json().await.map_err(|e| failed(e.to_string()))
    }
}

/// Step 1: trims, collapses whitespace and lower-cases the query.
#[instrumented(name = "search.normalize", skip_all, fields(search.step = 1))]
pub fn normalize(query: &str) -> String {
    let normalized = query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    set_attribute(KeyValue::new("search.query_length", query.chars().count() as i64));
    set_attribute(KeyValue::new(
        "search.normalized_query_length",
        normalized.chars().count() as i64,
    ));
    normalized
}
