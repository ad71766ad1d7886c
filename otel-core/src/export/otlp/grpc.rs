//! OTLP/gRPC: tonic, with the channel built here for `https://` endpoints so that TLS
//! goes through the shared rustls connector.

use std::sync::Arc;

use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};

use super::Diagnosis;
use crate::config::{Compression, OtlpConfig};

/// Applies `cfg` to one signal's tonic exporter builder.
pub(super) fn configure<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    cfg: &OtlpConfig,
    diagnosis: &Arc<Diagnosis>,
) -> Result<B, String> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &cfg.headers {
        let name =
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name:?}: {e}"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header {name:?} is not valid"))?;
        headers.insert(name, value);
    }
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
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
