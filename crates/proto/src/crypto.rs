//! The one source of randomness of every session: a snow [`CryptoResolver`] whose RNG is
//! ChaCha20 keyed by a caller-provided 32-byte seed.
//!
//! Primitives come from snow's ring-backed resolver where it has them (ChaCha20-Poly1305,
//! AES-GCM, SHA-256, SHA-512) and from snow's default pure-Rust resolver otherwise (X25519,
//! BLAKE2s, BLAKE2b): the same preference order as snow's `FallbackResolver`. Only the RNG is
//! replaced, so with equal seeds two runs produce byte-identical transcripts.
//!
//! # The hybrid KEM of the `hfs` modifier
//! A protocol name such as `Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256` asks for a KEM.
//! snow's own `Kyber1024` (feature `pqclean_kyber1024`) draws OS randomness inside key
//! generation and encapsulation, which would break the determinism invariant (a run is a pure
//! function of scenario and seed), so it is not enabled. Instead [`SeededResolver`] serves
//! "Kyber1024" with ML-KEM-1024 (FIPS 203, Kyber's standardised successor, same sizes: public
//! key and ciphertext 1568 bytes, shared secret 32) from RustCrypto `ml-kem`, with every random
//! byte taken from the seed: key generation draws its 64 bytes `d || z` from the handshake RNG
//! snow passes in (right after the X25519 ephemeral of the same message), and encapsulation draws
//! its 32-byte `m` from a second ChaCha20 stream of the same seed (stream 1; the handshake RNG is
//! stream 0). ML-KEM-1024 and round-3 Kyber1024 are not wire-compatible, so both parties must
//! use this resolver, as every party in the simulation does.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Mutex;

use ml_kem::kem::{Decapsulate, DecapsulationKey, EncapsulationKey};
use ml_kem::{EncapsulateDeterministic, EncodedSizeUser, KemCore, MlKem1024, MlKem1024Params};
use snow::params::{CipherChoice, DHChoice, HashChoice, KemChoice};
use snow::resolvers::{BoxedCryptoResolver, CryptoResolver, DefaultResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Kem, Random};
use zeroize::{Zeroize, Zeroizing};

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

/// ChaCha20-Poly1305 as Noise uses it (a 64-bit counter nonce, little-endian after four zero
/// bytes; the tag after the ciphertext), computed by ring like snow's ring resolver, but holding
/// only the 32-byte key (wiped on drop) and making ring's key for each message. That costs a
/// copy of the key per message, where snow's keeps a ring `LessSafeKey` for the session's
/// life: over 500 bytes, as it is sized for an expanded AES key.
#[derive(Default)]
struct ChaChaPoly {
    key: Zeroizing<[u8; 32]>,
}

impl ChaChaPoly {
    fn key(&self) -> ring::aead::LessSafeKey {
        // A 32-byte key is always a valid ChaCha20-Poly1305 key; ring's only error here is a
        // wrong length, which the array type excludes.
        let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &self.key[..])
            .unwrap_or_else(|_| unreachable!("a 32-byte ChaCha20-Poly1305 key"));
        ring::aead::LessSafeKey::new(unbound)
    }

    fn nonce(n: u64) -> ring::aead::Nonce {
        let mut bytes = [0u8; 12];
        bytes[4..].copy_from_slice(&n.to_le_bytes());
        ring::aead::Nonce::assume_unique_for_key(bytes)
    }
}

impl Cipher for ChaChaPoly {
    fn name(&self) -> &'static str {
        "ChaChaPoly"
    }

    fn set(&mut self, key: &[u8; 32]) {
        self.key.copy_from_slice(key);
    }

    fn encrypt(&self, nonce: u64, authtext: &[u8], plaintext: &[u8], out: &mut [u8]) -> usize {
        let n = plaintext.len();
        out[..n].copy_from_slice(plaintext);
        let tag = self
            .key()
            .seal_in_place_separate_tag(
                Self::nonce(nonce),
                ring::aead::Aad::from(authtext),
                &mut out[..n],
            )
            .unwrap_or_else(|_| unreachable!("ring seals any message snow's bound allows"));
        out[n..n + TAG_LEN].copy_from_slice(tag.as_ref());
        n + TAG_LEN
    }

    fn decrypt(
        &self,
        nonce: u64,
        authtext: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, snow::Error> {
        let key = self.key();
        let open = |in_out: &mut [u8]| -> Result<usize, snow::Error> {
            key.open_in_place(Self::nonce(nonce), ring::aead::Aad::from(authtext), in_out)
                .map(|p| p.len())
                .map_err(|_| snow::Error::Decrypt)
        };
        if out.len() >= ciphertext.len() {
            let in_out = &mut out[..ciphertext.len()];
            in_out.copy_from_slice(ciphertext);
            open(in_out)
        } else {
            let mut in_out = Zeroizing::new(ciphertext.to_vec());
            let len = open(&mut in_out)?;
            out[..len].copy_from_slice(&in_out[..len]);
            Ok(len)
        }
    }
}

/// X25519 (RFC 7748) for snow, computed by AWS-LC (`aws-lc-rs`): its x86-64 assembly takes
/// 16 µs per Diffie-Hellman and 4.7 µs per public key here, where snow's default provider
/// (curve25519-dalek's portable ladder) takes 36 and 11.8 µs, and X25519 was over a third of
/// a large run's simulation. Outputs are those of snow's default provider: the key is drawn
/// from the session's seeded stream in the same way (32 bytes, clamped by the function), and a
/// low-order peer key, for which AWS-LC refuses to agree, gives the all-zero secret the
/// ladder computes (a proptest compares both on arbitrary keys and on every low-order point).
#[derive(Default)]
struct X25519 {
    /// AWS-LC's copy of the private key (freed and wiped by AWS-LC), made once per key.
    key: Option<aws_lc_rs::agreement::PrivateKey>,
    private: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl X25519 {
    fn load(&mut self, private: [u8; 32]) {
        use aws_lc_rs::agreement::{PrivateKey, X25519 as ALG};
        *self.private = private;
        // Any 32 bytes are an X25519 private key: AWS-LC fails only for another length.
        let key = PrivateKey::from_private_key(&ALG, &self.private[..]).ok();
        self.public = key
            .as_ref()
            .and_then(|k| k.compute_public_key().ok())
            .and_then(|p| p.as_ref().try_into().ok())
            .unwrap_or([0; 32]);
        self.key = key;
    }
}

impl Dh for X25519 {
    fn name(&self) -> &'static str {
        "25519"
    }

    fn pub_len(&self) -> usize {
        32
    }

    fn priv_len(&self) -> usize {
        32
    }

    fn set(&mut self, privkey: &[u8]) {
        // snow passes `priv_len` bytes; a shorter slice is zero-padded, as snow's own does.
        let mut bytes = [0u8; 32];
        let n = privkey.len().min(32);
        bytes[..n].copy_from_slice(&privkey[..n]);
        self.load(bytes);
        bytes.zeroize();
    }

    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        let mut bytes = [0u8; 32];
        rng.try_fill_bytes(&mut bytes)?;
        self.load(bytes);
        bytes.zeroize();
        Ok(())
    }

    fn pubkey(&self) -> &[u8] {
        &self.public
    }

    fn privkey(&self) -> &[u8] {
        &self.private[..]
    }

    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        use aws_lc_rs::agreement::{agree, UnparsedPublicKey, X25519 as ALG};
        let peer = pubkey.get(..32).ok_or(snow::Error::Dh)?;
        let key = self.key.as_ref().ok_or(snow::Error::Dh)?;
        let out = out.get_mut(..32).ok_or(snow::Error::Dh)?;
        // AWS-LC refuses only an all-zero result (a low-order peer key): that is the secret.
        if agree(key, UnparsedPublicKey::new(&ALG, peer), (), |k| {
            out.copy_from_slice(k);
            Ok(())
        })
        .is_err()
        {
            out.fill(0);
        }
        Ok(())
    }
}

/// Bytes of a ChaCha20-Poly1305 tag.
const TAG_LEN: usize = 16;

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRng(ChaCha20Rng::from_seed(*self.seed))))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        match choice {
            // X25519 by AWS-LC: the same function, about twice as fast as the portable
            // ladder (BENCHMARKING.md § "X25519 by AWS-LC").
            DHChoice::Curve25519 => Some(Box::new(X25519::default())),
            _ => RingResolver
                .resolve_dh(choice)
                .or_else(|| DefaultResolver.resolve_dh(choice)),
        }
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        RingResolver
            .resolve_hash(choice)
            .or_else(|| DefaultResolver.resolve_hash(choice))
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        match choice {
            // ring's ChaCha20-Poly1305, holding only the key: snow's ring cipher keeps a
            // `LessSafeKey`, sized for an expanded AES key whichever algorithm it holds, and
            // every session keeps two or three of them for its whole life (BENCHMARKING.md §
            // "Smaller cipher states").
            CipherChoice::ChaChaPoly => Some(Box::new(ChaChaPoly::default())),
            _ => RingResolver
                .resolve_cipher(choice)
                .or_else(|| DefaultResolver.resolve_cipher(choice)),
        }
    }

    fn resolve_kem(&self, choice: &KemChoice) -> Option<Box<dyn Kem>> {
        match choice {
            KemChoice::Kyber1024 => Some(Box::new(SeededKem::new(&self.seed))),
        }
    }
}

/// Bytes of an ML-KEM-1024 encapsulation (public) key.
pub const KEM_PUBLIC_LEN: usize = 1568;
/// Bytes of an ML-KEM-1024 ciphertext.
pub const KEM_CIPHERTEXT_LEN: usize = 1568;
/// Bytes of an ML-KEM-1024 decapsulation (secret) key, encoded.
pub const KEM_SECRET_LEN: usize = 3168;
/// Bytes of an ML-KEM shared secret.
pub const KEM_SHARED_LEN: usize = 32;

/// An ML-KEM-1024 keypair, encoded (the secret half wiped on drop, never printed).
#[derive(Clone)]
pub struct KemKeypair {
    /// The encapsulation key, as an `e1` token carries it.
    pub public: Vec<u8>,
    /// The decapsulation key.
    pub secret: Zeroizing<Vec<u8>>,
}

impl KemKeypair {
    /// The keypair FIPS 203 `ML-KEM.KeyGen_internal(d, z)` derives from `d_z = d || z`.
    pub fn from_seed(d_z: &[u8; 64]) -> KemKeypair {
        let mut d = ml_kem::B32::default();
        let mut z = ml_kem::B32::default();
        d.copy_from_slice(&d_z[..32]);
        z.copy_from_slice(&d_z[32..]);
        let (dk, ek) = MlKem1024::generate_deterministic(&d, &z);
        d.zeroize();
        z.zeroize();
        KemKeypair {
            public: ek.as_bytes().to_vec(),
            secret: Zeroizing::new(dk.as_bytes().to_vec()),
        }
    }

    /// A keypair from the next 64 bytes of `rng`, exactly as [`SeededResolver`]'s KEM draws it
    /// from the handshake RNG (so a test can replay a seeded stream to learn the key).
    pub fn generate(rng: &mut impl RngCore) -> KemKeypair {
        let mut d_z = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(&mut d_z[..]);
        KemKeypair::from_seed(&d_z)
    }
}

impl core::fmt::Debug for KemKeypair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KemKeypair")
            .field("public_len", &self.public.len())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// ML-KEM-1024 encapsulation to `public` with the 32 random bytes `m`: `(ciphertext, shared
/// secret)`, or `None` if `public` is not 1568 bytes.
pub fn kem_encapsulate(public: &[u8], m: &[u8; 32]) -> Option<(Vec<u8>, Zeroizing<[u8; 32]>)> {
    let encoded = ml_kem::Encoded::<EncapsulationKey<MlKem1024Params>>::try_from(public).ok()?;
    let ek = EncapsulationKey::<MlKem1024Params>::from_bytes(&encoded);
    let m = ml_kem::B32::from(*m);
    let (ct, ss) = ek.encapsulate_deterministic(&m).ok()?;
    let mut shared = Zeroizing::new([0u8; 32]);
    shared.copy_from_slice(&ss);
    Some((ct.to_vec(), shared))
}

/// ML-KEM-1024 decapsulation of `ciphertext` with the encoded decapsulation key `secret`, or
/// `None` if either has the wrong length. (ML-KEM rejects implicitly: a tampered ciphertext
/// yields a pseudorandom secret, not an error.)
pub fn kem_decapsulate(secret: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let encoded = ml_kem::Encoded::<DecapsulationKey<MlKem1024Params>>::try_from(secret).ok()?;
    let dk = DecapsulationKey::<MlKem1024Params>::from_bytes(&encoded);
    let ct = ml_kem::Ciphertext::<MlKem1024>::try_from(ciphertext).ok()?;
    let ss = dk.decapsulate(&ct).ok()?;
    let mut shared = Zeroizing::new([0u8; 32]);
    shared.copy_from_slice(&ss);
    Some(shared)
}

/// snow's [`Kem`] served by ML-KEM-1024 with seeded randomness (see the module docs).
struct SeededKem {
    keypair: Option<KemKeypair>,
    /// Encapsulation randomness: stream 1 of the resolver's seed.
    encap_rng: Mutex<ChaCha20Rng>,
}

impl SeededKem {
    fn new(seed: &[u8; 32]) -> SeededKem {
        let mut rng = ChaCha20Rng::from_seed(*seed);
        rng.set_stream(1);
        SeededKem {
            keypair: None,
            encap_rng: Mutex::new(rng),
        }
    }
}

impl Kem for SeededKem {
    fn name(&self) -> &'static str {
        "Kyber1024"
    }

    fn pub_len(&self) -> usize {
        KEM_PUBLIC_LEN
    }

    fn ciphertext_len(&self) -> usize {
        KEM_CIPHERTEXT_LEN
    }

    fn shared_secret_len(&self) -> usize {
        KEM_SHARED_LEN
    }

    fn generate(&mut self, rng: &mut dyn Random) {
        let mut d_z = Zeroizing::new([0u8; 64]);
        if rng.try_fill_bytes(&mut d_z[..]).is_err() {
            // snow's `generate` cannot report failure; fall back to this KEM's own seeded stream
            // (still deterministic). The seeded handshake RNG never fails.
            let mut own = self.encap_rng.lock().unwrap_or_else(|e| e.into_inner());
            own.fill_bytes(&mut d_z[..]);
        }
        self.keypair = Some(KemKeypair::from_seed(&d_z));
    }

    fn pubkey(&self) -> &[u8] {
        self.keypair.as_ref().map_or(&[], |k| &k.public[..])
    }

    fn encapsulate(
        &self,
        pubkey: &[u8],
        shared_secret_out: &mut [u8],
        ciphertext_out: &mut [u8],
    ) -> Result<(usize, usize), snow::Error> {
        let mut m = Zeroizing::new([0u8; 32]);
        self.encap_rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill_bytes(&mut m[..]);
        let (ct, ss) = kem_encapsulate(pubkey, &m).ok_or(snow::Error::Kem)?;
        let ss_out = shared_secret_out
            .get_mut(..KEM_SHARED_LEN)
            .ok_or(snow::Error::Kem)?;
        ss_out.copy_from_slice(&ss[..]);
        let ct_out = ciphertext_out
            .get_mut(..KEM_CIPHERTEXT_LEN)
            .ok_or(snow::Error::Kem)?;
        ct_out.copy_from_slice(&ct);
        Ok((KEM_SHARED_LEN, KEM_CIPHERTEXT_LEN))
    }

    fn decapsulate(
        &self,
        ciphertext: &[u8],
        shared_secret_out: &mut [u8],
    ) -> Result<usize, snow::Error> {
        let keypair = self.keypair.as_ref().ok_or(snow::Error::Kem)?;
        let ss = kem_decapsulate(&keypair.secret, ciphertext).ok_or(snow::Error::Kem)?;
        let out = shared_secret_out
            .get_mut(..KEM_SHARED_LEN)
            .ok_or(snow::Error::Kem)?;
        out.copy_from_slice(&ss[..]);
        Ok(KEM_SHARED_LEN)
    }
}

/// The boxed resolver every session of this crate builds its snow state with.
pub fn resolver(rng_seed: [u8; 32]) -> BoxedCryptoResolver {
    Box::new(SeededResolver::new(rng_seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The key-only cipher seals and opens exactly as snow's ring and RustCrypto ciphers
        /// do: the same ciphertext and tag for any key, nonce, associated data and message.
        #[test]
        fn chachapoly_agrees_with_snow_ring_and_rustcrypto(
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            nonce in proptest::num::u64::ANY,
            ad in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            msg in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let mut ours = ChaChaPoly::default();
            ours.set(&key);
            let mut ring = RingResolver.resolve_cipher(&CipherChoice::ChaChaPoly).unwrap();
            ring.set(&key);
            let mut rc = DefaultResolver.resolve_cipher(&CipherChoice::ChaChaPoly).unwrap();
            rc.set(&key);
            let seal = |c: &dyn Cipher| {
                let mut out = vec![0u8; msg.len() + TAG_LEN];
                let n = c.encrypt(nonce, &ad, &msg, &mut out);
                out.truncate(n);
                out
            };
            let sealed = seal(&ours);
            proptest::prop_assert_eq!(&sealed, &seal(ring.as_ref()));
            proptest::prop_assert_eq!(&sealed, &seal(rc.as_ref()));
            // Opened into a buffer as long as the ciphertext, and into one just long enough.
            for room in [sealed.len(), msg.len()] {
                let mut out = vec![0u8; room];
                let n = ours.decrypt(nonce, &ad, &sealed, &mut out).unwrap();
                proptest::prop_assert_eq!(&out[..n], &msg[..]);
            }
            // Any flipped bit, a wrong nonce or wrong associated data fails.
            let mut bad = sealed.clone();
            let i = (nonce as usize) % bad.len();
            bad[i] ^= 1;
            let mut out = vec![0u8; bad.len()];
            proptest::prop_assert!(ours.decrypt(nonce, &ad, &bad, &mut out).is_err());
            proptest::prop_assert!(ours.decrypt(nonce ^ 1, &ad, &sealed, &mut out).is_err());
            let mut ad2 = ad.clone();
            ad2.push(0);
            proptest::prop_assert!(ours.decrypt(nonce, &ad2, &sealed, &mut out).is_err());
        }
    }

    /// The points of order dividing 8 on Curve25519 and their non-canonical encodings
    /// (from the list in Bernstein's "Curve25519: new Diffie-Hellman speed records" errata as
    /// libsodium and BoringSSL test them).
    const LOW_ORDER: [[u8; 32]; 7] = [
        [0; 32],
        {
            let mut one = [0; 32];
            one[0] = 1;
            one
        },
        [
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f,
            0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16,
            0x5f, 0x49, 0xb8, 0x00,
        ],
        [
            0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83,
            0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd,
            0xd0, 0x9f, 0x11, 0x57,
        ],
        // p - 1, p and p + 1 (p = 2^255 - 19), unreduced: -1, 0 and 1.
        near_p(0xec),
        near_p(0xed),
        near_p(0xee),
    ];

    /// 2^255 - 19 - 0xed + `low`, little-endian: `low` in its lowest byte, 0xff up to the top
    /// byte 0x7f.
    const fn near_p(low: u8) -> [u8; 32] {
        let mut b = [0xff; 32];
        b[0] = low;
        b[31] = 0x7f;
        b
    }

    fn snow_default_dh() -> Box<dyn Dh> {
        DefaultResolver
            .resolve_dh(&DHChoice::Curve25519)
            .expect("snow's default X25519")
    }

    /// Both providers' DH from `private` to `peer`.
    fn both(private: &[u8; 32], peer: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32], [u8; 32]) {
        let mut ours = X25519::default();
        ours.set(private);
        let mut theirs = snow_default_dh();
        theirs.set(private);
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        ours.dh(peer, &mut a).expect("ours");
        theirs.dh(peer, &mut b).expect("snow's");
        let mut pa = [0u8; 32];
        pa.copy_from_slice(ours.pubkey());
        let mut pb = [0u8; 32];
        pb.copy_from_slice(theirs.pubkey());
        (a, b, pa, pb)
    }

    proptest::proptest! {
        /// AWS-LC's X25519 gives snow's default provider's public keys and shared secrets
        /// for any private key and any 32 peer bytes (the top bit and non-canonical values
        /// included).
        #[test]
        fn x25519_agrees_with_snow_default_provider(
            private in proptest::array::uniform32(proptest::num::u8::ANY),
            peer in proptest::array::uniform32(proptest::num::u8::ANY),
        ) {
            let (a, b, pa, pb) = both(&private, &peer);
            proptest::prop_assert_eq!(a, b);
            proptest::prop_assert_eq!(pa, pb);
        }
    }

    #[test]
    fn x25519_gives_the_ladder_s_secret_for_low_order_points() {
        for (i, p) in LOW_ORDER.iter().enumerate() {
            for top in [0u8, 0x80] {
                let mut peer = *p;
                peer[31] |= top;
                let (a, b, _, _) = both(&[0x42; 32], &peer);
                assert_eq!(a, b, "point {i}, top bit {top:#x}");
            }
        }
    }

    #[test]
    fn x25519_generate_draws_the_key_as_snow_does() {
        let mut ours = X25519::default();
        let mut theirs = snow_default_dh();
        ours.generate(SeededResolver::new([3; 32]).resolve_rng().unwrap().as_mut())
            .unwrap();
        theirs
            .generate(SeededResolver::new([3; 32]).resolve_rng().unwrap().as_mut())
            .unwrap();
        assert_eq!(ours.privkey(), theirs.privkey());
        assert_eq!(ours.pubkey(), theirs.pubkey());
    }

    #[test]
    fn the_chachapoly_cipher_holds_only_its_key() {
        assert_eq!(core::mem::size_of::<ChaChaPoly>(), 32);
        let mut c = ChaChaPoly::default();
        c.set(&[7; 32]);
        c.rekey();
        assert_ne!(*c.key, [7; 32], "rekey replaced the key");
    }

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

    fn hfs_pair(
        protocol: &str,
    ) -> (
        crate::noise::NoiseSession,
        crate::noise::NoiseSession,
        crate::keys::StaticKeypair,
    ) {
        use crate::keys::StaticKeypair;
        use crate::noise::{NoiseConfig, NoiseSession};
        let server = StaticKeypair::from_private([0x51; 32]);
        let cfg = |initiator: bool, seed: u8| NoiseConfig {
            protocol: protocol.into(),
            initiator,
            local_static: Some(StaticKeypair::from_private([seed; 32])),
            remote_static: None,
            expected_remote_static: None,
            psk: None,
            prologue: b"hfs".to_vec(),
            early_data: crate::noise::EarlyData::Off,
            rng_seed: [seed; 32],
        };
        let mut r = cfg(false, 0x51);
        r.local_static = Some(server.clone());
        let mut i = cfg(true, 0x49);
        if protocol.starts_with("Noise_IK") {
            i.remote_static = Some(server.public);
        }
        let i = NoiseSession::new(i).expect("initiator");
        let r = NoiseSession::new(r).expect("responder");
        (i, r, server)
    }

    /// Runs a whole session through `NoiseSession`; returns every message and what the
    /// responder received.
    fn run_hfs(protocol: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        use crate::noise::SessionEvent;
        use simcore::Timestamp;
        let (mut i, mut r, _) = hfs_pair(protocol);
        let now = Timestamp::ZERO;
        i.send(now, b"first".to_vec()).expect("send");
        i.send(now, b"second".to_vec()).expect("send");
        let mut wire = Vec::new();
        let mut received = Vec::new();
        for _ in 0..10 {
            while let Some(m) = i.poll_transmit() {
                wire.push(m.bytes.clone());
                r.handle_message(now, &m).expect("responder reads");
            }
            while let Some(m) = r.poll_transmit() {
                wire.push(m.bytes.clone());
                i.handle_message(now, &m).expect("initiator reads");
            }
        }
        while let Some(e) = r.poll_event() {
            if let SessionEvent::Received(p) = e {
                received.push(p);
            }
        }
        assert!(i.is_established() && r.is_established());
        (wire, received)
    }

    #[test]
    fn hfs_session_through_noise_session_is_deterministic() {
        let protocol = "Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256";
        let (wire, received) = run_hfs(protocol);
        assert_eq!(received, vec![b"first".to_vec(), b"second".to_vec()]);
        // e (32) + e1 (1568, in clear: no key yet) + payload; ee, ekem1 (1568 + 16) in message 2.
        assert!(wire[0].len() >= 32 + KEM_PUBLIC_LEN, "{}", wire[0].len());
        assert!(wire[1].len() >= 32 + KEM_CIPHERTEXT_LEN + 16 + 48 + 16);
        assert_eq!(run_hfs(protocol).0, wire, "same seeds, same bytes");
        let (w2, r2) = run_hfs("Noise_IKhfs_25519+Kyber1024_AESGCM_BLAKE2b");
        assert_eq!(r2, vec![b"first".to_vec(), b"second".to_vec()]);
        assert!(!w2.is_empty());
    }

    /// A whole hfs session on raw snow, both parties on seeded resolvers: every message bytes.
    fn raw_hfs(protocol: &str) -> Vec<Vec<u8>> {
        let params: snow::params::NoiseParams = protocol.parse().expect("name");
        let server = crate::keys::StaticKeypair::from_private([0x51; 32]);
        let client = crate::keys::StaticKeypair::from_private([0x49; 32]);
        let mut i = snow::Builder::with_resolver(params.clone(), resolver([1; 32]))
            .local_private_key(&client.private[..])
            .and_then(|b| b.remote_public_key(&server.public))
            .expect("keys")
            .build_initiator()
            .expect("initiator");
        let mut r = snow::Builder::with_resolver(params, resolver([2; 32]))
            .local_private_key(&server.private[..])
            .expect("key")
            .build_responder()
            .expect("responder");
        let mut wire = Vec::new();
        let (mut buf, mut out) = (vec![0u8; 65535], vec![0u8; 65535]);
        let mut turn = 0;
        while !(i.is_handshake_finished() && r.is_handshake_finished()) {
            let (w, rd) = if turn % 2 == 0 {
                (&mut i, &mut r)
            } else {
                (&mut r, &mut i)
            };
            let n = w.write_message(b"hs", &mut buf).expect("write");
            let m = rd.read_message(&buf[..n], &mut out).expect("read");
            assert_eq!(&out[..m], b"hs");
            wire.push(buf[..n].to_vec());
            turn += 1;
        }
        let mut i = i.into_transport_mode().expect("transport");
        let mut r = r.into_transport_mode().expect("transport");
        for p in [&b"one"[..], b"two"] {
            let n = i.write_message(p, &mut buf).expect("write");
            let m = r.read_message(&buf[..n], &mut out).expect("read");
            assert_eq!(&out[..m], p);
            wire.push(buf[..n].to_vec());
        }
        wire
    }

    #[test]
    fn hfs_sessions_on_the_seeded_resolver_are_deterministic() {
        for protocol in [
            "Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256",
            "Noise_NNhfs_25519+Kyber1024_AESGCM_BLAKE2b",
            "Noise_IKhfs_25519+Kyber1024_ChaChaPoly_BLAKE2s",
        ] {
            let wire = raw_hfs(protocol);
            assert_eq!(
                raw_hfs(protocol),
                wire,
                "{protocol}: same seeds, same bytes"
            );
            // Message 2 carries ekem1: a 1568-byte ciphertext, encrypted (ee came first).
            assert!(wire[1].len() >= 32 + KEM_CIPHERTEXT_LEN + 16, "{protocol}");
        }
    }

    #[test]
    fn kem_keypair_replays_the_seeded_stream() {
        // The initiator's KEM key of an NNhfs handshake is the 64 bytes after its X25519
        // ephemeral in stream 0 of its seed.
        let seed = [7u8; 32];
        let mut stream = ChaCha20Rng::from_seed(seed);
        let mut e = [0u8; 32];
        stream.fill_bytes(&mut e);
        let kp = KemKeypair::generate(&mut stream);
        let mut hs = snow::Builder::with_resolver(
            "Noise_NNhfs_25519+Kyber1024_ChaChaPoly_BLAKE2s"
                .parse()
                .expect("name"),
            resolver(seed),
        )
        .build_initiator()
        .expect("build");
        let mut buf = vec![0u8; 4096];
        let n = hs.write_message(b"", &mut buf).expect("write");
        assert_eq!(n, 32 + KEM_PUBLIC_LEN);
        assert_eq!(&buf[32..n], &kp.public[..]);
        // Encapsulation round-trips with the replayed secret.
        let (ct, ss) = kem_encapsulate(&kp.public, &[9; 32]).expect("encapsulate");
        assert_eq!(ct.len(), KEM_CIPHERTEXT_LEN);
        assert_eq!(kem_decapsulate(&kp.secret, &ct).expect("decapsulate"), ss);
        assert!(kem_encapsulate(&kp.public[1..], &[9; 32]).is_none());
        assert!(kem_decapsulate(&kp.secret, &ct[1..]).is_none());
        let debug = format!("{kp:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains("secret: ["),
            "{debug}"
        );
    }
}
