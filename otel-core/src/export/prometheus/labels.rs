//! Labels: attributes sanitized and merged, values escaped, the `otel_scope_*` labels.

use std::collections::BTreeMap;

use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};

use super::naming::sanitize;
use super::text::write_float;

/// The labels of one data point: its attributes (without `reserved`), then the scope labels.
pub(super) fn point_labels<'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
    reserved: &[&str],
    scope_labels: &str,
) -> String {
    let attributes = render_labels(&attribute_labels(
        attributes.map(|kv| (kv.key.as_str(), &kv.value)),
        reserved,
    ));
    join_labels(&attributes, scope_labels)
}

/// Sanitized `(label, value)` pairs sorted by label; keys that collide after sanitizing are
/// merged as the specification asks, and `reserved` labels (set by the exporter) are dropped.
pub(super) fn attribute_labels<'a>(
    attributes: impl Iterator<Item = (&'a str, &'a Value)>,
    reserved: &[&str],
) -> Vec<(String, String)> {
    let mut by_label: BTreeMap<String, Vec<(&'a str, String)>> = BTreeMap::new();
    for (key, value) in attributes {
        let label = sanitize(key, false);
        if reserved.contains(&label.as_str()) {
            continue;
        }
        by_label
            .entry(label)
            .or_default()
            .push((key, value_to_string(value)));
    }
    by_label
        .into_iter()
        .map(|(label, mut values)| {
            values.sort_by(|a, b| a.0.cmp(b.0));
            let joined = values.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(";");
            (label, joined)
        })
        .collect()
}

pub(super) fn render_labels(labels: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in labels {
        push_label(&mut out, name, value);
    }
    out
}

pub(super) fn render_scope_labels(scope: &InstrumentationScope) -> String {
    let mut out = String::new();
    push_label(&mut out, "otel_scope_name", scope.name());
    if let Some(version) = scope.version() {
        push_label(&mut out, "otel_scope_version", version);
    }
    out
}

fn push_label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub(super) fn join_labels(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (_, true) => first.to_owned(),
        (true, false) => second.to_owned(),
        (false, false) => format!("{first},{second}"),
    }
}

/// Attribute values as strings, per the attribute specification: arrays become JSON arrays.
fn value_to_string(value: &Value) -> String {
    fn float(v: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, v);
        out
    }
    match value {
        Value::String(s) => s.as_str().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => float(*f),
        Value::Array(Array::String(items)) => {
            let items: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
            serde_json::to_string(&items).unwrap_or_else(|_| value.to_string())
        }
        Value::Array(Array::Bool(items)) => {
            serde_json::to_string(items).unwrap_or_else(|_| value.to_string())
        }
        Value::Array(Array::I64(items)) => serde_json::to_string(items).unwrap_or_else(|_| value.to_string()),
        // JSON has no NaN or infinities; Prometheus' spelling keeps them readable.
        Value::Array(Array::F64(items)) => {
            let items: Vec<String> = items.iter().map(|v| float(*v)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::{Array, KeyValue, Value};

    use super::super::test_support::setup;

    #[test]
    fn labels_are_sanitized_escaped_and_merged() {
        let (exporter, provider) = setup();
        let gauge = provider
            .meter("prom.test.labels")
            .u64_gauge("prom.test.escaping")
            .build();
        gauge.record(
            1,
            &[
                KeyValue::new("path", "C:\\tmp\\\"quoted\"\nnext"),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("http_route", "dup"),
                KeyValue::new("2xx", true),
                KeyValue::new("ratio", 0.25),
                KeyValue::new(
                    "tags",
                    Value::Array(Array::String(vec!["a\"b".into(), "c".into()])),
                ),
            ],
        );
        let text = exporter.render().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("prom_test_escaping{"))
            .unwrap();
        assert_eq!(
            line,
            "prom_test_escaping{_2xx=\"true\",http_route=\"/users/{id};dup\",\
             path=\"C:\\\\tmp\\\\\\\"quoted\\\"\\nnext\",ratio=\"0.25\",\
             tags=\"[\\\"a\\\\\\\"b\\\",\\\"c\\\"]\",otel_scope_name=\"prom.test.labels\"} 1"
        );
    }
}
