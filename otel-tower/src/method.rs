//! HTTP method normalisation: known methods are recorded as they are, anything else as
//! `_OTHER` with the original in `http.request.method_original`.

use std::sync::Arc;

use http::Method;
use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{HTTP_REQUEST_METHOD, HTTP_REQUEST_METHOD_ORIGINAL};

/// The environment variable the HTTP semantic conventions name for overriding the
/// list of known methods (a comma-separated, case-sensitive, full replacement).
pub const KNOWN_METHODS_ENV: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

pub(crate) const OTHER: &str = "_OTHER";

/// The methods of RFC 9110 plus PATCH (RFC 5789) and QUERY, as the conventions list.
const DEFAULT_KNOWN: [&str; 10] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY",
];

/// How one request's method is recorded.
#[derive(Debug, Clone)]
pub(crate) struct MethodAttrs {
    /// `http.request.method`: the method, or `_OTHER`.
    pub(crate) value: Value,
    /// Set when the method was not known: the original, for `method_original`.
    pub(crate) original: Option<Value>,
    /// What the span name starts with: the method, or `HTTP` for `_OTHER`.
    pub(crate) span_name: &'static str,
    /// The method text when it is known and not a 'static one (a configured extra).
    pub(crate) dynamic_name: Option<Arc<str>>,
}

impl MethodAttrs {
    pub(crate) fn key_value(&self) -> KeyValue {
        KeyValue::new(HTTP_REQUEST_METHOD, self.value.clone())
    }

    pub(crate) fn original_key_value(&self) -> Option<KeyValue> {
        self.original
            .as_ref()
            .map(|v| KeyValue::new(HTTP_REQUEST_METHOD_ORIGINAL, v.clone()))
    }

    /// The `{method}` part of a span name.
    pub(crate) fn name(&self) -> &str {
        self.dynamic_name.as_deref().unwrap_or(self.span_name)
    }
}

/// The set of methods recorded as themselves.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownMethods {
    /// `None`: the default list. `Some`: a full replacement, from the environment or
    /// the builder.
    custom: Option<Arc<[Arc<str>]>>,
}

impl KnownMethods {
    /// Reads [`KNOWN_METHODS_ENV`] through `lookup`; unset or empty means the
    /// default list.
    pub(crate) fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        match lookup(KNOWN_METHODS_ENV) {
            Some(list) if !list.trim().is_empty() => Self::from_list(list.split(',')),
            _ => Self::default(),
        }
    }

    pub(crate) fn from_list<'a>(list: impl IntoIterator<Item = &'a str>) -> Self {
        let custom: Vec<Arc<str>> = list
            .into_iter()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(Arc::from)
            .collect();
        Self {
            custom: Some(custom.into()),
        }
    }

    pub(crate) fn classify(&self, method: &Method) -> MethodAttrs {
        let text = method.as_str();
        match &self.custom {
            None => match static_method(text) {
                Some(name) => known(name),
                None => other(text),
            },
            Some(list) => match list.iter().find(|m| &***m == text) {
                Some(shared) => match static_method(text) {
                    Some(name) => known(name),
                    None => MethodAttrs {
                        value: Value::String(StringValue::from(shared.clone())),
                        original: None,
                        span_name: "",
                        dynamic_name: Some(shared.clone()),
                    },
                },
                None => other(text),
            },
        }
    }
}

fn known(name: &'static str) -> MethodAttrs {
    MethodAttrs {
        value: Value::from(name),
        original: None,
        span_name: name,
        dynamic_name: None,
    }
}

fn other(original: &str) -> MethodAttrs {
    MethodAttrs {
        value: Value::from(OTHER),
        original: Some(Value::from(original.to_owned())),
        span_name: "HTTP",
        dynamic_name: None,
    }
}

/// Maps the standard methods to 'static text, so their attributes never allocate.
fn static_method(text: &str) -> Option<&'static str> {
    DEFAULT_KNOWN.iter().copied().find(|m| *m == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_and_other() {
        let known = KnownMethods::default();
        let get = known.classify(&Method::GET);
        assert_eq!(get.value.as_str(), "GET");
        assert!(get.original.is_none());
        assert_eq!(get.name(), "GET");

        let query = known.classify(&Method::from_bytes(b"QUERY").unwrap());
        assert_eq!(query.value.as_str(), "QUERY");

        let purge = known.classify(&Method::from_bytes(b"PURGE").unwrap());
        assert_eq!(purge.value.as_str(), "_OTHER");
        assert_eq!(purge.original.as_ref().unwrap().as_str(), "PURGE");
        assert_eq!(purge.name(), "HTTP");

        // Methods are case-sensitive: "get" is not GET.
        let lower = known.classify(&Method::from_bytes(b"get").unwrap());
        assert_eq!(lower.value.as_str(), "_OTHER");
    }

    #[test]
    fn custom_list_replaces_the_default() {
        let known = KnownMethods::from_list("GET, PURGE".split(','));
        assert_eq!(known.classify(&Method::GET).value.as_str(), "GET");
        let purge = known.classify(&Method::from_bytes(b"PURGE").unwrap());
        assert_eq!(purge.value.as_str(), "PURGE");
        assert_eq!(purge.name(), "PURGE");
        assert!(purge.original.is_none());
        let post = known.classify(&Method::POST);
        assert_eq!(post.value.as_str(), "_OTHER");
        assert_eq!(post.original.as_ref().unwrap().as_str(), "POST");
    }
}
