//! Turns collected [`ResourceMetrics`] into the text exposition: one family per Prometheus
//! name, sorted, with `target_info`, `otel_scope_info` and the conflict notes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

use super::builder::Options;
use super::histogram::{explicit_histogram_lines, exponential_histogram_lines};
use super::labels::{attribute_labels, join_labels, point_labels, render_labels, render_scope_labels};
use super::naming::metric_name;
use super::text::{escape_help, write_sample, Sample};

/// The Prometheus type of a family; it also decides the unit and `_total` suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Clone, Copy)]
enum Help<'a> {
    Description(&'a str),
    Fallback(&'a str),
}

struct Family {
    kind: Kind,
    help: String,
    help_is_description: bool,
    /// Rendered sample lines per series, keyed by the series' labels (without `le`).
    series: BTreeMap<String, String>,
}

#[derive(Default)]
struct Encoder {
    families: BTreeMap<String, Family>,
    notes: BTreeSet<String>,
}

/// Encodes one collection. The output is sorted, so equal data renders to equal bytes.
pub(super) fn encode(metrics: &ResourceMetrics, options: Options) -> String {
    let mut encoder = Encoder::default();
    if options.target_info {
        encoder.add_target_info(metrics.resource());
    }

    let mut scopes: Vec<_> = metrics.scope_metrics().collect();
    scopes.sort_by(|a, b| scope_key(a.scope()).cmp(&scope_key(b.scope())));
    // Conflicts are resolved "first wins", so the order has to be stable across scrapes.
    let mut items: Vec<(&InstrumentationScope, &Metric)> = scopes
        .iter()
        .flat_map(|sm| sm.metrics().map(move |m| (sm.scope(), m)))
        .collect();
    items.sort_by(|a, b| {
        (scope_key(a.0), a.1.name(), a.1.unit(), a.1.description()).cmp(&(
            scope_key(b.0),
            b.1.name(),
            b.1.unit(),
            b.1.description(),
        ))
    });

    for scope in scopes.iter().map(|sm| sm.scope()) {
        if options.scope_labels && scope.attributes().next().is_some() {
            encoder.add_scope_info(scope);
        }
    }
    for (scope, metric) in items {
        let scope_labels = if options.scope_labels {
            render_scope_labels(scope)
        } else {
            String::new()
        };
        match metric.data() {
            AggregatedMetrics::F64(data) => encoder.add_metric(metric, data, &scope_labels, options),
            AggregatedMetrics::U64(data) => encoder.add_metric(metric, data, &scope_labels, options),
            AggregatedMetrics::I64(data) => encoder.add_metric(metric, data, &scope_labels, options),
        }
    }
    encoder.finish()
}

fn scope_key(scope: &InstrumentationScope) -> (&str, Option<&str>) {
    (scope.name(), scope.version())
}

impl Encoder {
    fn add_target_info(&mut self, resource: &Resource) {
        if resource.is_empty() {
            return;
        }
        let labels = render_labels(&attribute_labels(
            resource.iter().map(|(k, v)| (k.as_str(), v)),
            &[],
        ));
        let mut line = String::new();
        write_sample(&mut line, "target_info", &labels, None, |out| out.push('1'));
        let help = Help::Description("Target metadata");
        self.insert("target_info", Kind::Gauge, help, labels, line);
    }

    fn add_scope_info(&mut self, scope: &InstrumentationScope) {
        let reserved = ["otel_scope_name", "otel_scope_version"];
        let attributes = render_labels(&attribute_labels(
            scope.attributes().map(|kv| (kv.key.as_str(), &kv.value)),
            &reserved,
        ));
        let labels = join_labels(&render_scope_labels(scope), &attributes);
        let mut line = String::new();
        write_sample(&mut line, "otel_scope_info", &labels, None, |out| out.push('1'));
        let help = Help::Description("Instrumentation Scope metadata");
        self.insert("otel_scope_info", Kind::Gauge, help, labels, line);
    }

    fn add_metric<T: Sample>(
        &mut self,
        metric: &Metric,
        data: &MetricData<T>,
        scope_labels: &str,
        options: Options,
    ) {
        let kind = match data {
            MetricData::Gauge(_) => Kind::Gauge,
            MetricData::Sum(sum) if sum.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::Sum(sum) if sum.is_monotonic() => Kind::Counter,
            MetricData::Sum(_) => Kind::Gauge,
            MetricData::Histogram(h) if h.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::ExponentialHistogram(h) if h.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::Histogram(_) | MetricData::ExponentialHistogram(_) => Kind::Histogram,
        };
        let name = metric_name(metric.name(), metric.unit(), kind, options);
        if let Some(existing) = self.families.get(&name) {
            if existing.kind != kind {
                self.notes.insert(format!(
                    "dropped instrument {:?}: its name {name} is already a {}, not a {}",
                    metric.name(),
                    existing.kind.as_str(),
                    kind.as_str()
                ));
                return;
            }
        }
        let reserved: &[&str] = match (kind, options.scope_labels) {
            (Kind::Histogram, true) => &["le", "otel_scope_name", "otel_scope_version"],
            (Kind::Histogram, false) => &["le"],
            (_, true) => &["otel_scope_name", "otel_scope_version"],
            (_, false) => &[],
        };
        // promtool flags families without help; the OTel name at least says where it came from.
        let help = match metric.description() {
            "" => Help::Fallback(metric.name()),
            description => Help::Description(description),
        };
        match data {
            MetricData::Gauge(gauge) => {
                for point in gauge.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let mut line = String::new();
                    write_sample(&mut line, &name, &labels, None, |out| point.value().write_to(out));
                    self.insert(&name, kind, help, labels, line);
                }
            }
            MetricData::Sum(sum) => {
                for point in sum.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let mut line = String::new();
                    write_sample(&mut line, &name, &labels, None, |out| point.value().write_to(out));
                    self.insert(&name, kind, help, labels, line);
                }
            }
            MetricData::Histogram(histogram) => {
                for point in histogram.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let lines = explicit_histogram_lines(&name, &labels, point);
                    self.insert(&name, kind, help, labels, lines);
                }
            }
            MetricData::ExponentialHistogram(histogram) => {
                for point in histogram.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let lines = exponential_histogram_lines(&name, &labels, point);
                    self.insert(&name, kind, help, labels, lines);
                }
            }
        }
    }

    fn note_delta(&mut self, metric: &Metric) {
        self.notes.insert(format!(
            "dropped instrument {:?}: delta temporality cannot be exposed to Prometheus",
            metric.name()
        ));
    }

    fn insert(&mut self, name: &str, kind: Kind, help: Help<'_>, labels: String, lines: String) {
        let family = self.families.entry(name.to_owned()).or_insert_with(|| Family {
            kind,
            help: String::new(),
            help_is_description: false,
            series: BTreeMap::new(),
        });
        // One HELP per family: the first description wins, a fallback only fills a gap.
        match help {
            Help::Description(text) if !family.help_is_description => {
                family.help = text.to_owned();
                family.help_is_description = true;
            }
            Help::Fallback(text) if family.help.is_empty() => family.help = text.to_owned(),
            _ => {}
        }
        family.series.entry(labels).or_insert(lines);
    }

    fn finish(self) -> String {
        let mut out = String::new();
        for (name, family) in &self.families {
            out.push_str("# HELP ");
            out.push_str(name);
            if !family.help.is_empty() {
                out.push(' ');
                escape_help(&mut out, &family.help);
            }
            out.push('\n');
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for lines in family.series.values() {
                out.push_str(lines);
            }
        }
        for note in &self.notes {
            out.push_str("# otel: ");
            escape_help(&mut out, note);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::{InstrumentationScope, KeyValue};

    use super::super::test_support::{family, provider_with, setup};
    use super::super::PrometheusExporter;

    #[test]
    fn counter_gets_total_suffix_type_help_and_scope_labels() {
        let (exporter, provider) = setup();
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("prom.test.counter")
                .with_version("1.2.3")
                .build(),
        );
        let counter = meter
            .u64_counter("orders.placed")
            .with_description("Orders placed")
            .build();
        counter.add(2, &[KeyValue::new("payment.method", "card")]);
        counter.add(5, &[KeyValue::new("payment.method", "card")]);
        counter.add(1, &[KeyValue::new("payment.method", "cash")]);
        let f64_counter = meter.f64_counter("prom_test_spent").build();
        f64_counter.add(1.5, &[]);

        let text = exporter.render().unwrap();
        assert_eq!(
            family(&text, "orders_placed_total"),
            vec![
                "# HELP orders_placed_total Orders placed",
                "# TYPE orders_placed_total counter",
                "orders_placed_total{payment_method=\"card\",otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 7",
                "orders_placed_total{payment_method=\"cash\",otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 1",
            ]
        );
        assert!(text.contains("# TYPE prom_test_spent_total counter\n"));
        assert!(text.contains(
            "prom_test_spent_total{otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 1.5\n"
        ));
        assert!(text.ends_with('\n'));
        // Rendering twice gives the same bytes: the output is sorted.
        assert_eq!(text, exporter.render().unwrap());
    }

    #[test]
    fn up_down_counter_and_gauges_are_gauges() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.gauge");
        let queue = meter.i64_up_down_counter("queue.depth").build();
        queue.add(5, &[]);
        queue.add(-8, &[]);
        meter
            .f64_gauge("cpu.temperature")
            .with_unit("Cel")
            .build()
            .record(-4.25, &[]);
        meter
            .u64_gauge("pool.size")
            .with_unit("{connection}")
            .build()
            .record(12, &[]);
        let _observable = meter
            .u64_observable_gauge("prom.test.observed")
            .with_callback(|observer| observer.observe(42, &[]))
            .build();

        let text = exporter.render().unwrap();
        let scope = "{otel_scope_name=\"prom.test.gauge\"}";
        assert!(text.contains("# TYPE queue_depth gauge\n"));
        assert!(text.contains(&format!("queue_depth{scope} -3\n")));
        assert!(text.contains("# TYPE cpu_temperature_celsius gauge\n"));
        assert!(text.contains(&format!("cpu_temperature_celsius{scope} -4.25\n")));
        assert!(text.contains(&format!("pool_size{scope} 12\n")));
        assert!(text.contains(&format!("prom_test_observed{scope} 42\n")));
    }

    #[test]
    fn resource_becomes_target_info() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.target")
            .u64_counter("t")
            .build()
            .add(1, &[]);
        let text = exporter.render().unwrap();
        assert_eq!(
            family(&text, "target_info"),
            vec![
                "# HELP target_info Target metadata",
                "# TYPE target_info gauge",
                "target_info{service_instance_id=\"pod-7\",service_name=\"checkout\"} 1",
            ]
        );
        // Resource attributes stay off the other series.
        assert!(text.contains("t_total{otel_scope_name=\"prom.test.target\"} 1\n"));

        let bare = PrometheusExporter::builder()
            .target_info(false)
            .scope_labels(false)
            .counter_suffixes(false)
            .build();
        let bare_provider = provider_with(&bare);
        bare_provider
            .meter("prom.test.bare")
            .u64_counter("t")
            .build()
            .add(4, &[]);
        let text = bare.render().unwrap();
        assert!(!text.contains("target_info"));
        assert!(text.contains("\nt 4\n"));
    }

    #[test]
    fn scope_attributes_become_otel_scope_info() {
        let (exporter, provider) = setup();
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("prom.test.scope")
                .with_attributes([KeyValue::new("library.mascot", "bear")])
                .build(),
        );
        meter.u64_counter("s").build().add(1, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("# TYPE otel_scope_info gauge\n"));
        assert!(
            text.contains("otel_scope_info{otel_scope_name=\"prom.test.scope\",library_mascot=\"bear\"} 1\n")
        );
    }

    #[test]
    fn conflicting_types_keep_the_first_family() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.a")
            .u64_gauge("clash_total")
            .build()
            .record(3, &[]);
        provider
            .meter("prom.test.b")
            .u64_counter("clash")
            .build()
            .add(1, &[]);
        let text = exporter.render().unwrap();
        assert_eq!(text.matches("# TYPE clash_total ").count(), 1);
        assert!(text.contains("# TYPE clash_total gauge\n"));
        assert!(!text.contains("clash_total{otel_scope_name=\"prom.test.b\"}"));
        assert!(text.contains("# otel: dropped instrument \"clash\""));
    }
}
