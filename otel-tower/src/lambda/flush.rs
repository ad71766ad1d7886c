//! The flush before the response: on Tokio's blocking pool, so the invocation's runtime
//! (a current-thread one under `lambda_runtime::run`) is never blocked on it.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;

use super::layer::LambdaConfig;

/// A flush under way.
pub(crate) type Pending = JoinHandle<Result<(), otel_core::Error>>;

/// How long a flush may take at `now`: until the deadline (milliseconds since the Unix
/// epoch, 0 when unknown) less `reserve`, and at most `cap`. `None` when no time is left.
pub(crate) fn budget(
    deadline_ms: u64,
    now: SystemTime,
    reserve: Duration,
    cap: Duration,
) -> Option<Duration> {
    let budget = if deadline_ms == 0 {
        cap
    } else {
        let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
        let remaining = deadline.duration_since(now).ok()?;
        remaining.checked_sub(reserve)?.min(cap)
    };
    (!budget.is_zero()).then_some(budget)
}

/// Starts flushing everything `otel_core::init()` installed, bounded by `budget`.
/// Outside a Tokio runtime (a test driving the service by hand) it flushes in place
/// and returns `None`.
pub(crate) fn start(budget: Duration, config: &LambdaConfig) -> Option<Pending> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => Some(runtime.spawn_blocking(move || otel_core::force_flush(budget))),
        Err(_) => {
            report(otel_core::force_flush(budget), config);
            None
        }
    }
}

/// Flushes in place: after a panic, there is no later poll to wait in.
pub(crate) fn blocking(budget: Duration, config: &LambdaConfig) {
    report(otel_core::force_flush(budget), config);
}

/// A failed flush loses nothing yet (the data waits for the next flush), but it means
/// the exporter cannot keep up or reach its collector: said once on stderr, which
/// Lambda sends to the function's log.
pub(crate) fn report(result: Result<(), otel_core::Error>, config: &LambdaConfig) {
    if let Err(error) = result {
        if !config.flush_failure_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "otel-tower: flushing telemetry before the Lambda response failed: {error} (reported once)"
            );
        }
    }
}

/// What a finished `spawn_blocking` task gives back.
pub(crate) fn joined(
    result: Result<Result<(), otel_core::Error>, tokio::task::JoinError>,
) -> Result<(), otel_core::Error> {
    result.unwrap_or_else(|e| {
        Err(otel_core::Error::new(
            otel_core::ErrorKind::Shutdown,
            format!("the flush task did not complete: {e}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::budget;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_flush_ends_before_the_deadline_less_the_reserve() {
        let now = UNIX_EPOCH + 1_000_000 * MS;
        let (reserve, cap) = (100 * MS, 2000 * MS);
        // 60 s left: the cap bounds it.
        assert_eq!(budget(1_060_000, now, reserve, cap), Some(cap));
        // 500 ms left: up to 100 ms before the deadline.
        assert_eq!(budget(1_000_500, now, reserve, cap), Some(400 * MS));
        // Less than the reserve left, or the deadline passed: no flush.
        assert_eq!(budget(1_000_100, now, reserve, cap), None);
        assert_eq!(budget(1_000_050, now, reserve, cap), None);
        assert_eq!(budget(999_000, now, reserve, cap), None);
        // No deadline known: the cap.
        assert_eq!(budget(0, now, reserve, cap), Some(cap));
    }
}
