//! Instruction counts per operation under callgrind, which stay stable on a shared,
//! noisy machine where nanoseconds do not:
//!
//! ```sh
//! cargo build --release -p otel-benches --bin ir_core
//! for n in 10000 40000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n target/release/ir_core CASE $n
//! done
//! # Ir/op = (Ir(40000) - Ir(10000)) / 30000
//! ```
//!
//! CASE: `bare`, `hand_written`, `in_span_with`, `disabled_in_span_with`, `disabled_in_span`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use otel_benches::{hand_written_span, otel_core_pipeline, work, DiscardExporter};

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let exporter = DiscardExporter::default();
    let mut sum = 0u64;
    match case.as_str() {
        "bare" => {
            for x in 0..n {
                sum = sum.wrapping_add(work(x));
            }
        }
        "hand_written" => {
            let provider = SdkTracerProvider::builder()
                .with_span_processor(SimpleSpanProcessor::new(exporter.clone()))
                .build();
            let tracer = provider.tracer("bench");
            for x in 0..n {
                sum = sum.wrapping_add(hand_written_span(&tracer, x));
            }
        }
        "in_span_with" => {
            let _guard = otel_core_pipeline(&exporter);
            for x in 0..n {
                sum = sum.wrapping_add(otel_core::in_span_with(
                    "op",
                    [KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")],
                    || work(x),
                ));
            }
        }
        "disabled_in_span_with" | "disabled_in_span" => {
            let _guard = otel_core::Telemetry::builder()
                .disabled(true)
                .quiet(true)
                .init()
                .expect("init");
            for x in 0..n {
                sum = sum.wrapping_add(if case == "disabled_in_span" {
                    otel_core::in_span("op", || work(x))
                } else {
                    otel_core::in_span_with(
                        "op",
                        [KeyValue::new("k1", x as i64), KeyValue::new("k2", "v")],
                        || work(x),
                    )
                });
            }
        }
        other => {
            eprintln!("unknown case {other:?}");
            std::process::exit(2);
        }
    }
    println!("{case} n={n} sum={sum} exported={}", exporter.exported());
}
