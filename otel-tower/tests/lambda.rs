//! `LambdaLayer` under the real `lambda_runtime`, against a Lambda Runtime API emulator on
//! 127.0.0.1 (`AWS_LAMBDA_RUNTIME_API`): five invocations (API Gateway with a W3C parent,
//! SQS, a failing one, a scheduled one with a child span, a panicking one), telemetry
//! exported by batching processors that only a flush can empty, and the order in which
//! the emulator (`otel_tower::lambda::emulator`) saw exports and responses. Its own
//! process: it sets the Lambda variables and installs global telemetry. Run with
//! `--features lambda-emulator`.
#![cfg(feature = "lambda-emulator")]

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use otel_core::opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use otel_core::opentelemetry::trace::{SpanId, SpanKind, Status};
use otel_core::opentelemetry::{Key, Value as OtelValue};
use otel_core::opentelemetry_sdk::error::OTelSdkResult;
use otel_core::opentelemetry_sdk::logs::{self as sdk_logs, BatchLogProcessor, LogBatch, LogExporter};
use otel_core::opentelemetry_sdk::metrics::data::ResourceMetrics;
use otel_core::opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use otel_core::opentelemetry_sdk::metrics::{PeriodicReader, Temporality};
use otel_core::opentelemetry_sdk::trace::{self as sdk_trace, BatchSpanProcessor, SpanData, SpanExporter};
use otel_core::opentelemetry_sdk::Resource;
use otel_core::testing::SpanDataExt;
use otel_tower::lambda::emulator::{Exchange, Invocation, RuntimeApi};
use otel_tower::lambda::LambdaLayer;
use serde_json::{json, Value};
use tower::ServiceBuilder;

const FUNCTION: &str = "otel-lambda-test";
/// Invoked through an alias; `cloud.resource_id` must name the version instead.
const INVOKED_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:otel-lambda-test:live";
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID: &str = "b7ad6b7169203331";
/// Far longer than the test: only a flush exports.
const NEVER: Duration = Duration::from_secs(3600);

/// Everything the exporters and the emulator saw, in order.
#[derive(Debug, Default, Clone)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, entry: String) {
        self.0.lock().expect("journal").push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().expect("journal").clone()
    }

    fn position(&self, entry: &str) -> Option<usize> {
        self.entries().iter().position(|e| e == entry)
    }
}

#[derive(Debug)]
struct Spans {
    journal: Journal,
    spans: Arc<Mutex<Vec<SpanData>>>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl SpanExporter for Spans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in batch {
            let id = span.attr_str("faas.invocation_id").unwrap_or_default();
            self.journal.push(format!("span {} {id}", span.name));
            self.spans.lock().expect("spans").push(span);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().expect("resource") = Some(resource.clone());
    }
}

#[derive(Debug)]
struct Logs(Journal);

impl LogExporter for Logs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        for (record, _) in batch.iter() {
            if let Some(AnyValue::String(body)) = record.body() {
                self.0.push(format!("log {}", body.as_str()));
            }
        }
        Ok(())
    }
}

struct Metrics(Journal);

impl PushMetricExporter for Metrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let ours = metrics
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .any(|m| m.name() == "faas.invoke_duration");
        if ours {
            self.0.push("metrics faas.invoke_duration".into());
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Delta
    }
}

/// The handler's own error type: `error.type` names it.
#[derive(Debug)]
struct HandlerError(String);

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot analyse: {}", self.0)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        Diagnostic {
            error_type: "HandlerError".into(),
            error_message: error.to_string(),
        }
    }
}

async fn handler(event: LambdaEvent<Value>, logger: sdk_logs::SdkLogger) -> Result<Value, HandlerError> {
    let id = event.context.request_id.clone();
    // A log record and a child span per invocation: both must be exported before the
    // response too.
    let mut record = logger.create_log_record();
    record.set_body(id.clone().into());
    logger.emit(record);
    otel_core::in_span("work", || {});
    if event.payload.get("panic").is_some() {
        panic!("bad input for {id}");
    }
    if event.payload.get("fail").is_some() {
        return Err(HandlerError(id));
    }
    Ok(json!({"handled": id}))
}

fn events() -> Vec<Invocation> {
    let events: [(&str, Value); 5] = [
        (
            "req-1-apigw",
            json!({
                "resource": "/pets/{petId}",
                "path": "/pets/10",
                "httpMethod": "GET",
                "headers": {
                    "traceparent": format!("00-{TRACE_ID}-{PARENT_ID}-01"),
                    "User-Agent": "curl/8.5",
                    "X-Forwarded-Proto": "https"
                },
                "requestContext": {"stage": "prod", "requestId": "apigw-1"},
                "body": null
            }),
        ),
        (
            "req-2-sqs",
            json!({"Records": [{"eventSource": "aws:sqs", "body": "hello"}]}),
        ),
        ("req-3-fail", json!({"fail": true})),
        (
            "req-4-timer",
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
        ),
        ("req-5-panic", json!({"panic": true})),
    ];
    events
        .into_iter()
        .map(|(id, payload)| {
            Invocation::new(id, payload)
                .with_invoked_arn(INVOKED_ARN)
                .with_xray_trace_header(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                )
        })
        .collect()
}

#[test]
fn one_flushed_span_per_invocation_under_the_real_runtime() {
    let journal = Journal::default();
    let spans = Arc::new(Mutex::new(Vec::new()));
    let resource = Arc::new(Mutex::new(None));

    // The current-thread runtime `#[tokio::main(flavor = "current_thread")]` gives a
    // function; the emulator shares it, so a blocked runtime would stall the test.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime.block_on(RuntimeApi::start()).expect("emulator");
    let observed = journal.clone();
    emulator.observe(move |exchange| match exchange {
        Exchange::HandedOut(id) => observed.push(format!("next {id}")),
        Exchange::Answered(answer) => observed.push(format!("{} {}", answer.outcome, answer.request_id)),
    });
    for event in events() {
        emulator.push(event);
    }
    let addr = emulator.addr();
    for (name, value) in [
        ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "7".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/02/[7]abcdef".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/otel-lambda-test".to_owned(),
        ),
        ("AWS_REGION", "eu-west-1".to_owned()),
    ] {
        std::env::set_var(name, value);
    }

    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("lambda-test")
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .with_span_processor(
            BatchSpanProcessor::builder(Spans {
                journal: journal.clone(),
                spans: spans.clone(),
                resource: resource.clone(),
            })
            .with_batch_config(
                sdk_trace::BatchConfigBuilder::default()
                    .with_scheduled_delay(NEVER)
                    .build(),
            )
            .build(),
        )
        .with_log_processor(
            BatchLogProcessor::builder(Logs(journal.clone()))
                .with_batch_config(
                    sdk_logs::BatchConfigBuilder::default()
                        .with_scheduled_delay(NEVER)
                        .build(),
                )
                .build(),
        )
        .with_metric_reader(
            PeriodicReader::builder(Metrics(journal.clone()))
                .with_interval(NEVER)
                .build(),
        )
        .quiet(true)
        .init()
        .expect("init");
    let logger = guard.logger_provider().expect("logs").logger("lambda-test");

    let service = ServiceBuilder::new()
        .layer(LambdaLayer::new())
        .service(service_fn(move |event| handler(event, logger.clone())));
    let lambda = runtime.spawn(lambda_runtime::run(service));

    // Bounded wait for the five responses; then the runtime (and the function) is dropped.
    let posts = runtime.block_on(emulator.wait_for_answers(5, Duration::from_secs(60)));
    lambda.abort();
    drop(emulator);
    drop(runtime);
    let entries = journal.entries();
    let posts: Vec<(String, String, Value)> = posts
        .into_iter()
        .map(|a| (a.request_id, a.outcome.to_string(), a.body))
        .collect();
    assert_eq!(posts.len(), 5, "responses: {posts:?}\njournal: {entries:#?}");

    // The key property: each invocation's span, log record and metrics were exported
    // before the emulator received that invocation's response.
    for (id, kind, _) in &posts {
        let answered = journal
            .position(&format!("{kind} {id}"))
            .expect("answer recorded");
        let handed_out = journal.position(&format!("next {id}")).expect("event handed out");
        let span = entries
            .iter()
            .position(|e| e.starts_with("span ") && e.ends_with(&format!(" {id}")))
            .unwrap_or_else(|| panic!("span of {id} exported: {entries:#?}"));
        let log = journal.position(&format!("log {id}")).expect("log exported");
        assert!(handed_out < span && span < answered, "{id}: {entries:#?}");
        assert!(log < answered, "{id}: {entries:#?}");
        let metrics = entries[handed_out..answered]
            .iter()
            .any(|e| e == "metrics faas.invoke_duration");
        assert!(
            metrics,
            "{id}: metrics exported before the response: {entries:#?}"
        );
    }

    // What Lambda received is what the handler returned.
    let kinds: Vec<(&str, &str)> = posts
        .iter()
        .map(|(id, kind, _)| (id.as_str(), kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("req-1-apigw", "response"),
            ("req-2-sqs", "response"),
            ("req-3-fail", "error"),
            ("req-4-timer", "response"),
            ("req-5-panic", "error"),
        ]
    );
    assert_eq!(posts[0].2, json!({"handled": "req-1-apigw"}));
    assert_eq!(posts[2].2["errorType"], "HandlerError");

    let spans = spans.lock().expect("spans").clone();
    let invocation = |id: &str| {
        let found: Vec<&SpanData> = spans
            .iter()
            .filter(|s| {
                s.span_kind == SpanKind::Server && s.attr_str("faas.invocation_id").as_deref() == Some(id)
            })
            .collect();
        assert_eq!(found.len(), 1, "one SERVER span for {id}: {spans:#?}");
        found[0].clone()
    };
    let ids = [
        "req-1-apigw",
        "req-2-sqs",
        "req-3-fail",
        "req-4-timer",
        "req-5-panic",
    ];
    for (n, id) in ids.iter().enumerate() {
        let span = invocation(id);
        assert_eq!(
            span.attr("faas.coldstart"),
            Some(&OtelValue::Bool(n == 0)),
            "{id}"
        );
        assert_eq!(
            span.attr_str("cloud.resource_id").as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:otel-lambda-test:7"),
        );
        assert_eq!(span.attr_str("cloud.account.id").as_deref(), Some("123456789012"));
        assert_eq!(
            span.attr_str("aws.lambda.invoked_arn").as_deref(),
            Some(INVOKED_ARN)
        );
        // The handler's span is the invocation's child.
        let work = spans
            .iter()
            .find(|s| s.name == "work" && s.parent_span_id == span.span_context.span_id());
        assert!(work.is_some(), "{id}: child span");
    }

    let apigw = invocation("req-1-apigw");
    assert_eq!(apigw.name, "/pets/{petId}");
    assert_eq!(apigw.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(apigw.parent_span_id.to_string(), PARENT_ID);
    assert!(apigw.parent_span_is_remote);
    assert_eq!(apigw.attr_str("faas.trigger").as_deref(), Some("http"));
    assert_eq!(apigw.attr_str("http.request.method").as_deref(), Some("GET"));
    assert_eq!(apigw.attr_str("http.route").as_deref(), Some("/pets/{petId}"));
    assert_eq!(apigw.attr_str("url.path").as_deref(), Some("/pets/10"));
    assert_eq!(apigw.attr_str("url.scheme").as_deref(), Some("https"));
    assert_eq!(apigw.attr_str("user_agent.original").as_deref(), Some("curl/8.5"));
    assert_eq!(apigw.status, Status::Unset);

    let sqs = invocation("req-2-sqs");
    assert_eq!(sqs.name, FUNCTION);
    assert_eq!(sqs.attr_str("faas.trigger").as_deref(), Some("pubsub"));
    assert_ne!(
        sqs.span_context.trace_id(),
        apigw.span_context.trace_id(),
        "a new trace"
    );
    assert_eq!(sqs.parent_span_id, SpanId::INVALID, "a root span");
    assert_eq!(sqs.attr("http.request.method"), None);

    let failed = invocation("req-3-fail");
    assert_eq!(failed.status, Status::error("cannot analyse: req-3-fail"));
    assert_eq!(
        failed.attr_str("error.type").as_deref(),
        Some("lambda::HandlerError")
    );

    assert_eq!(
        invocation("req-4-timer").attr_str("faas.trigger").as_deref(),
        Some("timer")
    );

    let panicked = invocation("req-5-panic");
    assert_eq!(panicked.attr_str("error.type").as_deref(), Some("panic"));
    assert_eq!(
        panicked.status,
        Status::error("the handler panicked: bad input for req-5-panic")
    );

    // The function is described once, in the resource.
    let resource = resource.lock().expect("resource").clone().expect("resource");
    let get = |key: &'static str| resource.get(&Key::from_static_str(key));
    assert_eq!(get("faas.name"), Some(FUNCTION.into()));
    assert_eq!(get("faas.version"), Some("7".into()));
    assert_eq!(get("faas.max_memory"), Some(OtelValue::I64(512 * 1024 * 1024)));
    assert_eq!(get("faas.instance"), Some("2026/01/02/[7]abcdef".into()));
    assert_eq!(get("cloud.provider"), Some("aws".into()));
    assert_eq!(get("cloud.platform"), Some("aws_lambda".into()));
    assert_eq!(get("cloud.region"), Some("eu-west-1".into()));
    assert_eq!(get("service.name"), Some("lambda-test".into()));

    drop(guard);
}
