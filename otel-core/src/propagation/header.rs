//! `http::HeaderMap` as a propagation carrier, and inject/extract with the global
//! propagator.

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
        // A value that is not a valid header is skipped rather than sent mangled.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
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
    joined: Vec<(&'static str, String)>,
}

impl<'a> HeaderExtractor<'a> {
    /// Wraps `headers`, joining repeated list headers up front.
    pub fn new(headers: &'a HeaderMap) -> Self {
        let mut joined = Vec::new();
        for key in ["tracestate", "baggage"] {
            let mut values = headers.get_all(key).iter();
            if let (Some(first), Some(_)) = (values.next(), values.next()) {
                let all: Option<Vec<&str>> = headers.get_all(key).iter().map(|v| v.to_str().ok()).collect();
                if let Some(all) = all {
                    joined.push((key, all.join(",")));
                } else if let Ok(first) = first.to_str() {
                    joined.push((key, first.to_owned()));
                }
            }
        }
        Self { headers, joined }
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some((_, value)) = self.joined.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Some(value);
        }
        let mut values = self.headers.get_all(key).iter();
        let first = values.next()?;
        if values.next().is_some() && key.eq_ignore_ascii_case("traceparent") {
            return None;
        }
        first.to_str().ok()
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
