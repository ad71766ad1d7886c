//! The backend recipes of the README ("Backend recipes"): each block of variables
//! resolves, without a warning, to the exporter configuration the recipe describes. The
//! blocks are read from the README itself, so the documentation cannot drift from what
//! is tested.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use otel_core::config::{
    Compression, Config, ExporterKind, HistogramAggregation, MetricsExporterKind, Protocol,
    TemporalityPreference,
};

/// The `export VAR=value` lines of each `### name` section under "## Backend recipes".
fn recipes() -> BTreeMap<String, Vec<(String, String)>> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let section = readme
        .split("\n## Backend recipes")
        .nth(1)
        .expect("a Backend recipes section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut recipes = BTreeMap::new();
    for part in section.split("\n### ").skip(1) {
        let name = part.lines().next().unwrap_or_default().trim().to_owned();
        let block = part
            .split("```sh\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or_else(|| panic!("recipe {name:?} has a sh block"));
        let vars = block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        recipes.insert(name, vars);
    }
    recipes
}

/// Resolves a recipe, with its `/etc/otel/` files replaced by PEM files made here.
fn resolve(
    recipes: &BTreeMap<String, Vec<(String, String)>>,
    name: &str,
    pem_dir: &std::path::Path,
) -> Config {
    let vars = recipes
        .iter()
        .find(|(n, _)| n.starts_with(name))
        .unwrap_or_else(|| panic!("a recipe named {name:?} in {:?}", recipes.keys()))
        .1
        .clone();
    let vars: Vec<(String, String)> = vars
        .into_iter()
        .map(|(k, v)| match v.strip_prefix("/etc/otel/") {
            Some(file) => (k, pem_dir.join(file).display().to_string()),
            None => (k, v),
        })
        .collect();
    let (config, warnings) =
        Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
    assert!(warnings.is_empty(), "{name}: {warnings:#?}");
    config
}

fn pem_files() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otel-core-recipes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, label) in [
        ("ca.pem", "CERTIFICATE"),
        ("client.pem", "CERTIFICATE"),
        ("client.key", "PRIVATE KEY"),
    ] {
        std::fs::write(
            dir.join(file),
            format!("-----BEGIN {label}-----\nAA==\n-----END {label}-----\n"),
        )
        .expect("write");
    }
    dir
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn every_recipe_resolves_to_its_exporter_configuration() {
    let recipes = recipes();
    assert_eq!(recipes.len(), 5, "{:?}", recipes.keys());
    let pem = pem_files();

    let c = resolve(&recipes, "Honeycomb", &pem);
    assert_eq!(c.service_name, "checkout");
    assert_eq!(c.traces_exporters, [ExporterKind::Otlp]);
    assert_eq!(c.metrics_exporters, [MetricsExporterKind::Otlp]);
    assert_eq!(c.logs_exporters, [ExporterKind::Otlp]);
    assert_eq!(c.otlp_traces.protocol, Protocol::HttpProtobuf);
    assert_eq!(c.otlp_traces.endpoint, "https://api.honeycomb.io/v1/traces");
    assert_eq!(c.otlp_metrics.endpoint, "https://api.honeycomb.io/v1/metrics");
    assert_eq!(c.otlp_logs.endpoint, "https://api.honeycomb.io/v1/logs");
    assert_eq!(
        header(&c.otlp_traces.headers, "x-honeycomb-team"),
        Some("YOUR_API_KEY")
    );
    assert_eq!(header(&c.otlp_traces.headers, "x-honeycomb-dataset"), None);
    assert_eq!(
        header(&c.otlp_metrics.headers, "x-honeycomb-dataset"),
        Some("checkout-metrics")
    );
    assert_eq!(
        header(&c.otlp_metrics.headers, "x-honeycomb-team"),
        Some("YOUR_API_KEY")
    );
    assert_eq!(
        c.metrics_histogram_aggregation,
        HistogramAggregation::Base2Exponential
    );
    assert_eq!(c.metrics_temporality, TemporalityPreference::Cumulative);

    let c = resolve(&recipes, "Grafana Cloud", &pem);
    assert_eq!(
        c.otlp_traces.endpoint,
        "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/traces"
    );
    assert_eq!(
        c.otlp_logs.endpoint,
        "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp/v1/logs"
    );
    assert_eq!(
        header(&c.otlp_metrics.headers, "Authorization"),
        Some("Basic MTIzNDU2OmdsY19leGFtcGxl"),
        "%20 is decoded to a space"
    );
    assert_eq!(
        c.metrics_temporality,
        TemporalityPreference::Cumulative,
        "Mimir stores cumulative"
    );

    let c = resolve(&recipes, "Jaeger", &pem);
    assert_eq!(c.traces_exporters, [ExporterKind::Otlp]);
    assert_eq!(c.otlp_traces.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(
        c.metrics_exporters,
        [MetricsExporterKind::Console],
        "Jaeger takes no metrics"
    );
    assert!(c.logs_exporters.is_empty(), "nor logs");

    let c = resolve(&recipes, "Datadog", &pem);
    assert_eq!(c.otlp_metrics.protocol, Protocol::Grpc);
    assert_eq!(c.otlp_metrics.endpoint, "http://localhost:4317");
    assert_eq!(c.metrics_temporality, TemporalityPreference::Delta);
    assert_eq!(
        c.metrics_histogram_aggregation,
        HistogramAggregation::Base2Exponential
    );
    assert_eq!(c.deployment_environment(), Some("production"));

    let c = resolve(&recipes, "A self-hosted OpenTelemetry Collector", &pem);
    for otlp in [&c.otlp_traces, &c.otlp_metrics, &c.otlp_logs] {
        assert_eq!(otlp.protocol, Protocol::Grpc);
        assert_eq!(otlp.endpoint, "https://otel-collector.internal:4317");
        assert_eq!(otlp.compression, Compression::Gzip);
        assert_eq!(otlp.tls.certificate, Some(pem.join("ca.pem")));
        assert!(otlp.tls.is_mutual());
        assert_eq!(otlp.tls.client_key, Some(pem.join("client.key")));
        assert_eq!(otlp.timeout, Duration::from_secs(10));
    }

    let _ = std::fs::remove_dir_all(&pem);
}

#[test]
fn a_sidecar_collector_can_skip_tls() {
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ];
    let (c, warnings) =
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.otlp_traces.endpoint, "http://localhost:4317");
}
