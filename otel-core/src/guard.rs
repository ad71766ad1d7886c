//! [`TelemetryGuard`]: flushes and shuts down every provider when the program ends.

use std::time::Duration;

use opentelemetry::global;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::config::ConfigWarning;
use crate::export::prometheus::PrometheusServer;
use crate::status::retract;
use crate::{flush, state, Error};

/// Keeps the telemetry pipeline alive; flushes and shuts it down on drop or
/// [`shutdown`](Self::shutdown).
///
/// Keep it in `main` for the life of the program (`let _telemetry = ...`; note that
/// `let _ = ...` would drop it at once).
///
/// ```
/// let guard = otel_core::Telemetry::builder()
///     .service_name("doc-example")
///     .traces_exporters([])
///     .metrics_exporters([])
///     .init()
///     .unwrap();
/// otel_core::in_span("work", || {});
/// guard.shutdown().unwrap(); // flushes; errors name what failed
/// ```
#[derive(Debug)]
#[must_use = "telemetry stops when the guard is dropped"]
pub struct TelemetryGuard {
    pub(crate) providers: Option<Providers>,
    pub(crate) warnings: Vec<ConfigWarning>,
    pub(crate) generation: Option<u64>,
    pub(crate) shutdown_timeout: Duration,
    /// To explain a failed flush with the exporter's own error.
    pub(crate) stats: Option<std::sync::Arc<crate::export::stats::Stats>>,
}

#[derive(Debug)]
pub(crate) struct Providers {
    pub(crate) tracer: SdkTracerProvider,
    pub(crate) meter: SdkMeterProvider,
    pub(crate) logger: SdkLoggerProvider,
    pub(crate) prometheus_server: Option<PrometheusServer>,
    // Held for its Drop, which comes last: the exporters above need the runtime until
    // they are shut down.
    #[allow(dead_code)]
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) runtime: Option<crate::runtime::ExportRuntime>,
}

impl TelemetryGuard {
    /// Configuration problems found at start-up (also printed on stderr then).
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The installed tracer provider (`None` when disabled).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.providers.as_ref().map(|p| &p.tracer)
    }

    /// The installed meter provider (`None` when disabled).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.providers.as_ref().map(|p| &p.meter)
    }

    /// Where the standalone Prometheus listener serves `/metrics`, when
    /// `OTEL_METRICS_EXPORTER=prometheus` started one.
    pub fn prometheus_address(&self) -> Option<std::net::SocketAddr> {
        self.providers
            .as_ref()?
            .prometheus_server
            .as_ref()
            .map(PrometheusServer::local_addr)
    }

    /// The installed logger provider (`None` when disabled).
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.providers.as_ref().map(|p| &p.logger)
    }

    /// Exports everything recorded so far, waiting for the exporters. (Away from the
    /// guard, for example in a request handler, [`crate::force_flush`] does the same
    /// within a deadline.)
    ///
    /// ```
    /// # let guard = otel_core::Telemetry::builder().traces_exporters([]).metrics_exporters([]).init().unwrap();
    /// guard.force_flush().unwrap();
    /// ```
    pub fn force_flush(&self) -> Result<(), Error> {
        let Some(p) = &self.providers else {
            return Ok(());
        };
        flush::flush_providers(&p.tracer, &p.logger, &p.meter, self.stats.as_deref())
    }

    /// Flushes and shuts down every provider, bounded by the export timeouts, and
    /// reports what failed.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), Error> {
        let generation = self.generation;
        let Some(p) = self.providers.take() else {
            state::uninstall(None);
            retract(None);
            return Ok(());
        };
        // Later spans must not reach a provider that is shutting down.
        state::uninstall(generation);
        global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
        global::set_meter_provider(opentelemetry::metrics::noop::NoopMeterProvider::new());

        let timeout = self.shutdown_timeout;
        let mut failures = Vec::new();
        if let Err(e) = p.tracer.shutdown_with_timeout(timeout) {
            failures.push(self.explain("traces", e));
        }
        if let Err(e) = p.logger.shutdown_with_timeout(timeout) {
            failures.push(self.explain("logs", e));
        }
        // Metrics last, so their final export includes everything above.
        if let Err(e) = p.meter.shutdown_with_timeout(timeout) {
            failures.push(self.explain("metrics", e));
        }
        if let Some(server) = p.prometheus_server {
            server.shutdown();
        }
        crate::export::prometheus::set_current(None);
        retract(generation);
        flush::joined(failures, "shutdown")
    }
}

impl TelemetryGuard {
    fn explain(&self, signal: &str, error: impl std::fmt::Display) -> String {
        flush::explain(self.stats.as_deref(), signal, error)
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if self.providers.is_some() || self.generation.is_none() {
            if let Err(e) = self.shutdown_inner() {
                eprintln!("otel-core: {e}");
            }
        }
    }
}
