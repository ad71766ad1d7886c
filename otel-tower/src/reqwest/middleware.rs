//! The reqwest middleware: the tower client's call, driven from `reqwest_middleware`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::Extensions;
use opentelemetry::context::FutureExt as _;
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};

use super::request::LentParts;
use crate::attrs::error_type_name;
use crate::call::{Call, InFlight};
use crate::client::call::{inject_current, ClientCall, Trailers};
use crate::client::layer::ClientConfig;
use crate::client::ResendCounter;
use crate::url::SensitiveQuery;
use crate::HttpClientLayer;

/// A [`reqwest_middleware`] middleware that records each request attempt of a reqwest
/// client as [`HttpClientLayer`] does for Tower clients, with the same code: a CLIENT
/// span, the trace context injected into the request headers, and the
/// `http.client.request.duration` histogram. See the [module documentation](super) for
/// what it records, when its spans end and where it goes among retries.
///
/// ```
/// use otel_tower::reqwest::HttpClientMiddleware;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(HttpClientMiddleware::new())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct HttpClientMiddleware {
    config: Arc<ClientConfig>,
}

impl HttpClientMiddleware {
    /// The middleware of a default [`HttpClientLayer`]: traces and metrics through the
    /// global providers.
    ///
    /// ```
    /// let middleware = otel_tower::reqwest::HttpClientMiddleware::new();
    /// # let _ = middleware;
    /// ```
    pub fn new() -> Self {
        HttpClientLayer::new().into()
    }
}

impl Default for HttpClientMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

/// The middleware recording what the layer would: every option of [`HttpClientLayer`]
/// applies.
///
/// ```
/// use otel_tower::{reqwest::HttpClientMiddleware, HttpClientLayer};
///
/// let middleware = HttpClientMiddleware::from(HttpClientLayer::new().metrics(false));
/// # let _ = middleware;
/// ```
impl From<HttpClientLayer> for HttpClientMiddleware {
    fn from(layer: HttpClientLayer) -> Self {
        Self { config: layer.config }
    }
}

impl fmt::Debug for HttpClientMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpClientMiddleware");
        self.config.shared.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let config = &self.config;
        if !config.shared.is_active() {
            // Telemetry off: no `Parts` to build, only the context to pass on, as
            // `ClientCall::prepare` would.
            inject_current(req.headers_mut());
            return next.run(req, extensions).await;
        }
        // A retry middleware above this one hands every attempt the same extensions,
        // so the counter it finds there from the second attempt on tells a resend.
        extensions.get_or_insert_default::<ResendCounter>();
        let body_size = match req.body() {
            Some(body) => http_body::Body::size_hint(body).exact(),
            None => Some(0),
        };
        let mut lent = LentParts::take(&mut req, extensions);
        let call = ClientCall::prepare(config, &mut lent.parts, body_size, Trailers::Unseen);
        lent.give_back(&mut req, extensions);
        let Some(call) = call else {
            return next.run(req, extensions).await;
        };
        // Owned before the request is sent, so a drop (a timeout above) ends it.
        let mut call = InFlight::new(call);
        let result = match call.context() {
            Some(cx) => next.run(req, extensions).with_context(cx.clone()).await,
            None => next.run(req, extensions).await,
        };
        match &result {
            Ok(response) => {
                call.on_head(
                    response.status(),
                    response.version(),
                    response.headers(),
                    response.content_length(),
                    false,
                );
            }
            Err(error) => {
                let (type_name, message) = describe(error, &config.shared.sensitive_query);
                call.on_error(type_name, message);
            }
        }
        call.finish();
        result
    }
}

/// `error.type` and the status message of a failed request: the error and its causes
/// (reqwest's own message says only which step failed; the cause says why, such as
/// "Connection refused"). reqwest quotes the request URL in its messages, so the URL is
/// redacted as in `url.full`.
fn describe(error: &Error, sensitive: &SensitiveQuery) -> (&'static str, String) {
    match error {
        Error::Reqwest(e) => {
            let message = with_causes(e);
            let message = match e.url().map(|url| (url.as_str(), sensitive.url(url.as_str()))) {
                Some((url, Cow::Owned(redacted))) => message.replace(url, &redacted),
                _ => message,
            };
            (error_type_name::<reqwest::Error>(), message)
        }
        Error::Middleware(e) => (error_type_name::<Error>(), e.to_string()),
    }
}

/// `error: cause: cause's cause…`, at most a few levels deep.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    for _ in 0..8 {
        let Some(cause) = source else { break };
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
