//! The event queue: a radix heap of small (time, seq, slot) entries over a slab of payloads.
//!
//! Architecture invariant: events pop in strictly increasing (time, seq) order, and `seq` is
//! the insertion count, so two events at the same virtual time pop in the order they were
//! scheduled. Payloads stay put in the slab; only 24-byte entries move between buckets.
//!
//! A discrete-event simulation only schedules at or after the time it last popped, so the
//! queue is *monotone* and a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) fits: bucket
//! `b > 0` holds the events whose time first differs from the last popped time `last` at bit
//! `b - 1`, bucket 0 those at `last` itself. Popping takes from bucket 0; when it is empty, the
//! first non-empty bucket is split by its smallest time (which becomes `last`) into lower
//! buckets. Each entry moves at most 64 times over its life and every move is a sequential
//! append, so the cost per event stays nearly flat from a thousand to a million events in
//! flight, where a binary heap's random accesses leave the cache. Bucket 0 is kept in `seq`
//! order (a split sorts what lands there; later pushes at `last` come in `seq` order).

use std::cell::Cell;

/// A queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

/// A priority queue of `T` keyed by (time in ns, insertion sequence), for monotone use: every
/// push is at or after the time of the last pop.
#[derive(Debug)]
pub(crate) struct EventQueue<T> {
    /// `buckets[0][head..]` are the entries at `last`, in `seq` order.
    buckets: Vec<Vec<Entry>>,
    head: usize,
    /// Bit `b` set when bucket `b > 0` may be non-empty.
    occupied: u128,
    /// The time of the last pop (0 before the first).
    last: u64,
    len: usize,
    /// The earliest time when bucket 0 is empty, once computed (cleared by a pop).
    next: Cell<Option<u64>>,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<T> EventQueue<T> {
    pub(crate) fn new() -> Self {
        EventQueue {
            buckets: (0..65).map(|_| Vec::new()).collect(),
            head: 0,
            occupied: 0,
            last: 0,
            len: 0,
            next: Cell::new(None),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    fn bucket(&self, time: u64) -> usize {
        if time == self.last {
            0
        } else {
            64 - (time ^ self.last).leading_zeros() as usize
        }
    }

    /// Schedules `item` at `time`, after everything already scheduled at the same time.
    /// `time` must not be before the last pop (it is clamped to it).
    pub(crate) fn push(&mut self, time: u64, item: T) {
        debug_assert!(time >= self.last, "the queue is monotone");
        let time = time.max(self.last);
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
        let b = self.bucket(time);
        self.buckets[b].push(Entry { time, seq, slot });
        self.occupied |= 1 << b;
        self.len += 1;
        if let Some(n) = self.next.get() {
            self.next.set(Some(n.min(time)));
        }
    }

    /// The first non-empty bucket after bucket 0.
    fn first_bucket(&self) -> Option<usize> {
        let above0 = self.occupied & !1;
        (above0 != 0).then(|| above0.trailing_zeros() as usize)
    }

    /// The time of the earliest event, if any.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        if self.head < self.buckets[0].len() {
            return Some(self.last);
        }
        if let Some(n) = self.next.get() {
            return Some(n);
        }
        let b = self.first_bucket()?;
        let min = self.buckets[b].iter().map(|e| e.time).min();
        self.next.set(min);
        min
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        if self.head == self.buckets[0].len() {
            self.buckets[0].clear();
            self.head = 0;
            let b = self.first_bucket()?;
            let mut moving = std::mem::take(&mut self.buckets[b]);
            self.occupied &= !(1 << b);
            self.last = moving
                .iter()
                .map(|e| e.time)
                .min()
                .expect("bucket is not empty");
            for e in moving.drain(..) {
                let to = self.bucket(e.time);
                self.buckets[to].push(e);
                self.occupied |= 1 << to;
            }
            debug_assert!(
                self.buckets[b].is_empty(),
                "a split only moves entries down"
            );
            // Hand the (empty) allocation back for reuse.
            self.buckets[b] = moving;
            self.buckets[0].sort_unstable_by_key(|e| e.seq);
        }
        let e = self.buckets[0][self.head];
        self.head += 1;
        self.len -= 1;
        self.next.set(None);
        let item = self.slab[e.slot as usize]
            .take()
            .expect("every queue entry owns a filled slab slot");
        self.free.push(e.slot);
        Some((e.time, item))
    }

    /// Number of pending events.
    pub(crate) fn len(&self) -> usize {
        self.len
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

    #[test]
    fn later_pushes_at_the_current_time_keep_their_order_after_a_split() {
        let mut q = EventQueue::new();
        q.push(8, "a");
        q.push(9, "x");
        q.push(8, "b");
        assert_eq!(q.pop(), Some((8, "a")));
        q.push(8, "c");
        assert_eq!(q.peek_time(), Some(8));
        assert_eq!(q.pop(), Some((8, "b")));
        assert_eq!(q.pop(), Some((8, "c")));
        assert_eq!(q.peek_time(), Some(9));
        q.push(9, "y");
        assert_eq!(q.pop(), Some((9, "x")));
        assert_eq!(q.pop(), Some((9, "y")));
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek_time(), None);
    }

    proptest::proptest! {
        /// Against a sorted list: any monotone interleaving of pushes and pops gives the same
        /// (time, seq) order, and peek always names the next pop's time.
        #[test]
        fn pops_in_time_then_seq_order(ops in proptest::collection::vec((0u64..3, 0u64..50, proptest::bool::ANY), 1..300)) {
            let mut q = EventQueue::new();
            let mut model: Vec<(u64, u64)> = Vec::new();
            let (mut now, mut seq) = (0u64, 0u64);
            for (kind, dt, wide) in ops {
                if kind < 2 {
                    let t = now + if wide { dt << 20 } else { dt };
                    q.push(t, seq);
                    model.push((t, seq));
                    seq += 1;
                } else {
                    model.sort_unstable();
                    let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                    proptest::prop_assert_eq!(q.peek_time(), want.map(|w| w.0));
                    let got = q.pop();
                    proptest::prop_assert_eq!(got, want);
                    if let Some((t, _)) = got {
                        now = t;
                    }
                }
                proptest::prop_assert_eq!(q.len(), model.len());
            }
        }
    }
}
