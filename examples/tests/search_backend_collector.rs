//! The search backend exporting over OTLP/HTTP, as in production, to a real collector
//! (rotel): the same binary, configured only through `OTEL_*` variables; the spans that
//! arrive keep their parent links across the HTTP hops, the user attributes and the
//! injected failure; `/health` reports the live pipeline.

use std::collections::HashMap;

use otel_examples::search_backend;
use otel_tests::collector::Collector;
use otel_tests::parse::ReceivedSpan;
use otel_tests::{unique_service_name, RECEIVE_TIMEOUT};

/// 17 + 7 + 17 + 12 + 3 + 1: see `search_backend.rs`.
const SPANS: usize = 57;

#[test]
fn the_backend_exports_its_traces_to_a_collector() {
    let collector = Collector::start();
    let service = unique_service_name("search-backend");
    let env: HashMap<&str, String> = HashMap::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
        ("OTEL_SERVICE_NAME", service.clone()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
    ]);
    let guard = otel_core::Telemetry::builder()
        .env(move |name| env.get(name).cloned())
        .default_service_name("search_backend")
        .quiet(true)
        .init()
        .expect("init from the environment");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let report = runtime.block_on(search_backend::run()).expect("the demo runs");
    let telemetry = &report.health.telemetry;
    assert_eq!(telemetry["enabled"], true, "{telemetry}");
    assert_eq!(telemetry["service_name"], service.as_str());
    assert_eq!(telemetry["sampler"], "parentbased_always_on");
    assert!(
        telemetry["traces"]["exported"].as_u64().is_some_and(|n| n > 0),
        "{telemetry}"
    );
    assert_eq!(telemetry["traces"]["dropped"], 0);
    drop(runtime);
    guard.shutdown().expect("shutdown flushes to a live collector");

    let mine = |spans: &[ReceivedSpan]| {
        spans
            .iter()
            .filter(|s| s.service_name() == Some(service.as_str()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let spans = collector.wait_for_spans("the demo's spans", RECEIVE_TIMEOUT, |s| mine(s).len() >= SPANS);
    let spans = mine(&spans);
    assert_eq!(spans.len(), SPANS);
    let by_id: HashMap<&str, &ReceivedSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let parent = |s: &ReceivedSpan| by_id.get(s.parent_id.as_str()).copied();

    // The failed search, from the chat API's CLIENT span up to the caller's.
    let chat = spans
        .iter()
        .find(|s| {
            s.name == "POST /v1/chat/completions" && s.attr("http.response.status_code") == Some("Int(503)")
        })
        .expect("the chat API's 503");
    assert_eq!(chat.kind, "SPAN_KIND_CLIENT");
    assert_eq!(chat.status_code, "STATUS_CODE_ERROR");
    let answer = parent(chat).expect("the step above the call");
    assert_eq!(answer.name, "search.generate_answer");
    assert_eq!(answer.status_code, "STATUS_CODE_ERROR");
    assert_eq!(answer.attr("user.id"), Some("Str(u-1003)"));
    assert_eq!(answer.attr("gen_ai.request.model"), Some("Str(gpt-4o-mini)"));
    let server = parent(answer).expect("the SERVER span");
    assert_eq!(
        (server.name.as_str(), server.kind.as_str()),
        ("GET /search", "SPAN_KIND_SERVER")
    );
    assert_eq!(server.status_code, "STATUS_CODE_ERROR");
    assert_eq!(server.attr("http.response.status_code"), Some("Int(502)"));
    let caller = parent(server).expect("the caller's span, across the HTTP hop");
    assert_eq!(caller.kind, "SPAN_KIND_CLIENT");
    assert!(caller.parent_id.is_empty(), "the caller's span is the root");
    assert!(spans
        .iter()
        .filter(|s| s.trace_id == chat.trace_id)
        .all(|s| s.trace_id == caller.trace_id));

    // Every step of the first search, each with the user and under the SERVER span.
    for step in [
        "search.normalize",
        "search.cache_check",
        "search.generate_embedding",
        "search.vector_search",
        "search.generate_answer",
        "search.attach_media",
        "search.cache_write",
        "search.log_query",
    ] {
        let span = spans
            .iter()
            .find(|s| s.name == step && s.attr("user.id") == Some("Str(u-1001)"))
            .unwrap_or_else(|| panic!("{step} for u-1001"));
        assert_eq!(
            parent(span).map(|p| p.kind.as_str()),
            Some("SPAN_KIND_SERVER"),
            "{step}"
        );
    }
    let insert = spans
        .iter()
        .find(|s| s.name == "Store::log_query")
        .expect("the query log insert");
    assert_eq!(insert.attr("db.system.name"), Some("Str(sqlite)"));
    assert_eq!(parent(insert).map(|p| p.name.as_str()), Some("search.log_query"));
}
