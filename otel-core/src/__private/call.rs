//! One instrumented call: its span, its metrics and how it ends.

use std::borrow::Cow;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use opentelemetry::trace::{Link, SpanBuilder, Status, TraceContextExt as _, Tracer};
use opentelemetry::{Context, ContextGuard, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{ERROR_TYPE, EXCEPTION_MESSAGE, EXCEPTION_TYPE};

use super::callsite::{Callsite, Instruments, Meta};
use super::global::GlobalTracer;
use super::options::{with_parent, StartOptions};
use super::outcome::Failure;
use super::value::capped_fmt;
use super::RETURN_VALUE;
use crate::span::short_type_name;
use crate::state::{self, Current, Installed};

/// Longest exception message or status description recorded, in bytes.
const MAX_MESSAGE_LEN: usize = 1024;

/// The state of one call of an instrumented function.
///
/// Inert (no span, no metrics) when telemetry is disabled. Ends its span exactly once:
/// in [`Call::finish`], or in `Drop` when the call panicked or its future was dropped.
pub struct Call {
    /// The context holding our span; `None` when there is no span worth making current
    /// (disabled, or unsampled under an unsampled parent). Taken when the call ends, so
    /// it is `None` whenever `open` is false; `ManuallyDrop` leaves `Call` without drop
    /// glue of its own, so dropping an ended or inert call is one inlined flag test.
    cx: ManuallyDrop<Option<Context>>,
    /// Instruments and start time, when metrics are on.
    metrics: Option<(&'static Instruments, Instant)>,
    /// Not yet finished: `Drop` must end it.
    open: bool,
}

impl Call {
    const INERT: Call = Call {
        cx: ManuallyDrop::new(None),
        metrics: None,
        open: false,
    };

    /// Starts a call whose span is a child of the current context.
    ///
    /// `record` pushes the argument and field attributes; it runs only when they can be
    /// recorded.
    #[inline]
    pub fn start<F>(callsite: &'static Callsite, record: F) -> Call
    where
        F: FnOnce(&mut Vec<KeyValue>),
    {
        match state::current() {
            Current::Disabled => Call::INERT,
            Current::Installed(installed) => Call::start_installed(callsite, installed, record),
            Current::Global => Call::start_global(callsite, StartOptions::new, record),
        }
    }

    // Out of line, like `start_global`: the instrumented function then holds only the
    // state check, so a disabled call pays no stack frame sized for the enabled paths.
    #[inline(never)]
    fn start_installed<F>(callsite: &'static Callsite, installed: &'static Installed, record: F) -> Call
    where
        F: FnOnce(&mut Vec<KeyValue>),
    {
        let (tracer, instruments) = callsite.installed(installed);
        let metrics = begin_metrics(instruments);
        if installed.parent_based || installed.drops_roots {
            // The sampler's answer is known without asking it: skip the SDK altogether,
            // and with it the attributes, the span and the context.
            let dropped = match current_parent() {
                Parent::Unsampled => installed.parent_based,
                Parent::None => installed.drops_roots,
                Parent::Sampled => false,
            };
            if dropped {
                return Call::open(None, metrics);
            }
        }
        // A clone rather than `Context::map_current`: that holds the thread's context
        // cell borrowed, and field expressions, `Debug` impls, samplers and processors
        // run inside; one of them attaching a context would panic.
        let parent = Context::current();
        let cx = begin_span(tracer, callsite.meta(), &parent, Vec::new(), record, None);
        Call::open(cx, metrics)
    }

    /// Starts a call with explicit parent or links; `options` is evaluated only when
    /// telemetry is enabled.
    #[inline]
    pub fn start_with<O, F>(callsite: &'static Callsite, options: O, record: F) -> Call
    where
        O: FnOnce() -> StartOptions,
        F: FnOnce(&mut Vec<KeyValue>),
    {
        match state::current() {
            Current::Disabled => Call::INERT,
            Current::Installed(installed) => {
                let (tracer, instruments) = callsite.installed(installed);
                let metrics = begin_metrics(instruments);
                let cx = with_parent(options(), |parent, links| {
                    begin_span(tracer, callsite.meta(), parent, links, record, None)
                });
                Call::open(cx, metrics)
            }
            Current::Global => Call::start_global(callsite, options, record),
        }
    }

    // Small and out of line: with no provider installed, a call costs finding the global
    // provider's identity and this test, without a frame sized for starting a span.
    #[inline(never)]
    fn start_global<O, F>(callsite: &'static Callsite, options: O, record: F) -> Call
    where
        O: FnOnce() -> StartOptions,
        F: FnOnce(&mut Vec<KeyValue>),
    {
        let global = callsite.global_tracer();
        // A no-op tracer under a valid parent still hands the parent on to the body
        // (the API's propagation-only mode), which matters to a future polled elsewhere:
        // that case takes the full path.
        if global.is_noop() && !callsite.meta().metrics && matches!(current_parent(), Parent::None) {
            return Call::INERT;
        }
        Call::start_global_span(callsite, global, options, record)
    }

    #[inline(never)]
    fn start_global_span<O, F>(
        callsite: &'static Callsite,
        global: &'static GlobalTracer,
        options: O,
        record: F,
    ) -> Call
    where
        O: FnOnce() -> StartOptions,
        F: FnOnce(&mut Vec<KeyValue>),
    {
        let metrics = begin_metrics(callsite.global_instruments());
        if global.is_noop() && matches!(current_parent(), Parent::None) {
            // No provider installed (or a no-op one) and no context to hand on.
            return Call::open(None, metrics);
        }
        let cx = with_parent(options(), |parent, links| {
            begin_span(
                global.tracer(),
                callsite.meta(),
                parent,
                links,
                record,
                Some(global),
            )
        });
        Call::open(cx, metrics)
    }

    #[inline]
    fn open(cx: Option<Context>, metrics: Option<(&'static Instruments, Instant)>) -> Call {
        let open = cx.is_some() || metrics.is_some();
        Call {
            cx: ManuallyDrop::new(cx),
            metrics,
            open,
        }
    }

    /// Makes the span the current context until the guard is dropped (sync bodies).
    #[inline]
    pub fn enter(&self) -> Option<ContextGuard> {
        self.cx.as_ref().map(|cx| cx.clone().attach())
    }

    /// Runs `fut` with the span as the current context during each of its polls.
    #[inline]
    pub fn instrument<F: Future>(&mut self, fut: F) -> Instrumented<'_, F> {
        Instrumented { call: self, fut }
    }

    /// Whether the span records data, i.e. whether recording `ret` is worth its cost.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.cx.as_ref().is_some_and(|cx| cx.span().is_recording())
    }

    /// Sets `return.value` (the generated code calls it only when recording).
    pub fn record_return(&self, value: Option<Value>) {
        if let (Some(cx), Some(value)) = (&*self.cx, value) {
            cx.span().set_attribute(KeyValue::new(RETURN_VALUE, value));
        }
    }

    /// Ends the call successfully.
    #[inline(always)]
    pub fn finish_ok(&mut self) {
        // The test stays in the caller, so an inert call (disabled, no provider) ends
        // without a function call.
        if self.open {
            self.end_ok();
        }
    }

    #[inline(never)]
    fn end_ok(&mut self) {
        self.open = false;
        if let Some((instruments, started)) = self.metrics {
            let elapsed = started.elapsed().as_secs_f64();
            instruments.ok_calls.add(1);
            instruments.ok_duration.record(elapsed);
            if let Some(active) = &instruments.active {
                active.add(-1);
            }
        }
        if let Some(cx) = self.cx.take() {
            cx.span().end();
        }
    }

    /// Ends the call with the outcome read from its return value. `prefer_debug` is
    /// `err(Debug)`: the exception message uses `Debug` even when `Display` exists.
    #[inline(always)]
    pub fn finish(&mut self, failure: Failure<'_>, prefer_debug: bool) {
        match failure {
            Failure::None => self.finish_ok(),
            Failure::Error {
                type_name,
                display,
                debug,
            } => self.finish_err(type_name, display, debug, prefer_debug),
        }
    }

    #[cold]
    #[inline(never)]
    fn finish_err(
        &mut self,
        type_name: &'static str,
        display: Option<&dyn std::fmt::Display>,
        debug: Option<&dyn std::fmt::Debug>,
        prefer_debug: bool,
    ) {
        if !self.open {
            return;
        }
        let error_type = short_type_name(type_name);
        let recording = self.is_recording();
        let message = recording.then(|| match (display, debug) {
            (Some(d), _) if !prefer_debug || debug.is_none() => {
                capped_fmt(format_args!("{d}"), MAX_MESSAGE_LEN)
            }
            (_, Some(d)) => capped_fmt(format_args!("{d:?}"), MAX_MESSAGE_LEN),
            (None, None) => error_type.to_owned(),
            // Unreachable by the guard above, kept total for the compiler.
            (Some(d), None) => capped_fmt(format_args!("{d}"), MAX_MESSAGE_LEN),
        });
        self.end_failed(error_type, type_name, message);
    }

    /// Records a failure on span and metrics and ends the call.
    fn end_failed(
        &mut self,
        error_type: &'static str,
        exception_type: &'static str,
        message: Option<String>,
    ) {
        self.open = false;
        if let Some((instruments, started)) = self.metrics {
            let elapsed = started.elapsed().as_secs_f64();
            let attributes = instruments.error_attributes(error_type);
            instruments.calls.add(1, &attributes);
            instruments.duration.record(elapsed, &attributes);
            if let Some(active) = &instruments.active {
                active.add(-1);
            }
        }
        if let Some(cx) = self.cx.take() {
            let span = cx.span();
            if span.is_recording() {
                let message = message.unwrap_or_else(|| error_type.to_owned());
                span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
                span.add_event(
                    "exception",
                    vec![
                        KeyValue::new(EXCEPTION_TYPE, exception_type),
                        KeyValue::new(EXCEPTION_MESSAGE, message.clone()),
                    ],
                );
                span.set_status(Status::error(message));
            }
            span.end();
        }
    }

    /// Ends the call as panicked (called while unwinding).
    #[cold]
    fn end_panicked(&mut self) {
        let message = self
            .is_recording()
            .then(|| super::panic::current_message().unwrap_or_else(|| "panicked".to_owned()));
        self.end_failed("panic", "panic", message);
    }
}

impl Drop for Call {
    #[inline]
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if std::thread::panicking() {
            self.end_panicked();
        } else {
            // Only a future can be dropped before finishing without a panic: the caller
            // stopped waiting (timeout, `select!`, aborted task).
            self.end_failed(
                "cancelled",
                "cancelled",
                Some("cancelled before completion".to_owned()),
            );
        }
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("cx", &*self.cx)
            .field("metrics", &self.metrics.is_some())
            .field("open", &self.open)
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A future polled with its call's span as the current context.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<'a, F> {
        call: &'a mut Call,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Instrumented<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.call.enter();
        // A panic in `poll` usually unwinds into the executor, which drops the future
        // only after unwinding ends, when `Drop` can no longer tell a panic from a
        // cancellation. This guard records the panic while it unwinds through us.
        let on_panic = PanicGuard(this.call);
        let out = this.fut.poll(task);
        std::mem::forget(on_panic);
        out
    }
}

struct PanicGuard<'a>(&'a mut Call);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        // Only reached while unwinding: the happy path forgets the guard.
        if self.0.open {
            self.0.end_panicked();
        }
    }
}

#[inline]
fn begin_metrics(instruments: Option<&'static Instruments>) -> Option<(&'static Instruments, Instant)> {
    instruments.map(|instruments| {
        if let Some(active) = &instruments.active {
            active.add(1);
        }
        (instruments, Instant::now())
    })
}

/// What a sampler would see as the parent of a span started under the current context.
enum Parent {
    /// No valid span: the new span is a root.
    None,
    Sampled,
    Unsampled,
}

#[inline]
fn current_parent() -> Parent {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        match (sc.is_valid(), sc.is_sampled()) {
            (false, _) => Parent::None,
            (true, true) => Parent::Sampled,
            (true, false) => Parent::Unsampled,
        }
    })
}

/// Starts the span and returns the context to make current, if any. `global` is the
/// cache entry `tracer` comes from on the global path, which learns from unrecorded
/// spans whether the provider is a no-op.
#[inline]
fn begin_span<T, F>(
    tracer: &T,
    meta: &Meta,
    parent: &Context,
    links: Vec<Link>,
    record: F,
    global: Option<&GlobalTracer>,
) -> Option<Context>
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
    F: FnOnce(&mut Vec<KeyValue>),
{
    if parent.is_telemetry_suppressed() {
        return None;
    }
    let parent_span = parent.span();
    let parent_sc = parent_span.span_context();
    // Under an unsampled parent the span is almost always dropped too, so its attributes
    // are evaluated only if the sampler decides to record after all. Elsewhere they go to
    // the builder, where samplers can see them.
    let defer = parent_sc.is_valid() && !parent_sc.is_sampled();
    // A no-op tracer never records: its span only carries the parent's context.
    let noop = global.is_some_and(GlobalTracer::is_noop);
    let mut record = Some(record);
    let mut builder = SpanBuilder::from_name(Cow::Borrowed(meta.name)).with_kind(meta.kind.clone());
    if !defer && !noop {
        if let Some(record) = record.take() {
            let mut attributes = Vec::with_capacity(meta.attr_capacity);
            record(&mut attributes);
            if !attributes.is_empty() {
                builder.attributes = Some(attributes);
            }
        }
    }
    if !links.is_empty() {
        builder.links = Some(links);
    }
    let mut span = builder.start_with_context(tracer, parent);
    use opentelemetry::trace::Span as _;
    if span.is_recording() {
        if let Some(record) = record.take() {
            let mut attributes = Vec::with_capacity(meta.attr_capacity);
            record(&mut attributes);
            span.set_attributes(attributes);
        }
    } else {
        let sc = span.span_context();
        if let Some(global) = global {
            global.observe_unrecorded(sc, parent_sc);
        }
        // Nothing for children to inherit: an invalid context (no-op tracer) or the same
        // unsampled decision the parent already carries. Skipping the context keeps
        // such calls free of heap allocations; the price is that code inside sees the
        // parent's span id, which matters to no one since nothing is recorded.
        if !sc.is_valid() || (defer && sc.trace_id() == parent_sc.trace_id() && !sc.is_sampled()) {
            return None;
        }
    }
    Some(parent.with_span(span))
}
