//! `#[instrumented]` on `async fn`, functions returning futures and `#[async_trait]`.
#![cfg(not(otel_noop))]

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use otel_core::opentelemetry::context::FutureExt as _;
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::Value;
use otel_core::testing::{self, SpanDataExt};
use otel_macros::instrumented;

#[derive(Debug)]
struct FetchError;

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upstream unavailable")
    }
}

impl std::error::Error for FetchError {}

#[instrumented]
fn sync_child(step: u32) -> u32 {
    step
}

#[instrumented(kind = client)]
async fn fetch(id: u32) -> Result<u32, FetchError> {
    tokio::task::yield_now().await;
    if id == 0 {
        return Err(FetchError);
    }
    let checked = validate(id).await?;
    Ok(checked + sync_child(1))
}

#[instrumented]
async fn validate(id: u32) -> Result<u32, FetchError> {
    tokio::task::yield_now().await;
    if id > 100 {
        Err(FetchError)
    } else {
        Ok(id)
    }
}

#[tokio::test]
async fn async_fn_spans_cover_awaits_and_keep_parents() {
    let cap = testing::capture();
    assert_eq!(fetch(5).await.ok(), Some(6));
    assert_eq!(
        cap.tree(),
        "fetch [Client]\n  validate [Internal]\n  sync_child [Internal]\n"
    );
    let fetch_span = cap.span("fetch");
    assert_eq!(fetch_span.parent_span_id, cap.root_span_id());
    assert_eq!(fetch_span.span_kind, SpanKind::Client);
    assert_eq!(fetch_span.attr("id"), Some(&Value::I64(5)));
    assert_eq!(fetch_span.status, Status::Unset);
    let validate_span = cap.span("validate");
    assert_eq!(validate_span.parent_span_id, fetch_span.span_context.span_id());
    assert!(validate_span.end_time <= fetch_span.end_time);
}

#[tokio::test]
async fn async_errors_via_question_mark_and_early_return() {
    let cap = testing::capture();
    assert!(fetch(0).await.is_err());
    assert!(fetch(500).await.is_err());
    let spans = cap.spans_named("fetch");
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert_eq!(span.status, Status::error("upstream unavailable"));
        assert_eq!(span.attr_str("error.type").as_deref(), Some("FetchError"));
        assert_eq!(span.events.events[0].name, "exception");
    }
    // The `?` path: the inner call failed first.
    let validate = cap.span("validate");
    assert_eq!(validate.status, Status::error("upstream unavailable"));
    assert_eq!(validate.parent_span_id, spans[1].span_context.span_id());
}

#[instrumented]
async fn worker(name: &'static str, rounds: u32) -> u32 {
    let mut total = 0;
    for round in 0..rounds {
        tokio::task::yield_now().await;
        total += step(name, round).await;
    }
    total
}

#[instrumented]
async fn step(name: &'static str, round: u32) -> u32 {
    tokio::task::yield_now().await;
    let _ = name;
    round
}

#[tokio::test(flavor = "current_thread")]
async fn interleaved_tasks_on_one_thread_keep_their_own_parents() {
    let cap = testing::capture();
    let (a, b) = tokio::join!(worker("a", 3), worker("b", 3));
    assert_eq!((a, b), (3, 3));
    // Also as separate tasks on the same current-thread runtime.
    let c = tokio::spawn(worker("c", 2).with_context(cap.context()));
    let d = tokio::spawn(worker("d", 2).with_context(cap.context()));
    assert_eq!(c.await.ok(), Some(1));
    assert_eq!(d.await.ok(), Some(1));

    let workers = cap.spans_named("worker");
    assert_eq!(workers.len(), 4);
    let steps = cap.spans_named("step");
    assert_eq!(steps.len(), 10);
    for step in &steps {
        let name = step.attr_str("name");
        let parent = workers
            .iter()
            .find(|w| w.span_context.span_id() == step.parent_span_id)
            .unwrap_or_else(|| panic!("step {name:?} has no worker parent:\n{}", cap.tree()));
        assert_eq!(parent.attr_str("name"), name, "{}", cap.tree());
    }
    for worker in &workers {
        assert_eq!(worker.parent_span_id, cap.root_span_id());
    }
}

#[instrumented]
async fn never_finishes(job: u32) -> Result<(), FetchError> {
    let _ = job;
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test]
async fn a_dropped_future_ends_its_span_once_as_cancelled() {
    let cap = testing::capture();
    tokio::select! {
        biased;
        _ = never_finishes(9) => unreachable!("pending never completes"),
        () = async {} => {}
    }
    let span = cap.span("never_finishes");
    assert_eq!(span.attr_str("error.type").as_deref(), Some("cancelled"));
    assert_eq!(span.status, Status::error("cancelled before completion"));
    assert_eq!(span.attr("job"), Some(&Value::I64(9)));
    // Dropping a future that was never polled records nothing: `async fn` spans start at
    // the first poll.
    drop(never_finishes(10));
    assert_eq!(cap.spans_named("never_finishes").len(), 1);
}

#[instrumented]
async fn panics_after_await(n: u32) -> u32 {
    tokio::task::yield_now().await;
    if n > 0 {
        panic!("async boom {n}");
    }
    n
}

#[tokio::test]
async fn a_panic_in_a_task_ends_the_span_as_panicked() {
    let cap = testing::capture();
    let handle = tokio::spawn(panics_after_await(3).with_context(cap.context()));
    assert!(handle.await.is_err_and(|e| e.is_panic()));
    let span = cap.span("panics_after_await");
    assert_eq!(span.attr_str("error.type").as_deref(), Some("panic"));
    let Status::Error { description } = &span.status else {
        panic!("expected error status, got {:?}", span.status)
    };
    assert!(description.starts_with("async boom 3"), "{description}");
}

// Functions returning futures: the span starts when the function is called.

#[instrumented]
fn make_request(id: u32) -> impl Future<Output = Result<u32, FetchError>> {
    let doubled = id * 2;
    async move {
        tokio::task::yield_now().await;
        if doubled == 0 {
            return Err(FetchError);
        }
        Ok(doubled + sync_child(2))
    }
}

#[instrumented]
fn prepare(id: u32) -> impl Future<Output = Result<u32, FetchError>> {
    make_request(id)
}

#[instrumented]
fn boxed(id: u32) -> Pin<Box<dyn Future<Output = Result<u32, FetchError>> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        if id == 0 {
            Err(FetchError)
        } else {
            Ok(id)
        }
    })
}

#[tokio::test]
async fn functions_returning_futures_start_their_span_at_the_call() {
    let cap = testing::capture();
    // `prepare` returns at once; `make_request` was called inside it, so it is its child
    // even though it is polled later, outside `prepare`.
    let fut = prepare(4);
    assert_eq!(fut.await.ok(), Some(10));
    assert_eq!(
        cap.tree(),
        "prepare [Internal]\n  make_request [Internal]\n    sync_child [Internal]\n"
    );
    assert!(make_request(0).await.is_err());
    let failed = &cap.spans_named("make_request")[1];
    assert_eq!(failed.status, Status::error("upstream unavailable"));

    assert_eq!(boxed(3).await.ok(), Some(3));
    assert!(boxed(0).await.is_err());
    let spans = cap.spans_named("boxed");
    assert_eq!(spans[0].status, Status::Unset);
    assert_eq!(spans[1].status, Status::error("upstream unavailable"));
    assert_eq!(spans[1].attr("id"), Some(&Value::I64(0)));
}

// `#[async_trait]`, in both attribute orders, and borrowed async returns.

#[async_trait::async_trait]
trait Store {
    async fn load(&self, key: &str) -> Result<String, FetchError>;
    async fn count(&mut self) -> usize;
}

struct MemoryStore {
    items: Vec<String>,
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    #[instrumented(fields(db.system.name = "memory"))]
    async fn load(&self, key: &str) -> Result<String, FetchError> {
        tokio::task::yield_now().await;
        let found = self.items.iter().find(|i| i.as_str() == key).cloned();
        found.ok_or(FetchError)
    }

    #[instrumented(ret)]
    async fn count(&mut self) -> usize {
        self.items.push("counted".into());
        sync_child(3);
        self.items.len()
    }
}

impl MemoryStore {
    #[instrumented]
    async fn first_mut(&mut self) -> Option<&mut String> {
        tokio::task::yield_now().await;
        self.items.first_mut()
    }
}

#[tokio::test]
async fn async_trait_methods_and_borrowed_async_returns() {
    let cap = testing::capture();
    let mut store = MemoryStore {
        items: vec!["a".into()],
    };
    assert_eq!(store.load("a").await.ok().as_deref(), Some("a"));
    assert!(store.load("zz").await.is_err());
    assert_eq!(store.count().await, 2);
    if let Some(first) = store.first_mut().await {
        first.push('!');
    }
    assert_eq!(store.items[0], "a!");

    let loads = cap.spans_named("load");
    assert_eq!(loads.len(), 2);
    assert_eq!(loads[0].attr_str("key").as_deref(), Some("a"));
    assert_eq!(loads[0].attr_str("db.system.name").as_deref(), Some("memory"));
    assert_eq!(loads[0].status, Status::Unset);
    assert_eq!(loads[1].status, Status::error("upstream unavailable"));
    let count = cap.span("count");
    assert_eq!(count.attr("return.value"), Some(&Value::I64(2)));
    let child = cap.span("sync_child");
    assert_eq!(child.parent_span_id, count.span_context.span_id());
    cap.span("first_mut");
}
