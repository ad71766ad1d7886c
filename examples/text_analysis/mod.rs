//! The text-analysis Lambda of seed 000, rebuilt: a `lambda_runtime` function whose
//! handler runs preprocessing → embedding → clustering → sentiment, driven here by the
//! Runtime API emulator of otel-tower (`otel_tower::lambda::emulator`) instead of AWS.
//!
//! What gives what:
//! - `LambdaLayer` around the handler: one SERVER span per invocation (W3C context from
//!   the API Gateway headers, `faas.*` attributes, `error.type` on failure), the
//!   `faas.*` metrics, and a flush before each response;
//! - `#[instrument_struct]` on [`Pipeline`]: a span per stage with the seed's attributes
//!   (batch size and model, algorithm and cluster count, sentiment distribution);
//! - `otel_core::genai` + `HttpClientMiddleware`: the embeddings call as a GenAI CLIENT
//!   span over an HTTP CLIENT span, answered by the local API's SERVER span;
//! - [`metrics::Metrics`]: requests, errors, processing time, sentence and cluster counts;
//! - `tracing` events: printed with `trace_id`/`span_id` and exported as OTel logs;
//! - `DEPLOYMENT_ENVIRONMENT` (the seed's variable): the sampling profile.

pub mod analysis;
pub mod embedding;
pub mod handler;
pub mod metrics;
pub mod pipeline;
pub mod request;

use std::time::Duration;

use lambda_runtime::service_fn;
use otel_tower::lambda::emulator::{Answer, Invocation, Outcome, RuntimeApi};
use otel_tower::lambda::LambdaLayer;
use serde_json::{json, Value};
use tower::ServiceBuilder;

use crate::local_ai::LocalAi;
pub use embedding::EmbeddingClient;
pub use handler::Function;
pub use pipeline::Pipeline;

/// The function's name (`faas.name`, and the invocation spans' name).
pub const FUNCTION_NAME: &str = "text-analysis";

/// The embeddings model the pipeline asks for.
pub const EMBEDDING_MODEL: &str = "text-embedding-3-small";

/// An upstream caller's trace, sent in the first event's `traceparent` header.
pub const UPSTREAM_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// How long [`run`] waits for the function to answer every event.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The seed's sampling profiles: `DEPLOYMENT_ENVIRONMENT` (`dev`, `staging`, `prod`;
/// default `dev`) for `Telemetry::builder().deployment_environment(..)`, which samples
/// 100 %, 50 % or 10 % of traces.
pub fn deployment_environment() -> String {
    std::env::var("DEPLOYMENT_ENVIRONMENT").unwrap_or_else(|_| "dev".to_owned())
}

/// Starts the Runtime API emulator and sets the variables Lambda would give the
/// process (so call it first: `otel_core::init()` describes the function from them).
///
/// # Errors
///
/// When no local port can be bound.
pub async fn start_runtime_api() -> std::io::Result<RuntimeApi> {
    let api = RuntimeApi::start().await?;
    for (name, value) in api.environment(FUNCTION_NAME) {
        std::env::set_var(name, value);
    }
    if std::env::var_os("AWS_REGION").is_none() {
        std::env::set_var("AWS_REGION", "eu-west-1");
    }
    Ok(api)
}

/// The events [`run`] sends: a standalone analysis called from a traced upstream, a
/// comparison, and a batch too large for the embeddings API (the failing one).
pub fn events() -> Vec<Invocation> {
    let gateway = |body: Value, traceparent: Option<String>| {
        let mut headers = json!({ "content-type": "application/json", "User-Agent": "analysis-ui/2.1" });
        if let Some(traceparent) = traceparent {
            headers["traceparent"] = Value::String(traceparent);
        }
        json!({
            "resource": "/analyses",
            "path": "/analyses",
            "httpMethod": "POST",
            "headers": headers,
            "requestContext": { "stage": "prod" },
            "body": body.to_string(),
        })
    };
    let reviews = [
        "Great app, fast and easy!",
        "Love the new design, great work",
        "Checkout is slow and broken",
        "The checkout page is slow",
        "Support was helpful and fast",
        "Prices are shown in euros",
    ];
    let oversized: Vec<String> = (0..20).map(|i| format!("Review number {i} is good")).collect();
    vec![
        Invocation::new(
            "req-1",
            gateway(
                json!({ "type": "standalone", "job_id": "job-1", "sentences": reviews }),
                Some(format!("00-{UPSTREAM_TRACE_ID}-00f067aa0ba902b7-01")),
            ),
        ),
        Invocation::new(
            "req-2",
            gateway(
                json!({
                    "type": "comparison",
                    "job_id": "job-2",
                    "baseline": &reviews[..3],
                    "sentences": &reviews[3..],
                }),
                None,
            ),
        ),
        Invocation::new(
            "req-3",
            gateway(
                json!({ "type": "standalone", "job_id": "job-3", "sentences": oversized }),
                None,
            ),
        ),
    ]
}

/// What [`run`] returns: each invocation's answer as Lambda received it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The answers, in order.
    pub answers: Vec<Answer>,
}

impl Report {
    /// One line per invocation, cut to 80 columns for the terminal.
    pub fn lines(&self) -> Vec<String> {
        self.answers
            .iter()
            .map(|a| match a.outcome {
                Outcome::Response => {
                    let body: Value = a.body["body"]
                        .as_str()
                        .and_then(|b| serde_json::from_str(b).ok())
                        .unwrap_or_default();
                    let results: Vec<String> = body["results"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(|r| {
                            format!(
                                "{} sentences {} clusters +{} ={} -{}",
                                r["sentences"], r["clusters"], r["positive"], r["neutral"], r["negative"]
                            )
                        })
                        .collect();
                    format!("{}  ok     {}", a.request_id, results.join(" | "))
                }
                Outcome::Error => format!(
                    "{}  error  {}: {}",
                    a.request_id,
                    a.body["errorType"].as_str().unwrap_or("?"),
                    a.body["errorMessage"].as_str().unwrap_or("?")
                ),
            })
            .map(|line| fit(line, 80))
            .collect()
    }
}

/// `line` cut to `columns` characters, ending in `…` when cut.
fn fit(line: String, columns: usize) -> String {
    if line.chars().count() <= columns {
        return line;
    }
    let mut cut: String = line.chars().take(columns - 1).collect();
    cut.push('…');
    cut
}

/// Runs the function under the real `lambda_runtime` against `api` for the [`events`],
/// with the embeddings API served locally, and returns once all are answered (or after
/// 30 s). Telemetry goes wherever `init()` sent it.
///
/// # Errors
///
/// When the local embeddings API cannot start.
pub async fn run(api: &RuntimeApi) -> std::io::Result<Report> {
    let ai = LocalAi::start(0).await?;
    let function = Function::new(Pipeline::new(EmbeddingClient::new(
        &ai.base_url(),
        EMBEDDING_MODEL,
    )));
    let service = ServiceBuilder::new()
        .layer(LambdaLayer::new())
        .service(service_fn(move |event| {
            let function = function.clone();
            async move { function.handle(event).await }
        }));
    let events = events();
    let expected = events.len();
    for event in events {
        api.push(event);
    }
    // A Lambda runtime never returns by itself: stop it once every event is answered.
    let runtime = tokio::spawn(lambda_runtime::run(service));
    let answers = api.wait_for_answers(expected, ANSWER_TIMEOUT).await;
    runtime.abort();
    Ok(Report { answers })
}
