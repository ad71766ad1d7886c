//! The function's input: an API Gateway event whose JSON body asks for a standalone
//! analysis of one dataset or a comparison of two.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// Sentences to analyse under a job id.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The caller's job id.
    pub job_id: String,
    /// Raw sentences.
    pub sentences: Vec<String>,
}

/// What the caller asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisRequest {
    /// One dataset.
    Standalone(Dataset),
    /// A baseline and a dataset compared with it.
    Comparison(Dataset, Dataset),
}

/// The event carried no usable request.
#[derive(Debug)]
pub struct InvalidRequest(pub String);

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request: {}", self.0)
    }
}

impl std::error::Error for InvalidRequest {}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Body {
    Standalone {
        job_id: String,
        sentences: Vec<String>,
    },
    Comparison {
        job_id: String,
        baseline: Vec<String>,
        sentences: Vec<String>,
    },
}

impl AnalysisRequest {
    /// Reads the request from an API Gateway event's `body` (a JSON string).
    pub fn from_event(event: &Value) -> Result<AnalysisRequest, InvalidRequest> {
        let body = event["body"]
            .as_str()
            .ok_or_else(|| InvalidRequest("the event has no body".into()))?;
        let body: Body = serde_json::from_str(body).map_err(|e| InvalidRequest(e.to_string()))?;
        Ok(match body {
            Body::Standalone { job_id, sentences } => {
                AnalysisRequest::Standalone(Dataset { job_id, sentences })
            }
            Body::Comparison {
                job_id,
                baseline,
                sentences,
            } => AnalysisRequest::Comparison(
                Dataset {
                    job_id: format!("{job_id}/baseline"),
                    sentences: baseline,
                },
                Dataset { job_id, sentences },
            ),
        })
    }

    /// `standalone` or `comparison`: the `text_analysis.request.type` attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            AnalysisRequest::Standalone(_) => "standalone",
            AnalysisRequest::Comparison(..) => "comparison",
        }
    }

    /// The job id the caller gave.
    pub fn job_id(&self) -> &str {
        match self {
            AnalysisRequest::Standalone(d) | AnalysisRequest::Comparison(_, d) => &d.job_id,
        }
    }

    /// Sentences over all datasets.
    pub fn sentence_count(&self) -> usize {
        match self {
            AnalysisRequest::Standalone(d) => d.sentences.len(),
            AnalysisRequest::Comparison(a, b) => a.sentences.len() + b.sentences.len(),
        }
    }
}
