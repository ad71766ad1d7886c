//! Span limits from the environment reach the collector: string values cut to
//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` characters (on the span and its events), and
//! attributes and events beyond their count limits dropped.

use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::{global, KeyValue};
use otel_tests::{unique_service_name, Collector, RECEIVE_TIMEOUT};

#[test]
fn limits_from_the_environment_shape_what_arrives() {
    let collector = Collector::start();
    let service = unique_service_name("span-limits");
    let env = [
        ("OTEL_SERVICE_NAME", service.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8".to_owned()),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3".to_owned()),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2".to_owned()),
    ];
    let guard = otel_core::Telemetry::builder()
        .env(move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .quiet(true)
        .init()
        .expect("init");
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());

    let tracer = global::tracer("otel-tests");
    let mut span = tracer.start("limited");
    span.set_attribute(KeyValue::new("long", "0123456789abcdef"));
    span.set_attribute(KeyValue::new("unicode", "ééééééééééé"));
    span.set_attribute(KeyValue::new("number", 1234567890_i64));
    span.set_attribute(KeyValue::new("fourth", "dropped"));
    for i in 0..4 {
        span.add_event(
            format!("event {i}"),
            vec![KeyValue::new("detail", "abcdefghijkl")],
        );
    }
    span.end();
    guard.shutdown().expect("shutdown");

    let spans = collector.wait_for_spans("the limited span", RECEIVE_TIMEOUT, |spans| {
        spans.iter().any(|s| s.service_name() == Some(service.as_str()))
    });
    let span = spans
        .iter()
        .find(|s| s.service_name() == Some(service.as_str()))
        .expect("our span");
    assert_eq!(span.attr("long"), Some("Str(01234567)"));
    assert_eq!(
        span.attr("unicode"),
        Some("Str(éééééééé)"),
        "characters, not bytes"
    );
    assert_eq!(span.attr("number"), Some("Int(1234567890)"));
    assert_eq!(span.attr("fourth"), None, "over the attribute count limit");
    assert_eq!(span.attributes.len(), 3, "{span:#?}");
    assert_eq!(span.events.len(), 2, "over the event count limit: {span:#?}");
    assert!(
        collector.output().contains("-> detail: Str(abcdefgh)"),
        "event attributes are cut too: {}",
        collector.output()
    );
}
