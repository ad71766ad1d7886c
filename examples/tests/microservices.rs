//! The microservices example, run as it runs for users (four processes, each with its
//! own `service.name`), exporting over OTLP to a real collector: one trace per page
//! crosses all four services with unbroken parent links, failures carry error status,
//! and every service sends its standard and its own metrics.
//!
//! `harness = false`: this binary is also each service. When the launcher starts it
//! with `MICROSERVICES_ROLE` set, `main` serves that role instead of testing.

use std::collections::BTreeSet;
use std::process::ExitCode;

use otel_examples::microservices::{self, Launch, Outcome, Report, Role};
use otel_tests::parse::untagged;
use otel_tests::{unique_service_name, Collector, ReceivedDataPoint, ReceivedSpan, RECEIVE_TIMEOUT};

fn main() -> ExitCode {
    microservices::serve_role_or_test("one_trace_across_four_services", one_trace_across_four_services)
}

fn one_trace_across_four_services() {
    let collector = Collector::start();
    let prefix = unique_service_name("ms");
    let launch = Launch::current_exe()
        .expect("test executable")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint())
        .env("OTEL_SERVICE_NAME", &prefix);
    let report = microservices::run(&launch).expect("the run completes");
    let name = |role: Role| format!("{prefix}-{}", role.name());

    check_report(&report, &name);
    let indexed = &report.pages[0];
    let trace_of = |path: &str| {
        let page = report.pages.iter().find(|p| p.path == path);
        page.map(|p| p.trace_id.clone()).unwrap_or_default()
    };
    let (missing, empty) = (trace_of("/docs/missing"), trace_of("/docs/empty"));
    let spans = collector.wait_for_spans(
        "the first page's and the failed pages' spans",
        RECEIVE_TIMEOUT,
        |spans| {
            let count = |trace: &str| spans.iter().filter(|s| s.trace_id == trace).count();
            // The failed pages: five spans in the scraper; for /docs/empty two more there
            // and three in the processor.
            count(&indexed.trace_id) == 22 && count(&missing) == 5 && count(&empty) == 10
        },
    );
    let services: BTreeSet<_> = spans
        .iter()
        .filter(|s| s.trace_id == indexed.trace_id)
        .filter_map(ReceivedSpan::service_name)
        .collect();
    assert_eq!(services.len(), 4, "one trace, four services: {services:?}");
    check_indexed_trace(&spans, &indexed.trace_id, &name);
    check_failures(&spans, &report, &name);

    // Metrics are sent when each service stops: all of them by now, or soon.
    let points = collector.wait_for_data_points("every service's metrics", RECEIVE_TIMEOUT, |points| {
        Role::START_ORDER.iter().all(|role| {
            points
                .iter()
                .any(|p| p.metric == "service.queue.length" && p.service_name() == Some(&name(*role)))
        })
    });
    check_metrics(&points, &name);
    check_logs(&collector, &report, &name);
}

/// The warnings the scraper and the processor log on failures arrive as log records
/// inside the failing page's trace.
fn check_logs(collector: &Collector, report: &Report, name: &dyn Fn(Role) -> String) {
    let empty = report
        .pages
        .iter()
        .find(|p| p.path == "/docs/empty")
        .expect("crawled");
    let logs = collector.wait_for_logs("the warnings about /docs/empty", RECEIVE_TIMEOUT, |logs| {
        logs.iter().filter(|l| l.trace_id == empty.trace_id).count() == 2
    });
    let processor = logs
        .iter()
        .find(|l| l.trace_id == empty.trace_id && l.service_name() == Some(name(Role::Processor).as_str()))
        .expect("the processor's warning");
    assert_eq!(processor.severity_text, "WARN");
    assert!(processor.body.contains("the page has no text"), "{processor:#?}");
    assert_eq!(processor.span_id.len(), 16, "{processor:#?}");
    let scraper = logs
        .iter()
        .find(|l| l.trace_id == empty.trace_id && l.service_name() == Some(name(Role::Scraper).as_str()))
        .expect("the scraper's warning");
    assert!(
        scraper.body.contains("scrape of /docs/empty failed"),
        "{scraper:#?}"
    );
}

/// The crawl went as planned, every service stopped cleanly, and the content processor
/// answered a Prometheus scrape.
fn check_report(report: &Report, name: &dyn Fn(Role) -> String) {
    let outcomes: Vec<_> = report
        .pages
        .iter()
        .map(|p| (p.path.as_str(), p.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("/docs/tracing", Outcome::Indexed),
            ("/docs/metrics", Outcome::Indexed),
            ("/docs/logs", Outcome::Indexed),
            ("/private/admin", Outcome::Disallowed),
            ("/docs/missing", Outcome::Failed),
            ("/docs/empty", Outcome::Failed),
            ("/docs/tracing", Outcome::Cached),
        ],
        "{report}"
    );
    for page in &report.pages {
        assert_eq!(page.trace_id.len(), 32, "{page:?}");
        if page.outcome == Outcome::Indexed {
            let answer = page.answer.as_deref().unwrap_or_default();
            assert!(answer.starts_with("In short: "), "{page:?}");
            assert!(
                page.model.as_deref().is_some_and(|m| m.starts_with("gpt-4o")),
                "{page:?}"
            );
        }
    }
    let distinct: BTreeSet<_> = report.pages.iter().map(|p| &p.trace_id).collect();
    assert_eq!(distinct.len(), report.pages.len(), "one trace per page");
    for service in &report.services {
        assert!(
            service.success,
            "{} did not stop cleanly:\n{}",
            service.service_name, service.output
        );
        assert_eq!(service.service_name, name(service.role));
    }

    let (role, text) = report
        .metrics
        .iter()
        .find(|(role, _)| *role == Role::Processor)
        .expect("the content processor serves /metrics");
    assert_eq!(*role, Role::Processor);
    for expected in [
        "processor_documents_processed_total{content_type=\"text/html\",processor_outcome=\"extracted\",otel_scope_name=\"content-processor\"} 3\n",
        "processor_documents_processed_total{content_type=\"text/html\",processor_outcome=\"failed\",otel_scope_name=\"content-processor\"} 1\n",
        "# TYPE http_server_request_duration_seconds histogram\n",
        "# TYPE process_memory_usage_bytes gauge\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the scrape:\n{text}");
    }
}

/// The spans of one trace, by name and service, each found exactly once.
struct Trace<'a> {
    spans: Vec<&'a ReceivedSpan>,
}

impl<'a> Trace<'a> {
    fn new(spans: &'a [ReceivedSpan], trace_id: &str) -> Trace<'a> {
        Trace {
            spans: spans.iter().filter(|s| s.trace_id == trace_id).collect(),
        }
    }

    fn one(&self, service: &str, name: &str, kind: &str) -> &'a ReceivedSpan {
        let found: Vec<_> = self
            .spans
            .iter()
            .filter(|s| s.service_name() == Some(service) && s.name == name && s.kind == kind)
            .collect();
        assert_eq!(found.len(), 1, "{service} {name} {kind}: {:#?}", self.spans);
        found[0]
    }

    /// The span's parent in the same trace.
    fn parent(&self, span: &ReceivedSpan) -> &'a ReceivedSpan {
        self.spans
            .iter()
            .find(|s| s.span_id == span.parent_id)
            .unwrap_or_else(|| panic!("{} has no parent in the trace: {span:#?}", span.name))
    }

    fn assert_child(&self, child: &ReceivedSpan, parent: &ReceivedSpan) {
        assert_eq!(
            child.parent_id, parent.span_id,
            "{} should be a child of {}",
            child.name, parent.name
        );
    }
}

/// scraper → content-processor (HTTP) → search-engine (gRPC) → llm-orchestrator
/// (HTTP) → LLM API (GenAI client span), every link a parent link.
fn check_indexed_trace(spans: &[ReceivedSpan], trace_id: &str, name: &dyn Fn(Role) -> String) {
    let trace = Trace::new(spans, trace_id);
    let (scraper, processor, search, orchestrator) = (
        name(Role::Scraper),
        name(Role::Processor),
        name(Role::Search),
        name(Role::Orchestrator),
    );

    let roots: Vec<_> = trace.spans.iter().filter(|s| s.parent_id.is_empty()).collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    let root = trace.one(&scraper, "scrape_url", "SPAN_KIND_INTERNAL");
    assert_eq!(roots[0].span_id, root.span_id);
    assert_eq!(root.attr("robots.allowed"), Some("Bool(true)"));
    assert_eq!(root.attr("content.type"), Some("Str(text/html; charset=utf-8)"));
    assert_eq!(root.attr("user_agent.original"), Some("Str(docbot/1.0)"));
    assert!(root.attr("content.size").is_some(), "{root:#?}");
    for span in &trace.spans {
        if !span.parent_id.is_empty() {
            trace.parent(span);
        }
        assert_ne!(span.status_code, "STATUS_CODE_ERROR", "{span:#?}");
    }
    for child in ["check_robots", "fetch_content", "submit"] {
        trace.assert_child(trace.one(&scraper, child, "SPAN_KIND_INTERNAL"), root);
    }

    // HTTP: the scraper's client span is the parent of the processor's server span.
    let submit = trace.one(&scraper, "submit", "SPAN_KIND_INTERNAL");
    let post = trace.one(&scraper, "POST", "SPAN_KIND_CLIENT");
    trace.assert_child(post, submit);
    let documents = trace.one(&processor, "POST /v1/documents", "SPAN_KIND_SERVER");
    trace.assert_child(documents, post);
    assert_eq!(documents.attr("http.route"), Some("Str(/v1/documents)"));
    assert_eq!(documents.attr("http.response.status_code"), Some("Int(200)"));
    let process = trace.one(&processor, "process", "SPAN_KIND_INTERNAL");
    trace.assert_child(process, documents);
    trace.assert_child(
        trace.one(&processor, "extract_text", "SPAN_KIND_INTERNAL"),
        process,
    );

    // gRPC: the processor's RPC client span is the parent of the search engine's.
    let rpc = "search.SearchEngine/Index";
    let rpc_client = trace.one(&processor, rpc, "SPAN_KIND_CLIENT");
    trace.assert_child(rpc_client, process);
    assert_eq!(rpc_client.attr("rpc.system.name"), Some("Str(grpc)"));
    let rpc_server = trace.one(&search, rpc, "SPAN_KIND_SERVER");
    trace.assert_child(rpc_server, rpc_client);
    assert_eq!(rpc_server.attr("rpc.response.status_code"), Some("Str(OK)"));
    let index = trace.one(&search, "index", "SPAN_KIND_INTERNAL");
    trace.assert_child(index, rpc_server);
    for child in ["embed", "find_related", "summarise"] {
        trace.assert_child(trace.one(&search, child, "SPAN_KIND_INTERNAL"), index);
    }

    // HTTP again, into the orchestrator, then the GenAI client span.
    let summarise = trace.one(&search, "summarise", "SPAN_KIND_INTERNAL");
    let ask = trace.one(&search, "POST", "SPAN_KIND_CLIENT");
    trace.assert_child(ask, summarise);
    let answer_server = trace.one(&orchestrator, "POST /v1/answer", "SPAN_KIND_SERVER");
    trace.assert_child(answer_server, ask);
    let answer = trace.one(&orchestrator, "answer", "SPAN_KIND_INTERNAL");
    trace.assert_child(answer, answer_server);
    let chat = trace
        .spans
        .iter()
        .find(|s| s.name.starts_with("chat gpt-4o"))
        .unwrap_or_else(|| panic!("no chat span: {:#?}", trace.spans));
    trace.assert_child(chat, answer);
    assert_eq!(chat.kind, "SPAN_KIND_CLIENT");
    assert_eq!(chat.attr("gen_ai.operation.name"), Some("Str(chat)"));
    assert_eq!(chat.attr("gen_ai.provider.name"), Some("Str(openai)"));
    for usage in ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"] {
        let tokens: u64 = untagged(chat.attr(usage).unwrap_or_default())
            .parse()
            .unwrap_or(0);
        assert!(tokens > 0, "{usage}: {chat:#?}");
    }
    let llm_call = trace.one(&orchestrator, "POST", "SPAN_KIND_CLIENT");
    trace.assert_child(llm_call, chat);
    assert_eq!(trace.spans.len(), 22, "{:#?}", trace.spans);
}

/// A missing page fails in the scraper; a page without text fails in the processor,
/// and the error shows on both sides of that hop.
fn check_failures(spans: &[ReceivedSpan], report: &Report, name: &dyn Fn(Role) -> String) {
    let trace_of = |path: &str| {
        let page = report.pages.iter().find(|p| p.path == path).expect("crawled");
        Trace::new(spans, &page.trace_id)
    };
    let scraper = name(Role::Scraper);

    let missing = trace_of("/docs/missing");
    let root = missing.one(&scraper, "scrape_url", "SPAN_KIND_INTERNAL");
    assert_eq!(root.status_code, "STATUS_CODE_ERROR", "{root:#?}");
    assert_eq!(root.attr("error.type"), Some("Str(ScrapeError)"));
    let fetch = missing.one(&scraper, "fetch_content", "SPAN_KIND_INTERNAL");
    assert_eq!(fetch.status_code, "STATUS_CODE_ERROR");
    let get = missing
        .spans
        .iter()
        .find(|s| s.kind == "SPAN_KIND_CLIENT" && s.parent_id == fetch.span_id)
        .expect("the page GET");
    assert_eq!(get.attr("http.response.status_code"), Some("Int(404)"));
    assert_eq!(get.status_code, "STATUS_CODE_ERROR");

    // Spans of the processor arrive with its shutdown; wait for them if need be.
    let empty = trace_of("/docs/empty");
    let extract = empty
        .spans
        .iter()
        .find(|s| s.name == "extract_text")
        .unwrap_or_else(|| panic!("extract_text of /docs/empty: {:#?}", empty.spans));
    assert_eq!(extract.service_name(), Some(name(Role::Processor).as_str()));
    assert_eq!(extract.status_code, "STATUS_CODE_ERROR");
    assert_eq!(extract.attr("error.type"), Some("Str(NoText)"));
    let server = empty.one(&name(Role::Processor), "POST /v1/documents", "SPAN_KIND_SERVER");
    assert_eq!(server.attr("http.response.status_code"), Some("Int(422)"));
    // A 4xx is the client's fault: an error on the client span only (HTTP conventions).
    assert_eq!(server.status_code, "STATUS_CODE_UNSET");
    let client = empty.one(&scraper, "POST", "SPAN_KIND_CLIENT");
    assert_eq!(client.status_code, "STATUS_CODE_ERROR");
    empty.assert_child(server, client);
    assert!(
        !empty
            .spans
            .iter()
            .any(|s| s.service_name() == Some(name(Role::Search).as_str())),
        "nothing indexed"
    );

    let disallowed = trace_of("/private/admin");
    let root = disallowed.one(&scraper, "scrape_url", "SPAN_KIND_INTERNAL");
    assert_eq!(root.attr("robots.allowed"), Some("Bool(false)"));
    assert!(disallowed.spans.iter().all(|s| s.name != "fetch_content"));
}

/// Sum of a metric's values (or histogram counts) for one service, filtered by
/// attribute.
fn total(points: &[ReceivedDataPoint], service: &str, metric: &str, attrs: &[(&str, &str)]) -> f64 {
    points
        .iter()
        .filter(|p| p.metric == metric && p.service_name() == Some(service))
        .filter(|p| attrs.iter().all(|(k, v)| p.attr(k) == Some(*v)))
        .map(|p| match (p.count, p.value.as_deref()) {
            (Some(count), _) => count as f64,
            (None, Some(value)) => value.parse().unwrap_or(0.0),
            _ => 0.0,
        })
        .sum()
}

/// The standard metrics on every service, and each one's own.
fn check_metrics(points: &[ReceivedDataPoint], name: &dyn Fn(Role) -> String) {
    let has = |role: Role, metric: &str| {
        let service = name(role);
        assert!(
            points
                .iter()
                .any(|p| p.metric == metric && p.service_name() == Some(&service)),
            "{service} did not send {metric}"
        );
    };
    for role in Role::START_ORDER {
        for metric in [
            "service.queue.length",
            "process.memory.usage",
            "process.cpu.time",
            "process.cpu.utilization",
            "function.calls",
            "function.duration",
        ] {
            has(role, metric);
        }
    }

    // Request count, duration and errors: the layers' histograms (count = requests).
    let processor = name(Role::Processor);
    let requests = "http.server.request.duration";
    assert_eq!(
        total(
            points,
            &processor,
            requests,
            &[("http.response.status_code", "Int(200)")]
        ),
        3.0
    );
    assert_eq!(
        total(
            points,
            &processor,
            requests,
            &[("http.response.status_code", "Int(422)")]
        ),
        1.0
    );
    assert_eq!(
        total(
            points,
            &processor,
            "function.calls",
            &[("result", "Str(error)"), ("error.type", "Str(NoText)")]
        ),
        1.0
    );
    let search = name(Role::Search);
    assert_eq!(
        total(
            points,
            &search,
            "rpc.server.call.duration",
            &[("rpc.response.status_code", "Str(OK)")]
        ),
        3.0
    );
    let orchestrator = name(Role::Orchestrator);
    assert_eq!(total(points, &orchestrator, requests, &[]), 3.0);

    // The seed's service-specific metrics.
    let scraper = name(Role::Scraper);
    let expected = [
        ((scraper.as_str(), "scraper.urls.processed", vec![]), 7.0),
        (
            (
                scraper.as_str(),
                "scraper.urls.processed",
                vec![("scrape.outcome", "Str(indexed)")],
            ),
            3.0,
        ),
        (
            (
                scraper.as_str(),
                "scraper.cache.lookups",
                vec![("cache.hit", "Bool(true)")],
            ),
            1.0,
        ),
        (
            (
                scraper.as_str(),
                "scraper.cache.lookups",
                vec![("cache.hit", "Bool(false)")],
            ),
            5.0,
        ),
        (
            (
                scraper.as_str(),
                "scraper.robots.checks",
                vec![("robots.allowed", "Bool(false)")],
            ),
            1.0,
        ),
        (
            (
                scraper.as_str(),
                "http.client.request.duration",
                vec![("http.response.status_code", "Int(404)")],
            ),
            1.0,
        ),
        (
            (
                processor.as_str(),
                "processor.documents.processed",
                vec![("processor.outcome", "Str(extracted)")],
            ),
            3.0,
        ),
        (
            (
                processor.as_str(),
                "processor.documents.processed",
                vec![("processor.outcome", "Str(failed)")],
            ),
            1.0,
        ),
        (
            (
                processor.as_str(),
                "processor.processing.duration",
                vec![("content.type", "Str(text/html)")],
            ),
            4.0,
        ),
        ((processor.as_str(), "processor.quality.score", vec![]), 3.0),
        (
            (
                search.as_str(),
                "search.queries.processed",
                vec![("search.query.type", "Str(similar)")],
            ),
            3.0,
        ),
        ((search.as_str(), "search.latency", vec![]), 3.0),
        ((search.as_str(), "search.result.count", vec![]), 3.0),
        ((search.as_str(), "search.index.size", vec![]), 3.0),
        (
            (
                search.as_str(),
                "vector.operations",
                vec![("vector.operation", "Str(upsert)")],
            ),
            3.0,
        ),
        ((orchestrator.as_str(), "llm.model.selection", vec![]), 3.0),
        (
            (orchestrator.as_str(), "gen_ai.client.operation.duration", vec![]),
            3.0,
        ),
        (
            (
                orchestrator.as_str(),
                "gen_ai.client.token.usage",
                vec![("gen_ai.token.type", "Str(input)")],
            ),
            3.0,
        ),
        (
            (
                orchestrator.as_str(),
                "gen_ai.client.token.usage",
                vec![("gen_ai.token.type", "Str(output)")],
            ),
            3.0,
        ),
    ];
    for ((service, metric, attrs), want) in &expected {
        assert_eq!(
            total(points, service, metric, attrs),
            *want,
            "{service} {metric} {attrs:?}"
        );
    }
}
