//! Sans-IO protocol code for wiretap: the wire formats, a hop-by-hop reliable layer and Noise
//! sessions over snow.
//!
//! **What this crate refuses to do.** It opens no sockets, reads no clock and draws no
//! operating-system randomness. Every input arrives through a `handle_*` method, every output
//! leaves through a `poll_*` method; time comes in as a [`simcore::Timestamp`] of virtual
//! nanoseconds, and randomness only from 32-byte seeds handed in by the caller (through
//! [`crypto::resolver`], the only RNG any session uses). It uses no `HashMap` or `HashSet`
//! (iteration order must not depend on a hasher), and it keeps key material in zeroize-on-drop
//! containers that never appear in `Debug` output or logs.
//!
//! Code map:
//!
//! * [`wire`]: the UDP payloads of `docs/wire-format.md` (frames, application PDUs, LI records).
//! * [`reliable`]: [`ReliableLink`](reliable::ReliableLink), hop-by-hop ARQ over lossy datagrams.
//! * [`noise`]: [`NoiseSession`](noise::NoiseSession), any Noise protocol snow parses.
//! * [`tunnel`]: [`NkTunnel`](tunnel::NkTunnel), the carrier and OTT-server NK tunnels.
//! * [`keys`], [`crypto`]: key material and the seeded snow resolver.
//! * [`weak`]: predictable session seeds and re-deriving a seeded session's ephemeral keys.
//! * [`ProtoError`]: every failure, with who is at fault.
#![warn(missing_docs)]

pub mod crypto;
mod error;
pub mod keys;
pub mod noise;
pub mod reliable;
pub mod tunnel;
pub mod weak;
pub mod wire;

pub use error::ProtoError;

/// The snow crate this one is built on, re-exported so benches and tools can measure the raw
/// floor (`snow::TransportState`) with exactly the same version and features.
pub use snow;
