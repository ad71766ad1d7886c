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
//! (`otel_core::init()`, its default queue of 131,072 spans). The collector is `OTLP_GRPC` / `OTLP_HTTP` (defaults
//! `http://127.0.0.1:4317` and `http://127.0.0.1:4318`). Each span is a server span
//! with the ten attributes `HttpServerLayer` records, one of them a `&str` built per
//! request. Every span must arrive: the run fails unless the exporter reports all of
//! them exported (queues hold the whole run, nothing is dropped).

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

const USAGE: &str = "usage: ir_export sdk-grpc|sdk-http|init-grpc|init-http N";

/// Counts what the wrapped exporter accepted. The SDK's batch processor exports from a
/// plain thread, where the OTLP crate's hyper client finds no Tokio runtime; users of
/// that client enter one around the export, as this does.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    exported: Arc<AtomicU64>,
    runtime: tokio::runtime::Handle,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = InRuntime {
            future: self.inner.export(batch),
            runtime: &self.runtime,
        }
        .await;
        if result.is_ok() {
            self.exported.fetch_add(n, Ordering::Relaxed);
        }
        result
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
        "sdk-grpc" | "sdk-http" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a Tokio runtime");
            let _entered = runtime.enter();
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
            let exported = Arc::new(AtomicU64::new(0));
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
        "init-grpc" | "init-http" => {
            let (endpoint, protocol) = if case == "init-grpc" {
                (grpc, otel_core::config::Protocol::Grpc)
            } else {
                (http, otel_core::config::Protocol::HttpProtobuf)
            };
            let guard = otel_core::Telemetry::builder()
                .env(|_| None)
                .service_name("ir-export")
                .otlp_endpoint(endpoint)
                .otlp_protocol(protocol)
                .traces_exporters([otel_core::config::ExporterKind::Otlp])
                .metrics_exporters([])
                .logs_exporters([])
                .quiet(true)
                .init()
                .expect("init");
            (0..n).for_each(server_span);
            guard.force_flush().expect("flush");
            let exported = otel_core::telemetry_status().traces.exported;
            guard.shutdown().expect("shutdown");
            exported
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if exported != n {
        eprintln!("[check] {case}: {exported} of {n} spans exported");
        std::process::exit(1);
    }
    println!("[check] {case}: {exported} of {n} spans exported");
}
