//! Ordered parallel map: the one way a run spreads pure, independent work (a subscriber's keys
//! and handset, say) over the machine's cores without its output depending on how many there
//! are.
//!
//! [`map`] cuts the input into contiguous chunks, maps each on a scoped thread and concatenates
//! the results in input order, so `map(items, f)` equals `items.iter().map(f).collect()` for
//! any thread count. Only work that reads shared inputs and draws no randomness except from its
//! own named seed stream may go through it: what `f` computes must not depend on what the other
//! items computed or in which order they ran.

/// Items below which [`map`] stays on the calling thread (spawning costs more than it saves).
pub const MIN_PARALLEL: usize = 64;

/// `items.iter().map(f).collect()`, computed on up to [`threads`] scoped threads (the calling
/// thread takes the last chunk). A panic in `f` is resumed on the caller.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_with(items, threads(), f)
}

/// [`map`] on exactly `threads` chunks (at least one): for tests that compare thread counts.
pub fn map_with<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.max(1);
    if threads == 1 || items.len() < MIN_PARALLEL {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let mut chunks = items.chunks(chunk);
        let last = chunks.next_back().unwrap_or(&[]);
        let spawned: Vec<_> = chunks
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let tail: Vec<R> = last.iter().map(f).collect();
        let mut out = Vec::with_capacity(items.len());
        for h in spawned {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out.extend(tail);
        out
    })
}

/// The cores this process may use (1 when the system cannot tell).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_the_sequential_map_for_any_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        let seq: Vec<u64> = items.iter().map(|x| x * x + 1).collect();
        for t in [1, 2, 3, 7, 64, 2000] {
            assert_eq!(map_with(&items, t, |x| x * x + 1), seq, "{t} threads");
        }
        assert!(map_with(&[] as &[u64], 4, |x| *x).is_empty());
    }

    #[test]
    fn work_runs_on_other_threads_when_there_is_enough_of_it() {
        let main = std::thread::current().id();
        let items: Vec<u32> = (0..MIN_PARALLEL as u32 * 2).collect();
        let on = map_with(&items, 2, |_| std::thread::current().id());
        assert_eq!(on.last(), Some(&main), "the caller takes the last chunk");
        assert!(
            on.iter().any(|t| *t != main),
            "the first chunk ran elsewhere"
        );
        let small = map_with(&items[..3], 2, |_| std::thread::current().id());
        assert!(small.iter().all(|t| *t == main));
    }

    #[test]
    #[should_panic(expected = "item 5")]
    fn a_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..200).collect();
        map_with(&items, 2, |x| assert_ne!(*x, 5, "item 5"));
    }
}
