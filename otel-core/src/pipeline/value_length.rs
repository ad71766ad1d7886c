//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` for spans: the SDK limits attribute counts but
//! not value lengths, so string values are cut when the span ends, before the span
//! reaches the exporters' processors.

use std::time::Duration;

use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

/// Wraps an exporter's processor; only installed when a limit is set, so spans pay
/// nothing by default.
#[derive(Debug)]
pub(super) struct ValueLengthLimit<P> {
    pub(super) inner: P,
    pub(super) max_chars: usize,
}

impl<P: SpanProcessor> SpanProcessor for ValueLengthLimit<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        truncate_all(&mut span.attributes, self.max_chars);
        for event in &mut span.events.events {
            truncate_all(&mut event.attributes, self.max_chars);
        }
        for link in &mut span.links.links {
            truncate_all(&mut link.attributes, self.max_chars);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

fn truncate_all(attributes: &mut [KeyValue], max_chars: usize) {
    for kv in attributes {
        match &mut kv.value {
            Value::String(s) => truncate(s, max_chars),
            Value::Array(Array::String(strings)) => strings.iter_mut().for_each(|s| truncate(s, max_chars)),
            _ => {}
        }
    }
}

/// Cuts at a character boundary: the spec counts characters, and a cut inside a
/// UTF-8 sequence would not be a string any more.
fn truncate(value: &mut StringValue, max_chars: usize) {
    let text = value.as_str();
    if let Some((byte, _)) = text.char_indices().nth(max_chars) {
        *value = StringValue::from(text[..byte].to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_string_arrays_are_cut_at_characters() {
        let mut attributes = vec![
            KeyValue::new("short", "abc"),
            KeyValue::new("long", "héllo wörld"),
            KeyValue::new("n", 123456789_i64),
            KeyValue::new(
                "list",
                Value::Array(Array::String(vec!["abcdef".into(), "xy".into()])),
            ),
        ];
        truncate_all(&mut attributes, 4);
        assert_eq!(attributes[0].value, Value::from("abc"));
        assert_eq!(attributes[1].value, Value::from("héll"));
        assert_eq!(attributes[2].value, Value::I64(123456789));
        assert_eq!(
            attributes[3].value,
            Value::Array(Array::String(vec!["abcd".into(), "xy".into()]))
        );
    }
}
