//! Attributes that every span started in a context inherits: say who the request is
//! for once (`user.id`, `user.role`, a tenant) and find it on every span of the request,
//! the handler's, the pipeline steps', the database calls'.
//!
//! Unlike [baggage](crate::baggage), these attributes never leave the process: nothing
//! is injected into outgoing requests, so a user id given to a span does not travel to a
//! third-party API in a `baggage` header.
//!
//! `init()` and the `testing` pipeline install [`ContextAttributesProcessor`],
//! which copies the attributes onto each span as it starts; until the first call to
//! [`scope`] or [`set`] it returns at once, so programs that never use them pay a single
//! atomic load per sampled span.
//!
//! ```
//! use otel_core::context_attributes;
//! use otel_core::opentelemetry::KeyValue;
//! use otel_core::testing::{self, SpanDataExt};
//!
//! let cap = testing::capture();
//! {
//!     let _user = context_attributes::set([KeyValue::new("user.id", "u-42")]);
//!     otel_core::in_span("search", || otel_core::in_span("search.normalize", || {}));
//! }
//! otel_core::in_span("later", || {});
//! assert_eq!(cap.span("search.normalize").attr_str("user.id").as_deref(), Some("u-42"));
//! assert_eq!(cap.span("later").attr("user.id"), None);
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::trace::Span as _;
use opentelemetry::{Array, Context, ContextGuard, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// Set once any context carries attributes, so the processor skips the context lookup
/// in programs that never use them.
static IN_USE: AtomicBool = AtomicBool::new(false);

/// The attributes a context carries; shared, since every span of a request reads them.
#[derive(Debug, Clone)]
struct ContextAttributes(Arc<[KeyValue]>);

/// `cx` with `attributes` added after those it already carries (a later value of the
/// same key wins, as span attributes do).
fn with_attributes<I>(cx: &Context, attributes: I) -> Context
where
    I: IntoIterator<Item = KeyValue>,
{
    IN_USE.store(true, Ordering::Relaxed);
    let added: Vec<KeyValue> = attributes.into_iter().map(shared).collect();
    // Span attributes are a list, not a map: drop the outer value of a key set again.
    let mut all: Vec<KeyValue> = cx
        .get::<ContextAttributes>()
        .map(|a| {
            a.0.iter()
                .filter(|kv| !added.iter().any(|n| n.key == kv.key))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    all.extend(added);
    cx.with_value(ContextAttributes(all.into()))
}

/// `kv` with its strings reference-counted: every span started in the context gets a
/// copy of the attribute, and copying a shared string is a counter increment where an
/// owned one is an allocation and a copy (for the span, and again when it is freed).
fn shared(kv: KeyValue) -> KeyValue {
    let share = |s: &StringValue| StringValue::from(Arc::<str>::from(s.as_str()));
    let value = match kv.value {
        Value::String(s) => Value::String(share(&s)),
        Value::Array(Array::String(strings)) => {
            Value::Array(Array::String(strings.iter().map(share).collect()))
        }
        other => other,
    };
    KeyValue::new(kv.key, value)
}

/// Runs `fut` in a context whose spans all get `attributes`, wherever the future is
/// polled.
///
/// ```
/// use otel_core::context_attributes;
/// use otel_core::opentelemetry::KeyValue;
///
/// async fn search() {}
///
/// # async fn handler() {
/// let user = [KeyValue::new("user.id", "u-42"), KeyValue::new("user.role", "member")];
/// context_attributes::scope(user, search()).await;
/// # }
/// ```
pub fn scope<I, F>(attributes: I, fut: F) -> WithContext<F>
where
    I: IntoIterator<Item = KeyValue>,
    F: Future,
{
    fut.with_context(Context::map_current(|cx| with_attributes(cx, attributes)))
}

/// Gives `attributes` to every span started on this thread until the guard drops.
///
/// ```
/// use otel_core::context_attributes;
/// use otel_core::opentelemetry::KeyValue;
///
/// let _tenant = context_attributes::set([KeyValue::new("tenant", "acme")]);
/// assert_eq!(context_attributes::current(), vec![KeyValue::new("tenant", "acme")]);
/// ```
#[must_use = "the attributes are removed when the guard is dropped"]
pub fn set<I>(attributes: I) -> ContextGuard
where
    I: IntoIterator<Item = KeyValue>,
{
    Context::map_current(|cx| with_attributes(cx, attributes)).attach()
}

/// The attributes the current context gives to new spans.
///
/// ```
/// assert!(otel_core::context_attributes::current().is_empty());
/// ```
pub fn current() -> Vec<KeyValue> {
    Context::map_current(|cx| {
        cx.get::<ContextAttributes>()
            .map(|a| a.0.to_vec())
            .unwrap_or_default()
    })
}

/// Copies the attributes of the span's context (see [`scope`], [`set`]) onto each span
/// as it starts. `init()` and the testing pipeline install it; add it yourself only to
/// a tracer provider you build by hand.
///
/// ```
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otel_core::context_attributes::ContextAttributesProcessor;
///
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(ContextAttributesProcessor)
///     .build();
/// # let _ = provider;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ContextAttributesProcessor;

impl SpanProcessor for ContextAttributesProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if !IN_USE.load(Ordering::Relaxed) {
            return;
        }
        if let Some(attributes) = cx.get::<ContextAttributes>() {
            for kv in attributes.0.iter() {
                span.set_attribute(kv.clone());
            }
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, SpanDataExt};

    #[test]
    fn nested_scopes_add_and_override() {
        let cap = testing::capture();
        let _user = set([
            KeyValue::new("user.id", "u-1"),
            KeyValue::new("user.role", "member"),
        ]);
        {
            let _admin = set([KeyValue::new("user.role", "admin")]);
            crate::in_span("inner", || {});
        }
        crate::in_span("outer", || {});
        let inner = cap.span("inner");
        assert_eq!(inner.attr_str("user.id").as_deref(), Some("u-1"));
        assert_eq!(inner.attr_str("user.role").as_deref(), Some("admin"));
        assert_eq!(cap.span("outer").attr_str("user.role").as_deref(), Some("member"));
    }

    #[test]
    fn values_of_every_type_reach_the_spans_unchanged() {
        let cap = testing::capture();
        let roles = Value::Array(Array::String(vec!["admin".to_owned().into(), "member".into()]));
        {
            let _user = set([
                KeyValue::new("user.id", "u-7".to_owned()),
                KeyValue::new("user.roles", roles.clone()),
                KeyValue::new("user.level", 3),
            ]);
            crate::in_span("typed", || {});
        }
        let span = cap.span("typed");
        assert_eq!(span.attr("user.id"), Some(&Value::from("u-7")));
        assert_eq!(span.attr("user.roles"), Some(&roles));
        assert_eq!(span.attr("user.level"), Some(&Value::I64(3)));
    }

    #[test]
    fn a_future_keeps_its_attributes_across_threads() {
        let cap = testing::capture();
        let fut = scope([KeyValue::new("tenant", "acme")], async {
            crate::in_span("in.future", || {})
        });
        let cx = cap.context();
        std::thread::spawn(move || {
            let _cx = cx.attach();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(fut);
        })
        .join()
        .unwrap();
        assert_eq!(cap.span("in.future").attr_str("tenant").as_deref(), Some("acme"));
        assert!(current().is_empty(), "the caller's context is untouched");
    }
}
