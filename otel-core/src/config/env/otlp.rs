//! The OTLP exporter variables (`OTEL_EXPORTER_OTLP_*` and their per-signal forms): the
//! signal's variable first, then the generic one, then the spec's default.

use std::path::PathBuf;
use std::time::Duration;

use super::super::tls::{check_pem_file, PemKind};
use super::super::values::{
    parse_key_values, signal_endpoint, validate_endpoint, validate_headers, with_grpc_scheme,
};
use super::super::{Compression, OtlpConfig, Protocol, TlsConfig};
use super::{Env, Signal};

pub(super) fn otlp(env: &mut Env<'_>, signal: Signal) -> OtlpConfig {
    let s = signal.upper();
    let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{s}_{suffix}");

    let protocol = match env.first(&[&var("PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
        None => Protocol::HttpProtobuf,
        Some((name, raw)) => match raw.to_ascii_lowercase().as_str() {
            "grpc" => Protocol::Grpc,
            "http/protobuf" => Protocol::HttpProtobuf,
            "http/json" => Protocol::HttpJson,
            _ => {
                env.warn(
                    &name,
                    &raw,
                    "http/protobuf",
                    "expected grpc, http/protobuf or http/json",
                );
                Protocol::HttpProtobuf
            }
        },
    };

    let insecure = match env.first(&[&var("INSECURE"), "OTEL_EXPORTER_OTLP_INSECURE"]) {
        None => false,
        Some((name, _)) => env.bool(&name, false),
    };

    let default_endpoint = signal_endpoint(protocol.default_endpoint(), protocol, signal.path());
    let (endpoint, endpoint_configured) = match env.first(&[&var("ENDPOINT"), "OTEL_EXPORTER_OTLP_ENDPOINT"])
    {
        None => (default_endpoint, false),
        Some((name, raw)) => {
            let resolved = with_grpc_scheme(&raw, protocol, insecure);
            match validate_endpoint(&resolved) {
                // The per-signal endpoint is used exactly as given; the generic one is a
                // base URL for HTTP.
                Ok(()) if name == var("ENDPOINT") => (resolved, true),
                Ok(()) => (signal_endpoint(&resolved, protocol, signal.path()), true),
                Err(reason) => {
                    env.warn(&name, &raw, default_endpoint.clone(), reason);
                    (default_endpoint, false)
                }
            }
        }
    };

    let headers = match env.first(&[&var("HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS"]) {
        None => Vec::new(),
        Some((name, raw)) => match parse_key_values(&raw).and_then(validate_headers) {
            Ok(pairs) => pairs,
            Err(reason) => {
                // Never echo header values: they are usually credentials.
                env.warn(&name, "<redacted>", "no headers", reason);
                Vec::new()
            }
        },
    };

    let compression = match env.first(&[&var("COMPRESSION"), "OTEL_EXPORTER_OTLP_COMPRESSION"]) {
        None => Compression::None,
        Some((name, raw)) => match raw.to_ascii_lowercase().as_str() {
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => {
                env.warn(&name, &raw, "none", "expected gzip or none");
                Compression::None
            }
        },
    };

    let timeout_var = if env.get(&var("TIMEOUT")).is_some() {
        var("TIMEOUT")
    } else {
        "OTEL_EXPORTER_OTLP_TIMEOUT".to_owned()
    };
    let timeout = env.millis(&timeout_var, Duration::from_millis(10_000));

    OtlpConfig {
        endpoint,
        endpoint_configured,
        protocol,
        headers,
        compression,
        timeout,
        tls: tls(env, &var),
        insecure,
    }
}

/// The CA bundle and the client certificate and key, each checked to be a readable PEM
/// file of the right kind. Mutual TLS needs both halves: one alone is dropped with a
/// warning, since sending a certificate without its key (or the reverse) cannot work.
fn tls(env: &mut Env<'_>, var: &dyn Fn(&str) -> String) -> TlsConfig {
    let mut pem = |suffix: &str, kind: PemKind, fallback: &str| -> Option<(String, PathBuf)> {
        let generic = format!("OTEL_EXPORTER_OTLP_{suffix}");
        let (name, raw) = env.first(&[&var(suffix), &generic])?;
        let path = PathBuf::from(&raw);
        match check_pem_file(&path, kind) {
            Ok(()) => Some((name, path)),
            Err(reason) => {
                env.warn(&name, &raw, fallback, reason);
                None
            }
        }
    };
    let certificate = pem(
        "CERTIFICATE",
        PemKind::Certificate,
        "the platform's and webpki's root certificates",
    );
    let client_certificate = pem(
        "CLIENT_CERTIFICATE",
        PemKind::Certificate,
        "no client certificate",
    );
    let client_key = pem("CLIENT_KEY", PemKind::PrivateKey, "no client certificate");

    let (client_certificate, client_key) = match (client_certificate, client_key) {
        (Some((_, cert)), Some((_, key))) => (Some(cert), Some(key)),
        (Some((name, path)), None) | (None, Some((name, path))) => {
            let missing = if name.ends_with("CLIENT_KEY") {
                "CLIENT_CERTIFICATE"
            } else {
                "CLIENT_KEY"
            };
            env.warn(
                &name,
                &path.display().to_string(),
                "no client certificate",
                format!("mutual TLS needs OTEL_EXPORTER_OTLP_{missing} (or its per-signal form) as well"),
            );
            (None, None)
        }
        (None, None) => (None, None),
    };

    TlsConfig {
        certificate: certificate.map(|(_, path)| path),
        client_certificate,
        client_key,
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{Config, ConfigWarning, HistogramAggregation, Protocol, TemporalityPreference};

    fn resolve(vars: &[(&str, String)]) -> (Config, Vec<ConfigWarning>) {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    fn var(name: &str, value: &str) -> (&'static str, String) {
        (Box::leak(name.to_owned().into_boxed_str()), value.to_owned())
    }

    struct Pem {
        dir: std::path::PathBuf,
    }

    impl Pem {
        fn new(test: &str) -> Pem {
            let dir = std::env::temp_dir().join(format!("otel-core-env-{test}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Pem { dir }
        }
        fn file(&self, name: &str, label: &str) -> String {
            let path = self.dir.join(name);
            std::fs::write(
                &path,
                format!("-----BEGIN {label}-----\nAA==\n-----END {label}-----\n"),
            )
            .unwrap();
            path.display().to_string()
        }
    }

    impl Drop for Pem {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn certificates_per_signal_override_the_generic_ones() {
        let pem = Pem::new("certs");
        let ca = pem.file("ca.pem", "CERTIFICATE");
        let traces_ca = pem.file("traces-ca.pem", "CERTIFICATE");
        let cert = pem.file("client.pem", "CERTIFICATE");
        let key = pem.file("client.key", "PRIVATE KEY");
        let (c, w) = resolve(&[
            var("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca),
            var("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &traces_ca),
            var("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert),
            var("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.otlp_traces.tls.certificate.as_deref(), Some(traces_ca.as_ref()));
        assert_eq!(c.otlp_metrics.tls.certificate.as_deref(), Some(ca.as_ref()));
        assert!(c.otlp_logs.tls.is_mutual());
        assert_eq!(c.otlp_logs.tls.client_key.as_deref(), Some(key.as_ref()));
    }

    #[test]
    fn unusable_tls_files_warn_and_fall_back() {
        let pem = Pem::new("bad");
        let key = pem.file("client.key", "PRIVATE KEY");
        let (c, w) = resolve(&[
            var("OTEL_EXPORTER_OTLP_CERTIFICATE", "/missing/ca.pem"),
            var("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", &key),
            var("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
        ]);
        assert_eq!(c.otlp_traces.tls.certificate, None);
        let missing = w
            .iter()
            .find(|w| w.variable == "OTEL_EXPORTER_OTLP_CERTIFICATE")
            .expect("a warning for the missing CA file");
        assert_eq!(missing.fallback, "the platform's and webpki's root certificates");
        assert!(missing.reason.starts_with("cannot read the file"), "{missing:?}");
        assert_eq!(
            w.iter()
                .filter(|w| w.variable == "OTEL_EXPORTER_OTLP_CERTIFICATE")
                .count(),
            1
        );

        // A key where the logs' certificate belongs: the certificate is refused, so the
        // key alone is dropped too; traces and metrics have the key and no certificate.
        assert!(w
            .iter()
            .any(|w| w.variable == "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"
                && w.reason.contains("no PEM certificate")));
        assert!(w.iter().any(|w| w.variable == "OTEL_EXPORTER_OTLP_CLIENT_KEY"
            && w.reason
                .contains("mutual TLS needs OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")));
        assert!(!c.otlp_logs.tls.is_mutual());
        assert_eq!(c.otlp_logs.tls.client_key, None);
        assert_eq!(
            c.otlp_traces.tls.client_key, None,
            "a key without a certificate is dropped"
        );
    }

    #[test]
    fn insecure_picks_the_scheme_of_a_grpc_endpoint_without_one() {
        let grpc = var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
        let (c, w) = resolve(&[grpc.clone(), var("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            c.otlp_traces.endpoint, "https://collector:4317",
            "TLS unless told otherwise"
        );

        let (c, _) = resolve(&[
            grpc.clone(),
            var("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            var("OTEL_EXPORTER_OTLP_INSECURE", "true"),
            var("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "false"),
        ]);
        assert_eq!(c.otlp_traces.endpoint, "http://collector:4317");
        assert!(c.otlp_traces.insecure);
        assert_eq!(
            c.otlp_logs.endpoint, "https://collector:4317",
            "the signal variable wins"
        );

        let (c, _) = resolve(&[
            grpc,
            var("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
            var("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ]);
        assert_eq!(
            c.otlp_traces.endpoint, "https://collector:4317",
            "a scheme always wins"
        );

        let (_, w) = resolve(&[var("OTEL_EXPORTER_OTLP_INSECURE", "yes")]);
        assert!(w
            .iter()
            .any(|w| w.variable == "OTEL_EXPORTER_OTLP_INSECURE" && w.fallback == "false"));
    }

    #[test]
    fn http_json_uses_the_http_endpoint_layout() {
        let (c, w) = resolve(&[
            var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            var("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otlp.example.com"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.otlp_metrics.protocol, Protocol::HttpJson);
        assert_eq!(c.otlp_metrics.endpoint, "https://otlp.example.com/v1/metrics");
    }

    #[test]
    fn metrics_temporality_and_histogram_aggregation() {
        let (c, w) = resolve(&[]);
        assert!(w.is_empty());
        assert_eq!(c.metrics_temporality, TemporalityPreference::Cumulative);
        assert_eq!(
            c.metrics_histogram_aggregation,
            HistogramAggregation::ExplicitBucket
        );

        let (c, w) = resolve(&[
            var("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "DELTA"),
            var(
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                "base2_exponential_bucket_histogram",
            ),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.metrics_temporality, TemporalityPreference::Delta);
        assert_eq!(
            c.metrics_histogram_aggregation,
            HistogramAggregation::Base2Exponential
        );

        let (c, w) = resolve(&[
            var("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "lowmemory"),
            var(
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                "exponential",
            ),
        ]);
        assert_eq!(c.metrics_temporality, TemporalityPreference::LowMemory);
        assert_eq!(
            c.metrics_histogram_aggregation,
            HistogramAggregation::ExplicitBucket
        );
        assert_eq!(
            w[0].to_string(),
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=\"exponential\" is invalid \
             (expected explicit_bucket_histogram or base2_exponential_bucket_histogram); using explicit_bucket_histogram"
        );

        let (_, w) = resolve(&[var(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        )]);
        assert!(w.iter().any(|w| w.fallback == "cumulative"));
    }
}
