use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::TracerProvider;
use tower::Layer;

use super::HttpClient;
use crate::headers::{Direction, HeaderCapture};
use crate::instruments::{meter_from, tracer_from, ClientInstruments};
use crate::method::KnownMethods;
use crate::url::SensitiveQuery;

pub(crate) type PartsPredicate = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;
pub(crate) type SpanNameFn = Arc<dyn Fn(&Parts) -> Cow<'static, str> + Send + Sync>;

/// Everything a client service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct ClientConfig {
    pub(crate) tracer: Option<Arc<BoxedTracer>>,
    pub(crate) instruments: Option<ClientInstruments>,
    pub(crate) known_methods: KnownMethods,
    pub(crate) sensitive_query: SensitiveQuery,
    pub(crate) request_headers: HeaderCapture,
    pub(crate) response_headers: HeaderCapture,
    pub(crate) filter: Option<PartsPredicate>,
    pub(crate) span_name: Option<SpanNameFn>,
    pub(crate) body_sizes: bool,
}

/// A Tower [`Layer`] for HTTP clients: one CLIENT span per request attempt, the trace
/// context injected into the outgoing headers, and the `http.client.request.duration`
/// and body-size metrics; gRPC calls get the RPC conventions.
///
/// When spans end: a plain HTTP request's span and duration end when the response
/// headers arrive (or the transport fails), as the HTTP conventions recommend, so
/// reading the body lazily does not inflate them. A gRPC call ends when its status is
/// known: in the trailers, after the whole response body, or in the headers of a
/// Trailers-Only response.
///
/// Status: Error for 4xx and 5xx responses (with `error.type` = the code), and for
/// transport errors (`error.type` = the error's type). A call dropped before its
/// response (a timeout or `select!` above this layer) gets `error.type = "cancelled"`
/// without Error status: the conventions do not count deliberate cancellation as a
/// failure.
///
/// ```
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use otel_tower::HttpClientLayer;
/// use tower::ServiceBuilder;
///
/// let transport = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
/// let client = ServiceBuilder::new()
///     .layer(HttpClientLayer::new().response_headers(["content-type"]))
///     .service(transport);
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct HttpClientLayer {
    config: Arc<ClientConfig>,
}

impl Default for HttpClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HttpClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("HttpClientLayer")
            .field("traces", &c.tracer.is_some())
            .field("metrics", &c.instruments.is_some())
            .field("filter", &c.filter.is_some())
            .field("span_name", &c.span_name.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClientLayer {
    /// Traces and metrics through the global providers, with the known methods from
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` when it is set.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        let meter = meter_from(None);
        Self {
            config: Arc::new(ClientConfig {
                tracer: Some(Arc::new(
                    tracer_from::<opentelemetry::global::GlobalTracerProvider>(None),
                )),
                instruments: Some(ClientInstruments::new(&meter)),
                known_methods: KnownMethods::from_env(),
                sensitive_query: SensitiveQuery::default(),
                request_headers: HeaderCapture::default(),
                response_headers: HeaderCapture::default(),
                filter: None,
                span_name: None,
                body_sizes: false,
            }),
        }
    }

    fn config(&mut self) -> &mut ClientConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Turns spans on (the default) or off for this layer.
    ///
    /// ```
    /// let metrics_only = otel_tower::HttpClientLayer::new().traces(false);
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
    /// let traces_only = otel_tower::HttpClientLayer::new().metrics(false);
    /// # let _ = traces_only;
    /// ```
    #[must_use]
    pub fn metrics(mut self, enabled: bool) -> Self {
        let c = self.config();
        match (enabled, c.instruments.is_some()) {
            (false, _) => c.instruments = None,
            (true, false) => c.instruments = Some(ClientInstruments::new(&meter_from(None))),
            (true, true) => {}
        }
        self
    }

    /// Records `http.client.request.body.size` and `http.client.response.body.size`
    /// (bytes, same attributes as the duration). Off by default: the conventions mark
    /// them optional (status Development), and each is one more histogram update per
    /// request. Sizes come from `Content-Length` or an exact body size hint.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().body_size_metrics(true);
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
    /// let layer = otel_tower::HttpClientLayer::new().tracer_provider(&provider);
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
    /// let layer = otel_tower::HttpClientLayer::new().meter_provider(&provider);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn meter_provider<P: MeterProvider>(mut self, provider: &P) -> Self {
        self.config().instruments = Some(ClientInstruments::new(&meter_from(Some(provider))));
        self
    }

    /// Only requests for which `filter` returns `true` are recorded; the others pass
    /// through untouched (no span, no metrics, and no context injected, so nothing
    /// about the trace leaks to the callee).
    ///
    /// ```
    /// use otel_tower::grpc::is_grpc_health_check;
    ///
    /// let layer = otel_tower::HttpClientLayer::new()
    ///     .filter(|req| req.uri.host() != Some("metrics.internal") && !is_grpc_health_check(req));
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

    /// Names HTTP spans with this function instead of `{method}` (or
    /// `{method} {url.template}` when the request carries a
    /// [`UrlTemplate`](super::UrlTemplate)). gRPC spans keep their `rpc.method` name.
    ///
    /// ```
    /// use std::borrow::Cow;
    ///
    /// let layer = otel_tower::HttpClientLayer::new().span_name(|req| {
    ///     Cow::Owned(format!("{} {}", req.method, req.uri.host().unwrap_or("unknown")))
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn span_name<F>(mut self, name: F) -> Self
    where
        F: Fn(&Parts) -> Cow<'static, str> + Send + Sync + 'static,
    {
        self.config().span_name = Some(Arc::new(name));
        self
    }

    /// Request headers recorded as `http.request.header.<name>` (string arrays; for
    /// gRPC `rpc.request.metadata.<name>`), read after the trace context was injected. `authorization`, `cookie`, `set-cookie` and
    /// `proxy-authorization` are never recorded, even when listed.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().request_headers(["x-request-id", "accept"]);
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
    /// let layer = otel_tower::HttpClientLayer::new().response_headers(["content-type"]);
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

    /// Replaces the list of known HTTP methods (case-sensitive); others are recorded
    /// as `_OTHER`. The default is RFC 9110 + PATCH + QUERY, or the list in
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().known_methods(["GET", "POST", "PURGE"]);
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
    /// `url.full` (default: [`DEFAULT_SENSITIVE_QUERY_PARAMETERS`](crate::url::DEFAULT_SENSITIVE_QUERY_PARAMETERS)).
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().sensitive_query_parameters(["sig", "token", "otp"]);
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

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClient::from_parts(inner, self.config.clone())
    }
}
