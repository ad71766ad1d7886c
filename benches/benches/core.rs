//! `otel_core::in_span_with` against the same span written by hand with the
//! OpenTelemetry API, and the disabled path against a bare call.
//!
//! Both sides use a `SimpleSpanProcessor` with a discarding exporter: the batch
//! processor's export thread makes nanosecond figures swing 1.5-2.5x between runs on a
//! 2-core machine (see shared/research/perf-baseline.md), while the simple processor
//! keeps all work on the measured thread. The exported-span counts are printed so a
//! figure can be trusted.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use otel_benches::{hand_written_span, otel_core_pipeline, work, DiscardExporter};

fn sampled(c: &mut Criterion) {
    let mut group = c.benchmark_group("span_2_attributes");

    let hand = DiscardExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(hand.clone()))
        .build();
    let tracer = provider.tracer("bench");
    group.bench_function("hand_written_otel", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            hand_written_span(&tracer, x)
        })
    });

    let ours = DiscardExporter::default();
    let guard = otel_core_pipeline(&ours);
    group.bench_function("otel_core_in_span_with", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            otel_core::in_span_with(
                "op",
                [KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")],
                || work(x),
            )
        })
    });
    group.finish();
    drop(guard);
    eprintln!(
        "[check] spans exported: hand_written_otel={} otel_core_in_span_with={}",
        hand.exported(),
        ours.exported()
    );
}

fn disabled(c: &mut Criterion) {
    let mut group = c.benchmark_group("disabled");
    group.bench_function("bare_call", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            work(x)
        })
    });
    group.bench_function("bare_call_plus_building_2_attributes", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            let attrs = [KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")];
            std::hint::black_box(&attrs);
            work(x)
        })
    });
    let guard = otel_core::Telemetry::builder()
        .disabled(true)
        .quiet(true)
        .init()
        .expect("init");
    group.bench_function("otel_core_in_span", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            otel_core::in_span("op", || work(x))
        })
    });
    group.bench_function("otel_core_in_span_with", |b| {
        let mut x = 0u64;
        b.iter(|| {
            x += 1;
            otel_core::in_span_with(
                "op",
                [KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")],
                || work(x),
            )
        })
    });
    group.finish();
    drop(guard);
}

criterion_group!(benches, sampled, disabled);
criterion_main!(benches);
