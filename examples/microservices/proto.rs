//! The search engine's gRPC interface, written by hand instead of generated from a
//! `.proto` (no build step): `search.SearchEngine/Index`, and its traced client.

use http::uri::PathAndQuery;
use otel_tower::{HttpClientLayer, HttpClientService};
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_prost::ProstCodec;

/// The gRPC service name.
pub(crate) const SERVICE: &str = "search.SearchEngine";

/// The path of the `Index` method.
pub(crate) const INDEX_PATH: &str = "/search.SearchEngine/Index";

/// A processed document to index.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct IndexRequest {
    /// Where it was scraped.
    #[prost(string, tag = "1")]
    pub url: String,
    /// Its title.
    #[prost(string, tag = "2")]
    pub title: String,
    /// The extracted text.
    #[prost(string, tag = "3")]
    pub text: String,
}

/// A related document and how close it is.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Hit {
    /// The related document's URL.
    #[prost(string, tag = "1")]
    pub url: String,
    /// Cosine similarity to the indexed document.
    #[prost(double, tag = "2")]
    pub score: f64,
}

/// What indexing found: related documents and the orchestrator's answer.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct IndexReply {
    /// Documents in the index after this one was added.
    #[prost(uint64, tag = "1")]
    pub index_size: u64,
    /// The most similar documents already indexed.
    #[prost(message, repeated, tag = "2")]
    pub related: Vec<Hit>,
    /// The summary the LLM wrote.
    #[prost(string, tag = "3")]
    pub answer: String,
    /// The model that wrote it.
    #[prost(string, tag = "4")]
    pub model: String,
}

/// A client of the search engine whose calls are RPC CLIENT spans (`HttpClientLayer`
/// detects gRPC) carrying the trace context.
#[derive(Clone)]
pub(crate) struct SearchClient {
    grpc: tonic::client::Grpc<HttpClientService<Channel>>,
}

impl SearchClient {
    /// A client of the server at `origin`; connects on first use.
    pub(crate) fn new(origin: &str) -> Result<SearchClient, Box<dyn std::error::Error + Send + Sync>> {
        let origin: http::Uri = origin.parse()?;
        let channel = tonic::transport::Endpoint::from(origin.clone()).connect_lazy();
        let traced = tower::Layer::layer(&HttpClientLayer::new(), channel);
        Ok(SearchClient {
            grpc: tonic::client::Grpc::with_origin(traced, origin),
        })
    }

    /// `search.SearchEngine/Index`.
    pub(crate) async fn index(&self, request: IndexRequest) -> Result<IndexReply, Status> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("search engine unreachable: {e}")))?;
        let codec = ProstCodec::<IndexRequest, IndexReply>::default();
        let path = PathAndQuery::from_static(INDEX_PATH);
        Ok(grpc.unary(Request::new(request), path, codec).await?.into_inner())
    }
}
