//! From a resolved [`Config`] to installed providers: one file per signal (`traces.rs`,
//! `metrics.rs`, `logs.rs`), the propagator in `propagator.rs`, and [`install`] that
//! runs them in order and publishes the result (the process state read by the hot
//! paths, the `opentelemetry::global` providers, the status, the guard).
//!
//! The configuration's types already say what each signal may use (Prometheus only for
//! metrics), so a signal builder only matches on its own exporter kinds. OTLP without an
//! OTLP feature compiled in is the one request that fails here, as an error naming the
//! feature.

mod logs;
mod metrics;
mod propagator;
mod traces;
mod value_length;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, InstrumentationScope, KeyValue};
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;

use crate::config::{Config, ConfigWarning};
use crate::export::stats::Stats;
use crate::guard::{Providers, TelemetryGuard};
use crate::resource::LambdaResourceDetector;
use crate::state::{self, Installed};
use crate::status::{self, StatusSource};
use crate::Error;

/// A change the user makes to one provider's builder (a processor or reader of their
/// own), applied after the configured exporters.
pub(crate) type Customize<B> = Box<dyn FnOnce(B) -> B + Send>;

/// What the builder adds beyond the configuration.
#[derive(Default)]
pub(crate) struct Extras {
    /// The user's span processors, after the configured exporters' (behind tail
    /// sampling when it is on).
    pub(crate) tracer: Vec<Box<dyn opentelemetry_sdk::trace::SpanProcessor>>,
    pub(crate) meter: Vec<Customize<opentelemetry_sdk::metrics::MeterProviderBuilder>>,
    pub(crate) logger: Vec<Customize<opentelemetry_sdk::logs::LoggerProviderBuilder>>,
    /// Print nothing on stderr (the builder's `quiet`).
    pub(crate) quiet: bool,
}

/// Console output should appear promptly while developing, not every 5 s.
const CONSOLE_DELAY: Duration = Duration::from_millis(500);

/// Installs the propagator, then either the disabled state or the three providers built
/// from `config`, and returns the guard that shuts them down.
pub(crate) fn install(
    config: Config,
    warnings: Vec<ConfigWarning>,
    extras: Extras,
) -> Result<TelemetryGuard, Error> {
    // Propagation works even when disabled: incoming context is still forwarded.
    propagator::install_propagator(&config.propagators);
    if config.disabled {
        return Ok(install_disabled(config, warnings));
    }

    let stats = Arc::new(Stats::default());
    let mut shared = Shared::new(&config, stats.clone(), extras.quiet);
    let tracer = traces::provider(&mut shared, extras.tracer)?;
    let meter = metrics::provider(&mut shared, extras.meter)?;
    let logger = logs::provider(&mut shared, extras.logger)?;
    let Shared {
        shutdown_timeout,
        warnings: pipeline_warnings,
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        runtime,
        ..
    } = shared;

    let generation = state::next_generation();
    let scope = InstrumentationScope::builder(crate::span::SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    state::install(Installed {
        tracer: tracer.tracer_with_scope(scope),
        tracer_provider: tracer.clone(),
        meter_provider: meter.provider.clone(),
        logger_provider: logger.clone(),
        parent_based: traces::is_parent_based(&config),
        drops_roots: traces::drops_roots(&config),
        head: traces::head(&config),
        generation,
    });
    global::set_tracer_provider(tracer.clone());
    crate::head_sampling::set_global(generation);
    global::set_meter_provider(meter.provider.clone());

    let mut warnings = warnings;
    warnings.extend(pipeline_warnings);
    status::publish(StatusSource {
        config,
        stats: stats.clone(),
        warnings: warnings.iter().map(ToString::to_string).collect(),
        generation: Some(generation),
    });
    Ok(TelemetryGuard {
        providers: Some(Providers {
            tracer,
            meter: meter.provider,
            logger,
            prometheus_server: meter.prometheus_server,
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            runtime,
        }),
        warnings,
        generation: Some(generation),
        shutdown_timeout,
        stats: Some(stats),
    })
}

fn install_disabled(config: Config, warnings: Vec<ConfigWarning>) -> TelemetryGuard {
    state::set_disabled();
    status::publish(StatusSource {
        config,
        stats: Arc::new(Stats::default()),
        warnings: warnings.iter().map(ToString::to_string).collect(),
        generation: None,
    });
    TelemetryGuard {
        providers: None,
        warnings,
        generation: None,
        shutdown_timeout: Duration::ZERO,
        stats: None,
    }
}

/// What the signal builders share, and what they leave for the guard.
struct Shared<'c> {
    config: &'c Config,
    resource: Resource,
    stats: Arc<Stats>,
    /// Problems found while building (a Prometheus listener that cannot bind): reported
    /// like configuration warnings, never fatal.
    warnings: Vec<ConfigWarning>,
    /// How long shutdown may wait: enough for the slowest exporter's last export.
    shutdown_timeout: Duration,
    /// The builder's `quiet`: network exporters print nothing on stderr.
    #[cfg_attr(not(any(feature = "otlp-grpc", feature = "otlp-http")), allow(dead_code))]
    quiet: bool,
    /// Started by the first OTLP exporter; dropped after the providers by the guard.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    runtime: Option<crate::runtime::ExportRuntime>,
}

impl<'c> Shared<'c> {
    fn new(config: &'c Config, stats: Arc<Stats>, quiet: bool) -> Self {
        Shared {
            config,
            resource: resource(config),
            stats,
            warnings: Vec::new(),
            shutdown_timeout: Duration::from_secs(1),
            quiet,
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            runtime: None,
        }
    }

    /// Lets shutdown wait for an exporter whose exports end within `export_timeout`.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    fn wait_for(&mut self, export_timeout: Duration) {
        self.shutdown_timeout = self
            .shutdown_timeout
            .max(export_timeout + Duration::from_millis(500));
    }

    /// The runtime that network exporters run on, started on first use.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    fn export_runtime(&mut self) -> Result<&crate::runtime::ExportRuntime, Error> {
        let runtime = match self.runtime.take() {
            Some(runtime) => runtime,
            None => crate::runtime::ExportRuntime::new()?,
        };
        Ok(self.runtime.insert(runtime))
    }
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
fn otlp_unavailable() -> Error {
    Error::new(
        crate::ErrorKind::Exporter,
        "OTLP export needs the `otlp-grpc` or `otlp-http` feature of otel-core",
    )
}

fn resource(config: &Config) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_detector(Box::new(LambdaResourceDetector::from_env()))
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build()
}
