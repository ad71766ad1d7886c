//! OTLP exporters built from the resolved configuration, and the wrappers that run them
//! on the export runtime with a deadline and count their successes and failures.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

use super::stats::SignalStats;
use crate::config::{Compression, OtlpConfig, Protocol};
use crate::runtime::{Executor, ExportRuntime};
use crate::{Error, ErrorKind};

fn build_error(signal: &str, cfg: &OtlpConfig, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Exporter,
        format!(
            "cannot build the OTLP {signal} exporter for {} ({}): {e}",
            cfg.endpoint,
            cfg.protocol.as_str()
        ),
    )
}

#[allow(dead_code)] // only reachable when one transport feature is off
fn missing(protocol: Protocol) -> Error {
    Error::new(
        ErrorKind::Exporter,
        format!(
            "OTLP protocol {} needs the `otlp-{}` feature of otel-core",
            protocol.as_str(),
            if protocol == Protocol::Grpc {
                "grpc"
            } else {
                "http"
            }
        ),
    )
}

macro_rules! build_exporter {
    ($signal:literal, $ty:ty, $cfg:expr, $rt:expr) => {{
        let cfg: &OtlpConfig = $cfg;
        let rt: &ExportRuntime = $rt;
        // tonic spawns its connection task on the runtime it is built in.
        let _entered = rt.handle().enter();
        match cfg.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
                let mut headers = http::HeaderMap::new();
                for (name, value) in &cfg.headers {
                    let name = http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|e| build_error($signal, cfg, format!("header {name:?}: {e}")))?;
                    let value = http::HeaderValue::from_str(value).map_err(|_| {
                        build_error($signal, cfg, format!("the value of header {name:?} is not valid"))
                    })?;
                    headers.insert(name, value);
                }
                let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
                let mut builder = <$ty>::builder()
                    .with_tonic()
                    .with_endpoint(cfg.endpoint.clone())
                    .with_timeout(cfg.timeout)
                    .with_metadata(metadata);
                if cfg.compression == Compression::Gzip {
                    builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                builder.build().map_err(|e| build_error($signal, cfg, e))
            }
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
                let mut builder = <$ty>::builder()
                    .with_http()
                    .with_endpoint(cfg.endpoint.clone())
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(cfg.timeout)
                    .with_headers(cfg.headers.iter().cloned().collect());
                if cfg.compression == Compression::Gzip {
                    builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                builder.build().map_err(|e| build_error($signal, cfg, e))
            }
            #[allow(unreachable_patterns)]
            other => Err(missing(other)),
        }
    }};
}

pub(crate) fn span_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    build_exporter!("traces", opentelemetry_otlp::SpanExporter, cfg, rt)
}

pub(crate) fn metric_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
) -> Result<opentelemetry_otlp::MetricExporter, Error> {
    build_exporter!("metrics", opentelemetry_otlp::MetricExporter, cfg, rt)
}

pub(crate) fn log_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
) -> Result<opentelemetry_otlp::LogExporter, Error> {
    build_exporter!("logs", opentelemetry_otlp::LogExporter, cfg, rt)
}

/// Runs an exporter's futures through an [`Executor`] with a deadline and records the
/// outcome in the signal's counters.
#[derive(Debug)]
pub(crate) struct Counted<E> {
    pub(crate) inner: E,
    pub(crate) executor: Executor,
    pub(crate) timeout: Duration,
    pub(crate) stats: Arc<SignalStats>,
}

impl<E> Counted<E> {
    fn record(&self, what: &str, items: usize, outcome: Option<OTelSdkResult>) -> OTelSdkResult {
        match outcome {
            Some(Ok(())) => {
                self.stats.record_success(items);
                Ok(())
            }
            Some(Err(e)) => {
                self.stats
                    .record_failure(items, format!("{what} export failed: {e}"));
                Err(e)
            }
            None => {
                self.stats.record_failure(
                    items,
                    format!("{what} export timed out after {} ms", self.timeout.as_millis()),
                );
                Err(OTelSdkError::Timeout(self.timeout))
            }
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Counted<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let items = metrics.scope_metrics().map(|s| s.metrics().count()).sum();
        let outcome = self.executor.run(self.timeout, self.inner.export(metrics));
        self.record("metric", items, outcome)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for Counted<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count();
        let outcome = self.executor.run(self.timeout, self.inner.export(batch));
        self.record("log", items, outcome)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
