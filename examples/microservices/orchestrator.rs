//! The LLM orchestrator: picks a model for each summary request and calls the LLM API,
//! recording the call as a GenAI CLIENT span with the GenAI semantic-convention
//! metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`).

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::trace::SpanKind;
use opentelemetry::{global, KeyValue};
use opentelemetry_semantic_conventions::attribute::{ERROR_TYPE, SERVER_ADDRESS, SERVER_PORT};
use otel_core::instrumented;
use otel_tower::HttpServerLayer;
use reqwest_middleware::ClientWithMiddleware;

use super::llm::{ChatCompletion, ChatRequest, Message};
use super::search::{Answer, AnswerRequest};
use super::service::{self, WorkQueue};

// The GenAI semantic conventions (gen_ai.* names). The constants of
// opentelemetry-semantic-conventions 0.33 for them are deprecated because the GenAI
// conventions moved to a repository of their own; the names themselves did not change.
const GEN_AI_CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
const GEN_AI_CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";

/// Context longer than this many words goes to the larger model.
const LARGE_CONTEXT_WORDS: usize = 28;

/// The GenAI semantic-convention instruments, with the buckets the conventions
/// advise, and the seed's model-selection counter.
struct LlmMetrics {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    model_selection: Counter<u64>,
}

impl LlmMetrics {
    fn new() -> LlmMetrics {
        let meter = global::meter("llm-orchestrator");
        LlmMetrics {
            tokens: meter
                .u64_histogram(GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries((0..14).map(|i| 4f64.powi(i)).collect())
                .build(),
            duration: meter
                .f64_histogram(GEN_AI_CLIENT_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries((0..14).map(|i| 0.01 * 2f64.powi(i)).collect())
                .build(),
            model_selection: meter
                .u64_counter("llm.model.selection")
                .with_unit("{request}")
                .with_description("Requests routed to each model")
                .build(),
        }
    }
}

/// A failed LLM call.
#[derive(Debug)]
struct LlmError(String);

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for LlmError {}

struct Orchestrator {
    http: ClientWithMiddleware,
    llm: reqwest::Url,
    queue: WorkQueue,
    metrics: LlmMetrics,
}

impl Orchestrator {
    #[instrumented(skip_all)]
    async fn answer(&self, request: AnswerRequest) -> Result<Answer, LlmError> {
        let model = self.select_model(&request.context);
        let messages = vec![
            Message {
                role: "system".into(),
                content: request.question,
            },
            Message {
                role: "user".into(),
                content: request.context.join("\n"),
            },
        ];
        let completion = self.chat(model, messages).await?;
        let answer = completion
            .choices
            .into_iter()
            .next()
            .map(|choice| choice.message.content)
            .ok_or_else(|| LlmError("the LLM returned no choice".into()))?;
        Ok(Answer {
            answer,
            model: model.to_owned(),
        })
    }

    /// The small model for short contexts, the large one for long ones.
    #[instrumented(skip_all, ret)]
    fn select_model(&self, context: &[String]) -> &'static str {
        let words: usize = context.iter().map(|c| c.split_whitespace().count()).sum();
        let model = if words > LARGE_CONTEXT_WORDS {
            "gpt-4o"
        } else {
            "gpt-4o-mini"
        };
        self.metrics
            .model_selection
            .add(1, &[KeyValue::new(GEN_AI_REQUEST_MODEL, model)]);
        model
    }

    /// One chat completion, as the GenAI conventions describe it: a CLIENT span named
    /// `chat {model}` with the usage on it, and the two `gen_ai.client.*` histograms.
    async fn chat(&self, model: &'static str, messages: Vec<Message>) -> Result<ChatCompletion, LlmError> {
        let mut attributes = vec![
            KeyValue::new(GEN_AI_OPERATION_NAME, "chat"),
            KeyValue::new(GEN_AI_PROVIDER_NAME, "openai"),
            KeyValue::new(GEN_AI_REQUEST_MODEL, model),
        ];
        let server = [
            KeyValue::new(SERVER_ADDRESS, self.llm.host_str().unwrap_or_default().to_owned()),
            KeyValue::new(
                SERVER_PORT,
                i64::from(self.llm.port_or_known_default().unwrap_or(0)),
            ),
        ];
        let span_attributes = attributes.iter().chain(&server).cloned().collect::<Vec<_>>();
        let started = Instant::now();
        let call = async {
            let result = self.complete(model, messages).await;
            match &result {
                Ok(completion) => {
                    for attribute in [
                        KeyValue::new(GEN_AI_RESPONSE_ID, completion.id.clone()),
                        KeyValue::new(GEN_AI_RESPONSE_MODEL, completion.model.clone()),
                        KeyValue::new(GEN_AI_USAGE_INPUT_TOKENS, completion.usage.prompt_tokens as i64),
                        KeyValue::new(
                            GEN_AI_USAGE_OUTPUT_TOKENS,
                            completion.usage.completion_tokens as i64,
                        ),
                        KeyValue::new(
                            GEN_AI_RESPONSE_FINISH_REASONS,
                            opentelemetry::Value::Array(
                                completion
                                    .choices
                                    .iter()
                                    .map(|c| c.finish_reason.clone().into())
                                    .collect::<Vec<opentelemetry::StringValue>>()
                                    .into(),
                            ),
                        ),
                    ] {
                        otel_core::set_attribute(attribute);
                    }
                }
                Err(e) => otel_core::record_error(e),
            }
            result
        };
        let result =
            otel_core::in_span_async_kind(format!("chat {model}"), SpanKind::Client, span_attributes, call)
                .await;

        match &result {
            Ok(completion) => {
                attributes.push(KeyValue::new(GEN_AI_RESPONSE_MODEL, completion.model.clone()));
                for (kind, count) in [
                    ("input", completion.usage.prompt_tokens),
                    ("output", completion.usage.completion_tokens),
                ] {
                    let mut with_type = attributes.clone();
                    with_type.push(KeyValue::new(GEN_AI_TOKEN_TYPE, kind));
                    self.metrics.tokens.record(count, &with_type);
                }
            }
            Err(_) => attributes.push(KeyValue::new(ERROR_TYPE, "LlmError")),
        }
        attributes.extend(server);
        self.metrics
            .duration
            .record(started.elapsed().as_secs_f64(), &attributes);
        result
    }

    async fn complete(&self, model: &str, messages: Vec<Message>) -> Result<ChatCompletion, LlmError> {
        let body = ChatRequest {
            model: model.to_owned(),
            messages,
        };
        let url = self
            .llm
            .join("/v1/chat/completions")
            .map_err(|e| LlmError(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| LlmError(format!("LLM API unreachable: {e}")))?;
        if !response.status().is_success() {
            return Err(LlmError(format!("LLM API answered {}", response.status())));
        }
        response
            .json()
            .await
            .map_err(|e| LlmError(format!("LLM API answered garbage: {e}")))
    }
}

async fn answer(
    State(orchestrator): State<Arc<Orchestrator>>,
    Json(request): Json<AnswerRequest>,
) -> Result<Json<Answer>, (StatusCode, String)> {
    orchestrator
        .queue
        .run(orchestrator.answer(request))
        .await
        .map(Json)
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))
}

/// Serves `POST /v1/answer` until the launcher says stop, with the LLM API stand-in
/// beside it.
pub(crate) async fn serve(standalone: Option<SocketAddr>) -> Result<(), Box<dyn Error>> {
    let (llm_listener, llm_addr) = service::bind().await?;
    super::llm::spawn(llm_listener);
    let (listener, addr) = service::bind().await?;
    let orchestrator = Arc::new(Orchestrator {
        http: service::http_client(),
        llm: format!("http://{llm_addr}").parse()?,
        queue: WorkQueue::new(2)?,
        metrics: LlmMetrics::new(),
    });
    let app = Router::new()
        .route("/v1/answer", post(answer))
        .with_state(orchestrator)
        .layer(HttpServerLayer::new());
    service::announce(addr, service::metrics_url(standalone));
    axum::serve(listener, app)
        .with_graceful_shutdown(service::stop_requested())
        .await?;
    Ok(())
}
