//! The Lambda handler: reads the request, runs the pipeline, records the business
//! metrics and logs. The invocation's SERVER span, its flush before the response and
//! the `faas.*` metrics come from `otel_tower::lambda::LambdaLayer` around it.

use std::fmt;
use std::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent};
use opentelemetry::KeyValue;
use serde_json::{json, Value};

use super::metrics::Metrics;
use super::pipeline::{Analysis, AnalysisError, Pipeline};
use super::request::{AnalysisRequest, InvalidRequest};

/// Why an invocation failed; the invocation span's `error.type` is its type name and
/// Lambda's `errorType` its variant.
#[derive(Debug)]
pub enum HandlerError {
    /// The event carried no usable request.
    Invalid(InvalidRequest),
    /// The analysis failed.
    Analysis(AnalysisError),
}

impl HandlerError {
    fn variant(&self) -> &'static str {
        match self {
            HandlerError::Invalid(_) => "InvalidRequest",
            HandlerError::Analysis(AnalysisError::EmptyInput) => "EmptyInput",
            HandlerError::Analysis(AnalysisError::Embedding(_)) => "EmbeddingError",
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::Invalid(e) => e.fmt(f),
            HandlerError::Analysis(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        Diagnostic {
            error_type: error.variant().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The function: its pipeline and metrics, shared by every invocation.
#[derive(Debug, Clone)]
pub struct Function {
    pipeline: Pipeline,
    metrics: Metrics,
}

impl Function {
    /// A function running `pipeline`.
    pub fn new(pipeline: Pipeline) -> Function {
        Function {
            pipeline,
            metrics: Metrics::default(),
        }
    }

    /// Handles one invocation, inside the span `LambdaLayer` started for it.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let started = Instant::now();
        let request = match AnalysisRequest::from_event(&event.payload) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "rejected");
                self.metrics
                    .finished("invalid", started.elapsed().as_secs_f64(), Some("InvalidRequest"));
                return Err(HandlerError::Invalid(e));
            }
        };
        let kind = request.kind();
        // The request, on the invocation's span (the current one).
        for attribute in [
            KeyValue::new("text_analysis.request.type", kind),
            KeyValue::new("job.id", request.job_id().to_owned()),
            KeyValue::new("text_analysis.sentence_count", request.sentence_count() as i64),
        ] {
            otel_core::set_attribute(attribute);
        }
        self.metrics.request(kind, request.sentence_count());
        tracing::info!(job = request.job_id(), kind, "analysing");

        let result = match &request {
            AnalysisRequest::Standalone(d) => self.pipeline.process_standalone(d).await.map(|a| vec![a]),
            AnalysisRequest::Comparison(a, b) => self
                .pipeline
                .process_comparison(a, b)
                .await
                .map(|(a, b)| vec![a, b]),
        };
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(analyses) => {
                for a in &analyses {
                    self.metrics.clusters(kind, a.clusters);
                }
                self.metrics.finished(kind, seconds, None);
                tracing::info!(job = request.job_id(), clusters = analyses[0].clusters, "done");
                Ok(json!({ "statusCode": 200, "body": body(&analyses).to_string() }))
            }
            Err(e) => {
                let error = HandlerError::Analysis(e);
                self.metrics.finished(kind, seconds, Some(error.variant()));
                tracing::error!(job = request.job_id(), error = %error, "failed");
                Err(error)
            }
        }
    }
}

fn body(analyses: &[Analysis]) -> Value {
    let results: Vec<Value> = analyses
        .iter()
        .map(|a| {
            json!({
                "sentences": a.sentences,
                "clusters": a.clusters,
                "positive": a.sentiment.positive,
                "neutral": a.sentiment.neutral,
                "negative": a.sentiment.negative,
            })
        })
        .collect();
    json!({ "results": results })
}
