//! `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` over OTLP/HTTP with protobuf bodies: every
//! request is gzip-compressed and says so, carries the configured headers and the
//! exporter's `User-Agent`, and the collector decodes all of it.

use otel_core::config::Protocol;
use otel_tests::roundtrip;
use otel_tests::tap::Tap;
use otel_tests::Collector;

#[test]
fn spans_metrics_and_logs_arrive_gzip_compressed_over_http() {
    let collector = Collector::start();
    let tap = Tap::start(collector.http_addr());
    let sent = roundtrip::send(Protocol::HttpProtobuf, &tap.endpoint(), |builder| {
        builder.env(|name| match name {
            "OTEL_EXPORTER_OTLP_COMPRESSION" => Some("gzip".to_owned()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("x-tenant=a%2Cb%2550".to_owned()),
            _ => None,
        })
    });
    roundtrip::check_spans(&collector, &sent);
    roundtrip::check_metrics(&collector, &sent);
    roundtrip::check_logs(&collector, &sent);

    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let requests = tap.requests(path);
        assert!(!requests.is_empty(), "a request to {path}");
        for request in &requests {
            assert_eq!(
                request.header("content-type"),
                Some("application/x-protobuf"),
                "{path}"
            );
            assert_eq!(request.header("content-encoding"), Some("gzip"), "{path}");
            assert_eq!(request.body[..2], [0x1f, 0x8b], "{path}: a gzip member");
            assert_eq!(request.header("x-tenant"), Some("a,b%50"), "{path}");
        }
    }
    for request in tap.requests("/v1/traces") {
        let agent = request.header("user-agent").unwrap_or_default();
        assert!(agent.starts_with("OTel-OTLP-Exporter-Rust"), "{agent}");
    }
}
