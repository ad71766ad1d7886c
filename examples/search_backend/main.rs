//! `cargo run --example search_backend`: the search backend of seed 002, its pipeline
//! steps traced, with local stand-ins for the embeddings and chat APIs. See
//! `examples/search_backend/mod.rs`.
//!
//! `OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=production` samples 10 % of
//! traces; `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` exports to a collector.

use otel_examples::search_backend::{self, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let _telemetry = otel_core::Telemetry::builder()
        .default_service_name("search_backend")
        .init()?;

    let report = search_backend::run().await?;
    for exchange in &report.exchanges {
        let outcome = match (&exchange.response, &exchange.error) {
            (Some(r), _) if r.cached => "from the cache".to_owned(),
            (Some(r), _) => format!("{} sources, {} media", r.sources.len(), r.media.len()),
            // The trace id from the error body: what a user would quote to support.
            (None, Some(e)) => format!(
                "trace {}",
                e.trace_id.as_deref().unwrap_or("-").get(..8).unwrap_or("-")
            ),
            (None, None) => "no answer".to_owned(),
        };
        let user = exchange.token.trim_start_matches("tok-");
        println!(
            "{}  {user:<6}  {outcome:<18}  {}",
            exchange.status,
            exchange.query.trim()
        );
    }
    let telemetry = &report.health.telemetry;
    println!(
        "/health: {} · sampler {} · {} spans exported, {} dropped",
        report.health.status,
        telemetry["sampler"].as_str().unwrap_or("none"),
        telemetry["traces"]["exported"],
        telemetry["traces"]["dropped"],
    );
    Ok(())
}
