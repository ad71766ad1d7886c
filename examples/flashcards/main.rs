//! `cargo run --example flashcards`: the flashcard pipeline (seeds 001 and 003): SQLite,
//! a two-tier cache and a local chat model behind a rate limiter, retries and a
//! circuit breaker, for two users' sessions; then it exits. See
//! `examples/flashcards/mod.rs`.

use otel_examples::flashcards;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let telemetry = otel_core::Telemetry::builder()
        .default_service_name("flashcards")
        .init()?;
    otel_examples::logging::install()?;

    let report = flashcards::run().await?;
    for line in report.lines() {
        println!("{line}");
    }
    telemetry.shutdown()?;
    Ok(())
}
