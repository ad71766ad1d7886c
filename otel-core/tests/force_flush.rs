//! `otel_core::force_flush(timeout)` from inside a current-thread Tokio runtime (the
//! runtime an AWS Lambda function runs on): batched spans, logs and metrics are all
//! exported when it returns, a stuck exporter cannot hold the caller past the timeout,
//! and `init()` describes a Lambda environment in the resource. Its own process: `init()`
//! installs global state and the test sets Lambda variables.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otel_core::opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use otel_core::opentelemetry::{global, Key, Value};
use otel_core::opentelemetry_sdk::error::OTelSdkResult;
use otel_core::opentelemetry_sdk::logs::{self as sdk_logs, BatchLogProcessor, LogBatch, LogExporter};
use otel_core::opentelemetry_sdk::metrics::data::ResourceMetrics;
use otel_core::opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use otel_core::opentelemetry_sdk::metrics::{PeriodicReader, Temporality};
use otel_core::opentelemetry_sdk::trace::{self as sdk_trace, BatchSpanProcessor, SpanData, SpanExporter};
use otel_core::opentelemetry_sdk::Resource;

/// Far longer than the test: only a flush can export.
const NEVER: Duration = Duration::from_secs(3600);

/// What the exporters received, in order.
#[derive(Debug, Default, Clone)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, entry: String) {
        self.0.lock().expect("journal").push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().expect("journal").clone()
    }
}

#[derive(Debug)]
struct Spans {
    journal: Journal,
    resource: Arc<Mutex<Option<Resource>>>,
    /// Holds every export this long, like a collector that does not answer.
    stall: Duration,
}

impl SpanExporter for Spans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(self.stall);
        for span in batch {
            self.journal.push(format!("span {}", span.name));
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
        for scope in metrics.scope_metrics() {
            // The SDK's own `otel.sdk.*` metrics are not this test's subject.
            for metric in scope.metrics().filter(|m| !m.name().starts_with("otel.sdk.")) {
                self.0.push(format!("metric {}", metric.name()));
            }
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

fn install(journal: &Journal, stall: Duration) -> (otel_core::TelemetryGuard, Arc<Mutex<Option<Resource>>>) {
    let resource = Arc::new(Mutex::new(None));
    let spans = BatchSpanProcessor::builder(Spans {
        journal: journal.clone(),
        resource: resource.clone(),
        stall,
    })
    .with_batch_config(
        sdk_trace::BatchConfigBuilder::default()
            .with_scheduled_delay(NEVER)
            .build(),
    )
    .build();
    let logs = BatchLogProcessor::builder(Logs(journal.clone()))
        .with_batch_config(
            sdk_logs::BatchConfigBuilder::default()
                .with_scheduled_delay(NEVER)
                .build(),
        )
        .build();
    let reader = PeriodicReader::builder(Metrics(journal.clone()))
        .with_interval(NEVER)
        .build();
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("flush-test")
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .with_span_processor(spans)
        .with_log_processor(logs)
        .with_metric_reader(reader)
        .quiet(true)
        .init()
        .expect("init");
    (guard, resource)
}

fn record_one_of_each(guard: &otel_core::TelemetryGuard) {
    otel_core::in_span("handle-event", || {});
    let provider = guard.logger_provider().expect("logs installed");
    let logger = provider.logger("flush-test");
    let mut record = logger.create_log_record();
    record.set_body("handled".into());
    logger.emit(record);
    global::meter("flush-test")
        .u64_counter("events.handled")
        .build()
        .add(1, &[]);
}

async fn flush_exports_everything_in_order() {
    let journal = Journal::default();
    let (guard, resource) = install(&journal, Duration::ZERO);
    record_one_of_each(&guard);
    // Give a scheduled export every chance to run: nothing may leave before the flush.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(journal.entries().is_empty(), "{:?}", journal.entries());

    otel_core::force_flush(Duration::from_secs(5)).expect("flush");
    assert_eq!(
        journal.entries(),
        ["span handle-event", "log handled", "metric events.handled"],
        "traces, then logs, then metrics, all exported when force_flush returns"
    );

    // `init()` put the Lambda environment into the resource the exporters receive.
    let resource = resource.lock().expect("resource").clone().expect("resource set");
    let get = |key: &'static str| resource.get(&Key::from_static_str(key));
    assert_eq!(get("faas.name"), Some(Value::from("flush-fn")));
    assert_eq!(get("faas.version"), Some(Value::from("7")));
    assert_eq!(get("faas.max_memory"), Some(Value::I64(256 * 1024 * 1024)));
    assert_eq!(get("cloud.provider"), Some(Value::from("aws")));
    assert_eq!(get("cloud.region"), Some(Value::from("eu-central-1")));
    // What the user configures wins over what is detected.
    assert_eq!(get("service.name"), Some(Value::from("flush-test")));
    guard.shutdown().expect("shutdown");
}

async fn a_stuck_exporter_cannot_hold_the_caller() {
    let journal = Journal::default();
    let (guard, _) = install(&journal, Duration::from_secs(2));
    record_one_of_each(&guard);
    let started = Instant::now();
    let error = otel_core::force_flush(Duration::from_millis(200)).expect_err("the export takes 2 s");
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!(error.kind(), otel_core::ErrorKind::Shutdown);
    assert!(
        error.to_string().contains("did not finish within 200ms"),
        "{error}"
    );
    // The flush went on in the background and delivered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !journal.entries().iter().any(|e| e == "span handle-event") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(journal.entries().iter().any(|e| e == "span handle-event"));
    drop(guard);
}

fn disabled_and_uninstalled_have_nothing_to_flush() {
    otel_core::force_flush(Duration::ZERO).expect("nothing installed");
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .disabled(true)
        .init()
        .expect("init");
    otel_core::force_flush(Duration::ZERO).expect("disabled");
    drop(guard);
}

#[test]
fn force_flush_inside_a_current_thread_runtime() {
    // The variables the Lambda runtime sets; read by the resource detector `init()` uses.
    for (name, value) in [
        ("AWS_LAMBDA_FUNCTION_NAME", "flush-fn"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_REGION", "eu-central-1"),
    ] {
        std::env::set_var(name, value);
    }
    disabled_and_uninstalled_have_nothing_to_flush();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(flush_exports_everything_in_order());
    runtime.block_on(a_stuck_exporter_cannot_hold_the_caller());
}
