//! The parts of OTLP requests that every signal shares (`opentelemetry.proto.common` and
//! `.resource`): the resource, instrumentation scopes, attributes and their values, and
//! timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{logs, Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;

use super::wire::{bytes, message, oneof_bool, oneof_bytes, oneof_double, oneof_int64};

/// The resource, encoded once when the pipeline sets it rather than per batch.
#[derive(Debug, Default, Clone)]
pub(crate) struct EncodedResource {
    /// The `Resource` message's body.
    body: Vec<u8>,
    schema_url: String,
}

impl EncodedResource {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut body = Vec::new();
        for (key, value) in resource.iter() {
            key_value(&mut body, 1, key.as_str(), value);
        }
        EncodedResource {
            body,
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
        }
    }

    /// Appends the one `ResourceSpans`/`ResourceLogs` of a request (field 1 of every
    /// export request), with `scopes` writing its scope groups (field 2).
    pub(crate) fn write(&self, buf: &mut Vec<u8>, scopes: impl FnOnce(&mut Vec<u8>)) {
        message(buf, 1, |buf| {
            message(buf, 1, |buf| buf.extend_from_slice(&self.body));
            scopes(buf);
            bytes(buf, 3, self.schema_url.as_bytes());
        });
    }
}

/// The `InstrumentationScope` body.
pub(crate) fn scope<'a>(
    buf: &mut Vec<u8>,
    name: &str,
    version: Option<&str>,
    scope_attributes: impl IntoIterator<Item = &'a KeyValue>,
) {
    bytes(buf, 1, name.as_bytes());
    bytes(buf, 2, version.unwrap_or_default().as_bytes());
    attributes(buf, 3, scope_attributes);
}

/// The indices of `items` in groups of items that are `same`, the groups in order of
/// first appearance (how requests list their scopes). A batch mostly comes from one or
/// a few scopes, so the previous item's group is tried first.
pub(crate) fn group_by<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last = 0;
    for (index, item) in items.iter().enumerate() {
        let same = |group: &Vec<usize>| same(&items[group[0]], item);
        if groups.get(last).is_some_and(same) {
            groups[last].push(index);
        } else if let Some(found) = groups.iter().position(same) {
            groups[found].push(index);
            last = found;
        } else {
            last = groups.len();
            groups.push(vec![index]);
        }
    }
    groups
}

/// Whether two scopes are equal. Every span holds its own copy of its tracer's scope,
/// whose strings still point at the tracer's (static or shared) text: comparing where
/// they point settles the usual case without comparing the text.
pub(crate) fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
    let identical = same_text(Some(a.name()), Some(b.name()))
        && same_text(a.version(), b.version())
        && same_text(a.schema_url(), b.schema_url())
        && a.attributes().next().is_none()
        && b.attributes().next().is_none();
    identical || a == b
}

/// Nanoseconds since the Unix epoch; a time before it is sent as 0 (unset).
pub(crate) fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}

/// One `KeyValue` message per attribute, as field `field`.
pub(crate) fn attributes<'a>(
    buf: &mut Vec<u8>,
    field: u32,
    attributes: impl IntoIterator<Item = &'a KeyValue>,
) {
    for kv in attributes {
        key_value(buf, field, kv.key.as_str(), &kv.value);
    }
}

pub(crate) fn key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    message(buf, field, |buf| {
        bytes(buf, 1, key.as_bytes());
        message(buf, 2, |buf| any_value(buf, value));
    });
}

/// The `AnyValue` body of an attribute value. A value kind newer than this encoder is
/// sent as an empty `AnyValue` (the key still arrives) instead of failing the batch.
fn any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => oneof_bytes(buf, 1, s.as_str().as_bytes()),
        Value::Bool(b) => oneof_bool(buf, 2, *b),
        Value::I64(i) => oneof_int64(buf, 3, *i),
        Value::F64(f) => oneof_double(buf, 4, *f),
        Value::Array(array) => message(buf, 5, |buf| match array {
            Array::Bool(values) => elements(buf, values, |buf, v| oneof_bool(buf, 2, *v)),
            Array::I64(values) => elements(buf, values, |buf, v| oneof_int64(buf, 3, *v)),
            Array::F64(values) => elements(buf, values, |buf, v| oneof_double(buf, 4, *v)),
            Array::String(values) => {
                elements(buf, values, |buf, v| oneof_bytes(buf, 1, v.as_str().as_bytes()));
            }
            _ => {}
        }),
        _ => {}
    }
}

/// `ArrayValue.values`: one `AnyValue` per element.
fn elements<T>(buf: &mut Vec<u8>, values: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    for value in values {
        message(buf, 1, |buf| write(buf, value));
    }
}

/// A log attribute or body (`KeyValue` with the logs' richer value).
pub(crate) fn log_key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &logs::AnyValue) {
    message(buf, field, |buf| {
        bytes(buf, 1, key.as_bytes());
        message(buf, 2, |buf| log_value(buf, value));
    });
}

/// The `AnyValue` body of a log body or attribute: besides the attribute kinds, bytes,
/// lists and maps, nested to any depth.
pub(crate) fn log_value(buf: &mut Vec<u8>, value: &logs::AnyValue) {
    match value {
        logs::AnyValue::String(s) => oneof_bytes(buf, 1, s.as_str().as_bytes()),
        logs::AnyValue::Boolean(b) => oneof_bool(buf, 2, *b),
        logs::AnyValue::Int(i) => oneof_int64(buf, 3, *i),
        logs::AnyValue::Double(f) => oneof_double(buf, 4, *f),
        logs::AnyValue::ListAny(values) => message(buf, 5, |buf| {
            for value in values.iter() {
                message(buf, 1, |buf| log_value(buf, value));
            }
        }),
        logs::AnyValue::Map(map) => message(buf, 6, |buf| {
            for (key, value) in map.iter() {
                log_key_value(buf, 1, key.as_str(), value);
            }
        }),
        logs::AnyValue::Bytes(value) => oneof_bytes(buf, 7, value),
        _ => {}
    }
}
