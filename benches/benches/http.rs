//! HTTP server layers side by side: an axum hello-world route called in-process
//! (`oneshot`, body collected), bare and under each layer.
//!
//! Setup (as in shared/research/perf-baseline.md part B): one global
//! `SdkTracerProvider` with a `SimpleSpanProcessor` into a discarding, counting
//! exporter (all work stays on the measured thread, so figures are stable on 2 cores),
//! `AlwaysOn` sampling, an `SdkMeterProvider` with a `ManualReader` that is never
//! collected, and `otel_core::propagation::Propagator` (what `init()` installs: W3C
//! trace context and baggage). Every request is `GET /users/42` with a
//! `traceparent`. The spans exported per case are printed so a figure can be trusted.
//!
//! Cases: bare; `otel_tower::HttpServerLayer` (traces + metrics); tower-http
//! `TraceLayer` + tracing-opentelemetry; opentelemetry-instrumentation-tower;
//! axum-tracing-opentelemetry; a minimal hand-written raw-OpenTelemetry layer (one
//! span, one histogram; `otel_benches::raw_layer`).

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, Criterion};
use http_body_util::BodyExt;
use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use otel_benches::raw_layer::RawLayer;
use otel_benches::DiscardExporter;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn router() -> Router {
    Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { format!("user {id}") }),
    )
}

fn request() -> http::Request<axum::body::Body> {
    http::Request::get("/users/42")
        .header(http::header::HOST, "127.0.0.1:3000")
        .header("traceparent", TRACEPARENT)
        .body(axum::body::Body::empty())
        .expect("request")
}

async fn call(router: &Router) -> usize {
    let response = router.clone().oneshot(request()).await.expect("infallible");
    assert_eq!(response.status(), 200);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .len()
}

/// Installs the global providers every case uses; returns the exporter (to count
/// spans), the tracer provider (for the tracing-opentelemetry cases) and the meter
/// provider (kept alive).
fn install() -> (DiscardExporter, SdkTracerProvider, SdkMeterProvider) {
    let exporter = DiscardExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build();
    global::set_tracer_provider(provider.clone());
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    global::set_meter_provider(meter_provider.clone());
    // The propagator `init()` installs, as users run it.
    global::set_text_map_propagator(otel_core::propagation::Propagator::default());
    (exporter, provider, meter_provider)
}

/// The cases, in report order: (name, router, needs the tracing subscriber).
fn cases() -> Vec<(&'static str, Router, bool)> {
    vec![
        ("bare", router(), false),
        (
            "otel_tower_HttpServerLayer",
            router().layer(otel_tower::HttpServerLayer::new()),
            false,
        ),
        (
            "otel_tower_HttpServerLayer_all_metrics",
            router().layer(
                otel_tower::HttpServerLayer::new()
                    .active_requests(true)
                    .body_size_metrics(true),
            ),
            false,
        ),
        ("hand_written_raw_otel", router().layer(RawLayer::new()), false),
        (
            "opentelemetry_instrumentation_tower",
            router().layer(opentelemetry_instrumentation_tower::http::server::Layer::new()),
            false,
        ),
        (
            "tower_http_TraceLayer_tracing_opentelemetry",
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
            true,
        ),
        (
            "axum_tracing_opentelemetry",
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            true,
        ),
    ]
}

fn tracing_subscriber_for(provider: &SdkTracerProvider) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tracing")))
}

fn http_layers(c: &mut Criterion) {
    let (exporter, provider, _meters) = install();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("http_server_layer");
    let mut report: Vec<(&str, u64, u64)> = Vec::new();
    for (name, router, needs_tracing) in cases() {
        let _dispatch =
            needs_tracing.then(|| tracing::subscriber::set_default(tracing_subscriber_for(&provider)));
        let before = exporter.exported();
        let calls = std::cell::Cell::new(0u64);
        group.bench_function(name, |b| {
            b.iter(|| {
                calls.set(calls.get() + 1);
                rt.block_on(call(&router))
            })
        });
        report.push((name, calls.get(), exporter.exported() - before));
    }
    group.finish();

    eprintln!("\nspans exported per case (processor: simple, exporter: discard):");
    for (name, calls, exported) in &report {
        eprintln!("  {name:<45} requests={calls:<10} spans exported={exported}");
    }
}

/// `HTTP_BENCH_CASE=name HTTP_BENCH_ITERS=n`: runs one case n times and exits, for
/// instruction counts under `valgrind --tool=callgrind` (Ir per request is
/// (Ir(n2) - Ir(n1)) / (n2 - n1)).
fn fixed_iterations(case: &str, iterations: u64) {
    let (exporter, provider, _meters) = install();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let Some((name, router, needs_tracing)) = cases().into_iter().find(|(n, _, _)| *n == case) else {
        eprintln!("unknown case {case:?}");
        std::process::exit(2);
    };
    let _dispatch =
        needs_tracing.then(|| tracing::subscriber::set_default(tracing_subscriber_for(&provider)));
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += rt.block_on(call(&router));
    }
    eprintln!(
        "{name}: {iterations} requests, {bytes} body bytes, {} spans exported",
        exporter.exported()
    );
}

criterion_group!(benches, http_layers);

fn main() {
    match (
        std::env::var("HTTP_BENCH_CASE"),
        std::env::var("HTTP_BENCH_ITERS"),
    ) {
        (Ok(case), Ok(iters)) => fixed_iterations(&case, iters.parse().unwrap_or(1000)),
        _ => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
