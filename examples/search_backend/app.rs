//! The HTTP side: `GET /search?q=…` behind a bearer token, and `GET /health` with the
//! telemetry status. One `HttpServerLayer` gives every search a SERVER span and the
//! HTTP metrics; the handler says once who the user is, and every span of the search
//! inherits `user.id` and `user.roles` (`otel_core::context_attributes`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_semantic_conventions::attribute::{USER_ID, USER_ROLES};
use otel_core::{context_attributes, TelemetryStatus};
use otel_tower::HttpServerLayer;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::pipeline::{Pipeline, SearchError, SearchResponse};

/// Query string of `/search`.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    /// The question.
    pub q: String,
}

/// Body of a failed search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// The request's trace, to find it in the tracing backend (absent when unsampled).
    pub trace_id: Option<String>,
}

/// Body of `/health`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Health {
    /// `healthy` (the process answers; telemetry problems do not make it unhealthy).
    pub status: String,
    /// What `otel_core::telemetry_status()` reports: exporter, sampler, counts of
    /// exported, dropped and failed spans, the last export error.
    pub telemetry: serde_json::Value,
}

impl IntoResponse for SearchError {
    fn into_response(self) -> Response {
        let status = match self {
            SearchError::Unauthorized => StatusCode::UNAUTHORIZED,
            SearchError::EmptyQuery => StatusCode::BAD_REQUEST,
            SearchError::Api(_) => StatusCode::BAD_GATEWAY,
            SearchError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // The trace id lets a user's support request lead straight to the trace (the
        // SERVER span is current here, as the handler returns).
        let trace_id = otel_core::current_trace_id();
        (
            status,
            Json(json!({ "error": self.to_string(), "trace_id": trace_id })),
        )
            .into_response()
    }
}

async fn search(
    State(pipeline): State<Arc<Pipeline>>,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResponse>, SearchError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(SearchError::Unauthorized)?;
    let user = pipeline
        .store
        .user_for_token(token)?
        .ok_or(SearchError::Unauthorized)?;
    let user_attributes = [
        KeyValue::new(USER_ID, user.id.clone()),
        KeyValue::new(
            USER_ROLES,
            Value::Array(vec![StringValue::from(user.role.clone())].into()),
        ),
    ];
    // On the SERVER span (current here), then on every span the search starts.
    for attribute in &user_attributes {
        otel_core::set_attribute(attribute.clone());
    }
    let response = context_attributes::scope(user_attributes, pipeline.search(&user, &params.q)).await?;
    Ok(Json(response))
}

async fn health() -> Json<Health> {
    let telemetry: TelemetryStatus = otel_core::telemetry_status();
    Json(Health {
        status: "healthy".to_owned(),
        telemetry: serde_json::to_value(telemetry).unwrap_or_default(),
    })
}

/// The backend's routes over `pipeline`; `/health` is served but not traced, so load
/// balancer probes do not fill the traces.
pub fn router(pipeline: Arc<Pipeline>) -> Router {
    Router::new()
        .route("/search", get(search))
        .route("/health", get(health))
        .with_state(pipeline)
        .layer(HttpServerLayer::new().filter(|req| req.uri.path() != "/health"))
}
