//! The encoder against `opentelemetry-proto`'s conversion, which the OTLP crate sends.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::Resource;
use prost::Message;

use super::{encode, EncodedResource};

fn at(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn new_record() -> SdkLogRecord {
    let provider = SdkLoggerProvider::builder().build();
    let mut record = provider.logger("test").create_log_record();
    record.set_observed_timestamp(at(1_700_000_000_000_000_500));
    record
}

fn plain(message: &str) -> SdkLogRecord {
    let mut record = new_record();
    record.set_body(AnyValue::from(message.to_owned()));
    record.set_severity_number(Severity::Info);
    record.set_severity_text("INFO");
    record.set_timestamp(at(1_700_000_000_000_000_000));
    record
}

fn rich() -> SdkLogRecord {
    let mut record = new_record();
    record.set_event_name("order.placed");
    record.set_target("shop::orders");
    record.set_timestamp(at(1_700_000_000_123_000_000));
    record.set_severity_number(Severity::Error3);
    record.set_severity_text("ERROR");
    let mut map = HashMap::new();
    map.insert(Key::from("id"), AnyValue::Int(-42));
    map.insert(
        Key::from("nested"),
        AnyValue::ListAny(Box::new(vec![AnyValue::Boolean(false), AnyValue::Double(0.5)])),
    );
    record.set_body(AnyValue::Map(Box::new(map)));
    record.add_attribute("user.id", "u-1");
    record.add_attribute("empty", "");
    record.add_attribute("count", 0);
    record.add_attribute("raw", AnyValue::Bytes(Box::new(vec![0, 1, 255])));
    record.add_attribute(
        "list",
        AnyValue::ListAny(Box::new(vec![AnyValue::from("a"), AnyValue::Int(1)])),
    );
    record.set_trace_context(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
        SpanId::from(0xb7ad6b7169203331),
        Some(TraceFlags::SAMPLED),
    );
    record
}

fn upstream(batch: &LogBatch<'_>, resource: &Resource) -> ExportLogsServiceRequest {
    let resource = ResourceAttributesWithSchema::from(resource);
    let mut request = ExportLogsServiceRequest {
        resource_logs: group_logs_by_resource_and_scope(batch, &resource),
    };
    sort_scopes(&mut request);
    request
}

fn ours(batch: &LogBatch<'_>, resource: &Resource) -> (ExportLogsServiceRequest, usize) {
    let mut buf = Vec::new();
    encode(batch, &EncodedResource::new(resource), &mut buf);
    let mut request = ExportLogsServiceRequest::decode(buf.as_slice()).expect("our request decodes");
    sort_scopes(&mut request);
    (request, buf.len())
}

/// The OTLP crate orders scopes as a hash map iterates; compare them by name.
fn sort_scopes(request: &mut ExportLogsServiceRequest) {
    for resource in &mut request.resource_logs {
        resource.scope_logs.sort_by_key(|s| {
            s.scope
                .as_ref()
                .map(|scope| (scope.name.clone(), scope.version.clone()))
        });
    }
}

fn assert_same(records: &[(&SdkLogRecord, &InstrumentationScope)], resource: &Resource) {
    let batch = LogBatch::new(records);
    let expected = upstream(&batch, resource);
    let (actual, len) = ours(&batch, resource);
    assert_eq!(actual, expected);
    assert_eq!(len, expected.encoded_len());
}

#[test]
fn records_decode_to_what_the_otlp_crate_sends() {
    let scope = InstrumentationScope::builder("otel-core")
        .with_version("0.1.0")
        .build();
    let records: Vec<SdkLogRecord> = (0..20).map(|i| plain(&format!("request {i} served"))).collect();
    let batch: Vec<(&SdkLogRecord, &InstrumentationScope)> = records.iter().map(|r| (r, &scope)).collect();
    let resource = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", "shop")])
        .build();
    assert_same(&batch, &resource);
}

#[test]
fn every_field_and_value_kind_survives() {
    let scope = InstrumentationScope::builder("bridge")
        .with_version("2")
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .with_attributes([KeyValue::new("scope.attr", true)])
        .build();
    let (a, b, c) = (rich(), new_record(), plain(""));
    let resource = Resource::builder_empty()
        .with_schema_url(
            [KeyValue::new("service.name", "shop")],
            "https://opentelemetry.io/schemas/1.36.0",
        )
        .build();
    assert_same(&[(&a, &scope), (&b, &scope), (&c, &scope)], &resource);
}

#[test]
fn targets_and_scopes_group_records() {
    let one = InstrumentationScope::builder("one").build();
    let two = InstrumentationScope::builder("two").with_version("2").build();
    let mut targeted = plain("targeted");
    targeted.set_target("app::db");
    let (p1, p2, p3) = (plain("a"), plain("b"), plain("c"));
    let records = [(&p1, &one), (&targeted, &one), (&p2, &two), (&p3, &one)];
    let (request, _) = ours(&LogBatch::new(&records), &Resource::builder_empty().build());
    let groups: Vec<(String, usize)> = request.resource_logs[0]
        .scope_logs
        .iter()
        .map(|s| (s.scope.clone().unwrap_or_default().name, s.log_records.len()))
        .collect();
    assert_eq!(
        groups,
        [("app::db".into(), 1), ("one".into(), 2), ("two".into(), 1)]
    );
    assert_same(&records, &Resource::builder_empty().build());
}
