//! The adversary's active components: what an intruder at a carrier's core does to traffic, as
//! sans-IO machines on the adversary's side of the wall.
//!
//! An [`Interceptor`] implements [`capture::active::Interceptor`]: datagrams crossing its node
//! and the secrets the adversary steals come in, verdicts (pass, drop, replace), datagrams of its
//! own (injections, forged acknowledgements) and its own log go out. The simulator drives it
//! through that trait and never depends on this crate; the pipeline hands the simulator an
//! [`Armory`], which builds one interceptor per node from the node's [`capture::active::OnPathBrief`].
//!
//! **What it may use.** Captured bytes, its brief (target lists, numbering plan, public key
//! directory, its own seed) and stolen secrets. Its Noise work goes through the adversary's own
//! engine (`adversary::engine`), which computes a Diffie-Hellman only with a private key in hand.
//! One exception, stated and checked: the Signal takeover ([`signal_mitm`]) continues a stolen
//! ratchet with the endpoint's own Double Ratchet from the `signal` crate, since re-encrypting
//! toward both parties is endpoint work. `.ci/deps.sh` allows `onpath → signal` and forbids
//! `onpath → carrier`, `netsim`, `scenario` and `report`, and `carrier → onpath` or `adversary`.
//!
//! No clock, no sockets, no OS randomness: time comes with each datagram, randomness from the
//! brief's seed.

mod interceptor;
pub mod signal_mitm;

pub use interceptor::{Armory, Interceptor, Refusal};
