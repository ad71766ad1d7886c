//! `in_span` without `init()`: nothing installed, then a provider installed by hand in
//! `opentelemetry::global`, then another one replacing it. Its own process, and one
//! test: each step changes process-wide state.

use otel_core::opentelemetry::global;
use otel_core::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use otel_core::opentelemetry::Context;
use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
use otel_core::testing::SpanRecorder;

fn install() -> SpanRecorder {
    let exporter = SpanRecorder::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(exporter.processor())
        .build();
    global::set_tracer_provider(provider);
    exporter
}

#[test]
fn helpers_follow_the_global_provider() {
    // Nothing installed: no span, twice (the second call knows the provider is a no-op).
    for _ in 0..2 {
        assert_eq!(otel_core::in_span("work", otel_core::current_span_id), None);
    }
    // A no-op provider still hands a valid parent on to the code inside.
    let remote = SpanContext::new(
        TraceId::from(0xabcd_u128),
        SpanId::from(0x42_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    {
        let _parent = Context::new().with_remote_span_context(remote).attach();
        let seen = otel_core::in_span("work", otel_core::current_trace_id);
        assert_eq!(seen.as_deref(), Some("0000000000000000000000000000abcd"));
    }

    let first = install();
    assert!(otel_core::in_span("work", otel_core::current_span_id).is_some());
    assert_eq!(first.spans().len(), 1);

    let second = install();
    otel_core::in_span("work", || ());
    otel_core::in_span("work", || ());
    assert_eq!(second.spans().len(), 2);
    assert_eq!(
        first.spans().len(),
        1,
        "nothing more went to the replaced provider"
    );
}
