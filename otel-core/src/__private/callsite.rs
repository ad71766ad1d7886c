//! Per-callsite caches of the tracer and the metric instruments.
//!
//! Each instrumented function owns one `static Callsite`. The first call after a provider
//! is installed creates the tracer and instruments and publishes them with one atomic
//! pointer store; every later call checks one pointer and one generation number. A cache
//! entry is leaked on purpose (as `crate::state` leaks its installed state): readers hold
//! plain `&'static` references with no reference counting, and entries are bounded by the
//! number of callsites times the number of `init()`s in the process.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::SpanKind;
use opentelemetry::{global, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute::{CODE_FUNCTION_NAME, ERROR_TYPE};

use super::global::{GlobalSlot, GlobalTracer};
use super::series::{FixedCounter, FixedHistogram, FixedUpDownCounter};
use super::{ACTIVE, CALLS, DURATION, RESULT};
use crate::state::Installed;

/// Deprecated in semantic conventions 1.30 in favour of a fully-qualified
/// `code.function.name` (which we also record); kept so dashboards can group calls by
/// module without parsing function names.
const CODE_NAMESPACE: &str = "code.namespace";

/// Bucket boundaries of `function.duration`, in seconds: from 100 µs (an in-memory
/// lookup) to 10 s (a slow remote call). The SDK default buckets are meant for
/// milliseconds and would put almost every call in the first bucket.
const DURATION_BOUNDARIES: [f64; 15] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What the macro knows about an instrumented function at compile time.
#[derive(Debug)]
pub struct Meta {
    /// Span name.
    pub name: &'static str,
    /// Fully qualified function name (`crate::module::Type::method`).
    pub function: &'static str,
    /// Module path of the function.
    pub namespace: &'static str,
    /// Instrumentation scope name (the crate name unless `tracer = "…"` was given).
    pub scope: &'static str,
    /// Instrumentation scope version (the crate version when the scope is the crate).
    pub scope_version: Option<&'static str>,
    /// Span kind.
    pub kind: SpanKind,
    /// Record `function.calls` and `function.duration`.
    pub metrics: bool,
    /// Also record `function.calls.active`.
    pub in_flight: bool,
    /// How many attributes the arguments and fields can produce at most.
    pub attr_capacity: usize,
}

/// Cached instruments and their precomputed attribute sets.
///
/// The successful-call series and the in-flight series have fixed attributes, so they
/// are fixed once (bound, with the `bound-instruments` feature: see [`series`]).
/// Failures carry a variable `error.type` and use the unbound instruments.
pub(crate) struct Instruments {
    pub(crate) calls: Counter<u64>,
    pub(crate) duration: Histogram<f64>,
    pub(crate) ok_calls: FixedCounter<u64>,
    pub(crate) ok_duration: FixedHistogram<f64>,
    pub(crate) active: Option<FixedUpDownCounter<i64>>,
    /// function, namespace.
    pub(crate) base: [KeyValue; 2],
}

impl Instruments {
    fn new(meter: &Meter, meta: &Meta) -> Self {
        let calls = meter
            .u64_counter(CALLS)
            .with_unit("{call}")
            .with_description("Calls of functions instrumented with #[instrumented]")
            .build();
        let duration = meter
            .f64_histogram(DURATION)
            .with_unit("s")
            .with_description("Duration of calls of functions instrumented with #[instrumented]")
            .with_boundaries(DURATION_BOUNDARIES.to_vec())
            .build();
        let active = meta.in_flight.then(|| {
            meter
                .i64_up_down_counter(ACTIVE)
                .with_unit("{call}")
                .with_description("Calls in progress of functions instrumented with #[instrumented]")
                .build()
        });
        let function = KeyValue::new(CODE_FUNCTION_NAME, meta.function);
        let namespace = KeyValue::new(CODE_NAMESPACE, meta.namespace);
        let base = [function, namespace];
        let ok = [base[0].clone(), base[1].clone(), KeyValue::new(RESULT, "ok")];
        Instruments {
            ok_calls: FixedCounter::new(&calls, &ok),
            ok_duration: FixedHistogram::new(&duration, &ok),
            calls,
            duration,
            active: active.map(|a| FixedUpDownCounter::new(&a, &base)),
            base,
        }
    }

    /// Attributes of a failed call: low cardinality, `error_type` is a type name or one
    /// of `panic`/`cancelled`.
    pub(crate) fn error_attributes(&self, error_type: &'static str) -> [KeyValue; 4] {
        [
            self.base[0].clone(),
            self.base[1].clone(),
            KeyValue::new(RESULT, "error"),
            KeyValue::new(ERROR_TYPE, error_type),
        ]
    }
}

struct InstalledCache {
    generation: u64,
    tracer: SdkTracer,
    instruments: Option<Instruments>,
}

/// Instruments from `opentelemetry::global`, keyed by the identity of the global meter
/// provider so that a provider installed later replaces them.
struct GlobalCache {
    provider_key: usize,
    // Holding the provider keeps its address from being reused by a later provider.
    _provider: Arc<dyn opentelemetry::metrics::MeterProvider + Send + Sync>,
    instruments: Instruments,
}

/// The static state of one instrumented function.
#[derive(Debug)]
pub struct Callsite {
    meta: Meta,
    installed: AtomicPtr<InstalledCache>,
    global: AtomicPtr<GlobalCache>,
    global_tracer: GlobalSlot,
}

impl Callsite {
    /// A callsite with empty caches (usable in a `static`).
    pub const fn new(meta: Meta) -> Self {
        Callsite {
            meta,
            installed: AtomicPtr::new(ptr::null_mut()),
            global: AtomicPtr::new(ptr::null_mut()),
            global_tracer: GlobalSlot::new(),
        }
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    fn scope(&self) -> InstrumentationScope {
        let builder = InstrumentationScope::builder(self.meta.scope);
        match self.meta.scope_version {
            Some(version) => builder.with_version(version).build(),
            None => builder.build(),
        }
    }

    /// The tracer and instruments for the installed state `installed`.
    #[inline]
    pub(crate) fn installed(
        &'static self,
        installed: &'static Installed,
    ) -> (&'static SdkTracer, Option<&'static Instruments>) {
        let cached = self.installed.load(Ordering::Acquire);
        // SAFETY: non-null values come from `Box::into_raw` in `init_installed` and are
        // never freed (see the module docs).
        if let Some(cache) = unsafe { cached.as_ref() } {
            if cache.generation == installed.generation {
                return (&cache.tracer, cache.instruments.as_ref());
            }
        }
        self.init_installed(installed)
    }

    #[cold]
    #[inline(never)]
    fn init_installed(
        &'static self,
        installed: &'static Installed,
    ) -> (&'static SdkTracer, Option<&'static Instruments>) {
        use opentelemetry::trace::TracerProvider as _;
        super::panic::ensure_hook();
        let scope = self.scope();
        let instruments = self.meta.metrics.then(|| {
            Instruments::new(
                &installed.meter_provider.meter_with_scope(scope.clone()),
                &self.meta,
            )
        });
        let cache: &'static InstalledCache = Box::leak(Box::new(InstalledCache {
            generation: installed.generation,
            tracer: installed.tracer_provider.tracer_with_scope(scope),
            instruments,
        }));
        // Racing initialisations each leak one entry and the last store wins; both are
        // equivalent, so no compare-and-swap dance is needed.
        self.installed
            .store(ptr::from_ref(cache).cast_mut(), Ordering::Release);
        (&cache.tracer, cache.instruments.as_ref())
    }

    /// The instruments from the global meter provider (the slow path used when
    /// `otel_core::init` was not called).
    #[inline]
    pub(crate) fn global_instruments(&'static self) -> Option<&'static Instruments> {
        if !self.meta.metrics {
            return None;
        }
        self.global_meter_instruments()
    }

    fn global_meter_instruments(&'static self) -> Option<&'static Instruments> {
        let provider = global::meter_provider();
        let key = Arc::as_ptr(&provider).cast::<()>() as usize;
        let cached = self.global.load(Ordering::Acquire);
        // SAFETY: as in `installed`, entries are leaked and never freed.
        if let Some(cache) = unsafe { cached.as_ref() } {
            if cache.provider_key == key {
                return Some(&cache.instruments);
            }
        }
        super::panic::ensure_hook();
        let instruments = Instruments::new(&provider.meter_with_scope(self.scope()), &self.meta);
        let cache: &'static GlobalCache = Box::leak(Box::new(GlobalCache {
            provider_key: key,
            _provider: provider,
            instruments,
        }));
        self.global
            .store(ptr::from_ref(cache).cast_mut(), Ordering::Release);
        Some(&cache.instruments)
    }

    /// The tracer of the current global tracer provider, built once per provider.
    #[inline]
    pub(crate) fn global_tracer(&'static self) -> &'static GlobalTracer {
        self.global_tracer.get(|| {
            super::panic::ensure_hook();
            self.scope()
        })
    }
}
