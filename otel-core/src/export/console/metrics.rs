//! Metrics as compact lines: one header per metric, one line per data point, wrapped
//! to 80 terminal columns.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::point::{fmt_attributes, render_point, summary, PointAttributes, PointValue};
use super::{clean, paint, service_name, Output, OutputConfig, Style};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

/// Metrics the SDK reports about itself (its span processor's queue, for instance):
/// noise in a developer's terminal, and `telemetry_status()` already tells the
/// pipeline's health.
const SDK_INTERNAL_PREFIX: &str = "otel.sdk.";

/// Builder for [`ConsoleMetricExporter`].
///
/// ```
/// use otel_core::export::console::ConsoleMetricExporter;
///
/// let exporter = ConsoleMetricExporter::builder()
///     .with_writer(std::io::stdout())
///     .with_color(false)
///     .build();
/// # drop(exporter);
/// ```
#[must_use]
#[derive(Debug, Default)]
pub struct ConsoleMetricExporterBuilder {
    output: OutputConfig,
}

impl ConsoleMetricExporterBuilder {
    /// Writes the metrics to `writer` instead of stderr. A custom writer is not
    /// coloured unless [`with_color`](Self::with_color) says so.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleMetricExporter;
    ///
    /// let exporter = ConsoleMetricExporter::builder().with_writer(std::io::sink()).build();
    /// # drop(exporter);
    /// ```
    pub fn with_writer<W: Write + Send + 'static>(mut self, writer: W) -> Self {
        self.output.writer = Some(Box::new(writer));
        self
    }

    /// Turns ANSI colours on or off. Default: on only when writing to stderr, stderr is
    /// a terminal and `NO_COLOR` is unset or empty.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleMetricExporter;
    ///
    /// let exporter = ConsoleMetricExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn with_color(mut self, color: bool) -> Self {
        self.output.color = Some(color);
        self
    }

    /// Builds the exporter.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleMetricExporter;
    ///
    /// let exporter = ConsoleMetricExporter::builder().build();
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn build(self) -> ConsoleMetricExporter {
        ConsoleMetricExporter {
            output: self.output.build(),
            is_shutdown: AtomicBool::new(false),
        }
    }
}

/// A [`PushMetricExporter`] that prints each collection compactly, for development.
///
/// Cumulative temporality, so each line shows the total since start. Metrics are sorted
/// by name and data points by attributes; histograms show count, sum, min and max:
///
/// ```text
/// metrics · users-api
///   http.server.request.duration [s] histogram
///     {http.request.method=GET, http.route=/users/{id}}
///       count=3 sum=360 ms min=100 ms max=140 ms
///   jobs.processed counter
///     {queue=high} 5
/// ```
///
/// Histograms in seconds show durations (`360 ms`). Lines fit 80 columns: a data point with many attributes continues on the lines
/// below. The SDK's own `otel.sdk.*` metrics are left out (`telemetry_status()`
/// reports the pipeline's health). Collections without any data point print nothing,
/// so an idle service stays quiet.
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use otel_core::export::console::ConsoleMetricExporter;
///
/// let provider = SdkMeterProvider::builder()
///     .with_periodic_exporter(ConsoleMetricExporter::default())
///     .build();
/// provider.meter("example").u64_counter("jobs.processed").build().add(1, &[]);
/// provider.force_flush().unwrap(); // prints now instead of at the next interval
/// # provider.shutdown().unwrap();
/// ```
pub struct ConsoleMetricExporter {
    output: Output,
    is_shutdown: AtomicBool,
}

impl ConsoleMetricExporter {
    /// Starts a builder; see [`ConsoleMetricExporterBuilder`].
    ///
    /// ```
    /// use otel_core::export::console::ConsoleMetricExporter;
    ///
    /// let exporter = ConsoleMetricExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn builder() -> ConsoleMetricExporterBuilder {
        ConsoleMetricExporterBuilder::default()
    }

    fn export_metrics(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.output.write(&render_metrics(metrics, self.output.color))
    }
}

impl Default for ConsoleMetricExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for ConsoleMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleMetricExporter")
            .field("output", &self.output)
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish()
    }
}

impl PushMetricExporter for ConsoleMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_metrics(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Every export is written and flushed before it returns.
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// The metric's kind label and its points as `(attributes, value)`; histograms
/// `in_seconds` show durations.
fn points<T: PointValue>(
    data: &MetricData<T>,
    in_seconds: bool,
) -> (&'static str, Vec<(PointAttributes, String)>) {
    match data {
        MetricData::Gauge(gauge) => (
            "gauge",
            gauge
                .data_points()
                .map(|p| (fmt_attributes(p.attributes()), p.value().show()))
                .collect(),
        ),
        MetricData::Sum(sum) => (
            if sum.is_monotonic() {
                "counter"
            } else {
                "updowncounter"
            },
            sum.data_points()
                .map(|p| (fmt_attributes(p.attributes()), p.value().show()))
                .collect(),
        ),
        MetricData::Histogram(histogram) => (
            "histogram",
            histogram
                .data_points()
                .map(|p| {
                    (
                        fmt_attributes(p.attributes()),
                        summary(p.count(), p.sum(), p.min(), p.max(), in_seconds),
                    )
                })
                .collect(),
        ),
        MetricData::ExponentialHistogram(histogram) => (
            "exponential histogram",
            histogram
                .data_points()
                .map(|p| {
                    (
                        fmt_attributes(p.attributes()),
                        summary(
                            u64::try_from(p.count()).unwrap_or(u64::MAX),
                            p.sum(),
                            p.min(),
                            p.max(),
                            in_seconds,
                        ),
                    )
                })
                .collect(),
        ),
    }
}

fn render_metric(out: &mut String, metric: &Metric, color: bool) {
    if metric.name().starts_with(SDK_INTERNAL_PREFIX) {
        return;
    }
    let in_seconds = metric.unit() == "s";
    let (kind, mut points) = match metric.data() {
        AggregatedMetrics::F64(data) => points(data, in_seconds),
        AggregatedMetrics::U64(data) => points(data, in_seconds),
        AggregatedMetrics::I64(data) => points(data, in_seconds),
    };
    if points.is_empty() {
        return;
    }
    points.sort();
    out.push_str("  ");
    paint(out, color, Style::Bold, &clean(metric.name(), 96, true));
    let unit = clean(metric.unit(), 24, true);
    let mut details = String::new();
    if !unit.is_empty() {
        details.push_str(&format!(" [{unit}]"));
    }
    details.push(' ');
    details.push_str(kind);
    paint(out, color, Style::Dim, &details);
    out.push('\n');
    for (attributes, value) in points {
        render_point(out, color, &attributes.pieces, &value);
    }
}

fn render_metrics(metrics: &ResourceMetrics, color: bool) -> String {
    let mut all: Vec<&Metric> = metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    let mut body = String::new();
    for metric in all {
        render_metric(&mut body, metric, color);
    }
    if body.is_empty() {
        return body;
    }
    let mut text = String::new();
    let header = match service_name(metrics.resource()) {
        Some(service) => format!("metrics · {service}"),
        None => "metrics".to_owned(),
    };
    paint(&mut text, color, Style::Bold, &header);
    text.push('\n');
    text.push_str(&body);
    text
}

#[cfg(test)]
mod tests {
    use super::super::point::MAX_LINE_COLUMNS;
    use super::super::test_support::{BrokenPipe, SharedBuf};
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::Resource;
    use unicode_width::UnicodeWidthStr;

    fn provider(exporter: ConsoleMetricExporter) -> SdkMeterProvider {
        SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .with_resource(Resource::builder_empty().with_service_name("users-api").build())
            .build()
    }

    #[test]
    fn prints_each_kind_of_metric() {
        let buf = SharedBuf::default();
        let provider = provider(
            ConsoleMetricExporter::builder()
                .with_writer(buf.clone())
                .with_color(false)
                .build(),
        );
        let meter = provider.meter("test");
        let jobs = meter.u64_counter("jobs.processed").with_unit("{job}").build();
        jobs.add(3, &[KeyValue::new("queue", "high")]);
        jobs.add(2, &[KeyValue::new("queue", "high")]);
        jobs.add(1, &[KeyValue::new("queue", "low")]);
        let in_flight = meter.i64_up_down_counter("jobs.in_flight").build();
        in_flight.add(2, &[]);
        in_flight.add(-3, &[]);
        let duration = meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .build();
        let route = [
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("http.request.method", "GET"),
        ];
        for seconds in [0.1, 0.14, 0.12] {
            duration.record(seconds, &route);
        }
        meter
            .f64_gauge("queue.fill_ratio")
            .build()
            .record(0.25, &[KeyValue::new("queue", "high lane")]);

        provider.force_flush().unwrap();

        let expected = "\
metrics · users-api
  http.server.request.duration [s] histogram
    {http.request.method=GET, http.route=/users/{id}}
      count=3 sum=360 ms min=100 ms max=140 ms
  jobs.in_flight updowncounter
    {} -1
  jobs.processed [{job}] counter
    {queue=high} 5
    {queue=low} 1
  queue.fill_ratio gauge
    {queue=\"high lane\"} 0.25
";
        assert_eq!(buf.text(), expected, "actual:\n{}", buf.text());

        // Cumulative: the next collection repeats totals, including unchanged ones.
        buf.clear();
        jobs.add(1, &[KeyValue::new("queue", "low")]);
        provider.force_flush().unwrap();
        assert!(buf.text().contains("    {queue=high} 5\n    {queue=low} 2\n"));
        provider.shutdown().unwrap();
    }

    #[test]
    fn wide_points_wrap_at_80_columns_and_sdk_metrics_are_left_out() {
        let buf = SharedBuf::default();
        let provider = provider(
            ConsoleMetricExporter::builder()
                .with_writer(buf.clone())
                .with_color(false)
                .build(),
        );
        let meter = provider.meter("test");
        meter
            .u64_counter("otel.sdk.processor.span.processed")
            .build()
            .add(
                7,
                &[KeyValue::new("otel.component.type", "batching_span_processor")],
            );
        meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .build()
            .record(
                0.25,
                &[
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("http.response.status_code", 200),
                    KeyValue::new("http.route", "/orders/{id}"),
                    KeyValue::new("network.protocol.version", "1.1"),
                    KeyValue::new("url.scheme", "http"),
                ],
            );
        provider.force_flush().unwrap();

        let expected = "\
metrics · users-api
  http.server.request.duration [s] histogram
    {http.request.method=GET, http.response.status_code=200,
      http.route=/orders/{id}, network.protocol.version=1.1, url.scheme=http}
      count=1 sum=250 ms min=250 ms max=250 ms
";
        assert_eq!(buf.text(), expected, "actual:\n{}", buf.text());
        for line in buf.text().lines() {
            assert!(line.width() <= MAX_LINE_COLUMNS, "{line}");
        }
        provider.shutdown().unwrap();
    }

    #[test]
    fn an_idle_collection_prints_nothing() {
        let buf = SharedBuf::default();
        let provider = provider(
            ConsoleMetricExporter::builder()
                .with_writer(buf.clone())
                .with_color(false)
                .build(),
        );
        let _unused = provider.meter("test").u64_counter("never.used").build();
        provider.force_flush().unwrap();
        assert_eq!(buf.text(), "");
        provider.shutdown().unwrap();
    }

    #[test]
    fn colour_and_temporality() {
        let buf = SharedBuf::default();
        let exporter = ConsoleMetricExporter::builder()
            .with_writer(buf.clone())
            .with_color(true)
            .build();
        assert_eq!(exporter.temporality(), Temporality::Cumulative);
        let provider = provider(exporter);
        provider.meter("test").u64_counter("c").build().add(1, &[]);
        provider.force_flush().unwrap();
        assert!(
            buf.text()
                .starts_with("\x1b[1mmetrics · users-api\x1b[0m\n  \x1b[1mc\x1b[0m"),
            "{:?}",
            buf.text()
        );
        provider.shutdown().unwrap();
    }

    #[test]
    fn write_errors_and_shutdown_are_reported() {
        let exporter = ConsoleMetricExporter::builder().with_writer(BrokenPipe).build();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        provider.meter("test").u64_counter("c").build().add(1, &[]);
        assert!(provider.force_flush().is_err());
        let _ = provider.shutdown();

        let exporter = ConsoleMetricExporter::builder()
            .with_writer(std::io::sink())
            .build();
        exporter.shutdown().unwrap();
        let after = futures_executor::block_on(exporter.export(&ResourceMetrics::default()));
        assert!(matches!(after, Err(OTelSdkError::AlreadyShutdown)));
    }
}
