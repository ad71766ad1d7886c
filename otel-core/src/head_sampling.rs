//! The head sampler's decision taken before a span is built, for instrumentation whose
//! span is costly to describe (the `otel-tower` layers: a dozen attributes, a name, a
//! builder). Not a public API: nothing here is covered by semver, and only the crates of
//! the same release may use it.
//!
//! The SDK decides with the span's name, kind, attributes and links, because a sampler
//! may read them (and the HTTP conventions ask for the sampling-relevant attributes at
//! creation for that reason). The samplers [`crate::init`] installs (always on or off,
//! trace id ratio, and the parent-based forms of these) read none of them, so when the
//! pipeline is ours the decision is known from the parent and the trace id alone. A
//! request that is not sampled then costs a trace id, a span id and a context holding a
//! non-recording span: what the SDK makes of it too, and what propagation needs (the
//! `traceparent` with flags `00` downstream, the parent of children that follow it).
//!
//! The decision is the SDK's own: [`ShouldSample::should_sample`] of the very sampler
//! the provider was built with, asked with the same parent context and trace id the SDK
//! would use. A root span's trace id is drawn here; when the span is sampled and built
//! by the SDK after all, the provider's id generator (`PinnedIds`) hands the SDK that
//! same id, so a ratio sampler keeps exactly the traces it would have kept.
//!
//! A sampler the user installed (their own global provider, or tail sampling, which
//! records what the head sampler drops) is unknown here: [`decide`] answers
//! [`Head::Start`] without a pinned id, and the SDK decides as before.
//!
//! ```
//! use otel_core::head_sampling::{self, Head};
//! use otel_core::opentelemetry::trace::SpanKind;
//! use otel_core::opentelemetry::Context;
//!
//! let provider = otel_core::opentelemetry::global::tracer_provider();
//! // Nothing installed by `init()`: the SDK (here the global no-op) decides.
//! let generation = head_sampling::generation_of(&provider);
//! assert_eq!(generation, None);
//! assert!(matches!(
//!     head_sampling::decide(generation, &Context::new(), &SpanKind::Server),
//!     Head::Start(_)
//! ));
//! ```

use std::cell::Cell;
use std::sync::{Mutex, PoisonError};

use opentelemetry::global::{self, GlobalTracerProvider};
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, Tracer,
};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample};

use crate::__private::global::ProviderKey;
use crate::state::{self, Current};

/// The head sampler of an installed pipeline, when its decision depends on nothing but
/// the parent and the trace id.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadSampler(Option<Sampler>);

impl HeadSampler {
    /// `sampler`, which must be one whose decision reads neither the name, the kind,
    /// the attributes nor the links (the built-in samplers).
    #[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
    pub(crate) fn known(sampler: Sampler) -> Self {
        Self(Some(sampler))
    }

    /// A sampler whose decision cannot be taken ahead (tail sampling records what it
    /// drops).
    #[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
    pub(crate) fn unknown() -> Self {
        Self(None)
    }

    /// The decision for a span of `kind` under `parent`, as the SDK's tracer takes it.
    fn decide(&self, parent: &Context, kind: &SpanKind) -> Head {
        let Some(sampler) = &self.0 else {
            return Head::ASK;
        };
        // The SDK's tracer: a valid parent span gives the trace id, else a new one.
        let span = parent.span();
        let parent_sc = span.span_context();
        let (trace_id, root) = if parent_sc.is_valid() {
            (parent_sc.trace_id(), false)
        } else {
            (RandomIdGenerator::default().new_trace_id(), true)
        };
        let result = sampler.should_sample(Some(parent), trace_id, "", kind, &[], &[]);
        match result.decision {
            SamplingDecision::Drop => {
                // The span context the SDK gives a dropped span: a new span id, no flags.
                let sc = SpanContext::new(
                    trace_id,
                    RandomIdGenerator::default().new_span_id(),
                    TraceFlags::default(),
                    false,
                    result.trace_state,
                );
                Head::Drop(parent.with_remote_span_context(sc))
            }
            SamplingDecision::RecordOnly | SamplingDecision::RecordAndSample => Head::Start(Start {
                trace_id: root.then_some(trace_id),
            }),
        }
    }
}

/// What to do with a span about to be started.
#[derive(Debug)]
pub enum Head {
    /// Build the span with the tracer, through [`Start::build_with_context`]: it is
    /// sampled, or the sampler is not known here.
    Start(Start),
    /// Not sampled: nothing to describe. The context is the parent with a non-recording
    /// span of its own (a new span id, and a new trace id under no parent), to make
    /// current and to propagate.
    Drop(Context),
}

impl Head {
    const ASK: Head = Head::Start(Start { trace_id: None });
}

/// A span to build with the SDK, with the trace id its sampling decision was taken on
/// when it is a root.
#[derive(Debug)]
pub struct Start {
    trace_id: Option<TraceId>,
}

impl Start {
    /// `tracer.build_with_context(builder, parent)`, with the trace id of a root span
    /// pinned to the one the decision was taken on.
    pub fn build_with_context<T: Tracer>(
        self,
        tracer: &T,
        builder: SpanBuilder,
        parent: &Context,
    ) -> T::Span {
        match self.trace_id {
            None => tracer.build_with_context(builder, parent),
            Some(trace_id) => {
                let _pin = Pin::set(trace_id);
                tracer.build_with_context(builder, parent)
            }
        }
    }
}

/// The decision for a span of `kind` under `parent`, when the tracer comes from the
/// global provider that [`generation_of`] gave `generation` for and that provider is
/// still installed; [`Head::Start`] (the SDK decides) otherwise.
#[inline]
pub fn decide(generation: Option<u64>, parent: &Context, kind: &SpanKind) -> Head {
    match (generation, state::current()) {
        // The SDK makes no span at all in a suppressed context: let it say so.
        (Some(generation), Current::Installed(installed))
            if installed.generation == generation && !parent.is_telemetry_suppressed() =>
        {
            installed.head.decide(parent, kind)
        }
        _ => Head::ASK,
    }
}

/// The global provider [`crate::init`] (or the testing harness) installed last, kept so
/// its address stays its own, and the generation of that install.
static GLOBAL: Mutex<Option<(GlobalTracerProvider, u64)>> = Mutex::new(None);

/// Records that the global tracer provider is now the one installed as `generation`
/// (called right after `global::set_tracer_provider`).
#[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
pub(crate) fn set_global(generation: u64) {
    let provider = global::tracer_provider();
    *GLOBAL.lock().unwrap_or_else(PoisonError::into_inner) = Some((provider, generation));
}

/// The generation of the installed pipeline when `provider` (a handle from
/// `global::tracer_provider()`) is the provider it installed, so that [`decide`] may
/// answer for spans of its tracers; `None` for any other provider. Cheap enough to call
/// once per tracer, not per span.
pub fn generation_of(provider: &GlobalTracerProvider) -> Option<u64> {
    let Current::Installed(installed) = state::current() else {
        return None;
    };
    let global = GLOBAL.lock().unwrap_or_else(PoisonError::into_inner);
    let (ours, generation) = global.as_ref()?;
    (*generation == installed.generation && ProviderKey::of(ours) == ProviderKey::of(provider))
        .then_some(*generation)
}

thread_local! {
    /// The trace id [`Start::build_with_context`] pins for the next root span built on
    /// this thread.
    static PINNED: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Pins a trace id for the duration of one `build_with_context`, and unpins it even
/// when the SDK did not take it (a shut down provider) or a sampler or processor
/// panicked, so no later span can inherit it.
struct Pin;

impl Pin {
    fn set(trace_id: TraceId) -> Pin {
        PINNED.with(|p| p.set(Some(trace_id)));
        Pin
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        PINNED.with(|p| p.set(None));
    }
}

/// The id generator of the providers the pipeline and the testing harness build: random
/// ids (the SDK's default generator), except the trace id [`Start`] pinned for the root
/// span being built.
#[derive(Debug, Default)]
#[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
pub(crate) struct PinnedIds(RandomIdGenerator);

impl IdGenerator for PinnedIds {
    fn new_trace_id(&self) -> TraceId {
        PINNED.with(Cell::take).unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanKind, TraceState};

    use super::*;

    fn parent(trace_id: TraceId, flags: TraceFlags, remote: bool) -> Context {
        let sc = SpanContext::new(trace_id, SpanId::from(7), flags, remote, TraceState::default());
        Context::new().with_remote_span_context(sc)
    }

    fn ask(head: &Head) -> bool {
        matches!(head, Head::Start(Start { trace_id: None }))
    }

    #[test]
    fn an_unknown_sampler_leaves_the_decision_to_the_sdk() {
        let head = HeadSampler::unknown().decide(&Context::new(), &SpanKind::Server);
        assert!(ask(&head));
    }

    #[test]
    fn a_dropped_span_has_its_own_span_id_and_no_flags() {
        let sampler = HeadSampler::known(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let trace_id = TraceId::from(0x1234_u128);
        let cx = parent(trace_id, TraceFlags::default(), true);
        let Head::Drop(child) = sampler.decide(&cx, &SpanKind::Client) else {
            panic!("a parent-based sampler drops the child of an unsampled parent");
        };
        let span = child.span();
        let sc = span.span_context();
        assert_eq!(sc.trace_id(), trace_id);
        assert_ne!(sc.span_id(), SpanId::from(7));
        assert!(sc.is_valid() && !sc.is_sampled() && !sc.is_remote());
        assert!(!span.is_recording());
    }

    #[test]
    fn a_sampled_child_is_built_by_the_sdk_without_a_pinned_id() {
        let sampler = HeadSampler::known(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
        let cx = parent(TraceId::from(9_u128), TraceFlags::SAMPLED, false);
        assert!(ask(&sampler.decide(&cx, &SpanKind::Server)));
    }

    #[test]
    fn a_sampled_root_pins_the_trace_id_it_was_decided_on() {
        let sampler = HeadSampler::known(Sampler::AlwaysOn);
        let Head::Start(Start { trace_id: Some(id) }) = sampler.decide(&Context::new(), &SpanKind::Server)
        else {
            panic!("an always-on sampler samples a root");
        };
        let ids = PinnedIds::default();
        {
            let _pin = Pin::set(id);
            assert_eq!(ids.new_trace_id(), id);
            assert_ne!(ids.new_trace_id(), id, "a pin serves one span");
        }
        let _pin = Pin::set(id);
        drop(_pin);
        assert_ne!(ids.new_trace_id(), id, "an unused pin is dropped with its guard");
    }

    /// A trace id spread over the low 64 bits, which the ratio sampler reads.
    fn spread(i: u128) -> TraceId {
        TraceId::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1)
    }

    fn sdk_keeps(sampler: &Sampler, trace_id: TraceId) -> bool {
        let result = sampler.should_sample(None, trace_id, "GET /users/{id}", &SpanKind::Server, &[], &[]);
        result.decision == SamplingDecision::RecordAndSample
    }

    #[test]
    fn children_of_a_trace_are_kept_as_the_sdk_keeps_them() {
        for ratio in [0.0, 0.1, 0.5, 1.0] {
            let sdk = Sampler::TraceIdRatioBased(ratio);
            let head = HeadSampler::known(sdk.clone());
            for i in 0..2_000_u128 {
                let trace_id = spread(i);
                // A non-parent-based ratio sampler decides a child by its trace id.
                let cx = parent(trace_id, TraceFlags::SAMPLED, true);
                let kept = !matches!(head.decide(&cx, &SpanKind::Server), Head::Drop(_));
                assert_eq!(kept, sdk_keeps(&sdk, trace_id), "ratio {ratio}, {trace_id}");
            }
        }
    }

    #[test]
    fn roots_are_kept_as_the_sdk_keeps_their_trace_ids() {
        use opentelemetry::trace::{Span as _, TracerProvider as _};
        use opentelemetry_sdk::trace::SdkTracerProvider;

        for ratio in [0.1, 0.5] {
            let sdk = Sampler::TraceIdRatioBased(ratio);
            let provider = SdkTracerProvider::builder()
                .with_sampler(Sampler::ParentBased(Box::new(sdk.clone())))
                .with_id_generator(PinnedIds::default())
                .build();
            let tracer = provider.tracer("head_sampling");
            let head = HeadSampler::known(Sampler::ParentBased(Box::new(sdk.clone())));
            let mut kept = 0_u32;
            for _ in 0..2_000 {
                match head.decide(&Context::new(), &SpanKind::Server) {
                    Head::Drop(cx) => {
                        let trace_id = cx.span().span_context().trace_id();
                        assert!(
                            !sdk_keeps(&sdk, trace_id),
                            "dropped {trace_id}, which the SDK keeps"
                        );
                    }
                    Head::Start(start) => {
                        let decided = start.trace_id.expect("a root's trace id is pinned");
                        assert!(sdk_keeps(&sdk, decided));
                        let builder = SpanBuilder::from_name("GET /users/{id}").with_kind(SpanKind::Server);
                        let span = start.build_with_context(&tracer, builder, &Context::new());
                        // The SDK built the span on the trace id the decision was taken on.
                        assert_eq!(span.span_context().trace_id(), decided);
                        assert!(span.is_recording() && span.span_context().is_sampled());
                        kept += 1;
                    }
                }
            }
            let expected = ratio * 2_000.0;
            assert!(
                (f64::from(kept) - expected).abs() <= 150.0,
                "ratio {ratio}: kept {kept}"
            );
        }
    }
}
