//! Sans-IO protocol code for wiretap: the wire formats, a hop-by-hop reliable layer and Noise
//! sessions over snow.
//!
//! **What this crate refuses to do.** It opens no sockets, reads no clock and draws no
//! operating-system randomness. Every input arrives through a `handle_*` method, every output
//! leaves through a `poll_*` method; time comes in as a [`simcore::Timestamp`] of virtual
//! nanoseconds, and randomness only from 32-byte seeds handed in by the caller. It uses no
//! `HashMap` or `HashSet` (iteration order must not depend on a hasher), and it keeps key
//! material in zeroize-on-drop containers that never appear in `Debug` output or logs.
#![warn(missing_docs)]

pub mod wire;
