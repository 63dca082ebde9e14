//! X3DH (rev 1) and PQXDH (rev 3) key agreement.
//!
//! Initiator A with bundle of B: `DH1 = DH(IK_A, SPK_B)`, `DH2 = DH(EK_A, IK_B)`,
//! `DH3 = DH(EK_A, SPK_B)`, `DH4 = DH(EK_A, OPK_B)` if the bundle had a one-time prekey;
//! PQXDH adds `(CT, SS) = PQKEM-ENC(PQPK_B)`. `SK = KDF(DH1 || DH2 || DH3 [|| DH4] [|| SS])`
//! ([`crate::crypto::x3dh_kdf`]), `AD = Encode(IK_A) || Encode(IK_B)`.

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{
    dh, encode_ec, kem_decapsulate, kem_encapsulate, x3dh_kdf, Secret32, PQXDH_INFO, X3DH_INFO,
};
use crate::error::{Result, SignalError};
use crate::keys::{IdentityKeyPair, PreKeyBundle};
use crate::wire::PreKeyHeader;

/// The X3DH associated data `Encode(IK_A) || Encode(IK_B)`.
pub fn associated_data(ik_a: &[u8; 32], ik_b: &[u8; 32]) -> Vec<u8> {
    let mut ad = encode_ec(ik_a).to_vec();
    ad.extend_from_slice(&encode_ec(ik_b));
    ad
}

/// The initiator's result: the shared secret, the AD, and the header of its initial messages.
pub struct Initiated {
    /// `SK`.
    pub sk: Secret32,
    /// `AD`.
    pub ad: Vec<u8>,
    /// What the initial message carries.
    pub header: PreKeyHeader,
}

/// Runs the initiator's side against a verified `bundle`: PQXDH if `post_quantum` and the
/// bundle has a PQ prekey, else X3DH.
pub fn initiate<R: RngCore + CryptoRng>(
    rng: &mut R,
    identity: &IdentityKeyPair,
    bundle: &PreKeyBundle,
    post_quantum: bool,
) -> Result<Initiated> {
    bundle.verify()?;
    let ek = StaticSecret::random_from_rng(&mut *rng);
    let ek_pub = PublicKey::from(&ek).to_bytes();
    let spk = bundle.signed_prekey.public;
    let mut km = Zeroizing::new(Vec::with_capacity(160));
    km.extend_from_slice(&dh(identity.secret(), &spk)[..]);
    km.extend_from_slice(&dh(&ek, &bundle.identity)[..]);
    km.extend_from_slice(&dh(&ek, &spk)[..]);
    if let Some((_, opk)) = &bundle.one_time_prekey {
        km.extend_from_slice(&dh(&ek, opk)[..]);
    }
    let mut pq = None;
    let mut info = X3DH_INFO;
    if post_quantum {
        if let Some(pqpk) = &bundle.pq_prekey {
            let mut coins = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut coins[..]);
            let (ct, ss) = kem_encapsulate(&pqpk.public, &coins).ok_or(SignalError::Kem)?;
            km.extend_from_slice(&ss[..]);
            pq = Some((pqpk.id, ct));
            info = PQXDH_INFO;
        }
    }
    let sk = x3dh_kdf(&km, info);
    Ok(Initiated {
        sk,
        ad: associated_data(&identity.public(), &bundle.identity),
        header: PreKeyHeader {
            identity: identity.public(),
            ephemeral: ek_pub,
            signed_prekey_id: bundle.signed_prekey.id,
            one_time_prekey_id: bundle.one_time_prekey.map(|(id, _)| id),
            pq,
        },
    })
}

/// Runs the responder's side: `spk` and `opk` are the private prekeys the header names,
/// `kem_secret` the decapsulation key of the PQ prekey it names. Returns `(SK, AD)`.
pub fn respond(
    identity: &IdentityKeyPair,
    spk: &StaticSecret,
    opk: Option<&StaticSecret>,
    kem_secret: Option<&[u8]>,
    header: &PreKeyHeader,
) -> Result<(Secret32, Vec<u8>)> {
    let mut km = Zeroizing::new(Vec::with_capacity(160));
    km.extend_from_slice(&dh(spk, &header.identity)[..]);
    km.extend_from_slice(&dh(identity.secret(), &header.ephemeral)[..]);
    km.extend_from_slice(&dh(spk, &header.ephemeral)[..]);
    if let Some(opk) = opk {
        km.extend_from_slice(&dh(opk, &header.ephemeral)[..]);
    }
    let mut info = X3DH_INFO;
    if let Some((_, ct)) = &header.pq {
        let secret = kem_secret.ok_or(SignalError::Kem)?;
        let ss = kem_decapsulate(secret, ct).ok_or(SignalError::Kem)?;
        km.extend_from_slice(&ss[..]);
        info = PQXDH_INFO;
    }
    Ok((
        x3dh_kdf(&km, info),
        associated_data(&header.identity, &identity.public()),
    ))
}
