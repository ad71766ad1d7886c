//! Why an OTLP exporter's exports fail, in the exporter's own error.
//!
//! The OTLP crate reports a failed HTTP request as "HTTP export failed: network error"
//! (the cause goes to a debug log), and a gRPC one as the transport's error chain, where
//! a TLS problem is a fragment deep inside. The transports below it see the real cause
//! (the TLS connector, the HTTP client wrapper) and record it here; [`Diagnosed`] puts it
//! into the error the export returns, which the batch processor and the metric and log
//! wrappers (`stats.rs`) record for `telemetry_status()` and for flush and shutdown
//! errors. The first time a TLS cause appears it is also printed on stderr, once per
//! distinct cause, since it needs a person to fix a certificate or a variable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::status::redact_url;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    /// A TLS failure: a certificate, a name, a refused client certificate.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls(String),
    /// Any other transport failure (connection refused, DNS, timeout), with its chain.
    Transport(String),
}

/// The latest transport failure of one exporter.
#[derive(Debug)]
pub(crate) struct Diagnosis {
    signal: &'static str,
    endpoint: String,
    quiet: bool,
    cause: Mutex<Option<Cause>>,
    logged: Mutex<Option<String>>,
}

impl Diagnosis {
    pub(crate) fn new(signal: &'static str, endpoint: &str, quiet: bool) -> Arc<Self> {
        Arc::new(Diagnosis {
            signal,
            endpoint: redact_url(endpoint),
            quiet,
            cause: Mutex::new(None),
            logged: Mutex::new(None),
        })
    }

    /// A TLS failure: it explains the export's failure better than anything else.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tls_failure(&self, cause: String) {
        if let Ok(mut slot) = self.cause.lock() {
            *slot = Some(Cause::Tls(cause));
        }
    }

    /// A failure below HTTP; kept unless a TLS failure already says more.
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    pub(crate) fn transport_failure(&self, cause: String) {
        if let Ok(mut slot) = self.cause.lock() {
            if !matches!(*slot, Some(Cause::Tls(_))) {
                *slot = Some(Cause::Transport(cause));
            }
        }
    }

    /// The export's result with the recorded cause in its error. The cause is consumed
    /// either way, so an old failure never explains a later one.
    fn explain(&self, result: OTelSdkResult) -> OTelSdkResult {
        let cause = self.cause.lock().ok().and_then(|mut slot| slot.take());
        let (Err(_), Some(cause)) = (&result, cause) else {
            return result;
        };
        let message = match cause {
            Cause::Tls(cause) => {
                self.log_once(&cause);
                format!("{cause} (endpoint {})", self.endpoint)
            }
            Cause::Transport(cause) => format!("cannot reach {}: {cause}", self.endpoint),
        };
        Err(OTelSdkError::InternalFailure(message))
    }

    fn log_once(&self, cause: &str) {
        if let Some(line) = self.log_line(cause) {
            eprintln!("{line}");
        }
    }

    /// The stderr line for `cause`, unless quiet or already printed for it.
    fn log_line(&self, cause: &str) -> Option<String> {
        if self.quiet {
            return None;
        }
        let mut logged = self.logged.lock().ok()?;
        if logged.as_deref() == Some(cause) {
            return None;
        }
        *logged = Some(cause.to_owned());
        Some(format!(
            "otel-core: {} export to {} failed: {cause}",
            self.signal, self.endpoint
        ))
    }
}

/// An exporter whose export errors carry the cause its [`Diagnosis`] recorded.
#[derive(Debug)]
pub(crate) struct Diagnosed<E> {
    inner: E,
    diagnosis: Arc<Diagnosis>,
}

impl<E> Diagnosed<E> {
    pub(crate) fn new(inner: E, diagnosis: Arc<Diagnosis>) -> Self {
        Diagnosed { inner, diagnosis }
    }

    /// The same diagnosis around `f(inner)`.
    pub(crate) fn map<F>(self, f: impl FnOnce(E) -> F) -> Diagnosed<F> {
        Diagnosed {
            inner: f(self.inner),
            diagnosis: self.diagnosis,
        }
    }
}

impl<E: SpanExporter> SpanExporter for Diagnosed<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.diagnosis.explain(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Diagnosed<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.diagnosis.explain(result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for Diagnosed<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.diagnosis.explain(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure(
            "HTTP export failed: network error".into(),
        ))
    }

    #[test]
    fn a_recorded_cause_replaces_the_generic_error_once() {
        let d = Diagnosis::new("traces", "https://user:pw@collector:4318/v1/traces", true);
        d.transport_failure("tcp connect error: Connection refused".into());
        d.tls_failure("TLS handshake failed: the server's certificate is not trusted".into());
        d.transport_failure("ignored: the TLS cause says more".into());
        let Err(OTelSdkError::InternalFailure(message)) = d.explain(failed()) else {
            panic!("the export failed");
        };
        assert_eq!(
            message,
            "TLS handshake failed: the server's certificate is not trusted (endpoint https://collector:4318/v1/traces)"
        );
        let Err(OTelSdkError::InternalFailure(message)) = d.explain(failed()) else {
            panic!("the export failed");
        };
        assert_eq!(message, "HTTP export failed: network error", "consumed");
    }

    #[test]
    fn each_tls_cause_is_logged_once_unless_quiet() {
        let d = Diagnosis::new("metrics", "https://collector:4318/v1/metrics", false);
        assert_eq!(
            d.log_line("TLS handshake failed: x").as_deref(),
            Some("otel-core: metrics export to https://collector:4318/v1/metrics failed: TLS handshake failed: x")
        );
        assert_eq!(d.log_line("TLS handshake failed: x"), None);
        assert!(d.log_line("TLS handshake failed: y").is_some());
        let quiet = Diagnosis::new("metrics", "https://collector:4318/v1/metrics", true);
        assert_eq!(quiet.log_line("TLS handshake failed: x"), None);
    }

    #[test]
    fn transport_causes_and_successes() {
        let d = Diagnosis::new("logs", "http://127.0.0.1:9/v1/logs", true);
        d.transport_failure("client error (Connect): Connection refused".into());
        let Err(OTelSdkError::InternalFailure(message)) = d.explain(failed()) else {
            panic!("the export failed");
        };
        assert_eq!(
            message,
            "cannot reach http://127.0.0.1:9/v1/logs: client error (Connect): Connection refused"
        );
        d.tls_failure("stale".into());
        assert!(d.explain(Ok(())).is_ok());
        assert!(
            matches!(d.explain(failed()), Err(OTelSdkError::InternalFailure(m)) if m.contains("network error")),
            "a success clears the cause"
        );
    }
}
