//! The flashcards example end to end, exported over OTLP/gRPC to a real collector
//! (rotel): the database's CLIENT spans with `db.*`, the two cache tiers, the GenAI
//! call over its HTTP attempts and the model server's spans, the retries, the circuit
//! breaker and the rate limiter as they show in the trace, the `user.tier` baggage on
//! the downstream server, and the metrics of every component.

use std::time::Duration;

use otel_core::config::{ExporterKind, MetricsExporterKind, Protocol};
use otel_examples::flashcards;
use otel_tests::parse::untagged;
use otel_tests::{unique_service_name, Collector, ReceivedDataPoint, ReceivedSpan, RECEIVE_TIMEOUT};

fn children<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan, name: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.parent_id == parent.span_id && s.name == name)
        .collect()
}

fn child<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan, name: &str) -> &'a ReceivedSpan {
    let found = children(spans, parent, name);
    assert_eq!(found.len(), 1, "one {name:?} under {:?}: {spans:#?}", parent.name);
    found[0]
}

fn attr<'a>(span: &'a ReceivedSpan, key: &str) -> Option<&'a str> {
    span.attr(key).map(untagged)
}

#[test]
fn the_pipeline_exports_every_component_to_a_collector() {
    let collector = Collector::start();
    let service = unique_service_name("flashcards");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(async {
        let guard = otel_core::Telemetry::builder()
            .env(|_| None)
            .service_name(service.clone())
            .otlp_endpoint(collector.grpc_endpoint())
            .otlp_protocol(Protocol::Grpc)
            .traces_exporters([ExporterKind::Otlp])
            .metrics_exporters([MetricsExporterKind::Otlp])
            .logs_exporters([ExporterKind::Otlp])
            // Frequent exports: the pool gauges report only while the pool exists.
            .metric_export_interval(Duration::from_millis(100))
            .quiet(true)
            .init()
            .expect("init");
        otel_examples::logging::install().expect("logging");
        let report = flashcards::run().await.expect("run");
        guard.shutdown().expect("shutdown");
        report
    });

    let outcomes: Vec<(&str, &str)> = report
        .words
        .iter()
        .map(|w| (w.word, w.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("serendipity", "circuit open: call not sent"),
            ("ephemeral", "circuit open: call not sent"),
            ("serendipity", "model"),
            ("ubiquitous", "model"),
            ("ephemeral", "model"),
            ("serendipity", "cache"),
            ("quixotic", "model"),
            ("laconic", "model"),
            ("ubiquitous", "database"),
            ("laconic", "cache"),
        ]
    );
    assert_eq!(report.stored, 5);

    let mine = |s: &ReceivedSpan| s.service_name() == Some(service.as_str());
    let spans = collector.wait_for_spans("both sessions", RECEIVE_TIMEOUT, |spans| {
        spans
            .iter()
            .filter(|s| mine(s) && s.name == "FlashcardPipeline::process_word")
            .count()
            == 10
            && spans
                .iter()
                .filter(|s| mine(s) && s.name == "FlashcardPipeline::process_batch")
                .count()
                == 2
    });
    let spans: Vec<ReceivedSpan> = spans.into_iter().filter(|s| mine(s)).collect();
    let batch = |tier: &str| {
        spans
            .iter()
            .find(|s| s.name == "FlashcardPipeline::process_batch" && attr(s, "user.tier") == Some(tier))
            .unwrap_or_else(|| panic!("{tier} session: {spans:#?}"))
    };
    let words = |tier: &str| children(&spans, batch(tier), "FlashcardPipeline::process_word");

    // Ana: three attempts answered 503, retried; the breaker opens and rejects the rest.
    let ana = words("premium");
    assert_eq!(ana.len(), 2);
    let first = ana
        .iter()
        .find(|s| attr(s, "flashcards.word") == Some("serendipity"))
        .expect("serendipity");
    assert_eq!(first.status_code, "STATUS_CODE_ERROR");
    assert_eq!(attr(first, "error.type"), Some("PipelineError"));
    let chat = child(&spans, first, "chat gpt-4o-mini");
    assert_eq!(chat.kind, "SPAN_KIND_CLIENT");
    assert_eq!(chat.status_code, "STATUS_CODE_ERROR");
    assert_eq!(attr(chat, "error.type"), Some("LlmError"));
    assert_eq!(attr(chat, "gen_ai.operation.name"), Some("chat"));
    assert_eq!(attr(chat, "gen_ai.request.max_tokens"), Some("64"));
    let retries = chat.events.iter().filter(|e| *e == "retry").count();
    assert_eq!(retries, 3, "{chat:?}");
    assert!(
        chat.events.iter().any(|e| e == "circuit_breaker.state_change"),
        "{chat:?}"
    );
    assert!(
        chat.events.iter().any(|e| e == "circuit_breaker.rejected"),
        "{chat:?}"
    );
    let attempts = children(&spans, chat, "POST");
    assert_eq!(attempts.len(), 3, "three attempts reached the model");
    for attempt in &attempts {
        assert_eq!(attempt.kind, "SPAN_KIND_CLIENT");
        assert_eq!(attr(attempt, "http.response.status_code"), Some("503"));
        let server = child(&spans, attempt, "POST /v1/chat/completions");
        assert_eq!(server.kind, "SPAN_KIND_SERVER");
        assert_eq!(attr(server, "user.tier"), Some("premium"), "baggage downstream");
    }
    let second = ana
        .iter()
        .find(|s| attr(s, "flashcards.word") == Some("ephemeral"))
        .expect("ephemeral");
    let rejected = child(&spans, second, "chat gpt-4o-mini");
    assert_eq!(rejected.events, ["circuit_breaker.rejected", "exception"]);
    assert!(children(&spans, rejected, "POST").is_empty(), "nothing sent");

    // Ben: every path. The model answers with token counts, the server sees his tier.
    let ben = words("free");
    assert_eq!(ben.len(), 8);
    let sources: Vec<&str> = ben.iter().filter_map(|s| attr(s, "flashcards.source")).collect();
    for source in ["model", "cache", "database"] {
        assert!(sources.contains(&source), "{source}: {sources:?}");
    }
    let generated: Vec<&ReceivedSpan> = ben
        .iter()
        .flat_map(|w| children(&spans, w, "chat gpt-4o-mini"))
        .collect();
    assert_eq!(generated.len(), 5);
    for chat in &generated {
        assert_eq!(chat.status_code, "STATUS_CODE_UNSET");
        assert_eq!(
            attr(chat, "gen_ai.response.model"),
            Some("gpt-4o-mini-2025-01-01")
        );
        assert!(chat
            .attr("gen_ai.usage.input_tokens")
            .is_some_and(|v| v.starts_with("Int(")));
        assert!(chat.attr("gen_ai.usage.output_tokens").is_some());
        let post = child(&spans, chat, "POST");
        let server = child(&spans, post, "POST /v1/chat/completions");
        assert_eq!(attr(server, "user.tier"), Some("free"));
    }
    // The circuit closed again on Ben's first call, after a trial.
    assert!(generated[0]
        .events
        .iter()
        .any(|e| e == "circuit_breaker.state_change"));
    let waits: Vec<&ReceivedSpan> = generated
        .iter()
        .flat_map(|chat| children(&spans, chat, "rate_limiter.wait"))
        .collect();
    assert!(!waits.is_empty(), "five calls in a burst of two wait");

    // The database: CLIENT spans named `{operation} {collection}` with `db.*`.
    let from_db = ben
        .iter()
        .find(|s| attr(s, "flashcards.source") == Some("database"))
        .expect("a card from the database");
    let select = child(&spans, from_db, "SELECT flashcards");
    assert_eq!(select.kind, "SPAN_KIND_CLIENT");
    for (key, value) in [
        ("db.system.name", "sqlite"),
        ("db.namespace", "flashcards"),
        ("db.operation.name", "SELECT"),
        ("db.collection.name", "flashcards"),
        (
            "db.query.text",
            "SELECT word, explanation FROM flashcards WHERE word = ?1",
        ),
        ("db.response.returned_rows", "1"),
    ] {
        assert_eq!(attr(select, key), Some(value), "{key}");
    }
    let insert = child(&spans, ben[0], "INSERT flashcards");
    assert_eq!(attr(insert, "db.operation.batch.size"), Some("1"));

    // The cache: which tier answered.
    let hits: Vec<&str> = spans
        .iter()
        .filter(|s| s.name == "Cache::get" && attr(s, "cache.hit") == Some("true"))
        .filter_map(|s| attr(s, "cache.tier"))
        .collect();
    assert_eq!(hits, ["l2", "l1"]);

    // Metrics of every component (the last export of each cumulative series).
    let points = collector.wait_for_data_points("the components' metrics", RECEIVE_TIMEOUT, |points| {
        points
            .iter()
            .any(|p| p.service_name() == Some(service.as_str()) && p.metric == "flashcards.processed")
    });
    let points: Vec<ReceivedDataPoint> = points
        .into_iter()
        .filter(|p| p.service_name() == Some(service.as_str()))
        .collect();
    let point = |metric: &str, attributes: &[(&str, &str)]| {
        points
            .iter()
            .rev()
            .find(|p| {
                p.metric == metric
                    && attributes
                        .iter()
                        .all(|(k, v)| p.attr(k).map(untagged) == Some(*v))
            })
            .unwrap_or_else(|| panic!("{metric} {attributes:?}: {points:#?}"))
    };
    let value = |metric: &str, attributes: &[(&str, &str)]| point(metric, attributes).value.clone();
    assert_eq!(value("cache.hits", &[("cache.tier", "l1")]).as_deref(), Some("1"));
    assert_eq!(value("cache.hits", &[("cache.tier", "l2")]).as_deref(), Some("1"));
    assert!(value("cache.misses", &[("cache.tier", "l1")]).is_some());
    assert!(value("cache.evictions", &[("cache.tier", "l1")]).is_some());
    assert!(value("cache.evictions", &[("cache.tier", "l2")]).is_some());
    assert_eq!(
        value(
            "db.client.connection.count",
            &[("db.client.connection.state", "idle")]
        )
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        value(
            "db.client.connection.count",
            &[("db.client.connection.state", "used")]
        )
        .as_deref(),
        Some("0")
    );
    let query = point(
        "function.duration",
        &[(
            "code.function.name",
            "otel_examples::flashcards::database::Database::find_card",
        )],
    );
    assert_eq!((query.unit.as_str(), query.count), ("s", Some(8)));
    assert_eq!(
        value("llm.retries", &[("error.type", "unavailable")]).as_deref(),
        Some("3")
    );
    assert_eq!(value("circuit_breaker.rejections", &[]).as_deref(), Some("2"));
    assert_eq!(point("rate_limiter.wait.duration", &[]).count, Some(7));
    let failed_calls = point("gen_ai.client.operation.duration", &[("error.type", "LlmError")]);
    assert_eq!(failed_calls.count, Some(2));
    let output = point("gen_ai.client.token.usage", &[("gen_ai.token.type", "output")]);
    assert_eq!(output.count, Some(5));
    assert_eq!(output.unit, "{token}");
    assert_eq!(
        value(
            "flashcards.processed",
            &[("flashcards.source", "model"), ("user.tier", "free")]
        )
        .as_deref(),
        Some("5")
    );
    assert_eq!(
        value(
            "flashcards.processed",
            &[("flashcards.source", "failed"), ("user.tier", "premium")]
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        point(
            "http.client.request.duration",
            &[("http.response.status_code", "503")]
        )
        .count,
        Some(3)
    );

    // Error logs carry the failed word's span.
    let logs = collector.wait_for_logs("the failures' log records", RECEIVE_TIMEOUT, |logs| {
        logs.iter()
            .any(|l| l.service_name() == Some(service.as_str()) && l.severity_text == "ERROR")
    });
    let failure = logs
        .iter()
        .find(|l| l.service_name() == Some(service.as_str()) && l.severity_text == "ERROR")
        .expect("an error record");
    assert_eq!(failure.trace_id, first.trace_id);
    assert_eq!(failure.span_id, first.span_id);
}
