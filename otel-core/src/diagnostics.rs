//! Setup mistakes that instrumentation notices at run time (a layer that cannot see
//! routes, say), reported once each in `telemetry_status().warnings`.
//!
//! ```
//! otel_core::diagnostics::warn_once("example: something is misconfigured");
//! otel_core::diagnostics::warn_once("example: something is misconfigured");
//! assert_eq!(
//!     otel_core::diagnostics::warnings().iter().filter(|w| w.starts_with("example:")).count(),
//!     1
//! );
//! ```

use std::sync::{Mutex, PoisonError};

static WARNINGS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Records `message` unless it was recorded before. Meant for a cold path: call it once
/// per component (behind a `std::sync::Once` or an atomic flag), not per request.
pub fn warn_once(message: &'static str) {
    let mut warnings = WARNINGS.lock().unwrap_or_else(PoisonError::into_inner);
    if !warnings.contains(&message) {
        warnings.push(message);
    }
}

/// Every message recorded so far, in order.
pub fn warnings() -> Vec<&'static str> {
    WARNINGS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}
