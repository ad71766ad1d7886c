//! The search engine: a gRPC service that embeds each document, keeps it in an
//! in-memory vector index (the seed's Weaviate service, folded in), finds the most
//! similar documents already indexed, and asks the LLM orchestrator for a summary.

use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{global, KeyValue};
use otel_core::instrumented;
use otel_tower::HttpServerLayer;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use super::proto::{Hit, IndexReply, IndexRequest, INDEX_PATH, SERVICE};
use super::service::{self, WorkQueue};

/// Dimensions of the toy embedding (hashed bag of words).
const DIMENSIONS: usize = 64;
/// Related documents returned at most.
const TOP_K: usize = 2;

/// A summary request to the LLM orchestrator.
#[derive(Serialize, Deserialize)]
pub(crate) struct AnswerRequest {
    pub question: String,
    pub context: Vec<String>,
}

/// The orchestrator's answer.
#[derive(Serialize, Deserialize)]
pub(crate) struct Answer {
    pub answer: String,
    pub model: String,
}

/// The seed's search and vector metrics that no layer or `#[instrumented]` records
/// (embedding time is `function.duration` of `embed`).
struct SearchMetrics {
    queries: Counter<u64>,
    latency: Histogram<f64>,
    results: Histogram<u64>,
    relevance: Histogram<f64>,
    vector_operations: Counter<u64>,
}

impl SearchMetrics {
    fn new(index: &Arc<Mutex<Vec<Indexed>>>) -> Result<SearchMetrics, otel_core::Error> {
        let observed = Arc::clone(index);
        otel_core::metrics::observable_gauge("search.index.size", move || {
            observed.lock().unwrap_or_else(PoisonError::into_inner).len()
        })
        .with_unit("{document}")
        .with_description("Documents in the vector index")
        .build()?;
        let meter = global::meter("search-engine");
        Ok(SearchMetrics {
            queries: meter
                .u64_counter("search.queries.processed")
                .with_unit("{query}")
                .with_description("Queries run, by query type")
                .build(),
            latency: meter
                .f64_histogram("search.latency")
                .with_unit("s")
                .with_description("Query latency, by query type")
                .with_boundaries(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0])
                .build(),
            results: meter
                .u64_histogram("search.result.count")
                .with_unit("{result}")
                .with_description("Results returned per query")
                .with_boundaries(vec![0.0, 1.0, 2.0, 5.0, 10.0, 20.0])
                .build(),
            relevance: meter
                .f64_histogram("search.relevance.score")
                .with_unit("1")
                .with_description("Cosine similarity of each result to its query")
                .with_boundaries(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
                .build(),
            vector_operations: meter
                .u64_counter("vector.operations")
                .with_unit("{operation}")
                .with_description("Vector index operations, by operation")
                .build(),
        })
    }
}

struct Indexed {
    url: String,
    vector: [f32; DIMENSIONS],
}

struct Engine {
    index: Arc<Mutex<Vec<Indexed>>>,
    metrics: SearchMetrics,
    http: ClientWithMiddleware,
    orchestrator: String,
    queue: WorkQueue,
}

impl Engine {
    #[instrumented(skip_all, fields(url.full = request.url.as_str()))]
    async fn index(&self, request: IndexRequest) -> Result<IndexReply, Status> {
        let vector = embed(&request.text);
        let related = self.find_related(&request.url, &vector);
        let index_size = {
            let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
            index.retain(|doc| doc.url != request.url);
            index.push(Indexed {
                url: request.url.clone(),
                vector,
            });
            index.len() as u64
        };
        self.metrics
            .vector_operations
            .add(1, &[KeyValue::new("vector.operation", "upsert")]);

        let answer = self.summarise(&request, &related).await?;
        Ok(IndexReply {
            index_size,
            related,
            answer: answer.answer,
            model: answer.model,
        })
    }

    /// The `TOP_K` indexed documents most similar to `vector` (query type `similar`).
    #[instrumented(skip(self, vector), fields(search.query.type = "similar"))]
    fn find_related(&self, url: &str, vector: &[f32; DIMENSIONS]) -> Vec<Hit> {
        let started = Instant::now();
        let mut hits: Vec<Hit> = self
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|doc| doc.url != url)
            .map(|doc| Hit {
                url: doc.url.clone(),
                score: cosine(vector, &doc.vector),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(TOP_K);

        let query_type = [KeyValue::new("search.query.type", "similar")];
        self.metrics.queries.add(1, &query_type);
        self.metrics
            .latency
            .record(started.elapsed().as_secs_f64(), &query_type);
        self.metrics.results.record(hits.len() as u64, &query_type);
        for hit in &hits {
            self.metrics.relevance.record(hit.score, &query_type);
        }
        self.metrics
            .vector_operations
            .add(1, &[KeyValue::new("vector.operation", "query")]);
        otel_core::set_attribute(KeyValue::new("search.result.count", hits.len() as i64));
        hits
    }

    /// Asks the orchestrator to summarise the document with its related ones.
    #[instrumented(skip_all)]
    async fn summarise(&self, request: &IndexRequest, related: &[Hit]) -> Result<Answer, Status> {
        let mut context = vec![request.text.clone()];
        context.extend(related.iter().map(|hit| format!("related: {}", hit.url)));
        let body = AnswerRequest {
            question: format!("Summarise the page \"{}\" in one sentence.", request.title),
            context,
        };
        let response = self
            .http
            .post(format!("{}/v1/answer", self.orchestrator))
            .json(&body)
            .send()
            .await
            .map_err(|e| Status::unavailable(format!("orchestrator unreachable: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(Status::internal(format!("orchestrator answered {status}")));
        }
        response
            .json()
            .await
            .map_err(|e| Status::internal(format!("orchestrator answered garbage: {e}")))
    }
}

/// A normalised hashed bag of words: a stand-in for an embedding model.
#[instrumented(skip(text), fields(text.length = text.len() as i64))]
fn embed(text: &str) -> [f32; DIMENSIONS] {
    let mut vector = [0f32; DIMENSIONS];
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if word.len() > 3 {
            let bucket = word
                .bytes()
                .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
            vector[bucket as usize % DIMENSIONS] += 1.0;
        }
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

fn cosine(a: &[f32; DIMENSIONS], b: &[f32; DIMENSIONS]) -> f64 {
    f64::from(a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
}

/// `search.SearchEngine/Index` on the engine (what `tonic-build` would generate).
struct IndexMethod(Arc<Engine>);

impl tonic::server::UnaryService<IndexRequest> for IndexMethod {
    type Response = IndexReply;
    type Future = Pin<Box<dyn Future<Output = Result<Response<IndexReply>, Status>> + Send>>;

    fn call(&mut self, request: Request<IndexRequest>) -> Self::Future {
        let engine = Arc::clone(&self.0);
        Box::pin(async move {
            let request = request.into_inner();
            engine.queue.run(engine.index(request)).await.map(Response::new)
        })
    }
}

/// The gRPC service: routes by path.
#[derive(Clone)]
struct SearchService(Arc<Engine>);

impl NamedService for SearchService {
    const NAME: &'static str = SERVICE;
}

impl tower::Service<http::Request<tonic::body::Body>> for SearchService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let engine = Arc::clone(&self.0);
        Box::pin(async move {
            let codec = ProstCodec::<IndexReply, IndexRequest>::default();
            Ok(match request.uri().path() {
                INDEX_PATH => {
                    tonic::server::Grpc::new(codec)
                        .unary(IndexMethod(engine), request)
                        .await
                }
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

/// Serves the gRPC service until the launcher says stop; summaries come from the
/// orchestrator at `orchestrator`.
pub(crate) async fn serve(orchestrator: &str, standalone: Option<SocketAddr>) -> Result<(), Box<dyn Error>> {
    let (listener, addr) = service::bind().await?;
    let index = Arc::new(Mutex::new(Vec::new()));
    let engine = Arc::new(Engine {
        metrics: SearchMetrics::new(&index)?,
        index,
        http: service::http_client(),
        orchestrator: orchestrator.to_owned(),
        queue: WorkQueue::new(2)?,
    });
    service::announce(addr, service::metrics_url(standalone));
    tonic::transport::Server::builder()
        .layer(HttpServerLayer::new())
        .add_service(SearchService(engine))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            service::stop_requested(),
        )
        .await?;
    Ok(())
}
