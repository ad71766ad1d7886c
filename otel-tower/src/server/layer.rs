use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::TracerProvider;
use tower::Layer;

use super::HttpServer;
use crate::headers::{Direction, HeaderCapture};
use crate::instruments::{meter_from, tracer_from, ServerInstruments};
use crate::method::KnownMethods;
use crate::url::SensitiveQuery;

pub(crate) type PartsPredicate = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;
pub(crate) type RouteFn = Arc<dyn Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync>;
pub(crate) type SpanNameFn = Arc<dyn Fn(&Parts, Option<&str>) -> Cow<'static, str> + Send + Sync>;

/// Everything a server service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct ServerConfig {
    pub(crate) tracer: Option<Arc<BoxedTracer>>,
    pub(crate) instruments: Option<ServerInstruments>,
    pub(crate) known_methods: KnownMethods,
    pub(crate) sensitive_query: SensitiveQuery,
    pub(crate) request_headers: HeaderCapture,
    pub(crate) response_headers: HeaderCapture,
    pub(crate) filter: Option<PartsPredicate>,
    pub(crate) route: Option<RouteFn>,
    pub(crate) span_name: Option<SpanNameFn>,
    pub(crate) public_endpoint: Option<PartsPredicate>,
    pub(crate) traceresponse: bool,
    pub(crate) active_requests: bool,
    pub(crate) body_sizes: bool,
}

/// A Tower [`Layer`] that gives every request a SERVER span and the HTTP server metrics
/// of the OpenTelemetry semantic conventions, or the RPC ones for gRPC requests.
///
/// The span and the `http.server.request.duration` measurement end when the response
/// body has been sent to its last byte (or fails, or is dropped early), not when the
/// handler returns its headers.
///
/// The tracer and meter come from `opentelemetry::global` when the layer is created
/// (install your providers first, e.g. with `otel_core::init()`), unless
/// [`tracer_provider`](Self::tracer_provider) / [`meter_provider`](Self::meter_provider)
/// give explicit ones. Every option is a method named after what it sets:
///
/// ```
/// use axum::{routing::get, Router};
/// use otel_tower::HttpServerLayer;
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .route("/health", get(|| async { "ok" }))
///     // Router::layer runs per route, so axum's MatchedPath gives `http.route`.
///     .layer(
///         HttpServerLayer::new()
///             .filter(|req| req.uri.path() != "/health")
///             .request_headers(["x-request-id"])
///             .traceresponse(true),
///     );
/// ```
#[derive(Clone)]
pub struct HttpServerLayer {
    config: Arc<ServerConfig>,
}

impl Default for HttpServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("HttpServerLayer")
            .field("traces", &c.tracer.is_some())
            .field("metrics", &c.instruments.is_some())
            .field("filter", &c.filter.is_some())
            .field("route", &c.route.is_some())
            .field("span_name", &c.span_name.is_some())
            .field("public_endpoint", &c.public_endpoint.is_some())
            .field("traceresponse", &c.traceresponse)
            .finish_non_exhaustive()
    }
}

impl HttpServerLayer {
    /// Traces and metrics through the global providers, with the known methods from
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` when it is set.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        let meter = meter_from(None);
        Self {
            config: Arc::new(ServerConfig {
                tracer: Some(Arc::new(
                    tracer_from::<opentelemetry::global::GlobalTracerProvider>(None),
                )),
                instruments: Some(ServerInstruments::new(&meter)),
                known_methods: KnownMethods::from_env(),
                sensitive_query: SensitiveQuery::default(),
                request_headers: HeaderCapture::default(),
                response_headers: HeaderCapture::default(),
                filter: None,
                route: None,
                span_name: None,
                public_endpoint: None,
                traceresponse: false,
                active_requests: false,
                body_sizes: false,
            }),
        }
    }

    fn config(&mut self) -> &mut ServerConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Turns spans on (the default) or off for this layer.
    ///
    /// ```
    /// let metrics_only = otel_tower::HttpServerLayer::new().traces(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn traces(mut self, enabled: bool) -> Self {
        let c = self.config();
        match (enabled, c.tracer.is_some()) {
            (false, _) => c.tracer = None,
            (true, false) => {
                c.tracer = Some(Arc::new(
                    tracer_from::<opentelemetry::global::GlobalTracerProvider>(None),
                ))
            }
            (true, true) => {}
        }
        self
    }

    /// Turns metrics on (the default) or off for this layer.
    ///
    /// ```
    /// let traces_only = otel_tower::HttpServerLayer::new().metrics(false);
    /// # let _ = traces_only;
    /// ```
    #[must_use]
    pub fn metrics(mut self, enabled: bool) -> Self {
        let c = self.config();
        match (enabled, c.instruments.is_some()) {
            (false, _) => c.instruments = None,
            (true, false) => c.instruments = Some(ServerInstruments::new(&meter_from(None))),
            (true, true) => {}
        }
        self
    }

    /// Records `http.server.active_requests` (an up-down counter by method and
    /// scheme; a request stops counting when its response body ends). Off by default:
    /// the conventions mark it optional (status Development), and it costs two metric
    /// updates per request.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().active_requests(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn active_requests(mut self, enabled: bool) -> Self {
        self.config().active_requests = enabled;
        self
    }

    /// Records `http.server.request.body.size` and `http.server.response.body.size`
    /// (bytes, same attributes as the duration). Off by default: the conventions mark
    /// them optional (status Development), and each is one more histogram update per
    /// request. Request sizes come from `Content-Length`; response sizes are counted as the body is sent.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().body_size_metrics(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn body_size_metrics(mut self, enabled: bool) -> Self {
        self.config().body_sizes = enabled;
        self
    }

    /// Records spans with this tracer provider instead of the global one.
    ///
    /// ```
    /// use otel_core::opentelemetry_sdk::trace::SdkTracerProvider;
    ///
    /// let provider = SdkTracerProvider::builder().build();
    /// let layer = otel_tower::HttpServerLayer::new().tracer_provider(&provider);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
    {
        self.config().tracer = Some(Arc::new(tracer_from(Some(provider))));
        self
    }

    /// Records metrics with this meter provider instead of the global one.
    ///
    /// ```
    /// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
    ///
    /// let provider = SdkMeterProvider::builder().build();
    /// let layer = otel_tower::HttpServerLayer::new().meter_provider(&provider);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn meter_provider<P: MeterProvider>(mut self, provider: &P) -> Self {
        self.config().instruments = Some(ServerInstruments::new(&meter_from(Some(provider))));
        self
    }

    /// Only requests for which `filter` returns `true` are recorded; the others pass
    /// through untouched (no span, no metrics, no context extraction).
    ///
    /// ```
    /// use otel_tower::grpc::is_grpc_health_check;
    ///
    /// let layer = otel_tower::HttpServerLayer::new()
    ///     .filter(|req| req.uri.path() != "/health" && !is_grpc_health_check(req));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn filter<F>(mut self, filter: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.config().filter = Some(Arc::new(filter));
        self
    }

    /// Where `http.route` comes from, for routers other than axum's (axum's
    /// `MatchedPath` is used without this, with the `axum` feature). The function must
    /// return a low-cardinality template such as `/users/{id}`, never the raw path.
    ///
    /// ```
    /// use std::borrow::Cow;
    ///
    /// let layer = otel_tower::HttpServerLayer::new().route(|req| {
    ///     req.uri.path().starts_with("/users/").then_some(Cow::Borrowed("/users/{id}"))
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn route<F>(mut self, route: F) -> Self
    where
        F: Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync + 'static,
    {
        self.config().route = Some(Arc::new(route));
        self
    }

    /// Names HTTP spans with this function instead of `{method} {http.route}`. It gets
    /// the request and the route, if known. gRPC spans keep their `rpc.method` name.
    ///
    /// ```
    /// use std::borrow::Cow;
    ///
    /// let layer = otel_tower::HttpServerLayer::new().span_name(|req, route| {
    ///     Cow::Owned(format!("HTTP {} {}", req.method, route.unwrap_or("unmatched")))
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn span_name<F>(mut self, name: F) -> Self
    where
        F: Fn(&Parts, Option<&str>) -> Cow<'static, str> + Send + Sync + 'static,
    {
        self.config().span_name = Some(Arc::new(name));
        self
    }

    /// Request headers recorded as `http.request.header.<name>` (string arrays; for
    /// gRPC `rpc.request.metadata.<name>`). `authorization`, `cookie`, `set-cookie` and
    /// `proxy-authorization` are never recorded, even when listed.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().request_headers(["x-request-id", "accept"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn request_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config().request_headers = HeaderCapture::new(Direction::Request, names);
        self
    }

    /// Response headers recorded as `http.response.header.<name>`, with the same
    /// exclusions as [`request_headers`](Self::request_headers).
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().response_headers(["content-type"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn response_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config().response_headers = HeaderCapture::new(Direction::Response, names);
        self
    }

    /// Adds the W3C `traceresponse` header (`00-{trace-id}-{span-id}-{flags}` of the
    /// server span) to responses, so callers can find the trace. Off by default: it
    /// reveals trace ids to whoever calls the service.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().traceresponse(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn traceresponse(mut self, enabled: bool) -> Self {
        self.config().traceresponse = enabled;
        self
    }

    /// Public-endpoint mode: incoming trace context is not trusted. Each request starts
    /// a new trace whose root span *links* to the caller's span context instead of
    /// being its child. Baggage is still extracted.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().public_endpoint(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn public_endpoint(mut self, enabled: bool) -> Self {
        self.config().public_endpoint = enabled.then(|| -> PartsPredicate { Arc::new(|_| true) });
        self
    }

    /// Public-endpoint mode for the requests where `public` returns `true` (for example
    /// those without an internal-network marker header).
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new()
    ///     .public_endpoint_fn(|req| !req.headers.contains_key("x-internal-caller"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn public_endpoint_fn<F>(mut self, public: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.config().public_endpoint = Some(Arc::new(public));
        self
    }

    /// Replaces the list of known HTTP methods (case-sensitive); others are recorded
    /// as `_OTHER`. The default is RFC 9110 + PATCH + QUERY, or the list in
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().known_methods(["GET", "POST", "PURGE"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn known_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let methods: Vec<S> = methods.into_iter().collect();
        self.config().known_methods = KnownMethods::from_list(methods.iter().map(AsRef::as_ref));
        self
    }

    /// Replaces the query parameters whose values are recorded as `REDACTED` in
    /// `url.query` (default: [`DEFAULT_SENSITIVE_QUERY_PARAMETERS`](crate::url::DEFAULT_SENSITIVE_QUERY_PARAMETERS)).
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().sensitive_query_parameters(["sig", "token", "otp"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn sensitive_query_parameters<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config().sensitive_query = SensitiveQuery::new(names);
        self
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServer::from_parts(inner, self.config.clone())
    }
}
