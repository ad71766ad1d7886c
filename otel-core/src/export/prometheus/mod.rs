//! Prometheus text exposition (format 0.0.4) for metrics, as a pull exporter.
//!
//! [`PrometheusExporter`] owns a [`ManualReader`](opentelemetry_sdk::metrics::ManualReader):
//! register its [`reader`](PrometheusExporter::reader) with an
//! [`SdkMeterProvider`](opentelemetry_sdk::metrics::SdkMeterProvider), then either mount
//! [`response`](PrometheusExporter::response) in your own HTTP server (axum, hyper, ...) or start
//! the small standalone listener with [`serve`](PrometheusExporter::serve).
//!
//! ```
//! use otel_core::export::prometheus::PrometheusExporter;
//! use otel_core::opentelemetry::metrics::MeterProvider as _;
//! use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
//!
//! let exporter = PrometheusExporter::new();
//! let provider = SdkMeterProvider::builder().with_reader(exporter.reader()).build();
//! let orders = provider.meter("shop").u64_counter("orders").build();
//! orders.add(3, &[]);
//!
//! let text = exporter.render()?;
//! assert!(text.contains("# TYPE orders_total counter\n"));
//! assert!(text.contains("orders_total{otel_scope_name=\"shop\"} 3\n"));
//! # Ok::<(), otel_core::Error>(())
//! ```
//!
//! # How OpenTelemetry metrics become Prometheus series
//!
//! The conversion follows the OpenTelemetry "Prometheus and OpenMetrics compatibility"
//! specification:
//!
//! - **Names**: characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` collapse to one, and
//!   a leading digit gets a `_` prefix. The unit is appended as a suffix unless the name already
//!   contains it (`s` → `_seconds`, `ms` → `_milliseconds`, `By` → `_bytes`, `By/s` →
//!   `_bytes_per_second`, `1` → `_ratio` for gauges only, `{request}` annotations are dropped,
//!   unknown units are appended sanitized). Monotonic sums get `_total` after the unit.
//! - **Types**: monotonic sums (counters, observable counters) are `counter`; non-monotonic sums
//!   (up-down counters) and gauges are `gauge`; explicit-bucket histograms are `histogram` with
//!   cumulative `_bucket{le=".."}` series ending at `+Inf`, `_sum` (left out when negative
//!   values were observed, as the specification asks) and `_count`.
//! - **Exponential histograms** are converted to classic histograms whose `le` bounds are the
//!   exponential bucket boundaries at the point's current scale (the counts are exact; the text
//!   format has no native histograms). When the SDK downscales, the set of `le` values changes.
//! - **Delta temporality** cannot be expressed in a pull format; such data is dropped. The
//!   exporter's own reader always asks the SDK for cumulative temporality, so this only matters
//!   for views that force delta.
//! - **Labels**: attribute keys are sanitized like names (no `:`), keys that collide after
//!   sanitizing have their values joined with `;` in the order of the original keys, values are
//!   escaped (`\\`, `\"`, `\n`) and non-string values are written as strings (arrays as JSON).
//!   Every series carries `otel_scope_name` and, when set, `otel_scope_version`; a user attribute
//!   with one of those names (or `le` on a histogram) is dropped in favour of the exporter's own.
//!   Scopes with attributes are described by an `otel_scope_info` gauge of value 1.
//! - **Help**: the instrument's description, or its OpenTelemetry name when it has none.
//! - **Resource**: a single `target_info` gauge of value 1 whose labels are the resource
//!   attributes; resource attributes are not copied onto other series.
//! - **Conflicts**: when two instruments map to the same Prometheus name with different types,
//!   the first one (ordered by scope and instrument name) is kept and the other is dropped with a
//!   `# otel: ...` comment at the end of the output, which Prometheus ignores. Exact duplicate
//!   series keep the first value.
//!
//! The output is sorted (families by name, series by their labels), so two renders of the same
//! data are byte-for-byte identical.

mod builder;
mod current;
mod encode;
mod exporter;
mod histogram;
mod labels;
mod listener;
mod naming;
#[cfg(test)]
mod test_support;
mod text;

pub use builder::PrometheusExporterBuilder;
pub use current::current;
pub(crate) use current::set_current;
pub use exporter::{PrometheusExporter, PrometheusReader};
pub use listener::PrometheusServer;

/// The `Content-Type` of the Prometheus text exposition format 0.0.4.
///
/// ```
/// use otel_core::export::prometheus::CONTENT_TYPE;
/// assert!(CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
