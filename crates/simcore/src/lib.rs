//! Virtual time and seeded randomness: the two things every deterministic wiretap crate shares.
//!
//! This crate refuses to read the wall clock or the operating system's entropy. Time is a
//! [`Timestamp`] in virtual nanoseconds handed in by the caller; randomness comes from a
//! [`SeedTree`], which splits one scenario seed into independent, named per-component streams so
//! that adding a consumer of randomness in one component never shifts the numbers another sees.
//! A [`Watch`] lets a long run publish its progress and be asked to stop, without either
//! changing what it computes. A [`PacketLog`] holds what a tap records: timestamped packets in
//! one arena. [`par::map`] spreads independent work over the cores with results in input order.
#![warn(missing_docs)]

pub mod blocks;
pub mod hash;
pub mod packets;
pub mod par;
mod rng;
mod time;
mod watch;

pub use blocks::Blocks;
pub use hash::{fixed_hash, FixedMap, FixedSet, FixedState};
pub use packets::{Iter as PacketIter, PacketLog, PacketRef};
pub use rng::{SeedTree, SimRng};
pub use time::Timestamp;
pub use watch::{Stage, Watch};

/// Re-exported so that every crate names durations the same way.
pub use core::time::Duration;
