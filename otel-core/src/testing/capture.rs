//! [`Capture`]: one test's view of the spans and logs of its own trace.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, ContextGuard};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SpanData};

use super::CapturedLog;

/// Spans and logs of one test; see [`capture`].
#[derive(Debug)]
#[must_use = "the capture ends when dropped"]
pub struct Capture {
    cx: Context,
    trace_id: TraceId,
    root_span_id: SpanId,
    _guard: ContextGuard,
}

/// Installs the in-memory pipeline (see [`super::install`]) and starts capturing: until
/// the returned value is dropped, spans started on this thread (and in futures that
/// carry [`Capture::context`]) belong to a fresh trace that only this capture reads.
///
/// ```
/// let cap = otel_core::testing::capture();
/// otel_core::in_span("work", || {});
/// let work = cap.span("work");
/// assert_eq!(work.parent_span_id, cap.root_span_id());
/// ```
pub fn capture() -> Capture {
    super::install();
    let ids = RandomIdGenerator::default();
    let trace_id = ids.new_trace_id();
    let root_span_id = ids.new_span_id();
    let parent = SpanContext::new(
        trace_id,
        root_span_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = Context::current().with_remote_span_context(parent);
    let guard = cx.clone().attach();
    Capture {
        cx,
        trace_id,
        root_span_id,
        _guard: guard,
    }
}

impl Capture {
    /// The capture's context, to carry into spawned tasks or threads
    /// (`FutureExt::with_context(cap.context())` or `cap.context().attach()`).
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// The trace every captured span belongs to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The synthetic remote parent: spans started at the top of the capture have it as
    /// their `parent_span_id`.
    pub fn root_span_id(&self) -> SpanId {
        self.root_span_id
    }

    /// Finished spans of this capture, in the order they ended: the capture's trace,
    /// plus new-root traces that link to it (public endpoints, `new_root`).
    pub fn spans(&self) -> Vec<SpanData> {
        let store = &super::harness().spans;
        let mut traces = HashSet::from([self.trace_id]);
        let linked = store.spans_where(|s| {
            s.span_context.trace_id() != self.trace_id
                && s.links
                    .links
                    .iter()
                    .any(|l| l.span_context.trace_id() == self.trace_id)
        });
        traces.extend(linked.iter().map(|s| s.span_context.trace_id()));
        store.spans_where(|s| traces.contains(&s.span_context.trace_id()))
    }

    /// Spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans().into_iter().filter(|s| s.name == name).collect()
    }

    /// The one span named `name`.
    ///
    /// # Panics
    ///
    /// When there is no such span or more than one, listing what was captured (this is
    /// an assertion helper).
    pub fn span(&self, name: &str) -> SpanData {
        let mut found = self.spans_named(name);
        match found.len() {
            1 => found.remove(0),
            n => panic!(
                "expected exactly one span named {name:?}, found {n}; captured:\n{}",
                self.tree()
            ),
        }
    }

    /// Children of `parent`, by start time.
    pub fn children_of(&self, parent: &SpanData) -> Vec<SpanData> {
        let mut children: Vec<SpanData> = self
            .spans()
            .into_iter()
            .filter(|s| s.parent_span_id == parent.span_context.span_id())
            .collect();
        children.sort_by_key(|s| s.start_time);
        children
    }

    /// Waits (up to `timeout`, polling) until at least `n` spans ended, for spans that
    /// end on other threads; returns what was captured either way.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<SpanData> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() >= deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Like [`wait_for_spans`](Self::wait_for_spans), for async tests: it yields to the
    /// executor between checks instead of sleeping the thread, so a server running on
    /// the same current-thread runtime (the `#[tokio::test]` default) can finish the
    /// spans being waited for.
    ///
    /// ```
    /// # futures_executor::block_on(async {
    /// let cap = otel_core::testing::capture();
    /// otel_core::in_span("work", || {});
    /// let spans = cap.wait_for_spans_async(1, std::time::Duration::from_secs(5)).await;
    /// assert_eq!(spans.len(), 1);
    /// # });
    /// ```
    pub async fn wait_for_spans_async(&self, n: usize, timeout: Duration) -> Vec<SpanData> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() >= deadline {
                return spans;
            }
            YieldNow(false).await;
        }
    }

    /// The span tree as text, two spaces per level, children by start time:
    /// `"GET /users/{id} [Server]\n  db.query [Client]\n"`. Spans whose parent is not
    /// captured are roots.
    pub fn tree(&self) -> String {
        let mut spans = self.spans();
        spans.sort_by_key(|s| s.start_time);
        let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
        let mut out = String::new();
        for root in spans.iter().filter(|s| !ids.contains(&s.parent_span_id)) {
            render(&spans, root, 0, &mut out);
        }
        out
    }

    /// Log records emitted inside this capture's trace.
    pub fn logs(&self) -> Vec<CapturedLog> {
        super::harness().logs.logs_where(|l| {
            l.record
                .trace_context()
                .is_some_and(|tc| tc.trace_id == self.trace_id)
        })
    }
}

/// Pending once, after asking to be polled again: lets the executor run other tasks.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn render(spans: &[SpanData], span: &SpanData, depth: usize, out: &mut String) {
    let _ = writeln!(
        out,
        "{:indent$}{} [{:?}]",
        "",
        span.name,
        span.span_kind,
        indent = depth * 2
    );
    for child in spans.iter().filter(|s| {
        s.parent_span_id == span.span_context.span_id()
            && s.span_context.span_id() != span.span_context.span_id()
    }) {
        render(spans, child, depth + 1, out);
    }
}
