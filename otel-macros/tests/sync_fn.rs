//! `#[instrumented]` on sync functions of every shape, and every option.
#![cfg(not(otel_noop))]

use std::fmt;
use std::sync::Arc;

use otel_core::opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt as _};
use otel_core::opentelemetry::{Context, Value};
use otel_core::opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, SpanDataExt};
use otel_macros::instrumented;

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attr(key).cloned()
}

fn int(v: i64) -> Option<Value> {
    Some(Value::I64(v))
}

fn string(v: &str) -> Option<Value> {
    Some(Value::from(v.to_owned()))
}

#[derive(Debug)]
struct AppError {
    code: u16,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app failed with {}", self.code)
    }
}

impl std::error::Error for AppError {}

// ---------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------

/// Doc comments and other attributes stay on the function.
#[instrumented]
#[inline(never)]
#[must_use]
fn typed_args(count: u32, ratio: f64, ok: bool, label: &str, owned: String, big: u64) -> u32 {
    count + label.len() as u32 + owned.len() as u32 + u32::from(ok) + ratio as u32 + big as u32
}

#[test]
fn arguments_are_recorded_with_their_types() {
    let cap = testing::capture();
    assert_eq!(
        typed_args(3, 1.5, true, "ab", "xyz".into(), 10),
        3 + 2 + 3 + 1 + 1 + 10
    );
    let span = cap.span("typed_args");
    assert_eq!(span.span_kind, SpanKind::Internal);
    assert_eq!(span.parent_span_id, cap.root_span_id());
    assert_eq!(span.status, Status::Unset);
    assert_eq!(attr(&span, "count"), int(3));
    assert_eq!(attr(&span, "ratio"), Some(Value::F64(1.5)));
    assert_eq!(attr(&span, "ok"), Some(Value::Bool(true)));
    assert_eq!(attr(&span, "label"), string("ab"));
    assert_eq!(attr(&span, "owned"), string("xyz"));
    assert_eq!(attr(&span, "big"), int(10));
    assert_eq!(span.instrumentation_scope.name(), "otel-macros");
    assert_eq!(
        span.instrumentation_scope.version(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[derive(Debug, Clone)]
struct Point {
    x: i32,
    y: i32,
}

struct NoDebug;

#[instrumented]
fn debug_args(point: Point, opaque: NoDebug, list: Vec<u32>, maybe: Option<u8>) -> i32 {
    let _ = (opaque, list, maybe);
    point.x + point.y
}

#[test]
fn other_types_use_capped_debug_and_opaque_types_are_skipped() {
    let cap = testing::capture();
    debug_args(Point { x: 1, y: 2 }, NoDebug, (0..1000).collect(), None);
    let span = cap.span("debug_args");
    assert_eq!(attr(&span, "point"), string("Point { x: 1, y: 2 }"));
    assert_eq!(attr(&span, "opaque"), None);
    assert_eq!(attr(&span, "maybe"), None, "None is not recorded");
    let list = span.attr_str("list").unwrap_or_default();
    assert!(list.starts_with("[0, 1, 2"), "{list}");
    assert!(list.ends_with('…'), "{list}");
    assert!(list.len() <= 256 + '…'.len_utf8(), "{}", list.len());
}

#[instrumented]
fn secrets(user: &str, password: &str, api_key: String, session_token: u64) -> usize {
    user.len() + password.len() + api_key.len() + session_token as usize
}

#[test]
fn secret_looking_arguments_are_not_recorded() {
    let cap = testing::capture();
    secrets("ada", "hunter2", "k".into(), 5);
    let span = cap.span("secrets");
    assert_eq!(attr(&span, "user"), string("ada"));
    assert_eq!(attr(&span, "password"), None);
    assert_eq!(attr(&span, "api_key"), None);
    assert_eq!(attr(&span, "session_token"), None);
}

#[instrumented]
fn fetch(url: &str, callback: String) -> usize {
    url.len() + callback.len()
}

#[test]
fn url_arguments_are_recorded_like_url_full() {
    let cap = testing::capture();
    fetch(
        "https://user:pw@api.example/v1/items?%74oken=s3cr3t&page=2",
        "/oauth/cb?code=s3cr3t&state=x".into(),
    );
    let span = cap.span("fetch");
    assert_eq!(
        attr(&span, "url"),
        string("https://REDACTED:REDACTED@api.example/v1/items?%74oken=REDACTED&page=2")
    );
    assert_eq!(attr(&span, "callback"), string("/oauth/cb?code=REDACTED&state=x"));
}

#[instrumented]
fn patterns((a, b): (u32, u32), _: u8, mut c: u32, Point { x, y: _ }: Point) -> u32 {
    c += 1;
    a + b + c + x as u32
}

#[test]
fn pattern_and_mut_arguments() {
    let cap = testing::capture();
    assert_eq!(patterns((1, 2), 9, 3, Point { x: 4, y: 5 }), 1 + 2 + 4 + 4);
    let span = cap.span("patterns");
    assert_eq!(attr(&span, "a"), int(1));
    assert_eq!(attr(&span, "b"), int(2));
    assert_eq!(attr(&span, "c"), int(3), "recorded before the body changes it");
    assert_eq!(attr(&span, "x"), int(4));
    assert_eq!(attr(&span, "y"), None);
}

#[instrumented]
fn generic<'a, T, const N: usize>(items: &'a [T; N], extra: T) -> Option<&'a T>
where
    T: fmt::Debug + PartialEq,
{
    items.iter().find(|i| **i == extra)
}

#[test]
fn generics_lifetimes_and_const_generics() {
    let cap = testing::capture();
    let items = [1, 2, 3];
    assert_eq!(generic(&items, 2), Some(&2));
    let span = cap.span("generic");
    // `T: Debug` is known inside the function, so the generic argument is recorded.
    assert_eq!(attr(&span, "extra"), string("2"));
    assert_eq!(attr(&span, "items"), string("[1, 2, 3]"));
}

#[instrumented]
unsafe fn read_raw(ptr: *const u32) -> u32 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *ptr }
}

#[instrumented]
extern "C" fn c_callback(code: i32) -> i32 {
    code * 2
}

#[test]
fn unsafe_and_extern_functions() {
    let cap = testing::capture();
    let v = 7_u32;
    // SAFETY: `v` lives across the call.
    assert_eq!(unsafe { read_raw(&v) }, 7);
    assert_eq!(c_callback(4), 8);
    assert_eq!(attr(&cap.span("c_callback"), "code"), int(4));
    cap.span("read_raw");
}

#[instrumented]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[instrumented(ret)]
fn returns_impl_display(n: u32) -> impl fmt::Display {
    n * 10
}

#[test]
fn impl_trait_returns() {
    let cap = testing::capture();
    assert_eq!(returns_impl_trait(3).sum::<u32>(), 3);
    assert_eq!(returns_impl_display(2).to_string(), "20");
    assert_eq!(cap.span("returns_impl_trait").status, Status::Unset);
    assert_eq!(attr(&cap.span("returns_impl_display"), "return.value"), int(20));
}

// ---------------------------------------------------------------------------------------
// Methods and receivers
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Counter {
    value: u64,
    name: String,
}

impl Counter {
    #[instrumented]
    fn new(name: &str) -> Self {
        Counter {
            value: 0,
            name: name.to_owned(),
        }
    }

    #[instrumented]
    fn get(&self) -> u64 {
        self.value
    }

    #[instrumented]
    fn name(&self) -> &str {
        &self.name
    }

    #[instrumented]
    fn value_mut(&mut self) -> &mut u64 {
        &mut self.value
    }

    #[instrumented]
    fn into_name(self) -> String {
        self.name
    }

    #[instrumented]
    fn shared(self: Arc<Self>, by: u64) -> u64 {
        self.value + by
    }

    #[instrumented]
    fn boxed(self: Box<Self>) -> u64 {
        self.value
    }
}

#[test]
fn every_receiver_and_borrowed_returns() {
    let cap = testing::capture();
    let mut c = Counter::new("hits");
    *c.value_mut() += 5;
    assert_eq!(c.get(), 5);
    assert_eq!(c.name(), "hits");
    assert_eq!(Arc::new(Counter::new("a")).shared(2), 2);
    assert_eq!(Box::new(Counter::new("b")).boxed(), 0);
    assert_eq!(c.into_name(), "hits");
    for name in ["new", "get", "name", "value_mut", "into_name", "shared", "boxed"] {
        let spans = cap.spans_named(name);
        assert!(!spans.is_empty(), "no span {name}: {}", cap.tree());
        for span in spans {
            assert_eq!(span.parent_span_id, cap.root_span_id());
            assert!(span.attr("self").is_none(), "self is never recorded");
        }
    }
    assert_eq!(cap.spans_named("new").len(), 3);
    assert_eq!(attr(&cap.span("shared"), "by"), int(2));
    assert_eq!(attr(&cap.spans_named("new")[0], "name"), string("hits"));
}

trait Shape {
    fn area(&self, scale: f64) -> f64;
}

struct Square(f64);

impl Shape for Square {
    #[instrumented(name = "Square::area")]
    fn area(&self, scale: f64) -> f64 {
        self.0 * self.0 * scale
    }
}

#[test]
fn trait_impl_methods() {
    let cap = testing::capture();
    assert_eq!(Square(2.0).area(0.5), 2.0);
    let span = cap.span("Square::area");
    assert_eq!(attr(&span, "scale"), Some(Value::F64(0.5)));
}

// ---------------------------------------------------------------------------------------
// Results, early returns, panics
// ---------------------------------------------------------------------------------------

#[instrumented]
fn parse_sum(a: &str, b: &str) -> Result<i64, std::num::ParseIntError> {
    let a: i64 = a.parse()?;
    let b: i64 = b.parse()?;
    Ok(a + b)
}

#[test]
fn err_via_question_mark_sets_status_error_type_and_exception() {
    let cap = testing::capture();
    assert_eq!(parse_sum("1", "2"), Ok(3));
    assert!(parse_sum("1", "x").is_err());
    let spans = cap.spans_named("parse_sum");
    assert_eq!(spans.len(), 2);
    let ok = &spans[0];
    assert_eq!(ok.status, Status::Unset);
    assert!(ok.events.events.is_empty());
    assert_eq!(attr(ok, "error.type"), None);
    let failed = &spans[1];
    assert_eq!(failed.status, Status::error("invalid digit found in string"));
    assert_eq!(attr(failed, "error.type"), string("ParseIntError"));
    let event = &failed.events.events[0];
    assert_eq!(event.name, "exception");
    let event_attr = |k: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(
        event_attr("exception.type"),
        string("core::num::error::ParseIntError")
    );
    assert_eq!(
        event_attr("exception.message"),
        string("invalid digit found in string")
    );
}

#[instrumented]
fn early_return(n: i32) -> Result<i32, AppError> {
    if n < 0 {
        return Err(AppError { code: 400 });
    }
    if n == 0 {
        return Ok(0);
    }
    Ok(n * 2)
}

#[instrumented(err(Debug))]
fn err_debug(n: u16) -> Result<(), AppError> {
    Err(AppError { code: n })
}

#[instrumented]
fn boxed_error(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        return Err("went wrong".into());
    }
    Ok(1)
}

type AppResult<T> = std::io::Result<T>;

#[instrumented]
fn aliased(fail: bool) -> AppResult<u8> {
    if fail {
        Err(std::io::Error::other("disk full"))
    } else {
        Ok(1)
    }
}

#[test]
fn early_returns_error_modes_and_aliases() {
    let cap = testing::capture();
    assert_eq!(early_return(0).ok(), Some(0));
    assert!(early_return(-1).is_err());
    assert_eq!(early_return(2).ok(), Some(4));
    let spans = cap.spans_named("early_return");
    assert_eq!(spans[0].status, Status::Unset);
    assert_eq!(spans[1].status, Status::error("app failed with 400"));
    assert_eq!(attr(&spans[1], "error.type"), string("AppError"));
    assert_eq!(spans[2].status, Status::Unset);

    let _ = err_debug(7);
    assert_eq!(
        cap.span("err_debug").status,
        Status::error("AppError { code: 7 }")
    );

    let _ = boxed_error(true);
    let span = cap.span("boxed_error");
    assert_eq!(span.status, Status::error("went wrong"));
    assert_eq!(attr(&span, "error.type"), string("_OTHER"));

    let _ = aliased(true);
    let span = cap.span("aliased");
    assert_eq!(span.status, Status::error("disk full"));
    assert_eq!(attr(&span, "error.type"), string("Error"));
}

#[instrumented]
fn explode(n: u32) -> u32 {
    if n > 1 {
        panic!("exploded with {n}");
    }
    n
}

#[test]
fn panics_end_the_span_with_the_message() {
    let cap = testing::capture();
    let result = std::panic::catch_unwind(|| explode(5));
    assert!(result.is_err());
    let span = cap.span("explode");
    let Status::Error { description } = &span.status else {
        panic!("expected an error status, got {:?}", span.status)
    };
    assert!(description.starts_with("exploded with 5 (at "), "{description}");
    assert!(description.contains("sync_fn.rs"), "{description}");
    assert_eq!(attr(&span, "error.type"), string("panic"));
    let event = &span.events.events[0];
    assert_eq!(event.name, "exception");
    // The context is detached again: a new span is a sibling, not a child.
    explode(0);
    assert_eq!(cap.spans_named("explode")[1].parent_span_id, cap.root_span_id());
}

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

#[instrumented(
    name = "orders.create",
    kind = server,
    skip(card),
    fields(
        db.system.name = "postgresql",
        order.items = items.len(),
        error.type = %"none",
        "customer.kind" = ?Kind::Gold,
        customer = customer.to_uppercase()
    ),
    ret,
    tracer = "billing",
    level = "debug",
    target = "x"
)]
fn create_order(customer: &str, items: Vec<u32>, card: &str) -> Result<u64, AppError> {
    let _ = card;
    Ok(items.iter().map(|i| u64::from(*i)).sum())
}

#[derive(Debug)]
enum Kind {
    Gold,
}

#[test]
fn name_kind_skip_fields_ret_and_tracer() {
    let cap = testing::capture();
    assert_eq!(create_order("ada", vec![1, 2], "4111").ok(), Some(3));
    let span = cap.span("orders.create");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.instrumentation_scope.name(), "billing");
    assert_eq!(span.instrumentation_scope.version(), None);
    assert_eq!(attr(&span, "card"), None);
    assert_eq!(attr(&span, "items"), string("[1, 2]"));
    assert_eq!(
        attr(&span, "customer"),
        string("ADA"),
        "the field overrides the argument"
    );
    assert_eq!(attr(&span, "db.system.name"), string("postgresql"));
    assert_eq!(attr(&span, "order.items"), int(2));
    assert_eq!(attr(&span, "error.type"), string("none"));
    assert_eq!(attr(&span, "customer.kind"), string("Gold"));
    assert_eq!(attr(&span, "return.value"), int(3));
    assert_eq!(span.status, Status::Unset);
}

#[instrumented(skip_all, ret(Debug))]
fn skip_everything(a: u32, b: &str) -> (u32, usize) {
    (a, b.len())
}

#[instrumented(ret(Display), fields(n = n * 2))]
fn display_ret(n: u32) -> Result<String, AppError> {
    Ok(format!("n={n}"))
}

#[test]
fn skip_all_and_ret_modes() {
    let cap = testing::capture();
    skip_everything(1, "x");
    let span = cap.span("skip_everything");
    assert_eq!(attr(&span, "a"), None);
    assert_eq!(attr(&span, "b"), None);
    assert_eq!(attr(&span, "return.value"), string("(1, 1)"));
    display_ret(4).ok();
    let span = cap.span("display_ret");
    assert_eq!(attr(&span, "return.value"), string("n=4"));
    assert_eq!(attr(&span, "n"), int(8));
}

#[instrumented]
fn leaf(depth: u32) -> u32 {
    depth
}

#[instrumented]
fn middle(depth: u32) -> u32 {
    leaf(depth + 1) + leaf(depth + 2)
}

#[instrumented]
fn top() -> u32 {
    middle(1)
}

#[test]
fn nested_calls_keep_parent_links() {
    let cap = testing::capture();
    assert_eq!(top(), 5);
    assert_eq!(
        cap.tree(),
        "top [Internal]\n  middle [Internal]\n    leaf [Internal]\n    leaf [Internal]\n"
    );
    let top = cap.span("top");
    let middle = cap.span("middle");
    assert_eq!(top.parent_span_id, cap.root_span_id());
    assert_eq!(middle.parent_span_id, top.span_context.span_id());
    for leaf in cap.spans_named("leaf") {
        assert_eq!(leaf.parent_span_id, middle.span_context.span_id());
        assert_eq!(leaf.span_context.trace_id(), cap.trace_id());
    }
}

#[instrumented(parent = parent)]
fn explicit_parent(parent: &Context, n: u8) -> u8 {
    n
}

#[instrumented(parent = None, follows_from = [cause.clone()])]
fn root_linked(cause: &Context) -> bool {
    let _ = cause;
    true
}

#[instrumented(new_root, kind = consumer)]
fn fresh_trace(msg: u32) -> u32 {
    msg
}

#[instrumented(links = links.iter().cloned())]
fn with_links(links: &[otel_core::opentelemetry::trace::SpanContext]) -> usize {
    links.len()
}

#[test]
fn parents_roots_and_links() {
    let cap = testing::capture();
    // An explicit parent wins over the current context.
    let outer = otel_core::in_span("outer", Context::current);
    // `in_span` ended "outer"; its context still names it as parent.
    explicit_parent(&outer, 1);
    let outer_span = cap.span("outer");
    let child = cap.span("explicit_parent");
    assert_eq!(child.parent_span_id, outer_span.span_context.span_id());

    // `parent = None`: a root of a new trace; linked here so the capture sees it.
    assert!(root_linked(&cap.context()));
    let root = cap.span("root_linked");
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_ne!(root.span_context.trace_id(), cap.trace_id());
    assert_eq!(root.links.links.len(), 1);
    assert_eq!(root.links.links[0].span_context.span_id(), cap.root_span_id());

    // `new_root`: a new trace linked to the span that was current.
    fresh_trace(3);
    let fresh = cap.span("fresh_trace");
    assert_eq!(fresh.span_kind, SpanKind::Consumer);
    assert_eq!(fresh.parent_span_id, SpanId::INVALID);
    assert_ne!(fresh.span_context.trace_id(), cap.trace_id());
    assert_eq!(fresh.links.links[0].span_context.trace_id(), cap.trace_id());

    // `links`: invalid span contexts are dropped.
    let valid = outer.span().span_context().clone();
    with_links(&[
        valid.clone(),
        otel_core::opentelemetry::trace::SpanContext::empty_context(),
    ]);
    let linked = cap.span("with_links");
    assert_eq!(linked.links.links.len(), 1);
    assert_eq!(linked.links.links[0].span_context, valid);
}

#[instrumented]
fn cfg_and_raw_args(#[cfg(any())] hidden: u32, shown: u32, r#type: &str) -> u32 {
    let _ = r#type;
    shown
}

#[test]
fn cfg_disabled_and_raw_identifier_arguments() {
    let cap = testing::capture();
    assert_eq!(cfg_and_raw_args(1, "kind"), 1);
    let span = cap.span("cfg_and_raw_args");
    assert_eq!(attr(&span, "shown"), int(1));
    assert_eq!(attr(&span, "type"), string("kind"));
    assert_eq!(span.attributes.len(), 2, "{:?}", span.attributes);
}
