//! Where a request goes, as both sides record it: `url.scheme`, `server.address` and
//! `server.port`.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use http::header::HOST;
use http::request::Parts;
use http::uri::Authority;
use opentelemetry::{KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{SERVER_ADDRESS, SERVER_PORT};

use crate::url::default_port;

/// The request's scheme, or `http` when the URI has none (an HTTP/1 server sees origin
/// form URIs, so a TLS-terminating server records `https` only if the proxy puts it in
/// the URI).
pub(crate) fn scheme(parts: &Parts) -> &str {
    parts.uri.scheme_str().unwrap_or("http")
}

/// `url.scheme`, without allocating for the usual two.
pub(crate) fn scheme_value(scheme: &str) -> Value {
    match scheme {
        "http" => Value::from("http"),
        "https" => Value::from("https"),
        other => Value::from(other.to_owned()),
    }
}

/// The authority the request is addressed to: the URI's (HTTP/2 `:authority`, absolute
/// form), else the `Host` header when it is a valid authority.
pub(crate) fn authority(parts: &Parts) -> Option<Cow<'_, Authority>> {
    match parts.uri.authority() {
        Some(authority) => Some(Cow::Borrowed(authority)),
        None => Authority::try_from(parts.headers.get(HOST)?.as_bytes())
            .ok()
            .map(Cow::Owned),
    }
}

/// `server.address` and `server.port`.
#[derive(Debug, Clone)]
pub(crate) struct ServerAddress {
    address: Value,
    port: Option<i64>,
}

impl ServerAddress {
    /// The host of `authority` (IPv6 without its brackets) and its port, or the
    /// default port of `scheme`. `None` when the host is empty.
    pub(crate) fn of(authority: &Authority, scheme: &str) -> Option<Self> {
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return None;
        }
        Some(Self {
            // Shared, so the span and the metrics (client) copy no text.
            address: Value::from(Arc::<str>::from(host)),
            port: authority
                .port_u16()
                .or_else(|| default_port(scheme))
                .map(i64::from),
        })
    }

    /// The request's server address: [`authority`] and [`scheme`] together.
    pub(crate) fn of_request(parts: &Parts) -> Option<Self> {
        let authority = authority(parts)?;
        Self::of(&authority, scheme(parts))
    }

    /// The host, as the key of a metric series.
    pub(crate) fn host(&self) -> &Value {
        &self.address
    }

    /// The port, as the key of a metric series.
    pub(crate) fn port_number(&self) -> Option<i64> {
        self.port
    }

    pub(crate) fn address(&self) -> KeyValue {
        KeyValue::new(SERVER_ADDRESS, self.address.clone())
    }

    pub(crate) fn port(&self) -> Option<KeyValue> {
        self.port.map(|port| KeyValue::new(SERVER_PORT, port))
    }
}

/// The server address of the last authority a layer saw: a server's `Host` header, a
/// client's (or an HTTP/2 server's) URI authority with its scheme. Parsing an authority
/// and copying its host cost about 1,500 instructions, and a layer's requests nearly
/// always name the same host, so it is parsed again only when the authority changes.
/// One entry, so requests to or from many hosts cost a parse each (as without the
/// cache), never memory.
#[derive(Default)]
pub(crate) struct HostCache(RwLock<Option<LastHost>>);

/// The bytes the last address came from ([`HostCache::key`]) and the address they gave.
type LastHost = (Box<[u8]>, Option<ServerAddress>);

/// Tells a `Host` header's key from a URI's, so no header can pass for a URI.
const FROM_HOST: u8 = 0;
const FROM_URI: u8 = 1;

impl HostCache {
    /// [`ServerAddress::of_request`], from the cache when the request's authority is
    /// the last one seen.
    pub(crate) fn server_address(&self, parts: &Parts) -> Option<ServerAddress> {
        // A URI with an authority (a client's, HTTP/2, absolute form) has the scheme
        // that picks the default port; one without has no scheme either, so the `Host`
        // header alone decides the result.
        let key: [&[u8]; 4] = match parts.uri.authority() {
            Some(authority) => [
                &[FROM_URI],
                scheme(parts).as_bytes(),
                b"\0",
                authority.as_str().as_bytes(),
            ],
            None => [&[FROM_HOST], parts.headers.get(HOST)?.as_bytes(), b"", b""],
        };
        if let Ok(last) = self.0.try_read() {
            if let Some((seen, address)) = &*last {
                if Self::is(seen, &key) {
                    return address.clone();
                }
            }
        }
        let address = ServerAddress::of_request(parts);
        // Another request updating it at the same time may win: either entry is right.
        if let Ok(mut last) = self.0.try_write() {
            *last = Some((key.concat().into(), address.clone()));
        }
        address
    }

    /// Whether `seen` is the concatenation of `key`.
    fn is(seen: &[u8], key: &[&[u8]]) -> bool {
        let mut rest = seen;
        for part in key {
            match rest.strip_prefix(*part) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

impl fmt::Debug for HostCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostCache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(host: &str, uri: &str) -> Option<(String, Option<i64>)> {
        let mut req = http::Request::get(uri);
        if !host.is_empty() {
            req = req.header(HOST, host);
        }
        let (parts, ()) = req.body(()).unwrap().into_parts();
        ServerAddress::of_request(&parts).map(|a| (a.address.as_str().into_owned(), a.port))
    }

    #[test]
    fn from_the_uri_or_the_host_header() {
        let some = |h: &str, p: Option<i64>| Some((h.to_owned(), p));
        assert_eq!(address("example.com:8080", "/"), some("example.com", Some(8080)));
        assert_eq!(address("example.com", "/"), some("example.com", Some(80)));
        assert_eq!(address("[::1]:81", "/"), some("::1", Some(81)));
        assert_eq!(address("[::1]", "/"), some("::1", Some(80)));
        assert_eq!(address("u:p@h:1", "/"), some("h", Some(1)));
        assert_eq!(address("h:notaport", "/"), some("h", Some(80)));
        assert_eq!(address("h:70000", "/"), some("h", Some(80)));
        // Not an authority (a bare IPv6 address, a path): nothing rather than a guess.
        assert_eq!(address("::1", "/"), None);
        assert_eq!(address("h/x", "/"), None);
        assert_eq!(address("", "/"), None);
        // The URI's authority wins over `Host`, and its scheme picks the default port.
        assert_eq!(address("other", "https://u@[::1]:8/a"), some("::1", Some(8)));
        assert_eq!(
            address("other", "https://api.local/a"),
            some("api.local", Some(443))
        );
        assert_eq!(address("", "grpc://api.local/a"), some("api.local", None));
    }

    #[test]
    fn the_host_cache_answers_as_the_parser() {
        let cache = HostCache::default();
        let of = |host: &str, uri: &str| {
            let mut req = http::Request::get(uri);
            if !host.is_empty() {
                req = req.header(HOST, host);
            }
            let (parts, ()) = req.body(()).unwrap().into_parts();
            let cached = cache
                .server_address(&parts)
                .map(|a| (a.address.as_str().into_owned(), a.port));
            let parsed = ServerAddress::of_request(&parts).map(|a| (a.address.as_str().into_owned(), a.port));
            assert_eq!(cached, parsed, "host {host:?}, uri {uri:?}");
            cached
        };
        for _ in 0..2 {
            assert_eq!(
                of("example.com:8080", "/"),
                Some(("example.com".into(), Some(8080)))
            );
            assert_eq!(
                of("example.com:8080", "/"),
                Some(("example.com".into(), Some(8080)))
            );
            assert_eq!(of("h/x", "/"), None);
            assert_eq!(of("h/x", "/"), None);
            assert_eq!(of("", "/"), None);
            assert_eq!(
                of("other", "https://api.local/a"),
                Some(("api.local".into(), Some(443)))
            );
            assert_eq!(of("[::1]", "/"), Some(("::1".into(), Some(80))));
            // The same authority under another scheme has another default port.
            assert_eq!(of("", "http://api.local/a"), Some(("api.local".into(), Some(80))));
            assert_eq!(
                of("", "https://api.local/a"),
                Some(("api.local".into(), Some(443)))
            );
        }
    }

    #[test]
    fn scheme_defaults_to_http() {
        let (parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
        assert_eq!(scheme(&parts), "http");
        let (parts, ()) = http::Request::get("https://a/").body(()).unwrap().into_parts();
        assert_eq!(scheme_value(scheme(&parts)).as_str(), "https");
    }
}
