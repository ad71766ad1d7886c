//! OTLP exporters built from the resolved configuration (the export runtime and the
//! counting wrappers, `batch.rs` and `stats::Counted`, drive them).
//!
//! Spans and logs, the signals with the most data, are encoded here
//! (`trace_request.rs` and `log_request.rs` over `common.rs` and the protobuf primitives
//! of `wire.rs`) and sent by a `protobuf::ProtobufExporter` (`traces.rs`, `logs.rs`);
//! metrics and JSON bodies go through the OTLP crate's exporters. `grpc.rs` and
//! `http.rs` hold one transport each, for both; `https://` endpoints go through the TLS
//! connector of `export::tls` (feature `tls`). Each exporter is wrapped in a [`Diagnosed`] so that
//! its errors say why an export failed.

mod common;
mod diagnosis;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;
mod log_request;
mod logs;
mod protobuf;
mod retry;
mod trace_request;
mod traces;
mod wire;

pub(crate) use diagnosis::{Diagnosed, Diagnosis};
pub(crate) use logs::OtlpLogExporter;
pub(crate) use traces::OtlpSpanExporter;

use protobuf::{ProtobufExporter, Signal, Transport};

use crate::config::{OtlpConfig, Protocol};
use crate::runtime::ExportRuntime;
use crate::{Error, ErrorKind};

fn build_error(signal: &str, cfg: &OtlpConfig, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Exporter,
        format!(
            "cannot build the OTLP {signal} exporter for {} ({}): {e}",
            crate::status::redact_url(&cfg.endpoint),
            cfg.protocol.as_str()
        ),
    )
}

/// The transport's feature is compiled out.
#[allow(dead_code)] // only reachable when a transport feature is off
fn missing(protocol: Protocol) -> Error {
    let feature = match protocol {
        Protocol::Grpc => "otlp-grpc",
        Protocol::HttpProtobuf => "otlp-http",
        Protocol::HttpJson => "otlp-http-json",
    };
    Error::new(
        ErrorKind::Exporter,
        format!(
            "OTLP protocol {} needs the `{feature}` feature of otel-core",
            protocol.as_str()
        ),
    )
}

/// What our exporters say they are (the OTLP exporter specification asks for a
/// `User-Agent` naming the exporter and its version).
const USER_AGENT: &str = concat!("OTel-OTLP-Exporter-Rust-otel-core/", env!("CARGO_PKG_VERSION"));

/// The configured headers (values already percent-decoded), checked.
fn header_map(headers: &[(String, String)]) -> Result<::http::HeaderMap, String> {
    let mut map = ::http::HeaderMap::new();
    for (name, value) in headers {
        let name =
            ::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name:?}: {e}"))?;
        let value = ::http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header {name:?} is not valid"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Whether the endpoint asks for TLS.
fn uses_tls(endpoint: &str) -> bool {
    endpoint
        .parse::<::http::Uri>()
        .is_ok_and(|uri| uri.scheme() == Some(&::http::uri::Scheme::HTTPS))
}

/// An `https://` endpoint with the `tls` feature compiled out.
#[cfg(not(feature = "tls"))]
#[allow(dead_code)] // not reachable without a transport feature
fn tls_missing(cfg: &OtlpConfig) -> Error {
    Error::new(
        ErrorKind::Exporter,
        format!(
            "the OTLP endpoint {} uses https:// but otel-core was built without its `tls` feature \
             (on by default); enable it, or use an http:// endpoint",
            crate::status::redact_url(&cfg.endpoint)
        ),
    )
}

/// Builds one signal's exporter over the configured transport, inside the export
/// runtime (tonic and hyper spawn their connection tasks on the runtime they are built
/// in).
macro_rules! exporter {
    ($signal:literal, $exporter:ty, $cfg:expr, $rt:expr, $quiet:expr, $extra:expr) => {{
        let cfg: &OtlpConfig = $cfg;
        let _entered = $rt.handle().enter();
        let diagnosis = Diagnosis::new($signal, &cfg.endpoint, $quiet);
        let builder = $extra(<$exporter>::builder());
        let exporter = match cfg.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => grpc::configure(builder.with_tonic(), cfg, &diagnosis)
                .map_err(|e| build_error($signal, cfg, e))?
                .build(),
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                http::configure(builder.with_http(), cfg, &diagnosis)
                    .map_err(|e| build_error($signal, cfg, e))?
                    .build()
            }
            #[allow(unreachable_patterns)]
            other => return Err(missing(other)),
        }
        .map_err(|e| build_error($signal, cfg, e))?;
        Ok(Diagnosed::new(exporter, diagnosis))
    }};
}

pub(crate) fn span_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
    quiet: bool,
) -> Result<Diagnosed<OtlpSpanExporter>, Error> {
    #[cfg(feature = "otlp-http-json")]
    if cfg.protocol == Protocol::HttpJson {
        let json = || -> Result<Diagnosed<opentelemetry_otlp::SpanExporter>, Error> {
            exporter!("traces", opentelemetry_otlp::SpanExporter, cfg, rt, quiet, |b| b)
        };
        return Ok(json()?.map(OtlpSpanExporter::Json));
    }
    Ok(protobuf_exporter(Signal::Traces, cfg, rt, quiet)?.map(OtlpSpanExporter::Protobuf))
}

pub(crate) fn metric_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
    quiet: bool,
    temporality: crate::config::TemporalityPreference,
) -> Result<Diagnosed<opentelemetry_otlp::MetricExporter>, Error> {
    let with_temporality =
        |b: opentelemetry_otlp::MetricExporterBuilder<_>| b.with_temporality(temporality.to_sdk());
    exporter!(
        "metrics",
        opentelemetry_otlp::MetricExporter,
        cfg,
        rt,
        quiet,
        with_temporality
    )
}

pub(crate) fn log_exporter(
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
    quiet: bool,
) -> Result<Diagnosed<OtlpLogExporter>, Error> {
    #[cfg(feature = "otlp-http-json")]
    if cfg.protocol == Protocol::HttpJson {
        let json = || -> Result<Diagnosed<opentelemetry_otlp::LogExporter>, Error> {
            exporter!("logs", opentelemetry_otlp::LogExporter, cfg, rt, quiet, |b| b)
        };
        return Ok(json()?.map(OtlpLogExporter::Json));
    }
    Ok(protobuf_exporter(Signal::Logs, cfg, rt, quiet)?.map(OtlpLogExporter::Protobuf))
}

/// An exporter of requests encoded here, over the configured transport, built inside
/// the export runtime like the OTLP crate's.
fn protobuf_exporter(
    signal: Signal,
    cfg: &OtlpConfig,
    rt: &ExportRuntime,
    quiet: bool,
) -> Result<Diagnosed<ProtobufExporter>, Error> {
    let name = match signal {
        Signal::Traces => "traces",
        Signal::Logs => "logs",
    };
    let _entered = rt.handle().enter();
    let diagnosis = Diagnosis::new(name, &cfg.endpoint, quiet);
    let transport = match cfg.protocol {
        #[cfg(feature = "otlp-grpc")]
        Protocol::Grpc => grpc::Sender::new(cfg, &diagnosis, signal).map(Transport::Grpc),
        #[cfg(feature = "otlp-http")]
        Protocol::HttpProtobuf => http::Sender::new(cfg, &diagnosis, signal).map(Transport::Http),
        #[allow(unreachable_patterns)]
        other => return Err(missing(other)),
    }
    .map_err(|e| build_error(name, cfg, e))?;
    Ok(Diagnosed::new(
        ProtobufExporter::new(transport, cfg.timeout),
        diagnosis,
    ))
}

/// How a TLS connector reports to the exporter's diagnosis.
#[cfg(feature = "tls")]
fn on_tls_failure(diagnosis: &std::sync::Arc<Diagnosis>) -> crate::export::tls::OnTlsFailure {
    let diagnosis = diagnosis.clone();
    std::sync::Arc::new(move |cause| diagnosis.tls_failure(cause))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_chosen_by_the_scheme() {
        assert!(uses_tls("https://api.honeycomb.io:443"));
        assert!(uses_tls("HTTPS://collector:4318/v1/traces"));
        assert!(!uses_tls("http://localhost:4317"));
    }
}
