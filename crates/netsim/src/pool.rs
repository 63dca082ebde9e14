//! Packet buffers recycled per thread, by size class.
//!
//! Every datagram owns its bytes, and a busy network creates and drops thousands of them in
//! bursts (every host's timer at one tick, every delivery a few milliseconds later). The
//! system allocator's per-thread cache keeps only a few blocks of each size, so those bursts
//! went down its slow paths, about a seventh of the instructions per datagram on the peer
//! workload (BENCHMARKING.md § "netsim's cost per datagram"). Here a dropped packet's buffer
//! goes to its thread's free list for its size class (powers of two from 64 to 2,048 bytes)
//! and the next packet of that class takes it back. A class keeps at most [`CLASS_CAP_BYTES`]
//! of idle buffers; larger packets are not pooled. Buffers carry no meaning across uses (a
//! packet only ever reads the bytes it wrote), so nothing here changes what a run computes.

use std::cell::RefCell;

/// The smallest class is `1 << MIN_SHIFT` bytes.
const MIN_SHIFT: u32 = 6;
/// The largest class is `1 << MAX_SHIFT` bytes.
const MAX_SHIFT: u32 = 11;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// The most idle bytes one class keeps per thread (4 MiB: 16,384 buffers of 256 bytes).
pub(crate) const CLASS_CAP_BYTES: usize = 4 << 20;

thread_local! {
    static FREE: RefCell<[Vec<Box<[u8]>>; CLASSES]> =
        const { RefCell::new([const { Vec::new() }; CLASSES]) };
}

#[cfg(test)]
thread_local! {
    /// Buffers this thread had to allocate because its free list was empty.
    static FRESH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Buffers allocated on this thread because no idle one fitted (tests only).
#[cfg(test)]
pub(crate) fn fresh() -> u64 {
    FRESH.get()
}

fn count_fresh() {
    #[cfg(test)]
    FRESH.set(FRESH.get() + 1);
}

/// The class of a buffer of at least `len` bytes, if pooled.
fn class(len: usize) -> Option<usize> {
    if len > 1 << MAX_SHIFT {
        return None;
    }
    let shift = len.max(1 << MIN_SHIFT).next_power_of_two().trailing_zeros();
    Some((shift - MIN_SHIFT) as usize)
}

/// A buffer of at least `len` bytes; its contents are whatever its last user left there.
pub(crate) fn take(len: usize) -> Box<[u8]> {
    let Some(c) = class(len) else {
        count_fresh();
        return vec![0; len].into_boxed_slice();
    };
    let idle = FREE.try_with(|f| f.borrow_mut()[c].pop()).ok().flatten();
    idle.unwrap_or_else(|| {
        count_fresh();
        vec![0; 1 << (c as u32 + MIN_SHIFT)].into_boxed_slice()
    })
}

/// Hands a buffer back: kept for reuse if it is exactly a class's size and the class has room,
/// freed otherwise (also while the thread is exiting).
pub(crate) fn give(buf: Box<[u8]>) {
    let n = buf.len();
    let Some(c) = class(n).filter(|&c| n == 1 << (c as u32 + MIN_SHIFT)) else {
        return;
    };
    let _ = FREE.try_with(|f| {
        let list = &mut f.borrow_mut()[c];
        if (list.len() + 1) * n <= CLASS_CAP_BYTES {
            list.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_from_64_to_2048() {
        assert_eq!(class(0), Some(0));
        assert_eq!(class(28), Some(0));
        assert_eq!(class(64), Some(0));
        assert_eq!(class(65), Some(1));
        assert_eq!(class(228), Some(2));
        assert_eq!(class(2048), Some(5));
        assert_eq!(class(2049), None);
        assert_eq!(take(228).len(), 256);
        assert_eq!(take(3000).len(), 3000);
    }

    #[test]
    fn a_given_buffer_is_taken_again_and_odd_sizes_are_not_kept() {
        let before = fresh();
        let a = take(200);
        assert_eq!(fresh(), before + 1);
        let ptr = a.as_ptr();
        give(a);
        let b = take(129);
        assert_eq!(b.as_ptr(), ptr, "the same buffer came back");
        assert_eq!(fresh(), before + 1);
        // Not a class size (a packet parsed from a caller's vector): freed, not kept.
        give(vec![0u8; 100].into_boxed_slice());
        give(vec![0u8; 32].into_boxed_slice());
        let _c = take(100);
        assert_eq!(fresh(), before + 2);
    }

    #[test]
    fn a_class_keeps_at_most_its_cap() {
        let n = CLASS_CAP_BYTES / 2048;
        let bufs: Vec<_> = (0..n + 10).map(|_| take(2048)).collect();
        for b in bufs {
            give(b);
        }
        let kept = FREE.with_borrow(|f| f[5].len());
        assert_eq!(kept, n);
    }
}
