//! Following the tracer provider in `opentelemetry::global` without building a tracer on
//! every call.
//!
//! `opentelemetry::global` has no generation number and no hook on
//! `set_tracer_provider`, and `global::tracer_with_scope` builds a boxed tracer each time
//! (a lock, a scope clone, the SDK tracer and a box: about 300 instructions). So a cache
//! slot keeps the boxed tracer together with the identity of the provider it came from:
//! the address of the provider's shared allocation, read from the handle that
//! `global::tracer_provider()` returns (one uncontended read lock and one reference count
//! increment and decrement). A provider installed or replaced later has another address,
//! so the next call builds a new entry. The entry keeps its handle, so that address
//! cannot be reused by a later provider while the entry can still be matched.
//!
//! Entries are leaked, as the callsite caches are: readers hold `&'static` references
//! without reference counting. There is one entry per slot and provider installed, and
//! each keeps its provider alive (call `shutdown()` on a provider you replace, as the SDK
//! asks anyway; dropping the last handle is then not the moment it flushes).

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use opentelemetry::global::{self, BoxedTracer, GlobalTracerProvider};
use opentelemetry::trace::{SpanContext, TracerProvider as _};
use opentelemetry::InstrumentationScope;

/// The identity of a global tracer provider: the two words of its `Arc<dyn …>` handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProviderKey([usize; 2]);

// `GlobalTracerProvider` is a wrapper around one `Arc<dyn ObjectSafeTracerProvider>`, a
// pointer to the shared allocation and a vtable pointer, with no padding. A future
// `opentelemetry` that adds a field changes the size and stops the build here, rather
// than letting `ProviderKey::of` read padding.
const _: () = assert!(std::mem::size_of::<GlobalTracerProvider>() == std::mem::size_of::<[usize; 2]>());

impl ProviderKey {
    #[inline]
    pub(crate) fn of(provider: &GlobalTracerProvider) -> Self {
        // SAFETY: the assertion above makes the two types the same size, and every byte
        // of `GlobalTracerProvider` is a byte of its two pointers (no padding), so the
        // copy reads only initialised pointer bytes; the handle is only compared, never
        // turned back into a pointer.
        let words: [*const (); 2] = unsafe { std::mem::transmute_copy(provider) };
        ProviderKey(words.map(|p| p as usize))
    }
}

/// A tracer built from the global provider, and what its spans showed about it.
pub(crate) struct GlobalTracer {
    key: ProviderKey,
    // Held so the provider's address stays its own while this entry exists.
    _provider: GlobalTracerProvider,
    tracer: BoxedTracer,
    noop: AtomicBool,
}

impl GlobalTracer {
    /// The tracer to start spans with.
    #[inline]
    pub(crate) fn tracer(&self) -> &BoxedTracer {
        &self.tracer
    }

    /// Whether a span of this tracer already showed that it is a no-op: then no span,
    /// no attribute and no context is worth making.
    #[inline]
    pub(crate) fn is_noop(&self) -> bool {
        self.noop.load(Ordering::Relaxed)
    }

    /// Learns from a span that was not recorded. A no-op tracer answers with no identity
    /// of its own (the parent's span context, or an invalid one under no parent), which
    /// an SDK span never does: it always gets a new span id, sampled or not.
    #[inline]
    pub(crate) fn observe_unrecorded(&self, span: &SpanContext, parent: &SpanContext) {
        if span.span_id() == parent.span_id() {
            self.noop.store(true, Ordering::Relaxed);
        }
    }
}

/// A cache slot for one instrumentation scope (a callsite, or the span helpers).
#[derive(Debug)]
pub(crate) struct GlobalSlot(AtomicPtr<GlobalTracer>);

impl GlobalSlot {
    /// An empty slot (usable in a `static`).
    pub(crate) const fn new() -> Self {
        GlobalSlot(AtomicPtr::new(ptr::null_mut()))
    }

    /// The tracer of the current global provider for `scope`, built the first time this
    /// slot sees that provider.
    #[inline]
    pub(crate) fn get(&self, scope: impl FnOnce() -> InstrumentationScope) -> &'static GlobalTracer {
        let provider = global::tracer_provider();
        let key = ProviderKey::of(&provider);
        let cached = self.0.load(Ordering::Acquire);
        // SAFETY: non-null values come from `Box::leak` in `refresh` and are never freed.
        if let Some(entry) = unsafe { cached.as_ref() } {
            if entry.key == key {
                return entry;
            }
        }
        self.refresh(provider, key, scope)
    }

    #[cold]
    #[inline(never)]
    fn refresh(
        &self,
        provider: GlobalTracerProvider,
        key: ProviderKey,
        scope: impl FnOnce() -> InstrumentationScope,
    ) -> &'static GlobalTracer {
        let entry: &'static GlobalTracer = Box::leak(Box::new(GlobalTracer {
            key,
            tracer: provider.tracer_with_scope(scope()),
            _provider: provider,
            noop: AtomicBool::new(false),
        }));
        // Racing refreshes each leak one entry and the last store wins; they are
        // equivalent, so no compare-and-swap is needed.
        self.0.store(ptr::from_ref(entry).cast_mut(), Ordering::Release);
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Replacing the provider is covered where tests own the process's globals
    // (otel-macros/tests and tests/); unit tests here share the process.
    #[test]
    fn handles_of_one_provider_have_one_key() {
        let a = global::tracer_provider();
        let b = global::tracer_provider();
        assert_eq!(ProviderKey::of(&a), ProviderKey::of(&b));
        assert_ne!(ProviderKey::of(&a).0, [0, 0]);
    }
}
