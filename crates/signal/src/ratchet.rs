//! The Double Ratchet (rev 4), with and without header encryption (section 4).
//!
//! [`RatchetState`] follows the specification's state variables and functions
//! (`RatchetInitAlice`, `RatchetEncrypt`, `RatchetDecrypt`, `TrySkippedMessageKeys`,
//! `SkipMessageKeys`, `DHRatchet` and their `HE` variants). Decryption is transactional: it
//! works on a copy and commits only when the message authenticates, so a forged, altered or
//! replayed message leaves the state untouched. Message keys are deleted after use; a message
//! whose key is gone is reported as [`SignalError::Replayed`].

use std::collections::{BTreeMap, VecDeque};

use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{
    decrypt, dh, encrypt, hdecrypt, hencrypt, kdf_ck, kdf_rk, kdf_rk_he, Secret32, NONCE_LEN,
};
use crate::error::{Result, SignalError};
use crate::snapshot::{SessionSnapshot, SkippedKey};
use crate::wire::{Header, RatchetMessage};

/// The default `MAX_SKIP`: the most message keys one message may make a receiver skip.
pub const DEFAULT_MAX_SKIP: u32 = 1000;

/// How many finished remote ratchet keys a state remembers for replay detection.
pub const PAST_REMOTE_KEPT: usize = 32;

/// One party's Double Ratchet state.
#[derive(Clone)]
pub struct RatchetState {
    dhs: StaticSecret,
    dhs_pub: [u8; 32],
    dhr: Option<[u8; 32]>,
    rk: Secret32,
    cks: Option<Secret32>,
    ckr: Option<Secret32>,
    ns: u32,
    nr: u32,
    pn: u32,
    header_encryption: bool,
    hks: Option<Secret32>,
    hkr: Option<Secret32>,
    nhks: Option<Secret32>,
    nhkr: Option<Secret32>,
    /// Skipped message keys by (ratchet public key, or header key under HE; N).
    skipped: BTreeMap<([u8; 32], u32), Secret32>,
    /// The last [`PAST_REMOTE_KEPT`] remote ratchet keys of finished receiving chains
    /// (replay detection without HE; an older replay fails authentication instead).
    past_remote: VecDeque<[u8; 32]>,
    max_skip: u32,
    ad: Vec<u8>,
}

impl core::fmt::Debug for RatchetState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RatchetState")
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.skipped.len())
            .field("keys", &"<redacted>")
            .finish()
    }
}

/// Initial header keys `(shared_hka, shared_nhkb)` for header encryption.
pub type HeaderKeys = (Secret32, Secret32);

impl RatchetState {
    /// `RatchetInitAlice(HE)`: the initiator, with `SK`, Bob's ratchet public key (his signed
    /// prekey), and for header encryption the two shared header keys.
    pub fn init_alice<R: RngCore + CryptoRng>(
        rng: &mut R,
        sk: &[u8; 32],
        bob_public: [u8; 32],
        header_keys: Option<HeaderKeys>,
        ad: Vec<u8>,
        max_skip: u32,
    ) -> Self {
        let dhs = StaticSecret::random_from_rng(&mut *rng);
        let dhs_pub = PublicKey::from(&dhs).to_bytes();
        let shared = dh(&dhs, &bob_public);
        let mut state = RatchetState {
            dhs,
            dhs_pub,
            dhr: Some(bob_public),
            rk: Zeroizing::new([0u8; 32]),
            cks: None,
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            header_encryption: header_keys.is_some(),
            hks: None,
            hkr: None,
            nhks: None,
            nhkr: None,
            skipped: BTreeMap::new(),
            past_remote: VecDeque::new(),
            max_skip,
            ad,
        };
        match header_keys {
            Some((hka, nhkb)) => {
                let (rk, ck, nhk) = kdf_rk_he(sk, &shared);
                state.rk = rk;
                state.cks = Some(ck);
                state.nhks = Some(nhk);
                state.hks = Some(hka);
                state.nhkr = Some(nhkb);
            }
            None => {
                let (rk, ck) = kdf_rk(sk, &shared);
                state.rk = rk;
                state.cks = Some(ck);
            }
        }
        state
    }

    /// `RatchetInitBob(HE)`: the responder, with `SK` and its signed prekey pair as the first
    /// ratchet key pair.
    pub fn init_bob(
        sk: &[u8; 32],
        spk: StaticSecret,
        header_keys: Option<HeaderKeys>,
        ad: Vec<u8>,
        max_skip: u32,
    ) -> Self {
        let dhs_pub = PublicKey::from(&spk).to_bytes();
        let header_encryption = header_keys.is_some();
        let (nhks, nhkr) = match header_keys {
            Some((hka, nhkb)) => (Some(nhkb), Some(hka)),
            None => (None, None),
        };
        RatchetState {
            dhs: spk,
            dhs_pub,
            dhr: None,
            rk: Zeroizing::new(*sk),
            cks: None,
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            header_encryption,
            hks: None,
            hkr: None,
            nhks,
            nhkr,
            skipped: BTreeMap::new(),
            past_remote: VecDeque::new(),
            max_skip,
            ad,
        }
    }

    /// Whether this state has a sending chain (the responder has none until it hears from
    /// the initiator).
    pub fn can_send(&self) -> bool {
        self.cks.is_some() && (!self.header_encryption || self.hks.is_some())
    }

    /// The current sending ratchet public key and `Ns`, the number of messages sent on its
    /// chain so far: what the next header will carry (its `dh` and `n`).
    pub fn sending_chain(&self) -> ([u8; 32], u32) {
        (self.dhs_pub, self.ns)
    }

    /// The associated data of the session (`Encode(IK_A) || Encode(IK_B)`).
    pub fn associated_data(&self) -> &[u8] {
        &self.ad
    }

    /// `RatchetEncrypt(HE)`. `None` when there is no sending chain yet.
    pub fn encrypt<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Option<RatchetMessage> {
        let cks = self.cks.as_ref()?;
        let (ck, mk) = kdf_ck(cks);
        let header = Header {
            dh: self.dhs_pub,
            pn: self.pn,
            n: self.ns,
        };
        let msg = if self.header_encryption {
            let hks = self.hks.as_ref()?;
            let mut nonce = [0u8; NONCE_LEN];
            rng.fill_bytes(&mut nonce);
            let enc_header = hencrypt(hks, &nonce, &header.encode());
            let mut ad = self.ad.clone();
            ad.extend_from_slice(&enc_header);
            RatchetMessage::HeaderEncrypted {
                ciphertext: encrypt(&mk, plaintext, &ad),
                enc_header,
            }
        } else {
            let mut ad = self.ad.clone();
            ad.extend_from_slice(&header.encode());
            RatchetMessage::Plain {
                header,
                ciphertext: encrypt(&mk, plaintext, &ad),
            }
        };
        self.cks = Some(ck);
        self.ns = self.ns.wrapping_add(1);
        Some(msg)
    }

    /// `RatchetDecrypt(HE)`: the plaintext, with the state advanced; on any error the state
    /// is unchanged.
    pub fn decrypt<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        msg: &RatchetMessage,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let mut next = self.clone();
        let pt = match msg {
            RatchetMessage::Plain { header, ciphertext } => {
                next.decrypt_plain(rng, header, ciphertext)?
            }
            RatchetMessage::HeaderEncrypted {
                enc_header,
                ciphertext,
            } => next.decrypt_he(rng, enc_header, ciphertext)?,
        };
        *self = next;
        Ok(pt)
    }

    fn decrypt_plain<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        header: &Header,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        if self.header_encryption {
            return Err(SignalError::BadHeader);
        }
        let mut ad = self.ad.clone();
        ad.extend_from_slice(&header.encode());
        if let Some(mk) = self.skipped.remove(&(header.dh, header.n)) {
            return decrypt(&mk, ciphertext, &ad).ok_or(SignalError::BadTag("message"));
        }
        if Some(header.dh) == self.dhr {
            if header.n < self.nr {
                return Err(SignalError::Replayed);
            }
        } else if self.past_remote.contains(&header.dh) || header.dh == self.dhs_pub {
            return Err(SignalError::Replayed);
        } else {
            self.skip_message_keys(header.pn)?;
            self.dh_ratchet(rng, header.dh);
        }
        self.skip_message_keys(header.n)?;
        self.next_receive_key(ciphertext, &ad)
    }

    fn decrypt_he<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        enc_header: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        if !self.header_encryption {
            return Err(SignalError::BadHeader);
        }
        let mut ad = self.ad.clone();
        ad.extend_from_slice(enc_header);
        // TrySkippedMessageKeysHE.
        let mut hit = None;
        for (hk, n) in self.skipped.keys() {
            if let Some(h) = hdecrypt(hk, enc_header).and_then(|b| Header::decode(&b).ok()) {
                if h.n == *n {
                    hit = Some((*hk, *n));
                    break;
                }
            }
        }
        if let Some(index) = hit {
            if let Some(mk) = self.skipped.remove(&index) {
                return decrypt(&mk, ciphertext, &ad).ok_or(SignalError::BadTag("message"));
            }
        }
        // DecryptHeader.
        let current = self
            .hkr
            .as_ref()
            .and_then(|hk| hdecrypt(hk, enc_header))
            .and_then(|b| Header::decode(&b).ok());
        let header = match current {
            Some(h) => {
                if h.n < self.nr {
                    return Err(SignalError::Replayed);
                }
                h
            }
            None => {
                let h = self
                    .nhkr
                    .as_ref()
                    .and_then(|hk| hdecrypt(hk, enc_header))
                    .and_then(|b| Header::decode(&b).ok())
                    .ok_or(SignalError::BadHeader)?;
                self.skip_message_keys(h.pn)?;
                self.dh_ratchet(rng, h.dh);
                h
            }
        };
        self.skip_message_keys(header.n)?;
        self.next_receive_key(ciphertext, &ad)
    }

    fn next_receive_key(&mut self, ciphertext: &[u8], ad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let ckr = self
            .ckr
            .as_ref()
            .ok_or(SignalError::BadTag("no receiving chain"))?;
        let (ck, mk) = kdf_ck(ckr);
        self.ckr = Some(ck);
        self.nr = self.nr.wrapping_add(1);
        decrypt(&mk, ciphertext, ad).ok_or(SignalError::BadTag("message"))
    }

    /// `SkipMessageKeys(until)`.
    fn skip_message_keys(&mut self, until: u32) -> Result<()> {
        if u64::from(self.nr) + u64::from(self.max_skip) < u64::from(until) {
            return Err(SignalError::TooManySkipped {
                n: until,
                skip: u64::from(until) - u64::from(self.nr),
                max: self.max_skip,
            });
        }
        let index_key = if self.header_encryption {
            self.hkr.as_ref().map(|k| **k)
        } else {
            self.dhr
        };
        if let (Some(mut ck), Some(index_key)) = (self.ckr.clone(), index_key) {
            while self.nr < until {
                let (next, mk) = kdf_ck(&ck);
                self.skipped.insert((index_key, self.nr), mk);
                ck = next;
                self.nr += 1;
            }
            self.ckr = Some(ck);
        }
        Ok(())
    }

    /// `DHRatchet(HE)`.
    fn dh_ratchet<R: RngCore + CryptoRng>(&mut self, rng: &mut R, remote: [u8; 32]) {
        self.pn = self.ns;
        self.ns = 0;
        self.nr = 0;
        if let Some(old) = self.dhr.replace(remote) {
            if self.past_remote.len() == PAST_REMOTE_KEPT {
                self.past_remote.pop_front();
            }
            self.past_remote.push_back(old);
        }
        let shared = dh(&self.dhs, &remote);
        if self.header_encryption {
            self.hks = self.nhks.take();
            self.hkr = self.nhkr.take();
            let (rk, ck, nhk) = kdf_rk_he(&self.rk, &shared);
            self.rk = rk;
            self.ckr = Some(ck);
            self.nhkr = Some(nhk);
        } else {
            let (rk, ck) = kdf_rk(&self.rk, &shared);
            self.rk = rk;
            self.ckr = Some(ck);
        }
        self.dhs = StaticSecret::random_from_rng(&mut *rng);
        self.dhs_pub = PublicKey::from(&self.dhs).to_bytes();
        let shared = dh(&self.dhs, &remote);
        if self.header_encryption {
            let (rk, ck, nhk) = kdf_rk_he(&self.rk, &shared);
            self.rk = rk;
            self.cks = Some(ck);
            self.nhks = Some(nhk);
        } else {
            let (rk, ck) = kdf_rk(&self.rk, &shared);
            self.rk = rk;
            self.cks = Some(ck);
        }
    }

    /// Rebuilds a state from a snapshot: what a thief who copied a device's memory (or built a
    /// state of its own from one, as the active experiment does) runs to continue the session.
    /// The replay memory of finished chains is not part of a snapshot and starts empty.
    pub fn from_snapshot(s: &SessionSnapshot, max_skip: u32) -> RatchetState {
        RatchetState {
            dhs: StaticSecret::from(*s.ratchet_private),
            dhs_pub: s.ratchet_public,
            dhr: s.remote_ratchet,
            rk: s.root_key.clone(),
            cks: s.sending_chain.clone(),
            ckr: s.receiving_chain.clone(),
            ns: s.ns,
            nr: s.nr,
            pn: s.pn,
            header_encryption: s.header_encryption,
            hks: s.hks.clone(),
            hkr: s.hkr.clone(),
            nhks: s.nhks.clone(),
            nhkr: s.nhkr.clone(),
            skipped: s
                .skipped
                .iter()
                .map(|k| ((k.index_key, k.n), k.message_key.clone()))
                .collect(),
            past_remote: VecDeque::new(),
            max_skip,
            ad: s.associated_data.clone(),
        }
    }

    /// Everything this state holds, for the compromise experiments.
    pub(crate) fn snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            associated_data: self.ad.clone(),
            root_key: self.rk.clone(),
            ratchet_private: Zeroizing::new(self.dhs.to_bytes()),
            ratchet_public: self.dhs_pub,
            remote_ratchet: self.dhr,
            sending_chain: self.cks.clone(),
            receiving_chain: self.ckr.clone(),
            ns: self.ns,
            nr: self.nr,
            pn: self.pn,
            header_encryption: self.header_encryption,
            hks: self.hks.clone(),
            hkr: self.hkr.clone(),
            nhks: self.nhks.clone(),
            nhkr: self.nhkr.clone(),
            skipped: self
                .skipped
                .iter()
                .map(|((k, n), mk)| SkippedKey {
                    index_key: *k,
                    n: *n,
                    message_key: mk.clone(),
                })
                .collect(),
            peer: 0,
            peer_identity: [0; 32],
            initiator: false,
            base_key: None,
        }
    }
}
