//! The resolved configuration: what the environment says, overridden by the builder.
//!
//! [`Config::from_env`] implements the OpenTelemetry SDK environment-variable
//! specification (`env.rs`). Every invalid value produces a [`ConfigWarning`] naming the
//! variable, the bad value and the fallback used; nothing invalid is ever silently
//! accepted. The builder's values are merged over it in `merge.rs`: its defaults yield to
//! the environment, its settings override it.

pub(crate) mod env;
mod exporter;
mod limits;
pub(crate) mod merge;
mod metrics;
pub(crate) mod tail;
pub(crate) mod tls;
pub(crate) mod values;

use std::fmt;
use std::time::Duration;

pub use env::VARIABLES;
pub use exporter::{ExporterKind, MetricsExporterKind};
pub use limits::SpanLimits;
pub use metrics::{HistogramAggregation, TemporalityPreference};
pub use tail::TailSamplingConfig;
pub use tls::TlsConfig;

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318); the spec's recommended default.
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (default port 4318), for proxies and backends that
    /// only take JSON; larger and slower to encode than protobuf.
    HttpJson,
}

impl Protocol {
    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }

    /// Whether the transport is OTLP/HTTP (the endpoint gets `/v1/{signal}` appended).
    ///
    /// ```
    /// use otel_core::config::Protocol;
    /// assert!(Protocol::HttpJson.is_http() && !Protocol::Grpc.is_http());
    /// ```
    pub fn is_http(self) -> bool {
        matches!(self, Self::HttpProtobuf | Self::HttpJson)
    }

    /// The port a collector listens on for this transport: 4317 for gRPC, 4318 for HTTP.
    pub(crate) fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318",
        }
    }
}

/// OTLP payload compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// The trace sampler, as named by `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SamplerConfig {
    /// Sample everything.
    AlwaysOn,
    /// Sample nothing.
    AlwaysOff,
    /// Sample a fraction of traces by trace id.
    TraceIdRatio(f64),
    /// Follow the parent; sample every root.
    ParentBasedAlwaysOn,
    /// Follow the parent; sample no root.
    ParentBasedAlwaysOff,
    /// Follow the parent; sample a fraction of roots.
    ParentBasedTraceIdRatio(f64),
}

impl fmt::Display for SamplerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlwaysOn => f.write_str("always_on"),
            Self::AlwaysOff => f.write_str("always_off"),
            Self::TraceIdRatio(r) => write!(f, "traceidratio({r})"),
            Self::ParentBasedAlwaysOn => f.write_str("parentbased_always_on"),
            Self::ParentBasedAlwaysOff => f.write_str("parentbased_always_off"),
            Self::ParentBasedTraceIdRatio(r) => write!(f, "parentbased_traceidratio({r})"),
        }
    }
}

/// A propagator named in `OTEL_PROPAGATORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropagatorKind {
    /// W3C Trace Context (`traceparent`, `tracestate`).
    TraceContext,
    /// W3C Baggage (`baggage`).
    Baggage,
    /// B3 single header (`b3`).
    #[cfg(feature = "b3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "b3")))]
    B3,
    /// B3 multiple headers (`X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`, …).
    #[cfg(feature = "b3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "b3")))]
    B3Multi,
}

impl PropagatorKind {
    /// The name `OTEL_PROPAGATORS` uses for it.
    ///
    /// ```
    /// assert_eq!(otel_core::config::PropagatorKind::TraceContext.name(), "tracecontext");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::TraceContext => "tracecontext",
            Self::Baggage => "baggage",
            #[cfg(feature = "b3")]
            Self::B3 => "b3",
            #[cfg(feature = "b3")]
            Self::B3Multi => "b3multi",
        }
    }
}

/// Settings of one signal's OTLP exporter, fully resolved (signal variable, then the
/// generic one, then the default).
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// Full URL the exporter sends to (for HTTP, including `/v1/{signal}`).
    pub endpoint: String,
    /// Whether the endpoint came from configuration (not the built-in default).
    pub endpoint_configured: bool,
    /// Transport.
    pub protocol: Protocol,
    /// Extra headers (for example an API key). Never printed: see [`crate::telemetry_status()`].
    pub headers: Vec<(String, String)>,
    /// Payload compression.
    pub compression: Compression,
    /// Per-export timeout.
    pub timeout: Duration,
    /// Certificate authorities and client certificate for `https://` endpoints.
    pub tls: TlsConfig,
    /// `OTEL_EXPORTER_OTLP_INSECURE`: a gRPC endpoint given without a scheme
    /// (`collector:4317`) is reached over plain `http://` instead of `https://`. An
    /// endpoint with a scheme always follows its scheme.
    pub insecure: bool,
}

/// Batch processor limits (`OTEL_BSP_*` for spans, `OTEL_BLRP_*` for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Spans (or records) kept while waiting for export; more are dropped and counted.
    pub max_queue_size: usize,
    /// Delay between two exports.
    pub scheduled_delay: Duration,
    /// Largest batch handed to the exporter.
    pub max_export_batch_size: usize,
    /// Longest one export may take.
    pub export_timeout: Duration,
}

impl BatchConfig {
    /// Defaults for spans: queue 131,072 / 5 s / 512 / 30 s; the spec's, except the queue.
    ///
    /// The spec's queue of 2048 drops most of a burst (100,000 spans ended at once, say
    /// just before shutdown) because spans end faster than any exporter sends them. Our
    /// queue takes memory only for spans that wait, so a larger cap costs nothing at
    /// idle and about the size of the waiting spans during a burst; set
    /// `OTEL_BSP_MAX_QUEUE_SIZE=2048` for the spec's bound.
    ///
    /// ```
    /// use otel_core::config::BatchConfig;
    /// assert_eq!(BatchConfig::SPANS.max_queue_size, 131_072);
    /// assert_eq!(BatchConfig::SPANS.max_export_batch_size, 512);
    /// ```
    pub const SPANS: BatchConfig = BatchConfig {
        max_queue_size: 131_072,
        scheduled_delay: Duration::from_millis(5000),
        max_export_batch_size: 512,
        export_timeout: Duration::from_millis(30000),
    };
    /// The spec's defaults for logs: 2048 / 1 s / 512 / 30 s.
    pub const LOGS: BatchConfig = BatchConfig {
        max_queue_size: 2048,
        scheduled_delay: Duration::from_millis(1000),
        max_export_batch_size: 512,
        export_timeout: Duration::from_millis(30000),
    };
}

/// Why the sampler is what it is (shown in [`crate::telemetry_status()`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamplerSource {
    /// Set by the builder.
    Builder,
    /// Set by `OTEL_TRACES_SAMPLER`.
    Environment,
    /// Chosen by the deployment profile (`deployment.environment.name`).
    Profile,
    /// The spec's default, `parentbased_always_on`.
    Default,
}

/// A configuration value that was invalid and what was used instead.
///
/// Printed on stderr when [`crate::init`] runs and kept in
/// [`crate::TelemetryGuard::warnings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The environment variable (or builder option) that held the value.
    pub variable: String,
    /// The value as given.
    pub value: String,
    /// What was used instead.
    pub fallback: String,
    /// What was wrong with it.
    pub reason: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is invalid ({}); using {}",
            self.variable, self.value, self.reason, self.fallback
        )
    }
}

/// The complete, resolved configuration.
///
/// ```
/// use otel_core::config::{Config, MetricsExporterKind};
///
/// let env = [("OTEL_SERVICE_NAME", "checkout"), ("OTEL_TRACES_EXPORTER", "none")];
/// let (config, warnings) = Config::from_lookup(|k| {
///     env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// });
/// assert!(warnings.is_empty());
/// assert_eq!(config.service_name, "checkout");
/// assert!(config.traces_exporters.is_empty());
/// assert_eq!(config.metrics_exporters, vec![MetricsExporterKind::Console]); // no endpoint: console
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `OTEL_SDK_DISABLED`: no telemetry is recorded or exported; propagation still works.
    pub disabled: bool,
    /// `service.name`.
    pub service_name: String,
    /// Resource attributes besides `service.name`, in order.
    pub resource_attributes: Vec<(String, String)>,
    /// The sampler.
    pub sampler: SamplerConfig,
    /// Where the sampler choice came from.
    pub sampler_source: SamplerSource,
    /// Propagators, in order (empty for `none`).
    pub propagators: Vec<PropagatorKind>,
    /// Span exporters (empty for `none`).
    pub traces_exporters: Vec<ExporterKind>,
    /// Metric exporters (empty for `none`).
    pub metrics_exporters: Vec<MetricsExporterKind>,
    /// Log exporters (empty for `none`).
    pub logs_exporters: Vec<ExporterKind>,
    /// OTLP settings for spans.
    pub otlp_traces: OtlpConfig,
    /// OTLP settings for metrics.
    pub otlp_metrics: OtlpConfig,
    /// OTLP settings for logs.
    pub otlp_logs: OtlpConfig,
    /// Span batching.
    pub span_batch: BatchConfig,
    /// Log batching.
    pub log_batch: BatchConfig,
    /// `OTEL_METRIC_EXPORT_INTERVAL`.
    pub metric_export_interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT`.
    pub metric_export_timeout: Duration,
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (OTLP metric exporter).
    pub metrics_temporality: TemporalityPreference,
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`. With an OTLP metric
    /// exporter and `Base2Exponential`, every histogram of the meter provider is
    /// exponential (the SDK applies it as a view, so the other readers see it too).
    pub metrics_histogram_aggregation: HistogramAggregation,
    /// Span limits (`OTEL_SPAN_*_LIMIT`, `OTEL_ATTRIBUTE_*_LIMIT`).
    pub span_limits: SpanLimits,
    /// `OTEL_EXPORTER_PROMETHEUS_HOST` and `_PORT`, for the standalone listener.
    pub prometheus_address: (String, u16),
    /// In-process tail sampling (`OTEL_TOOLKIT_TAIL_SAMPLING*`); off by default.
    pub tail_sampling: TailSamplingConfig,
}

impl Config {
    /// Resolves the configuration from the process environment.
    pub fn from_env() -> (Config, Vec<ConfigWarning>) {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Resolves the configuration from any variable lookup (tests, config files).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        env::resolve(&lookup, &merge::Defaults::default())
    }

    /// The `deployment.environment.name` resource attribute, if any.
    pub fn deployment_environment(&self) -> Option<&str> {
        self.resource_attributes
            .iter()
            .find(|(k, _)| k == env::DEPLOYMENT_ENVIRONMENT)
            .map(|(_, v)| v.as_str())
    }
}

/// The parent-based ratio a deployment profile selects: `development` 1.0,
/// `staging` 0.5, `production` 0.1 (matching the seed services).
///
/// ```
/// assert_eq!(otel_core::config::profile_ratio("production"), Some(0.1));
/// assert_eq!(otel_core::config::profile_ratio("qa"), None);
/// ```
pub fn profile_ratio(environment: &str) -> Option<f64> {
    match environment.to_ascii_lowercase().as_str() {
        "development" | "dev" | "local" => Some(1.0),
        "staging" | "stage" => Some(0.5),
        "production" | "prod" => Some(0.1),
        _ => None,
    }
}
