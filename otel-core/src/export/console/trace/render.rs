//! Drawing a laid-out waterfall: the trace header, then one line per span with its
//! name, duration, bar, kind, error marker and the attributes worth a glance, coloured
//! when the output wants it.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{
    DB_QUERY_TEXT, DB_SYSTEM_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
    RPC_METHOD, URL_FULL,
};
use unicode_width::UnicodeWidthStr;

use super::buffer::{Completeness, FinishedTrace};
use super::layout::{Row, Waterfall, BAR_WIDTH, DURATION_WIDTH};
use crate::export::console::{clean, fmt_duration, fmt_key, fmt_value, paint, Style};

/// Cap on a whole line, in terminal columns; the attribute tail is cut to fit.
const MAX_LINE_COLUMNS: usize = 200;
/// Spans with at most this many attributes show all of them, not just the key ones.
const FEW_ATTRIBUTES: usize = 4;
const DEFAULT_VALUE_CHARS: usize = 40;
const STATUS_DESCRIPTION_CHARS: usize = 60;
/// Attributes worth a glance, in display order, with the width their values get.
const KEY_ATTRIBUTES: [(&str, usize); 8] = [
    (HTTP_REQUEST_METHOD, 16),
    (HTTP_ROUTE, 48),
    (HTTP_RESPONSE_STATUS_CODE, 8),
    (URL_FULL, 64),
    (DB_SYSTEM_NAME, 24),
    (DB_QUERY_TEXT, 48),
    (RPC_METHOD, 48),
    (ERROR_TYPE, 48),
];

/// Appends the waterfall of `trace` to `out`, followed by an empty line.
pub(super) fn render_trace(out: &mut String, trace: &FinishedTrace, service: Option<&str>, color: bool) {
    let Some(waterfall) = Waterfall::new(&trace.spans) else {
        return;
    };
    render_header(out, trace, &waterfall, service, color);
    let prefix_width = waterfall.name_width + 2 + DURATION_WIDTH + 2 + BAR_WIDTH + 2;
    let tail_budget = MAX_LINE_COLUMNS.saturating_sub(prefix_width + 2).max(24);
    for row in &waterfall.rows {
        render_row(out, row, tail_budget, color);
    }
    out.push('\n');
}

fn render_header(
    out: &mut String,
    trace: &FinishedTrace,
    waterfall: &Waterfall<'_>,
    service: Option<&str>,
    color: bool,
) {
    let spans = trace.spans.len();
    let mut header = format!("trace {}", trace.trace_id);
    if let Some(service) = service {
        header.push_str(" · ");
        header.push_str(service);
    }
    header.push_str(" · ");
    header.push_str(&fmt_duration(waterfall.total));
    header.push_str(&format!(" · {spans} span{}", if spans == 1 { "" } else { "s" }));
    paint(out, color, Style::Bold, &header);
    match trace.completeness {
        Completeness::Complete => {}
        Completeness::RootPending => {
            paint(out, color, Style::Yellow, " · partial: root span not ended yet");
        }
        Completeness::Evicted => paint(
            out,
            color,
            Style::Yellow,
            " · incomplete: evicted before its root span ended (buffer full)",
        ),
    }
    out.push('\n');
}

fn render_row(out: &mut String, row: &Row<'_>, tail_budget: usize, color: bool) {
    let span = row.span;
    let error = match &span.status {
        Status::Error { description } => Some(description),
        Status::Ok | Status::Unset => None,
    };
    let mut line = " ".repeat(row.indent);
    if error.is_some() {
        paint(&mut line, color, Style::Red, &row.name);
    } else {
        line.push_str(&row.name);
    }
    line.push_str(&" ".repeat(row.padding));
    let duration = fmt_duration(row.duration);
    line.push_str(&format!("  {duration:>DURATION_WIDTH$}  │"));
    let (from, to) = row.bar;
    line.push_str(&" ".repeat(from));
    let fill = "█".repeat(to - from);
    paint(
        &mut line,
        color,
        if error.is_some() { Style::Red } else { Style::Cyan },
        &fill,
    );
    line.push_str(&" ".repeat(BAR_WIDTH - to));
    line.push('│');

    let mut tail_text = String::new();
    let mut tail = Tail {
        out: &mut tail_text,
        color,
        budget: tail_budget,
        started: false,
        full: false,
    };
    if let Some(kind) = kind_label(&span.span_kind) {
        tail.push(None, kind);
    }
    if let Some(description) = error {
        let description = clean(description, STATUS_DESCRIPTION_CHARS, true);
        let marker = if description.is_empty() {
            "✗".to_owned()
        } else {
            format!("✗ {description}")
        };
        tail.push(Some(Style::Red), &marker);
    }
    for (kv, width) in shown_attributes(&span.attributes) {
        let attribute = format!("{}={}", fmt_key(&kv.key), fmt_value(&kv.value, width));
        tail.push(Some(Style::Dim), &attribute);
    }
    if !tail_text.is_empty() {
        line.push_str("  ");
        line.push_str(&tail_text);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn kind_label(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Server => Some("SERVER"),
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal => None,
    }
}

/// Key attributes in a fixed order, then the others if the span has only a few.
fn shown_attributes(attributes: &[KeyValue]) -> Vec<(&KeyValue, usize)> {
    let mut shown = Vec::new();
    for (key, width) in KEY_ATTRIBUTES {
        if let Some(kv) = attributes.iter().find(|kv| kv.key.as_str() == key) {
            shown.push((kv, width));
        }
    }
    if attributes.len() <= FEW_ATTRIBUTES {
        let is_key = |kv: &KeyValue| KEY_ATTRIBUTES.iter().any(|(k, _)| kv.key.as_str() == *k);
        shown.extend(
            attributes
                .iter()
                .filter(|kv| !is_key(kv))
                .map(|kv| (kv, DEFAULT_VALUE_CHARS)),
        );
    }
    shown
}

/// Appends styled segments to a line until its budget of columns is spent, then `…`.
struct Tail<'a> {
    out: &'a mut String,
    color: bool,
    budget: usize,
    started: bool,
    full: bool,
}

impl Tail<'_> {
    fn push(&mut self, style: Option<Style>, text: &str) {
        if self.full || text.is_empty() {
            return;
        }
        let sep = if self.started { 2 } else { 0 };
        let fits = self.budget >= sep + text.width();
        let text = if fits {
            text.to_owned()
        } else {
            self.full = true;
            let room = self.budget.saturating_sub(sep);
            if room == 0 {
                return;
            }
            // The text is clean already; this only cuts it, with `…`, to the room left.
            clean(text, room, false)
        };
        if self.started {
            self.out.push_str("  ");
        }
        self.started = true;
        self.budget = self.budget.saturating_sub(sep + text.width());
        match style {
            Some(style) => paint(self.out, self.color, style, &text),
            None => self.out.push_str(&text),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use opentelemetry_sdk::trace::SpanExporter as _;

    use super::super::test_support::{exporter, request_tree, S};
    use super::super::ConsoleSpanExporter;
    use super::*;
    use crate::export::console::test_support::SharedBuf;
    use crate::sync::lock;

    #[test]
    fn golden_waterfall() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let (first, second) = request_tree();
        block_on(exporter.export(first)).unwrap();
        assert_eq!(buf.text(), "", "nothing is drawn before the root ends");
        block_on(exporter.export(second)).unwrap();

        let expected = "\
trace 4bf92f3577b34da6a3ce929d0e0e4736 · users-api · 120 ms · 4 spans
GET /users/{id}   120 ms  │████████████████████████████████│  SERVER  http.request.method=GET  http.route=/users/{id}  http.response.status_code=500
  db.query       50.0 ms  │  ██████████████                │  CLIENT  db.system.name=sqlite  db.query.text=\"SELECT id, name FROM users WHERE id = ?\"
    db.connect   8.00 ms  │   ███                          │  pool.size=4
  render         45.0 ms  │                  █████████████ │  ✗ template not found  error.type=TemplateError

";
        assert_eq!(buf.text(), expected, "actual:\n{}", buf.text());
        assert_eq!(
            lock(&exporter.buffer).pending_traces(),
            0,
            "a drawn trace leaves the buffer"
        );
    }

    #[test]
    fn colour_highlights_errors() {
        let buf = SharedBuf::default();
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(true)
            .build();
        let (first, second) = request_tree();
        block_on(exporter.export(first.into_iter().chain(second).collect())).unwrap();
        let text = buf.text();
        assert!(text.contains("\x1b[31m✗ template not found\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[31mrender"), "{text}");
        assert!(text.contains("\x1b[36m████"), "{text}");
    }

    #[test]
    fn long_attribute_tails_are_capped() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let attributes = (0..4)
            .map(|i| KeyValue::new(format!("k{i}"), "v".repeat(100)))
            .collect();
        block_on(exporter.export(vec![S::new(1, 0, "root", 0, 1).attrs(attributes).build()])).unwrap();
        let line = buf.text().lines().nth(1).unwrap().to_owned();
        assert!(line.width() <= MAX_LINE_COLUMNS, "{line}");
        assert!(line.ends_with('…'), "{line}");
    }
}
