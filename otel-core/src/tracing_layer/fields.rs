//! `tracing` field values → OpenTelemetry attributes, names, kinds, statuses and events.
//!
//! Values keep their type where OpenTelemetry has one (integers, floats, booleans,
//! strings); anything else is recorded through its `Debug` output (its `Display` output
//! for `%value` fields and errors). The `otel.*` fields that tracing-opentelemetry
//! reserves keep the meaning they have there.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::EXCEPTION_MESSAGE;
use tracing_core::field::{Field, Visit};
use tracing_core::{Level, Metadata};

/// Span name override.
const NAME: &str = "otel.name";
/// Span kind: `server`, `client`, `producer`, `consumer` or `internal`.
const KIND: &str = "otel.kind";
/// Span status: `ok` or `error`.
const STATUS_CODE: &str = "otel.status_code";
/// Status description; on its own it marks the span as failed, as in tracing-opentelemetry.
const STATUS_DESCRIPTION: &str = "otel.status_description";
/// The field `#[tracing::instrument(err)]` and most error logging put the error in.
const ERROR: &str = "error";
/// The field holding an event's formatted message.
const MESSAGE: &str = "message";

/// Integers keep their type when they fit OpenTelemetry's `i64`, and become decimal text
/// otherwise rather than wrapping around.
fn wide_int<T: TryInto<i64> + ToString + Copy>(value: T) -> Value {
    match value.try_into() {
        Ok(v) => Value::I64(v),
        Err(_) => Value::String(value.to_string().into()),
    }
}

fn debug_text(value: &dyn fmt::Debug) -> String {
    format!("{value:?}")
}

fn parse_kind(text: &str) -> Option<SpanKind> {
    const KINDS: [(&str, SpanKind); 5] = [
        ("server", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ];
    KINDS
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Ok,
    Error,
}

fn parse_code(text: &str) -> Option<Code> {
    if text.eq_ignore_ascii_case("ok") {
        Some(Code::Ok)
    } else if text.eq_ignore_ascii_case("error") {
        Some(Code::Error)
    } else {
        None
    }
}

/// What the fields of a `tracing` span (at creation or in a later `Span::record`) say
/// about its OpenTelemetry span.
#[derive(Debug, Default)]
pub(super) struct SpanFields {
    pub(super) attributes: Vec<KeyValue>,
    pub(super) name: Option<Cow<'static, str>>,
    pub(super) kind: Option<SpanKind>,
    code: Option<Code>,
    description: Option<String>,
}

impl SpanFields {
    pub(super) fn with_capacity(attributes: usize) -> Self {
        SpanFields {
            attributes: Vec::with_capacity(attributes),
            ..SpanFields::default()
        }
    }

    /// The status the `otel.status_*` fields ask for, if any.
    pub(super) fn status(&mut self) -> Option<Status> {
        match (self.code, self.description.take()) {
            (Some(Code::Ok), _) => Some(Status::Ok),
            (Some(Code::Error), description) => Some(Status::error(description.unwrap_or_default())),
            (None, Some(description)) => Some(Status::error(description)),
            (None, None) => None,
        }
    }

    /// Handles the reserved `otel.*` fields given as text; `false` for any other field.
    fn special(&mut self, field: &Field, text: impl FnOnce() -> String) -> bool {
        match field.name() {
            NAME => self.name = Some(text().into()),
            KIND => self.kind = parse_kind(&text()),
            STATUS_CODE => self.code = parse_code(&text()),
            STATUS_DESCRIPTION => self.description = Some(text()),
            _ => return false,
        }
        true
    }

    fn push(&mut self, field: &Field, value: impl Into<Value>) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for SpanFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, wide_int(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, wide_int(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, wide_int(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.special(field, || value.to_owned()) {
            self.push(field, value.to_owned());
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.special(field, || debug_text(value)) {
            self.push(field, debug_text(value));
        }
    }
}

/// The fields of a `tracing` event, turned into an OpenTelemetry span event.
#[derive(Debug, Default)]
pub(super) struct EventFields {
    message: Option<String>,
    error: Option<String>,
    attributes: Vec<KeyValue>,
}

/// A span event and the status it implies for its span.
#[derive(Debug)]
pub(super) struct SpanEvent {
    pub(super) name: Cow<'static, str>,
    pub(super) attributes: Vec<KeyValue>,
    pub(super) status: Option<Status>,
}

impl EventFields {
    pub(super) fn with_capacity(fields: usize) -> Self {
        EventFields {
            // Plus `level` and `target`.
            attributes: Vec::with_capacity(fields + 2),
            ..EventFields::default()
        }
    }

    /// An event with an `error` field is an `exception` event (with `exception.message`)
    /// and fails its span with that message, like tracing-opentelemetry's; an `ERROR`
    /// event fails its span too. Other events are named after their message.
    pub(super) fn into_span_event(self, meta: &'static Metadata<'static>) -> SpanEvent {
        let EventFields {
            message,
            error,
            mut attributes,
        } = self;
        attributes.push(KeyValue::new("level", meta.level().as_str()));
        attributes.push(KeyValue::new("target", meta.target()));
        let failed = *meta.level() == Level::ERROR;
        match error {
            Some(error) => {
                if let Some(message) = message {
                    attributes.push(KeyValue::new(MESSAGE, message));
                }
                attributes.push(KeyValue::new(EXCEPTION_MESSAGE, error.clone()));
                SpanEvent {
                    name: Cow::Borrowed("exception"),
                    attributes,
                    status: Some(Status::error(error)),
                }
            }
            None => {
                let status = failed.then(|| Status::error(message.clone().unwrap_or_default()));
                SpanEvent {
                    name: message.map_or(Cow::Borrowed(meta.name()), Cow::Owned),
                    attributes,
                    status,
                }
            }
        }
    }

    fn text(&mut self, field: &Field, text: impl FnOnce() -> String) {
        match field.name() {
            MESSAGE => self.message = Some(text()),
            ERROR => self.error = Some(text()),
            // Metadata that `tracing-log` adds to records of the `log` crate; the event
            // already carries it.
            name if name.starts_with("log.") => {}
            name => self.attributes.push(KeyValue::new(name, text())),
        }
    }

    fn push(&mut self, field: &Field, value: impl Into<Value>) {
        if !field.name().starts_with("log.") {
            self.attributes
                .push(KeyValue::new(Key::from_static_str(field.name()), value));
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, wide_int(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, wide_int(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, wide_int(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, || value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, || value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, || debug_text(value));
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry::Value;

    use super::{parse_kind, wide_int};

    #[test]
    fn integers_keep_their_type_when_they_fit() {
        assert_eq!(wide_int(7_u64), Value::I64(7));
        assert_eq!(wide_int(-7_i128), Value::I64(-7));
        assert_eq!(wide_int(u64::MAX), Value::from(u64::MAX.to_string()));
        assert_eq!(wide_int(u128::MAX), Value::from(u128::MAX.to_string()));
    }

    #[test]
    fn kinds_are_read_case_insensitively() {
        assert_eq!(parse_kind("Server"), Some(SpanKind::Server));
        assert_eq!(parse_kind("CONSUMER"), Some(SpanKind::Consumer));
        assert_eq!(parse_kind("backend"), None);
    }

    #[test]
    fn a_description_alone_fails_the_span() {
        let mut fields = super::SpanFields {
            description: Some("timed out".into()),
            ..Default::default()
        };
        assert_eq!(fields.status(), Some(Status::error("timed out")));
        let mut ok = super::SpanFields {
            code: Some(super::Code::Ok),
            description: Some("ignored".into()),
            ..Default::default()
        };
        assert_eq!(ok.status(), Some(Status::Ok));
    }
}
