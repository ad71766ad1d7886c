//! Span helpers: run code in a span, read the current ids, record errors.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

use crate::__private::global::GlobalSlot;
use crate::state::{self, Current};

/// The instrumentation scope of spans started by the helpers in this module.
pub(crate) const SCOPE: &str = "otel-core";

/// Starts a span as a child of `parent` and returns the context that holds it, or
/// `None` when telemetry is disabled.
#[inline]
pub(crate) fn start_in<I>(
    parent: &Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: I,
) -> Option<Context>
where
    I: IntoIterator<Item = KeyValue>,
{
    match state::current() {
        Current::Disabled => None,
        Current::Installed(installed) => Some(child(&installed.tracer, parent, name, kind, attributes)),
        Current::Global => {
            // Built once per global provider, not per span (see `__private::global`).
            static HELPERS: GlobalSlot = GlobalSlot::new();
            let global = HELPERS.get(|| InstrumentationScope::builder(SCOPE).build());
            // Under a valid parent, even a no-op tracer's span hands the parent on to
            // the code inside (the API's propagation-only mode).
            if global.is_noop() && !parent.span().span_context().is_valid() {
                return None;
            }
            let cx = child(global.tracer(), parent, name, kind, attributes);
            let span = cx.span();
            let sc = span.span_context();
            if !span.is_recording() {
                global.observe_unrecorded(sc, parent.span().span_context());
            }
            Some(cx)
        }
    }
}

#[inline]
fn child<T, I>(
    tracer: &T,
    parent: &Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: I,
) -> Context
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
    I: IntoIterator<Item = KeyValue>,
{
    let span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    parent.with_span(span)
}

/// Starts an internal span under the current context. Callers have already checked
/// that telemetry is enabled; `start_in` still returns `None` if it was disabled since.
#[inline]
fn start<I>(name: Cow<'static, str>, attributes: I) -> Option<Context>
where
    I: IntoIterator<Item = KeyValue>,
{
    Context::map_current(|parent| start_in(parent, name, SpanKind::Internal, attributes))
}

/// Ends the span of `cx` when dropped; marks it as failed when the drop is caused by a
/// panic unwinding through the instrumented code.
struct EndOnDrop {
    cx: Context,
}

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        let span = self.cx.span();
        if std::thread::panicking() {
            mark_panicked(&span);
        }
        span.end();
    }
}

pub(crate) fn mark_panicked(span: &opentelemetry::trace::SpanRef<'_>) {
    span.set_attribute(KeyValue::new(
        opentelemetry_semantic_conventions::attribute::ERROR_TYPE,
        "panic",
    ));
    span.set_status(Status::error("panicked"));
}

/// Runs `f` inside a new span named `name`, child of the current span.
///
/// The span is current while `f` runs, ends when `f` returns, and is marked as an error
/// if `f` panics. When telemetry is disabled this is a plain call of `f` after one
/// atomic load.
///
/// ```
/// let answer = otel_core::in_span("compute", || 6 * 7);
/// assert_eq!(answer, 42);
/// ```
#[inline]
pub fn in_span<T>(name: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    in_span_with(name, std::iter::empty(), f)
}

/// Like [`in_span`], with attributes set when the span starts (so samplers see them).
///
/// ```
/// use otel_core::opentelemetry::KeyValue;
///
/// let rows = otel_core::in_span_with(
///     "db.query",
///     [KeyValue::new("db.system.name", "sqlite"), KeyValue::new("db.rows", 3_i64)],
///     || 3,
/// );
/// assert_eq!(rows, 3);
/// ```
#[inline(always)]
pub fn in_span_with<T, I>(name: impl Into<Cow<'static, str>>, attributes: I, f: impl FnOnce() -> T) -> T
where
    I: IntoIterator<Item = KeyValue>,
{
    // Kept tiny and always inlined so that, when disabled, the caller's attributes are
    // built and dropped where the compiler can see they are unused and remove them.
    if !state::is_enabled() {
        return f();
    }
    in_new_span(name.into(), attributes, f)
}

#[inline]
fn in_new_span<T, I>(name: Cow<'static, str>, attributes: I, f: impl FnOnce() -> T) -> T
where
    I: IntoIterator<Item = KeyValue>,
{
    match start(name, attributes) {
        None => f(),
        Some(cx) => {
            let _guard = cx.clone().attach();
            let _end = EndOnDrop { cx };
            f()
        }
    }
}

/// Runs the future `fut` inside a new span named `name`.
///
/// The span is the current context during every poll of `fut`, so spans started inside
/// it (on any `.await`) are its children, even when other tasks interleave on the same
/// thread. It ends when `fut` completes, or when the returned future is dropped early
/// (then it has status Error and `error.type = "cancelled"`, like an
/// `#[instrumented]` future).
///
/// ```
/// # futures_executor::block_on(async {
/// let n = otel_core::in_span_async("fetch", async { 7 }).await;
/// assert_eq!(n, 7);
/// # });
/// ```
pub fn in_span_async<F: Future>(name: impl Into<Cow<'static, str>>, fut: F) -> InSpan<F> {
    in_span_async_with(name, std::iter::empty(), fut)
}

/// Like [`in_span_async`], with attributes set when the span starts.
///
/// ```
/// use otel_core::opentelemetry::KeyValue;
/// # futures_executor::block_on(async {
/// let n = otel_core::in_span_async_with("fetch", [KeyValue::new("item.id", 7_i64)], async { 7 }).await;
/// assert_eq!(n, 7);
/// # });
/// ```
#[inline(always)]
pub fn in_span_async_with<F, I>(name: impl Into<Cow<'static, str>>, attributes: I, fut: F) -> InSpan<F>
where
    F: Future,
    I: IntoIterator<Item = KeyValue>,
{
    in_span_async_kind(name, SpanKind::Internal, attributes, fut)
}

/// Like [`in_span_async_with`], with a span kind: a call over a custom transport (a
/// database driver, a queue) is a CLIENT or PRODUCER span with its semantic-convention
/// attributes, not an INTERNAL one.
///
/// ```
/// use otel_core::opentelemetry::{trace::SpanKind, KeyValue};
/// # futures_executor::block_on(async {
/// let rows = otel_core::in_span_async_kind(
///     "SELECT users",
///     SpanKind::Client,
///     [KeyValue::new("db.system.name", "sqlite")],
///     async { 3 },
/// )
/// .await;
/// assert_eq!(rows, 3);
/// # });
/// ```
#[inline(always)]
pub fn in_span_async_kind<F, I>(
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: I,
    fut: F,
) -> InSpan<F>
where
    F: Future,
    I: IntoIterator<Item = KeyValue>,
{
    let cx = if state::is_enabled() {
        Context::map_current(|parent| start_in(parent, name.into(), kind, attributes))
    } else {
        None
    };
    InSpan { cx, fut }
}

pin_project_lite::pin_project! {
    /// A future running inside a span: see [`in_span_async`].
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        cx: Option<Context>,
        #[pin]
        fut: F,
    }

    impl<F> PinnedDrop for InSpan<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before completion: the caller gave up on the work.
            if let Some(cx) = this.project().cx.take() {
                let span = cx.span();
                if std::thread::panicking() {
                    mark_panicked(&span);
                } else {
                    // Same outcome as an `#[instrumented]` future: the caller stopped
                    // waiting (timeout, `select!`, aborted task), so the work failed.
                    span.set_attribute(KeyValue::new(
                        opentelemetry_semantic_conventions::attribute::ERROR_TYPE,
                        "cancelled",
                    ));
                    span.set_status(Status::error("cancelled before completion"));
                }
                span.end();
            }
        }
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(cx) = this.cx.as_ref() else {
            return this.fut.poll(task);
        };
        let guard = cx.clone().attach();
        let out = this.fut.poll(task);
        drop(guard);
        if out.is_ready() {
            if let Some(cx) = this.cx.take() {
                cx.span().end();
            }
        }
        out
    }
}

/// The current trace id as 32 lowercase hex digits, or `None` outside a valid span.
///
/// ```
/// assert_eq!(otel_core::current_trace_id(), None);
/// ```
pub fn current_trace_id() -> Option<String> {
    Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| sc.trace_id().to_string())
    })
}

/// The current span id as 16 lowercase hex digits, or `None` outside a valid span.
///
/// ```
/// assert_eq!(otel_core::current_span_id(), None);
/// ```
pub fn current_span_id() -> Option<String> {
    Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| sc.span_id().to_string())
    })
}

/// Sets an attribute on the current span (a no-op outside a recording span).
///
/// ```
/// otel_core::in_span("checkout", || {
///     otel_core::set_attribute(otel_core::opentelemetry::KeyValue::new("cart.items", 3_i64));
/// });
/// ```
pub fn set_attribute(attribute: KeyValue) {
    Context::map_current(|cx| cx.span().set_attribute(attribute));
}

/// Records `err` on the current span: an `exception` event (type and message), status
/// Error with the message, and `error.type` set to the error's type name.
///
/// ```
/// otel_core::in_span("parse", || {
///     if let Err(e) = "x".parse::<u32>() {
///         otel_core::record_error(&e);
///     }
/// });
/// ```
pub fn record_error<E: std::error::Error + ?Sized>(err: &E) {
    let type_name = short_type_name(std::any::type_name::<E>());
    Context::map_current(|cx| {
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        record_error_on(&span, type_name, &err.to_string());
    });
}

pub(crate) fn record_error_on(
    span: &opentelemetry::trace::SpanRef<'_>,
    type_name: &'static str,
    message: &str,
) {
    use opentelemetry_semantic_conventions::attribute::{EXCEPTION_MESSAGE, EXCEPTION_TYPE};
    span.add_event(
        "exception",
        vec![
            KeyValue::new(EXCEPTION_TYPE, type_name),
            KeyValue::new(EXCEPTION_MESSAGE, message.to_owned()),
        ],
    );
    span.set_attribute(KeyValue::new(
        opentelemetry_semantic_conventions::attribute::ERROR_TYPE,
        type_name,
    ));
    span.set_status(Status::error(message.to_owned()));
}

/// `core::num::error::ParseIntError` → `ParseIntError`, `my::Error<String>` → `Error`;
/// trait objects (boxed or not) and references have no useful name and become `_OTHER`
/// (the semantic conventions' fallback for `error.type`).
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    const UNNAMED: [&str; 4] = ["dyn ", "&", "alloc::boxed::Box<dyn ", "alloc::sync::Arc<dyn "];
    if UNNAMED.iter().any(|p| full.starts_with(p)) {
        return "_OTHER";
    }
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics.rsplit("::").next().unwrap_or(without_generics)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_type_names_are_low_cardinality() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(short_type_name("my::Error<alloc::string::String>"), "Error");
        assert_eq!(short_type_name("dyn core::error::Error"), "_OTHER");
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error + Send>"),
            "_OTHER"
        );
        assert_eq!(short_type_name("&str"), "_OTHER");
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
