//! The web the scraper crawls: a small site on 127.0.0.1 with a robots.txt, a few
//! documentation pages, one page with no text and one missing page. It stands for the
//! outside world, so it is not instrumented: only the scraper's client spans see it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const ROBOTS: &str = "User-agent: *\nDisallow: /private/\n";

const PAGES: [(&str, &str, &str); 4] = [
    (
        "tracing",
        "Tracing",
        "A trace follows one request through every service it touches. Each service \
         adds spans, and the context travels in the traceparent header between them.",
    ),
    (
        "metrics",
        "Metrics",
        "Counters, histograms and gauges describe a service over time: how many \
         requests, how long they took, how many failed, and how full the queues are.",
    ),
    (
        "logs",
        "Logs",
        "Log records carry the trace and span ids of the work they describe, so a \
         trace viewer can show the lines a request wrote next to its spans.",
    ),
    ("empty", "Empty", ""),
];

/// Serves the site on `listener` until the process ends.
pub(crate) fn spawn(listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/robots.txt", get(|| async { ROBOTS }))
        .route("/docs/{page}", get(page))
        .route(
            "/private/{page}",
            get(|| async { html("Admin", "Internal settings.") }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
}

async fn page(Path(name): Path<String>) -> impl IntoResponse {
    match PAGES.iter().find(|(page, ..)| *page == name) {
        Some((_, title, text)) => html(title, text).into_response(),
        None => (StatusCode::NOT_FOUND, "no such page").into_response(),
    }
}

fn html(title: &str, text: &str) -> impl IntoResponse {
    let body = format!(
        "<html><head><title>{title}</title><script>track()</script></head>\
         <body><p>{text}</p></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}
