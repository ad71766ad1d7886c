//! What exporting a span over OTLP costs the service, end to end: the span, the batch
//! processor, the request's encoding and its transport, all threads counted, side by
//! side with the OTLP crate's exporter behind the SDK's batch processor, installed by
//! hand as its README shows.
//!
//! ```sh
//! rotel-agent start --otlp-grpc-endpoint 127.0.0.1:4317 --otlp-http-endpoint 127.0.0.1:4318 \
//!     --exporter blackhole &
//! cargo build --profile bench -p otel-benches --bin ir_export
//! for n in 2000 6000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n target/release/ir_export CASE $n
//! done
//! # Ir/span = (Ir(6000) - Ir(2000)) / 4000
//! ```
//!
//! CASE: `sdk-grpc`, `sdk-http` (the OTLP crate's exporter in the SDK's batch processor,
//! providers installed in `opentelemetry::global` by hand) or `init-grpc`, `init-http`
//! (`otel_core::init()`, its default queue of 131,072 spans). The collector is
//! `OTLP_GRPC` / `OTLP_HTTP` (defaults `http://127.0.0.1:4317` and
//! `http://127.0.0.1:4318`). Each span is a server span with the ten attributes
//! `HttpServerLayer` records, one of them a `&str` built per request.
//!
//! `sdk-logs-grpc`, `sdk-logs-http`, `init-logs-grpc`, `init-logs-http` do the same for
//! log records: one `tracing::info!` per operation with a formatted message and three
//! fields (one a `&str`), through the `tracing` bridge, into the SDK's batch log
//! processor with the OTLP crate's exporter, or into what `init()` built.
//!
//! Every item must arrive: the run fails unless the exporter reports all of them
//! exported (queues hold the whole run, nothing is dropped).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::{global, KeyValue};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};

const USAGE: &str = "usage: ir_export [sdk|init]-[logs-][grpc|http] N";

/// Counts what the wrapped exporter accepted. The SDK's batch processor exports from a
/// plain thread, where the OTLP crate's hyper client finds no Tokio runtime; users of
/// that client enter one around the export, as this does.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    exported: Arc<AtomicU64>,
    runtime: tokio::runtime::Handle,
}

impl<E> Counting<E> {
    /// Runs one export of `n` items in the runtime's context, counting them if it
    /// succeeds.
    async fn count(&self, n: u64, export: impl std::future::Future<Output = OTelSdkResult>) -> OTelSdkResult {
        let result = InRuntime {
            future: export,
            runtime: &self.runtime,
        }
        .await;
        if result.is_ok() {
            self.exported.fetch_add(n, Ordering::Relaxed);
        }
        result
    }
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        self.count(n, self.inner.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

pin_project_lite::pin_project! {
    /// Polls `future` inside `runtime`'s context.
    struct InRuntime<'a, F> {
        #[pin]
        future: F,
        runtime: &'a tokio::runtime::Handle,
    }
}

impl<F: std::future::Future> std::future::Future for InRuntime<'_, F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _entered = this.runtime.enter();
        this.future.poll(cx)
    }
}

impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter for Counting<E> {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        let n = batch.iter().count() as u64;
        self.count(n, self.inner.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// One log record per call through the `tracing` bridge `bridge`.
fn log_records(bridge: otel_core::logs::TracingBridge, n: u64) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry().with(bridge);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..n {
            let user = format!("u-{}", i % 1000);
            tracing::info!(
                user.id = user.as_str(),
                order.items = 3,
                order.express = i % 2 == 0,
                "order {i} placed"
            );
        }
    });
}

fn server_span(i: u64) {
    let tracer = global::tracer("bench");
    let path = format!("/users/{}", i % 1000);
    let mut span = tracer
        .span_builder("GET /users/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.path", path),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("server.address", "127.0.0.1"),
            KeyValue::new("server.port", 8080),
            KeyValue::new("client.address", "127.0.0.1"),
            KeyValue::new("user_agent.original", "wrk/4.2.0"),
        ])
        .start(&tracer);
    span.set_attribute(KeyValue::new("http.response.status_code", 200));
    span.end();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok())) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let grpc = std::env::var("OTLP_GRPC").unwrap_or_else(|_| "http://127.0.0.1:4317".into());
    let http = std::env::var("OTLP_HTTP").unwrap_or_else(|_| "http://127.0.0.1:4318".into());
    let exported = match case.as_str() {
        "sdk-grpc" | "sdk-http" | "sdk-logs-grpc" | "sdk-logs-http" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a Tokio runtime");
            let _entered = runtime.enter();
            let exported = Arc::new(AtomicU64::new(0));
            if case.starts_with("sdk-logs") {
                let exporter = if case == "sdk-logs-grpc" {
                    opentelemetry_otlp::LogExporter::builder()
                        .with_tonic()
                        .with_endpoint(grpc)
                        .build()
                } else {
                    opentelemetry_otlp::LogExporter::builder()
                        .with_http()
                        .with_endpoint(format!("{http}/v1/logs"))
                        .build()
                }
                .expect("the OTLP exporter");
                let counting = Counting {
                    inner: exporter,
                    exported: exported.clone(),
                    runtime: runtime.handle().clone(),
                };
                let config = opentelemetry_sdk::logs::BatchConfigBuilder::default()
                    .with_max_queue_size(n as usize + 1)
                    .build();
                let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
                    .with_log_processor(
                        opentelemetry_sdk::logs::BatchLogProcessor::builder(counting)
                            .with_batch_config(config)
                            .build(),
                    )
                    .build();
                log_records(otel_core::logs::tracing_bridge_for(&provider), n);
                provider.shutdown().expect("shutdown");
                return finish(&case, exported.load(Ordering::Relaxed), n);
            }
            let exporter = if case == "sdk-grpc" {
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(grpc)
                    .build()
            } else {
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(format!("{http}/v1/traces"))
                    .build()
            }
            .expect("the OTLP exporter");
            let counting = Counting {
                inner: exporter,
                exported: exported.clone(),
                runtime: runtime.handle().clone(),
            };
            let config = BatchConfigBuilder::default()
                .with_max_queue_size(n as usize + 1)
                .build();
            let provider = SdkTracerProvider::builder()
                .with_span_processor(
                    BatchSpanProcessor::builder(counting)
                        .with_batch_config(config)
                        .build(),
                )
                .build();
            global::set_tracer_provider(provider.clone());
            (0..n).for_each(server_span);
            provider.shutdown().expect("shutdown");
            exported.load(Ordering::Relaxed)
        }
        "init-grpc" | "init-http" | "init-logs-grpc" | "init-logs-http" => {
            let logs = case.starts_with("init-logs");
            let (endpoint, protocol) = if case.ends_with("grpc") {
                (grpc, otel_core::config::Protocol::Grpc)
            } else {
                (http, otel_core::config::Protocol::HttpProtobuf)
            };
            let queue = (n + 1).to_string();
            let guard = otel_core::Telemetry::builder()
                .env(move |name| (name == "OTEL_BLRP_MAX_QUEUE_SIZE").then(|| queue.clone()))
                .service_name("ir-export")
                .otlp_endpoint(endpoint)
                .otlp_protocol(protocol)
                .traces_exporters(if logs {
                    vec![]
                } else {
                    vec![otel_core::config::ExporterKind::Otlp]
                })
                .metrics_exporters([])
                .logs_exporters(if logs {
                    vec![otel_core::config::ExporterKind::Otlp]
                } else {
                    vec![]
                })
                .quiet(true)
                .init()
                .expect("init");
            if logs {
                log_records(
                    otel_core::logs::tracing_bridge().expect("init() built a logger provider"),
                    n,
                );
            } else {
                (0..n).for_each(server_span);
            }
            guard.force_flush().expect("flush");
            let status = otel_core::telemetry_status();
            guard.shutdown().expect("shutdown");
            if logs {
                status.logs.exported
            } else {
                status.traces.exported
            }
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    finish(&case, exported, n);
}

/// Fails the run unless all `n` items were exported.
fn finish(case: &str, exported: u64, n: u64) {
    if exported != n {
        eprintln!("[check] {case}: {exported} of {n} exported");
        std::process::exit(1);
    }
    println!("[check] {case}: {exported} of {n} exported");
}
