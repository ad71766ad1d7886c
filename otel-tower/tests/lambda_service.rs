//! `LambdaService` driven by hand, outside any Tokio runtime (so its flush runs in
//! place): payload types that describe themselves, closures for foreign ones, cold
//! starts per layer, and invocations dropped before they finish. Each test has its own
//! capture, so they run in parallel. Run with `--features lambda`.
#![cfg(feature = "lambda")]

use std::collections::HashMap;
use std::convert::Infallible;

use futures_util::FutureExt;
use lambda_runtime::{service_fn, Context, LambdaEvent};
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::Value;
use otel_core::testing::{self, Capture, SpanDataExt};
use otel_tower::lambda::{EventInfo, InvocationEvent, LambdaLayer, Trigger};
use tower::{Layer, Service, ServiceExt};

/// A payload type of this crate: it can describe itself.
struct Order {
    id: u64,
    headers: http::HeaderMap,
}

impl InvocationEvent for Order {
    fn event_info(&self) -> EventInfo {
        EventInfo::new(Trigger::PubSub).with_headers(&self.headers)
    }
}

/// Headers carrying the capture's trace, as an upstream service would send them.
fn headers_of(cap: &Capture) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    otel_core::propagation::inject_context(&cap.context(), &mut headers);
    headers
}

fn event<T>(payload: T, request_id: &str) -> LambdaEvent<T> {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    LambdaEvent::new(payload, context)
}

#[test]
fn a_typed_payload_continues_its_context_and_only_the_first_call_is_cold() {
    let cap = testing::capture();
    let mut service = LambdaLayer::new().layer(service_fn(|event: LambdaEvent<Order>| async move {
        otel_core::in_span("charge", || {});
        Ok::<_, Infallible>(event.payload.id)
    }));
    for (n, id) in ["order-1", "order-2"].into_iter().enumerate() {
        let order = Order {
            id: n as u64,
            headers: headers_of(&cap),
        };
        let answer = service
            .ready()
            .now_or_never()
            .expect("ready")
            .expect("ready")
            .call(event(order, id))
            .now_or_never()
            .expect("no runtime needed")
            .expect("handled");
        assert_eq!(answer, n as u64);
    }

    let spans = cap.spans_named("lambda");
    assert_eq!(spans.len(), 2, "{:#?}", cap.spans());
    for (span, (id, cold)) in spans.iter().zip([("order-1", true), ("order-2", false)]) {
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.parent_span_id, cap.root_span_id(), "the headers' context");
        assert_eq!(span.attr_str("faas.invocation_id").as_deref(), Some(id));
        assert_eq!(span.attr("faas.coldstart"), Some(&Value::Bool(cold)));
        assert_eq!(span.attr_str("faas.trigger").as_deref(), Some("pubsub"));
        // No ARN in a default context: nothing made up.
        assert_eq!(span.attr("cloud.resource_id"), None);
    }
    let charges = cap.spans_named("charge");
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[0].parent_span_id, spans[0].span_context.span_id());
}

#[test]
fn a_closure_describes_payload_types_of_other_crates() {
    let cap = testing::capture();
    let layer = LambdaLayer::new().describe(|message: &HashMap<String, String>| {
        let headers = http::HeaderMap::try_from(message).unwrap_or_default();
        EventInfo::new(Trigger::Datasource).with_headers(&headers)
    });
    let service = layer.layer(service_fn(|_: LambdaEvent<HashMap<String, String>>| async {
        Ok::<_, Infallible>(())
    }));
    let message: HashMap<String, String> = headers_of(&cap)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    service
        .oneshot(event(message, "msg-1"))
        .now_or_never()
        .expect("no runtime needed")
        .expect("handled");

    let span = cap.span("lambda");
    assert_eq!(span.parent_span_id, cap.root_span_id());
    assert_eq!(span.attr_str("faas.trigger").as_deref(), Some("datasource"));
    assert_eq!(span.attr_str("faas.invocation_id").as_deref(), Some("msg-1"));
}

#[test]
fn boxed_errors_are_recorded_with_their_message() {
    let cap = testing::capture();
    let service = LambdaLayer::new().layer(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Err::<(), lambda_runtime::Error>("table not found".into())
    }));
    let result = service
        .oneshot(event(
            serde_json::json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
            "ddb-1",
        ))
        .now_or_never()
        .expect("no runtime needed");
    assert!(result.is_err(), "the handler's error is returned unchanged");

    let span = cap.span("lambda");
    assert_eq!(span.status, Status::error("table not found"));
    // A `Box<dyn Error>` does not say its concrete type: the conventions' fallback.
    assert_eq!(span.attr_str("error.type").as_deref(), Some("_OTHER"));
    assert_eq!(span.attr_str("faas.trigger").as_deref(), Some("datasource"));
}

#[test]
fn an_invocation_dropped_before_it_finishes_is_cancelled() {
    let cap = testing::capture();
    let mut service = LambdaLayer::new().layer(service_fn(|_: LambdaEvent<()>| async {
        std::future::pending::<()>().await;
        Ok::<_, Infallible>(())
    }));
    let mut future = Box::pin(service.call(event((), "stuck-1")));
    // `lambda_runtime::run_concurrent` needs a `Send` future.
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&future);
    assert!(future.as_mut().now_or_never().is_none());
    drop(future);

    let span = cap.span("lambda");
    assert_eq!(span.attr_str("error.type").as_deref(), Some("cancelled"));
    assert!(matches!(span.status, Status::Error { .. }));
}
