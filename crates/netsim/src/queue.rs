//! The event queue: a radix heap with 64-way digits whose entries carry their payloads.
//!
//! Architecture invariant: events pop in strictly increasing (time, seq) order, and `seq` is
//! the insertion count, so two events at the same virtual time pop in the order they were
//! scheduled.
//!
//! A discrete-event simulation only schedules at or after the time it last popped, so the
//! queue is *monotone* and a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) fits. Here
//! its buckets are per digit of 6 bits, as in a hierarchical timing wheel: reading a time as
//! 11 digits of 6 bits, an event waits at level `j`, slot `d` when its time first differs
//! from the last popped time `last` at digit `j` and its digit `j` is `d`; events at `last`
//! itself wait in `current`. Popping takes from `current`; when it is empty, the lowest
//! non-empty slot of the lowest non-empty level (two bit scans) holds the earliest events:
//! their smallest time becomes `last` and they move down to lower levels or to `current`
//! (a level-0 slot is all at one time and moves whole). An event moves at most once per digit
//! and in practice a few times (an event 8 ms ahead is 23 bits away, four digits), where the
//! binary radix heap this replaced moved it once per bit, up to 23 times.
//!
//! Each entry carries its payload (56 bytes with the network's 40-byte jobs), so every access
//! is a sequential read or append. The binary heap kept payloads in a slab beside 24-byte
//! entries, because moving payloads 10 to 20 times each cost more than it saved (commit
//! 34410c7), but then every pop read a slab slot placed anywhere: one cache miss per event
//! with a million in flight, 2.4 times the cost per event at 1,024. With four moves the
//! payloads travel; BENCHMARKING.md § "netsim's cost per datagram" has the figures. `current`
//! is kept in `seq` order (a refill sorts what lands there; later pushes at `last` come in
//! `seq` order).

use std::cell::Cell;
use std::collections::VecDeque;

/// Bits per digit.
const DIGIT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << DIGIT_BITS;
/// Levels: digits in a 64-bit time.
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// The largest emptied slot vector (in entries) kept for reuse; larger ones are freed.
const SPARE_MAX: usize = 4096;

/// A queue entry.
#[derive(Debug)]
struct Entry<T> {
    time: u64,
    seq: u64,
    item: T,
}

/// A priority queue of `T` keyed by (time in ns, insertion sequence), for monotone use: every
/// push is at or after the time of the last pop.
#[derive(Debug)]
pub(crate) struct EventQueue<T> {
    /// The entries at `last`, in `seq` order.
    current: VecDeque<Entry<T>>,
    /// `slots[level * SLOTS + digit]`.
    slots: Vec<Vec<Entry<T>>>,
    /// Emptied slots' vectors, most recently emptied last: a slot that fills again takes one,
    /// so the few vectors in use stay in the cache instead of one per slot ever used.
    spare: Vec<Vec<Entry<T>>>,
    /// Per level, bit `d` set when slot `d` is non-empty.
    occupied: [u64; LEVELS],
    /// Bit `j` set when level `j` has a non-empty slot.
    levels: u16,
    /// The time of the last pop (0 before the first).
    last: u64,
    len: usize,
    /// The earliest time when `current` is empty, once computed (cleared by a pop).
    next: Cell<Option<u64>>,
    next_seq: u64,
    /// Entries moved down by refills (tests only).
    #[cfg(test)]
    moved: u64,
}

impl<T> EventQueue<T> {
    pub(crate) fn new() -> Self {
        EventQueue {
            current: VecDeque::new(),
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            spare: Vec::new(),
            occupied: [0; LEVELS],
            levels: 0,
            last: 0,
            len: 0,
            next: Cell::new(None),
            next_seq: 0,
            #[cfg(test)]
            moved: 0,
        }
    }

    /// Where an entry at `time` waits: `None` for `current`, else its (level, digit).
    fn place(last: u64, time: u64) -> Option<(usize, usize)> {
        let diff = time ^ last;
        if diff == 0 {
            return None;
        }
        let level = (63 - diff.leading_zeros()) / DIGIT_BITS;
        let digit = (time >> (level * DIGIT_BITS)) as usize & (SLOTS - 1);
        Some((level as usize, digit))
    }

    /// Files `e` under its place relative to `last`.
    fn file(&mut self, e: Entry<T>) {
        match Self::place(self.last, e.time) {
            None => self.current.push_back(e),
            Some((level, digit)) => {
                let slot = &mut self.slots[level * SLOTS + digit];
                if slot.capacity() == 0 {
                    if let Some(v) = self.spare.pop() {
                        *slot = v;
                    }
                }
                slot.push(e);
                self.occupied[level] |= 1 << digit;
                self.levels |= 1 << level;
            }
        }
    }

    /// Schedules `item` at `time`, after everything already scheduled at the same time.
    /// `time` must not be before the last pop (it is clamped to it).
    pub(crate) fn push(&mut self, time: u64, item: T) {
        debug_assert!(time >= self.last, "the queue is monotone");
        let time = time.max(self.last);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.file(Entry { time, seq, item });
        self.len += 1;
        if let Some(n) = self.next.get() {
            self.next.set(Some(n.min(time)));
        }
    }

    /// The lowest non-empty (level, digit): where the earliest entries wait when `current` is
    /// empty.
    fn first_slot(&self) -> Option<(usize, usize)> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        Some((level, self.occupied[level].trailing_zeros() as usize))
    }

    /// The time of the earliest event, if any.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        if !self.current.is_empty() {
            return Some(self.last);
        }
        if let Some(n) = self.next.get() {
            return Some(n);
        }
        let (level, digit) = self.first_slot()?;
        let min = self.slots[level * SLOTS + digit]
            .iter()
            .map(|e| e.time)
            .min();
        self.next.set(min);
        min
    }

    /// Refills `current` from the lowest non-empty slot; `None` when nothing is pending.
    #[inline(never)]
    fn refill(&mut self) -> Option<()> {
        let (level, digit) = self.first_slot()?;
        let at = level * SLOTS + digit;
        self.occupied[level] &= !(1 << digit);
        if self.occupied[level] == 0 {
            self.levels &= !(1 << level);
        }
        let mut moving = std::mem::take(&mut self.slots[at]);
        #[cfg(test)]
        {
            self.moved += moving.len() as u64;
        }
        if level == 0 {
            // Level 0 differs from `last` in the lowest digit alone: one time for the slot.
            self.last = (self.last & !(SLOTS as u64 - 1)) | digit as u64;
            self.current.extend(moving.drain(..));
        } else {
            self.last = moving
                .iter()
                .map(|e| e.time)
                .min()
                .expect("an occupied slot is not empty");
            for e in moving.drain(..) {
                self.file(e);
            }
        }
        debug_assert!(self.slots[at].is_empty(), "entries only move down");
        // Keep the (empty) allocation for the next slot to fill, unless it is one of the few
        // large ones a burst left (e.g. a whole day's timers filed at the start): kept, those
        // would hold their size to the end of the run (BENCHMARKING.md § "The queue gives back
        // a burst's memory").
        if moving.capacity() <= SPARE_MAX {
            self.spare.push(moving);
        }
        let cur = self.current.make_contiguous();
        if !cur.is_sorted_by_key(|e| e.seq) {
            cur.sort_unstable_by_key(|e| e.seq);
        }
        Some(())
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        if self.current.is_empty() {
            self.refill()?;
        }
        let e = self.current.pop_front().expect("refilled");
        self.len -= 1;
        self.next.set(None);
        Some((e.time, e.item))
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

    /// The timer bench's pattern with 4,096 in flight: every popped event re-armed up to 2^15
    /// ns ahead. An entry moves at most once per 6-bit digit it is away (three here), where a
    /// binary radix heap moves it up to once per bit.
    #[test]
    fn an_entry_moves_once_per_digit_at_most() {
        let mut q = EventQueue::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut draw = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x & ((1 << 15) - 1)
        };
        for i in 0..4096 {
            q.push(draw(), i);
        }
        let mut last = 0;
        for _ in 0..100_000 {
            let (t, item) = q.pop().expect("always 4,096 pending");
            assert!(t >= last);
            last = t;
            q.push(t + 1 + draw(), item);
        }
        let pushed = 4096 + 100_000;
        assert!(
            q.moved <= 3 * pushed,
            "{} moves for {pushed} entries",
            q.moved
        );
        assert!(q.moved > 0);
    }

    #[test]
    fn every_level_from_the_lowest_digit_to_the_top_bit() {
        let mut q = EventQueue::new();
        let times = [
            u64::MAX,
            1 << 63,
            (1 << 60) + 3,
            1 << 60,
            4096,
            64,
            63,
            5,
            5,
            0,
            u64::MAX,
        ];
        for (i, &t) in times.iter().enumerate() {
            q.push(t, i);
        }
        let mut want: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
        want.sort_unstable();
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, want);
    }

    proptest::proptest! {
        /// Against a sorted list: any monotone interleaving of pushes and pops gives the same
        /// (time, seq) order, and peek always names the next pop's time.
        #[test]
        fn pops_in_time_then_seq_order(ops in proptest::collection::vec((0u64..3, 0u64..50, 0u32..48), 1..300)) {
            let mut q = EventQueue::new();
            let mut model: Vec<(u64, u64)> = Vec::new();
            let (mut now, mut seq) = (0u64, 0u64);
            for (kind, dt, shift) in ops {
                if kind < 2 {
                    // Half near (ties, level 0), half up to 2^52 ns ahead (every level to 8).
                    let t = now + if shift < 24 { dt } else { dt << (2 * (shift - 24)) };
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
