//! `tracing` events → OpenTelemetry log records.

use std::fmt;

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use tracing_core::span;
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A `tracing-subscriber` [`Layer`] that emits every `tracing` event as an
/// OpenTelemetry log record.
///
/// Built by [`tracing_bridge`] (the provider installed by [`crate::init`]) or
/// [`tracing_bridge_for`] (a provider you built). The record gets the event's level as
/// severity, its target, its message as body and its other fields as attributes. When
/// the event happens inside an OpenTelemetry span (for example in
/// [`crate::in_span`]), the SDK copies that span's trace and span ids onto the record.
///
/// Events whose target starts with `opentelemetry` (the SDK's and exporters' own
/// diagnostics) are not forwarded, so a failing export cannot feed itself. Events that
/// transport crates (`hyper`, `h2`, `tonic`, `tower`) emit while exporting are forwarded
/// like any other: if you enable their `DEBUG`/`TRACE` levels, exclude them from this
/// layer with `Layer::with_filter`.
///
/// It wraps `opentelemetry_appender_tracing`'s `OpenTelemetryTracingBridge`, so that
/// crate's type parameters stay out of your signatures.
///
/// ```
/// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let provider = SdkLoggerProvider::builder().build();
/// let subscriber = tracing_subscriber::registry()
///     .with(otel_core::logs::tracing_bridge_for(&provider));
/// tracing::subscriber::with_default(subscriber, || tracing::warn!(retries = 3, "slow backend"));
/// ```
pub struct TracingBridge {
    inner: OpenTelemetryTracingBridge<SdkLoggerProvider, SdkLogger>,
}

impl fmt::Debug for TracingBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingBridge").finish_non_exhaustive()
    }
}

/// The `tracing` → OpenTelemetry logs layer for the logger provider installed by
/// [`crate::init`].
///
/// Returns `None` when `init()` has not run yet or telemetry is disabled
/// (`OTEL_SDK_DISABLED=true`); `Option<L>` is itself a `Layer`, so the result can be
/// added to a subscriber unconditionally. Call it after `init()`: the layer keeps the
/// provider it was built with.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let _telemetry = otel_core::init()?;
/// tracing_subscriber::registry()
///     .with(otel_core::logs::tracing_bridge())
///     .init();
/// otel_core::in_span("checkout", || tracing::info!(cart.items = 3, "checking out"));
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn tracing_bridge() -> Option<TracingBridge> {
    crate::state::logger_provider().map(|provider| tracing_bridge_for(&provider))
}

/// The `tracing` → OpenTelemetry logs layer for a logger provider you built yourself.
///
/// ```
/// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let provider = SdkLoggerProvider::builder().build();
/// let subscriber = tracing_subscriber::registry()
///     .with(otel_core::logs::tracing_bridge_for(&provider));
/// # drop(subscriber);
/// ```
#[must_use]
pub fn tracing_bridge_for(provider: &SdkLoggerProvider) -> TracingBridge {
    TracingBridge {
        inner: OpenTelemetryTracingBridge::new(provider),
    }
}

// Every hook the upstream layer may implement is forwarded (not only `on_event`), so
// its optional span-attribute enrichment keeps working if another crate in the build
// turns that feature on.
impl<S> Layer<S> for TracingBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, span: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The OpenTelemetry crates' own diagnostics (export failures, dropped records)
        // describe this pipeline; feeding them back into it can loop while the backend
        // is failing. They stay visible through other layers such as `fmt_layer`.
        if event.metadata().target().starts_with("opentelemetry") {
            return;
        }
        self.inner.on_event(event, ctx);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::logs::{AnyValue, Severity};
    use opentelemetry::trace::{TraceContextExt, TraceId, Tracer, TracerProvider};
    use opentelemetry::Key;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::tracing_bridge_for;
    use crate::logs::test_support::CaptureExporter;

    #[test]
    fn events_inside_a_span_carry_its_ids_and_fields() {
        let exporter = CaptureExporter::default();
        let logger_provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = SdkTracerProvider::builder().build().tracer("test");
        let subscriber = tracing_subscriber::registry().with(tracing_bridge_for(&logger_provider));

        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "outside", "before any span");
            let ids = tracer.in_span("checkout", |cx| {
                tracing::warn!(target: "shop", { cart.items = 3_i64, user = "bob" }, "slow backend");
                let sc = cx.span().span_context().clone();
                (sc.trace_id(), sc.span_id())
            });
            tracing::error!(target: "outside", "after the span");
            tracing::error!(target: "opentelemetry_sdk", "export failed");
            ids
        });

        let records = exporter.records();
        // The SDK-diagnostics event is not fed back into the pipeline.
        assert_eq!(records.len(), 3, "{records:?}");

        let outside = &records[0];
        assert_eq!(outside.body, Some(AnyValue::from("before any span".to_string())));
        assert_eq!(outside.trace_id, None);
        assert_eq!(outside.span_id, None);

        let inside = &records[1];
        assert_ne!(trace_id, TraceId::INVALID);
        assert_eq!(inside.trace_id, Some(trace_id));
        assert_eq!(inside.span_id, Some(span_id));
        assert_eq!(inside.severity, Some(Severity::Warn));
        assert_eq!(inside.target.as_deref(), Some("shop"));
        assert_eq!(inside.body, Some(AnyValue::from("slow backend".to_string())));
        assert!(
            inside
                .attributes
                .contains(&(Key::new("cart.items"), AnyValue::Int(3))),
            "{:?}",
            inside.attributes
        );
        assert!(
            inside
                .attributes
                .contains(&(Key::new("user"), AnyValue::from("bob".to_string()))),
            "{:?}",
            inside.attributes
        );

        let after = &records[2];
        assert_eq!(after.severity, Some(Severity::Error));
        assert_eq!(after.trace_id, None);
    }
}
