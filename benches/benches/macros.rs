//! `#[instrumented]` side by side with its peers, for a function recording 2 attributes
//! (`k1 = x` as an integer, `k2 = "v"`), as in shared/research/perf-baseline.md part A.
//!
//! Cases, in every group where they make sense:
//! - `bare`: the undecorated function;
//! - `raw_otel`: hand-written OpenTelemetry with the same behaviour as the macro: a span
//!   with the 2 attributes, made the current context while the function runs (so that
//!   spans inside are its children), ended after;
//! - `raw_otel_detached`: the same without making the span current (the cheapest
//!   possible span, which cannot parent anything);
//! - `instrumented`: `#[otel_core::instrumented(skip_all, fields(k1 = x, k2 = "v"),
//!   metrics = false)]`; `instrumented_metrics`: the same with metrics on (calls counter
//!   and duration histogram into a `ManualReader` that is never collected);
//! - `tracing_otel`: `#[tracing::instrument(skip_all, fields(k1 = x, k2 = "v"))]` with a
//!   `Registry` + `tracing_opentelemetry` layer on the same tracer provider;
//! - `fastrace`: a root span with the 2 properties set as local parent (fastrace's
//!   `#[trace]` records nothing without a local parent).
//!
//! Groups: `sampled_batch` (the SDK `BatchSpanProcessor`, queue raised to 65 536 so
//! that nothing is dropped, into a discarding exporter), `sampled_simple` (the
//! `SimpleSpanProcessor`: everything on the measured thread, the stable reference on
//! 2 cores), `unsampled_parent` (parent-based sampling under a remote unsampled parent,
//! the production case of a 10% sampled service), `unsampled_root` (`AlwaysOff`, no
//! parent), `disabled` (`OTEL_SDK_DISABLED`; peers without any provider or subscriber),
//! and `nested` (1 parent + 10 children, sampled, simple processor).
//!
//! `raw_otel`, `instrumented` and `tracing_otel` share one tracer provider, installed by
//! `otel_core::Telemetry::builder()`, so they pay for the same processor and exporter.
//! Every group prints how many spans were exported, so a figure can be trusted.
//!
//! Run briefly: `cargo bench -p otel-benches --bench macros -- --warm-up-time 1
//! --measurement-time 2`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::noop::NoopTracerProvider;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::ManualReader;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SimpleSpanProcessor};
use otel_benches::{work, DiscardExporter};
use otel_core::config::SamplerConfig;
use otel_core::TelemetryGuard;
use tracing_subscriber::layer::SubscriberExt as _;

const X: u64 = 41;

// ---------------------------------------------------------------------------------------
// The measured functions.

#[otel_core::instrumented(skip_all, fields(k1 = x, k2 = "v"), metrics = false)]
#[inline(never)]
fn instrumented(x: u64) -> u64 {
    work(x)
}

#[otel_core::instrumented(skip_all, fields(k1 = x, k2 = "v"))]
#[inline(never)]
fn instrumented_metrics(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument(skip_all, fields(k1 = x, k2 = "v"))]
#[inline(never)]
fn tracing_otel(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn raw_otel(tracer: &SdkTracer, x: u64) -> u64 {
    let span = tracer
        .span_builder("raw_otel")
        .with_attributes([KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _current = cx.clone().attach();
    let out = work(x);
    cx.span().end();
    out
}

#[inline(never)]
fn raw_otel_detached<T: Tracer>(tracer: &T, x: u64) -> u64 {
    use opentelemetry::trace::Span as _;
    let mut span = tracer
        .span_builder("raw_otel_detached")
        .with_attributes([KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")])
        .start(tracer);
    let out = work(x);
    span.end();
    out
}

#[inline(never)]
fn fastrace_root(x: u64) -> u64 {
    let root = fastrace::Span::root("fastrace_root", fastrace::prelude::SpanContext::random())
        .with_properties(|| [("k1", x.to_string()), ("k2", "v".to_owned())]);
    let _parent = root.set_local_parent();
    work(x)
}

#[fastrace::trace(properties = { "k1": "{x}", "k2": "v" })]
#[inline(never)]
fn fastrace_child(x: u64) -> u64 {
    work(x)
}

// Nested: 1 parent + 10 children.

#[otel_core::instrumented(skip_all, fields(k1 = x), metrics = false)]
#[inline(never)]
fn child(x: u64) -> u64 {
    work(x)
}

#[otel_core::instrumented(skip_all, fields(k1 = x), metrics = false)]
#[inline(never)]
fn parent(x: u64) -> u64 {
    (0..10).map(|i| child(x + i)).sum()
}

#[otel_core::instrumented(skip_all, fields(k1 = x))]
#[inline(never)]
fn child_metrics(x: u64) -> u64 {
    work(x)
}

#[otel_core::instrumented(skip_all, fields(k1 = x))]
#[inline(never)]
fn parent_metrics(x: u64) -> u64 {
    (0..10).map(|i| child_metrics(x + i)).sum()
}

#[tracing::instrument(skip_all, fields(k1 = x))]
#[inline(never)]
fn tracing_child(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument(skip_all, fields(k1 = x))]
#[inline(never)]
fn tracing_parent(x: u64) -> u64 {
    (0..10).map(|i| tracing_child(x + i)).sum()
}

#[inline(never)]
fn raw_parent(tracer: &SdkTracer, x: u64) -> u64 {
    let span = tracer
        .span_builder("raw_parent")
        .with_attributes([KeyValue::new("k1", x as i64)])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _current = cx.clone().attach();
    let out = (0..10).map(|i| raw_child(tracer, x + i)).sum();
    cx.span().end();
    out
}

#[inline(never)]
fn raw_child(tracer: &SdkTracer, x: u64) -> u64 {
    let span = tracer
        .span_builder("raw_child")
        .with_attributes([KeyValue::new("k1", x as i64)])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _current = cx.clone().attach();
    let out = work(x);
    cx.span().end();
    out
}

#[fastrace::trace(properties = { "k1": "{x}" })]
#[inline(never)]
fn fastrace_nested_child(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn fastrace_nested(x: u64) -> u64 {
    let root = fastrace::Span::root("fastrace_parent", fastrace::prelude::SpanContext::random())
        .with_properties(|| [("k1", x.to_string())]);
    let _parent = root.set_local_parent();
    (0..10).map(|i| fastrace_nested_child(x + i)).sum()
}

// ---------------------------------------------------------------------------------------
// Pipelines.

#[derive(Clone, Copy)]
enum Processor {
    Batch,
    Simple,
}

struct Pipeline {
    guard: TelemetryGuard,
    exporter: DiscardExporter,
    tracer: SdkTracer,
}

impl Pipeline {
    fn new(sampler: SamplerConfig, processor: Processor) -> Pipeline {
        let exporter = DiscardExporter::default();
        let builder = otel_core::Telemetry::builder()
            .env(|_| None)
            .traces_exporters([])
            .metrics_exporters([])
            .logs_exporters([])
            .quiet(true)
            .sampler(sampler)
            .with_metric_reader(ManualReader::builder().build());
        let builder = match processor {
            Processor::Batch => builder.with_span_processor(
                BatchSpanProcessor::builder(exporter.clone())
                    .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(65_536).build())
                    .build(),
            ),
            Processor::Simple => builder.with_span_processor(SimpleSpanProcessor::new(exporter.clone())),
        };
        let guard = builder.init().expect("benchmark pipeline");
        let tracer = guard
            .tracer_provider()
            .expect("a tracer provider is installed")
            .tracer("otel-benches-raw");
        Pipeline {
            guard,
            exporter,
            tracer,
        }
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(self.tracer.clone()))
    }

    fn report(self, group: &str) {
        let _ = self.guard.force_flush();
        println!(
            "[check] {group}: {} spans exported (all cases of the group together)",
            self.exporter.exported()
        );
        drop(self.guard);
    }
}

#[derive(Clone, Default)]
struct FastraceCounter(Arc<AtomicU64>);

impl fastrace::collector::Reporter for FastraceCounter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        self.0.fetch_add(spans.len() as u64, Ordering::Relaxed);
    }
}

fn single_span_cases(c: &mut Criterion, group: &str, pipeline: &Pipeline) {
    let mut g = c.benchmark_group(group);
    g.bench_function("bare", |b| b.iter(|| work(black_box(X))));
    g.bench_function("raw_otel", |b| {
        b.iter(|| raw_otel(&pipeline.tracer, black_box(X)))
    });
    g.bench_function("raw_otel_detached", |b| {
        b.iter(|| raw_otel_detached(&pipeline.tracer, black_box(X)))
    });
    g.bench_function("instrumented", |b| b.iter(|| instrumented(black_box(X))));
    g.bench_function("instrumented_metrics", |b| {
        b.iter(|| instrumented_metrics(black_box(X)))
    });
    tracing::subscriber::with_default(pipeline.subscriber(), || {
        g.bench_function("tracing_otel", |b| b.iter(|| tracing_otel(black_box(X))));
    });
    g.finish();
}

fn sampled(c: &mut Criterion) {
    let pipeline = Pipeline::new(SamplerConfig::AlwaysOn, Processor::Batch);
    single_span_cases(c, "sampled_batch", &pipeline);
    let mut g = c.benchmark_group("sampled_batch");
    g.bench_function("fastrace", |b| b.iter(|| fastrace_root(black_box(X))));
    g.finish();
    pipeline.report("sampled_batch");

    let pipeline = Pipeline::new(SamplerConfig::AlwaysOn, Processor::Simple);
    single_span_cases(c, "sampled_simple", &pipeline);
    pipeline.report("sampled_simple");
}

fn unsampled(c: &mut Criterion) {
    let pipeline = Pipeline::new(SamplerConfig::ParentBasedAlwaysOn, Processor::Simple);
    let remote = SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _parent = Context::new().with_remote_span_context(remote).attach();
    single_span_cases(c, "unsampled_parent", &pipeline);
    let mut g = c.benchmark_group("unsampled_parent");
    // fastrace's `#[trace]` without a local parent: nothing is recorded.
    g.bench_function("fastrace", |b| b.iter(|| fastrace_child(black_box(X))));
    g.finish();
    drop(_parent);
    pipeline.report("unsampled_parent");

    let pipeline = Pipeline::new(SamplerConfig::AlwaysOff, Processor::Simple);
    let mut g = c.benchmark_group("unsampled_root");
    g.bench_function("raw_otel", |b| {
        b.iter(|| raw_otel(&pipeline.tracer, black_box(X)))
    });
    g.bench_function("instrumented", |b| b.iter(|| instrumented(black_box(X))));
    g.finish();
    pipeline.report("unsampled_root");
}

fn disabled(c: &mut Criterion) {
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .disabled(true)
        .quiet(true)
        .init()
        .expect("disabled pipeline");
    let noop = NoopTracerProvider::new().tracer("noop");
    let mut g = c.benchmark_group("disabled");
    g.bench_function("bare", |b| b.iter(|| work(black_box(X))));
    g.bench_function("instrumented", |b| b.iter(|| instrumented(black_box(X))));
    g.bench_function("instrumented_metrics", |b| {
        b.iter(|| instrumented_metrics(black_box(X)))
    });
    g.bench_function("raw_otel_noop_tracer", |b| {
        b.iter(|| raw_otel_detached(&noop, black_box(X)))
    });
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        g.bench_function("tracing_no_subscriber", |b| b.iter(|| tracing_otel(black_box(X))));
    });
    g.bench_function("fastrace_no_parent", |b| b.iter(|| fastrace_child(black_box(X))));
    g.finish();
    drop(guard);
}

fn nested(c: &mut Criterion) {
    let pipeline = Pipeline::new(SamplerConfig::AlwaysOn, Processor::Simple);
    let mut g = c.benchmark_group("nested");
    g.bench_function("bare", |b| {
        b.iter(|| (0..10).map(|i| work(black_box(X) + i)).sum::<u64>())
    });
    g.bench_function("raw_otel", |b| {
        b.iter(|| raw_parent(&pipeline.tracer, black_box(X)))
    });
    g.bench_function("instrumented", |b| b.iter(|| parent(black_box(X))));
    g.bench_function("instrumented_metrics", |b| {
        b.iter(|| parent_metrics(black_box(X)))
    });
    tracing::subscriber::with_default(pipeline.subscriber(), || {
        g.bench_function("tracing_otel", |b| b.iter(|| tracing_parent(black_box(X))));
    });
    g.bench_function("fastrace", |b| b.iter(|| fastrace_nested(black_box(X))));
    g.finish();
    pipeline.report("nested");
}

fn all(c: &mut Criterion) {
    let fastrace_spans = FastraceCounter::default();
    fastrace::set_reporter(fastrace_spans.clone(), fastrace::collector::Config::default());
    sampled(c);
    unsampled(c);
    disabled(c);
    nested(c);
    fastrace::flush();
    println!(
        "[check] fastrace: {} spans reported (its collector may not have drained them all)",
        fastrace_spans.0.load(Ordering::Relaxed)
    );
}

criterion_group!(benches, all);
criterion_main!(benches);
