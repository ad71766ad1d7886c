use super::*;

/// Verbatim rotel output for one span tree, one tracing event and two instruments
/// (shortened histogram buckets), with one of rotel's own log lines mixed in.
const SAMPLE: &str = "\
2026-11-21T10:29:41.480243Z  INFO Starting Rotel. grpc_endpoint=\"127.0.0.1:33805\"
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> telemetry.sdk.language: Str(rust)
     -> service.name: Str(probe-svc)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope otel-core 0.1.0
Span #0
    Trace ID       : d4e5443c5a45b01d6a27bfb4ac5ac454
    Parent ID      : a9883511075875ae
    ID             : 16ae061936b89f26
    Name           : child
    Kind           : SPAN_KIND_INTERNAL
Start time: 1795256981494000416
End time: 1795256981494050510
    Status code    : STATUS_CODE_ERROR
    Status message : invalid digit found in string
Attributes:
     -> i: Int(5)
     -> s: Str(x y: z)
Events:
SpanEvent #0
     -> Name: exception
     -> Timestamp: 1795256981494045631
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> exception.type: Str(ParseIntError)
          -> Name: Str(not an event name)
ScopeSpans #1
ScopeSpans SchemaURL: 
InstrumentationScope probe-scope 
Span #0
    Trace ID       : d4e5443c5a45b01d6a27bfb4ac5ac454
    Parent ID      : 
    ID             : a9883511075875ae
    Name           : GET /x
    Kind           : SPAN_KIND_SERVER
Start time: 1795256981493991279
End time: 1795256981494056621
    Status code    : STATUS_CODE_UNSET
    Status message : 
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(probe-svc)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope probe 
LogRecord #0
ObservedTimestamp: 1795256981494021997
Timestamp: 0
SeverityText: INFO
SeverityNumber: SEVERITY_NUMBER_INFO(9)
EventName: event tests/probe.rs:24
Body: Str(hello from tracing)
Attributes:
     -> n: Int(3)
    Trace ID       : d4e5443c5a45b01d6a27bfb4ac5ac454
    Span ID        : 16ae061936b89f26
Flags: 1
ResourceMetrics #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(metrics-svc)
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope probe-meter 
Metric #0
Descriptor:
     -> Name: probe.count
     -> Description: 
     -> Unit: {req}
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> route: Str(/a)
StartTimestamp: 1795256981493868560
Timestamp: 1795256981543301787
Value: 3
Metric #1
Descriptor:
     -> Name: probe.dur
     -> Description: 
     -> Unit: s
     -> DataType: Histogram
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
HistogramDataPoints #0
Data point attributes:
     -> route: Str(/a)
StartTimestamp: 1795256981493908335
Timestamp: 1795256981543351500
Count: 2
Sum: 1
Min: 0.25
Max: 0.75
ExplicitBounds #0: 0
ExplicitBounds #1: 5
Buckets #0, Count: 0
Buckets #1, Count: 2
Buckets #2, Count: 0
";

#[test]
fn spans_keep_ids_names_attributes_and_resource() {
    let spans = spans(SAMPLE);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let child = &spans[0];
    assert_eq!(child.trace_id, "d4e5443c5a45b01d6a27bfb4ac5ac454");
    assert_eq!(child.parent_id, "a9883511075875ae");
    assert_eq!(child.span_id, "16ae061936b89f26");
    assert_eq!(child.name, "child");
    assert_eq!(child.kind, "SPAN_KIND_INTERNAL");
    assert_eq!(child.status_code, "STATUS_CODE_ERROR");
    assert_eq!(child.status_message, "invalid digit found in string");
    assert_eq!(
        child.attributes,
        vec![
            ("i".to_owned(), "Int(5)".to_owned()),
            ("s".to_owned(), "Str(x y: z)".to_owned()),
        ]
    );
    assert_eq!(child.events, vec!["exception".to_owned()]);
    assert_eq!(child.scope, "otel-core");
    assert_eq!(child.service_name(), Some("probe-svc"));

    let root = &spans[1];
    assert_eq!(root.parent_id, "");
    assert_eq!(root.span_id, "a9883511075875ae");
    assert_eq!(root.name, "GET /x");
    assert_eq!(root.kind, "SPAN_KIND_SERVER");
    assert_eq!(root.scope, "probe-scope");
    assert!(root.attributes.is_empty());
    assert!(root.events.is_empty());
    assert_eq!(root.service_name(), Some("probe-svc"));
}

#[test]
fn log_records_keep_body_ids_and_resource() {
    let logs = logs(SAMPLE);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    assert_eq!(log.body, "Str(hello from tracing)");
    assert_eq!(log.severity_text, "INFO");
    assert_eq!(log.trace_id, "d4e5443c5a45b01d6a27bfb4ac5ac454");
    assert_eq!(log.span_id, "16ae061936b89f26");
    assert_eq!(log.attr("n"), Some("Int(3)"));
    assert_eq!(log.scope, "probe");
    assert_eq!(log.service_name(), Some("probe-svc"));
}

#[test]
fn data_points_keep_descriptor_values_and_resource() {
    let points = data_points(SAMPLE);
    assert_eq!(points.len(), 2, "{points:#?}");
    let sum = &points[0];
    assert_eq!(sum.metric, "probe.count");
    assert_eq!(sum.unit, "{req}");
    assert_eq!(sum.data_type, "Sum");
    assert_eq!(sum.is_monotonic, "true");
    assert_eq!(sum.value.as_deref(), Some("3"));
    assert_eq!(sum.attr("route"), Some("Str(/a)"));
    assert_eq!(sum.service_name(), Some("metrics-svc"));
    assert_eq!(sum.scope, "probe-meter");

    let histogram = &points[1];
    assert_eq!(histogram.metric, "probe.dur");
    assert_eq!(histogram.data_type, "Histogram");
    assert_eq!(histogram.count, Some(2));
    assert_eq!(histogram.sum, Some(1.0));
    assert_eq!(histogram.min, Some(0.25));
    assert_eq!(histogram.max, Some(0.75));
    assert_eq!(histogram.bounds, vec![0.0, 5.0]);
    assert_eq!(histogram.bucket_counts, vec![0, 2, 0]);
    assert_eq!(histogram.value, None);
    assert_eq!(histogram.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
}

#[test]
fn exponential_histograms_keep_their_buckets() {
    let output = "\
ResourceMetrics #0
Resource attributes:
     -> service.name: Str(svc)
ScopeMetrics #0
InstrumentationScope m 
Metric #0
Descriptor:
     -> Name: latency
     -> Unit: s
     -> DataType: ExponentialHistogram
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_DELTA
ExponentialHistogramDataPoints #0
Count: 2
Sum: 1.5
Bucket [0, 0], Count: 0
Bucket (0.49461400659698773, 0.5], Count: 1
Bucket (0.5, 0.5054446430258502], Count: 0
Bucket (0.9892280131939755, 1], Count: 1
";
    let points = data_points(output);
    assert_eq!(points.len(), 1);
    let p = &points[0];
    assert_eq!(p.data_type, "ExponentialHistogram");
    assert_eq!(p.temporality, "AGGREGATION_TEMPORALITY_DELTA");
    assert_eq!(p.count, Some(2));
    assert_eq!(
        p.exponential_buckets,
        vec![
            (0.0, 0.0, 0),
            (0.49461400659698773, 0.5, 1),
            (0.5, 0.5054446430258502, 0),
            (0.9892280131939755, 1.0, 1)
        ]
    );
    assert!(p.bounds.is_empty() && p.bucket_counts.is_empty());
}

#[test]
fn untagged_strips_the_type() {
    assert_eq!(untagged("Str(a (b))"), "a (b)");
    assert_eq!(untagged("Int(5)"), "5");
    assert_eq!(untagged("plain"), "plain");
}
