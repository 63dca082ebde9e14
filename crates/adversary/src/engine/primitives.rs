//! The hash, HKDF and AEAD functions of Noise (§4.2, §4.3, §5.1), written from the
//! specification over RustCrypto primitives.

use aes_gcm::Aes256Gcm;
use blake2::{Blake2b512, Blake2s256};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::Digest;
use hmac::{Mac, SimpleHmac};
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

/// A Noise hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFn {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
    /// BLAKE2s-256.
    Blake2s,
    /// BLAKE2b-512.
    Blake2b,
}

fn digest<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().to_vec()
}

fn hmac_with<D: Digest + BlockSizeUser + Clone>(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    // SimpleHmac accepts keys of any length: `new_from_slice` cannot fail.
    let mut mac = match <SimpleHmac<D> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Zeroizing::new(Vec::new()),
    };
    for p in parts {
        mac.update(p);
    }
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

impl HashFn {
    /// Parses the hash part of a protocol name.
    pub fn parse(name: &str) -> Option<HashFn> {
        Some(match name {
            "SHA256" => HashFn::Sha256,
            "SHA512" => HashFn::Sha512,
            "BLAKE2s" => HashFn::Blake2s,
            "BLAKE2b" => HashFn::Blake2b,
            _ => return None,
        })
    }

    /// `HASHLEN`.
    pub fn hash_len(self) -> usize {
        match self {
            HashFn::Sha256 | HashFn::Blake2s => 32,
            HashFn::Sha512 | HashFn::Blake2b => 64,
        }
    }

    /// `HASH(parts[0] || parts[1] || ...)`.
    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            HashFn::Sha256 => digest::<Sha256>(parts),
            HashFn::Sha512 => digest::<Sha512>(parts),
            HashFn::Blake2s => digest::<Blake2s256>(parts),
            HashFn::Blake2b => digest::<Blake2b512>(parts),
        }
    }

    /// `HMAC-HASH(key, parts...)`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        match self {
            HashFn::Sha256 => hmac_with::<Sha256>(key, parts),
            HashFn::Sha512 => hmac_with::<Sha512>(key, parts),
            HashFn::Blake2s => hmac_with::<Blake2s256>(key, parts),
            HashFn::Blake2b => hmac_with::<Blake2b512>(key, parts),
        }
    }

    /// `HKDF(chaining_key, input_key_material, 3)`: three outputs of `HASHLEN` bytes (callers
    /// needing two ignore the third).
    pub fn hkdf(self, ck: &[u8], ikm: &[u8]) -> [Zeroizing<Vec<u8>>; 3] {
        let temp = self.hmac(ck, &[ikm]);
        let o1 = self.hmac(&temp, &[&[1]]);
        let o2 = self.hmac(&temp, &[&o1, &[2]]);
        let o3 = self.hmac(&temp, &[&o2, &[3]]);
        [o1, o2, o3]
    }

    /// Like [`HashFn::hkdf`] with two outputs (saves one HMAC).
    pub fn hkdf2(self, ck: &[u8], ikm: &[u8]) -> [Zeroizing<Vec<u8>>; 2] {
        let temp = self.hmac(ck, &[ikm]);
        let o1 = self.hmac(&temp, &[&[1]]);
        let o2 = self.hmac(&temp, &[&o1, &[2]]);
        [o1, o2]
    }
}

/// A Noise cipher function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipherFn {
    /// ChaCha20-Poly1305; nonce = 4 zero bytes || little-endian n.
    ChaChaPoly,
    /// AES-256-GCM; nonce = 4 zero bytes || big-endian n.
    AesGcm,
}

impl CipherFn {
    /// Parses the cipher part of a protocol name.
    pub fn parse(name: &str) -> Option<CipherFn> {
        match name {
            "ChaChaPoly" => Some(CipherFn::ChaChaPoly),
            "AESGCM" => Some(CipherFn::AesGcm),
            _ => None,
        }
    }

    fn nonce(self, n: u64) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        match self {
            CipherFn::ChaChaPoly => nonce[4..].copy_from_slice(&n.to_le_bytes()),
            CipherFn::AesGcm => nonce[4..].copy_from_slice(&n.to_be_bytes()),
        }
        nonce
    }

    /// `ENCRYPT(k, n, ad, plaintext)`; `None` only for plaintexts beyond the AEAD's limits.
    pub fn encrypt(self, k: &[u8; 32], n: u64, ad: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let nonce = self.nonce(n);
        let payload = Payload { msg, aad: ad };
        match self {
            CipherFn::ChaChaPoly => ChaCha20Poly1305::new(k.into())
                .encrypt((&nonce).into(), payload)
                .ok(),
            CipherFn::AesGcm => Aes256Gcm::new(k.into())
                .encrypt((&nonce).into(), payload)
                .ok(),
        }
    }

    /// `DECRYPT(k, n, ad, ciphertext)`; `None` if the tag does not verify.
    pub fn decrypt(self, k: &[u8; 32], n: u64, ad: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let nonce = self.nonce(n);
        let payload = Payload { msg, aad: ad };
        match self {
            CipherFn::ChaChaPoly => ChaCha20Poly1305::new(k.into())
                .decrypt((&nonce).into(), payload)
                .ok(),
            CipherFn::AesGcm => Aes256Gcm::new(k.into())
                .decrypt((&nonce).into(), payload)
                .ok(),
        }
    }
}
