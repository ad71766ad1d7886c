//! Capture of request and response headers as span attributes, from an allow-list.

use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    HTTP_REQUEST_HEADER, HTTP_RESPONSE_HEADER, RPC_REQUEST_METADATA, RPC_RESPONSE_METADATA,
};
use otel_core::redact::{strip_userinfo, Redactor, REDACTED};

/// Headers that carry credentials: never captured, whatever the allow-list says. Other
/// credential headers (`x-api-key`, `x-auth-token`, `x-amz-security-token`,
/// `x-csrf-token`, any name that [`otel_core::redact::Redactor`] finds sensitive) are
/// recorded as `REDACTED` when allow-listed; URL-valued ones (`Referer`, `Location`)
/// are redacted like `url.full`, and `Host` loses any userinfo.
pub const NEVER_CAPTURED: [&str; 4] = ["authorization", "cookie", "set-cookie", "proxy-authorization"];

#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Request,
    Response,
}

/// How a captured header's values are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// As sent.
    Value,
    /// A credential (`x-api-key`, `x-auth-token`, …): `REDACTED`, so the attribute says
    /// the header was present without its value.
    Redacted,
    /// A URL (`Referer`, `Location`): userinfo and sensitive query values redacted.
    Url,
    /// `Host`: without userinfo.
    Authority,
}

impl Record {
    fn of(name: &str, redactor: &Redactor) -> Self {
        match name {
            "referer" | "location" | "content-location" | "origin" => Self::Url,
            "host" | ":authority" => Self::Authority,
            _ if redactor.is_sensitive(name) => Self::Redacted,
            _ => Self::Value,
        }
    }

    fn apply(self, value: &HeaderValue, redactor: &Redactor) -> StringValue {
        let text = String::from_utf8_lossy(value.as_bytes());
        match self {
            Self::Value => text.into_owned().into(),
            Self::Redacted => REDACTED.into(),
            Self::Url => redactor.url(&text).into_owned().into(),
            Self::Authority => strip_userinfo(&text).to_owned().into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    name: HeaderName,
    record: Record,
    http_key: Key,
    rpc_key: Key,
}

/// The allow-list of one direction, with the attribute keys built once.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderCapture {
    entries: Option<Arc<[Entry]>>,
    redactor: Redactor,
}

impl HeaderCapture {
    /// The allow-list `names`, values redacted with `redactor` (the layer's sensitive
    /// query names, which also make a header name a credential).
    pub(crate) fn new<I, S>(direction: Direction, names: I, redactor: &Redactor) -> Self
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
                record: Record::of(&lower, redactor),
                http_key: Key::from(format!("{http_prefix}.{lower}")),
                rpc_key: Key::from(format!("{rpc_prefix}.{lower}")),
                name: header,
            });
        }
        Self {
            entries: (!entries.is_empty()).then(|| entries.into()),
            redactor: redactor.clone(),
        }
    }

    /// Redacts with `redactor` from now on (the user's sensitive names changed).
    pub(crate) fn set_redactor(&mut self, redactor: &Redactor) {
        if let Some(entries) = &self.entries {
            let entries: Vec<Entry> = entries
                .iter()
                .map(|e| Entry {
                    record: Record::of(e.name.as_str(), redactor),
                    ..e.clone()
                })
                .collect();
            self.entries = Some(entries.into());
        }
        self.redactor = redactor.clone();
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
                .map(|v| entry.record.apply(v, &self.redactor))
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
            &Redactor::default(),
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
        assert!(HeaderCapture::new(Direction::Response, ["set-cookie"], &Redactor::default()).is_empty());
    }

    #[test]
    fn credential_url_and_host_headers_are_redacted_even_when_allow_listed() {
        let names = [
            "x-api-key",
            "x-auth-token",
            "x-amz-security-token",
            "x-csrf-token",
            "referer",
            "host",
            "x-request-id",
        ];
        let capture = HeaderCapture::new(Direction::Request, names, &Redactor::default());
        let mut headers = HeaderMap::new();
        for name in &names[..4] {
            headers.append(*name, "s3cr3t".parse().unwrap());
        }
        headers.append(
            "referer",
            "https://u:pw@site.example/cb?code=s3cr3t&page=2".parse().unwrap(),
        );
        headers.append("host", "u:s3cr3t@api.example:8080".parse().unwrap());
        headers.append("x-request-id", "r-1".parse().unwrap());
        let mut out = Vec::new();
        capture.capture(&headers, false, &mut out);
        let get = |key: &str| {
            out.iter()
                .find(|kv| kv.key.as_str() == format!("http.request.header.{key}"))
                .map(|kv| kv.value.to_string())
        };
        for name in &names[..4] {
            assert_eq!(get(name).as_deref(), Some("[\"REDACTED\"]"), "{name}");
        }
        assert_eq!(
            get("referer").as_deref(),
            Some("[\"https://REDACTED:REDACTED@site.example/cb?code=REDACTED&page=2\"]")
        );
        assert_eq!(get("host").as_deref(), Some("[\"api.example:8080\"]"));
        assert_eq!(get("x-request-id").as_deref(), Some("[\"r-1\"]"));
        assert!(out.iter().all(|kv| !kv.value.to_string().contains("s3cr3t")));
    }

    /// Found by fuzzing the server layer: a `Referer` carrying a query name the user
    /// made sensitive (`q`) kept its value, because captured headers were redacted with
    /// the default names only, while `url.query` used the user's.
    #[test]
    fn url_headers_follow_the_user_names_whichever_setter_comes_first() {
        let with_q = Redactor::default().with_names(["q"]);
        let mut headers = HeaderMap::new();
        headers.append(
            "referer",
            "https://site.example/search?q=s3cr3t&page=2".parse().unwrap(),
        );
        headers.append("q", "s3cr3t".parse().unwrap());
        let expected = [
            (
                "http.request.header.referer",
                "[\"https://site.example/search?q=REDACTED&page=2\"]",
            ),
            ("http.request.header.q", "[\"REDACTED\"]"),
        ];

        let built_with = HeaderCapture::new(Direction::Request, ["referer", "q"], &with_q);
        let mut updated = HeaderCapture::new(Direction::Request, ["referer", "q"], &Redactor::default());
        updated.set_redactor(&with_q);
        for capture in [built_with, updated] {
            let mut out = Vec::new();
            capture.capture(&headers, false, &mut out);
            let got: Vec<(&str, String)> = out
                .iter()
                .map(|kv| (kv.key.as_str(), kv.value.to_string()))
                .collect();
            let want: Vec<(&str, String)> = expected.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            assert_eq!(got, want);
        }
    }
}
