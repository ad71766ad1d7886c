//! Spans (parent links, typed attributes), a counter, a histogram and log records
//! carrying the trace id, exported over OTLP/gRPC and received by a real collector with
//! the right `service.name`.

use otel_core::config::Protocol;

#[test]
fn spans_metrics_and_logs_arrive_over_grpc() {
    otel_tests::roundtrip::export_through_collector(Protocol::Grpc);
}
