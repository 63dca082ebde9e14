//! The one source of randomness of every session: a snow [`CryptoResolver`] whose RNG is
//! ChaCha20 keyed by a caller-provided 32-byte seed.
//!
//! Primitives come from snow's ring-backed resolver where it has them (ChaCha20-Poly1305,
//! AES-GCM, SHA-256, SHA-512) and from snow's default pure-Rust resolver otherwise (X25519,
//! BLAKE2s, BLAKE2b): the same preference order as snow's `FallbackResolver`. Only the RNG is
//! replaced, so with equal seeds two runs produce byte-identical transcripts.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{BoxedCryptoResolver, CryptoResolver, DefaultResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use zeroize::Zeroizing;

/// A snow resolver with a seeded RNG: ring primitives first, snow's defaults as fallback.
///
/// Each call to `resolve_rng` starts a fresh ChaCha20 stream from the same seed; snow resolves
/// one RNG per handshake (and one per `generate_keypair`), so a seed should serve one session.
pub struct SeededResolver {
    seed: Zeroizing<[u8; 32]>,
}

impl SeededResolver {
    /// A resolver whose RNG is ChaCha20 keyed by `rng_seed`.
    pub fn new(rng_seed: [u8; 32]) -> Self {
        SeededResolver {
            seed: Zeroizing::new(rng_seed),
        }
    }
}

impl core::fmt::Debug for SeededResolver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SeededResolver")
            .field("seed", &"<redacted>")
            .finish()
    }
}

/// snow's [`Random`] over a seeded ChaCha20 stream.
struct SeededRng(ChaCha20Rng);

impl Random for SeededRng {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRng(ChaCha20Rng::from_seed(*self.seed))))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        RingResolver
            .resolve_dh(choice)
            .or_else(|| DefaultResolver.resolve_dh(choice))
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        RingResolver
            .resolve_hash(choice)
            .or_else(|| DefaultResolver.resolve_hash(choice))
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        RingResolver
            .resolve_cipher(choice)
            .or_else(|| DefaultResolver.resolve_cipher(choice))
    }
}

/// The boxed resolver every session of this crate builds its snow state with.
pub fn resolver(rng_seed: [u8; 32]) -> BoxedCryptoResolver {
    Box::new(SeededResolver::new(rng_seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_a_pure_function_of_the_seed() {
        let draw = |seed| {
            let mut out = [0u8; 64];
            let mut rng = SeededResolver::new(seed).resolve_rng().unwrap();
            rng.try_fill_bytes(&mut out).unwrap();
            out
        };
        assert_eq!(draw([1; 32]), draw([1; 32]));
        assert_ne!(draw([1; 32]), draw([2; 32]));
    }

    #[test]
    fn every_primitive_resolves() {
        let r = SeededResolver::new([0; 32]);
        assert!(r.resolve_dh(&DHChoice::Curve25519).is_some());
        for h in [
            HashChoice::SHA256,
            HashChoice::SHA512,
            HashChoice::Blake2s,
            HashChoice::Blake2b,
        ] {
            assert!(r.resolve_hash(&h).is_some(), "{h:?}");
        }
        for c in [CipherChoice::ChaChaPoly, CipherChoice::AESGCM] {
            assert!(r.resolve_cipher(&c).is_some(), "{c:?}");
        }
    }
}
