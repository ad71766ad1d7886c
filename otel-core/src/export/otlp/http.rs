//! OTLP/HTTP over our own hyper client, plain or through the shared TLS connector,
//! wrapped so that a failed request reports its cause instead of "network error":
//! the span and log requests encoded here ([`Sender`]), and the OTLP crate's exporters
//! for metrics and JSON bodies ([`configure`]).

use std::sync::Arc;

use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

use super::protobuf::Signal;
use super::retry::{self, Failure, Retry};
use super::Diagnosis;
use crate::config::{Compression, OtlpConfig, Protocol};

/// Applies `cfg` to one signal's HTTP exporter builder.
pub(super) fn configure<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    cfg: &OtlpConfig,
    diagnosis: &Arc<Diagnosis>,
) -> Result<B, String> {
    // The header values are already percent-decoded (`config::values`), and the OTLP
    // crate decodes what `with_headers` gets once more: escape `%` so a decoded value
    // such as "50%25" is sent as given, not as "50%".
    let headers = cfg
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.replace('%', "%25")))
        .collect();
    let mut builder = builder
        .with_endpoint(cfg.endpoint.clone())
        .with_protocol(protocol(cfg.protocol)?)
        .with_timeout(cfg.timeout)
        .with_headers(headers)
        .with_shared_http_client(client(cfg, diagnosis)?);
    if cfg.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder)
}

/// Sends encoded requests to one signal's endpoint (`.../v1/traces`, `.../v1/logs`).
#[derive(Debug)]
pub(super) struct Sender {
    client: Arc<dyn HttpClient>,
    endpoint: http::Uri,
    headers: http::HeaderMap,
    gzip: bool,
    signal: Signal,
}

impl Sender {
    pub(super) fn new(cfg: &OtlpConfig, diagnosis: &Arc<Diagnosis>, signal: Signal) -> Result<Self, String> {
        let endpoint = cfg
            .endpoint
            .parse()
            .map_err(|e| format!("invalid endpoint: {e}"))?;
        let mut headers = super::header_map(&cfg.headers)?;
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(super::USER_AGENT),
        );
        let gzip = cfg.compression == Compression::Gzip;
        if gzip {
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static("gzip"),
            );
        }
        Ok(Sender {
            client: client(cfg, diagnosis)?,
            endpoint,
            headers,
            gzip,
            signal,
        })
    }

    /// The request body: the encoded request, compressed when configured.
    pub(super) fn finish(&self, body: Vec<u8>) -> Result<Bytes, String> {
        if !self.gzip {
            return Ok(body.into());
        }
        use std::io::Write as _;
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
        encoder
            .write_all(&body)
            .and_then(|()| encoder.finish())
            .map(Bytes::from)
            .map_err(|e| format!("cannot compress the request: {e}"))
    }

    pub(super) async fn send(&self, body: Bytes) -> Result<(), Failure> {
        let mut request = Request::new(body);
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.endpoint.clone();
        *request.headers_mut() = self.headers.clone();
        // The client has recorded the cause for the diagnosis; the connection may work
        // on the next attempt (a collector restarting).
        let response = self
            .client
            .send_bytes(request)
            .await
            .map_err(|e| Failure::new(Retry::Backoff, format!("HTTP request failed: {e}")))?;
        let status = response.status();
        if status.is_success() {
            self.signal.report_partial_success(response.body());
            return Ok(());
        }
        let retry = match status.as_u16() {
            429 | 503 => response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(retry::retry_after)
                .map_or(Retry::Backoff, Retry::After),
            502 | 504 => Retry::Backoff,
            _ => Retry::Never,
        };
        Err(Failure::new(retry, format!("the collector answered {status}")))
    }
}

fn protocol(protocol: Protocol) -> Result<opentelemetry_otlp::Protocol, String> {
    match protocol {
        #[cfg(feature = "otlp-http-json")]
        Protocol::HttpJson => Ok(opentelemetry_otlp::Protocol::HttpJson),
        #[cfg(not(feature = "otlp-http-json"))]
        Protocol::HttpJson => Err(super::missing(protocol).message().to_owned()),
        _ => Ok(opentelemetry_otlp::Protocol::HttpBinary),
    }
}

fn client(cfg: &OtlpConfig, diagnosis: &Arc<Diagnosis>) -> Result<Arc<dyn HttpClient>, String> {
    let inner: Box<dyn HttpClient> = if super::uses_tls(&cfg.endpoint) {
        tls_client(cfg, diagnosis)?
    } else {
        Box::new(HyperClient::with_default_connector(cfg.timeout, None))
    };
    Ok(Arc::new(DiagnosingClient {
        inner,
        diagnosis: diagnosis.clone(),
    }))
}

#[cfg(feature = "tls")]
fn tls_client(cfg: &OtlpConfig, diagnosis: &Arc<Diagnosis>) -> Result<Box<dyn HttpClient>, String> {
    use crate::export::tls::{client_config, Alpn, TlsConnector};

    let client = client_config(&cfg.tls, Alpn::Http11).map_err(|e| e.message().to_owned())?;
    let connector = TlsConnector::new(client, cfg.timeout, super::on_tls_failure(diagnosis));
    Ok(Box::new(HyperClient::new(connector, cfg.timeout, None)))
}

#[cfg(not(feature = "tls"))]
fn tls_client(cfg: &OtlpConfig, _: &Arc<Diagnosis>) -> Result<Box<dyn HttpClient>, String> {
    Err(super::tls_missing(cfg).message().to_owned())
}

/// Records why a request failed (the whole error chain) before the OTLP crate reduces
/// it to "network error".
#[derive(Debug)]
struct DiagnosingClient {
    inner: Box<dyn HttpClient>,
    diagnosis: Arc<Diagnosis>,
}

#[async_trait::async_trait]
impl HttpClient for DiagnosingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let result = self.inner.send_bytes(request).await;
        if let Err(error) = &result {
            self.diagnosis.transport_failure(chain(error.as_ref()));
        }
        result
    }
}

/// `error: its source: its source's source`, without repeating a message that a
/// wrapper already quotes.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = source.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        #[derive(Debug)]
        struct Connect(std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl std::error::Error for Connect {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(chain(&Connect(refused)), "tcp connect error: Connection refused");
    }
}
