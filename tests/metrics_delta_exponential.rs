//! Delta temporality and base-2 exponential histograms, chosen with the standard
//! variables, arrive at the collector as such.

use opentelemetry::{global, KeyValue};
use otel_tests::{unique_service_name, Collector, RECEIVE_TIMEOUT};

const COUNTER: &str = "otel_tests.delta.requests";
const HISTOGRAM: &str = "otel_tests.delta.latency";

#[test]
fn delta_sums_and_exponential_histograms_arrive() {
    let collector = Collector::start();
    let service = unique_service_name("delta-exponential");
    let endpoint = collector.http_endpoint();
    let env = [
        ("OTEL_SERVICE_NAME", service.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "delta".to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "base2_exponential_bucket_histogram".to_owned(),
        ),
    ];
    let guard = otel_core::Telemetry::builder()
        .env(move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .quiet(true)
        .init()
        .expect("init");
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());

    let meter = global::meter("otel-tests");
    let counter = meter.u64_counter(COUNTER).build();
    let histogram = meter
        .f64_histogram(HISTOGRAM)
        .with_unit("s")
        // Advised boundaries apply to explicit buckets only: exponential ignores them.
        .with_boundaries(vec![0.1, 1.0])
        .build();
    let route = [KeyValue::new("http.route", "/a")];
    counter.add(5, &route);
    for v in [0.5, 1.0, 2.0] {
        histogram.record(v, &route);
    }
    guard.force_flush().expect("first export");
    counter.add(2, &route);
    histogram.record(4.0, &route);
    guard.shutdown().expect("second export");

    let ours =
        |points: &[otel_tests::ReceivedDataPoint], metric: &str| -> Vec<otel_tests::ReceivedDataPoint> {
            points
                .iter()
                .filter(|p| p.service_name() == Some(service.as_str()) && p.metric == metric)
                .cloned()
                .collect()
        };
    let points =
        collector.wait_for_data_points("two exports of each instrument", RECEIVE_TIMEOUT, |points| {
            ours(points, COUNTER).len() == 2 && ours(points, HISTOGRAM).len() == 2
        });

    // Delta sums: each export carries what was added since the previous one (cumulative
    // would be 5, then 7).
    let sums = ours(&points, COUNTER);
    for sum in &sums {
        assert_eq!(sum.data_type, "Sum", "{sum:#?}");
        assert_eq!(sum.temporality, "AGGREGATION_TEMPORALITY_DELTA", "{sum:#?}");
    }
    assert_eq!(
        sums.iter()
            .map(|p| p.value.as_deref().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["5", "2"]
    );

    // Exponential histograms, delta too: the first export holds 0.5, 1 and 2, the
    // second only 4.
    let histograms = ours(&points, HISTOGRAM);
    for (h, values) in histograms.iter().zip([&[0.5, 1.0, 2.0][..], &[4.0][..]]) {
        assert_eq!(h.data_type, "ExponentialHistogram", "{h:#?}");
        assert_eq!(h.temporality, "AGGREGATION_TEMPORALITY_DELTA", "{h:#?}");
        assert!(h.bounds.is_empty(), "no explicit buckets: {h:#?}");
        assert_eq!(h.count, Some(values.len() as u64));
        assert_eq!(h.sum, Some(values.iter().sum()));
        let counted: u64 = h.exponential_buckets.iter().map(|(_, _, n)| n).sum();
        assert_eq!(counted, values.len() as u64, "{h:#?}");
        for v in values {
            assert!(
                h.exponential_buckets
                    .iter()
                    .any(|&(lower, upper, n)| n > 0 && lower < *v && *v <= upper),
                "{v} falls in a non-empty bucket: {:?}",
                h.exponential_buckets
                    .iter()
                    .filter(|b| b.2 > 0)
                    .collect::<Vec<_>>()
            );
        }
    }
}
