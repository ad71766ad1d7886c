//! Histogram points as cumulative `_bucket` series with `_sum` and `_count`; exponential
//! histograms become classic ones at their current scale.

use std::fmt::Write as _;

use opentelemetry_sdk::metrics::data::{ExponentialHistogramDataPoint, HistogramDataPoint};

use super::text::{write_sample, Sample};

/// Accumulates `(upper bound, count)` pairs into cumulative `_bucket` lines. A bound that is
/// not finite or not above the previous one is folded into the next bucket, which keeps `le`
/// strictly increasing whatever the input looks like.
struct Buckets<'a> {
    out: String,
    name: String,
    labels: &'a str,
    cumulative: u64,
    last_bound: Option<f64>,
}

impl<'a> Buckets<'a> {
    fn new(name: &str, labels: &'a str) -> Self {
        Self {
            out: String::new(),
            name: format!("{name}_bucket"),
            labels,
            cumulative: 0,
            last_bound: None,
        }
    }

    fn push(&mut self, bound: f64, count: u64) {
        self.cumulative = self.cumulative.saturating_add(count);
        let rising = self.last_bound.is_none_or(|last| bound > last);
        if bound.is_finite() && rising {
            self.last_bound = Some(bound);
            let cumulative = self.cumulative;
            write_sample(&mut self.out, &self.name, self.labels, Some(bound), |out| {
                let _ = write!(out, "{cumulative}");
            });
        }
    }

    fn finish<T: Sample>(mut self, base: &str, count: u64, sum: Option<T>) -> String {
        write_sample(
            &mut self.out,
            &self.name,
            self.labels,
            Some(f64::INFINITY),
            |out| {
                let _ = write!(out, "{count}");
            },
        );
        if let Some(sum) = sum {
            write_sample(&mut self.out, &format!("{base}_sum"), self.labels, None, |out| {
                sum.write_to(out)
            });
        }
        write_sample(
            &mut self.out,
            &format!("{base}_count"),
            self.labels,
            None,
            |out| {
                let _ = write!(out, "{count}");
            },
        );
        self.out
    }
}

pub(super) fn explicit_histogram_lines<T: Sample>(
    name: &str,
    labels: &str,
    point: &HistogramDataPoint<T>,
) -> String {
    let mut buckets = Buckets::new(name, labels);
    let mut saw_negative = point.min().is_some_and(Sample::is_negative) || point.sum().is_negative();
    // The bucket_counts list has one more entry than bounds: the overflow bucket, whose
    // count only shows up in `+Inf`.
    for (bound, count) in point.bounds().zip(point.bucket_counts()) {
        saw_negative |= bound < 0.0 && count > 0;
        buckets.push(bound, count);
    }
    // `_sum` is only meaningful to Prometheus when it cannot decrease (no negative values).
    let sum = (!saw_negative).then(|| point.sum());
    buckets.finish(name, point.count(), sum)
}

pub(super) fn exponential_histogram_lines<T: Sample>(
    name: &str,
    labels: &str,
    point: &ExponentialHistogramDataPoint<T>,
) -> String {
    let scale = point.scale();
    let mut buckets = Buckets::new(name, labels);
    // Negative bucket `i` holds values in [-base^(i+1), -base^i): ascending value order is
    // descending index, and its upper bound is -base^i.
    let negative = point.negative_bucket();
    let negative_counts: Vec<u64> = negative.counts().collect();
    let mut saw_negative = point.min().is_some_and(Sample::is_negative);
    for (k, count) in negative_counts.iter().enumerate().rev() {
        saw_negative |= *count > 0;
        let index = i64::from(negative.offset()) + k as i64;
        buckets.push(-exponential_bound(index, scale), *count);
    }
    buckets.push(point.zero_threshold().max(0.0), point.zero_count());
    // Positive bucket `i` holds values in (base^i, base^(i+1)].
    let positive = point.positive_bucket();
    for (k, count) in positive.counts().enumerate() {
        let index = i64::from(positive.offset()) + k as i64;
        buckets.push(exponential_bound(index + 1, scale), count);
    }
    let sum = (!saw_negative).then(|| point.sum());
    buckets.finish(name, point.count() as u64, sum)
}

/// `base^index` with `base = 2^(2^-scale)`.
fn exponential_bound(index: i64, scale: i8) -> f64 {
    (index as f64 * (-f64::from(scale)).exp2()).exp2()
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::metrics::{Aggregation, Instrument, SdkMeterProvider, Stream};

    use super::super::test_support::{family, setup};
    use super::super::PrometheusExporter;

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let (exporter, provider) = setup();
        let histogram = provider
            .meter("prom.test.histogram")
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .with_boundaries(vec![0.1, 0.5, 1.0])
            .build();
        let attrs = [KeyValue::new("http.request.method", "GET")];
        for value in [0.05, 0.1, 0.3, 0.7, 0.9, 2.5] {
            histogram.record(value, &attrs);
        }

        let text = exporter.render().unwrap();
        let labels = "http_request_method=\"GET\",otel_scope_name=\"prom.test.histogram\"";
        let name = "http_server_request_duration_seconds";
        assert_eq!(
            family(&text, name),
            vec![
                format!("# HELP {name} Duration of HTTP server requests."),
                format!("# TYPE {name} histogram"),
                format!("{name}_bucket{{{labels},le=\"0.1\"}} 2"),
                format!("{name}_bucket{{{labels},le=\"0.5\"}} 3"),
                format!("{name}_bucket{{{labels},le=\"1\"}} 5"),
                format!("{name}_bucket{{{labels},le=\"+Inf\"}} 6"),
                format!("{name}_sum{{{labels}}} 4.55"),
                format!("{name}_count{{{labels}}} 6"),
            ]
        );
    }

    #[test]
    fn histogram_with_negative_values_has_no_sum() {
        let (exporter, provider) = setup();
        let histogram = provider
            .meter("prom.test.negative")
            .f64_histogram("balance.change")
            .with_boundaries(vec![-10.0, 0.0, 10.0])
            .build();
        histogram.record(-20.0, &[]);
        histogram.record(5.0, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("balance_change_bucket{otel_scope_name=\"prom.test.negative\",le=\"-10\"} 1\n"));
        assert!(text.contains("balance_change_count{otel_scope_name=\"prom.test.negative\"} 2\n"));
        assert!(!text.contains("balance_change_sum"));
    }

    #[test]
    fn exponential_histogram_becomes_classic_buckets() {
        let exporter = PrometheusExporter::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter.reader())
            .with_view(|instrument: &Instrument| {
                (instrument.name() == "prom.test.exponential").then(|| {
                    Stream::builder()
                        .with_aggregation(Aggregation::Base2ExponentialHistogram {
                            max_size: 160,
                            max_scale: 0,
                            record_min_max: true,
                        })
                        .build()
                        .unwrap()
                })
            })
            .build();
        let histogram = provider
            .meter("prom.test.exp")
            .f64_histogram("prom.test.exponential")
            .build();
        // Scale 0 means base 2: buckets (1,2], (2,4], (4,8].
        for value in [1.5, 3.0, 3.5, 8.0] {
            histogram.record(value, &[]);
        }
        let text = exporter.render().unwrap();
        let lines = family(&text, "prom_test_exponential");
        let buckets: Vec<_> = lines.iter().filter(|l| l.contains("_bucket")).collect();
        let labels = "otel_scope_name=\"prom.test.exp\"";
        assert_eq!(
            buckets,
            vec![
                &format!("prom_test_exponential_bucket{{{labels},le=\"0\"}} 0"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"2\"}} 1"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"4\"}} 3"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"8\"}} 4"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"+Inf\"}} 4"),
            ]
        );
        assert!(text.contains(&format!("prom_test_exponential_sum{{{labels}}} 16\n")));
        assert!(text.contains(&format!("prom_test_exponential_count{{{labels}}} 4\n")));
    }
}
