//! Bounds on the distinct values a component records for a client-influenced attribute
//! (`http.route`, `rpc.method`, `url.template`), so no caller can create an unbounded
//! number of span names or metric series.
//!
//! A [`CardinalityLimit`] admits values until it has seen `limit` distinct ones; later
//! new values are refused (the component records `_OTHER`) and counted. Every live limit
//! is listed by [`overflows`], which `telemetry_status()` reports.
//!
//! ```
//! use otel_core::cardinality::CardinalityLimit;
//!
//! let routes = CardinalityLimit::new("example", 2);
//! assert!(routes.admit("/users/{id}"));
//! assert!(routes.admit("/orders/{id}"));
//! assert!(routes.admit("/users/{id}")); // seen before
//! assert!(!routes.admit("/three"));     // over the limit: record `_OTHER`
//! assert_eq!(routes.overflowed(), 1);
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

/// The default number of distinct values a layer records per attribute family: far
/// above the routes and methods of a real service, far below what hurts a backend.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 1000;

/// A bound on the distinct values of one component's attribute.
#[derive(Debug)]
pub struct CardinalityLimit {
    owner: &'static str,
    limit: usize,
    /// Shared strings, so an admitted value is handed out without copying it.
    seen: RwLock<HashSet<Arc<str>>>,
    overflowed: AtomicU64,
}

static REGISTRY: Mutex<Vec<Weak<CardinalityLimit>>> = Mutex::new(Vec::new());

impl CardinalityLimit {
    /// A limit of `limit` distinct values, reported under `owner` (e.g. the layer's
    /// name).
    pub fn new(owner: &'static str, limit: usize) -> Arc<Self> {
        let this = Arc::new(Self {
            owner,
            limit,
            seen: RwLock::new(HashSet::new()),
            overflowed: AtomicU64::new(0),
        });
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.retain(|weak| weak.strong_count() > 0);
        registry.push(Arc::downgrade(&this));
        this
    }

    /// Whether `value` may be recorded: seen before, or new while fewer than `limit`
    /// values were seen. A refusal is counted.
    pub fn admit(&self, value: &str) -> bool {
        self.intern(value).is_some()
    }

    /// [`admit`](Self::admit), returning the admitted value as a string shared by every
    /// caller: a component that records the value on each request (as an attribute
    /// `Value`) then copies no text, and may compare values by pointer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use otel_core::cardinality::CardinalityLimit;
    ///
    /// let routes = CardinalityLimit::new("example", 1);
    /// let first = routes.intern("/users/{id}").unwrap();
    /// assert!(Arc::ptr_eq(&first, &routes.intern("/users/{id}").unwrap()));
    /// assert_eq!(routes.intern("/orders/{id}"), None); // over the limit
    /// ```
    pub fn intern(&self, value: &str) -> Option<Arc<str>> {
        if let Some(shared) = self
            .seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(value)
        {
            return Some(shared.clone());
        }
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = seen.get(value) {
            return Some(shared.clone());
        }
        if seen.len() < self.limit {
            let shared: Arc<str> = Arc::from(value);
            seen.insert(shared.clone());
            return Some(shared);
        }
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// How many values were refused.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// The configured limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// One live limit's state, as reported by [`overflows`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "pipeline", derive(serde::Serialize))]
pub struct CardinalityReport {
    /// Who owns the limit (a layer's name).
    pub owner: &'static str,
    /// The configured limit.
    pub limit: usize,
    /// Distinct values admitted so far.
    pub distinct: usize,
    /// New values refused (recorded as `_OTHER`).
    pub overflowed: u64,
}

/// Every live limit that has refused a value.
///
/// ```
/// let limit = otel_core::cardinality::CardinalityLimit::new("doc-example", 0);
/// limit.admit("x");
/// assert!(otel_core::cardinality::overflows().iter().any(|r| r.owner == "doc-example" && r.overflowed == 1));
/// ```
pub fn overflows() -> Vec<CardinalityReport> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|limit| limit.overflowed() > 0)
        .map(|limit| CardinalityReport {
            owner: limit.owner,
            limit: limit.limit,
            distinct: limit.seen.read().unwrap_or_else(PoisonError::into_inner).len(),
            overflowed: limit.overflowed(),
        })
        .collect()
}
