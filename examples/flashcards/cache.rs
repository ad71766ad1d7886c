//! The cache manager: two tiers, a small hot L1 and a larger L2 that takes what L1
//! evicts, both least-recently-used. `#[instrument_struct]` gives `get` and `put` their
//! spans; each lookup says which tier answered (`cache.tier`, `cache.hit`), and the
//! counters `cache.hits`, `cache.misses` and `cache.evictions` (by `cache.tier`) give
//! hit ratios and eviction rates per tier.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use opentelemetry::metrics::Counter;
use opentelemetry::{global, KeyValue};
use otel_core::instrument_struct;

use super::database::Card;

/// One LRU tier: most recently used at the back.
#[derive(Debug)]
struct Tier {
    name: &'static str,
    capacity: usize,
    entries: VecDeque<Card>,
}

impl Tier {
    fn take(&mut self, word: &str) -> Option<Card> {
        let at = self.entries.iter().position(|c| c.word == word)?;
        self.entries.remove(at)
    }

    /// Inserts as most recent; returns the entry evicted to make room.
    fn insert(&mut self, card: Card) -> Option<Card> {
        self.take(&card.word);
        self.entries.push_back(card);
        (self.entries.len() > self.capacity)
            .then(|| self.entries.pop_front())
            .flatten()
    }
}

#[derive(Debug)]
struct Counters {
    hits: Counter<u64>,
    misses: Counter<u64>,
    evictions: Counter<u64>,
}

/// The two-tier cache of flashcards.
#[derive(Debug)]
pub struct Cache {
    tiers: Mutex<[Tier; 2]>,
    counters: Counters,
}

#[instrument_struct(skip_all, fields(cache.name = "flashcards"))]
impl Cache {
    /// A cache of `l1` hot entries and `l2` warm ones.
    #[no_instrument]
    pub fn new(l1: usize, l2: usize) -> Cache {
        let meter = global::meter("flashcards");
        let counter = |name: &'static str, description: &'static str| {
            meter
                .u64_counter(name)
                .with_unit("{request}")
                .with_description(description)
                .build()
        };
        Cache {
            tiers: Mutex::new([
                Tier {
                    name: "l1",
                    capacity: l1,
                    entries: VecDeque::new(),
                },
                Tier {
                    name: "l2",
                    capacity: l2,
                    entries: VecDeque::new(),
                },
            ]),
            counters: Counters {
                hits: counter("cache.hits", "Lookups answered, by tier"),
                misses: counter("cache.misses", "Lookups a tier could not answer, by tier"),
                evictions: meter
                    .u64_counter("cache.evictions")
                    .with_unit("{entry}")
                    .with_description("Entries pushed out of a tier")
                    .build(),
            },
        }
    }

    /// The card for `word`; an L2 hit is promoted to L1.
    #[instrumented(fields(cache.key = word))]
    pub fn get(&self, word: &str) -> Option<Card> {
        let mut tiers = self.tiers.lock().unwrap_or_else(PoisonError::into_inner);
        for i in 0..tiers.len() {
            let tier = tiers[i].name;
            if let Some(card) = tiers[i].take(word) {
                self.counters.hits.add(1, &[tier_attribute(tier)]);
                otel_core::set_attribute(KeyValue::new("cache.hit", true));
                otel_core::set_attribute(tier_attribute(tier));
                self.promote(&mut tiers, card.clone());
                return Some(card);
            }
            self.counters.misses.add(1, &[tier_attribute(tier)]);
        }
        otel_core::set_attribute(KeyValue::new("cache.hit", false));
        None
    }

    /// Stores `card` in L1.
    #[instrumented(fields(cache.key = card.word.as_str()))]
    pub fn put(&self, card: Card) {
        let mut tiers = self.tiers.lock().unwrap_or_else(PoisonError::into_inner);
        self.promote(&mut tiers, card);
    }

    /// Puts `card` in L1, demoting L1's eviction to L2 and dropping L2's.
    #[no_instrument]
    fn promote(&self, tiers: &mut [Tier; 2], card: Card) {
        let Some(demoted) = tiers[0].insert(card) else {
            return;
        };
        self.counters.evictions.add(1, &[tier_attribute("l1")]);
        if tiers[1].insert(demoted).is_some() {
            self.counters.evictions.add(1, &[tier_attribute("l2")]);
            otel_core::set_attribute(KeyValue::new("cache.evicted", "l2"));
        }
    }
}

fn tier_attribute(tier: &'static str) -> KeyValue {
    KeyValue::new("cache.tier", tier)
}
