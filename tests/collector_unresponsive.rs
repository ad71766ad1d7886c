//! Collector unresponsive: the endpoint accepts TCP connections and never answers, so
//! every export runs into the configured OTLP timeout. Over both transports, creating
//! spans never blocks, dropped spans are counted in `status()`, failed exports are
//! reported, and flush and shutdown return within bounds derived from the configured
//! timeout instead of waiting on the backend (see `otel_tests::unreachable`).

use otel_core::config::Protocol;
use otel_tests::SilentServer;

#[test]
fn a_hanging_collector_never_blocks_and_drops_are_counted() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let server = SilentServer::start();
        otel_tests::unreachable::unreachable_collector(&server.endpoint(), protocol);
    }
}
