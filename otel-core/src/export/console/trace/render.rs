//! Drawing a laid-out waterfall: the trace header, then one line per span with its
//! name, duration, bar, kind, error marker and the attributes worth a glance, coloured
//! when the output wants it.
//!
//! Lines stay within 80 terminal columns, the width of a default terminal: what does
//! not fit after the bar moves to continuation lines under the span's name, so an
//! HTTP span's attributes never wrap in the middle of a word or hide off screen.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{
    DB_QUERY_TEXT, DB_SYSTEM_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
    RPC_METHOD, URL_FULL,
};
use unicode_width::UnicodeWidthStr;

use super::buffer::{Completeness, FinishedTrace};
use super::layout::{Row, Waterfall, DURATION_WIDTH, MAX_LINE_COLUMNS};
use crate::export::console::{clean, fmt_duration, fmt_key, fmt_value, paint, Style};

/// Continuation lines per span at most; the last one ends with `…` when more was left.
const MAX_CONTINUATION_LINES: usize = 2;
/// Continuation lines start this much deeper than the span's name.
const CONTINUATION_INDENT: usize = 4;
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
    let prefix_width = waterfall.name_width + 2 + DURATION_WIDTH + 2 + waterfall.bar_width + 2;
    let tail_budget = MAX_LINE_COLUMNS.saturating_sub(prefix_width + 2);
    for row in &waterfall.rows {
        render_row(out, row, waterfall.bar_width, tail_budget, color);
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

fn render_row(out: &mut String, row: &Row<'_>, bar_width: usize, tail_budget: usize, color: bool) {
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
    line.push_str(&" ".repeat(bar_width - to));
    line.push('│');

    let mut segments: Vec<(Option<Style>, String)> = Vec::new();
    if let Some(kind) = kind_label(&span.span_kind) {
        segments.push((None, kind.to_owned()));
    }
    if let Some(description) = error {
        let description = clean(description, STATUS_DESCRIPTION_CHARS, true);
        let marker = if description.is_empty() {
            "✗".to_owned()
        } else {
            format!("✗ {description}")
        };
        segments.push((Some(Style::Red), marker));
    }
    for (kv, width) in shown_attributes(&span.name, &span.attributes) {
        let attribute = format!("{}={}", fmt_key(&kv.key), fmt_value(&kv.value, width));
        segments.push((Some(Style::Dim), attribute));
    }

    // Segments go after the bar while they fit, the rest onto continuation lines.
    let mut segments = segments.into_iter().peekable();
    let mut first = Tail::new(color, tail_budget);
    while let Some((style, text)) = segments.next_if(|(_, text)| first.fits(text)) {
        first.push(style, &text);
    }
    if !first.out.is_empty() {
        line.push_str("  ");
        line.push_str(&first.out);
    }
    out.push_str(line.trim_end());
    out.push('\n');

    let indent = row.indent + CONTINUATION_INDENT;
    let budget = MAX_LINE_COLUMNS.saturating_sub(indent);
    for n in 0..MAX_CONTINUATION_LINES {
        if segments.peek().is_none() {
            break;
        }
        let last = n + 1 == MAX_CONTINUATION_LINES;
        let mut tail = Tail::new(color, budget);
        while let Some((style, text)) = segments.next_if(|(_, text)| !tail.started || tail.fits(text)) {
            // A segment wider than a whole line is cut; on the last line so is the rest.
            tail.push_cut(style, &text);
        }
        if last && segments.peek().is_some() {
            tail.push_cut(None, "…");
        }
        out.push_str(&" ".repeat(indent));
        out.push_str(&tail.out);
        out.push('\n');
    }
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

/// Key attributes in a fixed order, then the others if the span has only a few. The
/// HTTP method and route are left out when the span's name already says them, as the
/// semantic conventions' `{method} {route}` names do.
fn shown_attributes<'a>(name: &str, attributes: &'a [KeyValue]) -> Vec<(&'a KeyValue, usize)> {
    let mut shown = Vec::new();
    for (key, width) in KEY_ATTRIBUTES {
        if let Some(kv) = attributes.iter().find(|kv| kv.key.as_str() == key) {
            let in_name = (key == HTTP_REQUEST_METHOD || key == HTTP_ROUTE)
                && name.split(' ').any(|word| word == kv.value.as_str());
            if !in_name {
                shown.push((kv, width));
            }
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

/// Styled segments of one line, two spaces apart, within a budget of columns.
struct Tail {
    out: String,
    color: bool,
    budget: usize,
    started: bool,
}

impl Tail {
    fn new(color: bool, budget: usize) -> Self {
        Tail {
            out: String::new(),
            color,
            budget,
            started: false,
        }
    }

    fn separator(&self) -> usize {
        if self.started {
            2
        } else {
            0
        }
    }

    fn fits(&self, text: &str) -> bool {
        self.budget >= self.separator() + text.width()
    }

    fn push(&mut self, style: Option<Style>, text: &str) {
        if self.started {
            self.out.push_str("  ");
        }
        self.budget = self.budget.saturating_sub(self.separator() + text.width());
        self.started = true;
        match style {
            Some(style) => paint(&mut self.out, self.color, style, text),
            None => self.out.push_str(text),
        }
    }

    /// Pushes `text`, cut with `…` to the room left (the text is clean already).
    fn push_cut(&mut self, style: Option<Style>, text: &str) {
        let room = self.budget.saturating_sub(self.separator());
        if room == 0 {
            return;
        }
        let text = if text.width() > room {
            clean(text, room, false)
        } else {
            text.to_owned()
        };
        self.push(style, &text);
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
GET /users/{id}   120 ms  │████████████████████████████████│  SERVER
    http.response.status_code=500
  db.query       50.0 ms  │  ██████████████                │  CLIENT
      db.system.name=sqlite
      db.query.text=\"SELECT id, name FROM users WHERE id = ?\"
    db.connect   8.00 ms  │   ███                          │  pool.size=4
  render         45.0 ms  │                  █████████████ │
      ✗ template not found  error.type=TemplateError

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
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        // Header, span line, at most two continuation lines (the last one cut), blank.
        assert_eq!(lines.len(), 5, "{text:?}");
        for line in &lines {
            assert!(line.width() <= MAX_LINE_COLUMNS, "{line}");
        }
        assert!(lines[3].ends_with('…'), "{text}");
    }

    #[test]
    fn http_attributes_in_the_name_are_not_repeated() {
        let attributes = vec![
            KeyValue::new(HTTP_REQUEST_METHOD, "GET"),
            KeyValue::new(HTTP_ROUTE, "/users/{id}"),
        ];
        let named = shown_attributes("GET /users/{id}", &attributes);
        assert!(named.is_empty(), "{named:?}");
        let other = shown_attributes("handler", &attributes);
        assert_eq!(other.len(), 2, "{other:?}");
    }
}
