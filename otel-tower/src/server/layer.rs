use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use tower::Layer;

use super::HttpServer;
use crate::config::{PartsPredicate, SharedConfig};
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

shared_layer_options!(HttpServerLayer);

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
                shared: SharedConfig::new(),
                route: None,
                span_name: None,
                public_endpoint: None,
                traceresponse: false,
                active_requests: false,
            }),
        }
    }

    fn config(&mut self) -> &mut ServerConfig {
        Arc::make_mut(&mut self.config)
    }

    fn shared(&mut self) -> &mut SharedConfig<ServerInstruments> {
        &mut self.config().shared
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
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServer::from_parts(inner, self.config.clone())
    }
}
