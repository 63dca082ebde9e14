//! The event queue: a binary heap of small (time, seq, slot) entries over a slab of payloads.
//!
//! Architecture invariant: events pop in strictly increasing (time, seq) order, and `seq` is
//! the insertion count, so two events at the same virtual time pop in the order they were
//! scheduled. Payloads stay put in the slab; only 24-byte entries move inside the heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A heap entry; ordered so that `BinaryHeap` (a max-heap) pops the smallest (time, seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A priority queue of `T` keyed by (time in ns, insertion sequence).
#[derive(Debug)]
pub(crate) struct EventQueue<T> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<T> EventQueue<T> {
    pub(crate) fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Schedules `item` at `time`, after everything already scheduled at the same time.
    pub(crate) fn push(&mut self, time: u64, item: T) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(item);
                slot
            }
            None => {
                let slot = u32::try_from(self.slab.len())
                    .expect("more than 2^32 events pending at once is beyond any scenario");
                self.slab.push(Some(item));
                slot
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, slot });
    }

    /// The time of the earliest event, if any.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time)
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        let e = self.heap.pop()?;
        let item = self.slab[e.slot as usize]
            .take()
            .expect("every heap entry owns a filled slab slot");
        self.free.push(e.slot);
        Some((e.time, item))
    }

    /// Number of pending events.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(5, "c");
        q.push(1, "a");
        q.push(5, "d");
        q.push(1, "b");
        q.push(0, "z");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(0, "z"), (1, "a"), (1, "b"), (5, "c"), (5, "d")]
        );
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn slots_are_reused() {
        let mut q = EventQueue::new();
        for i in 0..100u64 {
            q.push(i, i);
            assert_eq!(q.pop(), Some((i, i)));
        }
        assert_eq!(q.slab.len(), 1);
    }
}
