//! Flushing the installed providers from anywhere, within a deadline: [`force_flush`].
//!
//! A process that is frozen between requests (AWS Lambda, other FaaS platforms) must
//! export what a request recorded before it answers, or the data waits until the next
//! thaw, or is lost with the instance. The guard can flush, but it lives in `main`, away
//! from the handler; this reaches the same providers through the process state.

use std::fmt;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::time::Duration;

use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::export::stats::Stats;
use crate::state::{self, Current};
use crate::{Error, ErrorKind};

/// Exports everything the providers installed by [`init`](crate::init) (or the `testing`
/// harness) have recorded so far: spans, then logs, then metrics, so the metrics' export
/// includes anything the others recorded. Returns within `timeout`.
///
/// The flush runs on a thread of its own and the caller only waits for it, so it is
/// safe on any thread, including a current-thread Tokio runtime (the exporters use
/// their own runtime, never the caller's). When `timeout` passes first the error says
/// so and the flush finishes in the background, bounded by the export timeouts.
///
/// Does nothing and returns `Ok` when telemetry is disabled or nothing was installed by
/// this crate (providers you built and installed in `opentelemetry::global` yourself
/// are flushed through your own handles to them).
///
/// ```
/// use std::time::Duration;
///
/// let _guard = otel_core::Telemetry::builder()
///     .traces_exporters([])
///     .metrics_exporters([])
///     .init()
///     .unwrap();
/// otel_core::in_span("handle-event", || {});
/// otel_core::force_flush(Duration::from_secs(2)).unwrap();
/// ```
pub fn force_flush(timeout: Duration) -> Result<(), Error> {
    let installed = match state::current() {
        Current::Installed(installed) => installed,
        Current::Disabled | Current::Global => return Ok(()),
    };
    let stats = crate::status::stats(installed.generation);
    let (done, wait) = sync_channel(1);
    std::thread::Builder::new()
        .name("otel-flush".into())
        .spawn(move || {
            // What the exporters themselves record must not feed the pipeline they drain.
            let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
            let result = flush_providers(
                &installed.tracer_provider,
                &installed.logger_provider,
                &installed.meter_provider,
                stats.as_deref(),
            );
            // The caller may have stopped waiting; then nobody needs the result.
            let _ = done.send(result);
        })
        .map_err(|e| Error::new(ErrorKind::Shutdown, format!("cannot start the flush thread: {e}")))?;
    match wait.recv_timeout(timeout) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(Error::new(
            ErrorKind::Shutdown,
            format!(
                "telemetry flush did not finish within {timeout:?}; it goes on in the background \
                 (is the collector reachable?)"
            ),
        )),
        Err(RecvTimeoutError::Disconnected) => Err(Error::new(
            ErrorKind::Shutdown,
            "telemetry flush failed: an exporter panicked",
        )),
    }
}

/// Flushes the three providers in order and reports every signal that failed.
pub(crate) fn flush_providers(
    tracer: &SdkTracerProvider,
    logger: &SdkLoggerProvider,
    meter: &SdkMeterProvider,
    stats: Option<&Stats>,
) -> Result<(), Error> {
    let mut failures = Vec::new();
    if let Err(e) = tracer.force_flush() {
        failures.push(explain(stats, "traces", e));
    }
    if let Err(e) = logger.force_flush() {
        failures.push(explain(stats, "logs", e));
    }
    if let Err(e) = meter.force_flush() {
        failures.push(explain(stats, "metrics", e));
    }
    joined(failures, "flush")
}

/// The SDK's flush errors say only that something failed; the exporter's last error
/// says why (connection refused, timed out, ...).
pub(crate) fn explain(stats: Option<&Stats>, signal: &str, error: impl fmt::Display) -> String {
    let last = stats.and_then(|s| {
        match signal {
            "traces" => &s.spans,
            "logs" => &s.logs,
            _ => &s.metrics,
        }
        .last_error()
    });
    match last {
        Some((_, cause)) => format!("{signal}: {error} (last export error: {cause})"),
        None => format!("{signal}: {error}"),
    }
}

/// One error naming every failed signal, or `Ok`.
pub(crate) fn joined(failures: Vec<String>, what: &str) -> Result<(), Error> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Shutdown,
            format!("telemetry {what} failed: {}", failures.join("; ")),
        ))
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::time::Duration;

    #[test]
    fn the_testing_harness_flushes() {
        crate::testing::install();
        super::force_flush(Duration::from_secs(5)).expect("in-memory providers flush at once");
    }
}
