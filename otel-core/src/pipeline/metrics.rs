//! The meter provider: a periodic reader per push exporter, the Prometheus pull reader
//! and its standalone listener, the OTLP exporter's default histogram aggregation, then
//! the user's own readers.

use std::net::{SocketAddr, ToSocketAddrs};

use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, InstrumentKind, MeterProviderBuilder, PeriodicReader, SdkMeterProvider, Stream,
};

use super::{Customize, Shared};
use crate::config::{ConfigWarning, HistogramAggregation, MetricsExporterKind};
use crate::export::console::ConsoleMetricExporter;
use crate::export::prometheus::{self, PrometheusExporter, PrometheusServer};
use crate::export::stats::Counted;
use crate::runtime::Executor;
use crate::Error;

/// The meter provider and, when Prometheus has one, its listener (kept by the guard).
pub(super) struct Meter {
    pub(super) provider: SdkMeterProvider,
    pub(super) prometheus_server: Option<PrometheusServer>,
}

pub(super) fn provider(
    shared: &mut Shared<'_>,
    customize: Vec<Customize<MeterProviderBuilder>>,
) -> Result<Meter, Error> {
    let config = shared.config;
    let mut builder = SdkMeterProvider::builder().with_resource(shared.resource.clone());
    let mut prometheus_server = None;
    for kind in &config.metrics_exporters {
        builder = match kind {
            MetricsExporterKind::Otlp => otlp(shared, builder)?,
            MetricsExporterKind::Console => {
                let exporter = ConsoleMetricExporter::builder().build();
                periodic(
                    shared,
                    builder,
                    exporter,
                    Executor::Inline,
                    config.metric_export_timeout,
                )
            }
            MetricsExporterKind::Prometheus => {
                let exporter = PrometheusExporter::new();
                let builder = builder.with_reader(exporter.reader());
                prometheus_server = serve(&exporter, &config.prometheus_address, &mut shared.warnings);
                prometheus::set_current(Some(exporter));
                builder
            }
        };
    }
    if config.metrics_exporters.contains(&MetricsExporterKind::Otlp)
        && config.metrics_histogram_aggregation == HistogramAggregation::Base2Exponential
    {
        // The SDK has no per-reader aggregation: a view is the one place to change a
        // histogram's default, and it applies to the provider's other readers too.
        builder = builder.with_view(exponential_histograms);
    }
    for add in customize {
        builder = add(builder);
    }
    let provider = builder.build();
    // The span queues exist by now (traces are built first): report their drops.
    crate::export::batch::metrics::register(&provider, &shared.stats.spans);
    crate::export::tail::stats::register(&provider, &shared.stats.tail);
    Ok(Meter {
        provider,
        prometheus_server,
    })
}

/// Every histogram aggregated into base-2 exponential buckets, with the SDK's default
/// size (160 buckets) and starting scale (20, which adjusts down to fit the data).
fn exponential_histograms(instrument: &Instrument) -> Option<Stream> {
    if instrument.kind() != InstrumentKind::Histogram {
        return None;
    }
    Stream::builder()
        .with_aggregation(Aggregation::Base2ExponentialHistogram {
            max_size: 160,
            max_scale: 20,
            record_min_max: true,
        })
        .build()
        .ok()
}

/// A periodic reader around `exporter`, counted in the metrics' export statistics.
fn periodic<E: PushMetricExporter>(
    shared: &Shared<'_>,
    builder: MeterProviderBuilder,
    exporter: E,
    executor: Executor,
    timeout: std::time::Duration,
) -> MeterProviderBuilder {
    let counted = Counted {
        inner: exporter,
        executor,
        timeout,
        stats: shared.stats.metrics.clone(),
    };
    builder.with_reader(
        PeriodicReader::builder(counted)
            .with_interval(shared.config.metric_export_interval)
            .build(),
    )
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn otlp(shared: &mut Shared<'_>, builder: MeterProviderBuilder) -> Result<MeterProviderBuilder, Error> {
    let config = shared.config;
    let quiet = shared.quiet;
    let runtime = shared.export_runtime()?;
    let exporter = crate::export::otlp::metric_exporter(
        &config.otlp_metrics,
        runtime,
        quiet,
        config.metrics_temporality,
    )?;
    let executor = Executor::Tokio(runtime.handle().clone());
    let timeout = config.metric_export_timeout.min(config.otlp_metrics.timeout);
    shared.wait_for(timeout);
    Ok(periodic(shared, builder, exporter, executor, timeout))
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
fn otlp(_: &mut Shared<'_>, _: MeterProviderBuilder) -> Result<MeterProviderBuilder, Error> {
    Err(super::otlp_unavailable())
}

/// Starts the standalone `/metrics` listener. Failing to bind is not fatal: the exporter
/// still serves through `PrometheusExporter::response`, mounted in the user's own server.
fn serve(
    exporter: &PrometheusExporter,
    (host, port): &(String, u16),
    warnings: &mut Vec<ConfigWarning>,
) -> Option<PrometheusServer> {
    let Some(addr) = resolve_listen_address(host, *port) else {
        warnings.push(ConfigWarning {
            variable: "OTEL_EXPORTER_PROMETHEUS_HOST".into(),
            value: host.clone(),
            fallback: "no standalone listener".into(),
            reason: "the host does not resolve to an address".into(),
        });
        return None;
    };
    match exporter.serve(addr) {
        Ok(server) => Some(server),
        Err(e) => {
            warnings.push(ConfigWarning {
                variable: "OTEL_EXPORTER_PROMETHEUS_PORT".into(),
                value: format!("{host}:{port}"),
                fallback: "no standalone listener (mount PrometheusExporter::response yourself)".into(),
                reason: e.to_string(),
            });
            None
        }
    }
}

fn resolve_listen_address(host: &str, port: u16) -> Option<SocketAddr> {
    (host, port).to_socket_addrs().ok()?.next()
}
