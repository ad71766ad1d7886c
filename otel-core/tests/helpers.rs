//! The span, propagation and baggage helpers, observed through `otel_core::testing`.
//! Every test has its own capture, so they run in parallel threads safely.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};

use otel_core::opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use otel_core::opentelemetry::{Context, KeyValue, Value};
use otel_core::testing::{self, SpanDataExt};

#[test]
fn nested_spans_keep_parents_attributes_and_kinds() {
    let cap = testing::capture();
    otel_core::in_span("outer", || {
        otel_core::in_span_with(
            "inner",
            [KeyValue::new("rows", 3_i64), KeyValue::new("cached", true)],
            || {
                otel_core::set_attribute(KeyValue::new("late", "yes"));
            },
        );
        otel_core::in_span("second", || {});
    });
    assert_eq!(
        cap.tree(),
        "outer [Internal]\n  inner [Internal]\n  second [Internal]\n"
    );
    let outer = cap.span("outer");
    let inner = cap.span("inner");
    assert_eq!(outer.parent_span_id, cap.root_span_id());
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    assert_eq!(inner.span_kind, SpanKind::Internal);
    assert_eq!(inner.attr("rows"), Some(&Value::I64(3)));
    assert_eq!(inner.attr("cached"), Some(&Value::Bool(true)));
    assert_eq!(inner.attr_str("late").as_deref(), Some("yes"));
    assert_eq!(inner.status, Status::Unset);
    assert_eq!(inner.instrumentation_scope.name(), "otel-core");
}

#[test]
fn current_ids_are_hex_inside_spans_and_none_outside() {
    let cap = testing::capture();
    let (trace_id, span_id) = otel_core::in_span("ids", || {
        (otel_core::current_trace_id(), otel_core::current_span_id())
    });
    let span = cap.span("ids");
    assert_eq!(trace_id, Some(span.span_context.trace_id().to_string()));
    assert_eq!(span_id, Some(span.span_context.span_id().to_string()));
    assert_eq!(trace_id.as_deref().map(str::len), Some(32));
    drop(cap);
    assert_eq!(otel_core::current_trace_id(), None);
    assert_eq!(otel_core::current_span_id(), None);
}

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for PaymentDeclined {}

#[test]
fn record_error_sets_status_error_type_and_an_exception_event() {
    let cap = testing::capture();
    otel_core::in_span("charge", || otel_core::record_error(&PaymentDeclined));
    let span = cap.span("charge");
    assert_eq!(span.status, Status::error("card declined"));
    assert_eq!(span.attr_str("error.type").as_deref(), Some("PaymentDeclined"));
    let event = span
        .events
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    let attr = |k: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("exception.type").as_deref(), Some("PaymentDeclined"));
    assert_eq!(attr("exception.message").as_deref(), Some("card declined"));

    // Through a trait object the type is unknown: the semconv fallback.
    let cap = testing::capture();
    let err: Box<dyn std::error::Error> = Box::new(PaymentDeclined);
    otel_core::in_span("dyn", || otel_core::record_error(err.as_ref()));
    assert_eq!(cap.span("dyn").attr_str("error.type").as_deref(), Some("_OTHER"));
}

#[test]
fn a_panic_inside_in_span_ends_the_span_as_an_error() {
    let cap = testing::capture();
    let result = std::panic::catch_unwind(|| otel_core::in_span("boom", || panic!("kaboom")));
    assert!(result.is_err());
    let span = cap.span("boom");
    assert_eq!(span.status, Status::error("panicked"));
    assert_eq!(span.attr_str("error.type").as_deref(), Some("panic"));
}

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut TaskContext::from_waker(Waker::noop()))
}

/// Ready on its second poll, like an I/O future.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn async_spans_are_current_on_every_poll_even_when_interleaved() {
    let cap = testing::capture();
    let task = |name: &'static str| {
        otel_core::in_span_async(name, async move {
            YieldOnce(false).await;
            otel_core::in_span(format!("{name}.child"), || {});
        })
    };
    let mut a = std::pin::pin!(task("a"));
    let mut b = std::pin::pin!(task("b"));
    // Interleave the two tasks on one thread: a, b, a, b.
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    assert!(poll_once(a.as_mut()).is_ready());
    assert!(poll_once(b.as_mut()).is_ready());
    for name in ["a", "b"] {
        let parent = cap.span(name);
        let child = cap.span(&format!("{name}.child"));
        assert_eq!(child.parent_span_id, parent.span_context.span_id(), "{name}");
        assert_eq!(parent.parent_span_id, cap.root_span_id());
        assert_eq!(
            parent.attr("error.type"),
            None,
            "completed futures are not cancelled"
        );
    }
}

#[test]
fn a_dropped_future_ends_its_span_once_marked_cancelled() {
    let cap = testing::capture();
    let mut fut = Box::pin(otel_core::in_span_async("abandoned", YieldOnce(false)));
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    let spans = cap.spans_named("abandoned");
    assert_eq!(spans.len(), 1, "ended exactly once");
    assert_eq!(spans[0].attr_str("error.type").as_deref(), Some("cancelled"));
    assert_eq!(spans[0].status, Status::error("cancelled before completion"));
}

#[test]
fn inject_and_extract_round_trip_trace_context_and_baggage() {
    let cap = testing::capture();
    let mut headers = http::HeaderMap::new();
    let _bag = otel_core::baggage::set([("tenant", "acme")]);
    otel_core::in_span("client", || otel_core::propagation::inject(&mut headers));
    let client = cap.span("client");
    let traceparent = headers
        .get("traceparent")
        .expect("traceparent")
        .to_str()
        .unwrap()
        .to_owned();
    // Sampled, and random: the capture's trace id was generated here (not received), and
    // the SDK's ids are random (Trace Context Level 2).
    assert_eq!(
        traceparent,
        format!(
            "00-{}-{}-03",
            client.span_context.trace_id(),
            client.span_context.span_id()
        )
    );
    assert_eq!(headers.get("baggage").unwrap(), "tenant=acme");

    let remote = otel_core::propagation::extract(&headers);
    let sc = remote.span().span_context().clone();
    assert!(sc.is_remote());
    assert_eq!(sc.trace_id(), client.span_context.trace_id());
    assert_eq!(sc.span_id(), client.span_context.span_id());
    let _attached = remote.attach();
    assert_eq!(otel_core::baggage::get("tenant").as_deref(), Some("acme"));
}

#[test]
fn repeated_tracestate_fields_are_joined_and_repeated_traceparent_is_refused() {
    testing::install();
    let mut headers = http::HeaderMap::new();
    headers.append(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    headers.append("tracestate", "a=1".parse().unwrap());
    headers.append("tracestate", "b=2".parse().unwrap());
    let cx = otel_core::propagation::extract(&headers);
    let span = cx.span();
    let sc = span.span_context();
    assert_eq!(sc.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(sc.trace_state().header(), "a=1,b=2");

    headers.append(
        "traceparent",
        "00-11111111111111111111111111111111-2222222222222222-01"
            .parse()
            .unwrap(),
    );
    let cx = otel_core::propagation::extract(&headers);
    assert!(
        !cx.span().span_context().is_valid(),
        "two traceparent fields: start a new trace"
    );
}

#[test]
fn baggage_set_is_scoped_to_its_guard() {
    testing::install();
    assert_eq!(otel_core::baggage::get("user.id"), None);
    {
        let _g = otel_core::baggage::set([("user.id", "42"), ("role", "admin")]);
        let mut all = otel_core::baggage::all();
        all.sort();
        assert_eq!(
            all,
            vec![("role".into(), "admin".into()), ("user.id".into(), "42".into())]
        );
    }
    assert_eq!(otel_core::baggage::get("user.id"), None);
    assert_eq!(
        otel_core::baggage::with([("k", "v")], || otel_core::baggage::get("k")).as_deref(),
        Some("v")
    );
}

#[test]
fn captures_in_parallel_threads_see_only_their_own_spans() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let cap = testing::capture();
                for _ in 0..25 {
                    otel_core::in_span(format!("thread-{i}"), || {});
                }
                let spans = cap.spans();
                assert_eq!(spans.len(), 25);
                assert!(spans.iter().all(|s| s.name == format!("thread-{i}")));
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
}

#[test]
fn a_capture_context_carries_spans_across_threads() {
    let cap = testing::capture();
    let cx: Context = cap.context();
    std::thread::spawn(move || {
        let _g = cx.attach();
        otel_core::in_span("worker", || {});
    })
    .join()
    .unwrap();
    assert_eq!(cap.span("worker").parent_span_id, cap.root_span_id());
}

#[test]
fn async_wait_lets_a_task_on_the_same_thread_finish_its_span() {
    let cap = testing::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let spans = runtime.block_on(async {
        // The span ends only after the waiting test future has yielded several times:
        // a thread-sleeping wait would never let this task run.
        tokio::spawn(otel_core::in_span_async("background", async {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        }));
        cap.wait_for_spans_async(1, std::time::Duration::from_secs(10))
            .await
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "background");
}

#[test]
fn async_spans_take_a_kind_and_baggage_scopes_follow_the_future() {
    let cap = testing::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _request = otel_core::baggage::set([("user.id", "42")]);
    let seen = runtime.block_on(async {
        // Two scoped futures interleaving on one thread: each sees its own tier, and both
        // keep the request's baggage.
        let gold = otel_core::baggage::scope([("user.tier", "gold")], async {
            tokio::task::yield_now().await;
            otel_core::in_span_async_kind(
                "SELECT users",
                SpanKind::Client,
                [KeyValue::new("db.system.name", "sqlite")],
                async {
                    tokio::task::yield_now().await;
                    (
                        otel_core::baggage::get("user.tier"),
                        otel_core::baggage::get("user.id"),
                    )
                },
            )
            .await
        });
        let free = otel_core::baggage::scope([("user.tier", "free")], async {
            tokio::task::yield_now().await;
            otel_core::baggage::get("user.tier")
        });
        tokio::join!(gold, free)
    });
    assert_eq!(
        seen,
        ((Some("gold".into()), Some("42".into())), Some("free".into()))
    );
    assert!(otel_core::baggage::get("user.tier").is_none());
    let span = cap.span("SELECT users");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.attr_str("db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(span.parent_span_id, cap.root_span_id());
}
