//! The tracer the layer starts its spans with: from the provider [`crate::init`]
//! installed (cached once per installation) or, when nothing was installed by this
//! crate, from `opentelemetry::global`, looked up per span because the global provider
//! may be replaced at any time and offers no identity to cache against (as for the
//! macros' global path).

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, InstrumentationScope};
use opentelemetry_sdk::trace::SdkTracer;

use crate::state::Installed;

/// Instrumentation scope of the bridged spans: they come from `tracing` instrumentation.
pub(super) const SCOPE: &str = "tracing";

struct Cached {
    generation: u64,
    tracer: SdkTracer,
}

/// Leaked on purpose, one per `init()` at most, like `crate::state`'s installed state:
/// readers keep a plain `&'static` with no reference counting.
static INSTALLED: AtomicPtr<Cached> = AtomicPtr::new(ptr::null_mut());

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE).build()
}

/// The tracer of the installed provider, created on the first span after each `init()`.
#[inline]
pub(super) fn installed(installed: &'static Installed) -> &'static SdkTracer {
    // SAFETY: non-null values come from `Box::leak` in `cache` and are never freed.
    if let Some(cached) = unsafe { INSTALLED.load(Ordering::Acquire).as_ref() } {
        if cached.generation == installed.generation {
            return &cached.tracer;
        }
    }
    cache(installed)
}

#[cold]
#[inline(never)]
fn cache(installed: &'static Installed) -> &'static SdkTracer {
    let cached: &'static Cached = Box::leak(Box::new(Cached {
        generation: installed.generation,
        tracer: installed.tracer_provider.tracer_with_scope(scope()),
    }));
    // Racing first spans each leak one equivalent entry; the last store wins.
    INSTALLED.store(ptr::from_ref(cached).cast_mut(), Ordering::Release);
    &cached.tracer
}

/// A tracer of the global provider, whatever it is now.
pub(super) fn global() -> global::BoxedTracer {
    global::tracer_provider().tracer_with_scope(scope())
}
