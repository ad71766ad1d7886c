//! The process-wide switch read on every hot path.
//!
//! One atomic pointer load decides between three worlds:
//! - nothing installed by us: defer to `opentelemetry::global` (whatever the user put there);
//! - disabled (`OTEL_SDK_DISABLED=true`): do nothing, at the cost of that one load;
//! - installed by [`crate::init`]: use the concrete SDK tracer directly, with no boxing
//!   and no lock on the global provider.
//!
//! An installed state is leaked on purpose: readers hold `&'static` references without
//! reference counting, and a process installs a handful of states at most (one per
//! `init()`), so the leak is bounded and tiny.

#[cfg(feature = "pipeline")]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicPtr, Ordering};

#[cfg(feature = "pipeline")]
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// What [`crate::init`] installed, read by the span helpers, the macros and the layers.
///
/// Only the pipeline installs a state: with the core alone it is never built, and
/// [`current`] always answers [`Current::Global`].
#[derive(Debug)]
#[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
pub(crate) struct Installed {
    /// The tracer with the `otel-core` instrumentation scope.
    pub(crate) tracer: SdkTracer,
    /// For instrumentation with its own scope (the macros, the layers).
    #[allow(dead_code)]
    pub(crate) tracer_provider: SdkTracerProvider,
    #[allow(dead_code)]
    pub(crate) meter_provider: SdkMeterProvider,
    /// OpenTelemetry 0.33 has no global logger provider, so the log bridges read it here.
    #[cfg(feature = "pipeline")]
    #[cfg_attr(
        not(any(feature = "tracing", feature = "log", feature = "testing")),
        allow(dead_code)
    )]
    pub(crate) logger_provider: SdkLoggerProvider,
    /// Whether a child of an unsampled span is unsampled too (the sampler follows the
    /// parent, or samples nothing), so instrumentation may skip the SDK entirely.
    pub(crate) parent_based: bool,
    /// Whether the sampler drops every root span (`always_off`, `parentbased_always_off`,
    /// tail sampling off): then instrumentation may skip the SDK for a call with no
    /// parent span, since nothing of it would be recorded.
    pub(crate) drops_roots: bool,
    /// The sampler, when its decision can be taken before a span is described
    /// ([`crate::head_sampling`]).
    pub(crate) head: crate::head_sampling::HeadSampler,
    /// Changes on every install, so callers that cache per-callsite instruments can
    /// tell that a new provider replaced the one they cached from.
    pub(crate) generation: u64,
}

/// The state seen by a hot path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Current {
    /// Nothing installed by this crate: use `opentelemetry::global`.
    Global,
    /// Telemetry is disabled: do nothing.
    Disabled,
    /// Our SDK is installed.
    Installed(&'static Installed),
}

const DISABLED: *mut Installed = std::ptr::dangling_mut();
static STATE: AtomicPtr<Installed> = AtomicPtr::new(std::ptr::null_mut());
#[cfg(feature = "pipeline")]
static GENERATION: AtomicU64 = AtomicU64::new(1);

#[inline(always)]
pub(crate) fn current() -> Current {
    let ptr = STATE.load(Ordering::Acquire);
    if ptr.is_null() {
        Current::Global
    } else if ptr == DISABLED {
        Current::Disabled
    } else {
        // SAFETY: every non-null, non-sentinel value stored in STATE comes from
        // `Box::leak` in `install` and is never freed.
        Current::Installed(unsafe { &*ptr })
    }
}

/// `false` when telemetry is disabled (`OTEL_SDK_DISABLED=true` or
/// `Telemetry::builder().disabled(true)`), `true` otherwise.
///
/// It costs one atomic load, so instrumentation may call it before doing any work.
///
/// ```
/// // Nothing installed: the global (no-op unless you set one) providers are used.
/// assert!(otel_core::is_enabled());
/// ```
#[inline]
pub fn is_enabled() -> bool {
    STATE.load(Ordering::Acquire) != DISABLED
}

// Writers: only the pipeline (`init()`, the guard, the testing harness) changes the state.

#[cfg(feature = "pipeline")]
pub(crate) fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

#[cfg(feature = "pipeline")]
pub(crate) fn install(installed: Installed) -> &'static Installed {
    let leaked: &'static mut Installed = Box::leak(Box::new(installed));
    STATE.store(leaked, Ordering::Release);
    leaked
}

#[cfg(feature = "pipeline")]
pub(crate) fn set_disabled() {
    STATE.store(DISABLED, Ordering::Release);
}

/// Returns to the global fallback, but only if the state is still the one identified
/// by `generation` (a later `init()` must not be undone by an older guard).
#[cfg(feature = "pipeline")]
pub(crate) fn uninstall(generation: Option<u64>) {
    let ptr = STATE.load(Ordering::Acquire);
    let matches = match current() {
        Current::Installed(i) => Some(i.generation) == generation,
        Current::Disabled => generation.is_none(),
        Current::Global => false,
    };
    if matches {
        let _ = STATE.compare_exchange(ptr, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
    }
}

/// The logger provider installed by [`crate::init`], if any (the log bridges use it).
#[cfg(feature = "pipeline")]
#[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
pub(crate) fn logger_provider() -> Option<SdkLoggerProvider> {
    match current() {
        Current::Installed(installed) => Some(installed.logger_provider.clone()),
        Current::Global | Current::Disabled => None,
    }
}

/// Makes an already installed state current again (the testing harness, after a test
/// replaced it).
#[cfg(feature = "testing")]
pub(crate) fn reinstall(installed: &'static Installed) {
    STATE.store(installed as *const Installed as *mut Installed, Ordering::Release);
}
