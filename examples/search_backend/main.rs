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
        let outcome = match &exchange.response {
            Some(r) if r.cached => "from the cache".to_owned(),
            Some(r) => format!("{} sources, {} media", r.sources.len(), r.media.len()),
            None => "no answer".to_owned(),
        };
        println!(
            "{}  {:<10}  {:<40}  {outcome}",
            exchange.status,
            exchange.token,
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
