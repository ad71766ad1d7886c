//! Providers and output slicing shared by the Prometheus tests.

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::Resource;

use super::PrometheusExporter;

pub(super) fn provider_with(exporter: &PrometheusExporter) -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_reader(exporter.reader())
        .with_resource(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", "checkout"),
                    KeyValue::new("service.instance.id", "pod-7"),
                ])
                .build(),
        )
        .build()
}

pub(super) fn setup() -> (PrometheusExporter, SdkMeterProvider) {
    let exporter = PrometheusExporter::new();
    let provider = provider_with(&exporter);
    (exporter, provider)
}

/// The `# HELP`, `# TYPE` and sample lines of the family `name`, in output order.
pub(super) fn family<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            let bare = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            bare.strip_prefix(name).is_some_and(|rest| {
                rest.starts_with(['{', ' '])
                    || rest.starts_with("_bucket")
                    || rest.starts_with("_sum")
                    || rest.starts_with("_count")
            })
        })
        .collect()
}
