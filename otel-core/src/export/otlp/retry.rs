//! Retrying a failed export: the OTLP specification's transient failures (gRPC
//! `UNAVAILABLE`, HTTP 429/502/503/504, a connection that failed) are retried with
//! exponential backoff, as the OTLP crate's exporters do (three retries, 100 ms doubling
//! up to 1.6 s, up to 100 ms of jitter), waiting at least as long as a server's
//! throttling hint asks; the whole export stays within the exporter's timeout.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

const MAX_RETRIES: u32 = 3;
const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// A server's throttling hint is followed up to this long.
const MAX_THROTTLE: Duration = Duration::from_secs(600);

/// Whether a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// The request itself is wrong (or refused): repeating it fails the same way.
    Never,
    /// A transient failure: retry after the backoff delay.
    Backoff,
    /// The server asked to wait this long before the next attempt.
    After(Duration),
}

/// A failed attempt: why, and whether to try again.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) retry: Retry,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(retry: Retry, message: impl Into<String>) -> Self {
        Failure {
            retry,
            message: message.into(),
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the next wait would end past
/// `timeout` from now. The error is the last attempt's message.
pub(super) async fn with_backoff<F, Fut>(timeout: Duration, mut attempt: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let start = Instant::now();
    let mut delay = INITIAL_DELAY;
    let mut retries = 0;
    loop {
        let failure = match attempt().await {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let wait = match failure.retry {
            Retry::Never => return Err(failure.message),
            _ if retries == MAX_RETRIES => return Err(failure.message),
            Retry::Backoff => (delay + jitter(retries)).min(MAX_DELAY),
            Retry::After(hint) => hint.min(MAX_THROTTLE),
        };
        if start.elapsed() + wait >= timeout {
            return Err(failure.message);
        }
        tokio::time::sleep(wait).await;
        retries += 1;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// Up to [`MAX_JITTER_MS`], so that exporters failing together do not retry together.
fn jitter(seed: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one(seed);
    Duration::from_millis(random % (MAX_JITTER_MS + 1))
}

/// The seconds of an HTTP `Retry-After` header (its date form is not followed: the
/// backoff applies instead).
#[cfg(feature = "otlp-http")]
pub(super) fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn run<F: Future>(fut: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(fut)
    }

    #[test]
    fn transient_failures_are_retried_three_times() {
        let attempts = Cell::new(0);
        let result = run(with_backoff(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            async { Err(Failure::new(Retry::Backoff, "503")) }
        }));
        assert_eq!(result, Err("503".into()));
        assert_eq!(attempts.get(), 4);
    }

    #[test]
    fn a_later_success_ends_the_retries() {
        let attempts = Cell::new(0);
        let result = run(with_backoff(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            let n = attempts.get();
            async move {
                if n < 3 {
                    Err(Failure::new(Retry::Backoff, "unavailable"))
                } else {
                    Ok(())
                }
            }
        }));
        assert_eq!((result, attempts.get()), (Ok(()), 3));
    }

    #[test]
    fn a_refused_request_is_not_repeated() {
        let attempts = Cell::new(0);
        let result = run(with_backoff(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            async { Err(Failure::new(Retry::Never, "400 Bad Request")) }
        }));
        assert_eq!((result, attempts.get()), (Err("400 Bad Request".into()), 1));
    }

    #[test]
    fn a_throttling_hint_past_the_timeout_fails_at_once() {
        let attempts = Cell::new(0);
        let started = Instant::now();
        let result = run(with_backoff(Duration::from_secs(10), || {
            attempts.set(attempts.get() + 1);
            async { Err(Failure::new(Retry::After(Duration::from_secs(30)), "429")) }
        }));
        assert_eq!((result, attempts.get()), (Err("429".into()), 1));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[cfg(feature = "otlp-http")]
    #[test]
    fn retry_after_takes_seconds() {
        assert_eq!(retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
