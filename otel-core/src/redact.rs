//! Secrets out of telemetry: query values and URL credentials, matched the way servers
//! read them, so an encoded or decorated name cannot slip past.
//!
//! One matcher serves query parameters, credential headers and URL-valued strings
//! (`url.full`, `url.query`, `Referer`, `Location`, `#[instrumented]` string arguments
//! that hold a URL). A name is compared after percent-decoding (`%74oken`), form
//! decoding (`+` is a space), trimming, dropping array suffixes (`token[]`, `user[token]`
//! checks `token` too) and folding case and separators (`Access-Token`, `access_token`
//! and `accesstoken` are one name). A name is sensitive when it equals one of
//! [`DEFAULT_SENSITIVE_NAMES`] or a name the user added, or ends with a word that
//! always means a secret (`…token`, `…secret`, `…password`, `…apikey`, `…signature`,
//! `…credential`). Users can add names; the defaults cannot be removed.
//!
//! ```
//! use otel_core::redact::Redactor;
//!
//! let redactor = Redactor::default();
//! assert_eq!(redactor.query("q=rust&%74oken=abc;sig=x"), "q=rust&%74oken=REDACTED;sig=REDACTED");
//! assert_eq!(
//!     redactor.url("https://u:p@example.com/a?X-Goog-Signature=1&page=2"),
//!     "https://REDACTED:REDACTED@example.com/a?X-Goog-Signature=REDACTED&page=2"
//! );
//! ```

use std::borrow::Cow;
use std::sync::Arc;

/// What replaces a credential or a sensitive value.
pub const REDACTED: &str = "REDACTED";

/// Names whose values are always redacted, compared after folding case and dropping
/// `-`, `_`, `.` and spaces.
///
/// The semantic conventions list `AWSAccessKeyId`, `Signature`, `sig`,
/// `X-Goog-Signature` and the `X-Amz-*` names for `url.query` and `url.full`; the others
/// are the common OAuth, session and API-key names.
pub const DEFAULT_SENSITIVE_NAMES: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Goog-Credential",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "private_token",
    "client_secret",
    "code",
    "auth",
    "authorization",
    "api_key",
    "key",
    "password",
    "passwd",
    "pwd",
    "secret",
    "session",
    "sessionid",
    "sid",
    "jwt",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
];

/// Endings that make any name sensitive (`github_token`, `db_password`, `x-api-key`).
const SENSITIVE_SUFFIXES: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "signature",
    "credential",
];

/// Folds a name for comparison: ASCII lowercase, without `-`, `_`, `.` and spaces.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' ' | '\t'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn fold_all(names: &[&str]) -> Vec<Box<str>> {
    names.iter().map(|n| fold(n).into_boxed_str()).collect()
}

/// Decides which names are secret and rewrites queries and URLs accordingly.
///
/// Cheap to clone (the name list is shared).
///
/// ```
/// use otel_core::redact::Redactor;
///
/// let redactor = Redactor::default().with_names(["otp"]);
/// assert_eq!(redactor.query("otp=123&token=x&page=1"), "otp=REDACTED&token=REDACTED&page=1");
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    names: Arc<[Box<str>]>,
}

impl Default for Redactor {
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<Arc<[Box<str>]>> = std::sync::OnceLock::new();
        Self {
            names: DEFAULT
                .get_or_init(|| fold_all(DEFAULT_SENSITIVE_NAMES).into())
                .clone(),
        }
    }
}

impl Redactor {
    /// Adds `names` to the sensitive ones (the defaults stay).
    #[must_use]
    pub fn with_names<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut all: Vec<Box<str>> = self.names.iter().cloned().collect();
        for name in names {
            let folded = fold(name.as_ref()).into_boxed_str();
            if !folded.is_empty() && !all.contains(&folded) {
                all.push(folded);
            }
        }
        Self { names: all.into() }
    }

    /// Whether a header, query parameter or field called `name` holds a secret.
    ///
    /// ```
    /// let r = otel_core::redact::Redactor::default();
    /// assert!(r.is_sensitive("X-Api-Key") && r.is_sensitive("%74oken") && r.is_sensitive("token[]"));
    /// assert!(!r.is_sensitive("page") && !r.is_sensitive("keyword"));
    /// ```
    pub fn is_sensitive(&self, name: &str) -> bool {
        let decoded: Cow<'_, str> = if name.contains(['%', '+']) {
            let plus_as_space = name.replace('+', " ");
            Cow::Owned(
                percent_encoding::percent_decode_str(&plus_as_space)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        } else {
            Cow::Borrowed(name)
        };
        // `user[token][]`: the base name and every bracketed part are names.
        decoded
            .split(['[', ']'])
            .map(fold)
            .filter(|part| !part.is_empty())
            .any(|part| {
                self.names.iter().any(|n| **n == *part)
                    || SENSITIVE_SUFFIXES.iter().any(|s| part.ends_with(s))
            })
    }

    /// The query string (without `?`) with every sensitive value replaced by
    /// `REDACTED`; names, order and separators (`&` and `;`) are kept.
    pub fn query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let sensitive = |pair: &str| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            !value.is_empty() && value != REDACTED && self.is_sensitive(key)
        };
        if !query.split(['&', ';']).any(sensitive) {
            return Cow::Borrowed(query);
        }
        let mut out = String::with_capacity(query.len());
        let mut rest = query;
        loop {
            let end = rest.find(['&', ';']).unwrap_or(rest.len());
            let pair = &rest[..end];
            match pair.split_once('=') {
                Some((key, _)) if sensitive(pair) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(pair),
            }
            if end == rest.len() {
                break;
            }
            out.push_str(&rest[end..=end]);
            rest = &rest[end + 1..];
        }
        Cow::Owned(out)
    }

    /// A URL (absolute, scheme-relative, or a path with a query) with userinfo replaced
    /// by `REDACTED:REDACTED` and sensitive query values redacted; the fragment is
    /// dropped. A string that is not a URL is returned unchanged.
    ///
    /// The URL is read as the WHATWG URL standard (browsers, most URL libraries) reads
    /// it, so a lenient spelling cannot hide credentials: leading spaces and controls,
    /// tabs and newlines anywhere, any mix of `/` and `\` after `http:`, `https:`,
    /// `ws:`, `wss:` and `ftp:` (`https:\\user:pass@host`), and `//user:pass@host/…`.
    ///
    /// ```
    /// let r = otel_core::redact::Redactor::default();
    /// assert_eq!(r.url("/cb?code=abc#frag"), "/cb?code=REDACTED");
    /// assert_eq!(r.url("https:/u:p@h/"), "https:/REDACTED:REDACTED@h/");
    /// assert_eq!(r.url("hello world"), "hello world");
    /// ```
    pub fn url<'a>(&self, url: &'a str) -> Cow<'a, str> {
        if url.contains(['\t', '\n', '\r']) {
            // A parser removes them before reading the URL; so does the redaction, when
            // what is left needs it.
            let cleaned: String = url.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
            return match self.url(&cleaned) {
                Cow::Owned(redacted) => Cow::Owned(redacted),
                Cow::Borrowed(_) => Cow::Borrowed(url),
            };
        }
        // Leading spaces and C0 controls are skipped by parsers and kept here as is.
        let lead = url.len() - url.trim_start_matches(|c: char| c <= ' ').len();
        let Some((authority_start, special)) = layout(&url[lead..]) else {
            return Cow::Borrowed(url);
        };
        let authority_start = authority_start.map(|i| lead + i);
        let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
        let (before_query, query) = match without_fragment.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (without_fragment, None),
        };
        let authority = authority_start.map(|start| {
            let end = before_query[start..]
                .find(|c| c == '/' || (special && c == '\\'))
                .map_or(before_query.len(), |i| start + i);
            (start, end)
        });
        let userinfo = authority.filter(|&(start, end)| {
            before_query[start..end]
                .rsplit_once('@')
                .is_some_and(|(info, _)| info != "REDACTED:REDACTED")
        });
        let redacted_query = query.map(|q| self.query(q));
        let query_changed = matches!(redacted_query, Some(Cow::Owned(_)));
        if userinfo.is_none() && !query_changed && without_fragment.len() == url.len() {
            return Cow::Borrowed(url);
        }
        let mut out = String::with_capacity(url.len() + 16);
        if let Some((start, end)) = userinfo {
            let authority = &before_query[start..end];
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            out.push_str(&before_query[..start]);
            out.push_str(REDACTED);
            out.push(':');
            out.push_str(REDACTED);
            out.push('@');
            out.push_str(host);
            out.push_str(&before_query[end..]);
        } else {
            out.push_str(before_query);
        }
        if let Some(q) = redacted_query {
            out.push('?');
            out.push_str(&q);
        }
        Cow::Owned(out)
    }
}

/// The schemes whose URLs always have an authority, however many slashes follow the
/// colon (the URL standard's "special" schemes, less `file`, which has no userinfo).
const SPECIAL_SCHEMES: &[&str] = &["http", "https", "ws", "wss", "ftp"];

/// Where the authority of `s` starts and whether its scheme is special: after
/// `scheme://`, after any mix of `/` and `\` following a special `scheme:`, after the
/// `//` of a scheme-relative reference; `Some((None, _))` for a path (`/…`); `None`
/// for what is no hierarchical URL (`mailto:…`, `urn:…`, plain text).
fn layout(s: &str) -> Option<(Option<usize>, bool)> {
    if let Some(colon) = s.find(':') {
        let scheme = &s[..colon];
        let mut bytes = scheme.bytes();
        let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if valid {
            let rest = &s[colon + 1..];
            if SPECIAL_SCHEMES.iter().any(|sp| sp.eq_ignore_ascii_case(scheme)) {
                let slashes = rest.len() - rest.trim_start_matches(['/', '\\']).len();
                return Some((Some(colon + 1 + slashes), true));
            }
            return rest.starts_with("//").then_some((Some(colon + 3), false));
        }
    }
    if s.starts_with("//") {
        return Some((Some(2), false));
    }
    s.starts_with('/').then_some((None, false))
}

/// [`Redactor::url`] with the default names, for values that may hold a URL.
pub(crate) fn url_with_defaults(s: &str) -> Cow<'_, str> {
    // Most strings are not URLs: skip the work unless one could hold userinfo or a
    // query (or, with `://`, a fragment to drop). One pass over the bytes: this runs
    // for every recorded `&str` argument, and `str::contains("://")` alone sets up a
    // substring searcher that costs more than the whole scan of a short string.
    if !may_need_redaction(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    static DEFAULT: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(Redactor::default).url(s)
}

/// Whether `s` contains `@`, `?` or `://` (all ASCII, so a byte scan of UTF-8 finds
/// exactly what a `str` search would).
#[inline]
fn may_need_redaction(s: &[u8]) -> bool {
    s.iter()
        .enumerate()
        .any(|(i, &b)| b == b'@' || b == b'?' || (b == b':' && s[i + 1..].starts_with(b"//")))
}

/// The authority without userinfo (`user:pass@host:1` → `host:1`).
///
/// ```
/// assert_eq!(otel_core::redact::strip_userinfo("u:p@example.com:8080"), "example.com:8080");
/// ```
pub fn strip_userinfo(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_check_finds_what_the_string_search_found() {
        for s in [
            "",
            "plain",
            "a:b",
            "a:/b",
            "a://b",
            "://",
            "x:",
            "x:/",
            "user@host",
            "a?b",
            "é://ü",
            "ü?",
            "http://u:p@h/p?q#f",
            "https:/",
            "mailto:a@b",
        ] {
            let expected = s.contains("://") || s.contains(['@', '?']);
            assert_eq!(may_need_redaction(s.as_bytes()), expected, "{s:?}");
        }
    }

    #[test]
    fn names_that_must_be_caught() {
        let r = Redactor::default();
        for name in [
            "token",
            "Token",
            "TOKEN",
            "%74oken",
            "api%5Fkey",
            "token[]",
            "token[0]",
            "user[token]",
            "+token",
            " token",
            "access-token",
            "access_token",
            "accessToken",
            "private_token",
            "client_secret",
            "refresh_token",
            "id_token",
            "code",
            "Signature",
            "AWSAccessKeyId",
            "X-Goog-Signature",
            "x-api-key",
            "X-Amz-Security-Token",
            "github_token",
            "db_password",
            "sig",
            "jwt",
            "pwd",
        ] {
            assert!(r.is_sensitive(name), "{name} must be sensitive");
        }
        for name in ["page", "q", "keyword", "monkey", "color", "lang", "sort", "codec"] {
            assert!(!r.is_sensitive(name), "{name} is not a secret");
        }
    }

    #[test]
    fn query_table() {
        let r = Redactor::default();
        let cases = [
            ("q=rust&page=2", "q=rust&page=2"),
            ("%74oken=abc", "%74oken=REDACTED"),
            ("api%5Fkey=abc&x=1", "api%5Fkey=REDACTED&x=1"),
            ("a=1;token=abc", "a=1;token=REDACTED"),
            ("token[]=a&token[]=b", "token[]=REDACTED&token[]=REDACTED"),
            ("+token=abc", "+token=REDACTED"),
            ("sig=", "sig="),
            ("a=1&&access_token=t0k", "a=1&&access_token=REDACTED"),
            ("code=xyz&state=s", "code=REDACTED&state=s"),
            ("token=REDACTED", "token=REDACTED"),
        ];
        for (input, expected) in cases {
            assert_eq!(r.query(input), expected, "query {input:?}");
        }
        assert!(matches!(r.query("q=rust"), Cow::Borrowed(_)));
    }

    #[test]
    fn user_names_add_to_the_defaults() {
        let r = Redactor::default().with_names(["q"]);
        assert_eq!(r.query("q=x&sig=y&page=1"), "q=REDACTED&sig=REDACTED&page=1");
    }

    #[test]
    fn url_table() {
        let r = Redactor::default();
        let cases = [
            (
                "https://user:pass@example.com:8443/a/b?token=t&x=1",
                "https://REDACTED:REDACTED@example.com:8443/a/b?token=REDACTED&x=1",
            ),
            ("https://example.com/a?x=1", "https://example.com/a?x=1"),
            (
                "https://example.com/a?x=1#token=frag",
                "https://example.com/a?x=1",
            ),
            ("http://u@h/", "http://REDACTED:REDACTED@h/"),
            (
                "https://example.com/p@th?code=1",
                "https://example.com/p@th?code=REDACTED",
            ),
            ("/login?password=hunter2", "/login?password=REDACTED"),
            ("not a url?token=1", "not a url?token=1"),
            ("mailto:a@b", "mailto:a@b"),
            (
                "https://REDACTED:REDACTED@h/?token=REDACTED",
                "https://REDACTED:REDACTED@h/?token=REDACTED",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(r.url(input), expected, "url {input:?}");
            assert_eq!(r.url(expected), expected, "redacting is idempotent");
        }
    }

    /// Found by fuzzing against the URL standard's reading: spellings a browser or URL
    /// library accepts as credentials, which the redactor used to pass through.
    #[test]
    fn lenient_url_spellings() {
        let r = Redactor::default();
        let cases = [
            (
                "https:/u:p@example.com:8/a?token=1",
                "https:/REDACTED:REDACTED@example.com:8/a?token=REDACTED",
            ),
            ("HTTPS:\\\\u:p@h\\x", "HTTPS:\\\\REDACTED:REDACTED@h\\x"),
            ("http:u:p@h", "http:REDACTED:REDACTED@h"),
            ("//u:p@h/x?code=1", "//REDACTED:REDACTED@h/x?code=REDACTED"),
            (" https://u:p@h/", " https://REDACTED:REDACTED@h/"),
            ("ht\ttps://u:p@h/", "https://REDACTED:REDACTED@h/"),
            ("https://h\tx/?q=1", "https://h\tx/?q=1"),
            ("mailto:a@b?subject=x", "mailto:a@b?subject=x"),
            ("myapp:u:p@h", "myapp:u:p@h"),
        ];
        for (input, expected) in cases {
            assert_eq!(r.url(input), expected, "url {input:?}");
            assert_eq!(r.url(expected), expected, "redacting is idempotent");
        }
        assert_eq!(
            url_with_defaults("see https:/u:p@h"),
            "see https:/u:p@h",
            "not a URL"
        );
        assert_eq!(url_with_defaults("https:/u:p@h"), "https:/REDACTED:REDACTED@h");
    }
}
