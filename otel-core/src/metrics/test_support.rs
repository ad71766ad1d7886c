//! A meter provider with a manual reader the test keeps, so tests never touch the
//! process-wide global provider.

use std::ops::Index;
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{Metric, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality};

/// `SdkMeterProviderBuilder::with_reader` takes the reader by value; sharing it through
/// an `Arc` lets the test collect on demand.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

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

pub(crate) struct TestMeter {
    pub(crate) provider: SdkMeterProvider,
    reader: Arc<ManualReader>,
}

impl TestMeter {
    pub(crate) fn new() -> Self {
        let reader = Arc::new(ManualReader::builder().build());
        let provider = SdkMeterProvider::builder()
            .with_reader(SharedReader(Arc::clone(&reader)))
            .build();
        TestMeter { provider, reader }
    }

    pub(crate) fn collect(&self) -> Collected {
        let mut rm = ResourceMetrics::default();
        self.reader.collect(&mut rm).unwrap();
        Collected(rm)
    }
}

/// One collection, looked up by instrument name.
pub(crate) struct Collected(ResourceMetrics);

impl Collected {
    pub(crate) fn get(&self, name: &str) -> Option<&Metric> {
        self.0
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .find(|metric| metric.name() == name)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.0
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .map(|metric| metric.name().to_owned())
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.names().is_empty()
    }
}

impl Index<&str> for Collected {
    type Output = Metric;

    fn index(&self, name: &str) -> &Metric {
        self.get(name)
            .unwrap_or_else(|| panic!("no metric {name:?} in {:?}", self.names()))
    }
}
