//! The web scraper: for each URL, checks robots.txt, fetches the page (or takes it
//! from its cache) and sends it to the content processor. Each URL is a trace of its
//! own whose root is `scrape_url`.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::metrics::Counter;
use opentelemetry::{global, KeyValue};
use otel_core::instrumented;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::report::{Outcome, PageReport};
use super::service::{self, WorkQueue};

const USER_AGENT: &str = "docbot/1.0";

/// The crawl: three pages, one robots.txt forbids, one missing, one without text, then
/// the first page again (a cache hit).
const CRAWL: [&str; 6] = [
    "/docs/tracing",
    "/docs/metrics",
    "/docs/logs",
    "/private/admin",
    "/docs/missing",
    "/docs/empty",
];
const RECRAWL: &str = "/docs/tracing";

/// A page sent to the content processor.
#[derive(Serialize, Deserialize)]
pub(crate) struct Document {
    pub url: String,
    pub html: String,
    pub content_type: String,
}

/// What the content processor answers for a document.
#[derive(Serialize, Deserialize)]
pub(crate) struct Processed {
    pub title: String,
    pub model: String,
    pub related: Vec<String>,
    pub answer: String,
}

/// The seed's scraper metrics that no layer records (fetch time is the HTTP client's
/// `http.client.request.duration`).
struct ScraperMetrics {
    urls: Counter<u64>,
    cache: Counter<u64>,
    robots: Counter<u64>,
}

impl ScraperMetrics {
    fn new() -> ScraperMetrics {
        let meter = global::meter("scraper");
        ScraperMetrics {
            urls: meter
                .u64_counter("scraper.urls.processed")
                .with_unit("{url}")
                .with_description("URLs processed, by outcome")
                .build(),
            cache: meter
                .u64_counter("scraper.cache.lookups")
                .with_unit("{lookup}")
                .with_description("Page cache lookups; cache.hit tells hits from misses")
                .build(),
            robots: meter
                .u64_counter("scraper.robots.checks")
                .with_unit("{check}")
                .with_description("robots.txt checks; robots.allowed tells the compliance result")
                .build(),
        }
    }
}

/// Why a URL failed; carries its trace so the failure can be looked up.
#[derive(Debug)]
struct ScrapeError {
    trace_id: String,
    reason: String,
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Error for ScrapeError {}

struct Page {
    html: String,
    content_type: String,
}

struct Scraper {
    http: ClientWithMiddleware,
    site: String,
    processor: String,
    cache: Mutex<HashMap<String, Arc<Page>>>,
    metrics: ScraperMetrics,
}

impl Scraper {
    /// One URL, as its own trace. The result is the report line; errors set the span's
    /// status and are counted by `function.calls`.
    #[instrumented(skip(self), fields(url.full = format!("{}{path}", self.site), user_agent.original = USER_AGENT))]
    async fn scrape_url(&self, path: &str) -> Result<PageReport, ScrapeError> {
        let url = format!("{}{path}", self.site);
        let trace_id = otel_core::current_trace_id().unwrap_or_default();
        let fail = |reason: String| {
            log::warn!("scrape of {path} failed: {reason}");
            ScrapeError {
                trace_id: trace_id.clone(),
                reason,
            }
        };
        let mut report = PageReport {
            path: path.to_owned(),
            outcome: Outcome::Disallowed,
            trace_id: trace_id.clone(),
            model: None,
            related: Vec::new(),
            answer: None,
            error: None,
        };

        let allowed = self.check_robots(path).await.map_err(fail)?;
        otel_core::set_attribute(KeyValue::new("robots.allowed", allowed));
        if !allowed {
            return Ok(report);
        }

        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&url)
            .cloned();
        self.metrics
            .cache
            .add(1, &[KeyValue::new("cache.hit", cached.is_some())]);
        if cached.is_some() {
            report.outcome = Outcome::Cached;
            return Ok(report);
        }
        let page = Arc::new(self.fetch_content(&url).await.map_err(fail)?);
        otel_core::set_attribute(KeyValue::new("content.size", page.html.len() as i64));
        otel_core::set_attribute(KeyValue::new("content.type", page.content_type.clone()));
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.clone(), Arc::clone(&page));

        let processed = self.submit(&url, &page).await.map_err(fail)?;
        report.outcome = Outcome::Indexed;
        report.model = Some(processed.model);
        report.related = processed.related;
        report.answer = Some(processed.answer);
        Ok(report)
    }

    /// Whether robots.txt lets us fetch `path`.
    #[instrumented(skip(self))]
    async fn check_robots(&self, path: &str) -> Result<bool, String> {
        let response = self
            .http
            .get(format!("{}/robots.txt", self.site))
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .send()
            .await
            .map_err(|e| format!("robots.txt unreachable: {e}"))?;
        let rules = response
            .text()
            .await
            .map_err(|e| format!("robots.txt unreadable: {e}"))?;
        let allowed = !rules
            .lines()
            .filter_map(|line| line.strip_prefix("Disallow:"))
            .map(str::trim)
            .any(|prefix| !prefix.is_empty() && path.starts_with(prefix));
        self.metrics
            .robots
            .add(1, &[KeyValue::new("robots.allowed", allowed)]);
        Ok(allowed)
    }

    /// GETs the page; anything but 200 is an error.
    #[instrumented(skip(self))]
    async fn fetch_content(&self, url: &str) -> Result<Page, String> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .send()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("fetch failed: {url} answered {status}"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let html = response.text().await.map_err(|e| format!("fetch failed: {e}"))?;
        Ok(Page { html, content_type })
    }

    /// POSTs the page to the content processor (the trace continues there).
    #[instrumented(skip(self, page))]
    async fn submit(&self, url: &str, page: &Page) -> Result<Processed, String> {
        let document = Document {
            url: url.to_owned(),
            html: page.html.clone(),
            content_type: page.content_type.clone(),
        };
        let response = self
            .http
            .post(format!("{}/v1/documents", self.processor))
            .json(&document)
            .send()
            .await
            .map_err(|e| format!("content processor unreachable: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            let message = response.text().await.unwrap_or_default();
            return Err(format!("content processor answered {status}: {message}"));
        }
        response
            .json()
            .await
            .map_err(|e| format!("content processor answered garbage: {e}"))
    }
}

/// Crawls the local site, sending pages to the content processor at `processor`, and
/// prints one `RESULT` line per URL for the launcher.
pub(crate) async fn run(processor: &str) -> Result<(), Box<dyn Error>> {
    let (listener, site) = service::bind().await?;
    super::web::spawn(listener);
    let scraper = Arc::new(Scraper {
        http: service::http_client(),
        site: format!("http://{site}"),
        processor: processor.to_owned(),
        cache: Mutex::new(HashMap::new()),
        metrics: ScraperMetrics::new(),
    });
    // The crawl frontier: two pages at a time, the rest wait in the queue.
    let frontier = WorkQueue::new(2)?;

    let mut reports = crawl(&scraper, &frontier, &CRAWL).await?;
    reports.extend(crawl(&scraper, &frontier, &[RECRAWL]).await?);
    for report in reports {
        println!("RESULT {}", serde_json::to_string(&report)?);
    }
    Ok(())
}

async fn crawl(
    scraper: &Arc<Scraper>,
    frontier: &WorkQueue,
    paths: &[&'static str],
) -> Result<Vec<PageReport>, Box<dyn Error>> {
    let mut tasks = JoinSet::new();
    for (order, path) in paths.iter().copied().enumerate() {
        let (scraper, frontier) = (Arc::clone(scraper), frontier.clone());
        tasks.spawn(async move {
            let report = match frontier.run(scraper.scrape_url(path)).await {
                Ok(report) => report,
                Err(e) => PageReport {
                    path: path.to_owned(),
                    outcome: Outcome::Failed,
                    trace_id: e.trace_id.clone(),
                    model: None,
                    related: Vec::new(),
                    answer: None,
                    error: Some(e.reason),
                },
            };
            let outcome = KeyValue::new("scrape.outcome", report.outcome.as_str());
            scraper.metrics.urls.add(1, &[outcome]);
            (order, report)
        });
    }
    let mut reports = tasks.join_all().await;
    reports.sort_by_key(|(order, _)| *order);
    Ok(reports.into_iter().map(|(_, report)| report).collect())
}
