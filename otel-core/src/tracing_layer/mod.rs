//! `tracing` spans → OpenTelemetry spans of the same traces (feature `tracing`).
//!
//! - [`layer`]: the `tracing-subscriber` layer and its hooks (start on creation, make
//!   current on enter, span events, end on close);
//! - [`fields`]: field values → attributes, and the reserved `otel.*` and `error` fields;
//! - [`entered`]: the per-thread contexts attached by entered spans;
//! - [`tracer`]: the tracer spans are started with.

mod entered;
mod fields;
mod layer;
mod tracer;

pub use layer::TracingLayer;

/// The `tracing` → OpenTelemetry spans layer: add it to a `tracing-subscriber` registry
/// and the spans of `tracing`-instrumented code join your traces. See [`TracingLayer`]
/// for what is mapped, and for the migration from `tracing-opentelemetry`.
///
/// ```
/// use otel_core::testing;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let cap = testing::capture();
/// let subscriber = tracing_subscriber::registry().with(otel_core::tracing_layer());
/// tracing::subscriber::with_default(subscriber, || {
///     otel_core::in_span("checkout", || {
///         let _cart = tracing::info_span!("load cart", cart.items = 3).entered();
///         otel_core::in_span("charge", || {});
///     });
/// });
/// assert_eq!(
///     cap.tree(),
///     "checkout [Internal]\n  load cart [Internal]\n    charge [Internal]\n"
/// );
/// ```
#[must_use]
pub fn tracing_layer() -> TracingLayer {
    TracingLayer::new()
}
