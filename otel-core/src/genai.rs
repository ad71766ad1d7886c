//! Generative AI client calls (chat, embeddings, ...) as the OpenTelemetry GenAI semantic
//! conventions describe them: one CLIENT span and two metrics per model call.
//!
//! Every service that calls a model needs the same span name (`{operation} {model}`), the
//! same attributes and the same two histograms with the buckets the conventions advise;
//! [`GenAiCall`] records them around the future that makes the call, so the HTTP client
//! span of the request (from otel-tower's client layer or reqwest middleware) is its child.
//!
//! ```
//! use otel_core::genai::{GenAiCall, Usage};
//!
//! # #[derive(Debug)] struct ApiError;
//! # impl std::fmt::Display for ApiError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("api") } }
//! # impl std::error::Error for ApiError {}
//! struct Reply { text: String, prompt_tokens: u64, completion_tokens: u64 }
//!
//! async fn ask(question: &str) -> Result<Reply, ApiError> {
//!     // ... POST /v1/chat/completions ...
//! #   Ok(Reply { text: question.to_uppercase(), prompt_tokens: 12, completion_tokens: 3 })
//! }
//!
//! # futures_executor::block_on(async {
//! let cap = otel_core::testing::capture();
//! let reply = GenAiCall::chat("gpt-4o-mini")
//!     .provider("openai")
//!     .server("127.0.0.1", 8080)
//!     .run(ask("hello"), |reply| Usage::tokens(reply.prompt_tokens, reply.completion_tokens))
//!     .await?;
//! assert_eq!(reply.text, "HELLO");
//!
//! use otel_core::testing::SpanDataExt;
//! let span = cap.span("chat gpt-4o-mini");
//! assert_eq!(span.attr("gen_ai.usage.input_tokens"), Some(&12_i64.into()));
//! # Ok::<_, ApiError>(())
//! # }).unwrap();
//! ```
//!
//! # What is recorded
//!
//! The span, kind CLIENT, named `{gen_ai.operation.name} {gen_ai.request.model}`:
//!
//! | attribute | when |
//! |---|---|
//! | `gen_ai.operation.name`, `gen_ai.request.model` | always |
//! | `gen_ai.provider.name` | [`GenAiCall::provider`] |
//! | `server.address`, `server.port` | [`GenAiCall::server`] |
//! | anything from [`GenAiCall::attribute`] | e.g. `gen_ai.request.max_tokens`, `gen_ai.request.temperature` |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.model`, `gen_ai.response.id`, `gen_ai.response.finish_reasons` | the call returned `Ok`, from its [`Usage`] |
//! | `error.type`, Error status, an `exception` event | the call returned `Err` (`error.type` is the error's type name) |
//!
//! The metrics (instrumentation scope `otel-core`), each with `gen_ai.operation.name`,
//! `gen_ai.request.model` and, when known, `gen_ai.provider.name`,
//! `gen_ai.response.model`, `server.address`, `server.port`:
//!
//! | instrument | unit | buckets | extra attributes |
//! |---|---|---|---|
//! | `gen_ai.client.operation.duration` | `s` | [`DURATION_BUCKETS`] (0.01 s to 81.92 s) | `error.type` on failure |
//! | `gen_ai.client.token.usage` | `{token}` | [`TOKEN_BUCKETS`] (1 to 4^13) | `gen_ai.token.type` = `input` / `output`; one point per token count the response reported |
//!
//! A call dropped before it completes (a timeout) ends its span with
//! `error.type = cancelled`, like [`crate::in_span_async`]. When telemetry is disabled
//! the future runs as is, after one atomic load.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use opentelemetry::metrics::{Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{global, Context, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{ERROR_TYPE, SERVER_ADDRESS, SERVER_PORT};

use self::names::*;
use crate::span::{in_span_async_kind, record_error, short_type_name, SCOPE};
use crate::state::{self, Current};

/// The GenAI conventions moved to a repository of their own (semantic-conventions-genai),
/// and the 0.33 constants are deprecated for that reason alone: the names are unchanged.
/// The deprecation is silenced here, once.
#[allow(deprecated)]
mod names {
    use opentelemetry_semantic_conventions::{attribute, metric};

    pub(super) const GEN_AI_OPERATION_NAME: &str = attribute::GEN_AI_OPERATION_NAME;
    pub(super) const GEN_AI_PROVIDER_NAME: &str = attribute::GEN_AI_PROVIDER_NAME;
    pub(super) const GEN_AI_REQUEST_MODEL: &str = attribute::GEN_AI_REQUEST_MODEL;
    pub(super) const GEN_AI_RESPONSE_FINISH_REASONS: &str = attribute::GEN_AI_RESPONSE_FINISH_REASONS;
    pub(super) const GEN_AI_RESPONSE_ID: &str = attribute::GEN_AI_RESPONSE_ID;
    pub(super) const GEN_AI_RESPONSE_MODEL: &str = attribute::GEN_AI_RESPONSE_MODEL;
    pub(super) const GEN_AI_TOKEN_TYPE: &str = attribute::GEN_AI_TOKEN_TYPE;
    pub(super) const GEN_AI_USAGE_INPUT_TOKENS: &str = attribute::GEN_AI_USAGE_INPUT_TOKENS;
    pub(super) const GEN_AI_USAGE_OUTPUT_TOKENS: &str = attribute::GEN_AI_USAGE_OUTPUT_TOKENS;
    pub(super) const GEN_AI_CLIENT_OPERATION_DURATION: &str = metric::GEN_AI_CLIENT_OPERATION_DURATION;
    pub(super) const GEN_AI_CLIENT_TOKEN_USAGE: &str = metric::GEN_AI_CLIENT_TOKEN_USAGE;
}

/// The bucket boundaries the GenAI conventions advise for
/// `gen_ai.client.operation.duration`, in seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// The bucket boundaries the GenAI conventions advise for `gen_ai.client.token.usage`
/// (powers of 4).
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// One model call about to be made: what is known before it; see the
/// [module documentation](self).
#[derive(Debug, Clone)]
#[must_use = "a GenAiCall records nothing until `run` is awaited"]
pub struct GenAiCall {
    operation: Cow<'static, str>,
    model: Cow<'static, str>,
    provider: Option<Cow<'static, str>>,
    server: Option<(String, u16)>,
    attributes: Vec<KeyValue>,
}

/// What the response said about the call, recorded on the span and the token metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Prompt tokens (`gen_ai.usage.input_tokens`).
    pub input_tokens: Option<u64>,
    /// Generated tokens (`gen_ai.usage.output_tokens`).
    pub output_tokens: Option<u64>,
    /// The model that answered (`gen_ai.response.model`), often a dated version.
    pub response_model: Option<String>,
    /// The response's id (`gen_ai.response.id`).
    pub response_id: Option<String>,
    /// Why generation stopped, one per choice (`gen_ai.response.finish_reasons`).
    pub finish_reasons: Vec<String>,
}

impl Usage {
    /// Input and output token counts.
    ///
    /// ```
    /// let usage = otel_core::genai::Usage::tokens(12, 30);
    /// assert_eq!(usage.output_tokens, Some(30));
    /// ```
    pub fn tokens(input: u64, output: u64) -> Self {
        Usage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            ..Usage::default()
        }
    }

    /// Only input tokens: embeddings produce no output tokens.
    ///
    /// ```
    /// let usage = otel_core::genai::Usage::input_tokens(8);
    /// assert_eq!(usage.output_tokens, None);
    /// ```
    pub fn input_tokens(input: u64) -> Self {
        Usage {
            input_tokens: Some(input),
            ..Usage::default()
        }
    }

    /// Sets the model that answered.
    ///
    /// ```
    /// let usage = otel_core::genai::Usage::tokens(1, 2).with_response_model("gpt-4o-mini-2024-07-18");
    /// # let _ = usage;
    /// ```
    pub fn with_response_model(mut self, model: impl Into<String>) -> Self {
        self.response_model = Some(model.into());
        self
    }

    /// Sets the response id.
    ///
    /// ```
    /// let usage = otel_core::genai::Usage::tokens(1, 2).with_response_id("chatcmpl-123");
    /// # let _ = usage;
    /// ```
    pub fn with_response_id(mut self, id: impl Into<String>) -> Self {
        self.response_id = Some(id.into());
        self
    }

    /// Adds a finish reason (`stop`, `length`, ...).
    ///
    /// ```
    /// let usage = otel_core::genai::Usage::tokens(1, 2).with_finish_reason("stop");
    /// # let _ = usage;
    /// ```
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reasons.push(reason.into());
        self
    }
}

impl GenAiCall {
    /// A call of `operation` (a `gen_ai.operation.name` value: `chat`, `embeddings`,
    /// `text_completion`, `generate_content`, ...) on `model`.
    ///
    /// ```
    /// let call = otel_core::genai::GenAiCall::new("text_completion", "davinci-002");
    /// # let _ = call;
    /// ```
    pub fn new(operation: impl Into<Cow<'static, str>>, model: impl Into<Cow<'static, str>>) -> Self {
        GenAiCall {
            operation: operation.into(),
            model: model.into(),
            provider: None,
            server: None,
            attributes: Vec::new(),
        }
    }

    /// A chat completion on `model`.
    ///
    /// ```
    /// let call = otel_core::genai::GenAiCall::chat("gpt-4o-mini");
    /// # let _ = call;
    /// ```
    pub fn chat(model: impl Into<Cow<'static, str>>) -> Self {
        Self::new("chat", model)
    }

    /// An embeddings request on `model`.
    ///
    /// ```
    /// let call = otel_core::genai::GenAiCall::embeddings("text-embedding-3-small");
    /// # let _ = call;
    /// ```
    pub fn embeddings(model: impl Into<Cow<'static, str>>) -> Self {
        Self::new("embeddings", model)
    }

    /// The provider (`gen_ai.provider.name`): `openai`, `anthropic`, `aws.bedrock`, ...
    ///
    /// ```
    /// let call = otel_core::genai::GenAiCall::chat("claude-sonnet-4").provider("anthropic");
    /// # let _ = call;
    /// ```
    pub fn provider(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.provider = Some(name.into());
        self
    }

    /// The host and port of the model's API (`server.address`, `server.port`).
    ///
    /// ```
    /// let call = otel_core::genai::GenAiCall::chat("llama3").server("127.0.0.1", 11434);
    /// # let _ = call;
    /// ```
    pub fn server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.server = Some((address.into(), port));
        self
    }

    /// Another span attribute known before the call (`gen_ai.request.max_tokens`,
    /// `gen_ai.request.temperature`, ...). Not added to the metrics.
    ///
    /// ```
    /// use otel_core::opentelemetry::KeyValue;
    /// let call = otel_core::genai::GenAiCall::chat("gpt-4o-mini")
    ///     .attribute(KeyValue::new("gen_ai.request.max_tokens", 256_i64));
    /// # let _ = call;
    /// ```
    pub fn attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Runs `call` (the request to the model) inside the CLIENT span, then records the
    /// outcome: on `Ok`, what `usage` reads from the value; on `Err`, the error. Returns
    /// `call`'s output unchanged.
    ///
    /// ```
    /// use otel_core::genai::{GenAiCall, Usage};
    /// # futures_executor::block_on(async {
    /// let vectors = GenAiCall::embeddings("text-embedding-3-small")
    ///     .run(async { Ok::<_, std::io::Error>(vec![[0.1_f32; 4]; 3]) }, |v| Usage::input_tokens(v.len() as u64))
    ///     .await?;
    /// assert_eq!(vectors.len(), 3);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn run<T, E, F>(self, call: F, usage: impl FnOnce(&T) -> Usage) -> impl Future<Output = Result<T, E>>
    where
        F: Future<Output = Result<T, E>>,
        E: std::error::Error,
    {
        let enabled = state::is_enabled();
        let name = format!("{} {}", self.operation, self.model);
        let mut metric_attributes = vec![
            KeyValue::new(GEN_AI_OPERATION_NAME, self.operation.clone()),
            KeyValue::new(GEN_AI_REQUEST_MODEL, self.model.clone()),
        ];
        if let Some(provider) = &self.provider {
            metric_attributes.push(KeyValue::new(GEN_AI_PROVIDER_NAME, provider.clone()));
        }
        if let Some((address, port)) = &self.server {
            metric_attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            metric_attributes.push(KeyValue::new(SERVER_PORT, i64::from(*port)));
        }
        let span_attributes: Vec<KeyValue> = if enabled {
            metric_attributes.iter().cloned().chain(self.attributes).collect()
        } else {
            Vec::new()
        };
        in_span_async_kind(name, SpanKind::Client, span_attributes, async move {
            let started = Instant::now();
            let result = call.await;
            if !enabled {
                return result;
            }
            let instruments = instruments();
            match &result {
                Ok(value) => {
                    let usage = usage(value);
                    record_usage(&usage, &mut metric_attributes);
                    instruments.record_tokens(&usage, &metric_attributes);
                }
                Err(error) => {
                    record_error(error);
                    let type_name = short_type_name(std::any::type_name::<E>());
                    metric_attributes.push(KeyValue::new(ERROR_TYPE, type_name));
                }
            }
            instruments
                .duration
                .record(started.elapsed().as_secs_f64(), &metric_attributes);
            result
        })
    }
}

/// Sets the usage on the current span (the call's) and adds the response model to the
/// metric attributes.
fn record_usage(usage: &Usage, metric_attributes: &mut Vec<KeyValue>) {
    let mut attributes = Vec::new();
    if let Some(n) = usage.input_tokens {
        attributes.push(KeyValue::new(GEN_AI_USAGE_INPUT_TOKENS, saturating_i64(n)));
    }
    if let Some(n) = usage.output_tokens {
        attributes.push(KeyValue::new(GEN_AI_USAGE_OUTPUT_TOKENS, saturating_i64(n)));
    }
    if let Some(model) = &usage.response_model {
        let model = KeyValue::new(GEN_AI_RESPONSE_MODEL, model.clone());
        metric_attributes.push(model.clone());
        attributes.push(model);
    }
    if let Some(id) = &usage.response_id {
        attributes.push(KeyValue::new(GEN_AI_RESPONSE_ID, id.clone()));
    }
    if !usage.finish_reasons.is_empty() {
        let reasons: Vec<StringValue> = usage
            .finish_reasons
            .iter()
            .cloned()
            .map(StringValue::from)
            .collect();
        attributes.push(KeyValue::new(
            GEN_AI_RESPONSE_FINISH_REASONS,
            Value::Array(reasons.into()),
        ));
    }
    Context::map_current(|cx| cx.span().set_attributes(attributes));
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Clone)]
struct Instruments {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Instruments {
            duration: meter
                .f64_histogram(GEN_AI_CLIENT_OPERATION_DURATION)
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            tokens: meter
                .u64_histogram(GEN_AI_CLIENT_TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
        }
    }

    fn record_tokens(&self, usage: &Usage, attributes: &[KeyValue]) {
        for (kind, count) in [("input", usage.input_tokens), ("output", usage.output_tokens)] {
            if let Some(count) = count {
                let mut attributes = attributes.to_vec();
                attributes.push(KeyValue::new(GEN_AI_TOKEN_TYPE, kind));
                self.tokens.record(count, &attributes);
            }
        }
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
        .build()
}

/// The instruments of the installed provider, made once per installation (a new
/// `init()` or test harness gets its own); with only a global provider, made per call,
/// since it can be replaced at any time.
fn instruments() -> Instruments {
    static CACHE: Mutex<Option<(u64, Instruments)>> = Mutex::new(None);
    match state::current() {
        Current::Installed(installed) => {
            let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match cache.as_ref() {
                Some((generation, instruments)) if *generation == installed.generation => instruments.clone(),
                _ => {
                    let instruments = Instruments::new(&installed.meter_provider.meter_with_scope(scope()));
                    *cache = Some((installed.generation, instruments.clone()));
                    instruments
                }
            }
        }
        Current::Global | Current::Disabled => Instruments::new(&global::meter_with_scope(scope())),
    }
}
