//! What the adversary holds beyond its taps: stolen secrets, predictable devices, a quantum
//! computer, the public key directory, and the log of what its own on-path components did.
//!
//! These are *declared capabilities* (scenario file, `[adversary]` section). Each arrives as a
//! value with the simulated time at which the adversary obtained it, so an analysis can ask
//! "what was readable once the adversary held everything it had at time T". Nothing here is
//! ground truth: a stolen key is exactly the bytes a device or server held, and the quantum
//! oracle answers X25519 queries only (never ML-KEM, never plaintext).

use core::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde::Serialize;
pub use simcore::Timestamp;
use zeroize::Zeroizing;

/// A quantum computer, as a capability: X25519 shared secrets from public keys alone.
///
/// The simulator backs it with the private keys it generated, but the interface answers one
/// Diffie-Hellman query at a time and nothing else; post-quantum KEMs are out of its reach.
pub trait X25519Oracle: Send + Sync + fmt::Debug {
    /// X25519 between the holders of public keys `a` and `b`, or `None` if neither key belongs
    /// to a party of this simulation (the oracle cannot invent a private key for a random point).
    fn x25519(&self, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]>;
}

/// Who owned a secret, as the adversary names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "id")]
pub enum Owner {
    /// A subscriber's handset, by MSISDN.
    Subscriber(String),
    /// The over-the-top messaging server.
    OttServer,
    /// A carrier's packet gateway (the carrier-encrypted tunnel endpoint), by carrier name.
    CarrierGateway(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Subscriber(m) => write!(f, "subscriber {m}"),
            Owner::OttServer => f.write_str("the OTT server"),
            Owner::CarrierGateway(c) => write!(f, "{c}'s packet gateway"),
        }
    }
}

/// A secret the adversary stole. `Debug` never prints key bytes.
#[derive(Clone)]
pub enum Secret {
    /// A long-term X25519 static key pair.
    Static {
        /// The public key (as in the directory).
        public: [u8; 32],
        /// The private key.
        private: Zeroizing<[u8; 32]>,
    },
    /// A pre-shared key, shared by the owner with `peer`.
    Psk {
        /// The other holder of the psk.
        peer: Owner,
        /// The psk.
        psk: Zeroizing<[u8; 32]>,
    },
    /// The transport keys of one live end-to-end session on the owner's device.
    SessionState {
        /// The session id, as carried in the clear by the app envelope.
        session: u64,
        /// The full Noise protocol name.
        protocol: String,
        /// Whether the device was the session's initiator.
        initiator: bool,
        /// The initiator-to-responder transport key.
        initiator_to_responder: Zeroizing<[u8; 32]>,
        /// The responder-to-initiator transport key (absent in one-way patterns).
        responder_to_initiator: Option<Zeroizing<[u8; 32]>>,
    },
    /// What a Signal-style device held ([`SignalState`]): everything (`device-state`), or only
    /// the identity key and signed prekey (`static` of a signal app).
    SignalState(Box<SignalState>),
}

/// One Double Ratchet session copied out of a Signal-style device (spec names in brackets).
#[derive(Clone)]
pub struct SignalSession {
    /// The peer's address.
    pub peer: u64,
    /// `AD` of the session.
    pub associated_data: Vec<u8>,
    /// `RK`.
    pub root_key: Zeroizing<[u8; 32]>,
    /// Whether the device initiated the session.
    pub initiator: bool,
    /// Private half of `DHs`.
    pub ratchet_private: Zeroizing<[u8; 32]>,
    /// Public half of `DHs`.
    pub ratchet_public: [u8; 32],
    /// `DHr`.
    pub remote_ratchet: Option<[u8; 32]>,
    /// `CKs`.
    pub sending_chain: Option<Zeroizing<[u8; 32]>>,
    /// `CKr`.
    pub receiving_chain: Option<Zeroizing<[u8; 32]>>,
    /// `Ns`.
    pub ns: u32,
    /// `Nr`.
    pub nr: u32,
    /// `PN`.
    pub pn: u32,
    /// Whether the session encrypts headers.
    pub header_encryption: bool,
    /// Header encryption: `HKs`, the header key of the sending chain.
    pub hks: Option<Zeroizing<[u8; 32]>>,
    /// Header encryption: `HKr`, the header key of the receiving chain.
    pub hkr: Option<Zeroizing<[u8; 32]>>,
    /// Header encryption: `NHKs`, the header key of the next sending chain.
    pub nhks: Option<Zeroizing<[u8; 32]>>,
    /// Header encryption: `NHKr`, the header key of the next receiving chain.
    pub nhkr: Option<Zeroizing<[u8; 32]>>,
    /// `MKSKIPPED`: (ratchet public key, or under header encryption the chain's header key; N;
    /// message key).
    pub skipped: Vec<([u8; 32], u32, Zeroizing<[u8; 32]>)>,
}

/// What was copied out of a Signal-style device (mirrors the adversary's
/// `ratchet::StolenState`; the carrier converts the device's snapshot field by field).
#[derive(Clone)]
pub struct SignalState {
    /// The device's address (its MSISDN's digits).
    pub address: u64,
    /// `true`: the whole device (`device-state`); `false`: identity key and signed prekey only.
    pub device_state: bool,
    /// Identity private key.
    pub identity_private: Zeroizing<[u8; 32]>,
    /// Signed prekey (id, private key).
    pub signed_prekey: (u32, Zeroizing<[u8; 32]>),
    /// One-time prekeys not used yet: (id, private key).
    pub one_time_prekeys: Vec<(u32, Zeroizing<[u8; 32]>)>,
    /// PQ prekeys (last-resort and one-time): (id, ML-KEM decapsulation key).
    pub pq_prekeys: Vec<(u32, Zeroizing<Vec<u8>>)>,
    /// Every session.
    pub sessions: Vec<SignalSession>,
}

/// The public keys a Signal-style key server publishes for one device (anyone can fetch its
/// bundles): what the adversary needs to name the keys of a captured initial message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignalDirectoryEntry {
    /// Whose device.
    pub owner: Owner,
    /// Its address.
    pub address: u64,
    /// Identity public key.
    pub identity: [u8; 32],
    /// Signed prekeys published: (id, public key).
    pub signed_prekeys: Vec<(u32, [u8; 32])>,
    /// One-time prekeys published: (id, public key).
    pub one_time_prekeys: Vec<(u32, [u8; 32])>,
}

impl Secret {
    /// A short name of what was stolen: `"static"`, `"psk"`, `"session-state"` or
    /// `"device-state"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Secret::Static { .. } => "static",
            Secret::Psk { .. } => "psk",
            Secret::SessionState { .. } => "session-state",
            Secret::SignalState(s) if s.device_state => "device-state",
            Secret::SignalState(_) => "static",
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Static { public, .. } => {
                write!(f, "Static {{ public: {:02x?}.. }}", &public[..4])
            }
            Secret::Psk { peer, .. } => write!(f, "Psk {{ peer: {peer:?} }}"),
            Secret::SessionState {
                session, protocol, ..
            } => write!(
                f,
                "SessionState {{ session: {session}, protocol: {protocol:?} }}"
            ),
            Secret::SignalState(s) => write!(
                f,
                "SignalState {{ address: {}, device_state: {}, sessions: {} }}",
                s.address,
                s.device_state,
                s.sessions.len()
            ),
        }
    }
}

/// One theft: what, from whom, and when the adversary got it.
#[derive(Clone, Debug)]
pub struct StolenSecret {
    /// When the adversary obtained it (may be after the traffic ended: harvest now, decrypt later).
    pub at: Timestamp,
    /// Whose it was.
    pub owner: Owner,
    /// The secret.
    pub secret: Secret,
}

/// A device whose random number generator is weak: its key generator is known and seeded with
/// only `entropy_bits` of entropy, so the adversary can enumerate its ephemeral keys (as with the
/// Debian OpenSSL flaw of 2008, 15 bits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeakRng {
    /// The device.
    pub owner: Owner,
    /// Its address in the simulated network, as the adversary sees it in captures.
    pub address: Ipv4Addr,
    /// Bits of entropy in each session seed.
    pub entropy_bits: u8,
}

/// One entry of the public key directory (what a messaging service publishes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// Whose key.
    pub owner: Owner,
    /// The X25519 static public key.
    pub public: [u8; 32],
}

/// What an on-path component of the adversary did to one flow, and what it read while doing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActiveRecord {
    /// When it acted.
    pub at: Timestamp,
    /// The attack mode: `"mitm"`, `"tamper"`, `"replay"`, `"drop"` or `"inject"`.
    pub mode: String,
    /// The node it acted at, e.g. `"east.core"`.
    pub node: String,
    /// The end-to-end session id attacked, if the flow carried one.
    pub session: Option<u64>,
    /// Plaintexts the component itself decrypted (mitm), in order.
    pub plaintexts: Vec<Vec<u8>>,
    /// Its own account of the outcome, e.g. "completed both handshakes" or "could not compute es".
    pub outcome: String,
}

/// Everything the adversary holds beyond packets, warrants and call records.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// Stolen secrets, in the order stolen.
    pub stolen: Vec<StolenSecret>,
    /// Devices with predictable randomness.
    pub weak_rng: Vec<WeakRng>,
    /// A quantum computer, if declared.
    pub quantum: Option<Arc<dyn X25519Oracle>>,
    /// The public key directory.
    pub directory: Vec<DirectoryEntry>,
    /// What the adversary's on-path components did.
    pub active: Vec<ActiveRecord>,
    /// The public prekeys of Signal-style devices, as their key server publishes them.
    pub signal_directory: Vec<SignalDirectoryEntry>,
}
