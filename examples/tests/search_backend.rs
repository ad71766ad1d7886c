//! Runs the search backend's demo in-process and checks every hop of its traces: the
//! caller's CLIENT span, the SERVER span, the eight pipeline steps with the user on
//! each, the database spans, the CLIENT spans to the embeddings and chat APIs, the
//! injected chat failure as errors up the chain, `/health`, and the metrics.

use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, metric_points, SpanDataExt};
use otel_examples::search_backend::{self, SEARCHES};

const STEPS: [&str; 8] = [
    "search.normalize",
    "search.cache_check",
    "search.generate_embedding",
    "search.vector_search",
    "search.generate_answer",
    "search.attach_media",
    "search.cache_write",
    "search.log_query",
];

struct Trace<'a> {
    spans: &'a [SpanData],
}

impl<'a> Trace<'a> {
    /// The caller's CLIENT span for the search whose URL carries `query_part`.
    fn search(&self, query_part: &str) -> &'a SpanData {
        self.spans
            .iter()
            .find(|s| {
                s.span_kind == SpanKind::Client
                    && s.name == "GET /search"
                    && s.attr_str("url.full").is_some_and(|u| u.contains(query_part))
            })
            .unwrap_or_else(|| panic!("no search for {query_part}"))
    }

    fn children(&self, parent: &SpanData) -> Vec<&'a SpanData> {
        self.spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_context.span_id())
            .collect()
    }

    fn child(&self, parent: &SpanData, name: &str) -> &'a SpanData {
        self.children(parent)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} under {}", parent.name))
    }

    fn names_under(&self, parent: &SpanData) -> Vec<&'a str> {
        let mut children = self.children(parent);
        children.sort_by_key(|s| s.start_time);
        children.into_iter().map(|s| s.name.as_ref()).collect()
    }
}

fn int(span: &SpanData, key: &str) -> i64 {
    match span.attr(key) {
        Some(opentelemetry::Value::I64(v)) => *v,
        other => panic!("{}: {key} = {other:?}", span.name),
    }
}

#[tokio::test]
async fn every_step_and_hop_of_a_search_is_traced() {
    let cap = testing::capture();
    let report = search_backend::run().await.expect("the demo runs");
    let statuses: Vec<u16> = report.exchanges.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 200, 200, 502, 401], "{:?}", SEARCHES);
    assert!(report.exchanges[1].response.as_ref().is_some_and(|r| r.cached));
    // 17 + 7 (cached) + 17 + 12 (failed) + 3 (401) + 1 (/health, client side only).
    let spans = cap.wait_for_spans(57, Duration::from_secs(5));
    let trace = Trace { spans: &spans };

    // A fresh search: caller → server → the eight steps, user on each.
    let client = trace.search("tie+my+belt");
    assert_eq!(client.parent_span_id, cap.root_span_id());
    let server = trace.child(client, "GET /search");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.attr_str("http.route").as_deref(), Some("/search"));
    assert_eq!(server.attr_str("user.id").as_deref(), Some("u-1001"));
    let mut expected = vec!["Store::user_for_token"];
    expected.extend(STEPS);
    assert_eq!(trace.names_under(server), expected);
    for step in STEPS {
        let span = trace.child(server, step);
        assert_eq!(span.attr_str("user.id").as_deref(), Some("u-1001"), "{step}");
        assert_eq!(
            span.attr_str("user.roles").as_deref(),
            Some("[\"member\"]"),
            "{step}"
        );
        assert!(span.attr("search.step").is_some(), "{step}");
    }
    let auth = trace.child(server, "Store::user_for_token");
    assert_eq!(auth.attr_str("db.collection.name").as_deref(), Some("users"));
    assert_eq!(auth.attr("token"), None, "tokens are never recorded");

    let normalize = trace.child(server, "search.normalize");
    assert_eq!(int(normalize, "search.query_length"), 21);
    assert_eq!(int(normalize, "search.normalized_query_length"), 21);
    let cache = trace.child(server, "search.cache_check");
    assert_eq!(cache.attr_str("cache.hit").as_deref(), Some("false"));

    let embedding = trace.child(server, "search.generate_embedding");
    assert_eq!(
        embedding.attr_str("gen_ai.request.model").as_deref(),
        Some("text-embedding-3-small")
    );
    assert_eq!(int(embedding, "gen_ai.embeddings.dimension.count"), 16);
    assert_eq!(int(embedding, "gen_ai.usage.input_tokens"), 6);
    let call = trace.child(embedding, "POST /v1/embeddings");
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.attr_str("http.response.status_code").as_deref(), Some("200"));

    let vector = trace.child(server, "search.vector_search");
    assert_eq!(int(vector, "search.result_count"), 3);
    for (name, collection) in [("Store::nearest", "vectors"), ("Store::documents", "documents")] {
        let db = trace.child(vector, name);
        assert_eq!(db.attr_str("db.system.name").as_deref(), Some("sqlite"));
        assert_eq!(db.attr_str("db.operation.name").as_deref(), Some("SELECT"));
        assert_eq!(db.attr_str("db.collection.name").as_deref(), Some(collection));
        assert_eq!(db.attr_str("user.id").as_deref(), Some("u-1001"), "{name}");
    }
    assert_eq!(
        int(trace.child(vector, "Store::nearest"), "db.response.returned_rows"),
        8
    );

    let answer = trace.child(server, "search.generate_answer");
    assert_eq!(int(answer, "search.context_count"), 3);
    assert!(int(answer, "gen_ai.usage.input_tokens") > 5);
    assert!(int(answer, "gen_ai.usage.output_tokens") > 0);
    assert!(int(answer, "search.answer_length") > 0);
    trace.child(answer, "POST /v1/chat/completions");

    let media = trace.child(server, "search.attach_media");
    assert_eq!(
        int(media, "search.videos_count") + int(media, "search.images_count"),
        3
    );
    trace.child(media, "Store::media");
    let log = trace.child(server, "search.log_query");
    assert_eq!(log.attr_str("search.cached").as_deref(), Some("false"));
    assert!(log.attr("search.latency_ms").is_some());
    assert_eq!(
        trace
            .child(log, "Store::log_query")
            .attr_str("db.operation.name")
            .as_deref(),
        Some("INSERT")
    );

    // The same question again: answered from the cache, still logged.
    let server = trace.child(trace.search("how+do+I+tie+my+BELT"), "GET /search");
    let steps = trace.names_under(server);
    assert_eq!(
        steps,
        [
            "Store::user_for_token",
            "search.normalize",
            "search.cache_check",
            "search.log_query"
        ]
    );
    assert_eq!(
        trace
            .child(server, "search.cache_check")
            .attr_str("cache.hit")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        trace
            .child(server, "search.log_query")
            .attr_str("search.cached")
            .as_deref(),
        Some("true")
    );

    // The chat API fails: its CLIENT span, the step, the SERVER span and the caller's
    // span are errors, and the pipeline stops there.
    let client = trace.search("outage");
    assert!(matches!(client.status, Status::Error { .. }));
    let error = report.exchanges[3].error.as_ref().expect("an error body");
    let trace_id = client.span_context.trace_id().to_string();
    assert_eq!(
        error.trace_id.as_deref(),
        Some(trace_id.as_str()),
        "the body names the trace"
    );
    let server = trace.child(client, "GET /search");
    assert!(
        matches!(server.status, Status::Error { .. }),
        "a 502 is a server error"
    );
    assert_eq!(server.attr_str("user.id").as_deref(), Some("u-1003"));
    let answer = trace.child(server, "search.generate_answer");
    assert_eq!(
        answer.status,
        Status::error("chat API: HTTP 503 Service Unavailable")
    );
    assert_eq!(answer.attr_str("error.type").as_deref(), Some("ApiError"));
    assert!(answer.events.iter().any(|e| e.name == "exception"));
    let call = trace.child(answer, "POST /v1/chat/completions");
    assert_eq!(call.attr_str("http.response.status_code").as_deref(), Some("503"));
    assert!(matches!(call.status, Status::Error { .. }));
    assert!(!trace.names_under(server).contains(&"search.attach_media"));

    // An unknown token: 401 after the user lookup, no pipeline step.
    let server = trace.child(trace.search("belt+ranks"), "GET /search");
    assert_eq!(trace.names_under(server), ["Store::user_for_token"]);
    assert_eq!(
        server.attr_str("http.response.status_code").as_deref(),
        Some("401")
    );

    // /health: served, not traced, and reporting the telemetry.
    assert_eq!(report.health.status, "healthy");
    // (`enabled` is reported by the collector test, where init() installs the pipeline.)
    assert!(report.health.telemetry["traces"]["exported"].is_u64());
    assert!(!spans
        .iter()
        .any(|s| s.span_kind == SpanKind::Server && s.name.contains("health")));

    // Metrics: the step's failure, the chat API's 503 and the server's 502.
    let failed_answers = metric_points("function.calls").into_iter().any(|p| {
        p.attr("code.function.name")
            .is_some_and(|f| f.as_str().ends_with("generate_answer"))
            && p.attr("error.type").is_some_and(|e| e.as_str() == "ApiError")
    });
    assert!(failed_answers);
    let chat_503 = metric_points("http.client.request.duration")
        .into_iter()
        .any(|p| {
            p.attr("url.template")
                .is_some_and(|t| t.as_str() == "/v1/chat/completions")
                && p.attr("http.response.status_code")
                    .is_some_and(|s| s.to_string() == "503")
        });
    assert!(chat_503);
    let server_502 = metric_points("http.server.request.duration")
        .into_iter()
        .any(|p| {
            p.attr("http.route").is_some_and(|r| r.as_str() == "/search")
                && p.attr("error.type").is_some_and(|e| e.as_str() == "502")
        });
    assert!(server_502);
}
