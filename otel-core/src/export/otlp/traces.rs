//! The OTLP span exporter: each batch encoded once by [`trace_request`](super::trace_request)
//! and sent over gRPC or HTTP/protobuf, with the OTLP crate's retry behaviour
//! ([`retry`](super::retry)). JSON bodies (`http/json`) still go through the OTLP
//! crate's exporter.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::retry::{self, Failure};
use super::trace_request::{self, EncodedResource};

/// The OTLP span exporter the pipeline installs.
#[derive(Debug)]
pub(crate) enum OtlpSpanExporter {
    /// Protobuf bodies, encoded here.
    Protobuf(TraceExporter),
    /// JSON bodies, by the OTLP crate.
    #[cfg(feature = "otlp-http-json")]
    Json(opentelemetry_otlp::SpanExporter),
}

impl SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Self::Protobuf(exporter) => exporter.export(batch).await,
            #[cfg(feature = "otlp-http-json")]
            Self::Json(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Protobuf(exporter) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otlp-http-json")]
            Self::Json(exporter) => exporter.shutdown_with_timeout(timeout),
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

/// Where a request goes.
#[derive(Debug)]
pub(super) enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::grpc::TraceSender),
    #[cfg(feature = "otlp-http")]
    Http(super::http::TraceSender),
}

impl Transport {
    async fn send(&self, body: &bytes::Bytes) -> Result<(), Failure> {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(sender) => sender.send(body.clone()).await,
            #[cfg(feature = "otlp-http")]
            Self::Http(sender) => sender.send(body.clone()).await,
        }
    }

    fn finish(&self, body: Vec<u8>) -> Result<bytes::Bytes, String> {
        match self {
            #[cfg(feature = "otlp-grpc")]
            // tonic compresses the message itself when asked to.
            Self::Grpc(_) => Ok(body.into()),
            #[cfg(feature = "otlp-http")]
            Self::Http(sender) => sender.finish(body),
        }
    }
}

/// Spans to OTLP protobuf, over one transport.
#[derive(Debug)]
pub(crate) struct TraceExporter {
    transport: Transport,
    resource: EncodedResource,
    timeout: Duration,
    /// The last request's size: the next one is likely alike, so its buffer starts there.
    last_size: AtomicUsize,
    shut_down: AtomicBool,
}

impl TraceExporter {
    pub(super) fn new(transport: Transport, timeout: Duration) -> Self {
        TraceExporter {
            transport,
            resource: EncodedResource::default(),
            timeout,
            last_size: AtomicUsize::new(0),
            shut_down: AtomicBool::new(false),
        }
    }
}

impl SpanExporter for TraceExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed));
        trace_request::encode(&batch, &self.resource, &mut body);
        self.last_size.store(body.len(), Ordering::Relaxed);
        drop(batch);
        let body = self
            .transport
            .finish(body)
            .map_err(OTelSdkError::InternalFailure)?;
        retry::with_backoff(self.timeout, || self.transport.send(&body))
            .await
            .map_err(OTelSdkError::InternalFailure)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

/// The `ExportTraceServiceResponse`'s partial success, if the collector rejected some
/// spans: `(rejected_spans, error_message)`.
pub(super) fn partial_success(response: &[u8]) -> Option<(i64, String)> {
    use super::wire::{read_field, Field};

    let mut rest = response;
    while !rest.is_empty() {
        let (field, next) = read_field(rest)?;
        rest = next;
        let Field::Bytes(1, mut body) = field else {
            continue;
        };
        let (mut rejected, mut message) = (0i64, String::new());
        while !body.is_empty() {
            let (field, next) = read_field(body)?;
            body = next;
            match field {
                Field::Varint(1, n) => rejected = n as i64,
                Field::Bytes(2, text) => message = String::from_utf8_lossy(text).into_owned(),
                _ => {}
            }
        }
        return (rejected != 0 || !message.is_empty()).then_some((rejected, message));
    }
    None
}

/// Reports a collector's partial success in `telemetry_status().warnings`: the request
/// succeeded, but some spans were rejected and must not be retried (the specification
/// says so); the collector's own logs say which and why.
pub(super) fn report_partial_success(response: &[u8]) {
    if partial_success(response).is_some() {
        crate::diagnostics::warn_once(
            "OTLP traces: the collector accepted a request but rejected some of its spans \
             (partial success); its logs say why",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_success_is_read_from_the_response() {
        // ExportTraceServiceResponse { partial_success { rejected_spans: 3, error_message: "too old" } }
        let mut inner = vec![0x08, 0x03, 0x12, 0x07];
        inner.extend_from_slice(b"too old");
        let mut response = vec![0x0a, inner.len() as u8];
        response.extend_from_slice(&inner);
        assert_eq!(partial_success(&response), Some((3, "too old".into())));
        assert_eq!(partial_success(&[]), None);
        assert_eq!(partial_success(&[0x0a, 0x00]), None); // present but empty: full success
        assert_eq!(partial_success(&[0x0a, 0x05]), None); // truncated
    }
}
