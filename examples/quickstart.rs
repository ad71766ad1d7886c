//! The quick start: one call sets up telemetry, then spans and metrics just work.
//!
//! With no `OTEL_EXPORTER_OTLP_ENDPOINT` set, every finished trace is drawn on stderr as
//! a waterfall and the metrics are printed at exit. Point it at a collector, under a
//! service name of your choice, with
//! `OTEL_SERVICE_NAME=checkout OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example quickstart`.

use std::time::Duration;

use opentelemetry::{global, KeyValue};

#[derive(Debug)]
struct OutOfStock(&'static str);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.0)
    }
}

impl std::error::Error for OutOfStock {}

fn main() -> Result<(), otel_core::Error> {
    let telemetry = otel_core::Telemetry::builder()
        // A default: OTEL_SERVICE_NAME, when set, names the service instead.
        .default_service_name("quickstart")
        .deployment_environment("development")
        .init()?;

    let meter = global::meter("quickstart");
    let orders = meter
        .u64_counter("shop.orders")
        .with_description("Orders placed")
        .build();
    let latency = meter
        .f64_histogram("shop.checkout.duration")
        .with_unit("s")
        .with_description("Checkout latency")
        .build();

    for (order, item) in [(1_i64, "book"), (2, "lamp")] {
        let started = std::time::Instant::now();
        let outcome = otel_core::in_span_with("checkout", [KeyValue::new("order.id", order)], || {
            // Log lines can carry these ids to link them to the trace.
            let trace_id = otel_core::current_trace_id().unwrap_or_default();
            println!("order {order}: trace_id={trace_id}");
            let rows = otel_core::in_span_with(
                "SELECT inventory",
                [
                    KeyValue::new("db.system.name", "sqlite"),
                    KeyValue::new("db.query.text", "SELECT qty FROM inventory WHERE item = ?"),
                ],
                || {
                    std::thread::sleep(Duration::from_millis(12));
                    if item == "lamp" {
                        0
                    } else {
                        3
                    }
                },
            );
            otel_core::in_span("reserve", || std::thread::sleep(Duration::from_millis(5)));
            if rows == 0 {
                let err = OutOfStock(item);
                otel_core::record_error(&err);
                return Err(err);
            }
            otel_core::in_span("charge card", || std::thread::sleep(Duration::from_millis(20)));
            Ok(())
        });
        let result = if outcome.is_ok() { "ok" } else { "error" };
        orders.add(1, &[KeyValue::new("result", result)]);
        latency.record(
            started.elapsed().as_secs_f64(),
            &[KeyValue::new("result", result)],
        );
    }

    // What a /health endpoint would show; flush first so the counts are final.
    telemetry.force_flush()?;
    let status = otel_core::telemetry_status();
    println!(
        "telemetry: {} spans exported, {} dropped, {} failed exports (serve `telemetry_status()` as JSON on /health)",
        status.traces.exported, status.traces.dropped, status.traces.failed_exports,
    );
    telemetry.shutdown()
}
