//! The global propagator that `init()` installs, from `OTEL_PROPAGATORS` or the builder.

use opentelemetry::global;

use crate::config::PropagatorKind;
use crate::propagation::{BaggagePropagator, Propagator, TraceContextPropagator};

/// Installs otel-core's [`Propagator`] with `kinds`, in order, as the global text-map
/// propagator (an empty list installs one that does nothing: `OTEL_PROPAGATORS=none`).
pub(crate) fn install_propagator(kinds: &[PropagatorKind]) {
    let propagator = kinds.iter().fold(Propagator::none(), |p, kind| match kind {
        PropagatorKind::TraceContext => p.with_propagator(TraceContextPropagator::new()),
        PropagatorKind::Baggage => p.with_propagator(BaggagePropagator::new()),
        #[cfg(feature = "b3")]
        PropagatorKind::B3 => p.with_b3(),
        #[cfg(feature = "b3")]
        PropagatorKind::B3Multi => p.with_b3_multi(),
    });
    global::set_text_map_propagator(propagator);
}
