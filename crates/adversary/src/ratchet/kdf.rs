//! The adversary's own copies of the Signal KDFs and ciphers, written from the specifications
//! (and `docs/signal.md`), not shared with the `signal` crate: HKDF-SHA-256 from HMAC,
//! `KDF_RK`, `KDF_RK_HE`, `KDF_CK`, the X3DH `KDF`, header decryption, message decryption (AES-256-GCM keyed by HKDF of the
//! message key) and the sealed-sender layers.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// A 32-byte secret, wiped on drop.
pub type Key = Zeroizing<[u8; 32]>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// RFC 5869 HKDF-SHA-256 (extract then expand), `out.len() <= 255 * 32`.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let prk = hmac(salt, &[ikm]);
    let mut t: Vec<u8> = Vec::new();
    let mut filled = 0;
    let mut counter = 1u8;
    while filled < out.len() {
        let block = hmac(&prk[..], &[&t, info, &[counter]]);
        let n = (out.len() - filled).min(32);
        out[filled..filled + n].copy_from_slice(&block[..n]);
        filled += n;
        t = block.to_vec();
        counter = counter.wrapping_add(1);
    }
}

fn key(bytes: &[u8]) -> Key {
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(bytes);
    k
}

/// `KDF_RK(rk, dh_out)` = HKDF(salt = rk, ikm = dh_out, info = "WiretapRatchet") → (rk, ck).
pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Key, Key) {
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(rk, dh_out, b"WiretapRatchet", &mut okm[..]);
    (key(&okm[..32]), key(&okm[32..]))
}

/// `KDF_RK_HE(rk, dh_out)` (header encryption): the same HKDF with 96 bytes of output → (rk,
/// ck, next header key).
pub fn kdf_rk_he(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Key, Key, Key) {
    let mut okm = Zeroizing::new([0u8; 96]);
    hkdf(rk, dh_out, b"WiretapRatchet", &mut okm[..]);
    (key(&okm[..32]), key(&okm[32..64]), key(&okm[64..]))
}

/// `HDECRYPT(hk, enc_header)`: `enc_header` = nonce (12) ‖ AES-256-GCM ciphertext and tag of
/// the 40-byte header under the header key itself, no associated data.
pub fn hdecrypt(hk: &[u8; 32], enc_header: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let nonce: [u8; 12] = enc_header.get(..12)?.try_into().ok()?;
    aead_open(hk, &nonce, enc_header.get(12..)?, &[])
}

/// `KDF_CK(ck)` = (HMAC(ck, 0x02), HMAC(ck, 0x01)) → (next chain key, message key).
pub fn kdf_ck(ck: &[u8; 32]) -> (Key, Key) {
    (hmac(ck, &[&[2]]), hmac(ck, &[&[1]]))
}

/// The X3DH/PQXDH `KDF(KM)`: HKDF(salt = 0^32, ikm = 0xFF^32 || KM, info) → 32 bytes.
pub fn x3dh_kdf(km: &[u8], info: &[u8]) -> Key {
    let mut ikm = Zeroizing::new(vec![0xFF; 32]);
    ikm.extend_from_slice(km);
    let mut sk = Zeroizing::new([0u8; 32]);
    hkdf(&[0; 32], &ikm, info, &mut sk[..]);
    sk
}

/// AES-256-GCM open.
pub fn aead_open(k: &[u8], nonce: &[u8; 12], ct: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(k).ok()?;
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: ad })
        .ok()
        .map(Zeroizing::new)
}

/// `DECRYPT(mk, ct, ad)`: HKDF(salt = 0^32, ikm = mk, info = "WiretapMessageKeys") → AES key
/// (32) and nonce (12).
pub fn decrypt(mk: &[u8; 32], ct: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut okm = Zeroizing::new([0u8; 44]);
    hkdf(&[0; 32], mk, b"WiretapMessageKeys", &mut okm[..]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&okm[32..]);
    aead_open(&okm[..32], &nonce, ct, ad)
}

/// X25519.
pub fn dh(private: &[u8; 32], public: &[u8; 32]) -> Key {
    let s = StaticSecret::from(*private);
    Zeroizing::new(s.diffie_hellman(&PublicKey::from(*public)).to_bytes())
}

/// The public key of a private key.
pub fn public(private: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*private)).to_bytes()
}

/// Opens a sealed-sender body with the recipient's identity private key: (sender address,
/// sender identity key, content), or `None`.
pub fn unseal(identity_private: &[u8; 32], body: &[u8]) -> Option<(u64, [u8; 32], Vec<u8>)> {
    if body.len() < 32 + 48 + 16 + 8 {
        return None;
    }
    let mut e = [0u8; 32];
    e.copy_from_slice(&body[..32]);
    let ik_r = public(identity_private);
    let mut info = b"WiretapSealedSender/ephemeral".to_vec();
    info.extend_from_slice(&ik_r);
    info.extend_from_slice(&e);
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(&[0; 32], &dh(identity_private, &e)[..], &info, &mut okm[..]);
    let enc_static = &body[32..80];
    let ik_s = aead_open(&okm[32..], &[0; 12], enc_static, &e)?;
    let mut sender_ik = [0u8; 32];
    sender_ik.copy_from_slice(ik_s.get(..32)?);
    let mut salt = okm[..32].to_vec();
    salt.extend_from_slice(enc_static);
    let mut k2 = Zeroizing::new([0u8; 32]);
    hkdf(
        &salt,
        &dh(identity_private, &sender_ik)[..],
        b"WiretapSealedSender/static",
        &mut k2[..],
    );
    let inner = aead_open(&k2[..], &[0; 12], &body[80..], &e)?;
    let mut sender = [0u8; 8];
    sender.copy_from_slice(inner.get(..8)?);
    Some((u64::from_be_bytes(sender), sender_ik, inner[8..].to_vec()))
}
