//! Sealed sender: the sender's address and identity are encrypted inside the envelope, so the
//! server and the carrier see only the recipient. Modelled on Signal's sealed sender v1:
//!
//! 1. Ephemeral-static: `E = e·G`; `(chain || k1) = HKDF(salt = 0^32, ikm = DH(e, IK_R),
//!    info = "WiretapSealedSender/ephemeral" || IK_R || E)`; `enc_static =
//!    AES-256-GCM(k1, 0^12, IK_S, ad = E)`.
//! 2. Static-static: `k2 = HKDF(salt = chain || enc_static, ikm = DH(IK_S, IK_R),
//!    info = "WiretapSealedSender/static")`; `ct = AES-256-GCM(k2, 0^12, sender u64 ||
//!    content, ad = E)`.
//!
//! Body = `E (32) || enc_static (48) || ct`. Opening it needs the recipient's identity private
//! key; layer 2 also authenticates the sender's identity key. (Holding only the *sender's*
//! identity key is not enough: layer 1 needs `e` or `IK_R`.)

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{aead_open, aead_seal, dh, hkdf, TAG_LEN};
use crate::error::{Result, SignalError};
use crate::keys::IdentityKeyPair;
use crate::wire::SEALED_PREFIX_LEN;

/// `info` prefix of layer 1.
pub const SEALED_EPHEMERAL_INFO: &[u8] = b"WiretapSealedSender/ephemeral";
/// `info` of layer 2.
pub const SEALED_STATIC_INFO: &[u8] = b"WiretapSealedSender/static";

fn layer1(shared: &[u8; 32], ik_r: &[u8; 32], e: &[u8; 32]) -> Zeroizing<[u8; 64]> {
    let mut info = SEALED_EPHEMERAL_INFO.to_vec();
    info.extend_from_slice(ik_r);
    info.extend_from_slice(e);
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(&[0u8; 32], shared, &info, &mut okm[..]);
    okm
}

fn layer2(chain: &[u8], enc_static: &[u8], shared: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut salt = chain.to_vec();
    salt.extend_from_slice(enc_static);
    let mut k = Zeroizing::new([0u8; 32]);
    hkdf(&salt, shared, SEALED_STATIC_INFO, &mut k[..]);
    k
}

/// Seals `content` from `sender` (address and identity) to the identity key `recipient_ik`.
pub fn seal<R: RngCore + CryptoRng>(
    rng: &mut R,
    sender: u64,
    sender_identity: &IdentityKeyPair,
    recipient_ik: &[u8; 32],
    content: &[u8],
) -> Vec<u8> {
    let e = StaticSecret::random_from_rng(&mut *rng);
    let e_pub = PublicKey::from(&e).to_bytes();
    let okm = layer1(&dh(&e, recipient_ik), recipient_ik, &e_pub);
    let enc_static = aead_seal(&okm[32..], &[0; 12], &sender_identity.public(), &e_pub);
    let k2 = layer2(
        &okm[..32],
        &enc_static,
        &dh(sender_identity.secret(), recipient_ik),
    );
    let mut inner = Zeroizing::new(Vec::with_capacity(8 + content.len()));
    inner.extend_from_slice(&sender.to_be_bytes());
    inner.extend_from_slice(content);
    let ct = aead_seal(&k2[..], &[0; 12], &inner, &e_pub);
    let mut body = e_pub.to_vec();
    body.extend_from_slice(&enc_static);
    body.extend_from_slice(&ct);
    body
}

/// What an opened sealed envelope reveals.
pub struct Unsealed {
    /// The sender's address.
    pub sender: u64,
    /// The sender's identity key (authenticated by layer 2).
    pub sender_identity: [u8; 32],
    /// The content.
    pub content: Zeroizing<Vec<u8>>,
}

/// Opens a sealed body with the recipient's identity key.
pub fn unseal(identity: &IdentityKeyPair, body: &[u8]) -> Result<Unsealed> {
    if body.len() < SEALED_PREFIX_LEN + TAG_LEN + 8 {
        return Err(SignalError::Decode {
            offset: 0,
            field: "sealed body",
        });
    }
    let mut e_pub = [0u8; 32];
    e_pub.copy_from_slice(&body[..32]);
    let enc_static = &body[32..SEALED_PREFIX_LEN];
    let okm = layer1(&dh(identity.secret(), &e_pub), &identity.public(), &e_pub);
    let ik_s = aead_open(&okm[32..], &[0; 12], enc_static, &e_pub)
        .ok_or(SignalError::BadTag("sealed sender identity"))?;
    let mut sender_identity = [0u8; 32];
    sender_identity.copy_from_slice(&ik_s);
    let k2 = layer2(
        &okm[..32],
        enc_static,
        &dh(identity.secret(), &sender_identity),
    );
    let inner = aead_open(&k2[..], &[0; 12], &body[SEALED_PREFIX_LEN..], &e_pub)
        .ok_or(SignalError::BadTag("sealed sender content"))?;
    let mut sender = [0u8; 8];
    sender.copy_from_slice(&inner[..8]);
    Ok(Unsealed {
        sender: u64::from_be_bytes(sender),
        sender_identity,
        content: Zeroizing::new(inner[8..].to_vec()),
    })
}
