//! A reqwest request seen as [`http::request::Parts`]: the form in which the client
//! call (and the user's `filter` and `span_name` functions) read a request, so the
//! reqwest middleware and the tower layer share every rule.

use http::request::Parts;
use http::{Extensions, Uri};
use reqwest::{Request, Url};

/// A request's parts, holding its headers and the middleware's extensions while the
/// call starts. They are moved, not copied: [`give_back`](Self::give_back) returns them,
/// with the injected trace context, to the request and to the middleware chain.
pub(super) struct LentParts {
    pub(super) parts: Parts,
}

impl LentParts {
    pub(super) fn take(req: &mut Request, extensions: &mut Extensions) -> Self {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = req.method().clone();
        parts.uri = uri_of(req.url());
        parts.version = req.version();
        parts.headers = std::mem::take(req.headers_mut());
        parts.extensions = std::mem::take(extensions);
        Self { parts }
    }

    pub(super) fn give_back(self, req: &mut Request, extensions: &mut Extensions) {
        *req.headers_mut() = self.parts.headers;
        *extensions = self.parts.extensions;
    }
}

/// The URL as an `http::Uri`. Every URL reqwest can send converts: reqwest makes the
/// same conversion before sending, and fails the request when it cannot. For one that
/// does not (longer than the 64 KiB an `http::Uri` holds), the origin alone keeps
/// `server.address`, `server.port` and `url.scheme` right.
fn uri_of(url: &Url) -> Uri {
    url.as_str().parse().unwrap_or_else(|_| {
        let host = url.host_str().unwrap_or_default();
        let origin = match url.port() {
            Some(port) => format!("{}://{host}:{port}/", url.scheme()),
            None => format!("{}://{host}/", url.scheme()),
        };
        origin.parse().unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderValue, USER_AGENT};

    #[test]
    fn headers_and_extensions_are_lent_and_given_back() {
        let url = Url::parse("http://u:p@127.0.0.1:8080/a/b?token=t&x=1#frag").unwrap();
        let mut req = Request::new(http::Method::PUT, url);
        req.headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static("test"));
        let mut extensions = Extensions::new();
        extensions.insert(7u8);

        let mut lent = LentParts::take(&mut req, &mut extensions);
        assert!(req.headers().is_empty());
        assert_eq!(lent.parts.method, http::Method::PUT);
        assert_eq!(lent.parts.uri, "http://u:p@127.0.0.1:8080/a/b?token=t&x=1");
        assert_eq!(lent.parts.headers[USER_AGENT], "test");
        assert_eq!(lent.parts.extensions.get::<u8>(), Some(&7));
        lent.parts
            .headers
            .insert("traceparent", HeaderValue::from_static("00-x"));
        lent.give_back(&mut req, &mut extensions);

        assert_eq!(req.headers().len(), 2);
        assert_eq!(req.headers()["traceparent"], "00-x");
        assert_eq!(extensions.get::<u8>(), Some(&7));
    }

    #[test]
    fn urls_too_long_for_a_uri_keep_their_origin() {
        // `http::Uri` stops at 64 KiB; a URL carries no such limit.
        let long = format!("http://127.0.0.1:8080/search?q={}", "a".repeat(70_000));
        let url = Url::parse(&long).unwrap();
        assert_eq!(uri_of(&url), "http://127.0.0.1:8080/");
        let url = Url::parse(&long.replace("127.0.0.1:8080", "[::1]")).unwrap();
        assert_eq!(uri_of(&url), "http://[::1]/");
        let url = Url::parse("http://[::1]:81/p?q=1").unwrap();
        assert_eq!(uri_of(&url), "http://[::1]:81/p?q=1");
    }
}
