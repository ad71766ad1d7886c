//! OTLP exporters built from the resolved configuration (the export runtime and the
//! counting wrapper, `stats::Counted`, drive them).

use crate::config::{Compression, OtlpConfig, Protocol};
use crate::runtime::ExportRuntime;
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
