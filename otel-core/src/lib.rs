//! OpenTelemetry in one call.
//!
//! `otel-core` sets up tracing, metrics and logs from the standard `OTEL_*` environment
//! variables, exports them over OTLP (gRPC or HTTP/protobuf), to the terminal as a
//! waterfall during development, or as Prometheus text, and gives you small helpers for
//! spans, context propagation, baggage, log correlation and tests.
//!
//! Two layers: an always-compiled core (span and context helpers, [`is_enabled`],
//! [`baggage`], [`propagation`], the macros' runtime) for code that only instruments, and
//! the pipeline behind the `pipeline` feature (on by default; implied by `otlp-grpc`,
//! `otlp-http`, `tracing`, `log` and `testing`) for the application that exports. A
//! library depends on `otel-core` with `default-features = false` and compiles the core
//! alone.
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

// The core, always compiled: what instrumentation (the macros' expansions, otel-tower,
// hand-written spans) needs, and nothing that exports. It never refers to the pipeline.
pub mod baggage;
pub mod cardinality;
pub mod context_attributes;
pub mod diagnostics;
mod error;
pub mod genai;
pub mod propagation;
pub mod redact;
mod span;
mod state;

#[doc(hidden)]
pub mod __private;
#[doc(hidden)]
pub mod bound_series;
#[doc(hidden)]
pub mod head_sampling;

// The pipeline (feature `pipeline`): configuration, `init()`, exporters and everything
// that turns recorded telemetry into output. It builds on the core, never the reverse.
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod config;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod export;
#[cfg(feature = "pipeline")]
mod flush;
#[cfg(feature = "pipeline")]
mod guard;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod logs;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod metrics;
#[cfg(feature = "pipeline")]
mod pipeline;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub mod resource;
#[cfg(feature = "pipeline")]
mod runtime;
#[cfg(feature = "pipeline")]
mod status;
#[cfg(feature = "pipeline")]
mod sync;
#[cfg(feature = "pipeline")]
mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
#[cfg(feature = "tracing")]
mod tracing_layer;

pub use error::{Error, ErrorKind, Result};
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use otel_macros::{instrument_struct, instrumented};
pub use span::{
    current_span_id, current_trace_id, in_span, in_span_async, in_span_async_kind, in_span_async_with,
    in_span_with, record_error, set_attribute, InSpan,
};
pub use state::is_enabled;

#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub use flush::force_flush;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub use guard::TelemetryGuard;
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
#[allow(deprecated)]
pub use status::{
    status, telemetry_status, ExporterStatus, SignalStatus, Status, TailSamplingStatus, TelemetryStatus,
};
#[cfg(feature = "pipeline")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipeline")))]
pub use telemetry::{init, Telemetry, TelemetryBuilder};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use tracing_layer::{tracing_layer, TracingLayer};

/// Re-exported so users need no direct dependency on the exact `opentelemetry` version.
pub use opentelemetry;
/// Re-exported SDK, for the types that appear in this crate's API.
pub use opentelemetry_sdk;
