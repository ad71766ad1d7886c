use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use tower::Layer;

use super::HttpClient;
use crate::config::SharedConfig;
use crate::instruments::ClientInstruments;

pub(crate) type SpanNameFn = Arc<dyn Fn(&Parts) -> Cow<'static, str> + Send + Sync>;

/// Everything a client service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct ClientConfig {
    pub(crate) shared: SharedConfig<ClientInstruments>,
    pub(crate) span_name: Option<SpanNameFn>,
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
        let mut d = f.debug_struct("HttpClientLayer");
        c.shared.debug_fields(&mut d);
        d.field("span_name", &c.span_name.is_some())
            .finish_non_exhaustive()
    }
}

shared_layer_options!(HttpClientLayer);

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
                shared: SharedConfig::new(),
                span_name: None,
            }),
        }
    }

    fn shared(&mut self) -> &mut SharedConfig<ClientInstruments> {
        &mut Arc::make_mut(&mut self.config).shared
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
        Arc::make_mut(&mut self.config).span_name = Some(Arc::new(name));
        self
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClient::from_parts(inner, self.config.clone())
    }
}
