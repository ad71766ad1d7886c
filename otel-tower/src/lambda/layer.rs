use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::global::{BoxedTracer, GlobalTracerProvider};
use tower::Layer;

use super::event::{DescribeFn, EventInfo, FromPayload};
use super::metrics::FaasInstruments;
use super::LambdaService;
use crate::instruments::{meter_from, tracer_from};
use crate::method::KnownMethods;

/// How long the flush may take at most, whatever time the invocation has left
/// ([`LambdaLayer::flush_timeout`] changes it).
///
/// ```
/// assert_eq!(otel_tower::lambda::DEFAULT_FLUSH_TIMEOUT, std::time::Duration::from_secs(2));
/// ```
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The time kept back from the invocation's deadline for returning the response
/// ([`LambdaLayer::flush_reserve`] changes it).
///
/// ```
/// assert_eq!(otel_tower::lambda::DEFAULT_FLUSH_RESERVE, std::time::Duration::from_millis(100));
/// ```
pub const DEFAULT_FLUSH_RESERVE: Duration = Duration::from_millis(100);

/// Everything a Lambda service needs, shared by all clones of the layer's services.
#[derive(Clone)]
pub(crate) struct LambdaConfig {
    /// Taken from `opentelemetry::global` at the first invocation, so a layer built
    /// before `otel_core::init()` still records into what it installs.
    tracer: Option<Arc<OnceLock<BoxedTracer>>>,
    instruments: Option<Arc<OnceLock<FaasInstruments>>>,
    pub(crate) known_methods: KnownMethods,
    pub(crate) flush: bool,
    pub(crate) flush_timeout: Duration,
    pub(crate) flush_reserve: Duration,
    /// `true` until the first invocation of any service of this layer: a process (an
    /// execution environment) serves one handler, so its first invocation is the cold
    /// one. An atomic, because `run_concurrent` serves invocations in parallel.
    pub(crate) cold: Arc<AtomicBool>,
    /// A failing flush is reported on stderr once, not on every invocation.
    pub(crate) flush_failure_reported: Arc<AtomicBool>,
}

impl LambdaConfig {
    /// The tracer, or `None` when traces are off for this layer.
    pub(crate) fn tracer(&self) -> Option<&BoxedTracer> {
        self.tracer
            .as_ref()
            .map(|cell| cell.get_or_init(|| tracer_from::<GlobalTracerProvider>(None)))
    }

    /// The instruments, or `None` when metrics are off for this layer.
    pub(crate) fn instruments(&self) -> Option<&FaasInstruments> {
        self.instruments
            .as_ref()
            .map(|cell| cell.get_or_init(|| FaasInstruments::new(&meter_from(None))))
    }
}

/// A Tower [`Layer`] for `lambda_runtime` handlers (`Service<LambdaEvent<T>>`): one SERVER
/// span per invocation following the FaaS conventions, the `faas.*` metrics, and
/// everything recorded flushed before the response goes back to Lambda. See the
/// [module documentation](super) for what is recorded.
///
/// ```no_run
/// use lambda_runtime::{service_fn, Error, LambdaEvent};
/// use otel_tower::lambda::LambdaLayer;
/// use serde_json::Value;
/// use tower::ServiceBuilder;
///
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     let _telemetry = otel_core::init()?;
///     let service = ServiceBuilder::new()
///         .layer(LambdaLayer::new())
///         .service(service_fn(handler));
///     lambda_runtime::run(service).await
/// }
/// ```
#[derive(Clone)]
pub struct LambdaLayer<D = FromPayload> {
    config: Arc<LambdaConfig>,
    describe: D,
}

impl Default for LambdaLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<D> fmt::Debug for LambdaLayer<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("LambdaLayer")
            .field("traces", &c.tracer.is_some())
            .field("metrics", &c.instruments.is_some())
            .field("flush", &c.flush)
            .field("flush_timeout", &c.flush_timeout)
            .field("flush_reserve", &c.flush_reserve)
            .finish_non_exhaustive()
    }
}

impl LambdaLayer {
    /// Traces and metrics through the global providers, payloads described by their
    /// [`InvocationEvent`](super::InvocationEvent) implementation, and a flush before
    /// every response.
    ///
    /// ```
    /// let layer = otel_tower::lambda::LambdaLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self {
            config: Arc::new(LambdaConfig {
                tracer: Some(Arc::default()),
                instruments: Some(Arc::default()),
                known_methods: KnownMethods::from_env(&|name| std::env::var(name).ok()),
                flush: true,
                flush_timeout: DEFAULT_FLUSH_TIMEOUT,
                flush_reserve: DEFAULT_FLUSH_RESERVE,
                cold: Arc::new(AtomicBool::new(true)),
                flush_failure_reported: Arc::new(AtomicBool::new(false)),
            }),
            describe: FromPayload,
        }
    }
}

impl<D> LambdaLayer<D> {
    /// Applies `set` to this layer's copy of the configuration (services already built
    /// keep theirs).
    fn with(mut self, set: impl FnOnce(&mut LambdaConfig)) -> Self {
        set(Arc::make_mut(&mut self.config));
        self
    }

    /// Describes each payload with `describe` instead of the payload type's
    /// [`InvocationEvent`](super::InvocationEvent) implementation: for payload types of
    /// other crates (`aws_lambda_events`), or to read a context your events carry
    /// elsewhere.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use otel_tower::lambda::{EventInfo, LambdaLayer, Trigger};
    ///
    /// // Messages whose payload is a map of their headers (a type of another crate).
    /// let layer = LambdaLayer::new().describe(|message: &HashMap<String, String>| {
    ///     let headers = http::HeaderMap::try_from(message).unwrap_or_default();
    ///     EventInfo::new(Trigger::PubSub).with_headers(&headers)
    /// });
    /// # let _ = layer;
    /// ```
    pub fn describe<T, F>(self, describe: F) -> LambdaLayer<DescribeFn<F>>
    where
        F: Fn(&T) -> EventInfo,
    {
        LambdaLayer {
            config: self.config,
            describe: DescribeFn::new(describe),
        }
    }

    /// Turns spans on (the default) or off for this layer.
    ///
    /// ```
    /// let metrics_only = otel_tower::lambda::LambdaLayer::new().traces(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn traces(self, enabled: bool) -> Self {
        self.with(|c| {
            if !enabled {
                c.tracer = None;
            } else if c.tracer.is_none() {
                c.tracer = Some(Arc::default());
            }
        })
    }

    /// Turns the `faas.invoke_duration`, `faas.coldstarts` and `faas.errors` metrics on
    /// (the default) or off for this layer.
    ///
    /// ```
    /// let traces_only = otel_tower::lambda::LambdaLayer::new().metrics(false);
    /// # let _ = traces_only;
    /// ```
    #[must_use]
    pub fn metrics(self, enabled: bool) -> Self {
        self.with(|c| {
            if !enabled {
                c.instruments = None;
            } else if c.instruments.is_none() {
                c.instruments = Some(Arc::default());
            }
        })
    }

    /// Flushes traces, logs and metrics before each response (the default), or not:
    /// turn it off only when something else exports before Lambda freezes the process.
    ///
    /// ```
    /// let layer = otel_tower::lambda::LambdaLayer::new().flush(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn flush(self, enabled: bool) -> Self {
        self.with(|c| c.flush = enabled)
    }

    /// The longest a flush may hold the response ([`DEFAULT_FLUSH_TIMEOUT`] by default).
    /// A flush also never runs past the invocation's deadline less the
    /// [`flush_reserve`](Self::flush_reserve). What does not make it in time is exported
    /// by a later flush.
    ///
    /// ```
    /// let layer = otel_tower::lambda::LambdaLayer::new().flush_timeout(std::time::Duration::from_secs(5));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn flush_timeout(self, timeout: Duration) -> Self {
        self.with(|c| c.flush_timeout = timeout)
    }

    /// The time kept back from the invocation's deadline for returning the response
    /// ([`DEFAULT_FLUSH_RESERVE`] by default): with less time left than this, the flush
    /// is skipped rather than make the invocation time out.
    ///
    /// ```
    /// let layer = otel_tower::lambda::LambdaLayer::new().flush_reserve(std::time::Duration::from_millis(250));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn flush_reserve(self, reserve: Duration) -> Self {
        self.with(|c| c.flush_reserve = reserve)
    }

    /// Records `http.request.method` as itself only for these methods (others become
    /// `_OTHER`), instead of the list from `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` or
    /// the conventions' default.
    ///
    /// ```
    /// let layer = otel_tower::lambda::LambdaLayer::new().known_methods(["GET", "POST"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn known_methods<N: AsRef<str>>(self, methods: impl IntoIterator<Item = N>) -> Self {
        let methods: Vec<N> = methods.into_iter().collect();
        self.with(|c| c.known_methods = KnownMethods::from_list(methods.iter().map(AsRef::as_ref)))
    }
}

impl<S, D: Clone> Layer<S> for LambdaLayer<D> {
    type Service = LambdaService<S, D>;

    fn layer(&self, inner: S) -> Self::Service {
        LambdaService::from_parts(inner, self.config.clone(), self.describe.clone())
    }
}
