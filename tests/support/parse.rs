//! Parsers for rotel's `--debug-log-verbosity detailed` output (the OpenTelemetry
//! Collector debug-exporter layout):
//!
//! ```text
//! ResourceSpans #0
//! Resource attributes:
//!      -> service.name: Str(checkout)
//! ScopeSpans #0
//! InstrumentationScope otel-core 0.1.0
//! Span #0
//!     Trace ID       : d4e5443c5a45b01d6a27bfb4ac5ac454
//!     Parent ID      : a9883511075875ae
//!     ID             : 16ae061936b89f26
//!     Name           : child
//!     Kind           : SPAN_KIND_INTERNAL
//! Attributes:
//!      -> db.rows: Int(5)
//! ```
//!
//! Attribute values keep their type tag as printed (`Str(x)`, `Int(5)`, `Double(1.5)`,
//! `Bool(true)`), so tests can assert that a value arrived with the right type.

/// A span as the collector received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits; empty for a root span.
    pub parent_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// Span name.
    pub name: String,
    /// `SPAN_KIND_SERVER`, `SPAN_KIND_INTERNAL`, ...
    pub kind: String,
    /// `STATUS_CODE_UNSET`, `STATUS_CODE_OK` or `STATUS_CODE_ERROR`.
    pub status_code: String,
    /// The status description (empty unless the status is an error).
    pub status_message: String,
    /// Span attributes, values with their type tag (`Int(5)`).
    pub attributes: Vec<(String, String)>,
    /// Names of the span's events, in order.
    pub events: Vec<String>,
    /// Instrumentation scope name.
    pub scope: String,
    /// Attributes of the resource the span was sent with.
    pub resource: Vec<(String, String)>,
}

/// One metric data point as the collector received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceivedDataPoint {
    /// Metric (instrument) name.
    pub metric: String,
    /// Unit, e.g. `s`.
    pub unit: String,
    /// `Sum`, `Gauge`, `Histogram`, ...
    pub data_type: String,
    /// `true`/`false` for sums, empty otherwise.
    pub is_monotonic: String,
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE` or `_DELTA` for sums and histograms, empty
    /// for gauges.
    pub temporality: String,
    /// Data point attributes, values with their type tag.
    pub attributes: Vec<(String, String)>,
    /// The value of a sum or gauge point, as printed (`5`, `0.25`).
    pub value: Option<String>,
    /// Histogram count.
    pub count: Option<u64>,
    /// Histogram sum.
    pub sum: Option<f64>,
    /// Histogram minimum.
    pub min: Option<f64>,
    /// Histogram maximum.
    pub max: Option<f64>,
    /// Histogram bucket boundaries.
    pub bounds: Vec<f64>,
    /// Histogram bucket counts (one more than `bounds`).
    pub bucket_counts: Vec<u64>,
    /// Exponential histogram buckets as printed: lower bound, upper bound, count.
    pub exponential_buckets: Vec<(f64, f64, u64)>,
    /// Instrumentation scope (meter) name.
    pub scope: String,
    /// Attributes of the resource the metric was sent with.
    pub resource: Vec<(String, String)>,
}

/// A log record as the collector received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceivedLog {
    /// The body with its type tag, e.g. `Str(order placed)`.
    pub body: String,
    /// `INFO`, `WARN`, ...
    pub severity_text: String,
    /// e.g. `SEVERITY_NUMBER_INFO(9)`.
    pub severity_number: String,
    /// 32 hex digits, empty when the record was emitted outside a span.
    pub trace_id: String,
    /// 16 hex digits, empty when the record was emitted outside a span.
    pub span_id: String,
    /// Record attributes, values with their type tag.
    pub attributes: Vec<(String, String)>,
    /// Instrumentation scope name.
    pub scope: String,
    /// Attributes of the resource the record was sent with.
    pub resource: Vec<(String, String)>,
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The `service.name` resource attribute, without its `Str(..)` tag.
fn service_name(resource: &[(String, String)]) -> Option<&str> {
    lookup(resource, "service.name").map(untagged)
}

/// `Str(abc)` -> `abc`, `Int(5)` -> `5`; anything else unchanged.
pub fn untagged(value: &str) -> &str {
    match (value.find('('), value.ends_with(')')) {
        (Some(open), true) => &value[open + 1..value.len() - 1],
        _ => value,
    }
}

impl ReceivedSpan {
    /// The attribute `key` with its type tag (`Int(5)`), if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }

    /// `service.name` of the span's resource.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

impl ReceivedDataPoint {
    /// The data point attribute `key` with its type tag, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }

    /// `service.name` of the metric's resource.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

impl ReceivedLog {
    /// The record attribute `key` with its type tag, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }

    /// `service.name` of the record's resource.
    pub fn service_name(&self) -> Option<&str> {
        service_name(&self.resource)
    }
}

/// Everything found in the collector's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    /// Spans, in the order printed.
    pub spans: Vec<ReceivedSpan>,
    /// Metric data points, in the order printed.
    pub data_points: Vec<ReceivedDataPoint>,
    /// Log records, in the order printed.
    pub logs: Vec<ReceivedLog>,
}

/// Spans in `output`.
pub fn spans(output: &str) -> Vec<ReceivedSpan> {
    parse(output).spans
}

/// Metric data points in `output`.
pub fn data_points(output: &str) -> Vec<ReceivedDataPoint> {
    parse(output).data_points
}

/// Log records in `output`.
pub fn logs(output: &str) -> Vec<ReceivedLog> {
    parse(output).logs
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    Nothing,
    Span,
    Log,
    Metric,
    Point,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    /// Key-value lines of the open item itself.
    Fields,
    ResourceAttributes,
    ItemAttributes,
    Events,
    /// Links and anything else whose `->` lines belong to nobody we track.
    Ignored,
}

/// Parses everything in `output`; lines it does not know (rotel's own log lines,
/// timestamps) are skipped.
pub fn parse(output: &str) -> Received {
    let mut out = Received::default();
    let mut resource: Vec<(String, String)> = Vec::new();
    let mut scope = String::new();
    let mut open = Open::Nothing;
    let mut section = Section::Fields;
    // Descriptor of the metric whose data points follow.
    let mut metric = ReceivedDataPoint::default();

    for raw in output.lines() {
        let line = raw.trim();
        let indent = raw.len() - raw.trim_start().len();

        if line.starts_with("ResourceSpans #")
            || line.starts_with("ResourceLog #")
            || line.starts_with("ResourceMetrics #")
        {
            resource.clear();
            scope.clear();
            open = Open::Nothing;
            section = Section::Fields;
            continue;
        }
        if line == "Resource attributes:" {
            section = Section::ResourceAttributes;
            continue;
        }
        if line.starts_with("ScopeSpans #")
            || line.starts_with("ScopeLogs #")
            || line.starts_with("ScopeMetrics #")
        {
            scope.clear();
            open = Open::Nothing;
            section = Section::Fields;
            continue;
        }
        if let Some(rest) = line.strip_prefix("InstrumentationScope") {
            scope = rest.split_whitespace().next().unwrap_or("").to_owned();
            continue;
        }
        if line.starts_with("Span #") {
            out.spans.push(ReceivedSpan {
                scope: scope.clone(),
                resource: resource.clone(),
                ..ReceivedSpan::default()
            });
            open = Open::Span;
            section = Section::Fields;
            continue;
        }
        if line.starts_with("LogRecord #") {
            out.logs.push(ReceivedLog {
                scope: scope.clone(),
                resource: resource.clone(),
                ..ReceivedLog::default()
            });
            open = Open::Log;
            section = Section::Fields;
            continue;
        }
        if line.starts_with("Metric #") {
            metric = ReceivedDataPoint {
                scope: scope.clone(),
                resource: resource.clone(),
                ..ReceivedDataPoint::default()
            };
            open = Open::Metric;
            section = Section::Fields;
            continue;
        }
        if line.starts_with("NumberDataPoints #")
            || line.starts_with("HistogramDataPoints #")
            || line.starts_with("ExponentialHistogramDataPoints #")
            || line.starts_with("SummaryDataPoints #")
        {
            out.data_points.push(metric.clone());
            open = Open::Point;
            section = Section::Fields;
            continue;
        }
        match line {
            "Attributes:" | "Data point attributes:" => {
                section = Section::ItemAttributes;
                continue;
            }
            "Events:" => {
                section = Section::Events;
                continue;
            }
            "Links:" => {
                section = Section::Ignored;
                continue;
            }
            _ => {}
        }

        if let Some(arrow) = line.strip_prefix("->") {
            let Some((key, value)) = arrow.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
            match section {
                Section::ResourceAttributes => resource.push((key, value)),
                Section::ItemAttributes => match open {
                    Open::Span => last(&mut out.spans).attributes.push((key, value)),
                    Open::Log => last(&mut out.logs).attributes.push((key, value)),
                    Open::Point => last(&mut out.data_points).attributes.push((key, value)),
                    Open::Metric | Open::Nothing => {}
                },
                // Event names sit at the first arrow level; their attributes deeper.
                Section::Events if open == Open::Span && key == "Name" && indent <= 5 => {
                    last(&mut out.spans).events.push(value);
                }
                Section::Fields if open == Open::Metric => match key.as_str() {
                    "Name" => metric.metric = value,
                    "Unit" => metric.unit = value,
                    "DataType" => metric.data_type = value,
                    "IsMonotonic" => metric.is_monotonic = value,
                    "AggregationTemporality" => metric.temporality = value,
                    _ => {}
                },
                _ => {}
            }
            continue;
        }

        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().to_owned());
        match open {
            Open::Span => {
                let span = last(&mut out.spans);
                match key {
                    "Trace ID" => span.trace_id = value,
                    "Parent ID" => span.parent_id = value,
                    "ID" => span.span_id = value,
                    "Name" => span.name = value,
                    "Kind" => span.kind = value,
                    "Status code" => span.status_code = value,
                    "Status message" => span.status_message = value,
                    _ => {}
                }
            }
            Open::Log => {
                let log = last(&mut out.logs);
                match key {
                    "Body" => log.body = value,
                    "SeverityText" => log.severity_text = value,
                    "SeverityNumber" => log.severity_number = value,
                    "Trace ID" => log.trace_id = value,
                    "Span ID" => log.span_id = value,
                    _ => {}
                }
            }
            Open::Point => {
                let point = last(&mut out.data_points);
                match key {
                    "Value" => point.value = Some(value),
                    "Count" => point.count = value.parse().ok(),
                    "Sum" => point.sum = value.parse().ok(),
                    "Min" => point.min = value.parse().ok(),
                    "Max" => point.max = value.parse().ok(),
                    k if k.starts_with("ExplicitBounds #") => {
                        if let Ok(bound) = value.parse() {
                            point.bounds.push(bound);
                        }
                    }
                    // `Bucket (0.5, 0.505], Count: 1` (exponential histograms)
                    k if k.starts_with("Bucket ") => {
                        if let Some(bucket) = exponential_bucket(line) {
                            point.exponential_buckets.push(bucket);
                        }
                    }
                    // `Buckets #3, Count: 2`
                    k if k.starts_with("Buckets #") => {
                        if let Some(count) = line.rsplit(':').next().and_then(|c| c.trim().parse().ok()) {
                            point.bucket_counts.push(count);
                        }
                    }
                    _ => {}
                }
            }
            Open::Metric | Open::Nothing => {}
        }
    }
    out
}

/// `Bucket (0.49, 0.5], Count: 1` -> `(0.49, 0.5, 1)`.
fn exponential_bucket(line: &str) -> Option<(f64, f64, u64)> {
    let (range, count) = line.strip_prefix("Bucket ")?.split_once(", Count:")?;
    let (lower, upper) = range.trim_matches(['(', ')', '[', ']']).split_once(',')?;
    Some((
        lower.trim().parse().ok()?,
        upper.trim().parse().ok()?,
        count.trim().parse().ok()?,
    ))
}

fn last<T>(items: &mut [T]) -> &mut T {
    items
        .last_mut()
        .expect("an item header always precedes its fields")
}

#[cfg(test)]
mod tests;
