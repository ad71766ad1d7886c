//! Spans, metrics and logs over OTLP/gRPC with TLS: a rustls server on 127.0.0.1 with
//! a certificate from a CA made for this run, in front of the collector; the exporter
//! trusts that CA through `otlp_certificate`, and everything arrives.

use otel_core::config::Protocol;
use otel_tests::tls::{Pki, Terminate, TlsTerminator};
use otel_tests::Collector;

#[test]
fn spans_metrics_and_logs_arrive_over_grpc_with_tls() {
    let collector = Collector::start();
    let pki = Pki::generate();
    let tls = TlsTerminator::start(&pki, collector.grpc_addr(), Terminate::Plain);
    otel_tests::roundtrip::export_to(&collector, Protocol::Grpc, &tls.endpoint(), |builder| {
        builder.otlp_certificate(&pki.ca_file)
    });
    assert!(tls.handshake_errors().is_empty(), "{:?}", tls.handshake_errors());
}
