//! Observable gauges from a closure.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use opentelemetry::metrics::{AsyncInstrument, Meter, ObservableGauge};
use opentelemetry::KeyValue;

use crate::Error;

mod sealed {
    use opentelemetry::metrics::ObservableGauge;

    pub trait Sealed {}

    /// Registers a gauge of this measurement type; kept out of the public trait so the
    /// plumbing type does not show in the docs.
    pub trait Build: Sized {
        fn build_gauge(
            spec: super::GaugeSpec,
            callback: Box<dyn Fn() -> Option<Self> + Send + Sync>,
        ) -> ObservableGauge<Self>;
    }
}

/// A number type an observable gauge records: `i64`, `u64` or `f64`, the three
/// OpenTelemetry supports. Sealed.
pub trait Measurement: sealed::Sealed + sealed::Build + Copy + Send + Sync + 'static {}

/// A value a gauge closure may return: any primitive integer up to 64 bits, `usize`,
/// `isize`, `f32`, `f64`, or an `Option` of one (`None` skips that observation, e.g.
/// when the observed pool is gone). Sealed.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// use std::sync::{Arc, Mutex};
///
/// let pool: Arc<Mutex<Vec<String>>> = Arc::default();
/// let weak = Arc::downgrade(&pool);
/// // `Option<usize>`: nothing is reported once the pool has been dropped.
/// otel_core::metrics::observable_gauge("db.pool.idle", move || {
///     weak.upgrade().map(|pool| pool.lock().map(|p| p.len()).unwrap_or(0))
/// })
/// .build()?;
/// # Ok(())
/// # }
/// ```
pub trait GaugeValue: sealed::Sealed + Send + 'static {
    /// The OpenTelemetry number type this value is recorded as.
    type Measurement: Measurement;

    #[doc(hidden)]
    fn into_measurement(self) -> Option<Self::Measurement>;
}

/// What a gauge registration needs besides the callback.
pub struct GaugeSpec {
    meter: Meter,
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
}

impl fmt::Debug for GaugeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GaugeSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

macro_rules! measurement {
    ($ty:ty, $builder:ident) => {
        impl sealed::Sealed for $ty {}

        impl Measurement for $ty {}

        impl sealed::Build for $ty {
            fn build_gauge(
                spec: GaugeSpec,
                callback: Box<dyn Fn() -> Option<Self> + Send + Sync>,
            ) -> ObservableGauge<Self> {
                let GaugeSpec {
                    meter,
                    name,
                    description,
                    unit,
                    attributes,
                } = spec;
                let mut builder =
                    meter
                        .$builder(name)
                        .with_callback(move |observer: &dyn AsyncInstrument<$ty>| {
                            if let Some(value) = callback() {
                                observer.observe(value, &attributes);
                            }
                        });
                if let Some(description) = description {
                    builder = builder.with_description(description);
                }
                if let Some(unit) = unit {
                    builder = builder.with_unit(unit);
                }
                builder.build()
            }
        }

        impl GaugeValue for $ty {
            type Measurement = $ty;

            fn into_measurement(self) -> Option<$ty> {
                Some(self)
            }
        }
    };
}

measurement!(i64, i64_observable_gauge);
measurement!(u64, u64_observable_gauge);
measurement!(f64, f64_observable_gauge);

macro_rules! widening {
    ($($ty:ty => $m:ty),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}

        impl GaugeValue for $ty {
            type Measurement = $m;

            fn into_measurement(self) -> Option<$m> {
                // Lossless: every source type fits its 64-bit measurement type on the
                // platforms Rust supports (usize/isize are at most 64 bits).
                Some(self as $m)
            }
        }
    )*};
}

widening!(
    i8 => i64, i16 => i64, i32 => i64, isize => i64,
    u8 => u64, u16 => u64, u32 => u64, usize => u64,
    f32 => f64,
);

impl<T: GaugeValue> sealed::Sealed for Option<T> {}

impl<T: GaugeValue> GaugeValue for Option<T> {
    type Measurement = T::Measurement;

    fn into_measurement(self) -> Option<T::Measurement> {
        self.and_then(GaugeValue::into_measurement)
    }
}

/// Configures an observable gauge whose value comes from a closure; created by
/// [`observable_gauge`] or [`observable_gauge_on`], registered by
/// [`ObservableGaugeBuilder::build`].
///
/// The closure runs on the SDK's collection thread at each collection (export interval
/// or Prometheus scrape): keep it cheap and non-blocking, and do not panic in it.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// use otel_core::opentelemetry::KeyValue;
///
/// otel_core::metrics::observable_gauge("cache.entries", || 128_u64)
///     .with_unit("{entry}")
///     .with_description("Entries held by the in-process cache")
///     .with_attributes([KeyValue::new("cache.name", "users")])
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[must_use = "the gauge is registered only by .build()"]
pub struct ObservableGaugeBuilder<T, F> {
    meter: Option<Meter>,
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
    callback: F,
    value: PhantomData<fn() -> T>,
}

impl<T, F> fmt::Debug for ObservableGaugeBuilder<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservableGaugeBuilder")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("unit", &self.unit)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

/// Starts an observable gauge named `name` that reports what `callback` returns, on the
/// global meter provider (scope `otel-core`).
///
/// There is no `Default` for this builder: a gauge needs a name and a closure.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use std::sync::Arc;
///
/// let in_flight = Arc::new(AtomicI64::new(0));
/// let observed = Arc::clone(&in_flight);
/// otel_core::metrics::observable_gauge("jobs.in_flight", move || observed.load(Ordering::Relaxed))
///     .with_unit("{job}")
///     .build()?;
/// # Ok(())
/// # }
/// ```
pub fn observable_gauge<T, F>(name: impl Into<Cow<'static, str>>, callback: F) -> ObservableGaugeBuilder<T, F>
where
    T: GaugeValue,
    F: Fn() -> T + Send + Sync + 'static,
{
    ObservableGaugeBuilder {
        meter: None,
        name: name.into(),
        description: None,
        unit: None,
        attributes: Vec::new(),
        callback,
        value: PhantomData,
    }
}

/// Like [`observable_gauge`], on a [`Meter`] you choose (for example a meter of your
/// own scope, or of a provider that is not the global one).
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// let meter = otel_core::opentelemetry::global::meter("my-service");
/// otel_core::metrics::observable_gauge_on(&meter, "workers.busy", || 3_i32).build()?;
/// # Ok(())
/// # }
/// ```
pub fn observable_gauge_on<T, F>(
    meter: &Meter,
    name: impl Into<Cow<'static, str>>,
    callback: F,
) -> ObservableGaugeBuilder<T, F>
where
    T: GaugeValue,
    F: Fn() -> T + Send + Sync + 'static,
{
    ObservableGaugeBuilder {
        meter: Some(meter.clone()),
        ..observable_gauge(name, callback)
    }
}

impl<T, F> ObservableGaugeBuilder<T, F>
where
    T: GaugeValue,
    F: Fn() -> T + Send + Sync + 'static,
{
    /// Sets the unit, in UCUM (`By`, `s`, `1`, or a `{annotation}` for counts such as
    /// `{job}`). ASCII, at most 63 characters.
    ///
    /// ```
    /// let gauge = otel_core::metrics::observable_gauge("buffer.size", || 0_u64).with_unit("By");
    /// # drop(gauge);
    /// ```
    pub fn with_unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Sets the description shown by backends.
    ///
    /// ```
    /// let gauge = otel_core::metrics::observable_gauge("pool.size", || 8_u32)
    ///     .with_description("Connections open in the pool");
    /// # drop(gauge);
    /// ```
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets attributes recorded with every observation (replacing earlier ones).
    ///
    /// ```
    /// use otel_core::opentelemetry::KeyValue;
    ///
    /// let gauge = otel_core::metrics::observable_gauge("queue.length", || 0_usize)
    ///     .with_attributes([KeyValue::new("queue.name", "emails")]);
    /// # drop(gauge);
    /// ```
    pub fn with_attributes(mut self, attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        self.attributes = attributes.into_iter().collect();
        self
    }

    /// Validates the name and unit, then registers the gauge. The returned handle does
    /// not need to be kept: the callback stays registered as long as the meter provider.
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::InvalidConfig`] when the name does not match
    /// `[A-Za-z][A-Za-z0-9_.\-/]{0,254}` or the unit is not ASCII of at most 63
    /// characters (the SDK would silently register a no-op instead).
    ///
    /// ```
    /// let err = otel_core::metrics::observable_gauge("queue length", || 0_u64)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("invalid instrument name"));
    /// ```
    pub fn build(self) -> Result<ObservableGauge<T::Measurement>, Error> {
        super::validate_instrument_name(&self.name)?;
        if let Some(unit) = &self.unit {
            super::validate_unit(unit)?;
        }
        let callback = self.callback;
        let spec = GaugeSpec {
            meter: self.meter.unwrap_or_else(super::meter),
            name: self.name,
            description: self.description,
            unit: self.unit,
            attributes: self.attributes,
        };
        Ok(<T::Measurement as sealed::Build>::build_gauge(
            spec,
            Box::new(move || callback().into_measurement()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use opentelemetry::metrics::MeterProvider;
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

    use super::observable_gauge_on;
    use crate::metrics::test_support::TestMeter;

    #[test]
    fn gauge_reports_what_the_closure_returns_at_each_collection() {
        let test = TestMeter::new();
        let meter = test.provider.meter("test");
        let queue = Arc::new(AtomicUsize::new(5));
        let observed = Arc::clone(&queue);
        observable_gauge_on(&meter, "jobs.queue.length", move || {
            observed.load(Ordering::SeqCst)
        })
        .with_unit("{job}")
        .with_description("Jobs waiting")
        .with_attributes([KeyValue::new("queue.name", "emails")])
        .build()
        .unwrap();

        let metrics = test.collect();
        let metric = metrics.get("jobs.queue.length").expect("gauge exported");
        assert_eq!(metric.unit(), "{job}");
        assert_eq!(metric.description(), "Jobs waiting");
        let AggregatedMetrics::U64(MetricData::Gauge(gauge)) = metric.data() else {
            panic!("a u64 gauge, got {:?}", metric.data());
        };
        let points: Vec<_> = gauge.data_points().collect();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value(), 5);
        assert_eq!(
            points[0].attributes().cloned().collect::<Vec<_>>(),
            [KeyValue::new("queue.name", "emails")]
        );

        queue.store(11, Ordering::SeqCst);
        let metrics = test.collect();
        let AggregatedMetrics::U64(MetricData::Gauge(gauge)) = metrics["jobs.queue.length"].data() else {
            panic!("a u64 gauge");
        };
        assert_eq!(gauge.data_points().map(|p| p.value()).collect::<Vec<_>>(), [11]);
    }

    #[test]
    fn signed_float_and_optional_values() {
        let test = TestMeter::new();
        let meter = test.provider.meter("test");
        let balance = Arc::new(AtomicI64::new(-4));
        let observed = Arc::clone(&balance);
        observable_gauge_on(&meter, "account.balance", move || {
            observed.load(Ordering::SeqCst) as i32
        })
        .build()
        .unwrap();
        observable_gauge_on(&meter, "load.ratio", || 0.75_f32)
            .build()
            .unwrap();
        let pool: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(vec![1, 2, 3]));
        let weak = Arc::downgrade(&pool);
        observable_gauge_on(&meter, "pool.size", move || {
            weak.upgrade().map(|p| p.lock().unwrap().len())
        })
        .build()
        .unwrap();

        let metrics = test.collect();
        let AggregatedMetrics::I64(MetricData::Gauge(g)) = metrics["account.balance"].data() else {
            panic!("an i64 gauge");
        };
        assert_eq!(g.data_points().map(|p| p.value()).collect::<Vec<_>>(), [-4]);
        let AggregatedMetrics::F64(MetricData::Gauge(g)) = metrics["load.ratio"].data() else {
            panic!("an f64 gauge");
        };
        assert_eq!(g.data_points().map(|p| p.value()).collect::<Vec<_>>(), [0.75]);
        let AggregatedMetrics::U64(MetricData::Gauge(g)) = metrics["pool.size"].data() else {
            panic!("a u64 gauge");
        };
        assert_eq!(g.data_points().map(|p| p.value()).collect::<Vec<_>>(), [3]);

        // Once the pool is gone the closure returns None and nothing is observed.
        drop(pool);
        let metrics = test.collect();
        let points = match metrics.get("pool.size").map(|m| m.data()) {
            Some(AggregatedMetrics::U64(MetricData::Gauge(g))) => g.data_points().count(),
            None => 0,
            Some(other) => panic!("unexpected {other:?}"),
        };
        assert_eq!(points, 0);
    }

    #[test]
    fn invalid_name_or_unit_is_an_error_not_a_silent_noop() {
        let test = TestMeter::new();
        let meter = test.provider.meter("test");
        let err = observable_gauge_on(&meter, "queue length", || 1_u64)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidConfig);
        assert!(err.message().contains("\"queue length\""), "{err}");
        let err = observable_gauge_on(&meter, "queue.length", || 1_u64)
            .with_unit("µs")
            .build()
            .unwrap_err();
        assert!(err.message().contains("ASCII"), "{err}");
        assert!(test.collect().is_empty());
    }
}
