//! The content processor: extracts the text of a scraped page, scores it, and indexes
//! it in the search engine over gRPC. It also serves its metrics to Prometheus on
//! `/metrics`, beside its API.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{global, KeyValue};
use otel_core::export::prometheus::PrometheusExporter;
use otel_core::instrumented;
use otel_tower::HttpServerLayer;

use super::proto::{IndexRequest, SearchClient};
use super::scraper::{Document, Processed};
use super::service::{self, WorkQueue};

/// The seed's processor metrics (by content type; the success rate is the share of
/// `processor.outcome` = `extracted`).
struct ProcessorMetrics {
    documents: Counter<u64>,
    duration: Histogram<f64>,
    quality: Histogram<f64>,
}

impl ProcessorMetrics {
    fn new() -> ProcessorMetrics {
        let meter = global::meter("content-processor");
        ProcessorMetrics {
            documents: meter
                .u64_counter("processor.documents.processed")
                .with_unit("{document}")
                .with_description("Documents processed, by content type and outcome")
                .build(),
            duration: meter
                .f64_histogram("processor.processing.duration")
                .with_unit("s")
                .with_description("Time to process a document, by content type")
                .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
                .build(),
            quality: meter
                .f64_histogram("processor.quality.score")
                .with_unit("1")
                .with_description("Extraction quality, from 0 (no usable text) to 1")
                .with_boundaries(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
                .build(),
        }
    }
}

/// A refusal, answered with its status code.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    message: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, self.message).into_response()
    }
}

/// The text of a page without its markup.
#[derive(Debug)]
struct Extracted {
    title: String,
    text: String,
}

/// A page with no text left once its markup is removed.
#[derive(Debug)]
struct NoText;

impl fmt::Display for NoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the page has no text")
    }
}

impl Error for NoText {}

struct Processor {
    search: SearchClient,
    queue: WorkQueue,
    metrics: ProcessorMetrics,
}

impl Processor {
    #[instrumented(skip_all, fields(url.full = document.url.as_str(), content.type = document.content_type.as_str()))]
    async fn process(&self, document: Document) -> Result<Processed, Rejection> {
        let started = Instant::now();
        let content_type = KeyValue::new("content.type", media_type(&document.content_type));
        let outcome = self.extract_and_index(&document).await;
        let result = if outcome.is_ok() { "extracted" } else { "failed" };
        self.metrics.documents.add(
            1,
            &[content_type.clone(), KeyValue::new("processor.outcome", result)],
        );
        self.metrics
            .duration
            .record(started.elapsed().as_secs_f64(), &[content_type]);
        outcome
    }

    async fn extract_and_index(&self, document: &Document) -> Result<Processed, Rejection> {
        let extracted = extract_text(&document.html).map_err(|e| {
            log::warn!("rejected {}: {e}", document.url);
            Rejection {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: format!("{}: {e}", document.url),
            }
        })?;
        let quality = score_quality(&extracted.text);
        self.metrics.quality.record(quality, &[]);
        otel_core::set_attribute(KeyValue::new("processor.quality.score", quality));

        let request = IndexRequest {
            url: document.url.clone(),
            title: extracted.title.clone(),
            text: extracted.text,
        };
        let reply = self.search.index(request).await.map_err(|status| Rejection {
            status: StatusCode::BAD_GATEWAY,
            message: format!("search engine: {}", status.message()),
        })?;
        Ok(Processed {
            title: extracted.title,
            model: reply.model,
            related: reply.related.into_iter().map(|hit| hit.url).collect(),
            answer: reply.answer,
        })
    }
}

/// The title and the visible text of an HTML page (scripts and tags removed).
#[instrumented(skip(html), fields(html.length = html.len() as i64))]
fn extract_text(html: &str) -> Result<Extracted, NoText> {
    let between = |open: &str, close: &str| {
        let start = html.find(open)? + open.len();
        let end = start + html[start..].find(close)?;
        Some(&html[start..end])
    };
    let title = between("<title>", "</title>")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let body = between("<body>", "</body>").unwrap_or_default();
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(NoText);
    }
    Ok(Extracted { title, text })
}

/// A rough quality score: the share of real words, discounted for very short texts.
fn score_quality(text: &str) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return 0.0;
    }
    let real = words
        .iter()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() > 2)
        .count();
    let length = (words.len() as f64 / 20.0).min(1.0);
    (real as f64 / words.len() as f64) * length
}

/// `text/html; charset=utf-8` → `text/html`: a bounded metric attribute.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

async fn documents(
    State(processor): State<Arc<Processor>>,
    Json(document): Json<Document>,
) -> Result<Json<Processed>, Rejection> {
    processor.queue.run(processor.process(document)).await.map(Json)
}

/// Serves `POST /v1/documents` (and `GET /metrics` when `prometheus` is set) until the
/// launcher says stop; indexes into the search engine at `search`.
pub(crate) async fn serve(
    search: &str,
    prometheus: Option<PrometheusExporter>,
    standalone: Option<SocketAddr>,
) -> Result<(), Box<dyn Error>> {
    let (listener, addr) = service::bind().await?;
    let processor = Arc::new(Processor {
        search: SearchClient::new(search).map_err(|e| e.to_string())?,
        queue: WorkQueue::new(1)?,
        metrics: ProcessorMetrics::new(),
    });
    let mut app = Router::new().route("/v1/documents", post(documents));
    let mut metrics_url = service::metrics_url(standalone);
    if let Some(exporter) = prometheus {
        app = app.route("/metrics", get(move || std::future::ready(exporter.response())));
        metrics_url = Some(format!("http://{addr}/metrics"));
    }
    // Scrapes are not requests of the service: no span, no request metrics.
    let app = app
        .with_state(processor)
        .layer(HttpServerLayer::new().filter(|request| request.uri.path() != "/metrics"));
    service::announce(addr, metrics_url);
    axum::serve(listener, app)
        .with_graceful_shutdown(service::stop_requested())
        .await?;
    Ok(())
}
