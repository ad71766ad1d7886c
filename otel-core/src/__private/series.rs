//! The fixed series of an instrumented function: its successful calls and its calls in
//! flight, whose attributes never change. They are `crate::bound_series` series (the
//! SDK's bound instruments with the `bound-instruments` feature: the attribute set is
//! looked up once, not hashed per call).

pub(crate) use crate::bound_series::{
    SeriesCounter as FixedCounter, SeriesHistogram as FixedHistogram,
    SeriesUpDownCounter as FixedUpDownCounter,
};
