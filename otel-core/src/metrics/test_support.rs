//! A meter provider with a manual reader the test keeps, so tests never touch the
//! process-wide global provider.

use std::ops::Index;
use std::sync::Arc;

use opentelemetry_sdk::metrics::data::{Metric, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};

pub(crate) struct TestMeter {
    pub(crate) provider: SdkMeterProvider,
    reader: Arc<ManualReader>,
}

impl TestMeter {
    pub(crate) fn new() -> Self {
        let reader = Arc::new(ManualReader::builder().build());
        let provider = SdkMeterProvider::builder()
            .with_reader(crate::export::SharedReader::new(Arc::clone(&reader)))
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
