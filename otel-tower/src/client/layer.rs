use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{Tracer, TracerProvider};
use tower::Layer;

use super::HttpClientService;
use crate::config::SharedConfig;
use crate::endpoint::HostCache;
use crate::instruments::ClientInstruments;

pub(crate) type SpanNameFn = Arc<dyn Fn(&Parts) -> Cow<'static, str> + Send + Sync>;

/// Everything a client service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct ClientConfig {
    pub(crate) shared: SharedConfig<ClientInstruments>,
    pub(crate) span_name: Option<SpanNameFn>,
    /// The last server address the layer's requests went to.
    pub(crate) hosts: Arc<HostCache>,
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
///
/// **reqwest.** A `reqwest::Client` is not a Tower service: it sends `reqwest::Request`s,
/// not `http::Request`s, so the service this layer makes around one cannot be called
/// (`E0599`, method `call` exists but its trait bounds were not satisfied). For reqwest,
/// turn on this crate's `reqwest` feature and add `otel_tower::reqwest::HttpClientMiddleware`
/// to a `reqwest_middleware::ClientBuilder`. It records the same spans and metrics with
/// the same code, and takes its options from a layer:
///
/// ```text
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(HttpClientMiddleware::from(HttpClientLayer::new().body_size_metrics(true)))
///     .build();
/// ```
#[derive(Clone)]
pub struct HttpClientLayer {
    pub(crate) config: Arc<ClientConfig>,
}

impl Default for HttpClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HttpClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let mut d = f.debug_struct("HttpClientLayer");
        c.shared.debug_fields(&mut d);
        d.field("span_name", &c.span_name.is_some())
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
        Self {
            config: Arc::new(ClientConfig {
                shared: SharedConfig::new("HttpClientLayer"),
                span_name: None,
                hosts: Arc::default(),
            }),
        }
    }

    /// Applies `set` to this layer's copy of the configuration (services already built
    /// keep theirs).
    fn with(mut self, set: impl FnOnce(&mut ClientConfig)) -> Self {
        set(Arc::make_mut(&mut self.config));
        self
    }

    /// Applies `set` to the options the server layer has too.
    fn with_shared(self, set: impl FnOnce(&mut SharedConfig<ClientInstruments>)) -> Self {
        self.with(|config| set(&mut config.shared))
    }

    /// Turns spans on (the default) or off for this layer. The trace context is still
    /// injected without spans, so downstream services stay in the caller's trace.
    ///
    /// ```
    /// let metrics_only = otel_tower::HttpClientLayer::new().traces(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn traces(self, enabled: bool) -> Self {
        self.with_shared(|c| c.traces(enabled))
    }

    /// Turns metrics on (the default) or off for this layer.
    ///
    /// ```
    /// let traces_only = otel_tower::HttpClientLayer::new().metrics(false);
    /// # let _ = traces_only;
    /// ```
    #[must_use]
    pub fn metrics(self, enabled: bool) -> Self {
        self.with_shared(|c| c.metrics(enabled))
    }

    /// Records the `http.client.request.body.size` and `http.client.response.body.size`
    /// histograms (bytes, same attributes as the duration). Off by default: the
    /// conventions mark them optional (status Development), and each is one more
    /// histogram update per request. Sizes come from `Content-Length` or an exact body
    /// size hint.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().body_size_metrics(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn body_size_metrics(self, enabled: bool) -> Self {
        self.with_shared(|c| c.body_size_metrics(enabled))
    }

    /// Bounds the distinct `url.template` and `rpc.method` values this layer records (default
    /// [`DEFAULT_CARDINALITY_LIMIT`](otel_core::cardinality::DEFAULT_CARDINALITY_LIMIT)):
    /// past the limit a new value is recorded as `_OTHER` in span names and metric
    /// attributes, and counted in `otel_core::telemetry_status().cardinality_overflows`.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().cardinality_limit(200);
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
    /// let layer = otel_tower::HttpClientLayer::new().tracer_provider(&provider);
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
    /// let layer = otel_tower::HttpClientLayer::new().meter_provider(&provider);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn meter_provider<P: MeterProvider>(self, provider: &P) -> Self {
        self.with_shared(|c| c.meter_provider(provider))
    }

    /// Only requests for which `filter` returns `true` are recorded. The others pass
    /// through untouched: no span, no metrics, and no trace context written into their
    /// headers.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new()
    ///     .filter(|req| req.uri.host() != Some("metadata.internal"));
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
    /// gRPC `rpc.request.metadata.<name>`), read after the trace context was injected.
    /// `authorization`, `cookie`, `set-cookie` and `proxy-authorization` are never
    /// recorded, even when listed.
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().request_headers(["x-request-id", "accept"]);
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
    /// let layer = otel_tower::HttpClientLayer::new().response_headers(["content-type"]);
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
    /// let layer = otel_tower::HttpClientLayer::new().known_methods(["GET", "POST", "PURGE"]);
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
    /// let layer = otel_tower::HttpClientLayer::new()
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
    /// `url.full` and in captured URL-valued headers (`Referer`, `Location`; a header
    /// with one of these names is recorded as `REDACTED`), on top of
    /// [`DEFAULT_SENSITIVE_QUERY_PARAMETERS`](crate::url::DEFAULT_SENSITIVE_QUERY_PARAMETERS)
    /// (the defaults cannot be removed; names match as [`otel_core::redact`] describes).
    ///
    /// ```
    /// let layer = otel_tower::HttpClientLayer::new().sensitive_query_parameters(["sig", "token", "otp"]);
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
    pub fn span_name<F>(self, name: F) -> Self
    where
        F: Fn(&Parts) -> Cow<'static, str> + Send + Sync + 'static,
    {
        self.with(|c| c.span_name = Some(Arc::new(name)))
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService::from_parts(inner, self.config.clone())
    }
}
