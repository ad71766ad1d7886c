//! `otel_core::genai`: the span and the two metrics of the GenAI semantic conventions,
//! for a successful call, a failed one and one cancelled by a timeout. Each test reads
//! only its own trace and its own model's metric points, so they run in parallel.

use std::fmt;
use std::time::Duration;

use otel_core::genai::{GenAiCall, Usage, DURATION_BUCKETS, TOKEN_BUCKETS};
use otel_core::opentelemetry::trace::{SpanKind, Status};
use otel_core::opentelemetry::{KeyValue, Value};
use otel_core::testing::{self, metric_points, MetricPoint, PointValue, SpanDataExt};

#[derive(Debug)]
struct RateLimited;

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("429 rate limited")
    }
}

impl std::error::Error for RateLimited {}

fn points(metric: &str, model: &str) -> Vec<MetricPoint> {
    metric_points(metric)
        .into_iter()
        .filter(|p| p.attr("gen_ai.request.model") == Some(&Value::from(model.to_owned())))
        .collect()
}

fn histogram(point: &MetricPoint) -> (u64, f64, Vec<f64>) {
    match &point.value {
        PointValue::Histogram {
            count, sum, bounds, ..
        } => (*count, *sum, bounds.clone()),
        other => panic!("not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn a_chat_call_records_the_span_usage_and_both_metrics() {
    let cap = testing::capture();
    let model = "chat-model-ok";
    let reply = GenAiCall::chat(model)
        .provider("openai")
        .server("127.0.0.1", 8080)
        .attribute(KeyValue::new("gen_ai.request.max_tokens", 64_i64))
        .run(
            async {
                // The HTTP request of the call: a child of the GenAI span.
                otel_core::in_span("POST", || {});
                Ok::<_, RateLimited>("four words of reply")
            },
            |_| {
                Usage::tokens(12, 4)
                    .with_response_model("chat-model-ok-2025")
                    .with_response_id("chatcmpl-1")
                    .with_finish_reason("stop")
            },
        )
        .await;
    assert_eq!(reply.ok(), Some("four words of reply"));

    let span = cap.span(&format!("chat {model}"));
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.parent_span_id, cap.root_span_id());
    assert_eq!(span.status, Status::Unset);
    assert_eq!(cap.span("POST").parent_span_id, span.span_context.span_id());
    for (key, value) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", model),
        ("gen_ai.provider.name", "openai"),
        ("server.address", "127.0.0.1"),
        ("gen_ai.response.model", "chat-model-ok-2025"),
        ("gen_ai.response.id", "chatcmpl-1"),
    ] {
        assert_eq!(span.attr_str(key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(span.attr("server.port"), Some(&8080_i64.into()));
    assert_eq!(span.attr("gen_ai.request.max_tokens"), Some(&64_i64.into()));
    assert_eq!(span.attr("gen_ai.usage.input_tokens"), Some(&12_i64.into()));
    assert_eq!(span.attr("gen_ai.usage.output_tokens"), Some(&4_i64.into()));
    assert_eq!(
        span.attr_str("gen_ai.response.finish_reasons").as_deref(),
        Some("[\"stop\"]")
    );

    let durations = points("gen_ai.client.operation.duration", model);
    assert_eq!(durations.len(), 1, "{durations:?}");
    let (count, _, bounds) = histogram(&durations[0]);
    assert_eq!(count, 1);
    assert_eq!(bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(durations[0].unit, "s");
    assert_eq!(
        durations[0].attr("gen_ai.response.model"),
        Some(&Value::from("chat-model-ok-2025"))
    );
    assert_eq!(durations[0].attr("error.type"), None);

    let tokens = points("gen_ai.client.token.usage", model);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    for (kind, expected) in [("input", 12.0), ("output", 4.0)] {
        let point = tokens
            .iter()
            .find(|p| p.attr("gen_ai.token.type") == Some(&Value::from(kind)))
            .unwrap_or_else(|| panic!("{kind} point: {tokens:?}"));
        let (count, sum, bounds) = histogram(point);
        assert_eq!((count, sum), (1, expected), "{kind}");
        assert_eq!(bounds, TOKEN_BUCKETS.to_vec());
        assert_eq!(point.unit, "{token}");
        assert_eq!(point.attr("gen_ai.provider.name"), Some(&Value::from("openai")));
    }
}

#[tokio::test]
async fn a_failed_call_is_an_error_span_with_error_type_and_no_tokens() {
    let cap = testing::capture();
    let model = "chat-model-failing";
    let result = GenAiCall::chat(model)
        .run(async { Err::<u32, _>(RateLimited) }, |_| Usage::tokens(1, 1))
        .await;
    assert!(result.is_err());

    let span = cap.span(&format!("chat {model}"));
    assert_eq!(span.status, Status::error("429 rate limited"));
    assert_eq!(span.attr_str("error.type").as_deref(), Some("RateLimited"));
    assert_eq!(span.attr("gen_ai.usage.input_tokens"), None);
    assert!(span.events.iter().any(|e| e.name == "exception"));

    let durations = points("gen_ai.client.operation.duration", model);
    assert_eq!(durations.len(), 1, "{durations:?}");
    assert_eq!(durations[0].attr("error.type"), Some(&Value::from("RateLimited")));
    assert!(points("gen_ai.client.token.usage", model).is_empty());
}

#[tokio::test]
async fn embeddings_record_input_tokens_only_and_a_timeout_cancels_the_span() {
    let cap = testing::capture();
    let model = "embed-model";
    let vectors = GenAiCall::embeddings(model)
        .run(async { Ok::<_, RateLimited>(vec![0.5_f32; 8]) }, |_| {
            Usage::input_tokens(5)
        })
        .await;
    assert_eq!(vectors.map(|v| v.len()).ok(), Some(8));
    let span = cap.span(&format!("embeddings {model}"));
    assert_eq!(
        span.attr_str("gen_ai.operation.name").as_deref(),
        Some("embeddings")
    );
    assert_eq!(span.attr("gen_ai.usage.output_tokens"), None);
    let tokens = points("gen_ai.client.token.usage", model);
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0].attr("gen_ai.token.type"), Some(&Value::from("input")));

    let slow = "chat-model-slow";
    let timed_out = tokio::time::timeout(
        Duration::from_millis(10),
        GenAiCall::chat(slow).run(
            async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, RateLimited>(())
            },
            |_| Usage::default(),
        ),
    )
    .await;
    assert!(timed_out.is_err());
    let span = cap.span(&format!("chat {slow}"));
    assert_eq!(span.attr_str("error.type").as_deref(), Some("cancelled"));
}
