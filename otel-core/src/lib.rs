//! OpenTelemetry in one call.
//!
//! `otel-core` sets up tracing, metrics and logs from the standard `OTEL_*` environment
//! variables, exports them over OTLP (gRPC or HTTP/protobuf), to the terminal as a
//! waterfall during development, or as Prometheus text, and gives you small helpers for
//! spans, context propagation, baggage, log correlation and tests.
//!
//! ```no_run
//! fn main() -> Result<(), otel_core::Error> {
//!     // Reads OTEL_* variables; with no endpoint configured, traces are drawn on stderr.
//!     let _telemetry = otel_core::init()?;
//!     otel_core::in_span("load-config", || {
//!         // ... work ...
//!     });
//!     Ok(()) // the guard flushes every provider here
//! }
//! ```
//!
//! Everything installs into `opentelemetry::global`, so instrumentation written against
//! the plain OpenTelemetry API sees the same providers.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod baggage;
pub mod config;
mod error;
pub mod export;
mod guard;
pub mod logs;
pub mod metrics;
pub mod propagation;
mod runtime;
mod span;
mod state;
mod status;
mod sync;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tracing")]
mod tracing_layer;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, ErrorKind, Result};
pub use guard::TelemetryGuard;
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use otel_macros::{instrument_struct, instrumented};
pub use span::{
    current_span_id, current_trace_id, in_span, in_span_async, in_span_async_with, in_span_with,
    record_error, set_attribute, InSpan,
};
pub use state::is_enabled;
pub use status::{status, ExporterStatus, SignalStatus, Status};
pub use telemetry::{init, Telemetry, TelemetryBuilder};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use tracing_layer::{tracing_layer, TracingLayer};

/// Re-exported so users need no direct dependency on the exact `opentelemetry` version.
pub use opentelemetry;
/// Re-exported SDK, for the types that appear in this crate's API.
pub use opentelemetry_sdk;
