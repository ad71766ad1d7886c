//! The options both layers share, with the logic of their setters. Each layer has its
//! own documented public methods, which delegate here.

use std::fmt;
use std::sync::{Arc, OnceLock};

use http::request::Parts;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{SpanKind, Tracer, TracerProvider};
use opentelemetry::Context;

use otel_core::cardinality::{CardinalityLimit, DEFAULT_CARDINALITY_LIMIT};
use otel_core::head_sampling::{self, Head};

use crate::headers::{Direction, HeaderCapture};
use crate::instruments::{meter_from, scope, tracer_from, Instruments};
use crate::method::KnownMethods;
use crate::url::SensitiveQuery;

pub(crate) type PartsPredicate = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// The part of a layer's configuration that the server and the client have in common;
/// `I` is the side's set of instruments.
#[derive(Clone)]
pub(crate) struct SharedConfig<I> {
    /// Taken from `opentelemetry::global` at the first request rather than when the
    /// layer is built, so a layer built before `otel_core::init()` (or before a test
    /// installs its providers) still records into them. Set up front when the user
    /// passes a provider.
    tracer: Option<Arc<OnceLock<LayerTracer>>>,
    instruments: Option<Arc<OnceLock<I>>>,
    pub(crate) known_methods: KnownMethods,
    /// Set by [`known_methods`](Self::known_methods), which then wins over the
    /// environment.
    known_methods_explicit: bool,
    pub(crate) sensitive_query: SensitiveQuery,
    pub(crate) request_headers: HeaderCapture,
    pub(crate) response_headers: HeaderCapture,
    filter: Option<PartsPredicate>,
    pub(crate) body_sizes: bool,
    /// Distinct `http.route` / `url.template` / `rpc.method` values this layer records
    /// before new ones become `_OTHER`.
    pub(crate) cardinality: Arc<CardinalityLimit>,
    owner: &'static str,
}

impl<I: Instruments> SharedConfig<I> {
    /// Traces and metrics through the global providers, known methods from the process
    /// environment.
    pub(crate) fn new(owner: &'static str) -> Self {
        Self {
            cardinality: CardinalityLimit::new(owner, DEFAULT_CARDINALITY_LIMIT),
            owner,
            tracer: Some(Arc::default()),
            instruments: Some(Arc::default()),
            known_methods: KnownMethods::from_env(&|name| std::env::var(name).ok()),
            known_methods_explicit: false,
            sensitive_query: SensitiveQuery::default(),
            request_headers: HeaderCapture::default(),
            response_headers: HeaderCapture::default(),
            filter: None,
            body_sizes: false,
        }
    }

    /// The tracer, or `None` when traces are off for this layer.
    #[inline]
    pub(crate) fn tracer(&self) -> Option<&LayerTracer> {
        self.tracer.as_ref().map(|cell| cell.get_or_init(global_tracer))
    }

    /// The instruments, or `None` when metrics are off for this layer.
    #[inline]
    pub(crate) fn instruments(&self) -> Option<&I> {
        self.instruments
            .as_ref()
            .map(|cell| cell.get_or_init(|| I::new(&meter_from(None))))
    }

    /// Whether a request is recorded at all: something is on for this layer, and
    /// telemetry is enabled process-wide.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        (self.tracer.is_some() || self.instruments.is_some()) && otel_core::is_enabled()
    }

    /// Whether the filter lets this request through.
    #[inline]
    pub(crate) fn records(&self, parts: &Parts) -> bool {
        self.filter.as_ref().is_none_or(|f| f(parts))
    }

    pub(crate) fn traces(&mut self, enabled: bool) {
        if !enabled {
            self.tracer = None;
        } else if self.tracer.is_none() {
            self.tracer = Some(Arc::default());
        }
    }

    pub(crate) fn metrics(&mut self, enabled: bool) {
        if !enabled {
            self.instruments = None;
        } else if self.instruments.is_none() {
            self.instruments = Some(Arc::default());
        }
    }

    pub(crate) fn body_size_metrics(&mut self, enabled: bool) {
        self.body_sizes = enabled;
    }

    pub(crate) fn cardinality_limit(&mut self, limit: usize) {
        self.cardinality = CardinalityLimit::new(self.owner, limit);
    }

    pub(crate) fn tracer_provider<P>(&mut self, provider: &P)
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        // A provider of the user's: its sampler is unknown, the SDK decides.
        let tracer = LayerTracer {
            tracer: tracer_from(Some(provider)),
            head: None,
        };
        self.tracer = Some(Arc::new(OnceLock::from(tracer)));
    }

    pub(crate) fn meter_provider<P: MeterProvider>(&mut self, provider: &P) {
        let meter = meter_from(Some(provider));
        self.instruments = Some(Arc::new(OnceLock::from(I::new(&meter))));
    }

    pub(crate) fn filter<F>(&mut self, filter: F)
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.filter = Some(Arc::new(filter));
    }

    pub(crate) fn request_headers<N: AsRef<str>>(&mut self, names: impl IntoIterator<Item = N>) {
        self.request_headers = HeaderCapture::new(Direction::Request, names, self.sensitive_query.redactor());
    }

    pub(crate) fn response_headers<N: AsRef<str>>(&mut self, names: impl IntoIterator<Item = N>) {
        self.response_headers =
            HeaderCapture::new(Direction::Response, names, self.sensitive_query.redactor());
    }

    /// An explicit list, which then wins over the environment.
    pub(crate) fn known_methods<N: AsRef<str>>(&mut self, methods: impl IntoIterator<Item = N>) {
        let methods: Vec<N> = methods.into_iter().collect();
        self.known_methods = KnownMethods::from_list(methods.iter().map(AsRef::as_ref));
        self.known_methods_explicit = true;
    }

    /// Re-reads the variables through `lookup`; explicit builder values win.
    pub(crate) fn env(&mut self, lookup: &dyn Fn(&str) -> Option<String>) {
        if !self.known_methods_explicit {
            self.known_methods = KnownMethods::from_env(lookup);
        }
    }

    pub(crate) fn sensitive_query_parameters<N: AsRef<str>>(&mut self, names: impl IntoIterator<Item = N>) {
        self.sensitive_query = SensitiveQuery::new(names);
        // Captured headers (`Referer`, `Location`, credential names) follow the same
        // names, whichever setter was called first.
        let redactor = self.sensitive_query.redactor();
        self.request_headers.set_redactor(redactor);
        self.response_headers.set_redactor(redactor);
    }

    /// The shared fields of a layer's `Debug` output.
    pub(crate) fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("traces", &self.tracer.is_some())
            .field("metrics", &self.instruments.is_some())
            .field("body_size_metrics", &self.body_sizes)
            .field("filter", &self.filter.is_some());
    }
}

/// A layer's tracer, and whether its spans may be sampled before they are described.
pub(crate) struct LayerTracer {
    pub(crate) tracer: BoxedTracer,
    /// Set when the tracer comes from the provider `otel_core::init()` installed, whose
    /// sampler is known ([`otel_core::head_sampling`]).
    head: Option<u64>,
}

impl LayerTracer {
    /// The head sampler's decision for a span of `kind` under `parent`: dropped (with
    /// the non-recording context to propagate) before any attribute is built, or to be
    /// started with the tracer.
    #[inline]
    pub(crate) fn head(&self, parent: &Context, kind: &SpanKind) -> Head {
        head_sampling::decide(self.head, parent, kind)
    }
}

fn global_tracer() -> LayerTracer {
    // One handle for both, so the generation belongs to the provider of the tracer.
    let provider = global::tracer_provider();
    LayerTracer {
        head: head_sampling::generation_of(&provider),
        tracer: provider.tracer_with_scope(scope()),
    }
}
