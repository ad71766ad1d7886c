//! Where an instrumented call's span gets its parent and links: `parent = ..`,
//! `new_root`, `links = [..]` and `follows_from = [..]`.

use opentelemetry::trace::{Link, SpanContext, TraceContextExt as _};
use opentelemetry::Context;

/// Where the span's parent comes from.
enum ParentChoice {
    /// The current context (the default).
    Current,
    /// An explicit context (`parent = expr`).
    Explicit(Context),
    /// No parent, keeping the current context's other entries such as baggage
    /// (`parent = None`).
    Root,
    /// No parent, linked to the current span (`new_root`).
    NewRoot,
}

/// Options that are rarely used and evaluated only when telemetry is enabled.
pub struct StartOptions {
    parent: ParentChoice,
    links: Vec<Link>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl StartOptions {
    /// Current context as parent, no links.
    #[inline]
    pub fn new() -> Self {
        StartOptions {
            parent: ParentChoice::Current,
            links: Vec::new(),
        }
    }

    /// `parent = expr`.
    #[inline]
    pub fn parent(mut self, parent: impl IntoParent) -> Self {
        self.parent = match parent.into_parent() {
            Some(cx) => ParentChoice::Explicit(cx),
            None => ParentChoice::Root,
        };
        self
    }

    /// `parent = None`.
    #[inline]
    pub fn root(mut self) -> Self {
        self.parent = ParentChoice::Root;
        self
    }

    /// `new_root`.
    #[inline]
    pub fn new_root(mut self) -> Self {
        self.parent = ParentChoice::NewRoot;
        self
    }

    /// `links = expr` and `follows_from = expr`.
    #[inline]
    pub fn links<I>(mut self, links: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoLink,
    {
        self.links
            .extend(links.into_iter().filter_map(IntoLink::into_link));
        self
    }
}

/// What `parent = expr` accepts.
pub trait IntoParent {
    /// The parent context; `None` makes the span a root.
    fn into_parent(self) -> Option<Context>;
}

impl IntoParent for Context {
    fn into_parent(self) -> Option<Context> {
        Some(self)
    }
}

impl IntoParent for &Context {
    fn into_parent(self) -> Option<Context> {
        Some(self.clone())
    }
}

impl IntoParent for Option<Context> {
    fn into_parent(self) -> Option<Context> {
        self
    }
}

impl IntoParent for SpanContext {
    fn into_parent(self) -> Option<Context> {
        Some(Context::new().with_remote_span_context(self))
    }
}

impl IntoParent for &SpanContext {
    fn into_parent(self) -> Option<Context> {
        Some(Context::new().with_remote_span_context(self.clone()))
    }
}

/// What `links = [..]` and `follows_from = [..]` accept as items. Invalid span contexts
/// are skipped: a link to nothing helps no one.
pub trait IntoLink {
    /// The link, if it points to a valid span.
    fn into_link(self) -> Option<Link>;
}

impl IntoLink for Link {
    fn into_link(self) -> Option<Link> {
        self.span_context.is_valid().then_some(self)
    }
}

impl IntoLink for SpanContext {
    fn into_link(self) -> Option<Link> {
        self.is_valid().then(|| Link::with_context(self))
    }
}

impl IntoLink for &SpanContext {
    fn into_link(self) -> Option<Link> {
        self.clone().into_link()
    }
}

impl IntoLink for Context {
    fn into_link(self) -> Option<Link> {
        (&self).into_link()
    }
}

impl IntoLink for &Context {
    fn into_link(self) -> Option<Link> {
        self.span().span_context().clone().into_link()
    }
}

impl<T: IntoLink> IntoLink for Option<T> {
    fn into_link(self) -> Option<Link> {
        self.and_then(IntoLink::into_link)
    }
}

/// Resolves the parent choice and runs `f` with the parent context and the links.
pub(super) fn with_parent<R>(options: StartOptions, f: impl FnOnce(&Context, Vec<Link>) -> R) -> R {
    let StartOptions { parent, mut links } = options;
    match parent {
        ParentChoice::Current => f(&Context::current(), links),
        ParentChoice::Explicit(cx) => f(&cx, links),
        ParentChoice::Root => f(&Context::map_current(root_of), links),
        ParentChoice::NewRoot => {
            let (root, previous) = Context::map_current(|cx| (root_of(cx), cx.span().span_context().clone()));
            if previous.is_valid() {
                links.push(Link::with_context(previous));
            }
            f(&root, links)
        }
    }
}

/// A parent for a root span: no span at all (an *invalid* span would count as an
/// unsampled parent for parent-based samplers), but the same baggage as `cx`.
fn root_of(cx: &Context) -> Context {
    use opentelemetry::baggage::BaggageExt as _;
    let baggage = cx.baggage();
    if baggage.is_empty() {
        Context::new()
    } else {
        let copy: opentelemetry::baggage::Baggage = baggage
            .iter()
            .map(|(k, (v, m))| (k.clone(), (v.clone(), m.clone())))
            .collect();
        Context::new().with_baggage(copy)
    }
}
