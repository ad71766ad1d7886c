//! OTLP/gRPC over tonic, with the channel built here for `https://` endpoints so that
//! TLS goes through the shared rustls connector: the span requests
//! and logs encoded here ([`Sender`]), and the OTLP crate's exporters for metrics
//! ([`configure`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::protobuf::Signal;
use super::retry::{Failure, Retry};
use super::wire::{read_field, Field};
use super::Diagnosis;
use crate::config::{Compression, OtlpConfig};

/// Sends encoded requests to one signal's service.
#[derive(Debug)]
pub(super) struct Sender {
    grpc: tonic::client::Grpc<Channel>,
    metadata: MetadataMap,
    signal: Signal,
}

impl Sender {
    pub(super) fn new(cfg: &OtlpConfig, diagnosis: &Arc<Diagnosis>, signal: Signal) -> Result<Self, String> {
        let channel = if super::uses_tls(&cfg.endpoint) {
            tls_channel(cfg, diagnosis)?
        } else {
            tonic::transport::Endpoint::from_shared(cfg.endpoint.clone())
                .map_err(|e| format!("invalid endpoint: {e}"))?
                .timeout(cfg.timeout)
                .connect_timeout(cfg.timeout)
                .connect_lazy()
        };
        let mut grpc = tonic::client::Grpc::new(channel);
        if cfg.compression == Compression::Gzip {
            grpc = grpc
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        let mut metadata = MetadataMap::from_headers(super::header_map(&cfg.headers)?);
        metadata.insert(
            "user-agent",
            tonic::metadata::MetadataValue::from_static(super::USER_AGENT),
        );
        Ok(Sender {
            grpc,
            metadata,
            signal,
        })
    }

    pub(super) async fn send(&self, body: Bytes) -> Result<(), Failure> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|e| Failure::new(Retry::Backoff, format!("the gRPC channel is not ready: {e}")))?;
        let mut request = tonic::Request::new(body);
        *request.metadata_mut() = self.metadata.clone();
        let path = http::uri::PathAndQuery::from_static(self.signal.grpc_path());
        match grpc.unary(request, path, RawCodec).await {
            Ok(response) => {
                self.signal.report_partial_success(response.get_ref());
                Ok(())
            }
            Err(status) => Err(failure(&status)),
        }
    }
}

/// The specification's retryable codes; a server that is out of resources is retried
/// only when it says when (`RetryInfo` in the status details).
fn failure(status: &Status) -> Failure {
    let hint = retry_delay(status.details()).filter(|delay| !delay.is_zero());
    let retry = match (status.code(), hint) {
        (Code::Unavailable | Code::ResourceExhausted, Some(delay)) => Retry::After(delay),
        (
            Code::Unavailable
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::DataLoss,
            _,
        ) => Retry::Backoff,
        _ => Retry::Never,
    };
    let mut message = format!("the collector answered {:?}", status.code());
    if !status.message().is_empty() {
        message.push_str(": ");
        message.push_str(status.message());
    }
    Failure::new(retry, message)
}

/// The `retry_delay` of a `google.rpc.RetryInfo` among the details of a
/// `google.rpc.Status` (`grpc-status-details-bin`).
fn retry_delay(details: &[u8]) -> Option<Duration> {
    const RETRY_INFO: &[u8] = b"type.googleapis.com/google.rpc.RetryInfo";
    // Status.details (3) are `Any`s: type_url (1), value (2).
    let any = fields(details).find_map(|field| match field {
        Field::Bytes(3, any) => {
            let mut type_url = None;
            let mut value = None;
            for field in fields(any) {
                match field {
                    Field::Bytes(1, url) => type_url = Some(url),
                    Field::Bytes(2, bytes) => value = Some(bytes),
                    _ => {}
                }
            }
            (type_url == Some(RETRY_INFO)).then_some(value).flatten()
        }
        _ => None,
    })?;
    // RetryInfo.retry_delay (1) is a `Duration`: seconds (1), nanos (2).
    let delay = fields(any).find_map(|field| match field {
        Field::Bytes(1, delay) => Some(delay),
        _ => None,
    })?;
    let (mut seconds, mut nanos) = (0, 0);
    for field in fields(delay) {
        match field {
            Field::Varint(1, s) => seconds = s,
            Field::Varint(2, n) => nanos = n as u32,
            _ => {}
        }
    }
    // A negative duration arrives as a huge varint; it means "now".
    (seconds < 1 << 40).then(|| Duration::new(seconds, nanos.min(999_999_999)))
}

/// The fields of a message, up to the first malformed one.
fn fields(mut input: &[u8]) -> impl Iterator<Item = Field<'_>> {
    std::iter::from_fn(move || {
        let (field, rest) = read_field(input)?;
        input = rest;
        Some(field)
    })
}

/// Passes already-encoded messages through tonic unchanged, both ways.
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Applies `cfg` to one signal's tonic exporter builder.
pub(super) fn configure<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    cfg: &OtlpConfig,
    diagnosis: &Arc<Diagnosis>,
) -> Result<B, String> {
    let metadata = MetadataMap::from_headers(super::header_map(&cfg.headers)?);
    let mut builder = builder.with_timeout(cfg.timeout).with_metadata(metadata);
    builder = if super::uses_tls(&cfg.endpoint) {
        builder.with_channel(tls_channel(cfg, diagnosis)?)
    } else {
        builder.with_endpoint(cfg.endpoint.clone())
    };
    if cfg.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder)
}

/// A lazy channel whose connections are TLS from our connector. tonic is handed the
/// `http://` form of the address, so it never layers TLS of its own (which it would try
/// if some other crate of the build turned its TLS features on), while the requests
/// carry the `https` scheme and the real authority.
#[cfg(feature = "tls")]
fn tls_channel(cfg: &OtlpConfig, diagnosis: &Arc<Diagnosis>) -> Result<tonic::transport::Channel, String> {
    use crate::export::tls::{client_config, Alpn, TlsConnector};

    let uri: http::Uri = cfg
        .endpoint
        .parse()
        .map_err(|e| format!("invalid endpoint: {e}"))?;
    let authority = uri.authority().ok_or("the endpoint has no host")?;
    let port = uri.port_u16().unwrap_or(443);
    let origin: http::Uri = format!("https://{authority}")
        .parse()
        .map_err(|e| format!("invalid endpoint: {e}"))?;
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}:{port}", authority.host()))
        .map_err(|e| format!("invalid endpoint: {e}"))?
        .origin(origin)
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout);
    let client = client_config(&cfg.tls, Alpn::Http2).map_err(|e| e.message().to_owned())?;
    let connector = TlsConnector::new(client, cfg.timeout, super::on_tls_failure(diagnosis));
    Ok(endpoint.connect_with_connector_lazy(connector))
}

#[cfg(not(feature = "tls"))]
fn tls_channel(cfg: &OtlpConfig, _: &Arc<Diagnosis>) -> Result<tonic::transport::Channel, String> {
    Err(super::tls_missing(cfg).message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::otlp::wire::{message, oneof_bytes, uint};

    fn status_details(type_url: &str, seconds: u64, nanos: u64) -> Vec<u8> {
        let mut details = Vec::new();
        uint(&mut details, 1, 14); // code: UNAVAILABLE
        message(&mut details, 3, |any| {
            oneof_bytes(any, 1, type_url.as_bytes());
            message(any, 2, |info| {
                message(info, 1, |duration| {
                    uint(duration, 1, seconds);
                    uint(duration, 2, nanos);
                })
            });
        });
        details
    }

    #[test]
    fn a_retry_info_sets_the_wait() {
        let details = status_details("type.googleapis.com/google.rpc.RetryInfo", 2, 500_000_000);
        let status = Status::with_details(Code::Unavailable, "slow down", details.into());
        assert_eq!(failure(&status).retry, Retry::After(Duration::from_millis(2500)));
        let status = Status::with_details(
            Code::ResourceExhausted,
            "quota",
            status_details("type.googleapis.com/google.rpc.RetryInfo", 1, 0).into(),
        );
        assert_eq!(failure(&status).retry, Retry::After(Duration::from_secs(1)));
    }

    #[test]
    fn codes_are_classified_as_the_specification_says() {
        let other = status_details("type.googleapis.com/google.rpc.DebugInfo", 2, 0);
        let cases = [
            (Status::new(Code::Unavailable, ""), Retry::Backoff),
            (
                Status::with_details(Code::Unavailable, "", other.into()),
                Retry::Backoff,
            ),
            (Status::new(Code::DeadlineExceeded, ""), Retry::Backoff),
            (Status::new(Code::ResourceExhausted, ""), Retry::Never),
            (Status::new(Code::InvalidArgument, ""), Retry::Never),
            (Status::new(Code::Unauthenticated, ""), Retry::Never),
        ];
        for (status, retry) in cases {
            assert_eq!(failure(&status).retry, retry, "{status:?}");
        }
        assert_eq!(
            failure(&Status::new(Code::PermissionDenied, "bad key")).message,
            "the collector answered PermissionDenied: bad key"
        );
    }
}
