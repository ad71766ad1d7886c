//! The in-process answer cache (the seed's Redis): normalised query → response, bounded
//! so a stream of distinct queries cannot grow it without limit.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::pipeline::SearchResponse;

/// Entries kept at most; past it the cache starts over (a stand-in for Redis' eviction).
const CAPACITY: usize = 1024;

/// Cached responses by normalised query.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, SearchResponse>>,
}

impl Cache {
    /// The cached response for `query`, if any.
    pub fn get(&self, query: &str) -> Option<SearchResponse> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(query)
            .cloned()
    }

    /// Stores `response` for `query`.
    pub fn put(&self, query: String, response: SearchResponse) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(query, response);
    }
}
