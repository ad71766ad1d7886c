//! Target for `otel_core::redact`: names, queries and URLs.
//!
//! The checks do not trust the redactor's own idea of where a URL's userinfo and query
//! are: [`whatwg`] finds them the way the WHATWG URL standard (what browsers and most URL
//! libraries implement) does, and the redacted text must hold no credential and no
//! sensitive value by that reading.

use otel_core::redact::{Redactor, REDACTED};

pub(crate) const TOKENS: &[&[u8]] = &[
    b"https://",
    b"http:",
    b"//",
    b"\\",
    b"u:p@",
    b"@",
    b"?",
    b"#",
    b"&",
    b";",
    b"=",
    b"token",
    b"%74oken",
    b"api%5Fkey",
    b"X-Goog-Signature",
    b"AWSAccessKeyId",
    b"code",
    b"[]",
    b"+",
    b"%",
    b"REDACTED",
    b" ",
    b"\t",
];

/// The whole input as text (lossy, as a header or argument would reach the redactor):
/// `is_sensitive` never panics; `query` keeps names and separators, leaves no sensitive
/// value, and is idempotent; `url` is idempotent and leaves neither credentials nor a
/// sensitive query value that a standard URL parser would find.
pub(crate) fn redact(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let redactor = Redactor::default();
    let _ = redactor.is_sensitive(&text);

    let query = redactor.query(&text);
    assert_eq!(
        redactor.query(&query),
        query,
        "query redaction is not idempotent on {text:?}"
    );
    let names = |q: &str| -> Vec<String> {
        q.split(['&', ';'])
            .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k).to_owned())
            .collect()
    };
    assert_eq!(
        names(&text),
        names(&query),
        "names or separators changed: {query:?}"
    );
    assert_no_sensitive_value(&redactor, &query, &text);

    let url = redactor.url(&text);
    assert_eq!(
        redactor.url(&url),
        url,
        "URL redaction is not idempotent on {text:?}"
    );
    if let Some(parts) = whatwg::parts(&url) {
        if let Some(userinfo) = parts.userinfo {
            assert_eq!(
                userinfo,
                format!("{REDACTED}:{REDACTED}"),
                "credentials left in {url:?} (from {text:?})"
            );
        }
        if let Some(query) = parts.query {
            assert_no_sensitive_value(&redactor, &query, &text);
        }
        assert!(
            parts.fragment.is_none(),
            "fragment kept in {url:?} (from {text:?})"
        );
    }
}

fn assert_no_sensitive_value(redactor: &Redactor, query: &str, from: &str) {
    for pair in query.split(['&', ';']) {
        if let Some((key, value)) = pair.split_once('=') {
            assert!(
                value.is_empty() || value == REDACTED || !redactor.is_sensitive(key),
                "value of {key:?} kept in {query:?} (from {from:?})"
            );
        }
    }
}

/// Where the WHATWG URL standard finds the userinfo, query and fragment of a string, for
/// absolute URLs (`scheme:` with `//`, or any slashes for the special schemes), and for
/// scheme-relative (`//host/…`) and path-absolute (`/…`) references. Enough of the
/// standard to locate credentials and the query, not a full parser.
pub(crate) mod whatwg {
    /// The pieces that may hold secrets.
    #[derive(Debug, Default)]
    pub(crate) struct Parts {
        pub(crate) userinfo: Option<String>,
        pub(crate) query: Option<String>,
        pub(crate) fragment: Option<String>,
    }

    const SPECIAL: &[&str] = &["http", "https", "ws", "wss", "ftp"];

    fn valid_scheme(s: &str) -> bool {
        let mut bytes = s.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    }

    /// The authority (up to `/`, `?`, `#`, and `\\` for the special schemes) and the rest.
    fn split_authority(rest: &str, special: bool) -> (Option<&str>, &str) {
        let end = rest
            .find(|c| matches!(c, '/' | '?' | '#') || (special && c == '\\'))
            .unwrap_or(rest.len());
        (Some(&rest[..end]), &rest[end..])
    }

    /// `None` when the string is no hierarchical URL or path reference.
    pub(crate) fn parts(input: &str) -> Option<Parts> {
        // The standard strips leading and trailing C0 controls and spaces, and removes
        // every tab and newline before parsing.
        let cleaned: String = input
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let (special, after_scheme) = match cleaned.split_once(':') {
            Some((scheme, rest)) if valid_scheme(scheme) => {
                let scheme = scheme.to_ascii_lowercase();
                (SPECIAL.contains(&scheme.as_str()), Some((scheme, rest)))
            }
            _ => (false, None),
        };
        // Opaque URLs (`mailto:…`, `urn:…`, `file:`) have no authority and are left alone
        // by the redactor; only hierarchical ones are checked.
        let (authority, rest) = match after_scheme {
            Some((_, rest)) if special => split_authority(rest.trim_start_matches(['/', '\\']), true),
            Some((scheme, rest)) if scheme != "file" => split_authority(rest.strip_prefix("//")?, false),
            Some(_) => return None,
            None => match cleaned.strip_prefix("//") {
                Some(rest) => split_authority(rest, false),
                None if cleaned.starts_with('/') => (None, cleaned.as_str()),
                None => return None,
            },
        };
        let mut parts = Parts {
            userinfo: authority.and_then(|a| a.rfind('@').map(|at| a[..at].to_owned())),
            ..Parts::default()
        };
        let (before_fragment, fragment) = match rest.split_once('#') {
            Some((b, f)) => (b, Some(f.to_owned())),
            None => (rest, None),
        };
        parts.fragment = fragment;
        parts.query = before_fragment.split_once('?').map(|(_, q)| q.to_owned());
        Some(parts)
    }
}
