//! `http::HeaderMap` as a propagation carrier, and inject/extract with the global
//! propagator.

use std::borrow::Cow;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{global, Context};

/// Writes propagation headers into an [`http::HeaderMap`].
///
/// ```
/// use otel_core::propagation::HeaderInjector;
/// use otel_core::opentelemetry::propagation::Injector;
///
/// let mut headers = http::HeaderMap::new();
/// HeaderInjector(&mut headers).set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
/// assert!(headers.contains_key("traceparent"));
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The W3C fields by their static names (no parsing of the key), the value's
        // buffer taken over rather than copied. A value that is not a valid header is
        // skipped rather than sent mangled.
        let name = match FIELDS.iter().find(|(field, _)| *field == key) {
            Some((_, name)) => Ok(name.clone()),
            None => HeaderName::from_bytes(key.as_bytes()),
        };
        if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}

/// Reads propagation headers from an [`http::HeaderMap`].
///
/// Several `tracestate` or `baggage` fields are joined with `,` in order (how HTTP
/// combines list headers, and what the W3C specs require); several `traceparent`
/// fields make the header invalid, so a new trace starts. Values that are not valid
/// UTF-8 are ignored. Nothing is allocated unless a list header is repeated.
///
/// ```
/// use otel_core::propagation::HeaderExtractor;
/// use otel_core::opentelemetry::propagation::Extractor;
///
/// let mut headers = http::HeaderMap::new();
/// headers.append("tracestate", "a=1".parse().unwrap());
/// headers.append("tracestate", "b=2".parse().unwrap());
/// assert_eq!(HeaderExtractor::new(&headers).get("tracestate"), Some("a=1,b=2"));
/// ```
#[derive(Debug)]
pub struct HeaderExtractor<'a> {
    headers: &'a HeaderMap,
    /// `traceparent`, `tracestate` and `baggage` (in [`FIELDS`] order), read once when
    /// built: the propagators ask for each, and a lookup by a static name skips parsing
    /// the key that a lookup by `&str` pays every time.
    fields: [Option<Cow<'a, str>>; 3],
}

/// The fields every request is asked for, by the names the propagators use.
const FIELDS: [(&str, HeaderName); 3] = [
    ("traceparent", HeaderName::from_static("traceparent")),
    ("tracestate", HeaderName::from_static("tracestate")),
    ("baggage", HeaderName::from_static("baggage")),
];

impl<'a> HeaderExtractor<'a> {
    /// Wraps `headers`, reading the W3C fields and joining repeated list headers up front.
    pub fn new(headers: &'a HeaderMap) -> Self {
        let [traceparent, tracestate, baggage] = &FIELDS;
        if headers.len() > SCAN_LIMIT {
            return Self {
                headers,
                fields: [
                    single(headers, &traceparent.1).map(Cow::Borrowed),
                    list(headers, &tracestate.1),
                    list(headers, &baggage.1),
                ],
            };
        }
        // One pass over a request's few headers costs less than three lookups, each of
        // which hashes the name it looks for.
        let mut first: [Option<&'a HeaderValue>; 3] = [None; 3];
        let mut repeated = [false; 3];
        for (name, value) in headers {
            if let Some(i) = FIELDS.iter().position(|(_, field)| field == name) {
                repeated[i] |= first[i].is_some();
                first[i].get_or_insert(value);
            }
        }
        let [tp, ts, bg] = first;
        let value = |value: Option<&'a HeaderValue>| value.and_then(|v| v.to_str().ok()).map(Cow::Borrowed);
        Self {
            headers,
            fields: [
                if repeated[0] { None } else { value(tp) },
                if repeated[1] {
                    list(headers, &tracestate.1)
                } else {
                    value(ts)
                },
                if repeated[2] {
                    list(headers, &baggage.1)
                } else {
                    value(bg)
                },
            ],
        }
    }
}

/// Up to this many header values, [`HeaderExtractor::new`] scans them all rather than
/// looking the three fields up: a scan step is a few comparisons, a lookup about 190
/// instructions.
const SCAN_LIMIT: usize = 16;

/// A field that must appear once: several make it invalid.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// A list field: several are joined with `,` in order; when one of them is not UTF-8,
/// the first alone is kept (as before joining was supported).
fn list<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Cow<'a, str>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_none() {
        return first.to_str().ok().map(Cow::Borrowed);
    }
    let all: Option<Vec<&str>> = headers.get_all(name).iter().map(|v| v.to_str().ok()).collect();
    match all {
        Some(all) => Some(Cow::Owned(all.join(","))),
        None => first.to_str().ok().map(Cow::Borrowed),
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // The propagators ask by the lowercase names: an exact match settles it.
        let field = FIELDS.iter().position(|(name, _)| *name == key);
        if let Some(i) = field.or_else(|| FIELDS.iter().position(|(name, _)| name.eq_ignore_ascii_case(key)))
        {
            return self.fields.get(i).and_then(|f| f.as_deref());
        }
        self.headers.get_all(key).iter().next()?.to_str().ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .headers
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Injects the current context into `headers`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// otel_core::propagation::inject(&mut headers);
/// ```
pub fn inject(headers: &mut HeaderMap) {
    Context::map_current(|cx| inject_context(cx, headers));
}

/// Injects `cx` into `headers`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// otel_core::propagation::inject_context(&otel_core::opentelemetry::Context::new(), &mut headers);
/// assert!(headers.get("traceparent").is_none()); // nothing to propagate
/// ```
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|propagator| propagator.inject_context(cx, &mut HeaderInjector(headers)));
}

/// Extracts the remote context carried by `headers` (a new empty context if none).
///
/// ```
/// use otel_core::opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
/// otel_core::opentelemetry::global::set_text_map_propagator(otel_core::propagation::Propagator::default());
/// let cx = otel_core::propagation::extract(&headers);
/// assert_eq!(cx.span().span_context().trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
/// ```
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor::new(headers)))
}

/// Extracts from `headers` on top of `cx` (keeps `cx`'s other entries).
///
/// ```
/// let cx = otel_core::propagation::extract_with_context(
///     &otel_core::opentelemetry::Context::new(),
///     &http::HeaderMap::new(),
/// );
/// # let _ = cx;
/// ```
pub fn extract_with_context(cx: &Context, headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(cx, &HeaderExtractor::new(headers))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// `headers` as given, then padded past [`SCAN_LIMIT`] with unrelated ones: both
    /// ways of reading the fields must agree.
    fn both(headers: &[(&str, &str)], check: impl Fn(&HeaderExtractor<'_>)) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        assert!(map.len() <= SCAN_LIMIT);
        check(&HeaderExtractor::new(&map));
        for i in 0..=SCAN_LIMIT {
            map.append(
                HeaderName::from_bytes(format!("x-pad-{i}").as_bytes()).unwrap(),
                "1".parse().unwrap(),
            );
        }
        check(&HeaderExtractor::new(&map));
    }

    #[test]
    fn fields_are_read_once_whatever_the_header_count() {
        both(
            &[
                ("host", "a"),
                ("traceparent", TP),
                ("tracestate", "a=1"),
                ("baggage", "k=v"),
            ],
            |e| {
                assert_eq!(e.get("traceparent"), Some(TP));
                assert_eq!(e.get("TraceParent"), Some(TP));
                assert_eq!(e.get("tracestate"), Some("a=1"));
                assert_eq!(e.get("baggage"), Some("k=v"));
                assert_eq!(e.get("host"), Some("a"));
                assert_eq!(e.get("missing"), None);
            },
        );
    }

    #[test]
    fn a_repeated_traceparent_is_invalid_and_repeated_lists_are_joined() {
        both(
            &[
                ("tracestate", "a=1"),
                ("traceparent", TP),
                ("baggage", "k=v"),
                ("tracestate", "b=2"),
                ("traceparent", TP),
                ("baggage", "k2=v2"),
            ],
            |e| {
                assert_eq!(e.get("traceparent"), None);
                assert_eq!(e.get("tracestate"), Some("a=1,b=2"));
                assert_eq!(e.get("baggage"), Some("k=v,k2=v2"));
            },
        );
    }

    #[test]
    fn values_that_are_not_text_are_ignored() {
        let mut map = HeaderMap::new();
        map.insert("traceparent", HeaderValue::from_bytes(b"00-\xff").unwrap());
        map.insert("baggage", "k=v".parse().unwrap());
        let e = HeaderExtractor::new(&map);
        assert_eq!((e.get("traceparent"), e.get("baggage")), (None, Some("k=v")));
    }
}
