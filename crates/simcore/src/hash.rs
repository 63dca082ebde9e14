//! Hash maps for lookups only, with a fixed hasher.
//!
//! A B-tree keyed by a number or a short string costs a cache miss per level once it holds
//! hundreds of thousands of entries (BENCHMARKING.md § "Where the memory and the time go"); a
//! hash map costs about one. std's default `RandomState` seeds SipHash from the operating
//! system, which sans-IO code may not read, so these maps use foldhash with its fixed seed
//! (`foldhash::fast::FixedState`, the family hashbrown itself defaults to): the same table
//! layout on every run. (SipHash-1-3 with fixed keys until session 9: foldhash takes 2.9 % of
//! the instructions off netsim's peer workload and 0.9 % off the default scenario, whose
//! lookups hash addresses, numbers and MSISDNs; BENCHMARKING.md § "netsim's cost per
//! datagram".) Keys here are addresses, indices and hashes the simulation made, not chosen by
//! an attacker of the program, so a non-cryptographic hash is enough.
//!
//! Use them for lookups only. Iteration order is the same on every run (fixed keys) but a
//! property of the hasher and the insertion history, not of the keys: never iterate one into
//! an output; keep a `BTreeMap` (or sort) where order is seen. This module is the one place
//! the workspace's `clippy.toml` lets name `HashMap` and `HashSet`.
#![allow(clippy::disallowed_types)]

use std::collections::{HashMap, HashSet};

/// The fixed-seed foldhash builder of [`FixedMap`] and [`FixedSet`].
pub type FixedState = foldhash::fast::FixedState;

/// A `HashMap` with a fixed hasher, for lookups only (module documentation).
pub type FixedMap<K, V> = HashMap<K, V, FixedState>;

/// A `HashSet` with a fixed hasher, for membership only (module documentation).
pub type FixedSet<T> = HashSet<T, FixedState>;

/// The fixed-seed hash of `value`, the one [`FixedMap`] files it under: for a key that keeps
/// its hash, or a fingerprint, without a map.
pub fn fixed_hash<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::BuildHasher;
    FixedState::default().hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn the_hasher_is_the_same_on_every_build() {
        // Two independently built states hash alike (RandomState would not).
        let (a, b) = (FixedState::default(), FixedState::default());
        assert_eq!(a.hash_one(42u64), b.hash_one(42u64));
        assert_ne!(a.hash_one(42u64), a.hash_one(43u64));
    }

    #[test]
    fn maps_find_what_was_inserted() {
        let mut m: FixedMap<u32, usize> = FixedMap::default();
        for i in 0..10_000u32 {
            m.insert(i.wrapping_mul(2_654_435_761), i as usize);
        }
        for i in 0..10_000u32 {
            assert_eq!(m.get(&i.wrapping_mul(2_654_435_761)), Some(&(i as usize)));
        }
        let mut s: FixedSet<u64> = FixedSet::default();
        assert!(s.insert(7));
        assert!(!s.insert(7));
    }
}
