//! The flashcard pipeline: cache, then database, then the model, for each word.
//! `#[instrument_struct]` gives the batch and each word a span (the word's is the
//! parent of its cache, database and GenAI spans); `flashcards.processed` counts the
//! words by where their card came from and by the `user.tier` baggage of the caller.

use std::fmt;
use std::sync::Arc;

use opentelemetry::metrics::Counter;
use opentelemetry::{global, KeyValue};
use otel_core::instrument_struct;

use super::cache::Cache;
use super::database::{Card, Database, DbError};
use super::error::LlmError;
use super::llm::LlmClient;

/// Where a card came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The cache (either tier).
    Cache,
    /// The database.
    Database,
    /// The model, just now.
    Model,
}

impl Source {
    /// `cache`, `database` or `model`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Database => "database",
            Source::Model => "model",
        }
    }
}

/// A word could not be turned into a card.
#[derive(Debug)]
pub enum PipelineError {
    /// The database failed.
    Database(DbError),
    /// The model could not be reached or refused.
    Model(LlmError),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Database(e) => write!(f, "database: {e}"),
            PipelineError::Model(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PipelineError {}

/// The pipeline and its three components.
#[derive(Debug)]
pub struct FlashcardPipeline {
    db: Arc<Database>,
    cache: Cache,
    llm: LlmClient,
    processed: Counter<u64>,
}

#[instrument_struct(skip_all)]
impl FlashcardPipeline {
    /// A pipeline over these components.
    #[no_instrument]
    pub fn new(db: Arc<Database>, cache: Cache, llm: LlmClient) -> FlashcardPipeline {
        FlashcardPipeline {
            db,
            cache,
            llm,
            processed: global::meter("flashcards")
                .u64_counter("flashcards.processed")
                .with_unit("{word}")
                .with_description("Words processed, by card source or failure")
                .build(),
        }
    }

    /// Processes `words` in order; one outcome per word.
    #[instrumented(fields(flashcards.batch.size = words.len() as i64))]
    pub async fn process_batch(&self, words: &[&str]) -> Vec<Result<Source, PipelineError>> {
        if let Some(tier) = otel_core::baggage::get("user.tier") {
            otel_core::set_attribute(KeyValue::new("user.tier", tier));
        }
        let mut outcomes = Vec::with_capacity(words.len());
        for word in words {
            outcomes.push(self.process_word(word).await.map(|(_, source)| source));
        }
        outcomes
    }

    /// The card of `word`, and where it came from.
    #[instrumented(fields(flashcards.word = word))]
    pub async fn process_word(&self, word: &str) -> Result<(Card, Source), PipelineError> {
        let result = self.find_or_generate(word).await;
        let tier = otel_core::baggage::get("user.tier").unwrap_or_else(|| "unknown".to_owned());
        let outcome = match &result {
            Ok((_, source)) => source.as_str(),
            Err(_) => "failed",
        };
        otel_core::set_attribute(KeyValue::new("flashcards.source", outcome));
        self.processed.add(
            1,
            &[
                KeyValue::new("flashcards.source", outcome),
                KeyValue::new("user.tier", tier),
            ],
        );
        match &result {
            Ok((_, source)) => tracing::info!(word, source = source.as_str(), "card ready"),
            Err(e) => tracing::error!(word, error = %e, "no card"),
        }
        result
    }

    #[no_instrument]
    async fn find_or_generate(&self, word: &str) -> Result<(Card, Source), PipelineError> {
        if let Some(card) = self.cache.get(word) {
            return Ok((card, Source::Cache));
        }
        if let Some(card) = self.db.find_card(word).map_err(PipelineError::Database)? {
            self.cache.put(card.clone());
            return Ok((card, Source::Database));
        }
        let explanation = self.llm.explain(word).await.map_err(PipelineError::Model)?;
        let card = Card {
            word: word.to_owned(),
            explanation,
        };
        self.db
            .insert_cards(std::slice::from_ref(&card))
            .map_err(PipelineError::Database)?;
        self.cache.put(card.clone());
        Ok((card, Source::Model))
    }

    /// Cards stored so far.
    #[no_instrument]
    pub fn stored(&self) -> Result<i64, DbError> {
        self.db.count_cards()
    }
}
