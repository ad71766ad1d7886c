//! Metrics helpers: process CPU and memory instruments following the process semantic
//! conventions, and observable gauges from a closure (queue lengths, pool sizes).
//!
//! The functions without a meter argument use the meter provider in
//! `opentelemetry::global` (the one [`crate::init`] installs) with the instrumentation
//! scope `otel-core`; the `_on` variants take a [`Meter`] you choose.
//!
//! Observable instruments are polled by the SDK at each collection (every export
//! interval, or each Prometheus scrape) and stay registered as long as their meter
//! provider lives: there is no handle to keep alive and nothing to unregister.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), otel_core::Error> {
//! let queue_len = Arc::new(AtomicUsize::new(0));
//! let observed = Arc::clone(&queue_len);
//! otel_core::metrics::observable_gauge("jobs.queue.length", move || observed.load(Ordering::Relaxed))
//!     .with_unit("{job}")
//!     .with_description("Jobs waiting to be picked up")
//!     .build()?;
//! let _process = otel_core::metrics::register_process_metrics()?;
//! # Ok(())
//! # }
//! ```

use opentelemetry::metrics::Meter;
use opentelemetry::{global, InstrumentationScope};

use crate::Error;

mod gauge;
mod process;
#[cfg(test)]
mod test_support;

pub use gauge::{observable_gauge, observable_gauge_on, GaugeValue, Measurement, ObservableGaugeBuilder};
pub use process::{register_process_metrics, register_process_metrics_on, ProcessMetrics};

/// The meter of this module's helpers: the global provider, scope `otel-core`, tagged
/// with the semantic-conventions schema the instrument names follow.
fn meter() -> Meter {
    global::meter_with_scope(
        InstrumentationScope::builder(crate::span::SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
            .build(),
    )
}

/// Checks an instrument name against the OpenTelemetry rule the SDK enforces
/// (`[A-Za-z][A-Za-z0-9_.\-/]{0,254}`). The SDK would only log an invalid name and hand
/// back a no-op instrument; returning an error makes the mistake visible.
pub(crate) fn validate_instrument_name(name: &str) -> Result<(), Error> {
    let invalid = |why: &str| {
        Err(Error::config(format!(
            "invalid instrument name {name:?}: {why}; names must match \
             [A-Za-z][A-Za-z0-9_.-/]{{0,254}}, e.g. \"jobs.queue.length\""
        )))
    };
    let Some(first) = name.chars().next() else {
        return invalid("it is empty");
    };
    if !first.is_ascii_alphabetic() {
        return invalid("it must start with an ASCII letter");
    }
    if name.len() > 255 {
        return invalid("it is longer than 255 characters");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !matches!(c, '_' | '.' | '-' | '/'))
    {
        return invalid(&format!("{bad:?} is not allowed"));
    }
    Ok(())
}

/// Checks a unit against the SDK rule (ASCII, at most 63 characters).
pub(crate) fn validate_unit(unit: &str) -> Result<(), Error> {
    if !unit.is_ascii() {
        return Err(Error::config(format!(
            "invalid instrument unit {unit:?}: units must be ASCII (UCUM), e.g. \"By\", \"s\", \"{{job}}\""
        )));
    }
    if unit.len() > 63 {
        return Err(Error::config(format!(
            "invalid instrument unit {unit:?}: units must be at most 63 characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{validate_instrument_name, validate_unit};

    #[test]
    fn instrument_names_follow_the_sdk_rule() {
        for ok in ["a", "jobs.queue.length", "A_b-c/d.e9", &"x".repeat(255)] {
            assert!(validate_instrument_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("9lives", "start with an ASCII letter"),
            ("_x", "start with an ASCII letter"),
            ("queue length", "' ' is not allowed"),
            ("naïve", "'ï' is not allowed"),
            ("a:b", "':' is not allowed"),
            (&"x".repeat(256), "longer than 255"),
        ] {
            let err = validate_instrument_name(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidConfig);
            assert!(err.message().contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn units_are_short_ascii() {
        assert!(validate_unit("By").is_ok());
        assert!(validate_unit("{job}").is_ok());
        assert!(validate_unit("").is_ok());
        assert!(validate_unit("µs").unwrap_err().message().contains("ASCII"));
        assert!(validate_unit(&"s".repeat(64))
            .unwrap_err()
            .message()
            .contains("63"));
    }
}
