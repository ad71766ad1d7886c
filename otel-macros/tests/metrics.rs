//! The RED metrics of `#[instrumented]`: names, units, attributes and values.
//!
//! Metrics are process-wide aggregates, so every test uses functions of its own and
//! filters points by `code.function.name`.
#![cfg(not(otel_noop))]

use otel_core::opentelemetry::Value;
use otel_core::testing::{self, metric_points, MetricPoint, PointValue};
use otel_macros::instrumented;

fn points_of(instrument: &str, function: &str) -> Vec<MetricPoint> {
    let full = format!("metrics::{function}");
    metric_points(instrument)
        .into_iter()
        .filter(|p| p.attr("code.function.name") == Some(&Value::from(full.clone())))
        .collect()
}

fn with_result<'a>(points: &'a [MetricPoint], result: &str) -> Option<&'a MetricPoint> {
    points
        .iter()
        .find(|p| p.attr("result") == Some(&Value::from(result.to_owned())))
}

#[derive(Debug)]
struct Invalid;

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid input")
    }
}

impl std::error::Error for Invalid {}

#[instrumented]
fn checked_half(n: u32) -> Result<u32, Invalid> {
    if n % 2 == 1 {
        return Err(Invalid);
    }
    Ok(n / 2)
}

#[test]
fn calls_and_durations_by_result() {
    let _cap = testing::capture();
    for n in [2, 4, 6, 1] {
        let _ = checked_half(n);
    }
    let calls = points_of("function.calls", "checked_half");
    assert_eq!(calls.len(), 2, "{calls:?}");
    let ok = with_result(&calls, "ok").expect("ok point");
    assert_eq!(ok.value, PointValue::Sum(3.0));
    assert_eq!(ok.unit, "{call}");
    assert_eq!(ok.attr("code.namespace"), Some(&Value::from("metrics")));
    assert_eq!(ok.attr("error.type"), None);
    let err = with_result(&calls, "error").expect("error point");
    assert_eq!(err.value, PointValue::Sum(1.0));
    assert_eq!(err.attr("error.type"), Some(&Value::from("Invalid")));

    let durations = points_of("function.duration", "checked_half");
    let ok = with_result(&durations, "ok").expect("ok histogram");
    assert_eq!(ok.unit, "s");
    let PointValue::Histogram {
        count,
        sum,
        bounds,
        bucket_counts,
    } = &ok.value
    else {
        panic!("expected a histogram, got {:?}", ok.value)
    };
    assert_eq!(*count, 3);
    assert!(*sum >= 0.0);
    assert_eq!(bounds.first(), Some(&0.0001));
    assert_eq!(bounds.last(), Some(&10.0));
    assert_eq!(bucket_counts.iter().sum::<u64>(), 3);
    let err = with_result(&durations, "error").expect("error histogram");
    assert!(matches!(err.value, PointValue::Histogram { count: 1, .. }));
}

#[instrumented(metrics = false)]
fn unmetered(n: u32) -> u32 {
    n
}

#[test]
fn metrics_can_be_turned_off_per_function() {
    let cap = testing::capture();
    unmetered(1);
    cap.span("unmetered");
    assert!(points_of("function.calls", "unmetered").is_empty());
    assert!(points_of("function.duration", "unmetered").is_empty());
}

#[instrumented(in_flight)]
fn in_flight_probe() -> f64 {
    let during = points_of("function.calls.active", "in_flight_probe");
    match during.first().map(|p| &p.value) {
        Some(PointValue::Sum(v)) => *v,
        other => panic!("no in-flight point during the call: {other:?}"),
    }
}

#[instrumented]
fn no_in_flight() {}

#[test]
fn in_flight_is_opt_in() {
    let _cap = testing::capture();
    assert_eq!(in_flight_probe(), 1.0);
    let after = points_of("function.calls.active", "in_flight_probe");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].value, PointValue::Sum(0.0));
    assert_eq!(after[0].unit, "{call}");
    assert_eq!(after[0].attr("result"), None);
    no_in_flight();
    assert!(points_of("function.calls.active", "no_in_flight").is_empty());
    assert_eq!(
        with_result(&points_of("function.calls", "no_in_flight"), "ok").map(|p| &p.value),
        Some(&PointValue::Sum(1.0))
    );
}

#[instrumented]
fn metered_panic() {
    panic!("metered");
}

#[instrumented]
async fn metered_pending() {
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn panics_and_cancellations_count_as_errors() {
    let _cap = testing::capture();
    assert!(std::panic::catch_unwind(metered_panic).is_err());
    let calls = points_of("function.calls", "metered_panic");
    let err = with_result(&calls, "error").expect("panic point");
    assert_eq!(err.attr("error.type"), Some(&Value::from("panic")));
    assert_eq!(err.value, PointValue::Sum(1.0));

    tokio::select! {
        biased;
        () = metered_pending() => unreachable!(),
        () = async {} => {}
    }
    let calls = points_of("function.calls", "metered_pending");
    let err = with_result(&calls, "error").expect("cancelled point");
    assert_eq!(err.attr("error.type"), Some(&Value::from("cancelled")));
}

struct Repo;

impl Repo {
    #[instrumented(name = "custom.span.name")]
    fn lookup(&self) -> u8 {
        1
    }
}

#[test]
fn metric_attributes_name_the_function_not_the_span() {
    let cap = testing::capture();
    Repo.lookup();
    cap.span("custom.span.name");
    // Without `#[instrument_struct]` the type is not known: the function name is used.
    let calls = points_of("function.calls", "lookup");
    assert_eq!(
        with_result(&calls, "ok").map(|p| &p.value),
        Some(&PointValue::Sum(1.0))
    );
}

#[test]
fn unsampled_calls_still_count() {
    use otel_core::opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use otel_core::opentelemetry::Context;
    testing::install();
    let unsampled = SpanContext::new(
        TraceId::from(0x1234_u128),
        SpanId::from(0x99_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _guard = Context::new().with_remote_span_context(unsampled).attach();
    unsampled_probe();
    unsampled_probe();
    let calls = points_of("function.calls", "unsampled_probe");
    assert_eq!(
        with_result(&calls, "ok").map(|p| &p.value),
        Some(&PointValue::Sum(2.0))
    );
}

#[instrumented]
fn unsampled_probe() {}
