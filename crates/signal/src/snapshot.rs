//! [`StateSnapshot`]: everything a device holds, as a thief who copies its memory at some
//! moment gets it. Every secret is in [`Zeroizing`]; `Debug` prints no secret.

use zeroize::Zeroizing;

use crate::crypto::Secret32;

/// A skipped message key: `(index key, N) -> MK`, where the index key is the sender's
/// ratchet public key, or the header key under header encryption.
#[derive(Clone)]
pub struct SkippedKey {
    /// Ratchet public key (or header key with header encryption) of the chain.
    pub index_key: [u8; 32],
    /// Message number.
    pub n: u32,
    /// The message key.
    pub message_key: Secret32,
}

/// One session's Double Ratchet state (spec names in brackets).
#[derive(Clone)]
pub struct SessionSnapshot {
    /// The peer's address.
    pub peer: u64,
    /// The peer's identity key.
    pub peer_identity: [u8; 32],
    /// Whether this device initiated the session (Alice).
    pub initiator: bool,
    /// Responder: the initiator's ephemeral key `EK_A` of the session.
    pub base_key: Option<[u8; 32]>,
    /// `AD = Encode(IK_A) || Encode(IK_B)`.
    pub associated_data: Vec<u8>,
    /// `RK`.
    pub root_key: Secret32,
    /// Private half of `DHs`.
    pub ratchet_private: Secret32,
    /// Public half of `DHs`.
    pub ratchet_public: [u8; 32],
    /// `DHr`.
    pub remote_ratchet: Option<[u8; 32]>,
    /// `CKs`.
    pub sending_chain: Option<Secret32>,
    /// `CKr`.
    pub receiving_chain: Option<Secret32>,
    /// `Ns`.
    pub ns: u32,
    /// `Nr`.
    pub nr: u32,
    /// `PN`.
    pub pn: u32,
    /// Whether headers are encrypted.
    pub header_encryption: bool,
    /// `HKs`.
    pub hks: Option<Secret32>,
    /// `HKr`.
    pub hkr: Option<Secret32>,
    /// `NHKs`.
    pub nhks: Option<Secret32>,
    /// `NHKr`.
    pub nhkr: Option<Secret32>,
    /// `MKSKIPPED`.
    pub skipped: Vec<SkippedKey>,
}

/// A private prekey with its identifier.
#[derive(Clone)]
pub struct PreKeySecret {
    /// Identifier.
    pub id: u32,
    /// X25519 private key.
    pub private: Secret32,
    /// Public key.
    pub public: [u8; 32],
}

/// A private ML-KEM-1024 prekey with its identifier.
#[derive(Clone)]
pub struct KemSecret {
    /// Identifier.
    pub id: u32,
    /// Decapsulation key, encoded.
    pub secret: Zeroizing<Vec<u8>>,
    /// Encapsulation key.
    pub public: Vec<u8>,
}

/// Everything a device holds at the moment of the snapshot.
#[derive(Clone)]
pub struct StateSnapshot {
    /// The device's address.
    pub address: u64,
    /// Identity private key.
    pub identity_private: Secret32,
    /// Identity public key.
    pub identity_public: [u8; 32],
    /// Signed prekey private key.
    pub signed_prekey: PreKeySecret,
    /// One-time prekeys not used yet.
    pub one_time_prekeys: Vec<PreKeySecret>,
    /// The last-resort PQ prekey, if the device has PQ keys.
    pub pq_last_resort: Option<KemSecret>,
    /// One-time PQ prekeys not used yet.
    pub pq_one_time_prekeys: Vec<KemSecret>,
    /// Every session, by peer address.
    pub sessions: Vec<SessionSnapshot>,
}

macro_rules! redacted_debug {
    ($t:ty, $name:literal) => {
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!($name, " { <redacted> }"))
            }
        }
    };
}

redacted_debug!(SkippedKey, "SkippedKey");
redacted_debug!(SessionSnapshot, "SessionSnapshot");
redacted_debug!(PreKeySecret, "PreKeySecret");
redacted_debug!(KemSecret, "KemSecret");
redacted_debug!(StateSnapshot, "StateSnapshot");
