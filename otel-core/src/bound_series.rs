//! Metric series with fixed attributes: the `otel-tower` layers keep one per (method,
//! route, status, …) they have seen, the macros' runtime one per function for its
//! successful calls and calls in flight, and each records into it without hashing the
//! attribute set again. Not a public API: nothing here is covered by semver, and only
//! the crates of the same release may use it.
//!
//! With the `bound-instruments` feature a series is the SDK's bound instrument: an
//! unbound measurement with 5 attributes spends most of its ~2,400 instructions sorting,
//! de-duplicating and hashing the attribute set, a bound one skips all of that. Without
//! the feature the instrument keeps its attributes beside it and records ordinary
//! measurements: the same data, only slower, and no experimental SDK feature is switched
//! on for the user's build.
//!
//! ```
//! use otel_core::bound_series::SeriesHistogram;
//! use otel_core::opentelemetry::{global, KeyValue};
//!
//! let histogram = global::meter("example").f64_histogram("example.duration").build();
//! let series = SeriesHistogram::new(&histogram, &[KeyValue::new("http.route", "/users/{id}")]);
//! series.record(0.25);
//! ```

use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use opentelemetry::KeyValue;

/// A counter with its attributes fixed.
pub struct SeriesCounter<T>(imp::Counter<T>);

impl<T: Clone> SeriesCounter<T> {
    /// `counter` with `attributes` fixed.
    pub fn new(counter: &Counter<T>, attributes: &[KeyValue]) -> Self {
        Self(imp::counter(counter, attributes))
    }

    /// Adds `value` to the series.
    #[inline]
    pub fn add(&self, value: T) {
        self.0.add(value);
    }
}

/// A histogram with its attributes fixed.
pub struct SeriesHistogram<T>(imp::Histogram<T>);

impl<T: Clone> SeriesHistogram<T> {
    /// `histogram` with `attributes` fixed.
    pub fn new(histogram: &Histogram<T>, attributes: &[KeyValue]) -> Self {
        Self(imp::histogram(histogram, attributes))
    }

    /// Records one measurement into the series.
    #[inline]
    pub fn record(&self, value: T) {
        self.0.record(value);
    }
}

/// An up-down counter with its attributes fixed.
pub struct SeriesUpDownCounter<T>(imp::UpDownCounter<T>);

impl<T: Clone> SeriesUpDownCounter<T> {
    /// `counter` with `attributes` fixed.
    pub fn new(counter: &UpDownCounter<T>, attributes: &[KeyValue]) -> Self {
        Self(imp::up_down_counter(counter, attributes))
    }

    /// Adds `value` to the series.
    #[inline]
    pub fn add(&self, value: T) {
        self.0.add(value);
    }
}

impl<T> std::fmt::Debug for SeriesCounter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeriesCounter")
    }
}

impl<T> std::fmt::Debug for SeriesHistogram<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeriesHistogram")
    }
}

impl<T> std::fmt::Debug for SeriesUpDownCounter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeriesUpDownCounter")
    }
}

#[cfg(feature = "bound-instruments")]
mod imp {
    use opentelemetry::KeyValue;

    pub(super) use opentelemetry::metrics::{
        BoundCounter as Counter, BoundHistogram as Histogram, BoundUpDownCounter as UpDownCounter,
    };

    pub(super) fn counter<T>(
        counter: &opentelemetry::metrics::Counter<T>,
        attributes: &[KeyValue],
    ) -> Counter<T> {
        counter.bind(attributes)
    }

    pub(super) fn histogram<T>(
        histogram: &opentelemetry::metrics::Histogram<T>,
        attributes: &[KeyValue],
    ) -> Histogram<T> {
        histogram.bind(attributes)
    }

    pub(super) fn up_down_counter<T>(
        counter: &opentelemetry::metrics::UpDownCounter<T>,
        attributes: &[KeyValue],
    ) -> UpDownCounter<T> {
        counter.bind(attributes)
    }
}

#[cfg(not(feature = "bound-instruments"))]
mod imp {
    use opentelemetry::KeyValue;

    /// A counter and its attributes (the unbound form of `BoundCounter`).
    pub(super) struct Counter<T> {
        instrument: opentelemetry::metrics::Counter<T>,
        attributes: Box<[KeyValue]>,
    }

    impl<T> Counter<T> {
        pub(super) fn add(&self, value: T) {
            self.instrument.add(value, &self.attributes);
        }
    }

    /// A histogram and its attributes (the unbound form of `BoundHistogram`).
    pub(super) struct Histogram<T> {
        instrument: opentelemetry::metrics::Histogram<T>,
        attributes: Box<[KeyValue]>,
    }

    impl<T> Histogram<T> {
        pub(super) fn record(&self, value: T) {
            self.instrument.record(value, &self.attributes);
        }
    }

    /// An up-down counter and its attributes (the unbound form of `BoundUpDownCounter`).
    pub(super) struct UpDownCounter<T> {
        instrument: opentelemetry::metrics::UpDownCounter<T>,
        attributes: Box<[KeyValue]>,
    }

    impl<T> UpDownCounter<T> {
        pub(super) fn add(&self, value: T) {
            self.instrument.add(value, &self.attributes);
        }
    }

    pub(super) fn counter<T: Clone>(
        counter: &opentelemetry::metrics::Counter<T>,
        attributes: &[KeyValue],
    ) -> Counter<T> {
        Counter {
            instrument: counter.clone(),
            attributes: attributes.into(),
        }
    }

    pub(super) fn histogram<T: Clone>(
        histogram: &opentelemetry::metrics::Histogram<T>,
        attributes: &[KeyValue],
    ) -> Histogram<T> {
        Histogram {
            instrument: histogram.clone(),
            attributes: attributes.into(),
        }
    }

    pub(super) fn up_down_counter<T: Clone>(
        counter: &opentelemetry::metrics::UpDownCounter<T>,
        attributes: &[KeyValue],
    ) -> UpDownCounter<T> {
        UpDownCounter {
            instrument: counter.clone(),
            attributes: attributes.into(),
        }
    }
}
