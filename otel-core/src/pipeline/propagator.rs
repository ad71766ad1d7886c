//! The global propagator that `init()` installs, from `OTEL_PROPAGATORS` or the builder.

use opentelemetry::global;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::config::PropagatorKind;

/// Installs the composite of `kinds`, in order, as the global text-map propagator (an
/// empty list installs one that does nothing: `OTEL_PROPAGATORS=none`).
pub(crate) fn install_propagator(kinds: &[PropagatorKind]) {
    let propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = kinds
        .iter()
        .map(|k| -> Box<dyn TextMapPropagator + Send + Sync> {
            match k {
                PropagatorKind::TraceContext => Box::new(TraceContextPropagator::new()),
                PropagatorKind::Baggage => Box::new(BaggagePropagator::new()),
            }
        })
        .collect();
    global::set_text_map_propagator(TextMapCompositePropagator::new(propagators));
}
