//! What a run produced: one line per scraped page, what each service printed, and the
//! Prometheus scrapes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Role;

/// What happened to one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fetched, processed, indexed and summarised.
    Indexed,
    /// Already scraped: answered from the scraper's cache.
    Cached,
    /// robots.txt forbids it.
    Disallowed,
    /// A hop failed (the page, the processor or a service behind it).
    Failed,
}

impl Outcome {
    /// The value of the `scrape.outcome` metric attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Indexed => "indexed",
            Outcome::Cached => "cached",
            Outcome::Disallowed => "disallowed",
            Outcome::Failed => "failed",
        }
    }
}

/// One URL of the crawl, as the scraper reports it to the launcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageReport {
    /// The page's path on the crawled site.
    pub path: String,
    /// What happened.
    pub outcome: Outcome,
    /// The trace of this page, to look up in a trace viewer.
    pub trace_id: String,
    /// The model that summarised it.
    pub model: Option<String>,
    /// Related pages the search engine found.
    pub related: Vec<String>,
    /// The summary.
    pub answer: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// One service process.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    /// Which service.
    pub role: Role,
    /// The `service.name` it reported under.
    pub service_name: String,
    /// What it printed on stderr: its console waterfalls and metrics, or warnings.
    pub output: String,
    /// Whether it exited successfully in time.
    pub success: bool,
}

/// The result of [`run`](super::run).
#[derive(Debug, Clone)]
pub struct Report {
    /// Each crawled URL, in crawl order.
    pub pages: Vec<PageReport>,
    /// Each service, in start order.
    pub services: Vec<ServiceRun>,
    /// The Prometheus exposition of each service that served one, scraped just before
    /// the services stopped.
    pub metrics: Vec<(Role, String)>,
}

impl ServiceRun {
    /// The waterfall this service drew for `trace_id` on its console, if it drew one.
    pub fn waterfall(&self, trace_id: &str) -> Option<&str> {
        self.output
            .split("\n\n")
            .map(str::trim_start)
            .find(|block| block.starts_with(&format!("trace {trace_id} ")))
    }
}

/// The first indexed page's trace as each service drew it (the console exporter keeps
/// its lines within 80 columns; every service's full output is in
/// [`ServiceRun::output`]), the crawl, and the Prometheus scrapes.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.pages.iter().find(|page| page.outcome == Outcome::Indexed);
        for (service, page) in self.services.iter().rev().filter_map(|s| shown.map(|p| (s, p))) {
            if let Some(waterfall) = service.waterfall(&page.trace_id) {
                writeln!(f, "{waterfall}")?;
                writeln!(f)?;
            }
        }
        writeln!(
            f,
            "{:<15} {:<10} {:<12} {:<7} trace",
            "page", "outcome", "model", "related"
        )?;
        for page in &self.pages {
            writeln!(
                f,
                "{:<15} {:<10} {:<12} {:<7} {}",
                page.path,
                page.outcome.as_str(),
                page.model.as_deref().unwrap_or("-"),
                page.related.len(),
                page.trace_id.get(..16).unwrap_or(&page.trace_id),
            )?;
            if let Some(error) = &page.error {
                writeln!(f, "  {}", clip(error, 78))?;
            }
        }
        for (role, text) in &self.metrics {
            let series = text.lines().filter(|line| !line.starts_with('#')).count();
            writeln!(f, "\n{} /metrics: {series} series, among them", role.name())?;
            for line in text.lines().filter(|line| is_highlight(line)) {
                // Cut the labels, not the value, when the line is too long.
                let line = without_scope_labels(line);
                let (series, value) = line.rsplit_once(' ').unwrap_or((&line, ""));
                let width = 77usize.saturating_sub(value.chars().count());
                writeln!(f, "  {} {value}", clip(series, width))?;
            }
        }
        for service in self.services.iter().filter(|s| !s.success) {
            writeln!(
                f,
                "\n{} did not stop cleanly; its last lines:",
                service.service_name
            )?;
            let lines: Vec<&str> = service.output.lines().collect();
            for line in &lines[lines.len().saturating_sub(20)..] {
                writeln!(f, "  {}", clip(line, 78))?;
            }
        }
        Ok(())
    }
}

/// A few series of the service's own metrics, for the summary.
fn is_highlight(line: &str) -> bool {
    [
        "processor_quality_score_count",
        "processor_quality_score_sum",
        "service_queue_length",
        "process_memory_usage_bytes",
        "process_cpu_time_seconds_total",
        "otel_sdk_exporter_span_exported_total",
    ]
    .iter()
    .any(|name| line.starts_with(name))
}

/// The series without its `otel_scope_*` labels, which only say which library
/// recorded it: shorter, to fit the width.
fn without_scope_labels(line: &str) -> String {
    let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) else {
        return line.to_owned();
    };
    let labels: Vec<&str> = line[open + 1..close]
        .split(',')
        .filter(|label| !label.starts_with("otel_scope_"))
        .collect();
    match labels.is_empty() {
        true => format!("{}{}", &line[..open], &line[close + 1..]),
        false => format!("{}{{{}}}{}", &line[..open], labels.join(","), &line[close + 1..]),
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}
