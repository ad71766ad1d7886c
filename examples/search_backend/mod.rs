//! The search backend of seed 002 (a FastAPI service instrumented by hand with
//! OpenTelemetry), rebuilt on axum with the toolkit.
//!
//! - `app.rs`: `/search` and `/health`, one `HttpServerLayer`, the user on every span;
//! - `pipeline.rs`: the eight pipeline steps, one `#[instrumented]` each;
//! - `store.rs`: SQLite (users, documents, vectors, media, query log), one
//!   `#[instrument_struct]` for all database spans;
//! - `cache.rs`: the in-process answer cache;
//! - `apis.rs`: local stand-ins for the embeddings and chat-completions APIs.
//!
//! Sampling follows the deployment environment, as the seed asks: with
//! `OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=production` the toolkit samples
//! 10 % of new traces (parent-based), with nothing set every trace.

pub mod apis;
pub mod app;
pub mod cache;
pub mod pipeline;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use otel_tower::client::UrlTemplate;
use otel_tower::HttpClientMiddleware;

use self::apis::Apis;
use self::app::{ErrorBody, Health};
use self::pipeline::{Pipeline, SearchResponse};
use self::store::Store;
use crate::serve::LocalServer;

/// Errors of the demo's own plumbing (binding ports, the database's first open).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The backend's router with its database and the stand-in APIs it calls: the same
/// request path for the demo ([`run`]) and the overhead benchmark.
#[derive(Debug)]
pub struct Backend {
    /// The routes, ready to serve or to call in-process (`tower::ServiceExt::oneshot`).
    pub router: Router,
    /// The pipeline behind the routes.
    pub pipeline: Arc<Pipeline>,
    /// The stand-in APIs, stopped when this is dropped.
    pub apis: Apis,
}

impl Backend {
    /// Opens the database and starts the stand-in APIs on 127.0.0.1.
    pub async fn start() -> Result<Backend, BoxError> {
        let apis = Apis::start().await?;
        let pipeline = Arc::new(Pipeline::new(Store::open()?, &apis));
        Ok(Backend {
            router: app::router(pipeline.clone()),
            pipeline,
            apis,
        })
    }
}

/// One request of the demo and what came back.
#[derive(Debug)]
pub struct Exchange {
    /// The bearer token sent (it names the user).
    pub token: &'static str,
    /// The question.
    pub query: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The answer, when there was one.
    pub response: Option<SearchResponse>,
    /// The error and its trace id, when the search failed.
    pub error: Option<ErrorBody>,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Report {
    /// Every search, in order.
    pub exchanges: Vec<Exchange>,
    /// `/health` after the searches.
    pub health: Health,
}

/// The demo's searches: a fresh one, the same again (served by the cache), one that
/// the chat API fails (503, so the search answers 502), and one with a bad token.
pub const SEARCHES: [(&str, &str); 5] = [
    ("tok-alice", "How do I tie my belt?"),
    ("tok-alice", "  how do I tie my BELT?"),
    ("tok-bruno", "When is the next tournament?"),
    ("tok-chen", "Is there an outage of the grading schedule?"),
    ("tok-nobody", "belt ranks"),
];

/// Serves the backend on 127.0.0.1, sends it [`SEARCHES`] through an instrumented
/// client (so each search is one trace from the caller on), flushes the telemetry and
/// reads `/health`.
pub async fn run() -> Result<Report, BoxError> {
    let backend = Backend::start().await?;
    let server = LocalServer::start(backend.router.clone()).await?;
    let base = server.base_url();

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new())
        .build();
    let mut exchanges = Vec::new();
    for (token, query) in SEARCHES {
        let url = reqwest::Url::parse_with_params(&format!("{base}/search"), [("q", query)])?;
        let response = client
            .get(url)
            .bearer_auth(token)
            .with_extension(UrlTemplate::new("/search"))
            .send()
            .await?;
        let status = response.status().as_u16();
        let (response, error) = if response.status().is_success() {
            (Some(response.json::<SearchResponse>().await?), None)
        } else {
            (None, Some(response.json::<ErrorBody>().await?))
        };
        exchanges.push(Exchange {
            token,
            query,
            status,
            response,
            error,
        });
    }
    // Export what has ended so far, so that /health counts it.
    otel_core::force_flush(Duration::from_secs(5))?;
    let health = client
        .get(format!("{base}/health"))
        .send()
        .await?
        .json::<Health>()
        .await?;
    drop(server);
    Ok(Report { exchanges, health })
}
