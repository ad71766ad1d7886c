use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{Tracer, TracerProvider};
use tower::Layer;

use super::HttpServerService;
use crate::config::{PartsPredicate, SharedConfig};
use crate::endpoint::HostCache;
use crate::instruments::ServerInstruments;

pub(crate) type RouteFn = Arc<dyn Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync>;
pub(crate) type SpanNameFn = Arc<dyn Fn(&Parts, Option<&str>) -> Cow<'static, str> + Send + Sync>;

/// Everything a server service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct ServerConfig {
    pub(crate) shared: SharedConfig<ServerInstruments>,
    pub(crate) route: Option<RouteFn>,
    pub(crate) span_name: Option<SpanNameFn>,
    pub(crate) public_endpoint: Option<PartsPredicate>,
    pub(crate) traceresponse: bool,
    pub(crate) active_requests: bool,
    /// `server.address` and `server.port` of the last `Host` seen.
    pub(crate) hosts: Arc<HostCache>,
}

/// A Tower [`Layer`] that gives every request a SERVER span and the HTTP server metrics
/// of the OpenTelemetry semantic conventions, or the RPC ones for gRPC requests.
///
/// The span and the `http.server.request.duration` measurement end when the response
/// body has been sent to its last byte (or fails, or is dropped early), not when the
/// handler returns its headers.
///
/// The tracer and meter come from `opentelemetry::global` at the layer's first request
/// (so the layer may be built before `otel_core::init()` runs), unless
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
        let mut d = f.debug_struct("HttpServerLayer");
        c.shared.debug_fields(&mut d);
        d.field("active_requests", &c.active_requests)
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
        Self {
            config: Arc::new(ServerConfig {
                shared: SharedConfig::new("HttpServerLayer"),
                route: None,
                span_name: None,
                public_endpoint: None,
                traceresponse: false,
                active_requests: false,
                hosts: Arc::default(),
            }),
        }
    }

    /// Applies `set` to this layer's copy of the configuration (services already built
    /// keep theirs).
    fn with(mut self, set: impl FnOnce(&mut ServerConfig)) -> Self {
        set(Arc::make_mut(&mut self.config));
        self
    }

    /// Applies `set` to the options the client layer has too.
    fn with_shared(self, set: impl FnOnce(&mut SharedConfig<ServerInstruments>)) -> Self {
        self.with(|config| set(&mut config.shared))
    }

    /// Turns spans on (the default) or off for this layer.
    ///
    /// ```
    /// let metrics_only = otel_tower::HttpServerLayer::new().traces(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn traces(self, enabled: bool) -> Self {
        self.with_shared(|c| c.traces(enabled))
    }

    /// Turns metrics on (the default) or off for this layer.
    ///
    /// ```
    /// let traces_only = otel_tower::HttpServerLayer::new().metrics(false);
    /// # let _ = traces_only;
    /// ```
    #[must_use]
    pub fn metrics(self, enabled: bool) -> Self {
        self.with_shared(|c| c.metrics(enabled))
    }

    /// Records the `http.server.request.body.size` and `http.server.response.body.size`
    /// histograms (bytes, same attributes as the duration). Off by default: the
    /// conventions mark them optional (status Development), and each is one more
    /// histogram update per request. The request size comes from `Content-Length`; the
    /// response bytes are counted as they are sent.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().body_size_metrics(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn body_size_metrics(self, enabled: bool) -> Self {
        self.with_shared(|c| c.body_size_metrics(enabled))
    }

    /// Bounds the distinct `http.route` and `rpc.method` values this layer records (default
    /// [`DEFAULT_CARDINALITY_LIMIT`](otel_core::cardinality::DEFAULT_CARDINALITY_LIMIT)):
    /// past the limit a new value is recorded as `_OTHER` in span names and metric
    /// attributes, and counted in `otel_core::telemetry_status().cardinality_overflows`.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().cardinality_limit(200);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn cardinality_limit(self, limit: usize) -> Self {
        self.with_shared(|c| c.cardinality_limit(limit))
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
    pub fn tracer_provider<P>(self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        self.with_shared(|c| c.tracer_provider(provider))
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
    pub fn meter_provider<P: MeterProvider>(self, provider: &P) -> Self {
        self.with_shared(|c| c.meter_provider(provider))
    }

    /// Only requests for which `filter` returns `true` are recorded. The others pass
    /// through untouched: no span, no metrics, and no trace context read from their
    /// headers.
    ///
    /// ```
    /// use otel_tower::grpc::is_grpc_health_check;
    ///
    /// let layer = otel_tower::HttpServerLayer::new()
    ///     .filter(|req| req.uri.path() != "/health" && !is_grpc_health_check(req));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn filter<F>(self, filter: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.with_shared(|c| c.filter(filter))
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
    pub fn request_headers<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        self.with_shared(|c| c.request_headers(names))
    }

    /// Response headers recorded as `http.response.header.<name>` (for gRPC
    /// `rpc.response.metadata.<name>`), with the same exclusions as
    /// [`request_headers`](Self::request_headers).
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().response_headers(["content-type"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn response_headers<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        self.with_shared(|c| c.response_headers(names))
    }

    /// Replaces the list of known HTTP methods (case-sensitive); others are recorded as
    /// `_OTHER`. The default is RFC 9110 + PATCH + QUERY, or the list in
    /// [`OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`](crate::method::KNOWN_METHODS_ENV).
    /// This list wins over the environment.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().known_methods(["GET", "POST", "PURGE"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn known_methods<I, N>(self, methods: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        self.with_shared(|c| c.known_methods(methods))
    }

    /// Reads the layer's environment variable,
    /// [`OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`](crate::method::KNOWN_METHODS_ENV),
    /// through `lookup` instead of the process environment (which [`new`](Self::new)
    /// reads): for tests, configuration files or secrets managers. A list given to
    /// [`known_methods`](Self::known_methods) still wins.
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new()
    ///     .env(|name| (name == "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS").then(|| "GET,PURGE".into()));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn env<F>(self, lookup: F) -> Self
    where
        F: Fn(&str) -> Option<String>,
    {
        self.with_shared(|c| c.env(&lookup))
    }

    /// Adds query parameters whose values are recorded as `REDACTED` in
    /// `url.query` and in captured URL-valued headers (`Referer`, `Location`; a header
    /// with one of these names is recorded as `REDACTED`), on top of
    /// [`DEFAULT_SENSITIVE_QUERY_PARAMETERS`](crate::url::DEFAULT_SENSITIVE_QUERY_PARAMETERS)
    /// (the defaults cannot be removed; names match as [`otel_core::redact`] describes).
    ///
    /// ```
    /// let layer = otel_tower::HttpServerLayer::new().sensitive_query_parameters(["sig", "token", "otp"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn sensitive_query_parameters<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        self.with_shared(|c| c.sensitive_query_parameters(names))
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
    pub fn active_requests(self, enabled: bool) -> Self {
        self.with(|c| c.active_requests = enabled)
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
    pub fn route<F>(self, route: F) -> Self
    where
        F: Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync + 'static,
    {
        self.with(|c| c.route = Some(Arc::new(route)))
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
    pub fn span_name<F>(self, name: F) -> Self
    where
        F: Fn(&Parts, Option<&str>) -> Cow<'static, str> + Send + Sync + 'static,
    {
        self.with(|c| c.span_name = Some(Arc::new(name)))
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
    pub fn traceresponse(self, enabled: bool) -> Self {
        self.with(|c| c.traceresponse = enabled)
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
    pub fn public_endpoint(self, enabled: bool) -> Self {
        self.with(|c| c.public_endpoint = enabled.then(|| -> PartsPredicate { Arc::new(|_| true) }))
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
    pub fn public_endpoint_fn<F>(self, public: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        self.with(|c| c.public_endpoint = Some(Arc::new(public)))
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService::from_parts(inner, self.config.clone())
    }
}
