//! `init()` and the [`TelemetryBuilder`]: collect settings, resolve them against the
//! environment (`crate::config`), then hand the result to `crate::pipeline`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::logs::LogProcessor;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::trace::SpanProcessor;

use crate::config::merge::{Defaults, Overrides};
use crate::config::{
    BatchConfig, Compression, Config, ConfigWarning, ExporterKind, HistogramAggregation, MetricsExporterKind,
    PropagatorKind, Protocol, SamplerConfig, SpanLimits, TailSamplingConfig, TemporalityPreference,
};
use crate::guard::TelemetryGuard;
use crate::pipeline::{self, Extras};
use crate::status::redact_url;
use crate::Error;

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

/// Configures telemetry. Settings override the matching `OTEL_*` variable; `default_*`
/// settings yield to it.
#[must_use = "call .init() to install telemetry"]
#[derive(Default)]
pub struct TelemetryBuilder {
    lookup: Option<Lookup>,
    defaults: Defaults,
    overrides: Overrides,
    extras: Extras,
    quiet: bool,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.overrides.service_name)
            .field("default_service_name", &self.defaults.service_name)
            .field("disabled", &self.overrides.disabled)
            .field("sampler", &self.overrides.sampler)
            .field(
                "otlp_endpoint",
                &self.overrides.otlp_endpoint.as_deref().map(redact_url),
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
        self.overrides.disabled = Some(disabled);
        self
    }

    /// `service.name` (overrides `OTEL_SERVICE_NAME`). To name the service only when
    /// the environment does not, use [`default_service_name`](Self::default_service_name).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.overrides.service_name = Some(name.into());
        self
    }

    /// `service.name` unless the environment sets one (`OTEL_SERVICE_NAME`, or
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`): the name a program ships with,
    /// which operators can still change, in place of `unknown_service:<executable>`.
    ///
    /// ```
    /// let builder = || otel_core::Telemetry::builder().default_service_name("checkout");
    /// let (config, _) = builder().env(|_| None).resolve()?;
    /// assert_eq!(config.service_name, "checkout");
    ///
    /// let (config, _) = builder()
    ///     .env(|name| (name == "OTEL_SERVICE_NAME").then(|| "checkout-canary".to_string()))
    ///     .resolve()?;
    /// assert_eq!(config.service_name, "checkout-canary");
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn default_service_name(mut self, name: impl Into<String>) -> Self {
        self.defaults.service_name = Some(name.into());
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.overrides.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name`; `development`, `staging` or `production` also pick
    /// the default sampler (1.0, 0.5, 0.1 parent-based) unless one is set explicitly.
    pub fn deployment_environment(mut self, environment: impl Into<String>) -> Self {
        self.overrides.deployment_environment = Some(environment.into());
        self
    }

    /// Adds a resource attribute (after those of `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.overrides.resource_attributes.push(attribute);
        self
    }

    /// The sampler (overrides `OTEL_TRACES_SAMPLER` and the deployment profile).
    pub fn sampler(mut self, sampler: SamplerConfig) -> Self {
        self.overrides.sampler = Some(sampler);
        self
    }

    /// Shorthand for a parent-based trace-id-ratio sampler; `ratio` must be in 0..=1.
    pub fn sampler_ratio(self, ratio: f64) -> Self {
        self.sampler(SamplerConfig::ParentBasedTraceIdRatio(ratio))
    }

    /// Propagators (overrides `OTEL_PROPAGATORS`); empty for none.
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = PropagatorKind>) -> Self {
        self.overrides.propagators = Some(propagators.into_iter().collect());
        self
    }

    /// Span exporters (overrides `OTEL_TRACES_EXPORTER`); empty for none.
    pub fn traces_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.overrides.traces_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Metric exporters (overrides `OTEL_METRICS_EXPORTER`); empty for none.
    ///
    /// ```
    /// use otel_core::config::MetricsExporterKind;
    ///
    /// let (config, _) = otel_core::Telemetry::builder()
    ///     .metrics_exporters([MetricsExporterKind::Prometheus])
    ///     .resolve()?;
    /// assert_eq!(config.metrics_exporters, [MetricsExporterKind::Prometheus]);
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn metrics_exporters(mut self, exporters: impl IntoIterator<Item = MetricsExporterKind>) -> Self {
        self.overrides.metrics_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Log exporters (overrides `OTEL_LOGS_EXPORTER`); empty for none.
    pub fn logs_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.overrides.logs_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// The OTLP endpoint for all signals, like `OTEL_EXPORTER_OTLP_ENDPOINT` (for HTTP,
    /// `/v1/{signal}` is appended). Setting it makes OTLP the default exporter.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.overrides.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport for all signals.
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.overrides.otlp_protocol = Some(protocol);
        self
    }

    /// Adds an OTLP header for all signals (for example an API key).
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.otlp_headers.push((name.into(), value.into()));
        self
    }

    /// The per-export OTLP timeout for all signals.
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.overrides.otlp_timeout = Some(timeout);
        self
    }

    /// OTLP compression for all signals.
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.overrides.otlp_compression = Some(compression);
        self
    }

    /// A PEM file of the certificate authorities that may sign the collector's
    /// certificate, for all signals (overrides `OTEL_EXPORTER_OTLP_CERTIFICATE`); they
    /// replace the platform's and webpki's roots. The file is checked now: a missing or
    /// non-PEM file is an error.
    ///
    /// ```no_run
    /// let _telemetry = otel_core::Telemetry::builder()
    ///     .otlp_endpoint("https://collector.internal:4318")
    ///     .otlp_certificate("/etc/otel/ca.pem")
    ///     .init()?;
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn otlp_certificate(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.overrides.otlp_certificate = Some(ca_pem.into());
        self
    }

    /// The client certificate chain and its private key (PEM files) presented for
    /// mutual TLS, for all signals (overrides `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`
    /// and `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    ///
    /// ```no_run
    /// let _telemetry = otel_core::Telemetry::builder()
    ///     .otlp_endpoint("https://collector.internal:4317")
    ///     .otlp_protocol(otel_core::config::Protocol::Grpc)
    ///     .otlp_certificate("/etc/otel/ca.pem")
    ///     .otlp_client_certificate("/etc/otel/client.pem", "/etc/otel/client.key")
    ///     .init()?;
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn otlp_client_certificate(
        mut self,
        cert_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
    ) -> Self {
        self.overrides.otlp_client_identity = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Whether a gRPC endpoint given without a scheme (`collector:4317`) is reached
    /// over plain HTTP/2 instead of TLS (overrides `OTEL_EXPORTER_OTLP_INSECURE`). An
    /// `http://` or `https://` endpoint always follows its scheme.
    ///
    /// ```
    /// use otel_core::config::Protocol;
    ///
    /// let (config, _) = otel_core::Telemetry::builder()
    ///     .env(|_| None)
    ///     .otlp_protocol(Protocol::Grpc)
    ///     .otlp_endpoint("collector:4317")
    ///     .otlp_insecure(true)
    ///     .resolve()?;
    /// assert_eq!(config.otlp_traces.endpoint, "http://collector:4317");
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn otlp_insecure(mut self, insecure: bool) -> Self {
        self.overrides.otlp_insecure = Some(insecure);
        self
    }

    /// Temporality of the OTLP metric exporter (overrides
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`): `Delta` for backends that
    /// want deltas (Datadog, New Relic), `Cumulative` (the default) for
    /// Prometheus-style stores.
    ///
    /// ```
    /// use otel_core::config::TemporalityPreference;
    ///
    /// let (config, _) = otel_core::Telemetry::builder()
    ///     .metrics_temporality(TemporalityPreference::Delta)
    ///     .resolve()?;
    /// assert_eq!(config.metrics_temporality, TemporalityPreference::Delta);
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn metrics_temporality(mut self, temporality: TemporalityPreference) -> Self {
        self.overrides.metrics_temporality = Some(temporality);
        self
    }

    /// How histograms are aggregated when exported over OTLP (overrides
    /// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`).
    ///
    /// ```
    /// use otel_core::config::HistogramAggregation;
    ///
    /// let (config, _) = otel_core::Telemetry::builder()
    ///     .metrics_histogram_aggregation(HistogramAggregation::Base2Exponential)
    ///     .resolve()?;
    /// assert_eq!(config.metrics_histogram_aggregation, HistogramAggregation::Base2Exponential);
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn metrics_histogram_aggregation(mut self, aggregation: HistogramAggregation) -> Self {
        self.overrides.metrics_histogram_aggregation = Some(aggregation);
        self
    }

    /// Span limits (overrides `OTEL_SPAN_*_LIMIT` and `OTEL_ATTRIBUTE_*_LIMIT`).
    ///
    /// ```
    /// use otel_core::config::SpanLimits;
    ///
    /// let limits = SpanLimits { attribute_value_length: Some(1024), ..SpanLimits::default() };
    /// let (config, _) = otel_core::Telemetry::builder().span_limits(limits).resolve()?;
    /// assert_eq!(config.span_limits.attribute_value_length, Some(1024));
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn span_limits(mut self, limits: SpanLimits) -> Self {
        self.overrides.span_limits = Some(limits);
        self
    }

    /// Span batching limits (overrides `OTEL_BSP_*`).
    pub fn span_batch(mut self, batch: BatchConfig) -> Self {
        self.overrides.span_batch = Some(batch);
        self
    }

    /// Interval of periodic metric export (overrides `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.overrides.metric_export_interval = Some(interval);
        self
    }

    /// Adds a span processor of your own, after the configured exporters' (for example
    /// the processor of a `testing::SpanRecorder`, with the `testing` feature).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.extras.tracer.push(Box::new(processor));
        self
    }

    /// In-process tail sampling (overrides `OTEL_TOOLKIT_TAIL_SAMPLING*`): traces with an
    /// error or a slow local root are exported whatever the head sampler decided. See
    /// [`TailSamplingConfig`] and the README's *Tail sampling* section.
    ///
    /// ```
    /// use otel_core::config::TailSamplingConfig;
    ///
    /// let guard = otel_core::Telemetry::builder()
    ///     .sampler_ratio(0.1)
    ///     .tail_sampling(TailSamplingConfig::ENABLED)
    ///     .traces_exporters([]).metrics_exporters([])
    ///     .init()?;
    /// assert!(otel_core::telemetry_status().tail_sampling.is_some());
    /// # drop(guard);
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn tail_sampling(mut self, config: TailSamplingConfig) -> Self {
        self.overrides.tail_sampling = Some(config);
        self
    }

    /// Adds a log processor of your own, after the configured exporters'.
    pub fn with_log_processor(mut self, processor: impl LogProcessor + 'static) -> Self {
        self.extras
            .logger
            .push(Box::new(move |b| b.with_log_processor(processor)));
        self
    }

    /// Adds a metric reader of your own (for example a `ManualReader` in tests).
    pub fn with_metric_reader(mut self, reader: impl MetricReader) -> Self {
        self.extras.meter.push(Box::new(move |b| b.with_reader(reader)));
        self
    }

    /// Does not print configuration warnings on stderr (they stay in
    /// [`TelemetryGuard::warnings`]), nor the first TLS failure of each exporter (it
    /// stays in [`crate::telemetry_status()`] and in flush and shutdown errors).
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
        self.defaults.validate()?;
        let (mut config, warnings) = match &self.lookup {
            Some(lookup) => crate::config::env::resolve(&|k| lookup(k), &self.defaults),
            None => crate::config::env::resolve(&|k| std::env::var(k).ok(), &self.defaults),
        };
        self.overrides.apply(&mut config)?;
        Ok((config, warnings))
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
        let mut extras = self.extras;
        extras.quiet = self.quiet;
        pipeline::install(config, warnings, extras)
    }
}
