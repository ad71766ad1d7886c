//! Tail sampling settings: the `OTEL_TOOLKIT_TAIL_SAMPLING*` variables and
//! [`TelemetryBuilder::tail_sampling`](crate::TelemetryBuilder::tail_sampling).
//!
//! The variables are ours, not the specification's (which has no tail sampling in the
//! SDK), hence the `OTEL_TOOLKIT_` prefix. What the settings do is described on
//! [`TailSamplingConfig`]; the processor is in `crate::export::tail`.

use std::time::Duration;

use crate::Error;

/// `on` / `off` (also `true` / `false`): whether tail sampling runs.
pub(crate) const ENABLED: &str = "OTEL_TOOLKIT_TAIL_SAMPLING";
/// Root spans longer than this keep their trace, in milliseconds.
pub(crate) const LATENCY_THRESHOLD: &str = "OTEL_TOOLKIT_TAIL_SAMPLING_LATENCY_THRESHOLD_MS";
/// The most spans buffered at once.
pub(crate) const MAX_SPANS: &str = "OTEL_TOOLKIT_TAIL_SAMPLING_MAX_SPANS";
/// The most traces buffered at once.
pub(crate) const MAX_TRACES: &str = "OTEL_TOOLKIT_TAIL_SAMPLING_MAX_TRACES";
/// How long a trace may wait for its root span, in milliseconds.
pub(crate) const DECISION_TIMEOUT: &str = "OTEL_TOOLKIT_TAIL_SAMPLING_DECISION_TIMEOUT_MS";

/// In-process tail sampling: keep every trace with an error or a slow root span, whatever
/// the head sampler decided.
///
/// When enabled, spans the head sampler drops are still recorded (not exported) and held
/// per trace until the trace's *local root* ends (the first span of the trace in this
/// process: no parent, or a parent in another process). The trace is then exported if
/// the head sampler sampled it, if any of its spans ended with an error status, or if
/// the local root took longer than `latency_threshold`; otherwise it is dropped. Every
/// exported span carries `otel_toolkit.tail_sampling.reason` = `head`, `error` or `slow`.
///
/// The head decision is what propagates to other services (`traceparent`'s sampled flag
/// is set when a request starts, long before its outcome is known), so services
/// downstream of a trace kept for an error follow the head decision: see the README's
/// *Tail sampling* section.
///
/// Memory follows use: nothing is preallocated; at most `max_spans` spans in at most
/// `max_traces` traces wait. When either cap is reached, the oldest waiting traces are
/// decided early (with what is known: errors so far, or open longer than the
/// threshold), and counted in [`crate::telemetry_status()`] and the
/// `otel_toolkit.tail_sampling.overflow` metric. A trace whose root never ends here (a
/// leaked span) is decided once `decision_timeout` has passed, when the next span ends
/// or at the next flush or shutdown.
///
/// ```
/// use std::time::Duration;
/// use otel_core::config::TailSamplingConfig;
///
/// let tail = TailSamplingConfig {
///     latency_threshold: Duration::from_millis(500),
///     ..TailSamplingConfig::ENABLED
/// };
/// let (config, _) = otel_core::Telemetry::builder()
///     .env(|_| None)
///     .sampler_ratio(0.1)
///     .tail_sampling(tail)
///     .resolve()?;
/// assert!(config.tail_sampling.enabled);
/// # Ok::<(), otel_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailSamplingConfig {
    /// Whether tail sampling runs (`OTEL_TOOLKIT_TAIL_SAMPLING`; default off).
    pub enabled: bool,
    /// A local root span longer than this keeps its trace
    /// (`OTEL_TOOLKIT_TAIL_SAMPLING_LATENCY_THRESHOLD_MS`; default 1000 ms).
    pub latency_threshold: Duration,
    /// The most spans waiting for a decision (`OTEL_TOOLKIT_TAIL_SAMPLING_MAX_SPANS`;
    /// default 32,768).
    pub max_spans: usize,
    /// The most traces waiting for a decision (`OTEL_TOOLKIT_TAIL_SAMPLING_MAX_TRACES`;
    /// default 4,096).
    pub max_traces: usize,
    /// How long a trace may wait for its local root to end
    /// (`OTEL_TOOLKIT_TAIL_SAMPLING_DECISION_TIMEOUT_MS`; default 30,000 ms).
    pub decision_timeout: Duration,
}

impl TailSamplingConfig {
    /// Off, with the default limits.
    ///
    /// ```
    /// use otel_core::config::TailSamplingConfig;
    /// assert!(!TailSamplingConfig::DISABLED.enabled);
    /// assert_eq!(TailSamplingConfig::DISABLED.max_spans, 32_768);
    /// ```
    pub const DISABLED: TailSamplingConfig = TailSamplingConfig {
        enabled: false,
        latency_threshold: Duration::from_millis(1000),
        max_spans: 32_768,
        max_traces: 4_096,
        decision_timeout: Duration::from_millis(30_000),
    };

    /// On, with the default limits.
    ///
    /// ```
    /// use otel_core::config::TailSamplingConfig;
    /// assert!(TailSamplingConfig::ENABLED.enabled);
    /// assert_eq!(TailSamplingConfig::ENABLED.max_traces, 4_096);
    /// ```
    pub const ENABLED: TailSamplingConfig = TailSamplingConfig {
        enabled: true,
        ..Self::DISABLED
    };

    /// Checks a value set in code: limits must be at least 1 and the timeout positive.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.max_spans == 0 || self.max_traces == 0 {
            return Err(Error::config(format!(
                "tail_sampling: max_spans and max_traces must be at least 1 (defaults: {} spans, {} traces)",
                Self::DISABLED.max_spans,
                Self::DISABLED.max_traces
            )));
        }
        if self.decision_timeout.is_zero() {
            return Err(Error::config(
                "tail_sampling: decision_timeout is zero: give traces time to end, e.g. 30 s",
            ));
        }
        Ok(())
    }
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        Self::DISABLED
    }
}

/// Reads `OTEL_TOOLKIT_TAIL_SAMPLING` (`on`/`off`/`true`/`false`): `Err` holds the reason
/// an unparsable value is refused.
pub(crate) fn parse_switch(raw: &str) -> Result<bool, &'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err("expected on or off"),
    }
}
