//! `OTEL_METRICS_EXPORTER=prometheus` through `init()`: the standalone listener serves
//! the metrics recorded through the global meter, and `current()` exposes the same
//! exporter for mounting in a router. Its own process: `init()` installs global state.

use std::io::{Read, Write};
use std::net::TcpStream;

use otel_core::export::prometheus;
use otel_core::opentelemetry::{global, KeyValue};

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("read");
    body
}

#[test]
fn prometheus_exporter_is_served_and_published() {
    let env = [
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1"),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "0"),
        ("OTEL_SERVICE_NAME", "prom-init"),
    ];
    let guard = otel_core::Telemetry::builder()
        .env(move |k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
        .init()
        .expect("init");
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
    let addr = guard.prometheus_address().expect("listener started");

    let counter = global::meter("shop").u64_counter("shop.orders").build();
    counter.add(3, &[KeyValue::new("result", "ok")]);

    let scrape = get(addr, "/metrics");
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    assert!(
        scrape.contains("content-type: text/plain; version=0.0.4")
            || scrape.contains("Content-Type: text/plain; version=0.0.4"),
        "{scrape}"
    );
    assert!(scrape.contains("shop_orders_total{"), "{scrape}");
    assert!(scrape.contains("result=\"ok\""), "{scrape}");
    assert!(
        scrape.contains("target_info{") && scrape.contains("service_name=\"prom-init\""),
        "{scrape}"
    );

    let mounted = prometheus::current().expect("published for mounting");
    let response = mounted.response();
    assert_eq!(response.status(), 200);
    assert!(response.body().contains("shop_orders_total{"));

    let status = otel_core::telemetry_status();
    assert_eq!(status.metrics.exporters[0].kind, "prometheus");

    guard.shutdown().expect("shutdown");
    assert!(prometheus::current().is_none(), "retracted at shutdown");
    assert!(TcpStream::connect(addr).is_err(), "listener stopped");
}
