//! The batch span processor's own metrics, after the OpenTelemetry semantic conventions
//! for SDK self-observability:
//!
//! | instrument | kind | what |
//! |:-|:-|:-|
//! | `otel.sdk.processor.span.processed` | counter | spans handed to the exporter; with `error.type` = `queue_full` those dropped because the queue was full, `already_shutdown` those ended after shutdown or still queued when its deadline passed |
//! | `otel.sdk.processor.span.queue.size` | up-down counter | spans waiting, per processor |
//! | `otel.sdk.processor.span.queue.capacity` | up-down counter | the most spans that may wait, per processor |
//! | `otel.sdk.exporter.span.exported` | counter | spans whose export finished; with `error.type` = `_OTHER` those whose export failed or timed out |
//!
//! The processor instruments carry `otel.component.type` = `batching_span_processor`,
//! the queue instruments also `otel.component.name` = `batching_span_processor/N`. The
//! counts are the ones [`crate::status()`] reports, read at each collection; the
//! exporter's failure cause is in `telemetry_status()`'s last error, so `error.type`
//! stays one bounded value.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_semantic_conventions::attribute::{ERROR_TYPE, OTEL_COMPONENT_NAME, OTEL_COMPONENT_TYPE};
use opentelemetry_semantic_conventions::metric::{
    OTEL_SDK_EXPORTER_SPAN_EXPORTED, OTEL_SDK_PROCESSOR_SPAN_PROCESSED,
    OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY, OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
};

use crate::export::stats::SignalStats;

/// The `otel.component.type` of our processor (the semantic conventions' own value).
const COMPONENT_TYPE: &str = "batching_span_processor";

/// Registers the instruments on `provider` when a batch span processor reports to
/// `stats`. Observable: the callbacks read the counters at each collection for as long
/// as the provider lives.
pub(crate) fn register(provider: &SdkMeterProvider, stats: &Arc<SignalStats>) {
    if !stats.has_queues() {
        return;
    }
    let scope = InstrumentationScope::builder(crate::span::SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let meter = provider.meter_with_scope(scope);

    let counts = stats.clone();
    let processed = KeyValue::new(OTEL_COMPONENT_TYPE, COMPONENT_TYPE);
    let queue_full = [processed.clone(), KeyValue::new(ERROR_TYPE, "queue_full")];
    let already_shutdown = [processed.clone(), KeyValue::new(ERROR_TYPE, "already_shutdown")];
    meter
        .u64_observable_counter(OTEL_SDK_PROCESSOR_SPAN_PROCESSED)
        .with_unit("{span}")
        .with_description("Spans whose processing finished: handed to the exporter, or dropped")
        .with_callback(move |observer| {
            let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
            let dropped = load(&counts.dropped);
            let at_shutdown = load(&counts.dropped_at_shutdown).min(dropped);
            observer.observe(
                load(&counts.exported) + load(&counts.failed_items),
                std::slice::from_ref(&processed),
            );
            // The error series appear once something was dropped: a zero-valued series
            // per error type on every healthy service is noise on a dashboard.
            if dropped > at_shutdown {
                observer.observe(dropped - at_shutdown, &queue_full);
            }
            if at_shutdown > 0 {
                observer.observe(at_shutdown, &already_shutdown);
            }
        })
        .build();

    let counts = stats.clone();
    let failed = [KeyValue::new(ERROR_TYPE, "_OTHER")];
    meter
        .u64_observable_counter(OTEL_SDK_EXPORTER_SPAN_EXPORTED)
        .with_unit("{span}")
        .with_description("Spans whose export finished, successfully or not")
        .with_callback(move |observer| {
            observer.observe(counts.exported.load(Ordering::Relaxed), &[]);
            // Like the drops above: the failure series appears once an export failed.
            let failures = counts.failed_items.load(Ordering::Relaxed);
            if failures > 0 {
                observer.observe(failures, &failed);
            }
        })
        .build();

    observe_queues(
        &meter,
        stats,
        OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
        "Spans waiting for export",
        |(len, _)| len,
    );
    observe_queues(
        &meter,
        stats,
        OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY,
        "The most spans that may wait for export",
        |(_, cap)| cap,
    );
}

/// An up-down counter with one point per processor queue: `pick` of its (size, cap).
fn observe_queues(
    meter: &Meter,
    stats: &Arc<SignalStats>,
    name: &'static str,
    description: &'static str,
    pick: fn((usize, usize)) -> usize,
) {
    let stats = stats.clone();
    meter
        .i64_observable_up_down_counter(name)
        .with_unit("{span}")
        .with_description(description)
        .with_callback(move |observer| {
            for (number, queue) in stats.queues() {
                let value = i64::try_from(pick(queue.queue_size())).unwrap_or(i64::MAX);
                let attributes = [
                    KeyValue::new(OTEL_COMPONENT_TYPE, COMPONENT_TYPE),
                    KeyValue::new(OTEL_COMPONENT_NAME, format!("{COMPONENT_TYPE}/{number}")),
                ];
                observer.observe(value, &attributes);
            }
        })
        .build();
}
