//! URL scrubbing: credentials and sensitive query values never reach an attribute.

use http::Uri;
use otel_core::redact::Redactor;
use std::borrow::Cow;

pub use otel_core::redact::REDACTED;

/// The query parameter names whose values are redacted by default (see
/// [`otel_core::redact`] for how names are matched: after percent-decoding, case and
/// separator folding, with `…token`, `…secret`, `…password` endings always caught).
pub use otel_core::redact::DEFAULT_SENSITIVE_NAMES as DEFAULT_SENSITIVE_QUERY_PARAMETERS;

/// The query parameter names whose values are redacted: the defaults plus the user's.
#[derive(Debug, Clone, Default)]
pub(crate) struct SensitiveQuery {
    redactor: Redactor,
}

impl SensitiveQuery {
    /// The defaults plus `names`: a user can add names, never drop a default.
    pub(crate) fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            redactor: Redactor::default().with_names(names),
        }
    }

    /// The redactor with the defaults and the user's names, for URL-valued headers.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The query with every sensitive value replaced by `REDACTED` (keys are kept).
    pub(crate) fn redact<'a>(&self, query: &'a str) -> Cow<'a, str> {
        self.redactor.query(query)
    }

    /// A whole URL with its userinfo and sensitive query values redacted, for text
    /// that quotes one (an error message).
    #[cfg(feature = "reqwest")]
    pub(crate) fn url<'a>(&self, url: &'a str) -> Cow<'a, str> {
        self.redactor.url(url)
    }
}

/// `url.full` for a client request: credentials in the authority become
/// `REDACTED:REDACTED`, sensitive query values `REDACTED`, and the fragment (never sent
/// over HTTP, and `http::Uri` drops it anyway) is absent.
pub(crate) fn full_url(uri: &Uri, fallback_authority: Option<&str>, sensitive: &SensitiveQuery) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map(|a| a.as_str()).or(fallback_authority);
    let mut out = String::with_capacity(64);
    out.push_str(scheme);
    out.push_str("://");
    if let Some(authority) = authority {
        match authority.rsplit_once('@') {
            Some((_, host)) => {
                out.push_str(REDACTED);
                out.push(':');
                out.push_str(REDACTED);
                out.push('@');
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
    }
    out.push_str(uri.path());
    if let Some(query) = uri.query() {
        out.push('?');
        out.push_str(&sensitive.redact(query));
    }
    out
}

/// Splits a `host[:port]` authority (userinfo already removed or absent) into the
/// address and the port; IPv6 brackets are removed from the address.
pub(crate) fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    let bytes = authority.as_bytes();
    // One backward scan finds the port separator and any userinfo ('@').
    let mut colon = None;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().rev() {
        match b {
            b'@' => {
                start = i + 1;
                break;
            }
            b':' if colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    let host_port = &authority[start..];
    if let Some(rest) = host_port.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':').and_then(parse_port)),
            None => (host_port, None),
        };
    }
    match colon {
        Some(c) if c >= start => {
            let host = &authority[start..c];
            if host.contains(':') {
                // A bare IPv6 address without brackets: no port to split off.
                (host_port, None)
            } else {
                (host, parse_port(&authority[c + 1..]))
            }
        }
        _ => (host_port, None),
    }
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut port: u32 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        port = port * 10 + u32::from(b - b'0');
    }
    u16::try_from(port).ok()
}

/// The default port of a scheme, used for `server.port` when the URL has none.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_redaction() {
        let s = SensitiveQuery::default();
        assert_eq!(s.redact("q=rust&page=2"), "q=rust&page=2");
        assert!(matches!(s.redact("q=rust"), Cow::Borrowed(_)));
        assert_eq!(
            s.redact("color=blue&sig=abc&X-Amz-Signature=def"),
            "color=blue&sig=REDACTED&X-Amz-Signature=REDACTED"
        );
        assert_eq!(s.redact("Token=abc&x"), "Token=REDACTED&x");
        assert_eq!(s.redact("sig="), "sig=");
        assert_eq!(s.redact("a=1&&access_token=t0k"), "a=1&&access_token=REDACTED");

        // User names add to the defaults.
        let custom = SensitiveQuery::new(["q"]);
        assert_eq!(
            custom.redact("q=x&sig=y&page=1"),
            "q=REDACTED&sig=REDACTED&page=1"
        );
    }

    #[test]
    fn full_url_strips_credentials() {
        let s = SensitiveQuery::default();
        let uri: Uri = "https://user:pass@example.com:8443/a/b?token=t&x=1"
            .parse()
            .unwrap();
        assert_eq!(
            full_url(&uri, None, &s),
            "https://REDACTED:REDACTED@example.com:8443/a/b?token=REDACTED&x=1"
        );
        let uri: Uri = "/pkg.Svc/Method".parse().unwrap();
        assert_eq!(
            full_url(&uri, Some("127.0.0.1:50051"), &s),
            "http://127.0.0.1:50051/pkg.Svc/Method"
        );
    }

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("example.com:8080"), ("example.com", Some(8080)));
        assert_eq!(split_host_port("example.com"), ("example.com", None));
        assert_eq!(split_host_port("[::1]:80"), ("::1", Some(80)));
        assert_eq!(split_host_port("[::1]"), ("::1", None));
        assert_eq!(split_host_port("u:p@h:1"), ("h", Some(1)));
        assert_eq!(split_host_port("h:notaport"), ("h", None));
        assert_eq!(split_host_port("h:70000"), ("h", None));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("u@[::1]:8"), ("::1", Some(8)));
    }
}
