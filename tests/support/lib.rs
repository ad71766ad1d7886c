//! Shared helpers for the integration tests: a real OTLP collector ([rotel]) run as a
//! child process, parsers for what it prints, a TLS terminator in front of it with a
//! CA made per run, and the export scenario the transport tests share.
//!
//! Every test file is its own process with a single `#[test]`, because
//! `otel_core::init()` installs process-wide state (global providers, the `log` logger).
//!
//! [rotel]: https://github.com/streamfold/rotel

pub mod collector;
pub mod count;
pub mod parse;
pub mod roundtrip;
pub mod tap;
pub mod tls;
pub mod unreachable;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use collector::{closed_port, Collector, SilentServer};
pub use parse::{ReceivedDataPoint, ReceivedLog, ReceivedSpan};

/// How long a test waits for the collector to print what was sent to it. Generous:
/// the data is normally there within a few hundred milliseconds, but CI machines are
/// shared. The wait ends as soon as the data is there.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A `service.name` no other run shares (process id and a counter), so a test only
/// looks at its own data.
pub fn unique_service_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
