//! Long-term and medium-term keys: [`IdentityKeyPair`] (an X25519 key that also signs, with
//! XEdDSA), signed prekeys, one-time prekeys, PQ (ML-KEM-1024) prekeys, the [`PreKeyBundle`]
//! a device publishes, and the server's [`PreKeyStore`].

use std::collections::BTreeMap;

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{encode_ec, encode_kem, xeddsa_sign, xeddsa_verify, Secret32};
use crate::error::{Result, SignalError};

/// A device's identity key: X25519 for the DHs of X3DH and sealed sender, and XEdDSA for
/// signing prekeys with the same key (as Signal does). The private half is wiped on drop and
/// never printed.
#[derive(Clone)]
pub struct IdentityKeyPair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl core::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &hex(&self.public))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl IdentityKeyPair {
    /// A fresh key pair from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    /// The key pair of a given X25519 private key.
    pub fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret).to_bytes();
        IdentityKeyPair { secret, public }
    }

    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The private key (for state export).
    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// An XEdDSA signature of `message`, with 64 random bytes from `rng`.
    pub fn sign<R: RngCore + CryptoRng>(&self, rng: &mut R, message: &[u8]) -> [u8; 64] {
        let mut z = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(&mut z[..]);
        let k: Secret32 = Zeroizing::new(self.secret.to_bytes());
        xeddsa_sign(&k, message, &z)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The public half of a signed prekey: `Sig(IK, Encode(SPK))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPreKey {
    /// Identifier.
    pub id: u32,
    /// X25519 public key.
    pub public: [u8; 32],
    /// XEdDSA signature by the identity key over `Encode(public)`.
    pub signature: [u8; 64],
}

/// The public half of a PQ prekey (signed last-resort or one-time): `Sig(IK,
/// EncodeKEM(PQPK))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PqPreKey {
    /// Identifier.
    pub id: u32,
    /// ML-KEM-1024 encapsulation key.
    pub public: Vec<u8>,
    /// XEdDSA signature by the identity key over `EncodeKEM(public)`.
    pub signature: [u8; 64],
}

/// What an initiator fetches from the server to start a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyBundle {
    /// The responder's address.
    pub device: u64,
    /// The responder's identity key `IK_B`.
    pub identity: [u8; 32],
    /// The signed prekey `SPK_B`.
    pub signed_prekey: SignedPreKey,
    /// A one-time prekey `OPK_B` (id, key), if the server had one left.
    pub one_time_prekey: Option<(u32, [u8; 32])>,
    /// A PQ prekey: one-time if the server had one left, else the last-resort one; `None` for
    /// a device without PQ keys.
    pub pq_prekey: Option<PqPreKey>,
}

impl PreKeyBundle {
    /// Checks the signatures of the signed prekey and PQ prekey under the identity key.
    pub fn verify(&self) -> Result<()> {
        if !xeddsa_verify(
            &self.identity,
            &encode_ec(&self.signed_prekey.public),
            &self.signed_prekey.signature,
        ) {
            return Err(SignalError::BadSignature);
        }
        if let Some(pq) = &self.pq_prekey {
            if !xeddsa_verify(&self.identity, &encode_kem(&pq.public), &pq.signature) {
                return Err(SignalError::BadSignature);
            }
        }
        Ok(())
    }
}

/// What a device uploads to the server: its bundle keys and a batch of one-time prekeys.
#[derive(Clone, Debug)]
pub struct PreKeyUpload {
    /// The device's address.
    pub device: u64,
    /// Its identity key.
    pub identity: [u8; 32],
    /// Its current signed prekey.
    pub signed_prekey: SignedPreKey,
    /// New one-time prekeys.
    pub one_time_prekeys: Vec<(u32, [u8; 32])>,
    /// Its signed last-resort PQ prekey, if it has PQ keys.
    pub pq_last_resort: Option<PqPreKey>,
    /// New signed one-time PQ prekeys.
    pub pq_one_time_prekeys: Vec<PqPreKey>,
}

#[derive(Clone, Debug)]
struct Stored {
    identity: [u8; 32],
    signed_prekey: SignedPreKey,
    one_time: BTreeMap<u32, [u8; 32]>,
    pq_last_resort: Option<PqPreKey>,
    pq_one_time: BTreeMap<u32, PqPreKey>,
}

/// The key server: stores each device's bundle, hands out each one-time prekey (classic and
/// PQ) exactly once, lowest id first, and tells when none is left.
#[derive(Clone, Debug, Default)]
pub struct PreKeyStore {
    devices: BTreeMap<u64, Stored>,
}

impl PreKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores an upload after checking its signatures ([`SignalError::BadSignature`]
    /// otherwise). A new identity key replaces everything stored for the device.
    pub fn upload(&mut self, upload: PreKeyUpload) -> Result<()> {
        let check = PreKeyBundle {
            device: upload.device,
            identity: upload.identity,
            signed_prekey: upload.signed_prekey.clone(),
            one_time_prekey: None,
            pq_prekey: upload.pq_last_resort.clone(),
        };
        check.verify()?;
        for pq in &upload.pq_one_time_prekeys {
            if !xeddsa_verify(&upload.identity, &encode_kem(&pq.public), &pq.signature) {
                return Err(SignalError::BadSignature);
            }
        }
        let entry = self.devices.entry(upload.device).or_insert_with(|| Stored {
            identity: upload.identity,
            signed_prekey: upload.signed_prekey.clone(),
            one_time: BTreeMap::new(),
            pq_last_resort: None,
            pq_one_time: BTreeMap::new(),
        });
        if entry.identity != upload.identity {
            entry.identity = upload.identity;
            entry.one_time.clear();
            entry.pq_one_time.clear();
        }
        entry.signed_prekey = upload.signed_prekey;
        entry.pq_last_resort = upload.pq_last_resort;
        entry.one_time.extend(upload.one_time_prekeys);
        for pq in upload.pq_one_time_prekeys {
            entry.pq_one_time.insert(pq.id, pq);
        }
        Ok(())
    }

    /// A bundle for `device`, removing the one-time prekeys it hands out. When none is left
    /// the bundle has no one-time prekey (X3DH without DH4) and the last-resort PQ prekey;
    /// [`PreKeyStore::one_time_remaining`] tells the device to upload more.
    pub fn fetch(&mut self, device: u64) -> Result<PreKeyBundle> {
        let stored = self
            .devices
            .get_mut(&device)
            .ok_or(SignalError::UnknownDevice(device))?;
        let one_time_prekey = stored.one_time.pop_first();
        let pq_prekey = match stored.pq_one_time.pop_first() {
            Some((_, pq)) => Some(pq),
            None => stored.pq_last_resort.clone(),
        };
        Ok(PreKeyBundle {
            device,
            identity: stored.identity,
            signed_prekey: stored.signed_prekey.clone(),
            one_time_prekey,
            pq_prekey,
        })
    }

    /// How many classic one-time prekeys are left for `device` (0 = exhausted, or unknown).
    pub fn one_time_remaining(&self, device: u64) -> usize {
        self.devices.get(&device).map_or(0, |s| s.one_time.len())
    }

    /// How many one-time PQ prekeys are left for `device`.
    pub fn pq_one_time_remaining(&self, device: u64) -> usize {
        self.devices.get(&device).map_or(0, |s| s.pq_one_time.len())
    }
}
