//! The analysis pipeline: preprocessing → embedding → clustering → sentiment. One
//! `#[instrument_struct]` gives every stage its span (named as the seed names them), its
//! attributes, error status and `function.calls` / `function.duration` metrics; the
//! values only known at the end (cluster count, sentiment distribution) are set with
//! `otel_core::set_attribute`.

use std::fmt;

use opentelemetry::KeyValue;
use otel_core::instrument_struct;

use super::analysis::{self, Distribution};
use super::embedding::{EmbeddingClient, EmbeddingError};
use super::request::Dataset;

/// What went wrong in an analysis; its type name is the spans' `error.type`.
#[derive(Debug)]
pub enum AnalysisError {
    /// No sentence left after preprocessing.
    EmptyInput,
    /// The embeddings API failed.
    Embedding(EmbeddingError),
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalysisError::EmptyInput => f.write_str("no sentence to analyse"),
            AnalysisError::Embedding(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AnalysisError {}

impl From<EmbeddingError> for AnalysisError {
    fn from(e: EmbeddingError) -> Self {
        AnalysisError::Embedding(e)
    }
}

/// The result of analysing one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Sentences after preprocessing.
    pub sentences: usize,
    /// Clusters found (noise excluded).
    pub clusters: usize,
    /// Sentiment counts.
    pub sentiment: Distribution,
}

/// The pipeline and the clients it needs.
#[derive(Debug, Clone)]
pub struct Pipeline {
    embeddings: EmbeddingClient,
}

/// DBSCAN settings: cosine distance and the smallest cluster.
const EPS: f32 = 0.35;
const MIN_POINTS: usize = 2;

#[instrument_struct(skip_all)]
impl Pipeline {
    /// A pipeline embedding with `embeddings`.
    #[no_instrument]
    pub fn new(embeddings: EmbeddingClient) -> Pipeline {
        Pipeline { embeddings }
    }

    /// Analyses one dataset.
    #[instrumented(
        name = "process_standalone",
        fields(job.id = dataset.job_id.as_str(), text_analysis.sentence_count = dataset.sentences.len() as i64)
    )]
    pub async fn process_standalone(&self, dataset: &Dataset) -> Result<Analysis, AnalysisError> {
        self.analyse(dataset).await
    }

    /// Analyses two datasets, one after the other, under one span.
    #[instrumented(name = "process_comparison", fields(job.id = first.job_id.as_str()))]
    pub async fn process_comparison(
        &self,
        first: &Dataset,
        second: &Dataset,
    ) -> Result<(Analysis, Analysis), AnalysisError> {
        Ok((self.analyse(first).await?, self.analyse(second).await?))
    }

    #[no_instrument]
    async fn analyse(&self, dataset: &Dataset) -> Result<Analysis, AnalysisError> {
        let sentences = self.preprocess(&dataset.sentences);
        if sentences.is_empty() {
            return Err(AnalysisError::EmptyInput);
        }
        let vectors = self.embed(&sentences).await?;
        let clusters = self.cluster(&vectors);
        let sentiment = self.sentiment(&sentences);
        Ok(Analysis {
            sentences: sentences.len(),
            clusters,
            sentiment,
        })
    }

    /// Normalises the sentences.
    #[instrumented(name = "preprocessing", fields(preprocessing.input_count = sentences.len() as i64))]
    pub fn preprocess(&self, sentences: &[String]) -> Vec<String> {
        let kept = analysis::normalise(sentences);
        otel_core::set_attribute(KeyValue::new("preprocessing.output_count", kept.len() as i64));
        kept
    }

    /// One vector per sentence, from the embeddings API.
    #[instrumented(
        name = "embedding_generation",
        fields(embedding.batch_size = sentences.len() as i64, embedding.model = self.embeddings.model())
    )]
    pub async fn embed(&self, sentences: &[String]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        self.embeddings.embed(sentences).await
    }

    /// Clusters the vectors; returns the number of clusters.
    #[instrumented(name = "clustering_analysis", fields(clustering.algorithm = "DBSCAN"))]
    pub fn cluster(&self, vectors: &[Vec<f32>]) -> usize {
        let labels = analysis::dbscan(vectors, EPS, MIN_POINTS);
        let clusters = labels.iter().flatten().max().map_or(0, |max| max + 1);
        let noise = labels.iter().filter(|l| l.is_none()).count();
        otel_core::set_attribute(KeyValue::new("cluster.count", clusters as i64));
        otel_core::set_attribute(KeyValue::new("clustering.noise_count", noise as i64));
        clusters
    }

    /// Counts positive, neutral and negative sentences.
    #[instrumented(name = "sentiment_analysis")]
    pub fn sentiment(&self, sentences: &[String]) -> Distribution {
        let d = analysis::sentiment(sentences);
        for (key, value) in [
            ("sentiment.distribution.positive", d.positive),
            ("sentiment.distribution.neutral", d.neutral),
            ("sentiment.distribution.negative", d.negative),
        ] {
            otel_core::set_attribute(KeyValue::new(key, i64::from(value)));
        }
        d
    }
}
