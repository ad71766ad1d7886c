//! HTTP server layers side by side: an axum hello-world route called in-process
//! (`oneshot`, body collected), bare and under each layer.
//!
//! Setup (as in shared/research/perf-baseline.md part B): one global
//! `SdkTracerProvider` with a `SimpleSpanProcessor` into a discarding, counting
//! exporter (all work stays on the measured thread, so figures are stable on 2 cores),
//! `AlwaysOn` sampling, an `SdkMeterProvider` with a `ManualReader` that is never
//! collected, and the W3C propagator. Every request is `GET /users/42` with a
//! `traceparent`. The spans exported per case are printed so a figure can be trusted.
//!
//! Cases: bare; `otel_tower::HttpServerLayer` (traces + metrics); tower-http
//! `TraceLayer` + tracing-opentelemetry; opentelemetry-instrumentation-tower;
//! axum-tracing-opentelemetry; a minimal hand-written raw-OpenTelemetry layer (one
//! span, one histogram).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context as TaskContext, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Path};
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, Criterion};
use http_body_util::BodyExt;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::Histogram;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
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

// ---------------------------------------------------------------------------
// The minimal hand-written layer: extract, one SERVER span with 5 attributes, one
// histogram measurement with 3 attributes, ended when the response future resolves.

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[derive(Clone)]
struct RawLayer {
    tracer: Arc<BoxedTracer>,
    duration: Histogram<f64>,
}

impl RawLayer {
    fn new() -> Self {
        Self {
            tracer: Arc::new(global::tracer("raw")),
            duration: global::meter("raw")
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .build(),
        }
    }
}

impl<S> tower::Layer<S> for RawLayer {
    type Service = RawService<S>;
    fn layer(&self, inner: S) -> RawService<S> {
        RawService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
struct RawService<S> {
    inner: S,
    layer: RawLayer,
}

impl<S, B> tower::Service<http::Request<B>> for RawService<S>
where
    S: tower::Service<http::Request<B>, Response = axum::response::Response>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RawFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let parent = global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let method = req.method().as_str().to_owned();
        let span = self
            .layer
            .tracer
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.clone()),
                KeyValue::new("url.path", req.uri().path().to_owned()),
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("http.route", route.clone()),
                KeyValue::new("network.protocol.version", "1.1"),
            ])
            .start_with_context(&*self.layer.tracer, &parent);
        let cx = parent.with_span(span);
        let inner = {
            let _guard = cx.clone().attach();
            self.inner.call(req)
        };
        RawFuture {
            inner,
            cx,
            start: Instant::now(),
            duration: self.layer.duration.clone(),
            method,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    struct RawFuture<F> {
        #[pin]
        inner: F,
        cx: Context,
        start: Instant,
        duration: Histogram<f64>,
        method: String,
        route: String,
    }
}

impl<F, E> Future for RawFuture<F>
where
    F: Future<Output = Result<axum::response::Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = {
            let _guard = this.cx.clone().attach();
            ready!(this.inner.poll(task))
        };
        let status = out.as_ref().map_or(500, |r| r.status().as_u16());
        let span = this.cx.span();
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
        span.end();
        this.duration.record(
            this.start.elapsed().as_secs_f64(),
            &[
                KeyValue::new("http.request.method", this.method.clone()),
                KeyValue::new("http.route", this.route.clone()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ],
        );
        Poll::Ready(out)
    }
}

// ---------------------------------------------------------------------------

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
    global::set_text_map_propagator(TraceContextPropagator::new());
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
