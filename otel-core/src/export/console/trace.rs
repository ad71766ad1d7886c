//! The trace waterfall: spans buffered per trace and drawn when the local root ends.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::attribute::{
    DB_QUERY_TEXT, DB_SYSTEM_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
    RPC_METHOD, URL_FULL,
};

use super::{
    clean, fmt_duration, fmt_key, fmt_value, lock, paint, service_name, Output, OutputConfig, Style,
};

const DEFAULT_MAX_PENDING_TRACES: usize = 1024;
const DEFAULT_MAX_PENDING_SPANS: usize = 10_000;
/// Columns of the timeline bar, between its two `│` borders.
const BAR_WIDTH: usize = 32;
/// Right-aligned duration column: "99.9 ms" is the widest below 100 000 s.
const DURATION_WIDTH: usize = 7;
/// Widest name column, indentation included.
const MAX_NAME_WIDTH: usize = 48;
/// Deeper spans keep this indentation, so a runaway recursion cannot push names off screen.
const MAX_INDENT_DEPTH: usize = 12;
/// Cap on a whole line; the attribute tail is cut to fit.
const MAX_LINE_CHARS: usize = 200;
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

/// Builder for [`ConsoleSpanExporter`].
///
/// ```
/// use otel_core::export::console::ConsoleSpanExporter;
///
/// let exporter = ConsoleSpanExporter::builder()
///     .with_writer(std::io::stdout())
///     .with_color(false)
///     .with_max_pending_traces(256)
///     .with_max_pending_spans(4096)
///     .build();
/// # drop(exporter);
/// ```
#[must_use]
#[derive(Debug)]
pub struct ConsoleSpanExporterBuilder {
    output: OutputConfig,
    max_pending_traces: usize,
    max_pending_spans: usize,
}

impl Default for ConsoleSpanExporterBuilder {
    fn default() -> Self {
        Self {
            output: OutputConfig::default(),
            max_pending_traces: DEFAULT_MAX_PENDING_TRACES,
            max_pending_spans: DEFAULT_MAX_PENDING_SPANS,
        }
    }
}

impl ConsoleSpanExporterBuilder {
    /// Writes the waterfalls to `writer` instead of stderr. A custom writer is not
    /// coloured unless [`with_color`](Self::with_color) says so.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_writer(std::io::sink()).build();
    /// # drop(exporter);
    /// ```
    pub fn with_writer<W: Write + Send + 'static>(mut self, writer: W) -> Self {
        self.output.writer = Some(Box::new(writer));
        self
    }

    /// Turns ANSI colours on or off. Default: on only when writing to stderr, stderr is
    /// a terminal and `NO_COLOR` is unset or empty.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn with_color(mut self, color: bool) -> Self {
        self.output.color = Some(color);
        self
    }

    /// Caps the traces waiting for their root span to end (default 1024). When a new
    /// trace would exceed it, the oldest one is drawn with what has arrived, marked
    /// incomplete. Values below 1 count as 1.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_max_pending_traces(64).build();
    /// # drop(exporter);
    /// ```
    pub fn with_max_pending_traces(mut self, max: usize) -> Self {
        self.max_pending_traces = max.max(1);
        self
    }

    /// Caps the spans buffered across all pending traces (default 10 000); the oldest
    /// traces are drawn, marked incomplete, until the buffer fits again. Values below 1
    /// count as 1.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_max_pending_spans(2048).build();
    /// # drop(exporter);
    /// ```
    pub fn with_max_pending_spans(mut self, max: usize) -> Self {
        self.max_pending_spans = max.max(1);
        self
    }

    /// Builds the exporter.
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().build();
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn build(self) -> ConsoleSpanExporter {
        ConsoleSpanExporter {
            output: self.output.build(),
            buffer: Mutex::new(TraceBuffer::new(self.max_pending_traces, self.max_pending_spans)),
            service_name: None,
            is_shutdown: AtomicBool::new(false),
        }
    }
}

/// A [`SpanExporter`] that draws each finished trace as an indented waterfall, for
/// development.
///
/// One line per span, children indented under their parent in start order, with the
/// duration, a bar placed on the trace's timeline, the span kind when not internal, a
/// `✗` and the status description for errors, and the attributes worth a glance
/// (HTTP method, route and status, `url.full`, database system and query, RPC method,
/// `error.type`; every attribute when a span has only a few):
///
/// ```text
/// trace 4bf92f3577b34da6a3ce929d0e0e4736 · users-api · 120 ms · 4 spans
/// GET /users/{id}   120 ms  │████████████████████████████████│  SERVER  http.request.method=GET …
///   db.query       50.0 ms  │  ██████████████                │  CLIENT  db.system.name=sqlite …
///     db.connect   8.00 ms  │   ███                          │  pool.size=4
///   render         45.0 ms  │                  █████████████ │  ✗ template not found  error.type=…
/// ```
///
/// Spans of a trace arrive in several batches, children first, so they are buffered
/// per trace and drawn when a *local root* ends: a span without a parent, or whose
/// parent is remote. The buffer is bounded (see the builder); `force_flush` and
/// `shutdown` draw whatever is pending. Spans whose parent never arrived are shown at
/// the top level of their trace.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otel_core::export::console::ConsoleSpanExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(ConsoleSpanExporter::default())
///     .build();
/// let tracer = provider.tracer("example");
/// tracer.in_span("parent", |_| tracer.in_span("child", |_| {}));
/// // The waterfall of "parent" is on stderr now.
/// provider.shutdown().unwrap();
/// ```
pub struct ConsoleSpanExporter {
    output: Output,
    buffer: Mutex<TraceBuffer>,
    service_name: Option<String>,
    is_shutdown: AtomicBool,
}

impl ConsoleSpanExporter {
    /// Starts a builder; see [`ConsoleSpanExporterBuilder`].
    ///
    /// ```
    /// use otel_core::export::console::ConsoleSpanExporter;
    ///
    /// let exporter = ConsoleSpanExporter::builder().with_color(false).build();
    /// # drop(exporter);
    /// ```
    pub fn builder() -> ConsoleSpanExporterBuilder {
        ConsoleSpanExporterBuilder::default()
    }

    fn export_batch(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.is_shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let finished = lock(&self.buffer).insert_batch(batch);
        self.draw(&finished)
    }

    fn draw_pending(&self) -> OTelSdkResult {
        let pending = lock(&self.buffer).drain();
        self.draw(&pending)
    }

    fn draw(&self, traces: &[FinishedTrace]) -> OTelSdkResult {
        let mut text = String::new();
        for trace in traces {
            render_trace(&mut text, trace, self.service_name.as_deref(), self.output.color);
        }
        self.output.write(&text)
    }
}

impl Default for ConsoleSpanExporter {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for ConsoleSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ConsoleSpanExporter");
        debug
            .field("output", &self.output)
            .field("service_name", &self.service_name);
        // try_lock: formatting must never wait on (or deadlock with) an export.
        if let Ok(buffer) = self.buffer.try_lock() {
            debug
                .field("pending_traces", &buffer.traces.len())
                .field("pending_spans", &buffer.span_count);
        }
        debug
            .field("is_shutdown", &self.is_shutdown.load(Ordering::Relaxed))
            .finish()
    }
}

impl SpanExporter for ConsoleSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Formatting and one buffered write: nothing worth suspending for.
        std::future::ready(self.export_batch(batch))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.draw_pending()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.draw_pending()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = service_name(resource);
    }
}

/// Why a trace is drawn, shown in its header when it is not the normal case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Completeness {
    /// A local root ended.
    Complete,
    /// Flushed or shut down before any local root ended.
    RootPending,
    /// Pushed out of the bounded buffer before any local root ended.
    Evicted,
}

#[derive(Debug)]
struct FinishedTrace {
    trace_id: TraceId,
    spans: Vec<SpanData>,
    completeness: Completeness,
}

#[derive(Debug)]
struct PendingTrace {
    /// Arrival order, the key into `TraceBuffer::arrival`.
    seq: u64,
    spans: Vec<SpanData>,
    root_ended: bool,
}

/// Spans waiting for their trace's local root, bounded in traces and in spans.
#[derive(Debug)]
struct TraceBuffer {
    traces: HashMap<TraceId, PendingTrace>,
    /// Pending traces by first arrival, so the oldest is evicted first.
    arrival: BTreeMap<u64, TraceId>,
    span_count: usize,
    next_seq: u64,
    max_traces: usize,
    max_spans: usize,
}

impl TraceBuffer {
    fn new(max_traces: usize, max_spans: usize) -> Self {
        Self {
            traces: HashMap::new(),
            arrival: BTreeMap::new(),
            span_count: 0,
            next_seq: 0,
            max_traces,
            max_spans,
        }
    }

    /// Buffers a batch and returns the traces to draw now: those evicted to stay within
    /// bounds, then those whose local root ended. Roots are acted on after the whole
    /// batch, so children exported in the same batch as their root are drawn with it.
    fn insert_batch(&mut self, batch: Vec<SpanData>) -> Vec<FinishedTrace> {
        let mut finished = Vec::new();
        let mut rooted = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let is_local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
            let pending = match self.traces.entry(trace_id) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    self.arrival.insert(seq, trace_id);
                    entry.insert(PendingTrace {
                        seq,
                        spans: Vec::new(),
                        root_ended: false,
                    })
                }
            };
            pending.spans.push(span);
            if is_local_root && !pending.root_ended {
                pending.root_ended = true;
                rooted.push(trace_id);
            }
            self.span_count += 1;
            self.evict_over_limits(&mut finished);
        }
        for trace_id in rooted {
            // Evicted meanwhile (already drawn) or re-opened by later spans without a root.
            if self.traces.get(&trace_id).is_some_and(|t| t.root_ended) {
                if let Some(trace) = self.remove(trace_id) {
                    finished.push(FinishedTrace {
                        trace_id,
                        spans: trace.spans,
                        completeness: Completeness::Complete,
                    });
                }
            }
        }
        finished
    }

    fn evict_over_limits(&mut self, finished: &mut Vec<FinishedTrace>) {
        while self.traces.len() > self.max_traces || self.span_count > self.max_spans {
            let Some((_, trace_id)) = self.arrival.pop_first() else {
                break;
            };
            if let Some(trace) = self.traces.remove(&trace_id) {
                self.span_count -= trace.spans.len();
                finished.push(FinishedTrace {
                    trace_id,
                    completeness: if trace.root_ended {
                        Completeness::Complete
                    } else {
                        Completeness::Evicted
                    },
                    spans: trace.spans,
                });
            }
        }
    }

    fn remove(&mut self, trace_id: TraceId) -> Option<PendingTrace> {
        let trace = self.traces.remove(&trace_id)?;
        self.arrival.remove(&trace.seq);
        self.span_count -= trace.spans.len();
        Some(trace)
    }

    /// Everything pending, oldest first.
    fn drain(&mut self) -> Vec<FinishedTrace> {
        let arrival = std::mem::take(&mut self.arrival);
        let mut drained = Vec::with_capacity(arrival.len());
        for trace_id in arrival.into_values() {
            if let Some(trace) = self.traces.remove(&trace_id) {
                drained.push(FinishedTrace {
                    trace_id,
                    completeness: if trace.root_ended {
                        Completeness::Complete
                    } else {
                        Completeness::RootPending
                    },
                    spans: trace.spans,
                });
            }
        }
        self.traces.clear();
        self.span_count = 0;
        drained
    }
}

/// Spans in drawing order: depth-first, children in start order; spans whose parent is
/// not in the trace (or that sit in a parent cycle) start a top-level branch.
fn waterfall_order(spans: &[SpanData]) -> Vec<(usize, usize)> {
    let mut index: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        index.entry(span.span_context.span_id()).or_insert(i);
    }
    let mut by_start: Vec<usize> = (0..spans.len()).collect();
    by_start.sort_by_key(|&i| (spans[i].start_time, spans[i].end_time));

    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for &i in &by_start {
        let parent = spans[i].parent_span_id;
        match index.get(&parent) {
            Some(&p) if p != i && parent != SpanId::INVALID => children[p].push(i),
            _ => roots.push(i),
        }
    }

    let mut order = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack = Vec::new();
    // Roots first, then whatever a parent cycle kept unreachable.
    for start in roots.into_iter().chain(by_start) {
        stack.push((0usize, start));
        while let Some((depth, i)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            order.push((depth, i));
            stack.extend(children[i].iter().rev().map(|&c| (depth + 1, c)));
        }
    }
    order
}

fn duration_between(start: SystemTime, end: SystemTime) -> Duration {
    end.duration_since(start).unwrap_or_default()
}

/// The bar's filled cells `[from, to)` for a span on the trace's timeline; at least one
/// cell, so instantaneous spans stay visible. Integer nanoseconds, so a span ending
/// exactly on a cell boundary does not spill into the next cell through float error.
fn bar_cells(span: &SpanData, trace_start: SystemTime, total: Duration) -> (usize, usize) {
    let total = total.as_nanos();
    if total == 0 {
        return (0, BAR_WIDTH);
    }
    let offset = duration_between(trace_start, span.start_time).as_nanos();
    let end = offset + duration_between(span.start_time, span.end_time).as_nanos();
    let width = BAR_WIDTH as u128;
    let cell = |nanos: u128, round_up: bool| -> usize {
        let scaled = nanos.saturating_mul(width);
        let cells = if round_up {
            scaled.div_ceil(total)
        } else {
            scaled / total
        };
        // At most BAR_WIDTH once clamped, so the conversion cannot fail.
        usize::try_from(cells.min(width)).unwrap_or(BAR_WIDTH)
    };
    let from = cell(offset, false).min(BAR_WIDTH - 1);
    let to = cell(end, true).clamp(from + 1, BAR_WIDTH);
    (from, to)
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

/// Appends styled segments to a line until its character budget is spent, then `…`.
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
        let len = text.chars().count();
        let fits = self.budget >= sep + len;
        let text = if fits {
            text.to_owned()
        } else {
            self.full = true;
            let room = self.budget.saturating_sub(sep);
            if room == 0 {
                return;
            }
            let mut cut: String = text.chars().take(room - 1).collect();
            cut.push('…');
            cut
        };
        if self.started {
            self.out.push_str("  ");
        }
        self.started = true;
        self.budget -= sep + text.chars().count();
        match style {
            Some(style) => paint(self.out, self.color, style, &text),
            None => self.out.push_str(&text),
        }
    }
}

fn render_trace(out: &mut String, trace: &FinishedTrace, service: Option<&str>, color: bool) {
    let spans = &trace.spans;
    let (Some(start), Some(end)) = (
        spans.iter().map(|s| s.start_time).min(),
        spans.iter().map(|s| s.end_time.max(s.start_time)).max(),
    ) else {
        return;
    };
    let total = duration_between(start, end);

    let mut header = format!("trace {}", trace.trace_id);
    if let Some(service) = service {
        header.push_str(" · ");
        header.push_str(service);
    }
    header.push_str(" · ");
    header.push_str(&fmt_duration(total));
    header.push_str(&format!(
        " · {} span{}",
        spans.len(),
        if spans.len() == 1 { "" } else { "s" }
    ));
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

    let order = waterfall_order(spans);
    let names: Vec<(usize, String)> = order
        .iter()
        .map(|&(depth, i)| {
            let indent = 2 * depth.min(MAX_INDENT_DEPTH);
            (indent, clean(&spans[i].name, MAX_NAME_WIDTH - indent, true))
        })
        .collect();
    let name_width = names
        .iter()
        .map(|(indent, name)| indent + name.chars().count())
        .max()
        .unwrap_or(0);
    let prefix_width = name_width + 2 + DURATION_WIDTH + 2 + BAR_WIDTH + 2;
    let tail_budget = MAX_LINE_CHARS.saturating_sub(prefix_width + 2).max(24);

    for (&(_, i), (indent, name)) in order.iter().zip(&names) {
        let span = &spans[i];
        let error = match &span.status {
            Status::Error { description } => Some(description),
            Status::Ok | Status::Unset => None,
        };
        let mut line = " ".repeat(*indent);
        if error.is_some() {
            paint(&mut line, color, Style::Red, name);
        } else {
            line.push_str(name);
        }
        let padding = name_width.saturating_sub(indent + name.chars().count());
        line.push_str(&" ".repeat(padding));
        let duration = fmt_duration(duration_between(span.start_time, span.end_time));
        line.push_str(&format!("  {duration:>DURATION_WIDTH$}  │"));
        let (from, to) = bar_cells(span, start, total);
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
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{BrokenPipe, SharedBuf};
    use super::*;
    use futures_executor::block_on;
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::UNIX_EPOCH;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn trace_id(hex: &str) -> TraceId {
        TraceId::from_hex(hex).unwrap()
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
    }

    struct S {
        trace: TraceId,
        id: u64,
        parent: u64,
        remote_parent: bool,
        name: &'static str,
        kind: SpanKind,
        start_ms: u64,
        end_ms: u64,
        attributes: Vec<KeyValue>,
        status: Status,
    }

    impl S {
        fn new(id: u64, parent: u64, name: &'static str, start_ms: u64, end_ms: u64) -> Self {
            S {
                trace: trace_id(TRACE),
                id,
                parent,
                remote_parent: false,
                name,
                kind: SpanKind::Internal,
                start_ms,
                end_ms,
                attributes: Vec::new(),
                status: Status::Unset,
            }
        }

        fn in_trace(mut self, hex: &str) -> Self {
            self.trace = trace_id(hex);
            self
        }

        fn kind(mut self, kind: SpanKind) -> Self {
            self.kind = kind;
            self
        }

        fn attrs(mut self, attributes: Vec<KeyValue>) -> Self {
            self.attributes = attributes;
            self
        }

        fn status(mut self, status: Status) -> Self {
            self.status = status;
            self
        }

        fn remote_parent(mut self) -> Self {
            self.remote_parent = true;
            self
        }

        fn build(self) -> SpanData {
            SpanData {
                span_context: SpanContext::new(
                    self.trace,
                    SpanId::from(self.id),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: SpanId::from(self.parent),
                parent_span_is_remote: self.remote_parent,
                span_kind: self.kind,
                name: self.name.into(),
                start_time: at(self.start_ms),
                end_time: at(self.end_ms),
                attributes: self.attributes,
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: self.status,
                instrumentation_scope: InstrumentationScope::builder("test").build(),
            }
        }
    }

    fn exporter(buf: &SharedBuf) -> ConsoleSpanExporter {
        let mut exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(false)
            .build();
        exporter.set_resource(&Resource::builder_empty().with_service_name("users-api").build());
        exporter
    }

    /// The spans of `GET /users/{id}`: a server root with a database call (itself with a
    /// connection step) and a failing render step.
    fn request_tree() -> (Vec<SpanData>, Vec<SpanData>) {
        let db_connect = S::new(3, 2, "db.connect", 12, 20)
            .attrs(vec![KeyValue::new("pool.size", 4)])
            .build();
        let db_query = S::new(2, 1, "db.query", 10, 60)
            .kind(SpanKind::Client)
            .attrs(vec![
                KeyValue::new(DB_SYSTEM_NAME, "sqlite"),
                KeyValue::new(DB_QUERY_TEXT, "SELECT id, name\n  FROM users\n  WHERE id = ?"),
            ])
            .build();
        let render = S::new(4, 1, "render", 70, 115)
            .status(Status::error("template not found"))
            .attrs(vec![KeyValue::new(ERROR_TYPE, "TemplateError")])
            .build();
        let root = S::new(1, 0, "GET /users/{id}", 0, 120)
            .kind(SpanKind::Server)
            .attrs(vec![
                KeyValue::new(HTTP_REQUEST_METHOD, "GET"),
                KeyValue::new(HTTP_ROUTE, "/users/{id}"),
                KeyValue::new(HTTP_RESPONSE_STATUS_CODE, 500),
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("server.address", "localhost"),
            ])
            .build();
        (vec![db_connect, db_query], vec![render, root])
    }

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
            lock(&exporter.buffer).traces.len(),
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
    fn debug_shows_configuration_and_pending_counts() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(2, 1, "child", 0, 1).build()])).unwrap();
        let debug = format!("{exporter:?}");
        assert!(debug.contains("service_name: Some(\"users-api\")"), "{debug}");
        assert!(debug.contains("pending_traces: 1, pending_spans: 1"), "{debug}");
    }

    #[test]
    fn default_colour_is_off_for_a_custom_writer() {
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(std::io::sink())
            .build();
        assert!(!exporter.output.color);
    }

    #[test]
    fn remote_parent_makes_a_local_root() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let child = S::new(2, 1, "child", 1, 2).build();
        block_on(exporter.export(vec![child])).unwrap();
        assert_eq!(buf.text(), "");
        let server = S::new(1, 99, "server", 0, 3).remote_parent().build();
        block_on(exporter.export(vec![server])).unwrap();
        let text = buf.text();
        assert!(text.contains("· 2 spans\nserver "), "{text}");
        assert!(text.contains("\n  child "), "child is nested: {text}");
        assert!(!text.contains("partial"), "{text}");
    }

    #[test]
    fn flush_draws_pending_traces_with_orphans_at_top_level() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let orphan = S::new(5, 77, "orphan", 10, 20).build();
        let grandchild = S::new(6, 5, "grandchild", 12, 15).build();
        block_on(exporter.export(vec![grandchild, orphan])).unwrap();
        assert_eq!(buf.text(), "");
        exporter.force_flush().unwrap();
        let text = buf.text();
        assert!(
            text.starts_with(&format!(
                "trace {TRACE} · users-api · 10.0 ms · 2 spans · partial: root span not ended yet\norphan "
            )),
            "{text}"
        );
        assert!(text.contains("\n  grandchild "), "{text}");
        buf.clear();
        exporter.force_flush().unwrap();
        assert_eq!(buf.text(), "", "a flush empties the buffer");
    }

    #[test]
    fn shutdown_draws_pending_and_refuses_later_exports() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(2, 1, "late", 0, 1).build()])).unwrap();
        exporter.shutdown().unwrap();
        assert!(buf.text().contains("\nlate "), "{}", buf.text());
        let after = block_on(exporter.export(vec![S::new(1, 0, "root", 0, 1).build()]));
        assert!(matches!(after, Err(OTelSdkError::AlreadyShutdown)));
        assert!(matches!(exporter.shutdown(), Err(OTelSdkError::AlreadyShutdown)));
    }

    #[test]
    fn pending_traces_are_bounded() {
        let buf = SharedBuf::default();
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(false)
            .with_max_pending_traces(2)
            .build();
        let traces = [
            "00000000000000000000000000000001",
            "00000000000000000000000000000002",
            "00000000000000000000000000000003",
        ];
        for (n, hex) in traces.iter().enumerate() {
            let span = S::new(10 + n as u64, 1, "child", 0, 1).in_trace(hex).build();
            block_on(exporter.export(vec![span])).unwrap();
        }
        let text = buf.text();
        assert_eq!(
            text,
            format!(
                "trace {} · 1.00 ms · 1 span · incomplete: evicted before its root span ended (buffer full)\n\
                 child  1.00 ms  │████████████████████████████████│\n\n",
                traces[0]
            )
        );
        assert_eq!(lock(&exporter.buffer).traces.len(), 2);
    }

    #[test]
    fn pending_spans_are_bounded() {
        let buf = SharedBuf::default();
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(buf.clone())
            .with_color(false)
            .with_max_pending_spans(3)
            .build();
        let a = "0000000000000000000000000000000a";
        let b = "0000000000000000000000000000000b";
        block_on(exporter.export(vec![
            S::new(2, 1, "a1", 0, 1).in_trace(a).build(),
            S::new(3, 1, "a2", 0, 1).in_trace(a).build(),
            S::new(4, 1, "b1", 0, 1).in_trace(b).build(),
        ]))
        .unwrap();
        assert_eq!(buf.text(), "");
        block_on(exporter.export(vec![S::new(5, 1, "b2", 0, 1).in_trace(b).build()])).unwrap();
        let text = buf.text();
        assert!(text.starts_with(&format!("trace {a} ")), "{text}");
        assert!(text.contains("evicted"), "{text}");
        assert!(text.contains("\na1 ") && text.contains("\na2 "), "{text}");
        assert!(!text.contains("b1"), "{text}");
        let buffer = lock(&exporter.buffer);
        assert_eq!((buffer.traces.len(), buffer.span_count), (1, 2));
    }

    #[test]
    fn late_spans_after_the_root_start_a_new_pending_entry() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        block_on(exporter.export(vec![S::new(1, 0, "root", 0, 10).build()])).unwrap();
        assert!(buf.text().contains("1 span\nroot "));
        buf.clear();
        block_on(exporter.export(vec![S::new(2, 1, "spawned", 5, 30).build()])).unwrap();
        assert_eq!(buf.text(), "");
        exporter.force_flush().unwrap();
        assert!(buf.text().contains("partial"), "{}", buf.text());
        assert!(buf.text().contains("\nspawned "), "{}", buf.text());
    }

    #[test]
    fn parent_cycles_and_hostile_names_are_survived() {
        let buf = SharedBuf::default();
        let exporter = exporter(&buf);
        let a = S::new(1, 2, "a\x1b[2Jx", 0, 10).build();
        let b = S::new(2, 1, "b\nnewline", 1, 5).build();
        block_on(exporter.export(vec![a, b])).unwrap();
        exporter.force_flush().unwrap();
        let text = buf.text();
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(text.contains("\na\\u{1b}[2Jx "), "{text}");
        assert!(text.contains("\n  b newline "), "{text}");
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
        assert!(line.chars().count() <= MAX_LINE_CHARS, "{line}");
        assert!(line.ends_with('…'), "{line}");
    }

    #[test]
    fn write_errors_are_returned_not_panicked() {
        let exporter = ConsoleSpanExporter::builder()
            .with_writer(BrokenPipe)
            .with_color(false)
            .build();
        let result = block_on(exporter.export(vec![S::new(1, 0, "root", 0, 1).build()]));
        match result {
            Err(OTelSdkError::InternalFailure(message)) => {
                assert!(message.contains("pipe closed"), "{message}")
            }
            other => panic!("expected a write failure, got {other:?}"),
        }
    }

    #[test]
    fn works_with_a_real_tracer_provider() {
        use opentelemetry::trace::{Tracer, TracerProvider as _};
        use opentelemetry_sdk::trace::SdkTracerProvider;

        let buf = SharedBuf::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(
                ConsoleSpanExporter::builder()
                    .with_writer(buf.clone())
                    .with_color(false)
                    .build(),
            )
            .with_resource(Resource::builder_empty().with_service_name("svc").build())
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("outer", |_| tracer.in_span("inner", |_| {}));
        let text = buf.text();
        assert!(text.starts_with("trace "), "{text}");
        assert!(text.contains(" · svc · "), "{text}");
        assert!(text.contains(" · 2 spans\nouter "), "{text}");
        assert!(text.contains("\n  inner "), "{text}");
        provider.shutdown().unwrap();
    }
}
