//! The OTLP log exporter: each batch encoded by [`log_request`](super::log_request) and
//! sent by a [`ProtobufExporter`]; JSON bodies (`http/json`) still go through the OTLP
//! crate's exporter.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;

use super::log_request;
use super::protobuf::ProtobufExporter;

/// The OTLP log exporter the pipeline installs.
#[derive(Debug)]
pub(crate) enum OtlpLogExporter {
    /// Protobuf bodies, encoded here.
    Protobuf(ProtobufExporter),
    /// JSON bodies, by the OTLP crate.
    #[cfg(feature = "otlp-http-json")]
    Json(opentelemetry_otlp::LogExporter),
}

impl LogExporter for OtlpLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        match self {
            Self::Protobuf(exporter) => {
                exporter
                    .export(|resource, buf| log_request::encode(&batch, resource, buf))
                    .await
            }
            #[cfg(feature = "otlp-http-json")]
            Self::Json(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Protobuf(exporter) => exporter.shutdown(),
            #[cfg(feature = "otlp-http-json")]
            Self::Json(exporter) => exporter.shutdown_with_timeout(_timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Protobuf(exporter) => exporter.set_resource(resource),
            #[cfg(feature = "otlp-http-json")]
            Self::Json(exporter) => exporter.set_resource(resource),
        }
    }
}
