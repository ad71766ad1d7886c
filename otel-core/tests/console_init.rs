//! The zero-configuration default: with no endpoint, traces, metrics and logs go to the
//! console exporters, and a clean shutdown delivers and counts all of them. Its own
//! process: `init()` installs global state.

use otel_core::config::ExporterKind;
use otel_core::opentelemetry::logs::{LogRecord, Logger, LoggerProvider};
use otel_core::opentelemetry::{global, KeyValue};

#[test]
fn console_exporters_export_every_signal_and_shut_down_cleanly() {
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("console-default")
        .logs_exporters([ExporterKind::Console])
        .quiet(true)
        .init()
        .expect("init");
    let status = otel_core::telemetry_status();
    assert_eq!(
        status.traces.exporters[0].kind, "console",
        "no endpoint: console by default"
    );
    assert_eq!(status.metrics.exporters[0].kind, "console");

    otel_core::in_span("outer", || otel_core::in_span("inner", || {}));
    global::meter("console-test")
        .u64_counter("console.test.calls")
        .build()
        .add(1, &[KeyValue::new("k", "v")]);
    let logger_provider = guard.logger_provider().expect("installed").clone();
    let logger = logger_provider.logger("console-test");
    let mut record = logger.create_log_record();
    record.set_body("hello".into());
    logger.emit(record);

    guard.force_flush().expect("flush: local exporters cannot fail");
    let status = otel_core::telemetry_status();
    assert_eq!(status.traces.exported, 2);
    assert_eq!(status.logs.exported, 1);
    assert!(status.metrics.exported >= 1, "{status:?}");
    assert_eq!(status.metrics.failed_exports, 0);
    drop(logger_provider);
    guard.shutdown().expect("shutdown of console exporters succeeds");
}
