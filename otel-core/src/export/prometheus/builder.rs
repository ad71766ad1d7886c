//! [`PrometheusExporterBuilder`] and the conversion switches it sets.

use std::sync::Arc;

use opentelemetry_sdk::metrics::{ManualReader, Temporality};

use super::PrometheusExporter;

/// Which optional parts of the specification's conversion are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Options {
    pub(super) scope_labels: bool,
    pub(super) target_info: bool,
    pub(super) counter_suffixes: bool,
    pub(super) unit_suffixes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scope_labels: true,
            target_info: true,
            counter_suffixes: true,
            unit_suffixes: true,
        }
    }
}

/// Builder for [`PrometheusExporter`]; every option defaults to what the specification asks.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporterBuilder;
///
/// let exporter = PrometheusExporterBuilder::default()
///     .target_info(false)
///     .unit_suffixes(false)
///     .build();
/// # drop(exporter);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PrometheusExporterBuilder {
    options: Options,
}

impl PrometheusExporterBuilder {
    /// Whether every series carries `otel_scope_name`/`otel_scope_version` labels and scopes
    /// with attributes get an `otel_scope_info` series (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().scope_labels(false);
    /// # drop(b);
    /// ```
    pub fn scope_labels(mut self, enabled: bool) -> Self {
        self.options.scope_labels = enabled;
        self
    }

    /// Whether the resource is exposed as a `target_info` series (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().target_info(false);
    /// # drop(b);
    /// ```
    pub fn target_info(mut self, enabled: bool) -> Self {
        self.options.target_info = enabled;
        self
    }

    /// Whether counters get the `_total` suffix (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().counter_suffixes(false);
    /// # drop(b);
    /// ```
    pub fn counter_suffixes(mut self, enabled: bool) -> Self {
        self.options.counter_suffixes = enabled;
        self
    }

    /// Whether the instrument's unit is appended to the name, e.g. `_seconds` (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().unit_suffixes(false);
    /// # drop(b);
    /// ```
    pub fn unit_suffixes(mut self, enabled: bool) -> Self {
        self.options.unit_suffixes = enabled;
        self
    }

    /// Creates the exporter.
    ///
    /// ```
    /// let exporter = otel_core::export::prometheus::PrometheusExporter::builder().build();
    /// # drop(exporter);
    /// ```
    pub fn build(self) -> PrometheusExporter {
        let reader = ManualReader::builder()
            .with_temporality(Temporality::Cumulative)
            .build();
        PrometheusExporter {
            reader: Arc::new(reader),
            options: self.options,
        }
    }
}
