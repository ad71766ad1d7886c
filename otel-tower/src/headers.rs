//! Capture of request and response headers as span attributes, from an allow-list.

use std::sync::Arc;

use http::header::{HeaderMap, HeaderName};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    HTTP_REQUEST_HEADER, HTTP_RESPONSE_HEADER, RPC_REQUEST_METADATA, RPC_RESPONSE_METADATA,
};

/// Headers that carry credentials: never captured, whatever the allow-list says.
pub const NEVER_CAPTURED: [&str; 4] = ["authorization", "cookie", "set-cookie", "proxy-authorization"];

#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Request,
    Response,
}

#[derive(Debug)]
struct Entry {
    name: HeaderName,
    http_key: Key,
    rpc_key: Key,
}

/// The allow-list of one direction, with the attribute keys built once.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderCapture {
    entries: Option<Arc<[Entry]>>,
}

impl HeaderCapture {
    pub(crate) fn new<I, S>(direction: Direction, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let (http_prefix, rpc_prefix) = match direction {
            Direction::Request => (HTTP_REQUEST_HEADER, RPC_REQUEST_METADATA),
            Direction::Response => (HTTP_RESPONSE_HEADER, RPC_RESPONSE_METADATA),
        };
        let mut entries: Vec<Entry> = Vec::new();
        for name in names {
            let lower = name.as_ref().trim().to_ascii_lowercase();
            if NEVER_CAPTURED.contains(&lower.as_str()) {
                continue;
            }
            let Ok(header) = HeaderName::from_bytes(lower.as_bytes()) else {
                continue;
            };
            if entries.iter().any(|e| e.name == header) {
                continue;
            }
            entries.push(Entry {
                http_key: Key::from(format!("{http_prefix}.{lower}")),
                rpc_key: Key::from(format!("{rpc_prefix}.{lower}")),
                name: header,
            });
        }
        Self {
            entries: (!entries.is_empty()).then(|| entries.into()),
        }
    }

    /// Appends one string-array attribute per allowed header present in `headers`.
    pub(crate) fn capture(&self, headers: &HeaderMap, rpc: bool, out: &mut Vec<KeyValue>) {
        let Some(entries) = &self.entries else {
            return;
        };
        for entry in entries.iter() {
            let values: Vec<StringValue> = headers
                .get_all(&entry.name)
                .iter()
                .map(|v| StringValue::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            if values.is_empty() {
                continue;
            }
            let key = if rpc { &entry.rpc_key } else { &entry.http_key };
            out.push(KeyValue::new(key.clone(), Value::Array(Array::String(values))));
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_captured_and_values_are_arrays() {
        let capture = HeaderCapture::new(
            Direction::Request,
            [
                "X-Request-Id",
                "Authorization",
                "cookie",
                "Proxy-Authorization",
                "bad header",
            ],
        );
        let mut headers = HeaderMap::new();
        headers.append("x-request-id", "a".parse().unwrap());
        headers.append("x-request-id", "b".parse().unwrap());
        headers.append("authorization", "Bearer secret".parse().unwrap());
        headers.append("cookie", "session=secret".parse().unwrap());
        let mut out = Vec::new();
        capture.capture(&headers, false, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key.as_str(), "http.request.header.x-request-id");
        assert_eq!(
            out[0].value,
            Value::Array(Array::String(vec!["a".into(), "b".into()]))
        );
        let mut rpc = Vec::new();
        capture.capture(&headers, true, &mut rpc);
        assert_eq!(rpc[0].key.as_str(), "rpc.request.metadata.x-request-id");
        assert!(HeaderCapture::new(Direction::Response, ["set-cookie"]).is_empty());
    }
}
