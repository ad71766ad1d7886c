//! The logger provider: one batch log processor per exporter, then the user's own
//! processors. The log bridges (`crate::logs`) emit into it.

use opentelemetry_sdk::logs::{BatchLogProcessor, LogExporter, LoggerProviderBuilder, SdkLoggerProvider};

use super::{Customize, Shared, CONSOLE_DELAY};
use crate::config::{BatchConfig, ExporterKind};
use crate::export::console::ConsoleLogExporter;
use crate::export::stats::Counted;
use crate::runtime::Executor;
use crate::Error;

pub(super) fn provider(
    shared: &mut Shared<'_>,
    customize: Vec<Customize<LoggerProviderBuilder>>,
) -> Result<SdkLoggerProvider, Error> {
    let config = shared.config;
    let mut builder = SdkLoggerProvider::builder().with_resource(shared.resource.clone());
    for kind in &config.logs_exporters {
        let processor = match kind {
            ExporterKind::Otlp => otlp(shared)?,
            ExporterKind::Console => {
                let mut batch = config.log_batch;
                batch.scheduled_delay = batch.scheduled_delay.min(CONSOLE_DELAY);
                let exporter = ConsoleLogExporter::builder().build();
                batched(shared, exporter, Executor::Inline, &batch)
            }
        };
        builder = builder.with_log_processor(processor);
    }
    for add in customize {
        builder = add(builder);
    }
    Ok(builder.build())
}

/// The SDK's batch log processor around `exporter`, counted in the logs' export
/// statistics; each export is bounded by `batch.export_timeout`.
fn batched<E: LogExporter + 'static>(
    shared: &Shared<'_>,
    exporter: E,
    executor: Executor,
    batch: &BatchConfig,
) -> BatchLogProcessor {
    let counted = Counted {
        inner: exporter,
        executor,
        timeout: batch.export_timeout,
        stats: shared.stats.logs.clone(),
    };
    let sdk_batch = opentelemetry_sdk::logs::BatchConfigBuilder::default()
        .with_max_queue_size(batch.max_queue_size)
        .with_scheduled_delay(batch.scheduled_delay)
        .with_max_export_batch_size(batch.max_export_batch_size)
        .build();
    BatchLogProcessor::builder(counted)
        .with_batch_config(sdk_batch)
        .build()
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn otlp(shared: &mut Shared<'_>) -> Result<BatchLogProcessor, Error> {
    let config = shared.config;
    let quiet = shared.quiet;
    let runtime = shared.export_runtime()?;
    let exporter = crate::export::otlp::log_exporter(&config.otlp_logs, runtime, quiet)?;
    let executor = Executor::Tokio(runtime.handle().clone());
    let mut batch = config.log_batch;
    // Never wait on a dead collector longer than the OTLP timeout says.
    batch.export_timeout = batch.export_timeout.min(config.otlp_logs.timeout);
    shared.wait_for(batch.export_timeout);
    Ok(batched(shared, exporter, executor, &batch))
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
fn otlp(_: &mut Shared<'_>) -> Result<BatchLogProcessor, Error> {
    Err(super::otlp_unavailable())
}
