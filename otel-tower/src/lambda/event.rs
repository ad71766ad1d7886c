//! What the layer reads from an invocation's payload: its trigger, the trace context
//! its headers carry, and for HTTP events the request's method and route.

use http::header::{HeaderMap, USER_AGENT};
use opentelemetry::Context;

/// `faas.trigger`: what kind of event started the invocation.
///
/// ```
/// use otel_tower::lambda::Trigger;
///
/// assert_eq!(Trigger::PubSub.as_str(), "pubsub");
/// assert_eq!(Trigger::default(), Trigger::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Trigger {
    /// A data source operation: S3 object, DynamoDB stream record.
    Datasource,
    /// An HTTP request: API Gateway (REST or HTTP API), an Application Load Balancer, a
    /// function URL.
    Http,
    /// Messages: SQS, SNS, Kinesis, Kafka.
    PubSub,
    /// A schedule: EventBridge scheduled rules and EventBridge Scheduler.
    Timer,
    /// Anything else, including direct invocations (`aws lambda invoke`, the SDK).
    #[default]
    Other,
}

impl Trigger {
    /// The attribute value the conventions define.
    ///
    /// ```
    /// assert_eq!(otel_tower::lambda::Trigger::Http.as_str(), "http");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Datasource => "datasource",
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Timer => "timer",
            Self::Other => "other",
        }
    }
}

/// What one invocation's payload says about it: built by [`InvocationEvent`] for the
/// payload types it knows, or by your closure ([`LambdaLayer::describe`](super::LambdaLayer::describe))
/// for the others.
///
/// ```
/// use otel_tower::lambda::{EventInfo, Trigger};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
/// let info = EventInfo::new(Trigger::Http)
///     .with_headers(&headers)
///     .with_http_method("GET")
///     .with_http_route("/pets/{petId}");
/// assert_eq!(info.trigger(), Trigger::Http);
/// # let _ = info;
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventInfo {
    pub(crate) trigger: Trigger,
    pub(crate) parent: Option<Context>,
    pub(crate) http: HttpEvent,
}

/// The HTTP request an API Gateway, ALB or function URL event describes.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpEvent {
    pub(crate) method: Option<String>,
    pub(crate) route: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) scheme: Option<String>,
    pub(crate) user_agent: Option<String>,
}

impl EventInfo {
    /// An event of `trigger`, with no remote parent.
    ///
    /// ```
    /// let info = otel_tower::lambda::EventInfo::new(otel_tower::lambda::Trigger::Timer);
    /// # let _ = info;
    /// ```
    pub fn new(trigger: Trigger) -> Self {
        Self {
            trigger,
            ..Self::default()
        }
    }

    /// The trigger.
    ///
    /// ```
    /// use otel_tower::lambda::{EventInfo, Trigger};
    /// assert_eq!(EventInfo::new(Trigger::Datasource).trigger(), Trigger::Datasource);
    /// ```
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// Continues the trace context (and baggage) that the event's HTTP headers carry,
    /// through the global propagator ([`otel_core::propagation::extract`], so the same
    /// strict W3C rules as the HTTP layers). Also reads `User-Agent` and
    /// `X-Forwarded-Proto` (the client's scheme behind API Gateway and ALB), recorded for
    /// HTTP events.
    ///
    /// ```
    /// use otel_tower::lambda::{EventInfo, Trigger};
    ///
    /// let headers = http::HeaderMap::new();
    /// let info = EventInfo::new(Trigger::Http).with_headers(&headers);
    /// # let _ = info;
    /// ```
    pub fn with_headers(mut self, headers: &HeaderMap) -> Self {
        self.parent = Some(otel_core::propagation::extract(headers));
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.http.user_agent = text(USER_AGENT.as_str());
        self.http.scheme = text("x-forwarded-proto");
        self
    }

    /// Uses `parent` as the invocation span's parent (a context you extracted yourself,
    /// from message attributes say).
    ///
    /// ```
    /// let info = otel_tower::lambda::EventInfo::new(otel_tower::lambda::Trigger::PubSub)
    ///     .with_parent(otel_tower::opentelemetry::Context::new());
    /// # let _ = info;
    /// ```
    pub fn with_parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }

    /// `http.request.method` of an HTTP event (unknown methods are recorded as `_OTHER`).
    ///
    /// ```
    /// let info = otel_tower::lambda::EventInfo::new(otel_tower::lambda::Trigger::Http).with_http_method("POST");
    /// # let _ = info;
    /// ```
    pub fn with_http_method(mut self, method: impl Into<String>) -> Self {
        self.http.method = Some(method.into());
        self
    }

    /// `http.route`: the route template the API configures (`/pets/{petId}`), never the
    /// raw path. It also names the span, as the AWS Lambda conventions ask for HTTP
    /// events.
    ///
    /// ```
    /// let info = otel_tower::lambda::EventInfo::new(otel_tower::lambda::Trigger::Http)
    ///     .with_http_route("/pets/{petId}");
    /// # let _ = info;
    /// ```
    pub fn with_http_route(mut self, route: impl Into<String>) -> Self {
        self.http.route = Some(route.into());
        self
    }

    /// `url.path` of an HTTP event: the path the client requested.
    ///
    /// ```
    /// let info = otel_tower::lambda::EventInfo::new(otel_tower::lambda::Trigger::Http).with_url_path("/pets/10");
    /// # let _ = info;
    /// ```
    pub fn with_url_path(mut self, path: impl Into<String>) -> Self {
        self.http.path = Some(path.into());
        self
    }
}

/// A payload type that describes itself to [`LambdaLayer`](super::LambdaLayer).
///
/// Implemented for `serde_json::Value`, which recognises the AWS event shapes (API
/// Gateway REST and HTTP APIs, ALB, function URLs, SQS, SNS, Kinesis, Kafka, S3,
/// DynamoDB streams, scheduled EventBridge events), and for `String` and `()` (trigger
/// `other`). Implement it for your own payload types; for types of other crates (which
/// Rust's orphan rule keeps you from implementing it for) use
/// [`LambdaLayer::describe`](super::LambdaLayer::describe).
///
/// ```
/// use otel_tower::lambda::{EventInfo, InvocationEvent, Trigger};
///
/// struct Order {
///     headers: std::collections::HashMap<String, String>,
/// }
///
/// impl InvocationEvent for Order {
///     fn event_info(&self) -> EventInfo {
///         let headers = http::HeaderMap::try_from(&self.headers).unwrap_or_default();
///         EventInfo::new(Trigger::PubSub).with_headers(&headers)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not describe itself to the Lambda layer",
    note = "implement `otel_tower::lambda::InvocationEvent` for it, or, for a type of another crate, \
            describe it with `LambdaLayer::new().describe(|payload| EventInfo::new(..))`"
)]
pub trait InvocationEvent {
    /// The trigger, parent context and HTTP details of this event.
    fn event_info(&self) -> EventInfo;
}

impl InvocationEvent for String {
    fn event_info(&self) -> EventInfo {
        EventInfo::default()
    }
}

impl InvocationEvent for () {
    fn event_info(&self) -> EventInfo {
        EventInfo::default()
    }
}

/// How a [`LambdaLayer`](super::LambdaLayer) turns payloads of type `T` into an
/// [`EventInfo`]: [`FromPayload`] (the default) asks the payload's [`InvocationEvent`]
/// implementation, [`DescribeFn`] your closure.
#[diagnostic::on_unimplemented(
    message = "the Lambda layer cannot describe a `{T}` payload",
    note = "implement `otel_tower::lambda::InvocationEvent` for `{T}`, or describe it with \
            `LambdaLayer::new().describe(|payload: &{T}| EventInfo::new(..))`"
)]
pub trait Describe<T> {
    /// What `payload` says about the invocation.
    fn describe(&self, payload: &T) -> EventInfo;
}

/// The default [`Describe`]: the payload's own [`InvocationEvent`] implementation.
///
/// ```
/// use otel_tower::lambda::{Describe, FromPayload, Trigger};
///
/// let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"});
/// assert_eq!(FromPayload.describe(&event).trigger(), Trigger::Timer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FromPayload;

impl<T: InvocationEvent> Describe<T> for FromPayload {
    fn describe(&self, payload: &T) -> EventInfo {
        payload.event_info()
    }
}

/// A [`Describe`] made from a closure, by [`LambdaLayer::describe`](super::LambdaLayer::describe).
///
/// ```
/// use otel_tower::lambda::{Describe, DescribeFn, EventInfo, Trigger};
///
/// let describe = DescribeFn::new(|_: &u64| EventInfo::new(Trigger::Datasource));
/// assert_eq!(describe.describe(&7).trigger(), Trigger::Datasource);
/// ```
#[derive(Clone, Copy)]
pub struct DescribeFn<F>(F);

impl<F> DescribeFn<F> {
    /// Wraps `describe`.
    ///
    /// ```
    /// let describe = otel_tower::lambda::DescribeFn::new(|_: &String| otel_tower::lambda::EventInfo::default());
    /// # let _ = describe;
    /// ```
    pub fn new(describe: F) -> Self {
        Self(describe)
    }
}

impl<F> std::fmt::Debug for DescribeFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DescribeFn")
    }
}

impl<T, F> Describe<T> for DescribeFn<F>
where
    F: Fn(&T) -> EventInfo,
{
    fn describe(&self, payload: &T) -> EventInfo {
        (self.0)(payload)
    }
}
