//! What the attacker holds: X25519 private keys, ML-KEM decapsulation keys, and optionally a
//! "quantum" DH oracle.
//!
//! Keys, not roles: a DH between public keys `A` and `B` succeeds iff the keyring holds the
//! private key of `A` or of `B` (X25519(a, B) = X25519(b, A)), or the oracle answers it.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::Arc;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// A "quantum" capability: X25519 from two public keys alone. It never breaks a KEM.
pub trait DhOracle: Send + Sync {
    /// The shared secret of public keys `a` and `b`, or `None` if the oracle does not answer.
    fn dh(&self, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]>;
}

/// The attacker's keys. `Clone` (the oracle is shared), private halves wiped on drop
/// (`x25519_dalek::StaticSecret` and [`Zeroizing`]), and `Debug` prints only public keys.
#[derive(Clone, Default)]
pub struct Keyring {
    privates: BTreeMap<[u8; 32], StaticSecret>,
    kem: BTreeMap<Vec<u8>, Zeroizing<Vec<u8>>>,
    oracle: Option<Arc<dyn DhOracle>>,
}

/// The outcome of one DH attempt.
pub(crate) enum Dh {
    /// Computed.
    Shared(Zeroizing<[u8; 32]>),
    /// Neither private key held, no oracle answer.
    Missing,
    /// The result was all zeros.
    LowOrder,
}

impl Keyring {
    /// An empty keyring: the passive adversary.
    pub fn new() -> Self {
        Keyring::default()
    }

    /// Adds an X25519 private key (clamped by X25519 as usual); returns its public key.
    pub fn add_private(&mut self, private: [u8; 32]) -> [u8; 32] {
        let private = Zeroizing::new(private);
        let secret = StaticSecret::from(*private);
        let public = PublicKey::from(&secret).to_bytes();
        self.privates.insert(public, secret);
        public
    }

    /// Whether the keyring holds the private key of `public`.
    pub fn has_private(&self, public: &[u8; 32]) -> bool {
        self.privates.contains_key(public)
    }

    /// Installs a DH oracle, consulted when neither private key is held.
    pub fn set_oracle(&mut self, oracle: Arc<dyn DhOracle>) {
        self.oracle = Some(oracle);
    }

    /// Adds an ML-KEM-1024 decapsulation key (encoded, 3168 bytes), keyed by its encoded public
    /// key (1568 bytes). A key of the wrong length is kept but never decapsulates.
    pub fn add_kem_secret(&mut self, public: Vec<u8>, secret: Vec<u8>) {
        self.kem.insert(public, Zeroizing::new(secret));
    }

    /// Whether the keyring holds the decapsulation key of this KEM public key.
    pub fn has_kem_secret(&self, public: &[u8]) -> bool {
        self.kem.contains_key(public)
    }

    /// The number of X25519 private keys held.
    pub fn len(&self) -> usize {
        self.privates.len()
    }

    /// Whether no X25519 private key is held.
    pub fn is_empty(&self) -> bool {
        self.privates.is_empty()
    }

    pub(crate) fn kem_secret(&self, public: &[u8]) -> Option<&[u8]> {
        self.kem.get(public).map(|s| &s[..])
    }

    /// X25519 between `a` and `b` from whichever private key is held, else the oracle.
    pub(crate) fn dh(&self, a: &[u8; 32], b: &[u8; 32]) -> Dh {
        let shared = if let Some(sa) = self.privates.get(a) {
            Zeroizing::new(sa.diffie_hellman(&PublicKey::from(*b)).to_bytes())
        } else if let Some(sb) = self.privates.get(b) {
            Zeroizing::new(sb.diffie_hellman(&PublicKey::from(*a)).to_bytes())
        } else if let Some(out) = self.oracle.as_ref().and_then(|o| o.dh(a, b)) {
            Zeroizing::new(out)
        } else {
            return Dh::Missing;
        };
        if shared.iter().all(|&x| x == 0) {
            Dh::LowOrder
        } else {
            Dh::Shared(shared)
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let publics: Vec<String> = self
            .privates
            .keys()
            .map(|k| k.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        f.debug_struct("Keyring")
            .field("x25519_publics", &publics)
            .field("kem_secrets", &self.kem.len())
            .field("oracle", &self.oracle.is_some())
            .finish()
    }
}
