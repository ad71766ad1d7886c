//! TLS failures say what is wrong: a server certificate from a CA the exporter does not
//! trust, and one issued for another name, over gRPC and HTTP, in the flush error and
//! in `telemetry_status()`; and the cause is printed on stderr once.

use std::process::Command;

use otel_core::config::Protocol;
use otel_tests::tls::{refused_export, Pki, Terminate, TlsTerminator};
use otel_tests::Collector;

const CHILD: &str = "OTEL_TESTS_TLS_LOG_CHILD";

#[test]
fn untrusted_and_misnamed_certificates_are_named_as_such() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let collector = Collector::start();
    let pki = Pki::generate();
    let terminators = [
        (
            Protocol::Grpc,
            TlsTerminator::start(&pki, collector.grpc_addr(), Terminate::Plain),
        ),
        (
            Protocol::HttpProtobuf,
            TlsTerminator::start(&pki, collector.http_addr(), Terminate::Plain),
        ),
    ];
    for (protocol, terminator) in &terminators {
        let what = protocol.as_str();
        // Trusting another CA, and trusting the default roots: neither signed the server.
        for trust_other_ca in [true, false] {
            let refused = refused_export(*protocol, &terminator.endpoint(), |builder| {
                if trust_other_ca {
                    builder.otlp_certificate(&pki.other_ca_file)
                } else {
                    builder
                }
            });
            for message in [&refused.flush_error, &refused.last_error] {
                assert!(
                    message.contains("TLS handshake failed: the server's certificate is not trusted: it is not signed by a trusted CA"),
                    "{what}: {message}"
                );
                assert!(
                    message.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"),
                    "{what}: {message}"
                );
                assert!(message.contains(&terminator.endpoint()), "{what}: {message}");
                assert!(!message.contains("network error"), "{what}: {message}");
            }
        }
    }

    let misnamed = [
        (
            Protocol::Grpc,
            TlsTerminator::start(&pki, collector.grpc_addr(), Terminate::Misnamed),
        ),
        (
            Protocol::HttpProtobuf,
            TlsTerminator::start(&pki, collector.http_addr(), Terminate::Misnamed),
        ),
    ];
    for (protocol, terminator) in &misnamed {
        let refused = refused_export(*protocol, &terminator.endpoint(), |builder| {
            builder.otlp_certificate(&pki.ca_file)
        });
        for message in [&refused.flush_error, &refused.last_error] {
            assert!(
                message.contains("the server's certificate does not match the endpoint's host name"),
                "{}: {message}",
                protocol.as_str()
            );
        }
    }
}

/// Runs [`log_child`] in a child process (stderr cannot be captured in-process) and
/// checks what it printed.
#[test]
fn the_cause_is_printed_once() {
    if std::env::var_os(CHILD).is_some() {
        log_child();
        return;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "the_cause_is_printed_once",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed: {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("otel-core: traces export to https://127.0.0.1:"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one line for two failed exports with one cause: {stderr}"
    );
    assert!(
        lines[0].contains("failed: TLS handshake failed: the server's certificate is not trusted"),
        "{stderr}"
    );
}

fn log_child() {
    let collector = Collector::start();
    let pki = Pki::generate();
    let terminator = TlsTerminator::start(&pki, collector.http_addr(), Terminate::Plain);
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .otlp_endpoint(terminator.endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .traces_exporters([otel_core::config::ExporterKind::Otlp])
        .metrics_exporters([])
        .logs_exporters([])
        .init()
        .expect("init");
    for _ in 0..2 {
        otel_core::in_span("logged", || {});
        assert!(guard.force_flush().is_err());
    }
    let _ = guard.shutdown();
}
