//! `init()` and the [`TelemetryBuilder`]: read the environment, apply the builder's
//! overrides, build the providers and install them globally.

use std::sync::Arc;
use std::time::Duration;

use crate::propagation::{BaggagePropagator, Propagator, TraceContextPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, InstrumentationScope, KeyValue};
use opentelemetry_sdk::logs::{BatchLogProcessor, LogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::{
    self, BatchConfig, Compression, Config, ConfigWarning, ExporterKind, PropagatorKind, Protocol,
    SamplerConfig, SamplerSource,
};
use crate::export::batch::BatchProcessor;
use crate::export::stats::Stats;
use crate::guard::{Providers, TelemetryGuard};
use crate::runtime::Executor;
use crate::state::{self, Installed};
use crate::status::{self, StatusSource};
use crate::{Error, ErrorKind};

/// Sets up telemetry from the `OTEL_*` environment variables; see
/// [`Telemetry::builder`] to override them in code.
///
/// With no OTLP endpoint configured, traces and metrics are printed on stderr (a
/// waterfall per trace), so a new service shows something useful with zero setup.
///
/// ```no_run
/// let _telemetry = otel_core::init()?;
/// # Ok::<(), otel_core::Error>(())
/// ```
pub fn init() -> Result<TelemetryGuard, Error> {
    Telemetry::builder().init()
}

/// Entry point of the builder API.
#[derive(Debug, Clone, Copy)]
pub struct Telemetry;

impl Telemetry {
    /// A builder whose settings override the environment.
    ///
    /// ```
    /// let guard = otel_core::Telemetry::builder()
    ///     .service_name("checkout")
    ///     .deployment_environment("staging") // parent-based 50 % sampling
    ///     .traces_exporters([])
    ///     .metrics_exporters([])
    ///     .init()
    ///     .unwrap();
    /// assert!(guard.warnings().is_empty());
    /// ```
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
}

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
type AddLogProcessor = Box<dyn FnOnce(&mut LoggerParts)>;
type AddMetricReader = Box<
    dyn FnOnce(
        opentelemetry_sdk::metrics::MeterProviderBuilder,
    ) -> opentelemetry_sdk::metrics::MeterProviderBuilder,
>;

/// Configures telemetry; every setting overrides the matching `OTEL_*` variable.
#[must_use = "call .init() to install telemetry"]
#[derive(Default)]
pub struct TelemetryBuilder {
    lookup: Option<Lookup>,
    disabled: Option<bool>,
    service_name: Option<String>,
    service_version: Option<String>,
    deployment_environment: Option<String>,
    resource_attributes: Vec<KeyValue>,
    sampler: Option<SamplerConfig>,
    propagators: Option<Vec<PropagatorKind>>,
    traces_exporters: Option<Vec<ExporterKind>>,
    metrics_exporters: Option<Vec<ExporterKind>>,
    logs_exporters: Option<Vec<ExporterKind>>,
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<Protocol>,
    otlp_headers: Vec<(String, String)>,
    otlp_timeout: Option<Duration>,
    otlp_compression: Option<Compression>,
    span_batch: Option<BatchConfig>,
    metric_export_interval: Option<Duration>,
    span_processors: Vec<Box<dyn SpanProcessor>>,
    log_processors: Vec<AddLogProcessor>,
    metric_readers: Vec<AddMetricReader>,
    quiet: bool,
}

/// Collects log processors; a struct because `SdkLoggerProviderBuilder` is consumed by
/// value and the boxed closures need a place to put theirs.
pub(crate) struct LoggerParts {
    builder: Option<opentelemetry_sdk::logs::LoggerProviderBuilder>,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .field("disabled", &self.disabled)
            .field("sampler", &self.sampler)
            .field(
                "otlp_endpoint",
                &self.otlp_endpoint.as_deref().map(status::redact_url),
            )
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// Reads variables from `lookup` instead of the process environment (tests,
    /// configuration files, secrets managers).
    ///
    /// ```
    /// let guard = otel_core::Telemetry::builder()
    ///     .env(|name| (name == "OTEL_TRACES_SAMPLER").then(|| "bogus".to_string()))
    ///     .traces_exporters([]).metrics_exporters([]).quiet(true)
    ///     .init()
    ///     .unwrap();
    /// assert_eq!(guard.warnings()[0].variable, "OTEL_TRACES_SAMPLER");
    /// ```
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// Turns all telemetry off (like `OTEL_SDK_DISABLED=true`); propagation still works.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// `service.name` (overrides `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name`; `development`, `staging` or `production` also pick
    /// the default sampler (1.0, 0.5, 0.1 parent-based) unless one is set explicitly.
    pub fn deployment_environment(mut self, environment: impl Into<String>) -> Self {
        self.deployment_environment = Some(environment.into());
        self
    }

    /// Adds a resource attribute (after those of `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.resource_attributes.push(attribute);
        self
    }

    /// The sampler (overrides `OTEL_TRACES_SAMPLER` and the deployment profile).
    pub fn sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Shorthand for a parent-based trace-id-ratio sampler; `ratio` must be in 0..=1.
    pub fn sampler_ratio(self, ratio: f64) -> Self {
        self.sampler(SamplerConfig::ParentBasedTraceIdRatio(ratio))
    }

    /// Propagators (overrides `OTEL_PROPAGATORS`); empty for none.
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = PropagatorKind>) -> Self {
        self.propagators = Some(propagators.into_iter().collect());
        self
    }

    /// Span exporters (overrides `OTEL_TRACES_EXPORTER`); empty for none.
    pub fn traces_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.traces_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Metric exporters (overrides `OTEL_METRICS_EXPORTER`); empty for none.
    pub fn metrics_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.metrics_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Log exporters (overrides `OTEL_LOGS_EXPORTER`); empty for none.
    pub fn logs_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.logs_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// The OTLP endpoint for all signals, like `OTEL_EXPORTER_OTLP_ENDPOINT` (for HTTP,
    /// `/v1/{signal}` is appended). Setting it makes OTLP the default exporter.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport for all signals.
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.otlp_protocol = Some(protocol);
        self
    }

    /// Adds an OTLP header for all signals (for example an API key).
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((name.into(), value.into()));
        self
    }

    /// The per-export OTLP timeout for all signals.
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp_timeout = Some(timeout);
        self
    }

    /// OTLP compression for all signals.
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp_compression = Some(compression);
        self
    }

    /// Span batching limits (overrides `OTEL_BSP_*`).
    pub fn span_batch(mut self, batch: BatchConfig) -> Self {
        self.span_batch = Some(batch);
        self
    }

    /// Interval of periodic metric export (overrides `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_export_interval = Some(interval);
        self
    }

    /// Adds a span processor of your own (for example a `SimpleSpanProcessor` around an
    /// [`InMemorySpanExporter`](crate::export::memory::InMemorySpanExporter)).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.span_processors.push(Box::new(processor));
        self
    }

    /// Adds a log processor of your own.
    pub fn with_log_processor(mut self, processor: impl LogProcessor + 'static) -> Self {
        self.log_processors.push(Box::new(move |parts: &mut LoggerParts| {
            parts.builder = parts.builder.take().map(|b| b.with_log_processor(processor));
        }));
        self
    }

    /// Adds a metric reader of your own (for example a `ManualReader` in tests).
    pub fn with_metric_reader(
        mut self,
        reader: impl opentelemetry_sdk::metrics::reader::MetricReader,
    ) -> Self {
        self.metric_readers.push(Box::new(move |b| b.with_reader(reader)));
        self
    }

    /// Does not print configuration warnings on stderr (they stay in
    /// [`TelemetryGuard::warnings`]).
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Resolves the configuration (environment, then builder) without installing
    /// anything: what [`init`](Self::init) would use.
    ///
    /// ```
    /// let (config, _) = otel_core::Telemetry::builder()
    ///     .env(|_| None)
    ///     .deployment_environment("production")
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(config.sampler, otel_core::config::SamplerConfig::ParentBasedTraceIdRatio(0.1));
    /// ```
    pub fn resolve(&self) -> Result<(Config, Vec<ConfigWarning>), Error> {
        let (mut config, warnings) = match &self.lookup {
            Some(lookup) => Config::from_lookup(|k| lookup(k)),
            None => Config::from_env(),
        };
        self.apply(&mut config)?;
        Ok((config, warnings))
    }

    fn apply(&self, c: &mut Config) -> Result<(), Error> {
        if let Some(disabled) = self.disabled {
            c.disabled = disabled;
        }
        if let Some(name) = &self.service_name {
            if name.trim().is_empty() {
                return Err(Error::config(
                    "service_name is empty: give the service a name, e.g. \"checkout\"",
                ));
            }
            c.service_name = name.clone();
        }
        let mut set_attr = |key: &str, value: String| {
            c.resource_attributes.retain(|(k, _)| k != key);
            c.resource_attributes.push((key.to_owned(), value));
        };
        if let Some(version) = &self.service_version {
            set_attr("service.version", version.clone());
        }
        if let Some(env) = &self.deployment_environment {
            set_attr(config::env::DEPLOYMENT_ENVIRONMENT, env.clone());
        }
        for kv in &self.resource_attributes {
            if kv.key.as_str() == "service.name" {
                c.service_name = kv.value.to_string();
            } else {
                set_attr(kv.key.as_str(), kv.value.to_string());
            }
        }
        if let Some(sampler) = self.sampler {
            let ratio = match sampler {
                SamplerConfig::TraceIdRatio(r) | SamplerConfig::ParentBasedTraceIdRatio(r) => Some(r),
                _ => None,
            };
            if let Some(r) = ratio {
                if !(0.0..=1.0).contains(&r) {
                    return Err(Error::config(format!(
                        "sampler ratio {r} is out of range: use a probability between 0.0 and 1.0 (0.1 samples 10 % of traces)"
                    )));
                }
            }
            c.sampler = sampler;
            c.sampler_source = SamplerSource::Builder;
        }
        config::env::apply_profile(c);
        if let Some(p) = &self.propagators {
            c.propagators = p.clone();
        }
        if let Some(e) = &self.traces_exporters {
            if e.contains(&ExporterKind::Prometheus) {
                return Err(Error::config(
                    "the prometheus exporter is for metrics only: use it in metrics_exporters",
                ));
            }
            c.traces_exporters = e.clone();
        }
        if let Some(e) = &self.metrics_exporters {
            c.metrics_exporters = e.clone();
        }
        if let Some(e) = &self.logs_exporters {
            if e.contains(&ExporterKind::Prometheus) {
                return Err(Error::config(
                    "the prometheus exporter is for metrics only: use it in metrics_exporters",
                ));
            }
            c.logs_exporters = e.clone();
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            config::env::validate_endpoint(endpoint).map_err(|reason| {
                Error::config(format!(
                    "otlp_endpoint {:?}: {reason}; expected e.g. http://localhost:4318",
                    status::redact_url(endpoint)
                ))
            })?;
            // An endpoint given in code means "send there": OTLP becomes the default
            // unless exporters were chosen explicitly.
            if self.traces_exporters.is_none() && c.traces_exporters == [ExporterKind::Console] {
                c.traces_exporters = vec![ExporterKind::Otlp];
            }
            if self.metrics_exporters.is_none() && c.metrics_exporters == [ExporterKind::Console] {
                c.metrics_exporters = vec![ExporterKind::Otlp];
            }
            if self.logs_exporters.is_none() && c.logs_exporters.is_empty() {
                c.logs_exporters = vec![ExporterKind::Otlp];
            }
        }
        let validated_headers = config::env::validate_headers(self.otlp_headers.clone())
            .map_err(|reason| Error::config(format!("otlp_header: {reason}")))?;
        for (otlp, path) in [
            (&mut c.otlp_traces, "/v1/traces"),
            (&mut c.otlp_metrics, "/v1/metrics"),
            (&mut c.otlp_logs, "/v1/logs"),
        ] {
            if let Some(protocol) = self.otlp_protocol {
                if protocol != otlp.protocol && !otlp.endpoint_configured {
                    let base = match protocol {
                        Protocol::Grpc => "http://localhost:4317",
                        Protocol::HttpProtobuf => "http://localhost:4318",
                    };
                    otlp.endpoint = config::env::signal_endpoint(base, protocol, path);
                }
                otlp.protocol = protocol;
            }
            if let Some(endpoint) = &self.otlp_endpoint {
                otlp.endpoint = config::env::signal_endpoint(endpoint, otlp.protocol, path);
                otlp.endpoint_configured = true;
            }
            for (name, value) in &validated_headers {
                otlp.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                otlp.headers.push((name.clone(), value.clone()));
            }
            if let Some(timeout) = self.otlp_timeout {
                if timeout.is_zero() {
                    return Err(Error::config(
                        "otlp_timeout is zero: give exports time to finish, e.g. 10 s",
                    ));
                }
                otlp.timeout = timeout;
            }
            if let Some(compression) = self.otlp_compression {
                otlp.compression = compression;
            }
        }
        if let Some(batch) = self.span_batch {
            if batch.max_queue_size == 0 || batch.max_export_batch_size == 0 {
                return Err(Error::config(format!(
                    "span_batch sizes must be at least 1 (defaults: queue {}, batch {})",
                    BatchConfig::SPANS.max_queue_size,
                    BatchConfig::SPANS.max_export_batch_size
                )));
            }
            if batch.max_export_batch_size > batch.max_queue_size {
                return Err(Error::config(format!(
                    "span_batch: max_export_batch_size {} exceeds max_queue_size {}; make the batch at most the queue",
                    batch.max_export_batch_size, batch.max_queue_size
                )));
            }
            c.span_batch = batch;
        }
        if let Some(interval) = self.metric_export_interval {
            if interval.is_zero() {
                return Err(Error::config("metric_export_interval is zero: use e.g. 60 s"));
            }
            c.metric_export_interval = interval;
        }
        Ok(())
    }

    /// Builds and installs the providers and the propagator globally.
    ///
    /// Fails only on invalid builder input or an exporter that cannot be built; invalid
    /// environment values become warnings (printed on stderr, kept in the guard).
    pub fn init(self) -> Result<TelemetryGuard, Error> {
        let (config, warnings) = self.resolve()?;
        if !self.quiet {
            for w in &warnings {
                eprintln!("otel-core: warning: {w}");
            }
        }
        install_propagator(&config.propagators);

        if config.disabled {
            state::set_disabled();
            status::publish(StatusSource {
                config,
                stats: Arc::new(Stats::default()),
                warnings: warnings.iter().map(ToString::to_string).collect(),
                generation: None,
            });
            return Ok(TelemetryGuard {
                providers: None,
                warnings,
                generation: None,
                shutdown_timeout: Duration::ZERO,
                stats: None,
            });
        }

        let stats = Arc::new(Stats::default());
        let mut pipeline_warnings = Vec::new();
        let built = build(&config, self, &stats, &mut pipeline_warnings)?;
        let generation = state::next_generation();
        let scope = InstrumentationScope::builder(crate::span::SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        state::install(Installed {
            tracer: built.providers.tracer.tracer_with_scope(scope),
            tracer_provider: built.providers.tracer.clone(),
            meter_provider: built.providers.meter.clone(),
            logger_provider: built.providers.logger.clone(),
            parent_based: matches!(
                config.sampler,
                SamplerConfig::ParentBasedAlwaysOn
                    | SamplerConfig::ParentBasedAlwaysOff
                    | SamplerConfig::ParentBasedTraceIdRatio(_)
            ),
            generation,
        });
        global::set_tracer_provider(built.providers.tracer.clone());
        global::set_meter_provider(built.providers.meter.clone());

        let mut all_warnings = warnings;
        all_warnings.extend(pipeline_warnings);
        status::publish(StatusSource {
            config,
            stats: stats.clone(),
            warnings: all_warnings.iter().map(ToString::to_string).collect(),
            generation: Some(generation),
        });
        Ok(TelemetryGuard {
            providers: Some(built.providers),
            warnings: all_warnings,
            generation: Some(generation),
            shutdown_timeout: built.shutdown_timeout,
            stats: Some(stats),
        })
    }
}

fn install_propagator(kinds: &[PropagatorKind]) {
    let propagator = kinds.iter().fold(Propagator::none(), |p, kind| match kind {
        PropagatorKind::TraceContext => p.with_propagator(TraceContextPropagator::new()),
        PropagatorKind::Baggage => p.with_propagator(BaggagePropagator::new()),
        #[cfg(feature = "b3")]
        PropagatorKind::B3 => p.with_b3(),
        #[cfg(feature = "b3")]
        PropagatorKind::B3Multi => p.with_b3_multi(),
    });
    global::set_text_map_propagator(propagator);
}

fn sampler(config: &SamplerConfig) -> Sampler {
    match *config {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerConfig::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

fn resource(config: &Config) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build()
}

struct Built {
    providers: Providers,
    shutdown_timeout: Duration,
}

/// Console output should appear promptly while developing, not every 5 s.
const CONSOLE_DELAY: Duration = Duration::from_millis(500);

fn build(
    config: &Config,
    builder: TelemetryBuilder,
    stats: &Arc<Stats>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Built, Error> {
    let resource = resource(config);
    let uses_otlp = [
        &config.traces_exporters,
        &config.metrics_exporters,
        &config.logs_exporters,
    ]
    .iter()
    .any(|e| e.contains(&ExporterKind::Otlp));

    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    let runtime = if uses_otlp {
        Some(crate::runtime::ExportRuntime::new()?)
    } else {
        None
    };
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    if uses_otlp {
        return Err(Error::new(
            ErrorKind::Exporter,
            "OTLP export needs the `otlp-grpc` or `otlp-http` feature of otel-core",
        ));
    }

    #[cfg_attr(not(any(feature = "otlp-grpc", feature = "otlp-http")), allow(unused_mut))]
    let mut shutdown_timeout = Duration::from_secs(1);

    // Traces.
    let mut tracer = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sampler(&config.sampler));
    for kind in &config.traces_exporters {
        let processor = match kind {
            ExporterKind::Otlp => {
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                {
                    let rt = runtime
                        .as_ref()
                        .ok_or_else(|| Error::new(ErrorKind::Exporter, "export runtime missing"))?;
                    let exporter = crate::export::otlp::span_exporter(&config.otlp_traces, rt)?;
                    let mut batch = config.span_batch;
                    // Never wait on a dead collector longer than the OTLP timeout says.
                    batch.export_timeout = batch.export_timeout.min(config.otlp_traces.timeout);
                    shutdown_timeout =
                        shutdown_timeout.max(batch.export_timeout + Duration::from_millis(500));
                    BatchProcessor::new(
                        exporter,
                        batch,
                        Executor::Tokio(rt.handle().clone()),
                        stats.spans.clone(),
                    )
                }
                #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
                unreachable!("checked above")
            }
            ExporterKind::Console => {
                let mut batch = config.span_batch;
                batch.scheduled_delay = batch.scheduled_delay.min(CONSOLE_DELAY);
                BatchProcessor::new(
                    console_span_exporter(),
                    batch,
                    Executor::Inline,
                    stats.spans.clone(),
                )
            }
            ExporterKind::Prometheus => {
                return Err(Error::config("the prometheus exporter is for metrics only"));
            }
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Exporter,
                format!("cannot start the span export thread: {e}"),
            )
        })?;
        tracer = tracer.with_span_processor(processor);
    }
    for processor in builder.span_processors {
        tracer = tracer.with_span_processor(BoxedProcessor(processor));
    }
    let tracer = tracer.build();

    // Metrics.
    let mut meter = SdkMeterProvider::builder().with_resource(resource.clone());
    let mut prometheus_server = None;
    for kind in &config.metrics_exporters {
        match kind {
            ExporterKind::Otlp => {
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                {
                    let rt = runtime
                        .as_ref()
                        .ok_or_else(|| Error::new(ErrorKind::Exporter, "export runtime missing"))?;
                    let exporter = crate::export::otlp::metric_exporter(&config.otlp_metrics, rt)?;
                    let timeout = config.metric_export_timeout.min(config.otlp_metrics.timeout);
                    shutdown_timeout = shutdown_timeout.max(timeout + Duration::from_millis(500));
                    let counted = crate::export::stats::Counted {
                        inner: exporter,
                        executor: Executor::Tokio(rt.handle().clone()),
                        timeout,
                        stats: stats.metrics.clone(),
                    };
                    meter = meter.with_reader(
                        PeriodicReader::builder(counted)
                            .with_interval(config.metric_export_interval)
                            .build(),
                    );
                }
            }
            ExporterKind::Console => {
                let counted = crate::export::stats::Counted {
                    inner: crate::export::console::ConsoleMetricExporter::builder().build(),
                    executor: Executor::Inline,
                    timeout: config.metric_export_timeout,
                    stats: stats.metrics.clone(),
                };
                meter = meter.with_reader(
                    PeriodicReader::builder(counted)
                        .with_interval(config.metric_export_interval)
                        .build(),
                );
            }
            ExporterKind::Prometheus => {
                let exporter = crate::export::prometheus::PrometheusExporter::new();
                meter = meter.with_reader(exporter.reader());
                let (host, port) = &config.prometheus_address;
                match resolve_listen_address(host, *port) {
                    Some(addr) => match exporter.serve(addr) {
                        Ok(server) => prometheus_server = Some(server),
                        Err(e) => warnings.push(ConfigWarning {
                            variable: "OTEL_EXPORTER_PROMETHEUS_PORT".into(),
                            value: format!("{host}:{port}"),
                            fallback: "no standalone listener (mount PrometheusExporter::response yourself)"
                                .into(),
                            reason: e.to_string(),
                        }),
                    },
                    None => warnings.push(ConfigWarning {
                        variable: "OTEL_EXPORTER_PROMETHEUS_HOST".into(),
                        value: host.clone(),
                        fallback: "no standalone listener".into(),
                        reason: "the host does not resolve to an address".into(),
                    }),
                }
                crate::export::prometheus::set_current(Some(exporter));
            }
        }
    }
    for add in builder.metric_readers {
        meter = add(meter);
    }
    let meter = meter.build();
    crate::export::batch::metrics::register(&meter, &stats.spans);

    // Logs.
    let mut parts = LoggerParts {
        builder: Some(SdkLoggerProvider::builder().with_resource(resource)),
    };
    for kind in &config.logs_exporters {
        let processor = match kind {
            ExporterKind::Otlp => {
                #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
                {
                    let rt = runtime
                        .as_ref()
                        .ok_or_else(|| Error::new(ErrorKind::Exporter, "export runtime missing"))?;
                    let exporter = crate::export::otlp::log_exporter(&config.otlp_logs, rt)?;
                    let timeout = config.log_batch.export_timeout.min(config.otlp_logs.timeout);
                    shutdown_timeout = shutdown_timeout.max(timeout + Duration::from_millis(500));
                    let counted = crate::export::stats::Counted {
                        inner: exporter,
                        executor: Executor::Tokio(rt.handle().clone()),
                        timeout,
                        stats: stats.logs.clone(),
                    };
                    BatchLogProcessor::builder(counted)
                        .with_batch_config(log_batch_config(&config.log_batch))
                        .build()
                }
                #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
                unreachable!("checked above")
            }
            ExporterKind::Console => {
                let mut batch = config.log_batch;
                batch.scheduled_delay = batch.scheduled_delay.min(CONSOLE_DELAY);
                let counted = crate::export::stats::Counted {
                    inner: crate::export::console::ConsoleLogExporter::builder().build(),
                    executor: Executor::Inline,
                    timeout: batch.export_timeout,
                    stats: stats.logs.clone(),
                };
                BatchLogProcessor::builder(counted)
                    .with_batch_config(log_batch_config(&batch))
                    .build()
            }
            ExporterKind::Prometheus => {
                return Err(Error::config("the prometheus exporter is for metrics only"))
            }
        };
        parts.builder = parts.builder.take().map(|b| b.with_log_processor(processor));
    }
    for add in builder.log_processors {
        add(&mut parts);
    }
    let logger = parts
        .builder
        .map(|b| b.build())
        .ok_or_else(|| Error::new(ErrorKind::Exporter, "logger provider builder lost"))?;

    Ok(Built {
        providers: Providers {
            tracer,
            meter,
            logger,
            prometheus_server,
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            runtime,
        },
        shutdown_timeout,
    })
}

fn log_batch_config(batch: &BatchConfig) -> opentelemetry_sdk::logs::BatchConfig {
    opentelemetry_sdk::logs::BatchConfigBuilder::default()
        .with_max_queue_size(batch.max_queue_size)
        .with_scheduled_delay(batch.scheduled_delay)
        .with_max_export_batch_size(batch.max_export_batch_size)
        .build()
}

fn resolve_listen_address(host: &str, port: u16) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    (host, port).to_socket_addrs().ok()?.next()
}

fn console_span_exporter() -> crate::export::console::ConsoleSpanExporter {
    crate::export::console::ConsoleSpanExporter::builder().build()
}

/// Lets boxed user processors join the provider (whose builder wants a concrete type).
#[derive(Debug)]
struct BoxedProcessor(Box<dyn SpanProcessor>);

impl SpanProcessor for BoxedProcessor {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.0.on_end(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
