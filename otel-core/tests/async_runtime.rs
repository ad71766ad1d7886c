//! Flush and shutdown called from inside the application's own Tokio runtime (the usual
//! `#[tokio::main]`), with network exporters whose collector is down: nothing panics
//! ("cannot start a runtime from within a runtime"), nothing hangs past the timeouts,
//! and the failures are reported. Its own process: `init()` installs global state.

use std::time::{Duration, Instant};

use otel_core::config::{ExporterKind, MetricsExporterKind, Protocol};
use otel_core::opentelemetry::global;

fn closed_port() -> u16 {
    // Bind and drop: the port is free and nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn exercise(protocol: Protocol) {
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("async-runtime")
        .otlp_endpoint(format!("http://127.0.0.1:{}", closed_port()))
        .otlp_protocol(protocol)
        .otlp_timeout(Duration::from_millis(300))
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([MetricsExporterKind::Otlp])
        .logs_exporters([ExporterKind::Otlp])
        .quiet(true)
        .init()
        .expect("init");
    otel_core::in_span_async("request", async {
        tokio::task::yield_now().await;
        otel_core::in_span("db", || {});
    })
    .await;
    global::meter("async-runtime")
        .u64_counter("async.calls")
        .build()
        .add(1, &[]);

    let started = Instant::now();
    let flushed = guard.force_flush();
    assert!(flushed.is_err(), "the collector is down: the flush must say so");
    let shutdown = guard.shutdown();
    assert!(shutdown.is_err(), "{protocol:?}: {shutdown:?}");
    // Generous: each signal's export is bounded by the 300 ms timeout (plus retries
    // cut off by it); the default 10 s timeout would take far longer.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let status = otel_core::telemetry_status();
    assert!(!status.initialized, "status is retracted after shutdown");
}

#[test]
fn flush_and_shutdown_inside_tokio_runtimes() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(exercise(protocol));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(exercise(protocol));
    }
}
