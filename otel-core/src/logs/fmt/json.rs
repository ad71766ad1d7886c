//! The JSON format: one object per line, written with `serde_json`, keys in a fixed
//! order (`timestamp`, `level`, `target`, `message`, the event's fields, `trace_id`,
//! `span_id`) and field values with their JSON types.

use std::fmt::{self, Write as _};
use std::io;

use serde::ser::{Serialize, SerializeMap, Serializer};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

use super::{current_ids, Clock};

/// Keys the format writes itself; an event field with one of these names is written as
/// `field.<name>` so it cannot shadow (or duplicate) the real value.
const RESERVED: [&str; 5] = ["timestamp", "level", "target", "trace_id", "span_id"];

pub(super) struct JsonFormat {
    clock: Clock,
}

impl JsonFormat {
    pub(super) fn new(clock: Clock) -> Self {
        Self { clock }
    }
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = Line {
            clock: self.clock,
            event,
            fields: &fields,
        };
        line.serialize(&mut serde_json::Serializer::new(FmtWriter(&mut writer)))
            .map_err(|_| fmt::Error)?;
        writer.write_char('\n')
    }
}

/// One event as a JSON object.
struct Line<'a> {
    clock: Clock,
    event: &'a Event<'a>,
    fields: &'a Fields,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let meta = self.event.metadata();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("timestamp", &AsStr(Timestamp(self.clock)))?;
        map.serialize_entry("level", meta.level().as_str())?;
        map.serialize_entry("target", meta.target())?;
        if let Some(message) = &self.fields.message {
            map.serialize_entry("message", message)?;
        }
        for (name, value) in &self.fields.values {
            if RESERVED.contains(name) {
                map.serialize_entry(&AsStr(format_args!("field.{name}")), value)?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some((trace_id, span_id)) = current_ids() {
            map.serialize_entry("trace_id", &AsStr(trace_id))?;
            map.serialize_entry("span_id", &AsStr(span_id))?;
        }
        map.end()
    }
}

/// Serializes anything `Display` as a JSON string without an intermediate `String`.
struct AsStr<T>(T);

impl<T: fmt::Display> Serialize for AsStr<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

struct Timestamp(Clock);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_now(f)
    }
}

/// Lets `serde_json`, which writes bytes, write into `tracing-subscriber`'s text buffer.
struct FmtWriter<'a, 'w>(&'a mut Writer<'w>);

impl io::Write for FmtWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // serde_json only cuts its output at ASCII characters (the ones it escapes), so
        // every chunk it writes is whole UTF-8.
        let text = std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.0.write_str(text).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A field value, keeping its type so numbers and booleans stay JSON numbers and
/// booleans.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(v) => serializer.serialize_str(v),
            Value::Bool(v) => serializer.serialize_bool(*v),
            Value::I64(v) => serializer.serialize_i64(*v),
            Value::U64(v) => serializer.serialize_u64(*v),
            Value::I128(v) => serializer.serialize_i128(*v),
            Value::U128(v) => serializer.serialize_u128(*v),
            Value::F64(v) if v.is_finite() => serializer.serialize_f64(*v),
            // NaN and infinities have no JSON form (serde_json would write `null`):
            // they are kept readable as strings.
            Value::F64(v) => serializer.collect_str(v),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(v) => f.write_str(v),
            Value::Bool(v) => v.fmt(f),
            Value::I64(v) => v.fmt(f),
            Value::U64(v) => v.fmt(f),
            Value::I128(v) => v.fmt(f),
            Value::U128(v) => v.fmt(f),
            Value::F64(v) => v.fmt(f),
        }
    }
}

/// The event's message and other fields, in the order they were recorded.
#[derive(Debug, Default)]
struct Fields {
    message: Option<String>,
    values: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            // The message is text whatever was passed as `message = …`.
            self.message = Some(match value {
                Value::Str(s) => s,
                other => other.to_string(),
            });
        } else {
            self.values.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::U64(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, Value::I128(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, Value::U128(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Str(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Display, with the chain of sources, says more than the Debug of most errors.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.push(field, Value::Str(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Str(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::fmt_layer;
    use super::super::test_support::{capture, in_otel_span};

    #[test]
    fn json_line_inside_a_span_has_typed_fields_and_ids() {
        let mut ids = (String::new(), String::new());
        let lines = capture(fmt_layer().json(), || {
            ids = in_otel_span(|| {
                tracing::info!(
                    target: "shop",
                    order_id = 42_u64,
                    delta = -1_i64,
                    user = "bob",
                    ok = true,
                    ratio = 0.25,
                    big = u128::MAX,
                    path = %"/users/7",
                    "order placed"
                );
            });
        });
        let (trace_id, span_id) = ids;
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            json!({
                "timestamp": "2026-01-01T00:00:00.000123Z",
                "level": "INFO",
                "target": "shop",
                "message": "order placed",
                "order_id": 42,
                "delta": -1,
                "user": "bob",
                "ok": true,
                "ratio": 0.25,
                "big": u128::MAX.to_string().parse::<f64>().unwrap(),
                "path": "/users/7",
                "trace_id": trace_id,
                "span_id": span_id,
            })
        );
        // The documented key order: the fixed keys first, the ids last.
        assert!(lines[0].starts_with(
            r#"{"timestamp":"2026-01-01T00:00:00.000123Z","level":"INFO","target":"shop","message":"order placed","#
        ));
        assert!(lines[0].ends_with(&format!(r#","trace_id":"{trace_id}","span_id":"{span_id}"}}"#)));
    }

    #[test]
    fn json_line_outside_a_span_has_no_ids() {
        let lines = capture(fmt_layer().json(), || {
            tracing::warn!(target: "t", "alone");
        });
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            json!({
                "timestamp": "2026-01-01T00:00:00.000123Z",
                "level": "WARN",
                "target": "t",
                "message": "alone",
            })
        );
    }

    #[test]
    fn json_escapes_strings_and_renames_reserved_fields() {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} unicode é ✓";
        let lines = capture(fmt_layer().json(), || {
            tracing::error!(
                target: "t",
                level = "mine",
                trace_id = 7,
                not_a_number = f64::NAN,
                text = tricky,
                "{tricky}"
            );
        });
        assert_eq!(lines.len(), 1, "one event is one line even with newlines in it");
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["field.level"], "mine");
        assert_eq!(line["field.trace_id"], 7);
        assert!(line.get("trace_id").is_none());
        assert_eq!(line["not_a_number"], "NaN");
        assert_eq!(line["text"], tricky);
        assert_eq!(line["message"], tricky);
    }
}
