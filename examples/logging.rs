//! Logging shared by the examples: `tracing` events printed with the current
//! `trace_id`/`span_id` and exported as OpenTelemetry logs.

/// Prints this crate's `tracing` events with the current `trace_id`/`span_id` (to
/// stdout) and forwards them, with the warnings of the libraries, to OpenTelemetry
/// logs, exported like the spans. Call after `init()`.
///
/// # Errors
///
/// When another global `tracing` subscriber is already set.
pub fn install() -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;

    let ours = Targets::new().with_target("otel_examples", LevelFilter::INFO);
    let exported = ours.clone().with_default(LevelFilter::WARN);
    tracing_subscriber::registry()
        .with(otel_core::logs::fmt_layer().with_filter(ours))
        .with(otel_core::logs::tracing_bridge().with_filter(exported))
        .try_init()
}
