//! `otel_core::tracing_layer()` side by side with `tracing-opentelemetry`, for the same
//! span shape: a `tracing` parent span with one child, each with 2 fields (`k1 = x` as
//! an integer, `k2 = "v"` as a `&str`), both entered around [`work`].
//!
//! Cases:
//! - `bare`: [`work`] alone;
//! - `registry_only`: the spans with a `tracing_subscriber::Registry` and no layer (the
//!   floor any `tracing` layer starts from);
//! - `raw_otel`: the same 2 spans written by hand with the OpenTelemetry API, each made
//!   current (what the layer has to do, without `tracing`);
//! - `otel_core`: `Registry` + `otel_core::tracing_layer()`;
//! - `tracing_otel`: `Registry` + `tracing_opentelemetry::layer()` configured to record
//!   the same attributes (no location, thread, target or busy/idle attributes);
//! - `tracing_otel_defaults`: `tracing_opentelemetry::layer()` with its defaults, as most
//!   services run it (location, thread, target, busy/idle).
//!
//! Every case that exports runs on its own pipeline, installed by
//! `otel_core::Telemetry::builder()` with the SDK `BatchSpanProcessor` (queue raised to
//! 262 144 so that nothing is dropped) into a discarding exporter; each prints how many
//! spans were exported against how many were started.
//!
//! Criterion: `cargo bench -p otel-benches --bench tracing_layer -- --warm-up-time 1
//! --measurement-time 3`. Instruction counts: build with `cargo bench -p otel-benches
//! --bench tracing_layer --no-run`, then run the binary under
//! `valgrind --tool=callgrind` with `IR_CASE=<case> IR_N=<n>` in the environment, for
//! n = 10000 and 40000: Ir/op = ΔIr / 30000. `IR_CASE` also takes `otel_core_unsampled`
//! and `tracing_otel_unsampled` (under a remote unsampled parent, parent-based sampler)
//! and `otel_core_disabled` (`OTEL_SDK_DISABLED`).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::ManualReader;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracer};
use otel_benches::{work, DiscardExporter};
use otel_core::config::SamplerConfig;
use otel_core::TelemetryGuard;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;

const X: i64 = 41;
const QUEUE: usize = 262_144;

#[inline(never)]
fn traced(x: i64) -> u64 {
    let parent = tracing::info_span!("parent", k1 = x, k2 = "v");
    let _parent = parent.enter();
    let child = tracing::info_span!("child", k1 = x, k2 = "v");
    let _child = child.enter();
    work(x as u64)
}

#[inline(never)]
fn raw_otel(tracer: &SdkTracer, x: i64) -> u64 {
    let start = |name: &'static str| {
        let span = tracer
            .span_builder(name)
            .with_attributes([KeyValue::new("k1", x), KeyValue::new("k2", "v")])
            .start(tracer);
        Context::current_with_span(span)
    };
    let parent = start("parent");
    let parent_guard = parent.clone().attach();
    let child = start("child");
    let child_guard = child.clone().attach();
    let out = work(x as u64);
    drop(child_guard);
    child.span().end();
    drop(parent_guard);
    parent.span().end();
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    Bare,
    RegistryOnly,
    RawOtel,
    OtelCore,
    TracingOtel,
    TracingOtelDefaults,
}

impl Case {
    const ALL: [Case; 6] = [
        Case::Bare,
        Case::RegistryOnly,
        Case::RawOtel,
        Case::OtelCore,
        Case::TracingOtel,
        Case::TracingOtelDefaults,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::Bare => "bare",
            Case::RegistryOnly => "registry_only",
            Case::RawOtel => "raw_otel",
            Case::OtelCore => "otel_core",
            Case::TracingOtel => "tracing_otel",
            Case::TracingOtelDefaults => "tracing_otel_defaults",
        }
    }

    /// Spans exported per operation.
    fn spans(self) -> u64 {
        match self {
            Case::Bare | Case::RegistryOnly => 0,
            _ => 2,
        }
    }

    fn dispatch(self, tracer: &SdkTracer) -> Dispatch {
        let registry = tracing_subscriber::registry();
        match self {
            Case::Bare | Case::RawOtel | Case::RegistryOnly => Dispatch::new(registry),
            Case::OtelCore => Dispatch::new(registry.with(otel_core::tracing_layer())),
            Case::TracingOtel => Dispatch::new(
                registry.with(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer.clone())
                        .with_location(false)
                        .with_threads(false)
                        .with_target(false)
                        .with_tracked_inactivity(false),
                ),
            ),
            Case::TracingOtelDefaults => {
                Dispatch::new(registry.with(tracing_opentelemetry::layer().with_tracer(tracer.clone())))
            }
        }
    }

    fn run(self, tracer: &SdkTracer, iters: u64) {
        match self {
            Case::Bare => {
                for _ in 0..iters {
                    black_box(work(black_box(X) as u64));
                }
            }
            Case::RawOtel => {
                for _ in 0..iters {
                    black_box(raw_otel(tracer, black_box(X)));
                }
            }
            _ => {
                for _ in 0..iters {
                    black_box(traced(black_box(X)));
                }
            }
        }
    }
}

struct Pipeline {
    guard: TelemetryGuard,
    exporter: DiscardExporter,
    tracer: SdkTracer,
}

impl Pipeline {
    fn new(sampler: SamplerConfig, disabled: bool) -> Pipeline {
        let exporter = DiscardExporter::default();
        let guard = otel_core::Telemetry::builder()
            .env(|_| None)
            .disabled(disabled)
            .traces_exporters([])
            .metrics_exporters([])
            .logs_exporters([])
            .quiet(true)
            .sampler(sampler)
            .with_metric_reader(ManualReader::builder().build())
            .with_span_processor(
                BatchSpanProcessor::builder(exporter.clone())
                    .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(QUEUE).build())
                    .build(),
            )
            .init()
            .expect("benchmark pipeline");
        let tracer = match guard.tracer_provider() {
            Some(provider) => provider.tracer("otel-benches-raw"),
            None => opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .build()
                .tracer("disabled"),
        };
        Pipeline {
            guard,
            exporter,
            tracer,
        }
    }

    /// Flushes and prints exported against expected spans, so a figure can be trusted.
    fn check(self, case: &str, expected: u64) {
        let _ = self.guard.force_flush();
        let exported = self.exporter.exported();
        let verdict = if exported == expected { "ok" } else { "MISMATCH" };
        println!("[check] {case}: {exported} spans exported, {expected} started: {verdict}");
        drop(self.guard);
    }
}

fn unsampled_parent() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    ))
}

/// `IR_CASE`/`IR_N`: run one case `n` times for callgrind, then exit.
fn instruction_count_run(case: &str, n: u64) {
    let (base, sampler, disabled, parent) = match case {
        "otel_core_unsampled" => (Case::OtelCore, SamplerConfig::ParentBasedAlwaysOn, false, true),
        "tracing_otel_unsampled" => (Case::TracingOtel, SamplerConfig::ParentBasedAlwaysOn, false, true),
        "otel_core_disabled" => (Case::OtelCore, SamplerConfig::AlwaysOn, true, false),
        other => match Case::ALL.into_iter().find(|c| c.name() == other) {
            Some(c) => (c, SamplerConfig::AlwaysOn, false, false),
            None => {
                eprintln!("unknown IR_CASE {other:?}");
                std::process::exit(2);
            }
        },
    };
    let pipeline = Pipeline::new(sampler, disabled);
    let dispatch = base.dispatch(&pipeline.tracer);
    let _parent = parent.then(|| unsampled_parent().attach());
    tracing::dispatcher::with_default(&dispatch, || base.run(&pipeline.tracer, n));
    let expected = if parent || disabled { 0 } else { base.spans() * n };
    pipeline.check(case, expected);
}

fn side_by_side(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracing_layer");
    for case in Case::ALL {
        let pipeline = Pipeline::new(SamplerConfig::AlwaysOn, false);
        let dispatch = case.dispatch(&pipeline.tracer);
        let mut total = 0;
        tracing::dispatcher::with_default(&dispatch, || {
            g.bench_function(case.name(), |b| {
                b.iter_custom(|iters| {
                    total += iters;
                    let started = Instant::now();
                    case.run(&pipeline.tracer, iters);
                    started.elapsed()
                })
            });
        });
        pipeline.check(case.name(), case.spans() * total);
    }
    g.finish();
}

criterion_group!(benches, side_by_side);

fn main() {
    if let (Ok(case), Ok(n)) = (std::env::var("IR_CASE"), std::env::var("IR_N")) {
        let n = n.parse().unwrap_or(10_000);
        instruction_count_run(&case, n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
