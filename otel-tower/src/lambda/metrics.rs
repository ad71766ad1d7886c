//! The FaaS invocation metrics (semconv status Development), created once per layer.

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry_semantic_conventions::metric::{FAAS_COLDSTARTS, FAAS_ERRORS, FAAS_INVOKE_DURATION};

use crate::instruments::DURATION_BUCKETS;

/// `faas.invoke_duration` (seconds), `faas.coldstarts` and `faas.errors`, each with the
/// `faas.trigger` attribute; the number of invocations is the histogram's count.
#[derive(Clone)]
pub(crate) struct FaasInstruments {
    pub(crate) duration: Histogram<f64>,
    pub(crate) coldstarts: Counter<u64>,
    pub(crate) errors: Counter<u64>,
}

impl FaasInstruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        Self {
            duration: meter
                .f64_histogram(FAAS_INVOKE_DURATION)
                .with_description("Measures the duration of the function's logic execution")
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            coldstarts: meter
                .u64_counter(FAAS_COLDSTARTS)
                .with_description("Number of invocation cold starts")
                .with_unit("{coldstart}")
                .build(),
            errors: meter
                .u64_counter(FAAS_ERRORS)
                .with_description("Number of invocation errors")
                .with_unit("{error}")
                .build(),
        }
    }
}
