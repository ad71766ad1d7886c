//! The Grafana dashboard and the alert rules in `dashboards/` use the series names the
//! toolkit really exports: the microservices example runs with Prometheus exposition
//! on every service, each scrape passes `promtool check metrics`, and every metric
//! name in the dashboard's queries, the rules and the rules' unit-test data is one of
//! the scraped series.
//!
//! `harness = false`: this binary is also each service of the example (see
//! `tests/microservices.rs`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use otel_examples::microservices::{self, Launch};

fn main() -> ExitCode {
    microservices::serve_role_or_test(
        "dashboards_and_rules_use_real_series",
        dashboards_and_rules_use_real_series,
    )
}

fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

fn dashboards_and_rules_use_real_series() {
    let launch = Launch::current_exe()
        .expect("test executable")
        .env("OTEL_TRACES_EXPORTER", "console")
        .env("OTEL_METRICS_EXPORTER", "prometheus")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
        .env("OTEL_EXPORTER_PROMETHEUS_PORT", "0");
    let report = microservices::run(&launch).expect("the run completes");
    let scraped: BTreeSet<&str> = report.metrics.iter().map(|(role, _)| role.name()).collect();
    assert_eq!(
        scraped,
        BTreeSet::from(["content-processor", "search-engine", "llm-orchestrator"]),
        "every server announced a /metrics endpoint"
    );

    let mut series = BTreeSet::new();
    for (role, text) in &report.metrics {
        promtool_check_metrics(role.name(), text);
        series.extend(series_names(text));
    }

    let dashboard = dashboards_dir().join("otel-toolkit.json");
    let json: serde_json::Value = serde_json::from_str(&read(&dashboard)).expect("the dashboard is JSON");
    assert_eq!(json["uid"], "otel-toolkit");
    let mut exprs = Vec::new();
    collect_exprs(&json, &mut exprs);
    assert!(exprs.len() >= 20, "{exprs:?}");
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    for family in [
        "http_server_request_duration_seconds_bucket",
        "http_client_request_duration_seconds_bucket",
        "rpc_server_call_duration_seconds_bucket",
        "function_calls_total",
        "gen_ai_client_token_usage_sum",
        "process_memory_usage_bytes",
        "otel_sdk_processor_span_processed_total",
    ] {
        assert!(used.contains(family), "the dashboard does not chart {family}");
    }
    assert_real(&used, &series, "the dashboard");

    let rules = read(&dashboards_dir().join("otel-toolkit.rules.yml"));
    let rule_names: BTreeSet<String> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr:"))
        .flat_map(metric_names)
        .collect();
    assert!(rule_names.len() >= 6, "{rule_names:?}");
    assert_real(&rule_names, &series, "the alert rules");

    let tests = read(&dashboards_dir().join("tests/otel-toolkit.test.yml"));
    let test_names: BTreeSet<String> = tests
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- series: '"))
        .filter_map(|series| series.split('{').next())
        .map(str::to_owned)
        .collect();
    assert_real(&test_names, &series, "the rules' unit tests");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every name in `used` is a series some service exposed.
fn assert_real(used: &BTreeSet<String>, series: &BTreeSet<String>, what: &str) {
    let unknown: Vec<_> = used.difference(series).collect();
    assert!(
        unknown.is_empty(),
        "{what} use series no service exposes: {unknown:?}\nexposed: {series:#?}"
    );
}

/// Pipes a scrape into `promtool check metrics` (the exposition parser and linter of
/// Prometheus itself).
fn promtool_check_metrics(service: &str, text: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run promtool ({e}): install Prometheus's promtool \
             (Debian/Ubuntu: apt-get install prometheus; .ci/run does it)"
        ),
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Exit 1: the exposition does not parse. Exit 3: it parses, with lint problems.
    // The only accepted lint is Prometheus's naming advice against `_count` on a gauge:
    // the semantic conventions name these process.thread.count and
    // process.unix.file_descriptor.count, and the OpenTelemetry Prometheus mapping keeps
    // the name, so the series are the same whether scraped or sent over OTLP.
    let accepted = [
        "process_thread_count non-histogram and non-summary metrics should not have \"_count\" suffix",
        "process_unix_file_descriptor_count non-histogram and non-summary metrics should not have \"_count\" suffix",
    ];
    let lints: Vec<&str> = report.lines().filter(|line| !accepted.contains(line)).collect();
    assert!(
        output.status.success() || (output.status.code() == Some(3) && lints.is_empty()),
        "promtool check metrics rejects the scrape of {service} ({}):\n{}\n--- scrape ---\n{text}",
        output.status,
        lints.join("\n"),
    );
}

/// The series names of an exposition: each family, and a histogram's three series.
fn series_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            names.insert(name.to_owned());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    names
}

/// Every `expr` (panel targets) and `query.query` (template variables) of a dashboard.
fn collect_exprs(value: &serde_json::Value, exprs: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query" | "definition", serde_json::Value::String(expr))
                        if expr.contains('_') =>
                    {
                        exprs.push(expr.clone())
                    }
                    _ => collect_exprs(value, exprs),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_exprs(item, exprs)),
        _ => {}
    }
}

/// The metric names a PromQL expression reads: identifiers that are not functions,
/// keywords, label names (inside `{..}` or `by (..)`), strings, numbers or ranges.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Operators, and the aggregations, which may come before their `by (..)`.
    const KEYWORDS: [&str; 17] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    const GROUPING: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to = |from: usize, close: char| {
        let mut j = from + 1;
        while j < chars.len() && chars[j] != close {
            // Quoted strings may hold the closing character.
            if chars[j] == '"' {
                j += 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
            }
            j += 1;
        }
        j + 1
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => i = skip_to(i, '}'),
            '[' => i = skip_to(i, ']'),
            '"' => i = skip_to(i, '"'),
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':' | '$'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next] == ' ' {
                    next += 1;
                }
                let called = chars.get(next) == Some(&'(');
                if GROUPING.contains(&word.as_str()) && called {
                    i = skip_to(next, ')');
                } else if word == "label_values" && called {
                    // label_values(metric, label): only the first argument is a metric.
                    let end = skip_to(next, ')');
                    let args: String = chars[next + 1..end - 1].iter().collect();
                    names.extend(args.split(',').next().map(|metric| metric.trim().to_owned()));
                    i = end;
                } else if !called && !word.starts_with('$') && !KEYWORDS.contains(&word.as_str()) {
                    names.insert(word);
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}
