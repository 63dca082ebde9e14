//! Predictable randomness, and re-deriving the ephemeral keys a seeded session generated.
//!
//! Two uses, both public knowledge about how the simulated devices draw randomness:
//!
//! * A device with a **weak RNG** seeds each Noise session from [`weak_session_seed`] of a
//!   number with only a few bits of entropy (as the 2008 Debian OpenSSL flaw left 15 bits). The
//!   generator itself is public, so whoever knows the bit count can enumerate every seed the
//!   device could have used, and with [`ephemeral_private`] every ephemeral key.
//! * The simulator's **quantum oracle** answers X25519 queries about ephemeral keys, which live
//!   inside snow; since every session's RNG is a pure function of its seed
//!   ([`crate::crypto::SeededResolver`]), [`ephemeral_private`] recomputes them from the seed.
//!
//! How snow draws an ephemeral: `HandshakeState` calls `Dh::generate` on the handshake RNG when it
//! writes an `e` token, and the 25519 `generate` fills the 32-byte private key with the next 32
//! bytes of that RNG. The seeded resolver's handshake RNG is ChaCha20 (stream 0) keyed by the
//! session seed, and nothing draws from it before the `e` token. (An `hfs` pattern then draws
//! 64 bytes for its KEM key; see [`crate::crypto`].) The tests below check this against snow.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zeroize::Zeroizing;

use crate::keys::StaticKeypair;

/// The public domain string that keys the weak generator (its first 28 bytes of key).
const WEAK_DOMAIN: &[u8; 28] = b"wiretap weak session rng v1\0";

/// The session seed a weak-RNG device derives from `entropy`, the only unpredictable input.
///
/// The device draws `entropy` from its own seeded stream, masked to its entropy bits; this
/// function is the public, deterministic stretching step (ChaCha20 keyed by a domain string and
/// `entropy`), so an adversary enumerating `entropy` reproduces every seed.
pub fn weak_session_seed(entropy: u32) -> [u8; 32] {
    let mut key = Zeroizing::new([0u8; 32]);
    key[..28].copy_from_slice(WEAK_DOMAIN);
    key[28..].copy_from_slice(&entropy.to_le_bytes());
    let mut rng = ChaCha20Rng::from_seed(*key);
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}

/// The private key of the `nth` (0-based) 32-byte X25519 key drawn from the handshake RNG of a
/// session seeded with `rng_seed`, assuming only X25519 keys were drawn before it.
///
/// A party generates one ephemeral per handshake, so `nth` is 0 in practice: the private key of
/// that party's `e`.
pub fn ephemeral_private(rng_seed: [u8; 32], nth: usize) -> Zeroizing<[u8; 32]> {
    let mut rng = ChaCha20Rng::from_seed(rng_seed);
    let mut out = Zeroizing::new([0u8; 32]);
    for _ in 0..=nth {
        rng.fill_bytes(&mut out[..]);
    }
    out
}

/// The public key of the first ephemeral of a session seeded with `rng_seed` (what its `e`
/// token carries).
pub fn ephemeral_public(rng_seed: [u8; 32]) -> [u8; 32] {
    StaticKeypair::from_private(*ephemeral_private(rng_seed, 0)).public
}

/// Masks `raw` to its low `bits` bits (`bits` clamped to `0..=32`).
pub fn mask_entropy(raw: u32, bits: u8) -> u32 {
    match bits {
        0 => 0,
        b if b >= 32 => raw,
        b => raw & ((1u32 << b) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::{NoiseConfig, NoiseSession, SessionEvent};
    use simcore::Timestamp;

    fn cfg(protocol: &str, initiator: bool, seed: [u8; 32]) -> NoiseConfig {
        NoiseConfig {
            protocol: protocol.into(),
            initiator,
            local_static: None,
            remote_static: None,
            expected_remote_static: None,
            psk: None,
            prologue: b"weak".to_vec(),
            early_data: crate::noise::EarlyData::Off,
            rng_seed: seed,
        }
    }

    #[test]
    fn ephemeral_matches_what_snow_sends() {
        for protocol in [
            "Noise_NN_25519_ChaChaPoly_BLAKE2s",
            "Noise_NN_25519_AESGCM_SHA256",
            "Noise_NNhfs_25519+Kyber1024_ChaChaPoly_BLAKE2s",
        ] {
            let (si, sr) = (weak_session_seed(7), weak_session_seed(8));
            let mut i = NoiseSession::new(cfg(protocol, true, si)).expect("initiator");
            let mut r = NoiseSession::new(cfg(protocol, false, sr)).expect("responder");
            let now = Timestamp::ZERO;
            i.send(now, b"hello".to_vec()).expect("send");
            let m1 = i.poll_transmit().expect("message 1");
            assert_eq!(
                &m1.bytes[..32],
                &ephemeral_public(si),
                "{protocol}: initiator e"
            );
            r.handle_message(now, &m1).expect("read 1");
            let m2 = r.poll_transmit().expect("message 2");
            assert_eq!(
                &m2.bytes[..32],
                &ephemeral_public(sr),
                "{protocol}: responder e"
            );
        }
    }

    #[test]
    fn transport_keys_decrypt_the_session() {
        let protocol = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
        let mut i = NoiseSession::new(cfg(protocol, true, [1; 32])).expect("initiator");
        let mut r = NoiseSession::new(cfg(protocol, false, [2; 32])).expect("responder");
        assert!(i.transport_keys().is_none());
        let now = Timestamp::ZERO;
        i.send(now, b"secret one".to_vec()).expect("send");
        let mut transport = Vec::new();
        for _ in 0..4 {
            while let Some(m) = i.poll_transmit() {
                if m.kind == crate::noise::NoiseKind::Transport {
                    transport.push(m.bytes.clone());
                }
                r.handle_message(now, &m).expect("responder reads");
            }
            while let Some(m) = r.poll_transmit() {
                i.handle_message(now, &m).expect("initiator reads");
            }
        }
        while r
            .poll_event()
            .is_some_and(|e| !matches!(e, SessionEvent::Received(_)))
        {}
        let ki = i.transport_keys().expect("initiator keys");
        let kr = r.transport_keys().expect("responder keys");
        assert_eq!(*ki.initiator_to_responder, *kr.initiator_to_responder);
        assert_eq!(
            ki.responder_to_initiator.as_deref(),
            kr.responder_to_initiator.as_deref()
        );
        assert!(format!("{ki:?}").contains("redacted"));
        // The stolen key opens the captured transport message (nonce 0, empty associated data).
        use snow::resolvers::CryptoResolver;
        let mut cipher = crate::crypto::SeededResolver::new([0; 32])
            .resolve_cipher(&snow::params::CipherChoice::ChaChaPoly)
            .expect("cipher");
        cipher.set(&ki.initiator_to_responder);
        assert_eq!(transport.len(), 1);
        let mut out = vec![0u8; transport[0].len()];
        let n = cipher
            .decrypt(0, &[], &transport[0], &mut out)
            .expect("decrypts");
        assert_eq!(&out[..n], b"secret one");
    }

    #[test]
    fn weak_seeds_are_distinct_and_masking_keeps_low_bits() {
        assert_ne!(weak_session_seed(0), weak_session_seed(1));
        assert_eq!(weak_session_seed(5), weak_session_seed(5));
        assert_eq!(mask_entropy(0xffff_ffff, 12), 0xfff);
        assert_eq!(mask_entropy(0x1234_5678, 16), 0x5678);
        assert_eq!(mask_entropy(7, 0), 0);
        assert_eq!(mask_entropy(7, 32), 7);
    }

    #[test]
    fn nth_ephemeral_is_the_nth_draw() {
        let seed = [9; 32];
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut a);
        rng.fill_bytes(&mut b);
        assert_eq!(*ephemeral_private(seed, 0), a);
        assert_eq!(*ephemeral_private(seed, 1), b);
    }
}
