//! `otel_core::tracing_layer()` without a provider, with a provider installed by hand in
//! `opentelemetry::global`, and with telemetry disabled. Its own process, and one test:
//! each step changes process-wide state.

use otel_core::opentelemetry::global;
use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
use otel_core::testing::SpanRecorder;
use tracing_subscriber::layer::SubscriberExt as _;

fn traced_work() -> Option<String> {
    let subscriber = tracing_subscriber::registry().with(otel_core::tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("work", n = 1_i64).in_scope(|| {
            tracing::info!("inside");
            otel_core::current_span_id()
        })
    })
}

#[test]
fn no_provider_then_a_global_one_then_disabled() {
    // Nothing installed: the global provider is the no-op one.
    assert_eq!(traced_work(), None, "no provider, no span");

    // A provider installed by hand in `opentelemetry::global` (no `init()`): used.
    let exporter = SpanRecorder::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(exporter.processor())
        .build();
    global::set_tracer_provider(provider);
    let id = traced_work().expect("a span from the global provider");
    let spans = exporter.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "work");
    assert_eq!(spans[0].span_context.span_id().to_string(), id);
    assert_eq!(spans[0].events.events.len(), 1);

    // `OTEL_SDK_DISABLED=true`: nothing, even though a global provider exists.
    let _guard = otel_core::Telemetry::builder()
        .env(|key| (key == "OTEL_SDK_DISABLED").then(|| "true".to_owned()))
        .quiet(true)
        .init()
        .expect("a disabled pipeline starts");
    assert!(!otel_core::is_enabled());
    exporter.clear();
    assert_eq!(traced_work(), None);
    assert!(exporter.spans().is_empty());
}
