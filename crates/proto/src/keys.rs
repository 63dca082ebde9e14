//! Long-term key material: X25519 static keypairs and pre-shared keys.
//!
//! Private halves live in [`Zeroizing`] containers (wiped on drop) and every `Debug`
//! implementation here prints `<redacted>` in their place.

use core::fmt;

use snow::params::DHChoice;
use snow::resolvers::CryptoResolver;
use zeroize::Zeroizing;

use crate::crypto::SeededResolver;
use crate::error::Hex;

/// An X25519 static keypair.
#[derive(Clone)]
pub struct StaticKeypair {
    /// The public key, as sent in `s` tokens and published in key directories.
    pub public: [u8; 32],
    /// The private key; wiped on drop, never printed.
    pub private: Zeroizing<[u8; 32]>,
}

impl StaticKeypair {
    /// A fresh keypair whose private key is drawn from ChaCha20 keyed by `rng_seed` (through the
    /// same resolver sessions use), with the public key derived by real X25519.
    pub fn generate(rng_seed: [u8; 32]) -> StaticKeypair {
        let resolver = SeededResolver::new(rng_seed);
        let mut private = Zeroizing::new([0u8; 32]);
        if let Some(mut rng) = resolver.resolve_rng() {
            // The seeded ChaCha20 RNG cannot fail.
            let _ = rng.try_fill_bytes(&mut private[..]);
        }
        StaticKeypair::from_private(*private)
    }

    /// The keypair of a known private key (e.g. one read from a stolen key store): X25519
    /// clamps the scalar, and the public key is `X25519(private, 9)`.
    pub fn from_private(private: [u8; 32]) -> StaticKeypair {
        let private = Zeroizing::new(private);
        let mut public = [0u8; 32];
        let resolver = SeededResolver::new([0; 32]);
        if let Some(mut dh) = resolver.resolve_dh(&DHChoice::Curve25519) {
            dh.set(&private[..]);
            if let Some(p) = dh.pubkey().get(..32) {
                public.copy_from_slice(p);
            }
        }
        StaticKeypair { public, private }
    }
}

impl fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeypair")
            .field("public", &format_args!("{}", Hex(&self.public)))
            .field("private", &"<redacted>")
            .finish()
    }
}

/// A 32-byte pre-shared key for Noise `psk` modifiers; wiped on drop, never printed.
#[derive(Clone)]
pub struct Psk(Zeroizing<[u8; 32]>);

impl Psk {
    /// Wraps 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Psk {
        Psk(Zeroizing::new(bytes))
    }

    /// The secret bytes (for handing to snow; do not log).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_real_x25519() {
        let a = StaticKeypair::generate([1; 32]);
        assert_eq!(a.public, StaticKeypair::generate([1; 32]).public);
        assert_ne!(a.public, StaticKeypair::generate([2; 32]).public);
        assert_eq!(StaticKeypair::from_private(*a.private).public, a.public);
        // RFC 7748 section 6.1 test vector (Alice).
        let alice = StaticKeypair::from_private([
            0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2,
            0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5,
            0x1d, 0xb9, 0x2c, 0x2a,
        ]);
        assert_eq!(
            Hex(&alice.public).to_string(),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let k = StaticKeypair::from_private([0xAB; 32]);
        let s = format!("{k:?} {:?}", Psk::new([0xCD; 32]));
        assert!(s.contains("redacted"));
        assert!(!s.contains("abab") && !s.contains("171, 171") && !s.contains("cdcd"));
        assert!(!s.contains("205, 205"));
    }
}
