//! Spans, metrics and logs over OTLP/HTTP (protobuf) with TLS, the CA given the way an
//! operator gives it: `OTEL_EXPORTER_OTLP_CERTIFICATE`.

use otel_core::config::Protocol;
use otel_tests::tls::{Pki, Terminate, TlsTerminator};
use otel_tests::Collector;

#[test]
fn spans_metrics_and_logs_arrive_over_http_with_tls() {
    let collector = Collector::start();
    let pki = Pki::generate();
    let tls = TlsTerminator::start(&pki, collector.http_addr(), Terminate::Plain);
    let ca = pki.ca_file.display().to_string();
    otel_tests::roundtrip::export_to(
        &collector,
        Protocol::HttpProtobuf,
        &tls.endpoint(),
        move |builder| {
            builder.env(move |name| (name == "OTEL_EXPORTER_OTLP_CERTIFICATE").then(|| ca.clone()))
        },
    );
    assert!(tls.handshake_errors().is_empty(), "{:?}", tls.handshake_errors());
}
