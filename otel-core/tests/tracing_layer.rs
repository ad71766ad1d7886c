//! `otel_core::tracing_layer()`: `tracing` spans in the same traces as `in_span` and
//! `#[instrumented]`, both ways, with fields, events, errors and filters.

use std::sync::{Arc, Mutex};

use otel_core::opentelemetry::trace::{
    SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceState,
};
use otel_core::opentelemetry::{Context, Value};
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, Capture, SpanDataExt};
use tracing::instrument::WithSubscriber as _;
use tracing::Instrument as _;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};

fn subscriber() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(otel_core::tracing_layer())
}

fn with_layer<T>(f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(subscriber(), f)
}

fn parent_of(cap: &Capture, child: &str) -> String {
    let child = cap.span(child);
    cap.spans()
        .into_iter()
        .find(|s| s.span_context.span_id() == child.parent_span_id)
        .map_or_else(|| "<capture root>".to_owned(), |s| s.name.into_owned())
}

fn event_names(span: &SpanData) -> Vec<String> {
    span.events.iter().map(|e| e.name.to_string()).collect()
}

fn event_attr(span: &SpanData, event: &str, key: &str) -> Option<Value> {
    span.events
        .iter()
        .find(|e| e.name == event)?
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct Order {
    id: u32,
}

#[test]
fn a_tracing_span_inside_in_span_is_its_child_with_typed_attributes() {
    let cap = testing::capture();
    with_layer(|| {
        otel_core::in_span("checkout", || {
            let _query = tracing::info_span!(
                "query",
                db.rows = 3_i64,
                db.system.name = "sqlite",
                cached = false,
                ratio = 0.5,
                big = u64::MAX,
                order = ?Order { id: 7 },
                shown = %"display",
            )
            .entered();
        });
    });
    assert_eq!(cap.tree(), "checkout [Internal]\n  query [Internal]\n");
    let query = cap.span("query");
    assert_eq!(query.attr("db.rows"), Some(&Value::I64(3)));
    assert_eq!(query.attr_str("db.system.name").as_deref(), Some("sqlite"));
    assert_eq!(query.attr("cached"), Some(&Value::Bool(false)));
    assert_eq!(query.attr("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(query.attr_str("big"), Some(u64::MAX.to_string()));
    assert_eq!(query.attr_str("order").as_deref(), Some("Order { id: 7 }"));
    assert_eq!(query.attr_str("shown").as_deref(), Some("display"));
    assert_eq!(query.instrumentation_scope.name(), "tracing");
    assert_eq!(query.status, Status::Unset);
}

#[otel_core::instrumented(metrics = false)]
fn handler() {
    let _decode = tracing::debug_span!("decode").entered();
    otel_core::in_span("leaf", || {});
}

#[test]
fn a_tracing_span_inside_an_instrumented_fn_is_its_child_and_parents_what_runs_in_it() {
    let cap = testing::capture();
    with_layer(handler);
    assert_eq!(
        cap.tree(),
        "handler [Internal]\n  decode [Internal]\n    leaf [Internal]\n"
    );
}

#[otel_core::instrumented(metrics = false)]
fn repository_call() {}

#[test]
fn in_span_and_instrumented_fns_inside_a_tracing_span_are_its_children() {
    let cap = testing::capture();
    let (request_id, current_inside) = with_layer(|| {
        let request = tracing::info_span!("request", http.route = "/users/{id}");
        let current_inside = request.in_scope(|| {
            otel_core::in_span("db", || {});
            repository_call();
            otel_core::current_span_id()
        });
        let id = request.in_scope(|| Context::current().span_id_hex());
        drop(request);
        otel_core::in_span("after", || {});
        (id, current_inside)
    });
    assert_eq!(
        cap.tree(),
        "request [Internal]\n  db [Internal]\n  repository_call [Internal]\nafter [Internal]\n"
    );
    let request = cap.span("request");
    assert_eq!(request.parent_span_id, cap.root_span_id());
    assert_eq!(current_inside, Some(request.span_context.span_id().to_string()));
    assert_eq!(request_id, request.span_context.span_id().to_string());
    assert_eq!(parent_of(&cap, "after"), "<capture root>");
}

trait SpanIdHex {
    fn span_id_hex(&self) -> String;
}

impl SpanIdHex for Context {
    fn span_id_hex(&self) -> String {
        self.span().span_context().span_id().to_string()
    }
}

#[test]
fn spans_nest_across_both_kinds_several_levels_deep() {
    let cap = testing::capture();
    with_layer(|| {
        tracing::info_span!("l1").in_scope(|| {
            otel_core::in_span("l2", || {
                tracing::info_span!("l3").in_scope(|| {
                    repository_call();
                });
            });
        });
    });
    assert_eq!(
        cap.tree(),
        "l1 [Internal]\n  l2 [Internal]\n    l3 [Internal]\n      repository_call [Internal]\n"
    );
}

#[test]
fn explicit_parents_and_out_of_order_exits_follow_tracing() {
    let cap = testing::capture();
    with_layer(|| {
        let parent = tracing::info_span!("parent");
        otel_core::in_span("elsewhere", || {
            let _child = tracing::info_span!(parent: &parent, "explicit child").entered();
        });

        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        let entered_a = a.enter();
        let entered_b = b.enter();
        drop(entered_a);
        // `b` is still entered: it stays current, as in `tracing`.
        otel_core::in_span("under b", || {});
        drop(entered_b);
        otel_core::in_span("top", || {});
    });
    assert_eq!(parent_of(&cap, "explicit child"), "parent");
    assert_eq!(parent_of(&cap, "under b"), "b");
    assert_eq!(parent_of(&cap, "top"), "<capture root>");
}

#[test]
fn follows_from_is_a_link_and_a_span_may_close_on_another_thread() {
    let cap = testing::capture();
    with_layer(|| {
        let first = tracing::info_span!("first");
        let second = tracing::info_span!("second");
        second.follows_from(&first);
        drop(first);
        std::thread::spawn(move || drop(second))
            .join()
            .expect("the thread ends");
    });
    let first = cap.span("first");
    let second = cap.span("second");
    assert_eq!(second.links.links.len(), 1);
    assert_eq!(second.links.links[0].span_context, first.span_context);
}

#[otel_core::instrumented(metrics = false)]
async fn fetch(n: i64) {
    tokio::task::yield_now().await;
    async {
        tokio::task::yield_now().await;
        otel_core::in_span("decode", || {});
    }
    .instrument(tracing::info_span!("parse", n))
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn tasks_interleaving_on_one_thread_keep_their_own_spans_across_await() {
    let cap = testing::capture();
    let _subscriber = tracing::subscriber::set_default(subscriber());
    let order = Arc::new(Mutex::new(Vec::new()));
    let task = |n: i64| {
        let order = order.clone();
        async move {
            for round in 0..3 {
                tokio::task::yield_now().await;
                order.lock().expect("not poisoned").push(n);
                otel_core::in_span(format!("work {n}.{round}"), || {});
            }
            fetch(n).await;
        }
        .instrument(tracing::info_span!("task", n))
    };
    let one = tokio::spawn(task(1));
    let two = tokio::spawn(task(2));
    one.await.expect("task 1");
    two.await.expect("task 2");

    let order = order.lock().expect("not poisoned").clone();
    assert_ne!(order, vec![1, 1, 1, 2, 2, 2], "the tasks must interleave");
    let spans = cap.spans();
    let task_span = |n: i64| {
        spans
            .iter()
            .find(|s| s.name == "task" && s.attr("n") == Some(&Value::I64(n)))
            .expect("task span")
            .clone()
    };
    for n in [1, 2] {
        let task = task_span(n);
        assert_eq!(task.parent_span_id, cap.root_span_id());
        let children: Vec<String> = cap
            .children_of(&task)
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(
            children,
            [
                format!("work {n}.0"),
                format!("work {n}.1"),
                format!("work {n}.2"),
                "fetch".to_owned()
            ]
        );
        let fetch = cap
            .children_of(&task)
            .into_iter()
            .find(|s| s.name == "fetch")
            .expect("fetch");
        let parse = cap.children_of(&fetch);
        assert_eq!(parse.len(), 1);
        assert_eq!(parse[0].name, "parse");
        assert_eq!(parse[0].attr("n"), Some(&Value::I64(n)));
        let decode = cap.children_of(&parse[0]);
        assert_eq!(decode.len(), 1);
        assert_eq!(decode[0].name, "decode");
    }
}

#[test]
fn otel_fields_set_name_kind_and_status() {
    let cap = testing::capture();
    with_layer(|| {
        let _named = tracing::info_span!(
            "raw name",
            otel.name = "GET /users/{id}",
            otel.kind = "server",
            otel.status_code = "error",
            otel.status_description = "upstream failed",
        )
        .entered();
        drop(_named);
        drop(tracing::info_span!(
            "fine",
            otel.kind = "Client",
            otel.status_code = "OK"
        ));
        drop(tracing::info_span!("odd kind", otel.kind = "backend"));

        let later = tracing::info_span!(
            "later",
            otel.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            rows = tracing::field::Empty,
        );
        later.record("otel.name", "renamed");
        later.record("rows", 5_u64);
        later.record("otel.status_code", "error");
    });
    let named = cap.span("GET /users/{id}");
    assert_eq!(named.span_kind, SpanKind::Server);
    assert_eq!(named.status, Status::error("upstream failed"));
    assert_eq!(
        named.attr("otel.name"),
        None,
        "reserved fields are not attributes"
    );
    let fine = cap.span("fine");
    assert_eq!(fine.span_kind, SpanKind::Client);
    assert_eq!(fine.status, Status::Ok);
    assert_eq!(cap.span("odd kind").span_kind, SpanKind::Internal);
    let renamed = cap.span("renamed");
    assert_eq!(renamed.attr("rows"), Some(&Value::I64(5)));
    assert_eq!(renamed.status, Status::error(""));
}

#[test]
fn events_become_span_events_of_the_innermost_span() {
    let cap = testing::capture();
    with_layer(|| {
        tracing::info_span!("work").in_scope(|| {
            tracing::info!(items = 3_i64, "loaded");
            tracing::warn!(retry = true, "slow backend");
            otel_core::in_span("inner", || tracing::info!("inside in_span"));
        });
        tracing::info!("outside any tracing span: on the capture's remote parent, ignored");
    });
    let work = cap.span("work");
    assert_eq!(event_names(&work), ["loaded", "slow backend"]);
    assert_eq!(event_attr(&work, "loaded", "items"), Some(Value::I64(3)));
    assert_eq!(event_attr(&work, "loaded", "level"), Some(Value::from("INFO")));
    assert_eq!(
        event_attr(&work, "loaded", "target"),
        Some(Value::from(module_path!()))
    );
    assert_eq!(
        event_attr(&work, "slow backend", "retry"),
        Some(Value::Bool(true))
    );
    assert_eq!(work.status, Status::Unset, "warnings do not fail a span");
    assert_eq!(event_names(&cap.span("inner")), ["inside in_span"]);
}

#[tracing::instrument(err)]
fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {
    text.parse()
}

#[test]
fn error_events_fail_the_span_like_tracing_opentelemetry() {
    let cap = testing::capture();
    with_layer(|| {
        assert!(parse_port("http").is_err());
        tracing::info_span!("db").in_scope(|| tracing::error!(code = 57_i64, "connection lost"));
    });
    let parse = cap.span("parse_port");
    assert_eq!(parse.attr_str("text").as_deref(), Some("http"));
    assert_eq!(event_names(&parse), ["exception"]);
    let message = "invalid digit found in string";
    assert_eq!(
        event_attr(&parse, "exception", "exception.message"),
        Some(Value::from(message))
    );
    assert_eq!(parse.status, Status::error(message));

    let db = cap.span("db");
    assert_eq!(event_names(&db), ["connection lost"]);
    assert_eq!(db.status, Status::error("connection lost"));
}

fn filtered_shape(cap: &Capture) {
    assert_eq!(
        cap.spans_named("middle").len(),
        0,
        "a filtered-out span does not exist"
    );
    assert_eq!(parent_of(cap, "inner"), "outer");
    assert_eq!(parent_of(cap, "in middle"), "outer");
}

fn nested_levels() {
    tracing::info_span!("outer").in_scope(|| {
        tracing::debug_span!("middle").in_scope(|| {
            let _inner = tracing::info_span!("inner").entered();
            drop(_inner);
            otel_core::in_span("in middle", || {});
        });
    });
}

#[test]
fn a_global_env_filter_decides_which_spans_exist() {
    let cap = testing::capture();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(otel_core::tracing_layer());
    tracing::subscriber::with_default(subscriber, nested_levels);
    filtered_shape(&cap);
}

#[test]
fn a_per_layer_filter_decides_which_spans_exist() {
    let cap = testing::capture();
    let subscriber =
        tracing_subscriber::registry().with(otel_core::tracing_layer().with_filter(LevelFilter::INFO));
    tracing::subscriber::with_default(subscriber, nested_levels);
    filtered_shape(&cap);
}

#[test]
fn env_filter_target_directives_apply_to_spans() {
    let cap = testing::capture();
    let filter = EnvFilter::new(format!("warn,{}=debug", module_path!()));
    let subscriber = tracing_subscriber::registry().with(otel_core::tracing_layer().with_filter(filter));
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug_span!("ours at debug").in_scope(|| {
            tracing::info_span!(target: "chatty_dependency", "theirs at info").in_scope(|| {
                tracing::trace_span!("ours at trace").in_scope(|| {});
                tracing::debug_span!("ours again").in_scope(|| {});
            });
        });
    });
    assert_eq!(cap.tree(), "ours at debug [Internal]\n  ours again [Internal]\n");
}

#[test]
fn with_the_logs_bridge_events_are_also_log_records_with_the_span_ids() {
    let cap = testing::capture();
    let subscriber = tracing_subscriber::registry()
        .with(otel_core::tracing_layer())
        .with(otel_core::logs::tracing_bridge_for(&testing::logger_provider()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("job").in_scope(|| tracing::info!(step = 2_i64, "halfway"));
    });
    let job = cap.span("job");
    assert_eq!(event_names(&job), ["halfway"]);
    let logs = cap.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let trace = logs[0]
        .record
        .trace_context()
        .expect("the record has the span's ids");
    assert_eq!(trace.trace_id, cap.trace_id());
    assert_eq!(trace.span_id, job.span_context.span_id());
}

#[test]
fn under_an_unsampled_parent_nothing_is_started() {
    let cap = testing::capture();
    let unsampled = SpanContext::new(
        cap.trace_id(),
        otel_core::opentelemetry::trace::SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let current_inside = {
        let _parent = Context::current()
            .with_remote_span_context(unsampled.clone())
            .attach();
        with_layer(|| {
            tracing::info_span!("not sampled", n = 1_i64).in_scope(|| {
                tracing::info!("dropped with its span");
                otel_core::in_span("nor this", || {});
                otel_core::current_span_id()
            })
        })
    };
    assert!(cap.spans().is_empty(), "{}", cap.tree());
    assert_eq!(current_inside, Some(unsampled.span_id().to_string()));
}

#[test]
fn with_location_records_where_the_span_was_opened() {
    let cap = testing::capture();
    let subscriber = tracing_subscriber::registry().with(otel_core::tracing_layer().with_location(true));
    let line = tracing::subscriber::with_default(subscriber, || {
        let line = line!() + 1;
        drop(tracing::info_span!("located"));
        line
    });
    let located = cap.span("located");
    assert!(
        located
            .attr_str("code.file.path")
            .is_some_and(|path| path.ends_with("tracing_layer.rs")),
        "{:?}",
        located.attributes
    );
    assert_eq!(located.attr("code.line.number"), Some(&Value::I64(line.into())));
    assert_eq!(
        located.attr_str("code.namespace").as_deref(),
        Some(module_path!())
    );
    assert_eq!(cap.span("located").attributes.len(), 3);
}

#[test]
fn tasks_moving_between_worker_threads_keep_their_parents() {
    let cap = testing::capture();
    let dispatch = tracing::Dispatch::new(subscriber());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    tracing::dispatcher::with_default(&dispatch, || {
        let tasks: Vec<_> = (0..4_i64)
            .map(|n| {
                runtime.spawn(
                    async move {
                        for _ in 0..5 {
                            tokio::task::yield_now().await;
                            repository_call();
                        }
                    }
                    .instrument(tracing::info_span!("job", n))
                    // The subscriber is the default on whichever worker polls the task.
                    .with_subscriber(dispatch.clone()),
                )
            })
            .collect();
        runtime.block_on(async {
            for task in tasks {
                task.await.expect("task");
            }
        });
    });
    drop(runtime);
    let jobs = cap.spans_named("job");
    assert_eq!(jobs.len(), 4, "{}", cap.tree());
    for job in &jobs {
        assert_eq!(job.parent_span_id, cap.root_span_id());
        let children = cap.children_of(job);
        assert_eq!(children.len(), 5);
        assert!(children.iter().all(|c| c.name == "repository_call"));
    }
}
