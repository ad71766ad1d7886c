//! AWS Lambda (feature `lambda`): [`LambdaLayer`] for `lambda_runtime` handlers.
//!
//! `lambda_runtime` handlers are Tower services of `LambdaEvent<T>`, so the layer goes
//! around the handler as any Tower middleware does, and `lambda_runtime::run` takes the
//! result unchanged:
//!
//! ```no_run
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//! use otel_tower::lambda::LambdaLayer;
//! use serde_json::{json, Value};
//! use tower::ServiceBuilder;
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     let text = event.payload["body"].as_str().unwrap_or_default();
//!     // A child of the invocation's span.
//!     let words = otel_core::in_span("analyse", || text.split_whitespace().count());
//!     Ok(json!({ "statusCode": 200, "body": words.to_string() }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // OTEL_* as anywhere else; the Lambda environment becomes resource attributes.
//!     let _telemetry = otel_core::Telemetry::builder()
//!         .default_service_name("text-analysis")
//!         .init()?;
//!     let service = ServiceBuilder::new()
//!         .layer(LambdaLayer::new())
//!         .service(service_fn(handler));
//!     lambda_runtime::run(service).await
//! }
//! ```
//!
//! # What is recorded
//!
//! One SERVER span per invocation (the AWS Lambda semantic conventions), named after the
//! function, or after the route for API Gateway events (`/pets/{petId}`):
//!
//! | attribute | value |
//! |---|---|
//! | `faas.trigger` | `http`, `pubsub`, `datasource`, `timer` or `other`, from the event ([`Trigger`]) |
//! | `faas.invocation_id` | the request id |
//! | `faas.coldstart` | `true` for the first invocation the layer sees in the process, `false` after |
//! | `cloud.resource_id` | the function ARN, an alias replaced by the version that runs |
//! | `cloud.account.id`, `aws.lambda.invoked_arn` | from the invoked ARN |
//! | `http.request.method`, `http.route`, `url.path`, `url.scheme`, `user_agent.original` | HTTP events (API Gateway, ALB, function URLs) |
//! | `error.type` and Error status | the handler returned `Err` (`error.type` is the error's type, `_OTHER` for a boxed `dyn Error` such as `lambda_runtime::Error`; the status message is its `Display`), or panicked (`panic`) |
//!
//! The function itself (`faas.name`, `faas.version`, `faas.max_memory`, `faas.instance`,
//! `cloud.provider`, `cloud.platform`, `cloud.region`) is described once, in the resource:
//! `otel_core::init()` reads the Lambda environment variables with
//! `otel_core::resource::LambdaResourceDetector`. Metrics, each with `faas.trigger`:
//! `faas.invoke_duration` (seconds), `faas.coldstarts`, `faas.errors`.
//!
//! # Trace context from the event
//!
//! The span continues the W3C context (and baggage) that the event's HTTP headers carry,
//! through the global propagator (`otel_core::propagation`), for API Gateway REST and
//! HTTP APIs, ALB and function URL events; otherwise it starts a trace. Which payloads
//! are read:
//! - `serde_json::Value`: the AWS event shapes are recognised by their fields (see
//!   [`InvocationEvent`]'s implementation for `Value`);
//! - your own payload types: implement [`InvocationEvent`];
//! - types of other crates (`aws_lambda_events`): give the layer a closure,
//!   [`LambdaLayer::describe`].
//!
//! # Flushing before the response
//!
//! Lambda freezes the process as soon as the function has answered, and may never thaw
//! it: whatever a batch processor still holds is late or lost. So once the handler has
//! finished and the span has ended, the layer flushes traces, logs and metrics
//! ([`otel_core::force_flush`]) before it hands the result to the runtime, which sends the
//! response only then. The flush runs on Tokio's blocking pool (the runtime's thread
//! keeps polling) and is bounded by the invocation's deadline less a reserve for the
//! response ([`LambdaLayer::flush_reserve`]) and by [`LambdaLayer::flush_timeout`]: a
//! slow collector delays a response by at most that, never into a timeout. A panicking
//! handler is recorded and flushed before the panic goes on to the runtime.
//!
//! The flush reaches the providers `otel_core::init()` (or the builder) installed. With
//! providers you built and installed yourself, flush them in the handler instead.
//!
//! # Deploying with `cargo lambda`
//!
//! ```text
//! cargo lambda build --release --arm64          # a `bootstrap` for the provided.al2023 runtime
//! cargo lambda deploy text-analysis \
//!     --env-var OTEL_SERVICE_NAME=text-analysis \
//!     --env-var OTEL_EXPORTER_OTLP_ENDPOINT=https://api.honeycomb.io \
//!     --env-var OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=...
//! ```
//!
//! Enable the crate's features in the function's `Cargo.toml`: `otel-tower` with
//! `lambda`, `otel-core` with its defaults (OTLP over HTTP or gRPC). With an OpenTelemetry
//! Collector Lambda extension (a layer listening on `localhost:4318`), point
//! `OTEL_EXPORTER_OTLP_ENDPOINT` at it: the flush then only waits for the hand-off to the
//! extension. `cargo lambda watch` runs the function locally against an emulated Runtime
//! API, with the same layer; so does `emulator::RuntimeApi` (feature `lambda-emulator`)
//! inside a test or an example, with no extra tool.

#[cfg(feature = "lambda-emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda-emulator")))]
pub mod emulator;
mod event;
mod flush;
mod future;
mod invocation;
mod json;
mod layer;
mod metrics;
mod service;

pub use crate::call::ERROR_TYPE_CANCELLED;
pub use event::{Describe, DescribeFn, EventInfo, FromPayload, InvocationEvent, Trigger};
pub use future::InvocationFuture;
pub use invocation::ERROR_TYPE_PANIC;
pub use layer::{LambdaLayer, DEFAULT_FLUSH_RESERVE, DEFAULT_FLUSH_TIMEOUT};
pub use service::LambdaService;
