//! Log correlation: bridges from `tracing` and `log` to OpenTelemetry logs, and a
//! formatter that prints the current `trace_id` / `span_id` on every line.
//!
//! Spans in this toolkit are native OpenTelemetry spans, so "the current span" is the
//! span of [`opentelemetry::Context::current`] (what [`crate::in_span`] and
//! `#[instrumented]` attach), not a `tracing` span.
//!
//! - `tracing_bridge` (feature `tracing`): a `tracing-subscriber` layer that turns
//!   `tracing` events into OpenTelemetry log records, exported with the logger provider
//!   [`crate::init`] installed. Records emitted inside a span carry its trace and span
//!   ids, because the SDK logger copies them from the current context.
//! - `init_log_bridge` (feature `log`): the same for the `log` crate's macros.
//! - `fmt_layer` (feature `tracing`): human-readable or JSON lines on stdout (or any
//!   writer) with `trace_id=` / `span_id=` appended inside a span, so plain log files can
//!   be joined with traces in a backend.
//!
//! ```
//! # #[cfg(feature = "tracing")]
//! # {
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! // Print correlated lines; forward events to OTel logs once `init()` has run.
//! let subscriber = tracing_subscriber::registry()
//!     .with(otel_core::logs::fmt_layer())
//!     .with(otel_core::logs::tracing_bridge());
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(order_id = 42, "order placed");
//! });
//! # }
//! ```

#[cfg(feature = "tracing")]
mod fmt;
#[cfg(feature = "log")]
mod log_bridge;
#[cfg(all(test, any(feature = "tracing", feature = "log")))]
mod test_support;
// Always built: the console exporters format their timestamps here too.
pub(crate) mod time;
#[cfg(feature = "tracing")]
mod tracing_bridge;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use fmt::{fmt_layer, FmtLayer, StdoutWriter};
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use log_bridge::{init_log_bridge, log_bridge_for, LogBridge};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use tracing_bridge::{tracing_bridge, tracing_bridge_for, TracingBridge};
