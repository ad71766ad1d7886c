//! Value syntax shared by the environment (`env.rs`, where a bad value warns) and the
//! builder (`merge.rs`, where it is an error): key=value lists, endpoints, headers.

use super::Protocol;

/// Parses the `k=v,k2=v2` list used by `OTEL_RESOURCE_ATTRIBUTES` and the OTLP headers.
pub(crate) fn parse_key_values(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for entry in raw.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("entry {entry:?} is not key=value"));
        };
        let key =
            decode(key.trim()).ok_or_else(|| format!("key {key:?} is not valid percent-encoded UTF-8"))?;
        let value = decode(value.trim())
            .ok_or_else(|| format!("value of {key:?} is not valid percent-encoded UTF-8"))?;
        if key.is_empty() {
            return Err(format!("entry {entry:?} has an empty key"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// For HTTP the generic endpoint is a base URL that gets `/v1/{signal}` appended; for
/// gRPC it is used as is.
pub(crate) fn signal_endpoint(base: &str, protocol: Protocol, path: &str) -> String {
    if protocol.is_http() {
        format!("{}{}", base.trim_end_matches('/'), path)
    } else {
        base.to_owned()
    }
}

/// The spec lets a gRPC endpoint omit its scheme (`collector:4317`): it is then reached
/// over TLS unless `OTEL_EXPORTER_OTLP_INSECURE` is true. HTTP endpoints, and gRPC ones
/// with a scheme, are returned as given.
pub(crate) fn with_grpc_scheme(raw: &str, protocol: Protocol, insecure: bool) -> String {
    if protocol == Protocol::Grpc && !raw.contains("://") {
        let scheme = if insecure { "http" } else { "https" };
        format!("{scheme}://{raw}")
    } else {
        raw.to_owned()
    }
}

/// An OTLP endpoint: an absolute `http` or `https` URL with a host.
pub(crate) fn validate_endpoint(raw: &str) -> Result<(), String> {
    let uri: http::Uri = raw.parse().map_err(|e| format!("not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err("the URL must start with http:// or https://".to_owned()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    Ok(())
}

/// Checked up front so that a bad header is reported with the setting that holds it,
/// not later as a failed export.
pub(crate) fn validate_headers(pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, String> {
    for (name, value) in &pairs {
        http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of {name:?} is not a valid header value"))?;
    }
    Ok(pairs)
}
