//! How the builder and the environment combine.
//!
//! Two kinds of builder values, two precedences:
//! - [`Defaults`] yield to the environment: they replace the spec's defaults only where
//!   a variable is unset (`default_service_name("checkout")` names the service unless
//!   `OTEL_SERVICE_NAME` does), so an example or a service can ship a sensible value that
//!   operators still override.
//! - [`Overrides`] win over the environment: a value set in code is what the code's
//!   author means, whatever the deployment says. They are validated here, and an invalid
//!   one is an [`Error`] (invalid *environment* values only warn, in `env.rs`).

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::KeyValue;

use super::env::{self, DEPLOYMENT_ENVIRONMENT};
use super::tls::{check_pem_file, PemKind};
use super::values;
use super::{
    BatchConfig, Compression, Config, ExporterKind, HistogramAggregation, MetricsExporterKind,
    PropagatorKind, Protocol, SamplerConfig, SamplerSource, SpanLimits, TemporalityPreference,
};
use crate::status::redact_url;
use crate::Error;

/// Builder values that apply only where the environment says nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub(crate) service_name: Option<String>,
}

impl Defaults {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(name) = &self.service_name {
            if name.trim().is_empty() {
                return Err(Error::config(
                    "default_service_name is empty: give the service a name, e.g. \"checkout\"",
                ));
            }
        }
        Ok(())
    }
}

/// Builder values that replace whatever the environment says.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) disabled: Option<bool>,
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) deployment_environment: Option<String>,
    pub(crate) resource_attributes: Vec<KeyValue>,
    pub(crate) sampler: Option<SamplerConfig>,
    pub(crate) propagators: Option<Vec<PropagatorKind>>,
    pub(crate) traces_exporters: Option<Vec<ExporterKind>>,
    pub(crate) metrics_exporters: Option<Vec<MetricsExporterKind>>,
    pub(crate) logs_exporters: Option<Vec<ExporterKind>>,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) otlp_protocol: Option<Protocol>,
    pub(crate) otlp_headers: Vec<(String, String)>,
    pub(crate) otlp_timeout: Option<Duration>,
    pub(crate) otlp_compression: Option<Compression>,
    pub(crate) otlp_certificate: Option<PathBuf>,
    pub(crate) otlp_client_identity: Option<(PathBuf, PathBuf)>,
    pub(crate) otlp_insecure: Option<bool>,
    pub(crate) span_batch: Option<BatchConfig>,
    pub(crate) span_limits: Option<SpanLimits>,
    pub(crate) metric_export_interval: Option<Duration>,
    pub(crate) metrics_temporality: Option<TemporalityPreference>,
    pub(crate) metrics_histogram_aggregation: Option<HistogramAggregation>,
    pub(crate) tail_sampling: Option<super::TailSamplingConfig>,
}

impl Overrides {
    /// Validates every override and writes it over `c` (resolved from the environment).
    pub(crate) fn apply(&self, c: &mut Config) -> Result<(), Error> {
        if let Some(disabled) = self.disabled {
            c.disabled = disabled;
        }
        self.apply_resource(c)?;
        self.apply_sampler(c)?;
        if let Some(p) = &self.propagators {
            c.propagators = p.clone();
        }
        self.apply_exporters(c);
        self.apply_otlp(c)?;
        self.apply_tls(c)?;
        self.apply_batching(c)?;
        self.apply_tail_sampling(c)
    }

    fn apply_tail_sampling(&self, c: &mut Config) -> Result<(), Error> {
        if let Some(tail) = self.tail_sampling {
            tail.validate()?;
            c.tail_sampling = tail;
        }
        Ok(())
    }

    fn apply_resource(&self, c: &mut Config) -> Result<(), Error> {
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
            set_attr(DEPLOYMENT_ENVIRONMENT, env.clone());
        }
        for kv in &self.resource_attributes {
            if kv.key.as_str() == "service.name" {
                c.service_name = kv.value.to_string();
            } else {
                set_attr(kv.key.as_str(), kv.value.to_string());
            }
        }
        Ok(())
    }

    /// After the resource: the deployment profile depends on `deployment.environment.name`.
    fn apply_sampler(&self, c: &mut Config) -> Result<(), Error> {
        if let Some(sampler) = self.sampler {
            if let SamplerConfig::TraceIdRatio(r) | SamplerConfig::ParentBasedTraceIdRatio(r) = sampler {
                if !(0.0..=1.0).contains(&r) {
                    return Err(Error::config(format!(
                        "sampler ratio {r} is out of range: use a probability between 0.0 and 1.0 (0.1 samples 10 % of traces)"
                    )));
                }
            }
            c.sampler = sampler;
            c.sampler_source = SamplerSource::Builder;
        }
        env::apply_profile(c);
        Ok(())
    }

    fn apply_exporters(&self, c: &mut Config) {
        if let Some(e) = &self.traces_exporters {
            c.traces_exporters = e.clone();
        }
        if let Some(e) = &self.metrics_exporters {
            c.metrics_exporters = e.clone();
        }
        if let Some(e) = &self.logs_exporters {
            c.logs_exporters = e.clone();
        }
        if self.otlp_endpoint.is_none() {
            return;
        }
        // An endpoint given in code means "send there": OTLP becomes the default unless
        // exporters were chosen explicitly (it is validated with the protocol, below).
        if self.traces_exporters.is_none() && c.traces_exporters == [ExporterKind::Console] {
            c.traces_exporters = vec![ExporterKind::Otlp];
        }
        if self.metrics_exporters.is_none() && c.metrics_exporters == [MetricsExporterKind::Console] {
            c.metrics_exporters = vec![MetricsExporterKind::Otlp];
        }
        if self.logs_exporters.is_none() && c.logs_exporters.is_empty() {
            c.logs_exporters = vec![ExporterKind::Otlp];
        }
    }

    fn apply_otlp(&self, c: &mut Config) -> Result<(), Error> {
        let validated_headers = values::validate_headers(self.otlp_headers.clone())
            .map_err(|reason| Error::config(format!("otlp_header: {reason}")))?;
        if self.otlp_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::config(
                "otlp_timeout is zero: give exports time to finish, e.g. 10 s",
            ));
        }
        for (otlp, path) in [
            (&mut c.otlp_traces, "/v1/traces"),
            (&mut c.otlp_metrics, "/v1/metrics"),
            (&mut c.otlp_logs, "/v1/logs"),
        ] {
            if let Some(insecure) = self.otlp_insecure {
                otlp.insecure = insecure;
            }
            if let Some(protocol) = self.otlp_protocol {
                if protocol != otlp.protocol && !otlp.endpoint_configured {
                    otlp.endpoint = values::signal_endpoint(protocol.default_endpoint(), protocol, path);
                }
                otlp.protocol = protocol;
            }
            if let Some(endpoint) = &self.otlp_endpoint {
                let endpoint = values::with_grpc_scheme(endpoint, otlp.protocol, otlp.insecure);
                values::validate_endpoint(&endpoint).map_err(|reason| {
                    Error::config(format!(
                        "otlp_endpoint {:?}: {reason}; expected e.g. http://localhost:4318",
                        redact_url(&endpoint)
                    ))
                })?;
                otlp.endpoint = values::signal_endpoint(&endpoint, otlp.protocol, path);
                otlp.endpoint_configured = true;
            }
            for (name, value) in &validated_headers {
                otlp.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                otlp.headers.push((name.clone(), value.clone()));
            }
            if let Some(timeout) = self.otlp_timeout {
                otlp.timeout = timeout;
            }
            if let Some(compression) = self.otlp_compression {
                otlp.compression = compression;
            }
        }
        Ok(())
    }

    /// The files are checked now so that a wrong path is an error naming the setting,
    /// not a failed handshake later.
    fn apply_tls(&self, c: &mut Config) -> Result<(), Error> {
        let check = |setting: &str, path: &PathBuf, kind: PemKind| {
            check_pem_file(path, kind)
                .map_err(|reason| Error::config(format!("{setting} {}: {reason}", path.display())))
        };
        if let Some(path) = &self.otlp_certificate {
            check("otlp_certificate", path, PemKind::Certificate)?;
        }
        if let Some((cert, key)) = &self.otlp_client_identity {
            check("otlp_client_certificate", cert, PemKind::Certificate)?;
            check("otlp_client_certificate (key)", key, PemKind::PrivateKey)?;
        }
        for otlp in [&mut c.otlp_traces, &mut c.otlp_metrics, &mut c.otlp_logs] {
            if let Some(path) = &self.otlp_certificate {
                otlp.tls.certificate = Some(path.clone());
            }
            if let Some((cert, key)) = &self.otlp_client_identity {
                otlp.tls.client_certificate = Some(cert.clone());
                otlp.tls.client_key = Some(key.clone());
            }
        }
        Ok(())
    }

    fn apply_batching(&self, c: &mut Config) -> Result<(), Error> {
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
        if let Some(temporality) = self.metrics_temporality {
            c.metrics_temporality = temporality;
        }
        if let Some(aggregation) = self.metrics_histogram_aggregation {
            c.metrics_histogram_aggregation = aggregation;
        }
        if let Some(limits) = self.span_limits {
            c.span_limits = limits;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn a_default_service_name_yields_to_the_environment() {
        let defaults = Defaults {
            service_name: Some("quickstart".into()),
        };
        let (c, _) = env::resolve(&lookup(&[]), &defaults);
        assert_eq!(c.service_name, "quickstart");
        let (c, _) = env::resolve(&lookup(&[("OTEL_SERVICE_NAME", "checkout")]), &defaults);
        assert_eq!(c.service_name, "checkout");
        let (c, _) = env::resolve(
            &lookup(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing")]),
            &defaults,
        );
        assert_eq!(c.service_name, "billing");
    }

    #[test]
    fn an_override_wins_over_the_environment() {
        let (mut c, _) = env::resolve(
            &lookup(&[("OTEL_SERVICE_NAME", "checkout")]),
            &Defaults::default(),
        );
        let overrides = Overrides {
            service_name: Some("from-code".into()),
            ..Overrides::default()
        };
        overrides.apply(&mut c).unwrap();
        assert_eq!(c.service_name, "from-code");
    }

    #[test]
    fn empty_names_are_errors() {
        let defaults = Defaults {
            service_name: Some(" ".into()),
        };
        assert!(defaults
            .validate()
            .unwrap_err()
            .message()
            .contains("default_service_name"));
        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            service_name: Some(String::new()),
            ..Overrides::default()
        };
        assert!(overrides
            .apply(&mut c)
            .unwrap_err()
            .message()
            .contains("service_name is empty"));
    }

    #[test]
    fn an_endpoint_in_code_makes_otlp_the_default_unless_exporters_were_chosen() {
        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            otlp_endpoint: Some("http://collector:4318".into()),
            metrics_exporters: Some(vec![MetricsExporterKind::Prometheus]),
            ..Overrides::default()
        };
        overrides.apply(&mut c).unwrap();
        assert_eq!(c.traces_exporters, [ExporterKind::Otlp]);
        assert_eq!(c.metrics_exporters, [MetricsExporterKind::Prometheus]);
        assert_eq!(c.logs_exporters, [ExporterKind::Otlp]);
        assert_eq!(c.otlp_traces.endpoint, "http://collector:4318/v1/traces");
    }

    #[test]
    fn tls_settings_in_code_are_checked_and_apply_to_every_signal() {
        let dir = std::env::temp_dir().join(format!("otel-core-merge-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();

        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            otlp_certificate: Some(ca.clone()),
            ..Overrides::default()
        };
        overrides.apply(&mut c).unwrap();
        assert_eq!(c.otlp_logs.tls.certificate.as_ref(), Some(&ca));

        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            otlp_client_identity: Some((ca.clone(), ca.clone())),
            ..Overrides::default()
        };
        let err = overrides.apply(&mut c).unwrap_err();
        assert!(
            err.message().starts_with("otlp_client_certificate (key)"),
            "{err}"
        );
        assert!(err.message().contains("no PEM private key"), "{err}");

        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            otlp_certificate: Some(dir.join("missing.pem")),
            ..Overrides::default()
        };
        assert!(overrides
            .apply(&mut c)
            .unwrap_err()
            .message()
            .contains("cannot read the file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_grpc_endpoint_in_code_may_omit_its_scheme() {
        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let overrides = Overrides {
            otlp_endpoint: Some("collector:4317".into()),
            otlp_protocol: Some(Protocol::Grpc),
            ..Overrides::default()
        };
        overrides.apply(&mut c).unwrap();
        assert_eq!(c.otlp_traces.endpoint, "https://collector:4317");

        let (mut c, _) = env::resolve(
            &lookup(&[("OTEL_EXPORTER_OTLP_INSECURE", "true")]),
            &Defaults::default(),
        );
        overrides.apply(&mut c).unwrap();
        assert_eq!(
            c.otlp_metrics.endpoint, "http://collector:4317",
            "INSECURE from the environment"
        );

        let (mut c, _) = env::resolve(&lookup(&[]), &Defaults::default());
        let http = Overrides {
            otlp_endpoint: Some("collector:4318".into()),
            ..Overrides::default()
        };
        let err = http.apply(&mut c).unwrap_err();
        assert!(
            err.message().contains("must start with http:// or https://"),
            "{err}"
        );
    }

    #[test]
    fn tail_sampling_in_code_wins_and_bad_limits_are_errors() {
        let (mut c, _) = env::resolve(
            &lookup(&[("OTEL_TOOLKIT_TAIL_SAMPLING", "off")]),
            &Defaults::default(),
        );
        let tail = super::super::TailSamplingConfig::ENABLED;
        let overrides = Overrides {
            tail_sampling: Some(tail),
            ..Overrides::default()
        };
        overrides.apply(&mut c).unwrap();
        assert_eq!(c.tail_sampling, tail);
        let overrides = Overrides {
            tail_sampling: Some(super::super::TailSamplingConfig { max_spans: 0, ..tail }),
            ..Overrides::default()
        };
        assert!(overrides
            .apply(&mut c)
            .unwrap_err()
            .message()
            .contains("max_spans"));
    }
}
