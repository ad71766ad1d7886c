//! `cargo run --example text_analysis`: the text-analysis Lambda (seed 000) under the
//! real `lambda_runtime`, against a local Runtime API emulator. Three invocations (one
//! failing), then it exits. See `examples/text_analysis/mod.rs`.

use otel_examples::text_analysis;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First the Lambda environment (the emulator's address and the function's
    // variables), so that init() describes the function in the resource.
    let api = text_analysis::start_runtime_api().await?;
    let telemetry = otel_core::Telemetry::builder()
        .default_service_name("text_analysis")
        .deployment_environment(text_analysis::deployment_environment())
        .init()?;
    otel_examples::logging::install()?;

    let report = text_analysis::run(&api).await?;
    for line in report.lines() {
        println!("{line}");
    }
    telemetry.shutdown()?;
    Ok(())
}
