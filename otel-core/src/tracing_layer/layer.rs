//! [`TracingLayer`]: the `tracing-subscriber` layer and its hooks.

use std::borrow::Cow;

use opentelemetry::trace::{Span as _, SpanBuilder, TraceContextExt as _, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::{CODE_FILE_PATH, CODE_LINE_NUMBER};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{self, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::entered;
use super::fields::{EventFields, SpanEvent, SpanFields};
use super::tracer;
use crate::state::{self, Current};

/// Module path of the code that opened the span; the name `#[instrumented]` uses too.
const CODE_NAMESPACE: &str = "code.namespace";

/// A `tracing-subscriber` [`Layer`] that turns `tracing` spans into OpenTelemetry spans of
/// the same traces as [`crate::in_span`], `#[instrumented]` and the `otel-tower` layers.
///
/// Built by [`tracing_layer`](crate::tracing_layer()). Spans of libraries instrumented
/// with `tracing` (hyper, h2, sqlx, tower-http, tonic, `#[tracing::instrument]` in your
/// own code) join the trace they run in, both ways:
///
/// - a `tracing` span created inside an OpenTelemetry span (an `#[instrumented]` function,
///   `in_span`, a request of `HttpServerLayer`) is its child;
/// - while a `tracing` span is entered, its OpenTelemetry span is the current context, so
///   `#[instrumented]` functions, `in_span`, outgoing requests and log records inside it
///   are its children and carry its ids, also across `.await` with
///   [`tracing::Instrument`] and with tasks interleaving on one thread.
///
/// What a `tracing` span becomes:
///
/// | `tracing` | OpenTelemetry |
/// |---|---|
/// | span name, or the `otel.name` field | span name |
/// | `otel.kind = "server"` (`client`, `producer`, `consumer`, `internal`) | span kind (set when the span is created) |
/// | `otel.status_code = "ok"` / `"error"`, `otel.status_description` | span status |
/// | other fields, at creation or through `Span::record` | attributes, typed (`i64`, `f64`, `bool`, string; `?debug` and `%display` as text) |
/// | events inside the span | span events named by their message, with `level`, `target` and the fields |
/// | an event with an `error` field (what `#[tracing::instrument(err)]` emits) | an `exception` event with `exception.message`, span status Error |
/// | an `ERROR` event | span status Error |
/// | `follows_from` | a link |
/// | the span closes (its last handle is dropped) | the span ends |
///
/// Events go to the innermost span, whichever kind it is: an event inside an `in_span`
/// that runs inside a `tracing` span belongs to the `in_span`'s span. Only the spans the
/// subscriber's filters enable (levels, `EnvFilter`, per-layer filters) exist; the
/// children of a filtered-out span attach to its nearest enabled ancestor.
///
/// Spans are started with the provider [`crate::init`] installed, or with
/// `opentelemetry::global`'s when `init()` was not used, whenever the `tracing` span is
/// created, so the layer can be added before `init()` runs. When telemetry is disabled
/// (`OTEL_SDK_DISABLED=true`) each hook returns after one atomic load (an exit after one
/// thread-local look); under an unsampled parent (with the parent-based samplers `init()`
/// installs) no OpenTelemetry span is started and nothing is stored. Events outside any span are ignored here (the log
/// bridge, [`crate::logs::tracing_bridge`], still forwards them); to keep events out of
/// spans when the log bridge already exports them, filter this layer to spans only:
/// `tracing_layer().with_filter(filter_fn(|meta| meta.is_span()))`.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let _telemetry = otel_core::init()?;
/// tracing_subscriber::registry()
///     .with(otel_core::tracing_layer())
///     .with(otel_core::logs::tracing_bridge())
///     .init();
///
/// otel_core::in_span("checkout", || {
///     // A child of "checkout"; and "charge" is a child of "load cart".
///     let _cart = tracing::info_span!("load cart", cart.items = 3).entered();
///     otel_core::in_span("charge", || {});
/// });
/// # Ok(())
/// # }
/// ```
///
/// # Migrating from `tracing-opentelemetry`
///
/// Replace `tracing_opentelemetry::layer().with_tracer(tracer)` by
/// `otel_core::tracing_layer()`: the spans go to the global provider. The `otel.*` fields
/// and error events keep their meaning. Differences:
///
/// - `OpenTelemetrySpanExt::set_parent(cx)` has no equivalent, because the span starts
///   when it is created: make the remote context current before creating the span
///   (`let _g = otel_core::propagation::extract(&headers).attach();`), or let
///   `otel-tower`'s `HttpServerLayer` do it.
/// - `OpenTelemetrySpanExt::context()`: `span.in_scope(opentelemetry::Context::current)`.
/// - No `code.*`, `thread.*`, `target`, `busy_ns` / `idle_ns` attributes by default;
///   [`with_location`](TracingLayer::with_location) adds the code location.
/// - A span ends when it closes, not at its last exit.
#[derive(Debug, Clone, Default)]
pub struct TracingLayer {
    location: bool,
}

/// What the layer keeps in a `tracing` span's extensions: the context holding its
/// OpenTelemetry span, made current on every enter.
struct OtelSpan {
    cx: Context,
}

impl TracingLayer {
    /// The layer, recording fields only (no code location).
    ///
    /// ```
    /// let layer = otel_core::TracingLayer::new();
    /// # drop(layer);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        TracingLayer::default()
    }

    /// Also records where each span was opened: `code.file.path`, `code.line.number` and
    /// `code.namespace` (the module path), like tracing-opentelemetry's default.
    ///
    /// ```
    /// let layer = otel_core::tracing_layer().with_location(true);
    /// # drop(layer);
    /// ```
    #[must_use]
    pub fn with_location(mut self, location: bool) -> Self {
        self.location = location;
        self
    }

    /// Tells this layer's spans apart from those of another subscriber on the same thread.
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    fn push_location(&self, meta: &'static Metadata<'static>, attributes: &mut Vec<KeyValue>) {
        if let Some(file) = meta.file() {
            attributes.push(KeyValue::new(CODE_FILE_PATH, file));
        }
        if let Some(line) = meta.line() {
            attributes.push(KeyValue::new(CODE_LINE_NUMBER, i64::from(line)));
        }
        if let Some(module) = meta.module_path() {
            attributes.push(KeyValue::new(CODE_NAMESPACE, module));
        }
    }
}

/// The context of span `id` itself, if it has an OpenTelemetry span.
fn own_context<S>(id: &Id, ctx: &layer::Context<'_, S>) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let extensions = span.extensions();
    extensions.get::<OtelSpan>().map(|otel| otel.cx.clone())
}

/// The context of span `id` or of its nearest ancestor that has an OpenTelemetry span.
fn nearest_context<S>(id: &Id, ctx: &layer::Context<'_, S>) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)?.scope().find_map(|span| {
        let extensions = span.extensions();
        extensions.get::<OtelSpan>().map(|otel| otel.cx.clone())
    })
}

/// Whether a span under `parent` must not be started: telemetry is suppressed there (the
/// exporters' own work), or the parent is unsampled and the sampler follows parents.
fn skip_under(parent: &Context, state: Current) -> bool {
    if parent.is_telemetry_suppressed() {
        return true;
    }
    let parent_based = matches!(state, Current::Installed(installed) if installed.parent_based);
    if !parent_based {
        return false;
    }
    let span = parent.span();
    let sc = span.span_context();
    sc.is_valid() && !sc.is_sampled()
}

/// The parent context of a new span, or `None` when it gets no OpenTelemetry span.
fn parent_of<S>(attrs: &Attributes<'_>, ctx: &layer::Context<'_, S>, state: Current) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if attrs.is_contextual() {
        // Checked in place before cloning: an unsampled span costs only this look.
        if Context::map_current(|cx| skip_under(cx, state)) {
            return None;
        }
        return Some(Context::current());
    }
    let parent = match attrs.parent() {
        // An explicit parent this layer never saw (filtered out for it, or unsampled):
        // the current context is the best remaining guess.
        Some(id) => nearest_context(id, ctx).unwrap_or_else(Context::current),
        None if Context::map_current(Context::is_telemetry_suppressed) => return None,
        None => Context::new(),
    };
    (!skip_under(&parent, state)).then_some(parent)
}

/// Starts the OpenTelemetry span and returns the context holding it, or `None` when it
/// would give children nothing to inherit.
fn start<T>(
    tracer: &T,
    parent: &Context,
    mut fields: SpanFields,
    meta: &'static Metadata<'static>,
) -> Option<Context>
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    let status = fields.status();
    let mut builder = SpanBuilder::from_name(fields.name.take().unwrap_or(Cow::Borrowed(meta.name())));
    builder.span_kind = fields.kind.take();
    if !fields.attributes.is_empty() {
        builder.attributes = Some(fields.attributes);
    }
    let mut span = builder.start_with_context(tracer, parent);
    if span.is_recording() {
        if let Some(status) = status {
            span.set_status(status);
        }
    } else {
        let sc = span.span_context();
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        // No-op tracers hand back the parent's context or an invalid one; a sampler that
        // drops a child of an unsampled parent repeats the parent's decision. Either way
        // the parent, which stays current, already says all a child needs.
        if !sc.is_valid()
            || sc.span_id() == parent_sc.span_id()
            || (parent_sc.is_valid() && !parent_sc.is_sampled() && sc.trace_id() == parent_sc.trace_id())
        {
            return None;
        }
    }
    Some(parent.with_span(span))
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: layer::Context<'_, S>) {
        let state = state::current();
        if let Current::Disabled = state {
            return;
        }
        let Some(parent) = parent_of(attrs, &ctx, state) else {
            return;
        };
        let meta = attrs.metadata();
        let extra = if self.location { 3 } else { 0 };
        let mut fields = SpanFields::with_capacity(attrs.fields().len() + extra);
        attrs.record(&mut fields);
        if self.location {
            self.push_location(meta, &mut fields.attributes);
        }
        // Started before the extensions are locked: samplers and processors run inside
        // and may emit `tracing` events that read this span's extensions.
        let cx = match state {
            Current::Installed(installed) => start(tracer::installed(installed), &parent, fields, meta),
            Current::Global => start(&tracer::global(), &parent, fields, meta),
            Current::Disabled => None,
        };
        let (Some(cx), Some(span)) = (cx, ctx.span(id)) else {
            return;
        };
        // `replace`, not `insert`: a second instance of this layer in the same subscriber
        // must not panic. Whatever it replaced is dropped once the lock is released.
        let replaced = span.extensions_mut().replace(OtelSpan { cx });
        drop(replaced);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: layer::Context<'_, S>) {
        if !state::is_enabled() {
            return;
        }
        let Some(cx) = own_context(id, &ctx) else {
            return;
        };
        let span = cx.span();
        let mut fields = SpanFields::default();
        values.record(&mut fields);
        if let Some(name) = fields.name.take() {
            span.update_name(name);
        }
        if let Some(status) = fields.status() {
            span.set_status(status);
        }
        if !fields.attributes.is_empty() {
            span.set_attributes(fields.attributes);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: layer::Context<'_, S>) {
        if !state::is_enabled() {
            return;
        }
        let (Some(cx), Some(follows)) = (own_context(id, &ctx), nearest_context(follows, &ctx)) else {
            return;
        };
        let target = follows.span().span_context().clone();
        if target.is_valid() {
            cx.span().add_link(target, Vec::new());
        }
    }

    fn on_enter(&self, id: &Id, ctx: layer::Context<'_, S>) {
        if !state::is_enabled() {
            return;
        }
        if let Some(cx) = own_context(id, &ctx) {
            entered::enter(self.key(), id.into_u64(), cx);
        }
    }

    fn on_exit(&self, id: &Id, _ctx: layer::Context<'_, S>) {
        // Not gated on `is_enabled`: a context attached before telemetry was turned off
        // must still be detached.
        entered::exit(self.key(), id.into_u64());
    }

    fn on_event(&self, event: &Event<'_>, ctx: layer::Context<'_, S>) {
        if !state::is_enabled() {
            return;
        }
        let meta = event.metadata();
        // The OpenTelemetry crates' own diagnostics, emitted while spans end or export:
        // recording them would lock the very span being ended.
        if meta.target().starts_with("opentelemetry") {
            return;
        }
        let cx = if let Some(parent) = event.parent() {
            match nearest_context(parent, &ctx) {
                Some(cx) => cx,
                None => return,
            }
        } else if event.is_contextual()
            && Context::map_current(|cx| cx.has_active_span() && !cx.is_telemetry_suppressed())
        {
            Context::current()
        } else {
            return;
        };
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let mut fields = EventFields::with_capacity(meta.fields().len());
        event.record(&mut fields);
        let SpanEvent {
            name,
            attributes,
            status,
        } = fields.into_span_event(meta);
        if let Some(status) = status {
            span.set_status(status);
        }
        span.add_event(name, attributes);
    }

    fn on_close(&self, id: Id, ctx: layer::Context<'_, S>) {
        if !state::is_enabled() {
            // Spans started before telemetry was turned off end when the registry drops
            // their extensions.
            return;
        }
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let otel = span.extensions_mut().remove::<OtelSpan>();
        drop(span);
        // Ended with no lock held: processors run here, and may use `tracing`.
        if let Some(otel) = otel {
            otel.cx.span().end();
        }
    }
}
