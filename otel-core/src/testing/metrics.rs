//! Reading metric points back from the test meter provider.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;

/// The value of one data point.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    /// A counter or up-down counter (any number type), cumulative.
    Sum(f64),
    /// A gauge.
    Gauge(f64),
    /// A histogram, cumulative.
    Histogram {
        /// Number of recorded values.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Counts per bucket (one more than `bounds`).
        bucket_counts: Vec<u64>,
    },
}

/// One data point of an instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The point's attributes.
    pub attributes: Vec<KeyValue>,
    /// Its value.
    pub value: PointValue,
    /// The instrument's unit.
    pub unit: String,
}

impl MetricPoint {
    /// The value of attribute `key`, if the point has it.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// Collects the test meter provider now and returns the points of instrument `name`.
///
/// Metrics are process-wide aggregates: filter the points by attribute values unique to
/// your test.
///
/// ```
/// use otel_core::testing::{metric_points, PointValue};
/// use otel_core::opentelemetry::{global, KeyValue};
///
/// otel_core::testing::install();
/// let counter = global::meter("doc").u64_counter("doc.widgets").build();
/// counter.add(2, &[KeyValue::new("test", "metric_points_doc")]);
/// let points = metric_points("doc.widgets");
/// let mine = points.iter().find(|p| p.attr("test").is_some()).unwrap();
/// assert_eq!(mine.value, PointValue::Sum(2.0));
/// ```
pub fn metric_points(name: &str) -> Vec<MetricPoint> {
    let harness = super::harness();
    let mut rm = ResourceMetrics::default();
    if harness.reader.collect(&mut rm).is_err() {
        return Vec::new();
    }
    let mut points = Vec::new();
    for scope in rm.scope_metrics() {
        for metric in scope.metrics().filter(|m| m.name() == name) {
            let unit = metric.unit().to_owned();
            match metric.data() {
                AggregatedMetrics::F64(data) => push(&mut points, data, &unit, |v| v),
                AggregatedMetrics::U64(data) => push(&mut points, data, &unit, |v| v as f64),
                AggregatedMetrics::I64(data) => push(&mut points, data, &unit, |v| v as f64),
            }
        }
    }
    points
}

fn push<T: Copy>(points: &mut Vec<MetricPoint>, data: &MetricData<T>, unit: &str, to_f64: impl Fn(T) -> f64) {
    let attrs = |it: &mut dyn Iterator<Item = &KeyValue>| it.cloned().collect::<Vec<_>>();
    match data {
        MetricData::Sum(sum) => points.extend(sum.data_points().map(|p| MetricPoint {
            attributes: attrs(&mut p.attributes()),
            value: PointValue::Sum(to_f64(p.value())),
            unit: unit.to_owned(),
        })),
        MetricData::Gauge(gauge) => points.extend(gauge.data_points().map(|p| MetricPoint {
            attributes: attrs(&mut p.attributes()),
            value: PointValue::Gauge(to_f64(p.value())),
            unit: unit.to_owned(),
        })),
        MetricData::Histogram(hist) => points.extend(hist.data_points().map(|p| MetricPoint {
            attributes: attrs(&mut p.attributes()),
            value: PointValue::Histogram {
                count: p.count(),
                sum: to_f64(p.sum()),
                bounds: p.bounds().collect(),
                bucket_counts: p.bucket_counts().collect(),
            },
            unit: unit.to_owned(),
        })),
        MetricData::ExponentialHistogram(_) => {}
    }
}
