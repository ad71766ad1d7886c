//! The text-analysis example end to end: the real `lambda_runtime` against the Runtime
//! API emulator, telemetry exported over OTLP/HTTP to a real collector (rotel), and
//! what the collector received checked hop by hop: invocation → pipeline stages →
//! GenAI embeddings call → HTTP client → the embeddings API's server span; the failing
//! invocation's error status and `error.type` on every span it crossed; the business,
//! GenAI and FaaS metrics; log records carrying the invocation's trace and span ids.

use std::time::Duration;

use otel_core::config::{ExporterKind, MetricsExporterKind, SamplerConfig};
use otel_examples::text_analysis::{self, UPSTREAM_TRACE_ID};
use otel_tests::parse::untagged as untagged_attr;
use otel_tests::{unique_service_name, Collector, ReceivedSpan, RECEIVE_TIMEOUT};
use otel_tower::lambda::emulator::Outcome;

fn one<'a>(spans: &'a [ReceivedSpan], name: &str, trace_id: &str) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == name && s.trace_id == trace_id)
        .collect();
    assert_eq!(found.len(), 1, "one {name:?} in {trace_id}: {spans:#?}");
    found[0]
}

fn child<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan, name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name && s.parent_id == parent.span_id)
        .unwrap_or_else(|| panic!("{name:?} under {:?}: {spans:#?}", parent.name))
}

#[test]
fn the_lambda_exports_linked_spans_metrics_and_logs_to_a_collector() {
    let collector = Collector::start();
    let service = unique_service_name("text-analysis");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(async {
        let api = text_analysis::start_runtime_api().await.expect("emulator");
        let guard = otel_core::Telemetry::builder()
            .env(|_| None)
            .service_name(service.clone())
            .deployment_environment("dev")
            .otlp_endpoint(collector.http_endpoint())
            .traces_exporters([ExporterKind::Otlp])
            .metrics_exporters([MetricsExporterKind::Otlp])
            .logs_exporters([ExporterKind::Otlp])
            .metric_export_interval(Duration::from_secs(3600))
            .quiet(true)
            .init()
            .expect("init");
        otel_examples::logging::install().expect("logging");
        let report = text_analysis::run(&api).await.expect("run");
        guard.shutdown().expect("shutdown");
        report
    });

    // What Lambda received.
    let outcomes: Vec<(&str, Outcome)> = report
        .answers
        .iter()
        .map(|a| (a.request_id.as_str(), a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("req-1", Outcome::Response),
            ("req-2", Outcome::Response),
            ("req-3", Outcome::Error)
        ]
    );
    assert_eq!(report.answers[2].body["errorType"], "EmbeddingError");

    let mine = |s: &ReceivedSpan| s.service_name() == Some(service.as_str());
    let spans = collector.wait_for_spans(
        "the three invocations and their stages",
        RECEIVE_TIMEOUT,
        |spans| {
            spans.iter().filter(|s| mine(s) && s.name == "/analyses").count() == 3
                && spans
                    .iter()
                    .filter(|s| mine(s) && s.name == "POST /v1/embeddings")
                    .count()
                    == 4
        },
    );
    let spans: Vec<ReceivedSpan> = spans.into_iter().filter(|s| mine(s)).collect();

    // req-1 continues the upstream trace from the API Gateway `traceparent`.
    let invocation = one(&spans, "/analyses", UPSTREAM_TRACE_ID);
    assert_eq!(invocation.kind, "SPAN_KIND_SERVER");
    assert_eq!(invocation.parent_id, "00f067aa0ba902b7");
    for (key, value) in [
        ("faas.invocation_id", "req-1"),
        ("faas.trigger", "http"),
        ("http.route", "/analyses"),
        ("text_analysis.request.type", "standalone"),
        ("job.id", "job-1"),
        ("text_analysis.sentence_count", "6"),
    ] {
        assert_eq!(invocation.attr(key).map(untagged_attr), Some(value), "{key}");
    }
    assert_eq!(invocation.attr("faas.coldstart"), Some("Bool(true)"));
    let resource = |key: &str| {
        invocation
            .resource
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| untagged_attr(v).to_owned())
    };
    assert_eq!(resource("faas.name").as_deref(), Some("text-analysis"));
    assert_eq!(resource("cloud.provider").as_deref(), Some("aws"));
    assert_eq!(resource("deployment.environment.name").as_deref(), Some("dev"));

    // Every hop, parent to child.
    let process = child(&spans, invocation, "process_standalone");
    let preprocessing = child(&spans, process, "preprocessing");
    let embedding = child(&spans, process, "embedding_generation");
    let clustering = child(&spans, process, "clustering_analysis");
    let sentiment = child(&spans, process, "sentiment_analysis");
    let genai = child(&spans, embedding, "embeddings text-embedding-3-small");
    let http_client = child(&spans, genai, "POST");
    let http_server = child(&spans, http_client, "POST /v1/embeddings");
    assert_eq!(preprocessing.attr("preprocessing.output_count"), Some("Int(6)"));
    assert_eq!(embedding.attr("embedding.batch_size"), Some("Int(6)"));
    assert_eq!(
        embedding.attr("embedding.model"),
        Some("Str(text-embedding-3-small)")
    );
    assert_eq!(clustering.attr("clustering.algorithm"), Some("Str(DBSCAN)"));
    assert!(clustering.attr("cluster.count").is_some(), "{clustering:?}");
    assert_eq!(sentiment.attr("sentiment.distribution.positive"), Some("Int(3)"));
    assert_eq!(sentiment.attr("sentiment.distribution.negative"), Some("Int(2)"));
    assert_eq!(genai.kind, "SPAN_KIND_CLIENT");
    assert_eq!(genai.attr("gen_ai.operation.name"), Some("Str(embeddings)"));
    assert_eq!(genai.attr("gen_ai.usage.input_tokens"), Some("Int(31)"));
    assert_eq!(http_client.kind, "SPAN_KIND_CLIENT");
    assert_eq!(http_server.kind, "SPAN_KIND_SERVER");
    assert_eq!(http_server.attr("http.route"), Some("Str(/v1/embeddings)"));

    // req-2: a comparison, two datasets under one span.
    let comparison = spans
        .iter()
        .find(|s| s.name == "/analyses" && s.attr("faas.invocation_id") == Some("Str(req-2)"))
        .expect("req-2");
    let compare = child(&spans, comparison, "process_comparison");
    let stages = spans.iter().filter(|s| s.parent_id == compare.span_id).count();
    assert_eq!(stages, 8, "two datasets of four stages");
    assert_eq!(comparison.attr("faas.coldstart"), Some("Bool(false)"));

    // req-3: the embeddings API refuses the batch; every span on the way up says so.
    let failed = spans
        .iter()
        .find(|s| s.name == "/analyses" && s.attr("faas.invocation_id") == Some("Str(req-3)"))
        .expect("req-3");
    assert_eq!(failed.status_code, "STATUS_CODE_ERROR");
    assert!(failed.attr("error.type").is_some(), "{failed:?}");
    let process = child(&spans, failed, "process_standalone");
    let embedding = child(&spans, process, "embedding_generation");
    let genai = child(&spans, embedding, "embeddings text-embedding-3-small");
    let http_client = child(&spans, genai, "POST");
    for (span, error_type) in [
        (process, "AnalysisError"),
        (embedding, "EmbeddingError"),
        (genai, "EmbeddingError"),
        (http_client, "400"),
    ] {
        assert_eq!(span.status_code, "STATUS_CODE_ERROR", "{}", span.name);
        assert_eq!(
            span.attr("error.type").map(untagged_attr),
            Some(error_type),
            "{}",
            span.name
        );
    }
    assert!(
        process.status_message.contains("over the limit of 16"),
        "{process:?}"
    );
    assert!(
        !spans
            .iter()
            .any(|s| s.parent_id == process.span_id && s.name == "clustering_analysis"),
        "the pipeline stops at the failed stage"
    );

    // Metrics: the seed's counters and histogram, the GenAI and FaaS ones.
    let points = collector.wait_for_data_points("the business metrics", RECEIVE_TIMEOUT, |points| {
        points
            .iter()
            .any(|p| p.service_name() == Some(service.as_str()) && p.metric == "text_analysis.errors")
    });
    let points: Vec<_> = points
        .into_iter()
        .filter(|p| p.service_name() == Some(service.as_str()))
        .collect();
    // The layer flushes after every invocation, so each cumulative series arrives
    // several times: the last one counts everything.
    let point = |metric: &str, key: &str, value: &str| {
        points
            .iter()
            .rev()
            .find(|p| p.metric == metric && p.attr(key).map(untagged_attr) == Some(value))
            .unwrap_or_else(|| panic!("{metric} {{{key}={value}}}: {points:#?}"))
    };
    assert_eq!(
        point(
            "text_analysis.requests",
            "text_analysis.request.type",
            "standalone"
        )
        .value
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        point(
            "text_analysis.requests",
            "text_analysis.request.type",
            "comparison"
        )
        .value
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        point("text_analysis.errors", "error.type", "EmbeddingError")
            .value
            .as_deref(),
        Some("1")
    );
    let duration = point("text_analysis.processing.duration", "result", "error");
    assert_eq!((duration.unit.as_str(), duration.count), ("s", Some(1)));
    let tokens = point("gen_ai.client.token.usage", "gen_ai.token.type", "input");
    assert_eq!(tokens.count, Some(3));
    assert_eq!(tokens.bounds.first(), Some(&1.0));
    assert_eq!(
        point("faas.invoke_duration", "faas.trigger", "http").count,
        Some(3)
    );
    assert_eq!(
        point("faas.errors", "faas.trigger", "http").value.as_deref(),
        Some("1")
    );

    // Logs carry the trace and span of the invocation they were written in.
    let logs = collector.wait_for_logs("the handler's log records", RECEIVE_TIMEOUT, |logs| {
        logs.iter()
            .filter(|l| l.service_name() == Some(service.as_str()))
            .count()
            >= 6
    });
    let analysing = logs
        .iter()
        .find(|l| l.service_name() == Some(service.as_str()) && l.trace_id == UPSTREAM_TRACE_ID)
        .expect("a log record in req-1's trace");
    assert_eq!(analysing.span_id, invocation.span_id);
    let failure = logs
        .iter()
        .find(|l| l.service_name() == Some(service.as_str()) && l.severity_text == "ERROR")
        .expect("the failure's log record");
    assert_eq!(failure.trace_id, failed.trace_id);
}

#[test]
fn the_deployment_environment_picks_the_seed_sampling_rates() {
    for (environment, ratio) in [("dev", 1.0), ("staging", 0.5), ("prod", 0.1)] {
        let (config, _) = otel_core::Telemetry::builder()
            .env(|_| None)
            .deployment_environment(environment)
            .resolve()
            .expect("resolve");
        assert_eq!(
            config.sampler,
            SamplerConfig::ParentBasedTraceIdRatio(ratio),
            "{environment}"
        );
    }
}
