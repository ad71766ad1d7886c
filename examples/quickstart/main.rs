//! `cargo run --example quickstart`: a bookshop API and its client, traced and measured.
//! See `examples/quickstart/mod.rs` for the program, and the README's Quick start.
//!
//! With no collector configured, traces are drawn on stderr and metrics printed at exit;
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` sends them to a collector instead.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Reads the OTEL_* variables; `OTEL_SERVICE_NAME` wins over this default name.
    // Dropping the guard at the end flushes and prints the metrics.
    let _telemetry = otel_core::Telemetry::builder()
        .default_service_name("quickstart")
        .init()?;

    for (request, status) in otel_examples::quickstart::run().await? {
        println!("{status}  {request}");
    }
    Ok(())
}
