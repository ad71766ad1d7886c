//! `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` over OTLP/gRPC: the collector decodes the
//! compressed messages of every signal.

use otel_core::config::Protocol;
use otel_tests::roundtrip;
use otel_tests::Collector;

#[test]
fn spans_metrics_and_logs_arrive_gzip_compressed_over_grpc() {
    let collector = Collector::start();
    roundtrip::export_to(
        &collector,
        Protocol::Grpc,
        &collector.grpc_endpoint(),
        |builder| builder.env(|name| (name == "OTEL_EXPORTER_OTLP_COMPRESSION").then(|| "gzip".to_owned())),
    );
}
