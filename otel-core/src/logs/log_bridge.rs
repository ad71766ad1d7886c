//! `log` records → OpenTelemetry log records.

use std::fmt;

use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

use crate::state::{self, Current};
use crate::Error;

/// A [`log::Log`] implementation that emits every `log` record as an OpenTelemetry log
/// record: level as severity, target, the formatted message as body and the record's
/// key-values as attributes. Inside an OpenTelemetry span (for example in
/// [`crate::in_span`]) the SDK copies that span's trace and span ids onto the record.
///
/// [`init_log_bridge`] installs one as the process-wide `log` logger; build one with
/// [`log_bridge_for`] to compose it with another logger (for example a logger that
/// forwards each record to both this bridge and `env_logger`).
///
/// ```
/// use log::Log;
/// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
///
/// let provider = SdkLoggerProvider::builder().build();
/// let bridge = otel_core::logs::log_bridge_for(&provider);
/// bridge.log(
///     &log::Record::builder()
///         .level(log::Level::Info)
///         .target("billing")
///         .args(format_args!("invoice sent"))
///         .build(),
/// );
/// ```
pub struct LogBridge {
    inner: OpenTelemetryLogBridge<SdkLoggerProvider, SdkLogger>,
}

impl fmt::Debug for LogBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogBridge").finish_non_exhaustive()
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        self.inner.log(record);
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// A `log` → OpenTelemetry logs bridge for a logger provider you built yourself.
///
/// ```
/// use otel_core::opentelemetry_sdk::logs::SdkLoggerProvider;
///
/// let provider = SdkLoggerProvider::builder().build();
/// let bridge: Box<dyn log::Log> = Box::new(otel_core::logs::log_bridge_for(&provider));
/// # drop(bridge);
/// ```
#[must_use]
pub fn log_bridge_for(provider: &SdkLoggerProvider) -> LogBridge {
    LogBridge {
        inner: OpenTelemetryLogBridge::new(provider),
    }
}

/// Installs the `log` → OpenTelemetry logs bridge as the process-wide `log` logger,
/// for the logger provider installed by [`crate::init`], and sets `log`'s maximum level
/// to `max_level`.
///
/// Call it after `init()`. When telemetry is disabled (`OTEL_SDK_DISABLED=true`) it
/// installs nothing and returns `Ok(())`, so disabling telemetry never stops an
/// application from starting.
///
/// # Errors
///
/// - [`crate::ErrorKind::InvalidConfig`] when `init()` has not installed a logger
///   provider yet;
/// - [`crate::ErrorKind::InvalidConfig`] when another `log` logger (`env_logger`,
///   `simple_logger`, a previous call, ...) is already installed: `log` accepts one
///   logger per process. Use [`log_bridge_for`] and compose the two loggers instead.
///
/// ```no_run
/// # fn main() -> Result<(), otel_core::Error> {
/// let _telemetry = otel_core::init()?;
/// otel_core::logs::init_log_bridge(log::LevelFilter::Info)?;
/// otel_core::in_span("charge", || log::info!("card charged"));
/// # Ok(())
/// # }
/// ```
pub fn init_log_bridge(max_level: log::LevelFilter) -> Result<(), Error> {
    let provider = match state::current() {
        Current::Disabled => return Ok(()),
        Current::Global => None,
        Current::Installed(_) => state::logger_provider(),
    };
    let Some(provider) = provider else {
        return Err(Error::new(
            crate::ErrorKind::InvalidConfig,
            "init_log_bridge() found no logger provider: call otel_core::init() first, or build \
             the bridge for your own provider with otel_core::logs::log_bridge_for(&provider)",
        ));
    };
    install(Box::new(log_bridge_for(&provider)), max_level)
}

fn install(logger: Box<dyn log::Log>, max_level: log::LevelFilter) -> Result<(), Error> {
    log::set_boxed_logger(logger).map_err(|_| {
        Error::new(
            crate::ErrorKind::InvalidConfig,
            "init_log_bridge() cannot install the OpenTelemetry bridge: a `log` logger is \
             already set for this process (env_logger, simple_logger, tracing-log or an \
             earlier call) and `log` allows only one; build the bridge with \
             otel_core::logs::log_bridge_for(&provider) and forward records to both loggers",
        )
    })?;
    log::set_max_level(max_level);
    Ok(())
}

#[cfg(test)]
mod tests {
    use log::Log;
    use opentelemetry::logs::{AnyValue, Severity};
    use opentelemetry::trace::{TraceContextExt, TraceId, Tracer, TracerProvider};
    use opentelemetry::Key;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::log_bridge_for;
    use crate::logs::test_support::CaptureExporter;

    fn emit(
        bridge: &super::LogBridge,
        level: log::Level,
        target: &str,
        kvs: &[(&str, i64)],
        args: std::fmt::Arguments<'_>,
    ) {
        // Called on the bridge object, not through `log::info!`: the `log` global logger
        // can be set once per process and the test binary is shared.
        bridge.log(
            &log::Record::builder()
                .level(level)
                .target(target)
                .key_values(&kvs)
                .args(args)
                .build(),
        );
    }

    #[test]
    fn records_inside_a_span_carry_its_ids() {
        let exporter = CaptureExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let bridge = log_bridge_for(&provider);
        let tracer = SdkTracerProvider::builder().build().tracer("test");

        emit(&bridge, log::Level::Info, "app", &[], format_args!("starting"));
        let (trace_id, span_id) = tracer.in_span("charge", |cx| {
            emit(
                &bridge,
                log::Level::Warn,
                "billing",
                &[("order_id", 42)],
                format_args!("card {} declined", 42),
            );
            let sc = cx.span().span_context().clone();
            (sc.trace_id(), sc.span_id())
        });

        let records = exporter.records();
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[0].trace_id, None);
        assert_eq!(records[0].severity, Some(Severity::Info));

        assert_ne!(trace_id, TraceId::INVALID);
        assert_eq!(records[1].trace_id, Some(trace_id));
        assert_eq!(records[1].span_id, Some(span_id));
        assert_eq!(records[1].severity, Some(Severity::Warn));
        assert_eq!(records[1].target.as_deref(), Some("billing"));
        assert_eq!(
            records[1].body,
            Some(AnyValue::from("card 42 declined".to_string()))
        );
        assert_eq!(records[1].attributes, [(Key::new("order_id"), AnyValue::Int(42))]);
    }

    #[test]
    fn a_second_logger_is_refused_with_a_clear_message() {
        // `install` is the step `init_log_bridge` ends with; giving it a logger twice is
        // exactly the situation of an application that already set env_logger. The
        // first call may lose to a logger set elsewhere in this test binary, so only the
        // second call's outcome is asserted.
        let provider = SdkLoggerProvider::builder().build();
        let level = log::max_level();
        let _ = super::install(Box::new(log_bridge_for(&provider)), level);
        let err = super::install(Box::new(log_bridge_for(&provider)), level).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidConfig);
        assert!(err.message().contains("already set"), "{err}");
        assert!(err.message().contains("log_bridge_for"), "{err}");
    }
}
