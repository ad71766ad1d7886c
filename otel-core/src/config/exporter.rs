//! Where each signal goes. Spans and log records use [`ExporterKind`]; metrics use
//! [`MetricsExporterKind`], the only one with Prometheus (a pull format for metrics), so
//! "Prometheus spans" cannot be written, in code or in the resolved [`Config`](super::Config).

/// Where spans or log records go (`OTEL_TRACES_EXPORTER`, `OTEL_LOGS_EXPORTER`).
///
/// ```
/// let _guard = otel_core::Telemetry::builder()
///     .traces_exporters([otel_core::config::ExporterKind::Console])
///     .metrics_exporters([])
///     .init()?;
/// # Ok::<(), otel_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP to a collector, over gRPC or HTTP/protobuf.
    Otlp,
    /// Human-readable output on stderr (a waterfall per trace for spans).
    Console,
}

impl ExporterKind {
    /// The name used in `OTEL_*_EXPORTER` and in [`crate::telemetry_status()`].
    ///
    /// ```
    /// assert_eq!(otel_core::config::ExporterKind::Otlp.as_str(), "otlp");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::Console => "console",
        }
    }
}

/// Where metrics go (`OTEL_METRICS_EXPORTER`).
///
/// ```
/// use otel_core::config::{ExporterKind, MetricsExporterKind};
///
/// assert_eq!(MetricsExporterKind::from(ExporterKind::Otlp), MetricsExporterKind::Otlp);
/// assert_eq!(MetricsExporterKind::Prometheus.as_str(), "prometheus");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricsExporterKind {
    /// OTLP to a collector, over gRPC or HTTP/protobuf.
    Otlp,
    /// Compact lines on stderr.
    Console,
    /// Prometheus text exposition, served on `OTEL_EXPORTER_PROMETHEUS_HOST:PORT` and
    /// through [`crate::export::prometheus::current()`].
    Prometheus,
}

impl MetricsExporterKind {
    /// The name used in `OTEL_METRICS_EXPORTER` and in [`crate::telemetry_status()`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::Console => "console",
            Self::Prometheus => "prometheus",
        }
    }
}

/// Every exporter of spans and logs also exports metrics.
impl From<ExporterKind> for MetricsExporterKind {
    fn from(kind: ExporterKind) -> Self {
        match kind {
            ExporterKind::Otlp => Self::Otlp,
            ExporterKind::Console => Self::Console,
        }
    }
}

/// The names an `OTEL_*_EXPORTER` variable accepts for one kind of exporter.
pub(crate) trait ExporterName: Copy + PartialEq {
    /// Accepted names, `none` included, for the warning that lists them.
    const SUPPORTED: &'static str;

    fn from_name(name: &str) -> Option<Self>;
}

impl ExporterName for ExporterKind {
    const SUPPORTED: &'static str = "otlp, console, none";

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "otlp" => Some(Self::Otlp),
            "console" => Some(Self::Console),
            _ => None,
        }
    }
}

impl ExporterName for MetricsExporterKind {
    const SUPPORTED: &'static str = "otlp, console, prometheus, none";

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "prometheus" => Some(Self::Prometheus),
            other => ExporterKind::from_name(other).map(Self::from),
        }
    }
}
