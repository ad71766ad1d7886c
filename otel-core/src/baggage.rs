//! W3C Baggage: read and set key/value pairs that travel with the context.

use opentelemetry::baggage::{Baggage, BaggageExt, KeyValueMetadata};
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::{Context, ContextGuard};

/// The value of baggage entry `key` in the current context.
///
/// ```
/// let _guard = otel_core::baggage::set([("user.id", "42")]);
/// assert_eq!(otel_core::baggage::get("user.id").as_deref(), Some("42"));
/// ```
pub fn get(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|v| v.to_string()))
}

/// Every baggage entry of the current context.
///
/// ```
/// let _guard = otel_core::baggage::set([("tenant", "acme")]);
/// assert_eq!(otel_core::baggage::all(), vec![("tenant".to_string(), "acme".to_string())]);
/// ```
pub fn all() -> Vec<(String, String)> {
    Context::map_current(|cx| {
        cx.baggage()
            .iter()
            .map(|(k, (v, _))| (k.to_string(), v.to_string()))
            .collect()
    })
}

/// Adds entries to the current context's baggage until the returned guard is dropped.
///
/// The entries are merged with the baggage already there (an incoming request's, say);
/// an entry with the same key replaces the earlier value.
///
/// ```
/// let _request = otel_core::baggage::set([("user.id", "42")]);
/// let _tenant = otel_core::baggage::set([("tenant", "acme")]);
/// assert_eq!(otel_core::baggage::get("user.id").as_deref(), Some("42"));
/// assert_eq!(otel_core::baggage::get("tenant").as_deref(), Some("acme"));
/// # drop(_tenant);
/// ```
///
/// ```
/// {
///     let _guard = otel_core::baggage::set([("request.priority", "high")]);
///     assert!(otel_core::baggage::get("request.priority").is_some());
/// }
/// assert!(otel_core::baggage::get("request.priority").is_none());
/// ```
#[must_use = "the baggage is removed when the guard is dropped"]
pub fn set<I, K, V>(entries: I) -> ContextGuard
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<opentelemetry::Key>,
    V: Into<opentelemetry::Value>,
{
    Context::map_current(|cx| with_entries(cx, entries)).attach()
}

/// Runs `fut` with `entries` added to the baggage, across every `.await`: the async form
/// of [`set`], for baggage that must follow a request's work wherever it is polled.
///
/// ```
/// # futures_executor::block_on(async {
/// let tier = otel_core::baggage::scope([("user.tier", "gold")], async {
///     otel_core::baggage::get("user.tier")
/// })
/// .await;
/// assert_eq!(tier.as_deref(), Some("gold"));
/// assert!(otel_core::baggage::get("user.tier").is_none());
/// # });
/// ```
pub fn scope<I, K, V, F>(entries: I, fut: F) -> WithContext<F>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<opentelemetry::Key>,
    V: Into<opentelemetry::Value>,
    F: std::future::Future,
{
    fut.with_context(Context::map_current(|cx| with_entries(cx, entries)))
}

/// `cx` with `entries` merged into its baggage (kept properties, later values winning).
pub(crate) fn with_entries<I, K, V>(cx: &Context, entries: I) -> Context
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<opentelemetry::Key>,
    V: Into<opentelemetry::Value>,
{
    let current = cx
        .baggage()
        .iter()
        .map(|(k, (v, m))| KeyValueMetadata::new(k.clone(), v.clone(), m.clone()));
    let added = entries
        .into_iter()
        .map(|(k, v)| KeyValueMetadata::new(k, v.into().as_str().into_owned(), ""));
    cx.with_baggage(current.chain(added).collect::<Baggage>())
}

/// Runs `f` with entries added to the baggage.
///
/// ```
/// let v = otel_core::baggage::with([("feature", "beta")], || otel_core::baggage::get("feature"));
/// assert_eq!(v.as_deref(), Some("beta"));
/// ```
pub fn with<I, K, V, T>(entries: I, f: impl FnOnce() -> T) -> T
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<opentelemetry::Key>,
    V: Into<opentelemetry::Value>,
{
    let _guard = set(entries);
    f()
}
