//! Collector absent: nothing listens on the endpoint's port. Over both transports,
//! creating spans never blocks, dropped spans are counted in `status()`, failed exports
//! and the last error are reported after a flush, and flush and shutdown return within
//! bounds derived from the configured OTLP timeout (see `otel_tests::unreachable`).

use otel_core::config::Protocol;

#[test]
fn a_missing_collector_never_blocks_and_drops_are_counted() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let endpoint = format!("http://{}", otel_tests::closed_port());
        otel_tests::unreachable::unreachable_collector(&endpoint, protocol);
    }
}
