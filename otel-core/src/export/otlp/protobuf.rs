//! An exporter of requests encoded here (`trace_request.rs`, `log_request.rs`): one
//! transport, the resource encoded once, each request encoded once and retried as the
//! OTLP specification says ([`retry`](super::retry)).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;

use super::common::EncodedResource;
use super::retry::{self, Failure};

/// The signal a request carries: where it goes and what a rejection is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// The gRPC method of the signal's service.
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    pub(super) fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }

    /// Reports a collector's partial success in `telemetry_status().warnings`: the
    /// request succeeded, but some items were rejected and must not be retried (the
    /// specification says so); the collector's own logs say which and why.
    pub(super) fn report_partial_success(self, response: &[u8]) {
        if partial_success(response).is_none() {
            return;
        }
        crate::diagnostics::warn_once(match self {
            Signal::Traces => {
                "OTLP traces: the collector accepted a request but rejected some of its spans \
                 (partial success); its logs say why"
            }
            Signal::Logs => {
                "OTLP logs: the collector accepted a request but rejected some of its records \
                 (partial success); its logs say why"
            }
        });
    }
}

/// Where requests go.
#[derive(Debug)]
pub(super) enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::grpc::Sender),
    #[cfg(feature = "otlp-http")]
    Http(super::http::Sender),
}

impl Transport {
    async fn send(&self, body: &Bytes) -> Result<(), Failure> {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(sender) => sender.send(body.clone()).await,
            #[cfg(feature = "otlp-http")]
            Self::Http(sender) => sender.send(body.clone()).await,
        }
    }

    fn finish(&self, body: Vec<u8>) -> Result<Bytes, String> {
        match self {
            #[cfg(feature = "otlp-grpc")]
            // tonic compresses the message itself when asked to.
            Self::Grpc(_) => Ok(body.into()),
            #[cfg(feature = "otlp-http")]
            Self::Http(sender) => sender.finish(body),
        }
    }
}

/// Requests encoded here, sent over one transport.
#[derive(Debug)]
pub(crate) struct ProtobufExporter {
    transport: Transport,
    resource: EncodedResource,
    timeout: std::time::Duration,
    /// The last request's size: the next one is likely alike, so its buffer starts there.
    last_size: AtomicUsize,
    shut_down: AtomicBool,
}

impl ProtobufExporter {
    pub(super) fn new(transport: Transport, timeout: std::time::Duration) -> Self {
        ProtobufExporter {
            transport,
            resource: EncodedResource::default(),
            timeout,
            last_size: AtomicUsize::new(0),
            shut_down: AtomicBool::new(false),
        }
    }

    /// Encodes one request with `encode` and sends it, retrying transient failures.
    pub(crate) async fn export(&self, encode: impl FnOnce(&EncodedResource, &mut Vec<u8>)) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed));
        encode(&self.resource, &mut body);
        self.last_size.store(body.len(), Ordering::Relaxed);
        let body = self
            .transport
            .finish(body)
            .map_err(OTelSdkError::InternalFailure)?;
        retry::with_backoff(self.timeout, || self.transport.send(&body))
            .await
            .map_err(OTelSdkError::InternalFailure)
    }

    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

/// The export response's partial success, if the collector rejected something:
/// `(rejected, error_message)`. Every signal's response has the same shape:
/// `partial_success` (1) holding the count (1) and the message (2).
fn partial_success(response: &[u8]) -> Option<(i64, String)> {
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
