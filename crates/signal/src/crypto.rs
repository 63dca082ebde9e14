//! The primitives of the Signal specifications, instantiated: HKDF-SHA-256, the Double
//! Ratchet's `KDF_RK` / `KDF_CK`, the X3DH / PQXDH `KDF`, message and header encryption with
//! AES-256-GCM, XEdDSA signatures on X25519 keys, and ML-KEM-1024.
//!
//! Every function here is pure: randomness (XEdDSA's `Z`, header nonces, KEM coins) is passed
//! in by the caller, who draws it from the device's injected RNG.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// `info` of the X3DH key derivation.
pub const X3DH_INFO: &[u8] = b"Wiretap_X3DH_CURVE25519_SHA-256";
/// `info` of the PQXDH key derivation.
pub const PQXDH_INFO: &[u8] = b"Wiretap_PQXDH_CURVE25519_SHA-256_ML-KEM-1024";
/// `info` of `KDF_RK`.
pub const RATCHET_INFO: &[u8] = b"WiretapRatchet";
/// `info` of the message-key expansion into an AES-256-GCM key and nonce.
pub const MESSAGE_KEYS_INFO: &[u8] = b"WiretapMessageKeys";
/// `info` of the two initial header keys derived from `SK` (header encryption).
pub const HEADER_KEYS_INFO: &[u8] = b"WiretapHeaderKeys";
/// `Encode(PK)` type byte of a Curve25519 public key (as libsignal).
pub const EC_TYPE: u8 = 0x05;
/// `EncodeKEM(PK)` type byte of an ML-KEM-1024 public key.
pub const KEM_TYPE: u8 = 0x08;
/// Bytes of an ML-KEM-1024 encapsulation key.
pub const KEM_PUBLIC_LEN: usize = 1568;
/// Bytes of an ML-KEM-1024 ciphertext.
pub const KEM_CIPHERTEXT_LEN: usize = 1568;
/// Bytes of an AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// A 32-byte secret, wiped on drop.
pub type Secret32 = Zeroizing<[u8; 32]>;

/// `Encode(PK)`: the type byte 0x05 and the 32-byte little-endian u-coordinate.
pub fn encode_ec(pk: &[u8; 32]) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = EC_TYPE;
    out[1..].copy_from_slice(pk);
    out
}

/// `EncodeKEM(PK)`: the type byte 0x08 and the encapsulation key.
pub fn encode_kem(pk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + pk.len());
    out.push(KEM_TYPE);
    out.extend_from_slice(pk);
    out
}

/// X25519 of a private key and a public key.
pub fn dh(private: &StaticSecret, public: &[u8; 32]) -> Secret32 {
    Zeroizing::new(private.diffie_hellman(&PublicKey::from(*public)).to_bytes())
}

/// A fresh X25519 key pair drawn from `rng`: (private key, public key).
pub fn x25519_keypair<R: rand_core::RngCore + rand_core::CryptoRng>(
    rng: &mut R,
) -> (Secret32, [u8; 32]) {
    let secret = StaticSecret::random_from_rng(rng);
    let public = PublicKey::from(&secret).to_bytes();
    (Zeroizing::new(secret.to_bytes()), public)
}

/// X25519 of private key bytes and a public key.
pub fn dh_bytes(private: &[u8; 32], public: &[u8; 32]) -> Secret32 {
    dh(&StaticSecret::from(*private), public)
}

/// HKDF-SHA-256 with `salt`, `ikm`, `info`, filling `out`.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    // Lengths used here are at most 96 bytes, far below HKDF's 255 * 32 limit.
    if hk.expand(info, out).is_err() {
        out.zeroize();
    }
}

/// `KDF(KM)` of X3DH and PQXDH: HKDF-SHA-256 with `F` = 32 bytes of 0xFF prepended to `km`,
/// a salt of 32 zero bytes, and `info`; 32 bytes of output.
pub fn x3dh_kdf(km: &[u8], info: &[u8]) -> Secret32 {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 + km.len()));
    ikm.extend_from_slice(&[0xFF; 32]);
    ikm.extend_from_slice(km);
    let mut sk = Zeroizing::new([0u8; 32]);
    hkdf(&[0u8; 32], &ikm, info, &mut sk[..]);
    sk
}

/// `KDF_RK(rk, dh_out)`: HKDF-SHA-256 with salt `rk`, input `dh_out`, info
/// [`RATCHET_INFO`]; 64 bytes split into the new root key and a chain key.
pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Secret32, Secret32) {
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(rk, dh_out, RATCHET_INFO, &mut okm[..]);
    (split32(&okm[..32]), split32(&okm[32..]))
}

/// `KDF_RK_HE(rk, dh_out)` (header encryption): the same HKDF with 96 bytes of output: new
/// root key, chain key, next header key.
pub fn kdf_rk_he(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Secret32, Secret32, Secret32) {
    let mut okm = Zeroizing::new([0u8; 96]);
    hkdf(rk, dh_out, RATCHET_INFO, &mut okm[..]);
    (
        split32(&okm[..32]),
        split32(&okm[32..64]),
        split32(&okm[64..]),
    )
}

/// `KDF_CK(ck)`: `(HMAC-SHA256(ck, 0x02), HMAC-SHA256(ck, 0x01))` = (next chain key, message
/// key).
pub fn kdf_ck(ck: &[u8; 32]) -> (Secret32, Secret32) {
    (hmac1(ck, 0x02), hmac1(ck, 0x01))
}

fn hmac1(key: &[u8; 32], byte: u8) -> Secret32 {
    // HMAC accepts keys of any length: new_from_slice cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(&[byte]);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn split32(bytes: &[u8]) -> Secret32 {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(bytes);
    out
}

/// The two initial header keys `(shared_hka, shared_nhkb)` derived from `SK` (header
/// encryption): HKDF-SHA-256, salt 32 zero bytes, info [`HEADER_KEYS_INFO`], 64 bytes.
pub fn initial_header_keys(sk: &[u8; 32]) -> (Secret32, Secret32) {
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(&[0u8; 32], sk, HEADER_KEYS_INFO, &mut okm[..]);
    (split32(&okm[..32]), split32(&okm[32..]))
}

/// Message encryption `ENCRYPT(mk, plaintext, ad)`: HKDF-SHA-256 (salt 32 zero bytes, info
/// [`MESSAGE_KEYS_INFO`]) expands `mk` into 44 bytes, an AES-256-GCM key and a 12-byte nonce
/// (each message key is used once); the output is ciphertext || 16-byte tag.
pub fn encrypt(mk: &[u8; 32], plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let mut okm = Zeroizing::new([0u8; 44]);
    hkdf(&[0u8; 32], mk, MESSAGE_KEYS_INFO, &mut okm[..]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&okm[32..]);
    aead_seal(&okm[..32], &nonce, plaintext, ad)
}

/// `DECRYPT(mk, ciphertext, ad)`, or `None` if the tag does not verify.
pub fn decrypt(mk: &[u8; 32], ciphertext: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut okm = Zeroizing::new([0u8; 44]);
    hkdf(&[0u8; 32], mk, MESSAGE_KEYS_INFO, &mut okm[..]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&okm[32..]);
    aead_open(&okm[..32], &nonce, ciphertext, ad)
}

/// AES-256-GCM seal with a 32-byte key.
pub fn aead_seal(key: &[u8], nonce: &[u8; NONCE_LEN], plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    // Encryption fails only for plaintexts over 64 GiB.
    cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .unwrap_or_default()
}

/// AES-256-GCM open with a 32-byte key, or `None` on a bad tag.
pub fn aead_open(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    ad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: ad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// `HENCRYPT(hk, header)`: AES-256-GCM under the header key with a fresh random 12-byte nonce
/// (header keys encrypt many headers), output nonce || ciphertext || tag.
pub fn hencrypt(hk: &[u8; 32], nonce: &[u8; NONCE_LEN], header: &[u8]) -> Vec<u8> {
    let mut out = nonce.to_vec();
    out.extend_from_slice(&aead_seal(hk, nonce, header, &[]));
    out
}

/// `HDECRYPT(hk, enc_header)`, or `None`.
pub fn hdecrypt(hk: &[u8; 32], enc_header: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if enc_header.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&enc_header[..NONCE_LEN]);
    aead_open(hk, &nonce, &enc_header[NONCE_LEN..], &[])
}

// ---------------------------------------------------------------------------------------------
// XEdDSA (Signal's "The XEdDSA and VXEdDSA Signature Schemes", rev 1), over X25519 keys.

fn clamp(k: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut c = Zeroizing::new(*k);
    c[0] &= 248;
    c[31] &= 127;
    c[31] |= 64;
    c
}

/// `calculate_key_pair(k)`: the Edwards private scalar `a` and public key `A` (sign bit 0) of
/// the Montgomery private key `k`.
fn calculate_key_pair(k: &[u8; 32]) -> (Scalar, [u8; 32]) {
    let clamped = clamp(k);
    let k_scalar = Scalar::from_bytes_mod_order(*clamped);
    let e = EdwardsPoint::mul_base(&k_scalar);
    let mut a_bytes = e.compress().to_bytes();
    let a = if a_bytes[31] & 0x80 != 0 {
        -k_scalar
    } else {
        k_scalar
    };
    a_bytes[31] &= 0x7F;
    (a, a_bytes)
}

fn hash_to_scalar(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let mut wide = Zeroizing::new([0u8; 64]);
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `xeddsa_sign(k, M, Z)`: a 64-byte signature `R || s` by the X25519 private key `k` with the
/// 64 random bytes `z`.
pub fn xeddsa_sign(k: &[u8; 32], message: &[u8], z: &[u8; 64]) -> [u8; 64] {
    let (mut a, a_pub) = calculate_key_pair(k);
    // hash1(X) = SHA-512(2^256 - 2 || X): 0xFE then 31 bytes of 0xFF, little-endian.
    let mut prefix = [0xFFu8; 32];
    prefix[0] = 0xFE;
    let mut r = hash_to_scalar(&[&prefix, a.as_bytes(), message, z]);
    let r_point = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let h = hash_to_scalar(&[&r_point, &a_pub, message]);
    let s = r + h * a;
    a.zeroize();
    r.zeroize();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_point);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// `xeddsa_verify(u, M, (R || s))`: whether `signature` is a valid XEdDSA signature of
/// `message` under the X25519 public key `u`. Rejects `u >= p`, a non-canonical `s` and
/// points that do not decode.
pub fn xeddsa_verify(u: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    if !field_element_canonical(u) {
        return false;
    }
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature[..32]);
    if !field_element_canonical(&{
        let mut y = r_bytes;
        y[31] &= 0x7F;
        y
    }) {
        return false;
    }
    if CompressedEdwardsY(r_bytes).decompress().is_none() {
        return false;
    }
    let Some(a_point) = MontgomeryPoint(*u).to_edwards(0) else {
        return false;
    };
    let a_bytes = a_point.compress().to_bytes();
    let h = hash_to_scalar(&[&r_bytes, &a_bytes, message]);
    let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-h), &a_point, &s);
    r_check.compress().to_bytes() == r_bytes
}

/// Whether the 32 little-endian bytes are below p = 2^255 - 19 (high bit clear).
fn field_element_canonical(x: &[u8; 32]) -> bool {
    if x[31] & 0x80 != 0 {
        return false;
    }
    // x >= p iff x[31] == 0x7F, x[1..31] all 0xFF and x[0] >= 0xED.
    !(x[31] == 0x7F && x[1..31].iter().all(|&b| b == 0xFF) && x[0] >= 0xED)
}

// ---------------------------------------------------------------------------------------------
// ML-KEM-1024.

/// An ML-KEM-1024 keypair, encoded; the decapsulation key is wiped on drop.
#[derive(Clone)]
pub struct KemKeyPair {
    /// The encapsulation key (1568 bytes).
    pub public: Vec<u8>,
    /// The decapsulation key (3168 bytes).
    pub secret: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for KemKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KemKeyPair { <redacted> }")
    }
}

impl KemKeyPair {
    /// `ML-KEM.KeyGen_internal(d, z)` with `d_z = d || z` (`proto::crypto`'s one wrapper of
    /// the ml-kem crate; the seed halves are zeroized there).
    pub fn from_seed(d_z: &[u8; 64]) -> KemKeyPair {
        let k = proto::crypto::KemKeypair::from_seed(d_z);
        KemKeyPair {
            public: k.public.clone(),
            secret: k.secret.clone(),
        }
    }
}

/// ML-KEM-1024 encapsulation to `public` with coins `m`: (ciphertext, shared secret), or
/// `None` if `public` is not an encapsulation key.
pub use proto::crypto::kem_encapsulate;

/// ML-KEM-1024 decapsulation (implicit rejection: a wrong ciphertext yields a pseudorandom
/// secret), or `None` on wrong lengths.
pub use proto::crypto::kem_decapsulate;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xeddsa_round_trip_and_rejects_tampering() {
        for seed in 0u8..8 {
            let k = [seed.wrapping_mul(37).wrapping_add(1); 32];
            let public = PublicKey::from(&StaticSecret::from(k)).to_bytes();
            let sig = xeddsa_sign(&k, b"prekey", &[seed; 64]);
            assert!(xeddsa_verify(&public, b"prekey", &sig));
            assert!(!xeddsa_verify(&public, b"prekez", &sig));
            let mut bad = sig;
            bad[40] ^= 1;
            assert!(!xeddsa_verify(&public, b"prekey", &bad));
            let mut bad = sig;
            bad[3] ^= 1;
            assert!(!xeddsa_verify(&public, b"prekey", &bad));
        }
    }

    #[test]
    fn kem_round_trip() {
        let kp = KemKeyPair::from_seed(&[7; 64]);
        let (ct, ss) = kem_encapsulate(&kp.public, &[9; 32]).unwrap();
        assert_eq!(kem_decapsulate(&kp.secret, &ct).unwrap(), ss);
        assert!(kem_encapsulate(&kp.public[1..], &[9; 32]).is_none());
    }
}
