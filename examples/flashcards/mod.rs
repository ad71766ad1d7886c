//! The flashcard pipeline of seeds 001 and 003, rebuilt: for each word, a two-tier cache,
//! then SQLite, then a chat model behind a rate limiter, retries and a circuit breaker.
//!
//! What gives what:
//! - `#[instrument_struct]` on [`Database`], [`Cache`] and [`FlashcardPipeline`]: the
//!   spans (CLIENT with `db.*` for queries), their errors and the `function.*` metrics;
//! - `otel_core::genai` in [`LlmClient`]: the `chat {model}` span with token usage and
//!   the `gen_ai.client.*` metrics; `HttpClientMiddleware`: one HTTP CLIENT span per
//!   attempt, with `traceparent` and `baggage` sent to the model's server;
//! - the Tower layers [`rate_limit`], [`retry`], [`circuit_breaker`]: waits as spans,
//!   retries and breaker changes as span events, each with its counter;
//! - `otel_core::baggage::scope`: the caller's `user.tier`, on every span that reads it
//!   and on the model server's span;
//! - `otel_core::metrics::observable_gauge`: the connection pool.

pub mod cache;
pub mod circuit_breaker;
pub mod database;
pub mod error;
pub mod llm;
pub mod pipeline;
pub mod rate_limit;
pub mod retry;

use std::time::Duration;

use crate::local_ai::LocalAi;
pub use cache::Cache;
pub use database::Database;
pub use llm::{LlmClient, Resilience};
pub use pipeline::{FlashcardPipeline, PipelineError, Source};

/// The chat model the client asks for.
pub const MODEL: &str = "gpt-4o-mini";

/// The first chat requests the local model answers with `503`: enough to exhaust the
/// first call's retries and open the circuit.
pub const FAILING_CHATS: usize = 3;

/// The client's settings: two calls at once, then one per 100 ms; three retries; the
/// circuit opens after three failures in a row, for a second (long enough that a slow
/// machine still sees the rejections this example shows).
pub const RESILIENCE: Resilience = Resilience {
    burst: 2,
    refill: Duration::from_millis(100),
    retries: 3,
    backoff: Duration::from_millis(10),
    breaker_threshold: 3,
    breaker_cooldown: Duration::from_secs(1),
};

/// The users and their words. Ana's session meets the failing model: her first call
/// retries until the breaker opens, her second is rejected by it. Ben's session, after
/// the cooldown, goes through every path: the model, both cache tiers (L1 holds two
/// cards, L2 two more) with evictions, and the database for a card evicted from both.
pub const SESSIONS: [(&str, &str, &[&str]); 2] = [
    ("ana", "premium", &["serendipity", "ephemeral"]),
    (
        "ben",
        "free",
        &[
            "serendipity",
            "ubiquitous",
            "ephemeral",
            "serendipity",
            "quixotic",
            "laconic",
            "ubiquitous",
            "laconic",
        ],
    ),
];

/// One word's outcome, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordOutcome {
    /// Whose session.
    pub user: &'static str,
    /// The word.
    pub word: &'static str,
    /// `cache`, `database`, `model`, or the error.
    pub outcome: String,
}

/// What [`run`] returns.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every word, in order.
    pub words: Vec<WordOutcome>,
    /// Cards in the database at the end.
    pub stored: i64,
}

impl Report {
    /// One line per word, then the total, for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .words
            .iter()
            .map(|w| format!("{:<4} {:<12} {}", w.user, w.word, w.outcome))
            .collect();
        lines.push(format!("{} cards stored", self.stored));
        lines
    }
}

/// Errors that stop [`run`] (a word that fails is an outcome, not an error).
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the [`SESSIONS`] against a local model that fails [`FAILING_CHATS`] times, and
/// returns what happened to each word. Telemetry goes wherever `init()` sent it.
///
/// # Errors
///
/// When the local model or the database cannot start.
pub async fn run() -> Result<Report, RunError> {
    let model = LocalAi::start(FAILING_CHATS).await?;
    let pipeline = FlashcardPipeline::new(
        Database::open(3)?,
        Cache::new(2, 2),
        LlmClient::new(&model.base_url(), MODEL, RESILIENCE),
    );
    let mut words = Vec::new();
    for (n, (user, tier, batch)) in SESSIONS.into_iter().enumerate() {
        if n > 0 {
            // The next user comes after the breaker's cooldown, so the circuit can close.
            tokio::time::sleep(RESILIENCE.breaker_cooldown).await;
        }
        let outcomes = otel_core::baggage::scope([("user.tier", tier)], pipeline.process_batch(batch)).await;
        words.extend(batch.iter().zip(outcomes).map(|(word, outcome)| WordOutcome {
            user,
            word,
            outcome: match outcome {
                Ok(source) => source.as_str().to_owned(),
                Err(e) => e.to_string(),
            },
        }));
    }
    Ok(Report {
        words,
        stored: pipeline.stored()?,
    })
}
