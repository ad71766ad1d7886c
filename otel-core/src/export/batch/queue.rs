//! The span queue: batches ready for export, and the batch being filled.
//!
//! Its memory follows its use. An empty queue holds no allocation; the batch being filled
//! grows by doubling from [`INITIAL_CAPACITY`] up to the batch size, or is allocated
//! whole right after a batch filled up (spans are coming fast: growing would copy each
//! of them once more under the lock); a full batch is handed to the exporter as the very
//! `Vec` it was filled in (no copy), and its memory is freed when that export is done. So the cap bounds how many spans may wait, not memory
//! reserved ahead: a queue allowed 131,072 spans costs nothing while it is empty, and a
//! burst costs about the size of the spans that wait, for as long as they wait.

use std::collections::VecDeque;

use opentelemetry_sdk::trace::SpanData;

/// Room for the first spans of a batch; enough for a quiet service's whole batch.
pub(super) const INITIAL_CAPACITY: usize = 8;

/// Ready batches the index keeps room for once drained (pointers only, not spans).
const SPARE_BATCHES: usize = 4;

/// Spans waiting for export, at most `cap`, in batches of at most `batch_size`.
pub(super) struct SpanQueue {
    /// Batches closed for export, oldest first.
    ready: VecDeque<Vec<SpanData>>,
    /// The batch new spans go into.
    filling: Vec<SpanData>,
    /// Spans in `ready` and `filling`.
    len: usize,
    /// The last batch was closed because it was full, not by the schedule, a flush or a
    /// shutdown: the next one will most likely fill up too.
    filling_fast: bool,
    cap: usize,
    batch_size: usize,
}

// Counts only: a queue in a burst holds 100,000 spans, which a `{:?}` of the tracer
// provider must not print.
impl std::fmt::Debug for SpanQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanQueue")
            .field("len", &self.len)
            .field("ready_batches", &self.ready.len())
            .field("cap", &self.cap)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl SpanQueue {
    /// An empty queue; allocates nothing. `batch_size` is kept within `1..=cap`.
    pub(super) fn new(cap: usize, batch_size: usize) -> Self {
        let cap = cap.max(1);
        Self {
            ready: VecDeque::new(),
            filling: Vec::new(),
            len: 0,
            filling_fast: false,
            cap,
            batch_size: batch_size.clamp(1, cap),
        }
    }

    /// Adds `span`, or hands it back when `cap` spans are waiting already. `Ok(true)`
    /// means that this span completed a batch, which is now ready for export.
    #[expect(
        clippy::result_large_err,
        reason = "like `SyncSender::try_send`, a refused span goes back to the caller, who frees it outside the lock"
    )]
    pub(super) fn push(&mut self, span: SpanData) -> Result<bool, SpanData> {
        if self.len >= self.cap {
            return Err(span);
        }
        if self.filling.len() == self.filling.capacity() {
            // Double, but never past one batch: a full batch is never grown again.
            let room = self.batch_size - self.filling.len();
            let more = if self.filling_fast {
                room
            } else {
                self.filling.capacity().max(INITIAL_CAPACITY).min(room)
            };
            self.filling.reserve_exact(more);
        }
        self.filling.push(span);
        self.len += 1;
        if self.filling.len() < self.batch_size {
            return Ok(false);
        }
        self.close_filling();
        self.filling_fast = true;
        Ok(true)
    }

    /// Closes the batch being filled, so that it can be exported before it is full (on
    /// schedule, flush or shutdown). New spans start a new, small batch.
    pub(super) fn seal(&mut self) {
        self.close_filling();
        self.filling_fast = false;
    }

    fn close_filling(&mut self) {
        if !self.filling.is_empty() {
            self.ready.push_back(std::mem::take(&mut self.filling));
        }
    }

    /// Takes the oldest ready batch.
    pub(super) fn pop_ready(&mut self) -> Option<Vec<SpanData>> {
        let batch = self.ready.pop_front()?;
        self.len -= batch.len();
        if self.ready.is_empty() {
            // A burst may have grown the index; a drained queue gives it back.
            self.ready.shrink_to(SPARE_BATCHES);
        }
        Some(batch)
    }

    /// Batches ready for export.
    pub(super) fn ready_batches(&self) -> usize {
        self.ready.len()
    }

    /// Drops every span still waiting; returns how many there were.
    pub(super) fn clear(&mut self) -> usize {
        let dropped = self.len;
        self.ready = VecDeque::new();
        self.filling = Vec::new();
        self.len = 0;
        dropped
    }

    /// Spans waiting.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The most spans that may wait.
    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    /// Spans the queue holds memory for, waiting or not.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> usize {
        self.filling.capacity() + self.ready.iter().map(Vec::capacity).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::batch::tests::span;

    #[test]
    fn an_empty_queue_allocates_nothing_and_grows_on_demand() {
        let mut queue = SpanQueue::new(100_000, 512);
        assert_eq!(queue.allocated(), 0);
        assert_eq!(queue.push(span(0)).ok(), Some(false));
        assert_eq!(queue.allocated(), INITIAL_CAPACITY);
        for i in 1..100 {
            assert_eq!(queue.push(span(i)).ok(), Some(false));
        }
        assert_eq!(queue.len(), 100);
        assert_eq!(queue.allocated(), 128, "doubling from {INITIAL_CAPACITY}");
    }

    #[test]
    fn memory_is_proportional_to_what_waits_and_returned_when_drained() {
        let mut queue = SpanQueue::new(100_000, 500);
        for i in 0..10_250 {
            queue.push(span(i)).map_err(|_| "below the cap").unwrap();
        }
        // 20 full batches of exactly 500, and 250 spans in the one being filled, which
        // was allocated whole since batches were filling up.
        assert_eq!(queue.len(), 10_250);
        assert_eq!(queue.allocated(), 21 * 500);
        let mut exported = 0;
        while let Some(batch) = queue.pop_ready() {
            assert_eq!(batch.len(), 500);
            assert_eq!(batch.capacity(), 500, "a full batch is never grown past its size");
            exported += batch.len();
        }
        assert_eq!(exported, 10_000);
        queue.seal();
        assert_eq!(queue.pop_ready().map(|b| b.len()), Some(250));
        assert_eq!((queue.len(), queue.allocated()), (0, 0));
        assert!(
            queue.ready.capacity() <= SPARE_BATCHES,
            "{}",
            queue.ready.capacity()
        );
    }

    #[test]
    fn a_batch_after_a_full_one_is_allocated_whole_until_the_schedule_seals_one() {
        let mut queue = SpanQueue::new(1_000, 100);
        for i in 0..101 {
            queue.push(span(i)).map_err(|_| "below the cap").unwrap();
        }
        assert_eq!(queue.allocated(), 100 + 100, "spans are coming fast");
        queue.seal();
        while queue.pop_ready().is_some() {}
        queue.push(span(101)).map_err(|_| "below the cap").unwrap();
        assert_eq!(queue.allocated(), INITIAL_CAPACITY, "back to growing on demand");
    }

    #[test]
    fn a_completed_batch_is_ready_at_once() {
        let mut queue = SpanQueue::new(50, 10);
        for i in 0..9 {
            assert_eq!(queue.push(span(i)).ok(), Some(false));
        }
        assert_eq!(queue.ready_batches(), 0);
        assert_eq!(queue.push(span(9)).ok(), Some(true));
        assert_eq!(queue.ready_batches(), 1);
        let batch = queue.pop_ready().unwrap();
        let ids: Vec<_> = batch.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(
            ids,
            (0..10).map(|i| i.to_string()).collect::<Vec<_>>(),
            "in order"
        );
    }

    #[test]
    fn spans_past_the_cap_are_handed_back() {
        let mut queue = SpanQueue::new(25, 10);
        let mut refused = 0;
        for i in 0..40 {
            if queue.push(span(i)).is_err() {
                refused += 1;
            }
        }
        assert_eq!((queue.len(), refused), (25, 15));
        let debug = format!("{queue:?}");
        assert!(
            debug.contains("len: 25") && !debug.contains("SpanData"),
            "{debug}"
        );
        queue.pop_ready();
        assert_eq!(queue.len(), 15);
        assert!(queue.push(span(40)).is_ok(), "room again once a batch left");
        assert_eq!(queue.clear(), 16);
        assert_eq!((queue.len(), queue.allocated()), (0, 0));
    }

    #[test]
    fn batch_size_stays_within_the_cap() {
        let mut queue = SpanQueue::new(3, 10);
        assert_eq!(queue.push(span(0)).ok(), Some(false));
        assert_eq!(queue.push(span(1)).ok(), Some(false));
        assert_eq!(queue.push(span(2)).ok(), Some(true));
        assert_eq!(queue.cap(), 3);
    }
}
