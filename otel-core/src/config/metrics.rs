//! How the OTLP metric exporter shapes what it sends: temporality
//! (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`) and the default histogram
//! aggregation (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`). Hosted
//! backends differ here: Datadog and New Relic want delta sums, Honeycomb and Datadog
//! read exponential histograms; Prometheus-style stores (Mimir, Cortex) want cumulative.

use std::fmt;

/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
///
/// ```
/// use otel_core::config::TemporalityPreference;
///
/// assert_eq!(TemporalityPreference::from_name("Delta"), Some(TemporalityPreference::Delta));
/// assert_eq!(TemporalityPreference::LowMemory.as_str(), "lowmemory");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TemporalityPreference {
    /// Every instrument reports totals since the start (the spec's default).
    #[default]
    Cumulative,
    /// Counters, asynchronous counters and histograms report the change since the last
    /// export; up-down counters stay cumulative (their deltas mean little).
    Delta,
    /// Synchronous counters and histograms report deltas, everything else cumulative:
    /// the least memory in the SDK.
    LowMemory,
}

impl TemporalityPreference {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cumulative => "cumulative",
            Self::Delta => "delta",
            Self::LowMemory => "lowmemory",
        }
    }

    /// Parses the variable's spelling, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "cumulative" => Some(Self::Cumulative),
            "delta" => Some(Self::Delta),
            "lowmemory" => Some(Self::LowMemory),
            _ => None,
        }
    }

    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) fn to_sdk(self) -> opentelemetry_sdk::metrics::Temporality {
        use opentelemetry_sdk::metrics::Temporality;
        match self {
            Self::Cumulative => Temporality::Cumulative,
            Self::Delta => Temporality::Delta,
            Self::LowMemory => Temporality::LowMemory,
        }
    }
}

impl fmt::Display for TemporalityPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`: how histograms without an
/// aggregation of their own are aggregated.
///
/// ```
/// use otel_core::config::HistogramAggregation;
///
/// assert_eq!(
///     HistogramAggregation::from_name("base2_exponential_bucket_histogram"),
///     Some(HistogramAggregation::Base2Exponential)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HistogramAggregation {
    /// Fixed bucket boundaries: the instrument's advised ones, else the SDK's default
    /// (0, 5, 10, 25, … 10000).
    #[default]
    ExplicitBucket,
    /// Base-2 exponential buckets (160 buckets, scale adjusted to the data): accurate
    /// percentiles at any range without choosing boundaries.
    Base2Exponential,
}

impl HistogramAggregation {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExplicitBucket => "explicit_bucket_histogram",
            Self::Base2Exponential => "base2_exponential_bucket_histogram",
        }
    }

    /// Parses the variable's spelling, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "explicit_bucket_histogram" => Some(Self::ExplicitBucket),
            "base2_exponential_bucket_histogram" => Some(Self::Base2Exponential),
            _ => None,
        }
    }
}

impl fmt::Display for HistogramAggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
