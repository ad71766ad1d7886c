//! The HTTP layers' metric series, bound once per attribute set: a request records its
//! duration into the series of its attributes instead of handing the SDK five to seven
//! attributes to sort, de-duplicate and hash again. The server keys its series by
//! (method, scheme, status, route, protocol version), the client by (method, server
//! address and port, status, protocol version, URL template).
//!
//! An unbound `http.server.request.duration` measurement costs about 2,400 instructions,
//! most of them spent on the attribute set; finding the bound series here is one read
//! lock and a hash of a few small integers and strings. The server's route is the
//! string shared by the layer's cardinality limit
//! ([`CardinalityLimit::intern`](otel_core::cardinality::CardinalityLimit::intern)), so
//! it is compared by pointer, never by text.
//!
//! The cache is bounded ([`MAX_SERIES`]): past it (a service with thousands of routes
//! times statuses, a client calling thousands of hosts) measurements are recorded
//! unbound, as before. Requests that end with an `error.type` (5xx, failures,
//! cancellations; 4xx too on the client) are recorded unbound too: they are the rare
//! case, and their attribute set varies.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use opentelemetry::metrics::{Histogram, UpDownCounter};
use opentelemetry::{KeyValue, Value};
use otel_core::bound_series::{SeriesHistogram, SeriesUpDownCounter};

/// Series a layer keeps at most; later attribute sets are recorded unbound.
pub(crate) const MAX_SERIES: usize = 4096;

/// The attributes of one request's duration series, as they identify it.
#[derive(Clone)]
pub(crate) struct SeriesKey {
    /// Interned by the cardinality limit: compared and hashed by pointer.
    pub(crate) route: Arc<str>,
    pub(crate) method: Value,
    pub(crate) scheme: Value,
    pub(crate) status: u16,
    pub(crate) version: &'static str,
}

impl PartialEq for SeriesKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.route, &other.route)
            && self.status == other.status
            && std::ptr::eq(self.version, other.version)
            && self.method == other.method
            && self.scheme == other.scheme
    }
}

impl Eq for SeriesKey {}

impl Hash for SeriesKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The route and status tell series apart; a method or scheme that differs
        // lands in the same bucket and is told apart by `eq`.
        state.write_usize(Arc::as_ptr(&self.route).cast::<u8>() as usize);
        state.write_u16(self.status);
    }
}

/// A multiplicative hash for the series keys: a route pointer and status on the server,
/// a host, port and status on the client. Remote peers choose none of them (routes are
/// interned templates, statuses the server's, hosts those the application calls), and a
/// map is bounded by [`MAX_SERIES`] anyway, so no keyed hash is needed; SipHash would
/// cost more than the bound record it looks up.
#[derive(Default)]
pub(crate) struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let mut tail = [0; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        // The length keeps "a" and "a\0" apart.
        self.write_u64(u64::from_le_bytes(tail) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// The key of a client request's duration series: its attributes but `error.type`.
#[derive(Clone, PartialEq)]
pub(crate) struct ClientKey {
    pub(crate) method: Value,
    pub(crate) address: Option<Value>,
    pub(crate) port: Option<i64>,
    pub(crate) status: u16,
    pub(crate) version: &'static str,
    pub(crate) template: Option<Value>,
}

impl Eq for ClientKey {}

impl Hash for ClientKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The host, port and status tell series apart; the rest is told apart by `eq`.
        if let Some(address) = &self.address {
            state.write(address.as_str().as_bytes());
        }
        state.write_u64(self.port.unwrap_or(-1) as u64);
        state.write_u16(self.status);
    }
}

/// One attribute set's bound instruments.
struct Series {
    duration: SeriesHistogram<f64>,
    request_body_size: SeriesHistogram<u64>,
    response_body_size: SeriesHistogram<u64>,
}

/// What a request records at its end, into its series.
pub(crate) struct Measurement {
    pub(crate) seconds: f64,
    /// Set when body sizes are recorded: (request, response) bytes, each when known.
    pub(crate) body_sizes: Option<(Option<u64>, Option<u64>)>,
}

/// The instruments a [`BoundSeries`] binds.
pub(crate) struct Instruments<'a> {
    pub(crate) duration: &'a Histogram<f64>,
    pub(crate) request_body_size: &'a Histogram<u64>,
    pub(crate) response_body_size: &'a Histogram<u64>,
}

impl Instruments<'_> {
    /// Records `measurement` with its attribute set hashed on every call: for shapes
    /// the bound series do not cover (an error, no status) or past their cap.
    pub(crate) fn record_unbound(&self, measurement: &Measurement, attributes: &[KeyValue]) {
        self.duration.record(measurement.seconds, attributes);
        if let Some((request, response)) = measurement.body_sizes {
            if let Some(size) = request {
                self.request_body_size.record(size, attributes);
            }
            if let Some(size) = response {
                self.response_body_size.record(size, attributes);
            }
        }
    }
}

/// A layer's bound duration (and body size) series by key `K`, created at the first
/// request of each attribute set.
pub(crate) struct BoundSeries<K> {
    series: RwLock<HashMap<K, Series, BuildHasherDefault<PointerHasher>>>,
}

impl<K> Default for BoundSeries<K> {
    fn default() -> Self {
        Self {
            series: RwLock::default(),
        }
    }
}

impl<K: Hash + Eq + Clone> BoundSeries<K> {
    /// Records `measurement` into `key`'s series, binding it first if needed with the
    /// attributes `attributes` builds. `false` when the cache is full: the caller
    /// records unbound.
    pub(crate) fn record<A: AsRef<[KeyValue]>>(
        &self,
        instruments: Instruments<'_>,
        key: &K,
        measurement: &Measurement,
        attributes: impl FnOnce() -> A,
    ) -> bool {
        {
            let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = series.get(key) {
                s.record(measurement);
                return true;
            }
            if series.len() >= MAX_SERIES {
                return false;
            }
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        if series.len() >= MAX_SERIES && !series.contains_key(key) {
            return false;
        }
        let s = series.entry(key.clone()).or_insert_with(|| {
            let attributes = attributes();
            let attributes = attributes.as_ref();
            Series {
                duration: SeriesHistogram::new(instruments.duration, attributes),
                request_body_size: SeriesHistogram::new(instruments.request_body_size, attributes),
                response_body_size: SeriesHistogram::new(instruments.response_body_size, attributes),
            }
        });
        s.record(measurement);
        true
    }
}

/// A server layer's bound series: durations and body sizes, and the active requests.
#[derive(Default)]
pub(crate) struct ServerSeries {
    pub(crate) requests: BoundSeries<SeriesKey>,
    /// `http.server.active_requests` by (method, scheme): a handful of entries.
    active: RwLock<Vec<(Value, Value, SeriesUpDownCounter<i64>)>>,
}

impl ServerSeries {
    /// Adds `delta` to the active requests of (`method`, `scheme`).
    pub(crate) fn add_active(&self, counter: &UpDownCounter<i64>, attributes: &[KeyValue; 2], delta: i64) {
        let [method, scheme] = attributes;
        let matches =
            |(m, s, _): &&(Value, Value, SeriesUpDownCounter<i64>)| *m == method.value && *s == scheme.value;
        if let Some((_, _, series)) = self
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(matches)
        {
            series.add(delta);
            return;
        }
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, series)) = active.iter().find(matches) {
            series.add(delta);
        } else if active.len() < MAX_ACTIVE_SERIES {
            let series = SeriesUpDownCounter::new(counter, attributes);
            series.add(delta);
            active.push((method.value.clone(), scheme.value.clone(), series));
        } else {
            counter.add(delta, attributes);
        }
    }
}

/// (method, scheme) pairs bound for `http.server.active_requests`: known methods times
/// two schemes, with room for configured extra methods.
const MAX_ACTIVE_SERIES: usize = 64;

impl Series {
    fn record(&self, measurement: &Measurement) {
        self.duration.record(measurement.seconds);
        if let Some((request, response)) = measurement.body_sizes {
            if let Some(request) = request {
                self.request_body_size.record(request);
            }
            if let Some(response) = response {
                self.response_body_size.record(response);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(route: &Arc<str>, status: u16) -> SeriesKey {
        SeriesKey {
            route: route.clone(),
            method: Value::from("GET"),
            scheme: Value::from("http"),
            status,
            version: "1.1",
        }
    }

    #[test]
    fn keys_compare_routes_by_pointer() {
        let a: Arc<str> = Arc::from("/users/{id}");
        let b: Arc<str> = Arc::from("/users/{id}");
        assert!(key(&a, 200) == key(&a, 200));
        assert!(key(&a, 200) != key(&a, 404));
        // Interned routes are one allocation each; two equal texts are two routes
        // only if two limits interned them, and then two series are harmless.
        assert!(key(&a, 200) != key(&b, 200));
        let mut post = key(&a, 200);
        post.method = Value::from("POST");
        assert!(post != key(&a, 200));
    }
}
