//! A metric reader that can be shared: collect on demand from code that does not own
//! the meter provider.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

/// A [`ManualReader`] behind an `Arc`: `SdkMeterProvider::builder().with_reader(..)`
/// takes its reader by value, so keep a clone to collect whenever you like (a scrape
/// handler, a test).
///
/// ```
/// use std::sync::Arc;
/// use otel_core::export::SharedReader;
/// use otel_core::opentelemetry::metrics::MeterProvider as _;
/// use otel_core::opentelemetry_sdk::metrics::{data::ResourceMetrics, reader::MetricReader, ManualReader, SdkMeterProvider};
///
/// let reader = SharedReader::new(Arc::new(ManualReader::builder().build()));
/// let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
/// provider.meter("demo").u64_counter("demo.count").build().add(1, &[]);
/// let mut collected = ResourceMetrics::default();
/// reader.collect(&mut collected).unwrap();
/// assert_eq!(collected.scope_metrics().count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct SharedReader(Arc<ManualReader>);

impl SharedReader {
    /// Shares `reader`.
    pub fn new(reader: Arc<ManualReader>) -> Self {
        Self(reader)
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
