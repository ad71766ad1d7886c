//! Without `otel_core::init()` (or `testing::install()`), the macros use whatever is
//! installed in `opentelemetry::global`, and follow it when it is replaced.
//! (Own test binary: it must never install the toolkit's state.)
#![cfg(not(otel_noop))]

use std::sync::Arc;

use otel_core::opentelemetry::trace::Status;
use otel_core::opentelemetry::{global, KeyValue, Value};
use otel_core::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use otel_core::opentelemetry_sdk::metrics::reader::MetricReader;
use otel_core::opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
use otel_core::testing::SpanRecorder;
use otel_macros::instrumented;

use otel_core::export::SharedReader;

/// Total of `function.calls` for `result`.
fn calls(reader: &SharedReader, result: &str) -> u64 {
    let mut rm = ResourceMetrics::default();
    if reader.collect(&mut rm).is_err() {
        return 0;
    }
    let result = KeyValue::new("result", result.to_owned());
    let mut total = 0;
    for scope in rm.scope_metrics() {
        for metric in scope.metrics().filter(|m| m.name() == "function.calls") {
            if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                total += sum
                    .data_points()
                    .filter(|p| p.attributes().any(|kv| *kv == result))
                    .map(|p| p.value())
                    .sum::<u64>();
            }
        }
    }
    total
}

fn pipeline() -> (SpanRecorder, SharedReader) {
    let spans = SpanRecorder::default();
    let reader = SharedReader::new(Arc::new(ManualReader::builder().build()));
    global::set_tracer_provider(
        SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build(),
    );
    global::set_meter_provider(SdkMeterProvider::builder().with_reader(reader.clone()).build());
    (spans, reader)
}

#[instrumented(fields(job.kind = "import"))]
fn job(rows: u32) -> Result<u32, std::fmt::Error> {
    if rows == 0 {
        return Err(std::fmt::Error);
    }
    Ok(rows)
}

#[test]
fn global_providers_are_used_and_followed() {
    // Nothing installed yet: the global no-op providers, and no panic.
    assert_eq!(job(1).ok(), Some(1));

    let (first_spans, first_reader) = pipeline();
    assert_eq!(job(2).ok(), Some(2));
    assert!(job(0).is_err());
    let spans = first_spans.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].name, "job");
    assert_eq!(spans[0].instrumentation_scope.name(), "otel-macros");
    let rows = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "rows");
    assert_eq!(rows.map(|kv| &kv.value), Some(&Value::I64(2)));
    assert_eq!(
        spans[1].status,
        Status::error("an error occurred when formatting an argument")
    );
    assert_eq!(calls(&first_reader, "ok"), 1);
    assert_eq!(calls(&first_reader, "error"), 1);

    // A new global pipeline replaces the cached instruments and tracer.
    let (second_spans, second_reader) = pipeline();
    assert_eq!(job(3).ok(), Some(3));
    assert_eq!(second_spans.spans().len(), 1);
    assert_eq!(
        first_spans.spans().len(),
        2,
        "nothing more went to the old pipeline"
    );
    assert_eq!(calls(&second_reader, "ok"), 1);
    assert_eq!(calls(&first_reader, "ok"), 1);
}
