//! Environment-based sampling, as the seed configures it: with
//! `deployment.environment.name=production` in `OTEL_RESOURCE_ATTRIBUTES` the backend
//! keeps about 10 % of its traces, and a kept trace is kept whole (parent-based: every
//! step and database span of a sampled request, none of an unsampled one).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::Request;
use opentelemetry::trace::SpanKind;
use otel_core::testing::SpanRecorder;
use otel_examples::search_backend::Backend;
use tower::ServiceExt;

const REQUESTS: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_keeps_a_tenth_of_the_traces_whole() {
    let env: HashMap<&str, &str> = HashMap::from([
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=production",
        ),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    let recorder = SpanRecorder::default();
    let guard = otel_core::Telemetry::builder()
        .env(move |name| env.get(name).map(|v| (*v).to_owned()))
        .with_span_processor(recorder.processor())
        .quiet(true)
        .init()
        .expect("init");
    let status = otel_core::telemetry_status();
    assert_eq!(status.sampler.as_deref(), Some("parentbased_traceidratio(0.1)"));

    let backend = Backend::start().await.expect("the backend starts");
    for i in 0..REQUESTS {
        // Ten distinct questions, so most requests are cache hits and the loop is quick.
        let request = Request::get(format!("/search?q=belt+ranks+{}", i % 10))
            .header("authorization", "Bearer tok-alice")
            .body(Body::empty())
            .expect("a request");
        let response = backend.router.clone().oneshot(request).await.expect("a response");
        assert_eq!(response.status(), 200);
    }
    guard.shutdown().expect("shutdown");

    let spans = recorder.spans();
    let servers: Vec<_> = spans.iter().filter(|s| s.span_kind == SpanKind::Server).collect();
    // 10 % of 400 is 40; the trace ids are random, so allow for chance (±5 σ).
    assert!(
        (10..=75).contains(&servers.len()),
        "{} of {REQUESTS} sampled",
        servers.len()
    );
    for server in servers {
        let trace = server.span_context.trace_id();
        let steps = spans
            .iter()
            .filter(|s| s.span_context.trace_id() == trace && s.name.starts_with("search."))
            .count();
        // normalize, cache_check and log_query at least (a cache hit stops there).
        assert!(steps >= 3, "a sampled request keeps all its steps ({steps})");
    }
    let orphans = spans.iter().filter(|s| {
        s.span_kind != SpanKind::Server && !spans.iter().any(|p| p.span_context.span_id() == s.parent_span_id)
    });
    assert_eq!(orphans.count(), 0, "no step of an unsampled request is kept");
}
