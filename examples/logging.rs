//! Logging shared by the examples: `tracing` events printed with the current trace's
//! short id and exported as OpenTelemetry logs with the full `trace_id`/`span_id`.

/// Prints this crate's `tracing` events to stdout in the compact terminal layout (the
/// trace's short id matches the waterfall header) and forwards them, with the warnings
/// of the libraries, to OpenTelemetry logs, exported like the spans with the full
/// `trace_id`/`span_id`. Call after `init()`.
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
        .with(otel_core::logs::fmt_layer().compact().with_filter(ours))
        .with(otel_core::logs::tracing_bridge().with_filter(exported))
        .try_init()
}
