//! Mutual TLS: with a client certificate required, the exporter's certificate (from
//! `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` / `_CLIENT_KEY`) gets spans, metrics and logs
//! through; without it, over both transports, the export fails with an error that says
//! the server wants a client certificate, in the flush error and in the status.

use otel_core::config::Protocol;
use otel_tests::tls::{refused_export, Pki, Terminate, TlsTerminator};
use otel_tests::Collector;

#[test]
fn mutual_tls_needs_the_right_client_certificate() {
    let collector = Collector::start();
    let pki = Pki::generate();

    let grpc = TlsTerminator::start(&pki, collector.grpc_addr(), Terminate::MutualTls);
    let env = [
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca_file.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pki.client.cert_file.display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            pki.client.key_file.display().to_string(),
        ),
    ];
    otel_tests::roundtrip::export_to(&collector, Protocol::Grpc, &grpc.endpoint(), move |builder| {
        builder.env(move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
    });
    assert!(
        grpc.handshake_errors().is_empty(),
        "{:?}",
        grpc.handshake_errors()
    );

    let http = TlsTerminator::start(&pki, collector.http_addr(), Terminate::MutualTls);
    for (protocol, terminator) in [(Protocol::Grpc, &grpc), (Protocol::HttpProtobuf, &http)] {
        let refused = refused_export(protocol, &terminator.endpoint(), |builder| {
            builder.otlp_certificate(&pki.ca_file)
        });
        for message in [&refused.flush_error, &refused.last_error] {
            assert!(
                message.contains("the server requires a client certificate and none was sent"),
                "{}: {message}",
                protocol.as_str()
            );
            assert!(
                message.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
                "{message}"
            );
            assert!(!message.contains("network error"), "{message}");
        }
        assert!(
            terminator
                .handshake_errors()
                .iter()
                .any(|e| e.contains("peer sent no certificates")),
            "the server refused for want of a certificate: {:?}",
            terminator.handshake_errors()
        );
    }
}
