//! The encoder against `opentelemetry-proto`'s conversion, which the OTLP crate sends:
//! our bytes must decode to the very request it builds.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use prost::Message;

use super::{encode, EncodedResource};

fn context(trace: u128, span: u64, flags: TraceFlags, remote: bool, state: &str) -> SpanContext {
    let state = TraceState::from_key_value(
        state
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|kv| kv.split_once('=')),
    )
    .unwrap_or_default();
    SpanContext::new(TraceId::from(trace), SpanId::from(span), flags, remote, state)
}

fn at(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn every_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", String::from("/users/42?q=ü")),
        KeyValue::new("empty", ""),
        KeyValue::new("", "empty key"),
        KeyValue::new("server.port", 8080),
        KeyValue::new("zero", 0),
        KeyValue::new("negative", -1),
        KeyValue::new("min", i64::MIN),
        KeyValue::new("ratio", 0.25),
        KeyValue::new("zero.f", 0.0),
        KeyValue::new("infinite", f64::INFINITY),
        KeyValue::new("yes", true),
        KeyValue::new("no", false),
        KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ints", Value::Array(Array::I64(vec![0, -7, 300]))),
        KeyValue::new("floats", Value::Array(Array::F64(vec![1.5, 0.0]))),
        KeyValue::new(
            "strings",
            Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("")])),
        ),
        KeyValue::new("empty.array", Value::Array(Array::I64(vec![]))),
        KeyValue::new("long", "x".repeat(300)),
    ]
}

fn span(index: u64, scope: &InstrumentationScope) -> SpanData {
    SpanData {
        span_context: context(
            0xabc0 + u128::from(index),
            0x10 + index,
            TraceFlags::SAMPLED,
            false,
            "",
        ),
        parent_span_id: SpanId::from(0x99),
        parent_span_is_remote: index % 2 == 0,
        span_kind: SpanKind::Server,
        name: Cow::Owned(format!("GET /users/{index}")),
        start_time: at(1_700_000_000_000_000_000 + index),
        end_time: at(1_700_000_000_000_500_000 + index),
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("n", index as i64),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

fn rich_span(scope: &InstrumentationScope) -> SpanData {
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "exception",
        at(1_700_000_000_000_100_000),
        every_value(),
        3,
    ));
    events.events.push(Event::new("", at(0), vec![], 0));
    events.dropped_count = 2;
    let mut links = SpanLinks::default();
    links.links.push(Link::new(
        context(u128::MAX, u64::MAX, TraceFlags::SAMPLED, true, "vendor=a,other=b"),
        vec![KeyValue::new("link.kind", "follows")],
        1,
    ));
    links.links.push(Link::new(
        context(1, 2, TraceFlags::default(), false, ""),
        vec![],
        0,
    ));
    links.dropped_count = 5;
    SpanData {
        span_context: context(
            0x0af7651916cd43dd8448eb211c80319c,
            0xb7ad6b7169203331,
            TraceFlags::SAMPLED,
            false,
            "congo=t61rcWkgMzE",
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Client,
        name: Cow::Borrowed("SELECT users"),
        start_time: at(1_700_000_000_000_000_000),
        end_time: at(1_700_000_001_000_000_000),
        attributes: every_value(),
        dropped_attributes_count: 4,
        events,
        links,
        status: Status::error("connection reset: ünïcode"),
        instrumentation_scope: scope.clone(),
    }
}

fn upstream(spans: Vec<SpanData>, resource: &Resource) -> ExportTraceServiceRequest {
    let resource = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    }
}

fn ours(spans: &[SpanData], resource: &Resource) -> ExportTraceServiceRequest {
    let mut buf = Vec::new();
    encode(spans, &EncodedResource::new(resource), &mut buf);
    ExportTraceServiceRequest::decode(buf.as_slice()).expect("our request decodes")
}

fn assert_same(spans: Vec<SpanData>, resource: &Resource) {
    let expected = upstream(spans.clone(), resource);
    let actual = ours(&spans, resource);
    assert_eq!(actual, expected);
    // The same request, byte for byte, as prost encodes it (field order aside, which
    // both follow from the .proto): a collector sees no difference at all.
    let mut buf = Vec::new();
    encode(&spans, &EncodedResource::new(resource), &mut buf);
    assert_eq!(buf.len(), expected.encoded_len());
}

#[test]
fn a_batch_decodes_to_what_the_otlp_crate_sends() {
    let scope = InstrumentationScope::builder("otel-tower")
        .with_version("0.1.0")
        .build();
    let resource = Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "shop"),
            KeyValue::new("process.pid", 42),
        ])
        .build();
    assert_same((0..40).map(|i| span(i, &scope)).collect(), &resource);
}

#[test]
fn every_field_and_value_kind_survives() {
    let scope = InstrumentationScope::builder("db")
        .with_version("2")
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .with_attributes([KeyValue::new("scope.attr", 1)])
        .build();
    let resource = Resource::builder_empty()
        .with_schema_url(every_value(), "https://opentelemetry.io/schemas/1.36.0")
        .build();
    assert_same(vec![rich_span(&scope)], &resource);
}

#[test]
fn status_ok_and_unsampled_flags_survive() {
    let scope = InstrumentationScope::builder("s").build();
    let mut span = span(1, &scope);
    span.status = Status::Ok;
    span.span_context = context(7, 8, TraceFlags::default(), true, "");
    span.start_time = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
    assert_same(vec![span], &Resource::builder_empty().build());
}

#[test]
fn spans_are_grouped_by_scope_in_order_of_first_appearance() {
    let a = InstrumentationScope::builder("a").build();
    let b = InstrumentationScope::builder("b").with_version("1").build();
    let b2 = InstrumentationScope::builder("b").with_version("2").build();
    let spans: Vec<SpanData> = [&a, &b, &a, &b2, &b, &a, &b2]
        .iter()
        .enumerate()
        .map(|(i, scope)| span(i as u64, scope))
        .collect();
    let request = ours(&spans, &Resource::builder_empty().build());
    let scopes: Vec<(String, String, usize)> = request.resource_spans[0]
        .scope_spans
        .iter()
        .map(|s| {
            let scope = s.scope.clone().unwrap_or_default();
            (scope.name, scope.version, s.spans.len())
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("a".into(), "".into(), 3),
            ("b".into(), "1".into(), 2),
            ("b".into(), "2".into(), 2)
        ]
    );
    assert_same(spans, &Resource::builder_empty().build());
}

#[test]
fn an_empty_batch_is_one_empty_resource() {
    assert_same(vec![], &Resource::builder_empty().build());
}
