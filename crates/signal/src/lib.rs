//! Signal-style end-to-end messaging for wiretap, from the published specifications
//! (signal.org/docs: X3DH rev 1, PQXDH rev 3, the Double Ratchet rev 4 with header
//! encryption, XEdDSA rev 1), with real cryptography and injected randomness.
//!
//! - [`keys`]: identity keys (X25519 + XEdDSA), signed / one-time / PQ prekeys, bundles, and
//!   the server's [`PreKeyStore`].
//! - [`x3dh`]: X3DH and PQXDH (ML-KEM-1024).
//! - [`ratchet`]: the Double Ratchet, optionally with header encryption.
//! - [`sealed`]: sealed sender.
//! - [`wire`]: envelope and message encodings (`docs/signal.md`).
//! - [`device`]: [`Device`], the sans-IO state machine tying it together, with delivery
//!   receipts and the compromise hook [`Device::export_state`].
//! - [`snapshot`]: [`StateSnapshot`], everything a device holds.
//! - [`crypto`]: the KDFs, AEAD, XEdDSA and ML-KEM wrappers.
//!
//! Sans-IO and deterministic: no clock (callers pass `now`), no sockets, no OS randomness
//! (every random byte comes from the RNG given to [`Device::new`]), ordered maps only.
#![warn(missing_docs)]

pub mod crypto;
pub mod device;
mod error;
pub mod keys;
pub mod ratchet;
pub mod sealed;
pub mod snapshot;
pub mod wire;
pub mod x3dh;

pub use device::{Device, DeviceConfig, Event, Transmit, MAX_PLAINTEXT};
pub use error::{FailureKind, Result, SignalError};
pub use keys::{IdentityKeyPair, PqPreKey, PreKeyBundle, PreKeyStore, PreKeyUpload, SignedPreKey};
pub use snapshot::{KemSecret, PreKeySecret, SessionSnapshot, SkippedKey, StateSnapshot};
