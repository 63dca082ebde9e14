//! The active half of a Signal device-state theft: a man in the middle at the victim's core
//! that uses the stolen state to take each of the victim's sessions over and stay in the
//! middle (`[[adversary.onpath]] mode = "mitm"` on a signal app, with a `device-state` theft
//! of the same app).
//!
//! **What the thief holds.** At the theft time `T` the simulator hands the component the
//! victim's stolen device state, `capture::SignalState` (the same secret the passive adversary
//! gets):
//! per session the root key `RK`, the sending and receiving chain keys, `Ns`/`Nr`/`PN`, the
//! current ratchet key pair `DHs` of the victim, the peer's ratchet public key `DHr`, and the
//! session's associated data. It does **not** hold the peer's ratchet private key.
//!
//! **Two ratchets per session.** For each session of a victim `V` with a peer `P` the
//! component runs two Double Ratchet states of the `signal` crate:
//!
//! - *toward the peer* it continues **as the victim**: the stolen state itself
//!   ([`RatchetState::from_snapshot`]). It decrypts whatever `P` sends and encrypts toward `P`;
//!   when `P` sends a new ratchet key, the DH ratchet step uses a fresh key pair of the
//!   component's own, whose private key it keeps.
//! - *toward the victim* it continues **as the peer**. The thief cannot be `P` on `P`'s current
//!   ratchet key (no private key), but it does not need to: it performs `P`'s next DH ratchet
//!   step itself with a key pair `E1` of its own, `RK', CKs = KDF_RK(RK, DH(E1, DHs_V))`, and
//!   sends everything it forwards to `V` on that chain, with `E1` in the header and `PN` = the
//!   messages `V` has received on `P`'s current chain. `V` takes `E1` for `P`'s next ratchet
//!   key: a DH ratchet step is authenticated only through the root key chain, which the thief
//!   holds. From then on `V`'s new keys are combined with keys the thief generated, so this side
//!   never heals either. Its receiving chain is `V`'s sending chain (`CKr = CKs_V`).
//!
//! Every envelope between `V` and `P` after `T` is decrypted on one side and re-encrypted on the
//! other, keeping the envelope's addresses and its content type (a prekey message keeps its
//! X3DH header, so the receiver files it under the existing session). The associated data binds
//! both identity keys and both addresses; it is the same for both sides of a session and is in
//! the stolen state, so nothing else has to be forged (the identity private key is not needed).
//! Plaintexts of data frames are the component's reads ([`Attack::plaintexts`], which become
//! `capture::ActiveRecord`s); receipts are re-encrypted like any message.
//!
//! **Where it acts.** On the victim's links at its own carrier's core: `V → P` on `V`'s uplink,
//! `P → V` on `V`'s downlink (server → `V`), so that every envelope `V` receives after `T` —
//! also one `P` sent before `T` and the server kept in its mailbox — comes from the component.
//! Envelopes `V` sent before `T` (on its stolen sending chain, `N < Ns`) are passed on unchanged:
//! `P` reads them as before. Frames keep their sequence numbers and a replaced frame is cached
//! for retransmissions (`onpath`); flows are taken strictly in order.
//!
//! **Limits (stated, not hidden).** Sessions started after `T` are not attacked; a pair of two
//! victims is taken over once (from the first victim's state); an envelope the component cannot
//! decrypt is passed on unchanged and the takeover of that session is marked lost (the
//! endpoint will then fail to decrypt, which the ground truth counts as detection). A race
//! the component cannot win: an envelope from `P` that crossed the core before `T` but reaches
//! `V` after it, carrying a new ratchet key of `P`. Sealed sender and header encryption are
//! refused by validation. Signal's out-of-band safety-number check is not modelled (and would
//! not help: the identity keys never change in this attack).

use std::collections::BTreeMap;

use capture::{OnPathMode, SignalSession, SignalState};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use signal::crypto::{dh_bytes, kdf_rk, x25519_keypair};
use signal::ratchet::{RatchetState, DEFAULT_MAX_SKIP};
use signal::wire::{Content, Envelope, Frame, RatchetMessage};
use signal::{SessionSnapshot, SkippedKey};
use simcore::Timestamp;

use crate::interceptor::{Act, Attack, Interceptor, Place};

/// A device's state stolen at a `device-state` theft, handed to the on-path components of the
/// adversary (its own loot: the same secret the passive analysis receives).
pub(crate) struct StolenDevice {
    /// When it was stolen.
    pub at: Timestamp,
    /// The victim's MSISDN.
    pub msisdn: String,
    /// Everything the device held.
    pub state: SignalState,
}

impl core::fmt::Debug for StolenDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the key material.
        f.debug_struct("StolenDevice")
            .field("at", &self.at)
            .field("msisdn", &self.msisdn)
            .field("sessions", &self.state.sessions.len())
            .finish_non_exhaustive()
    }
}

/// One session taken over: the two ratchets and the bookkeeping.
struct Takeover {
    /// Toward the victim, as the peer (the component's own ratchet keys).
    to_victim: RatchetState,
    /// Toward the peer, as the victim (the stolen state, continued).
    to_peer: RatchetState,
    /// The victim's sending ratchet key at the theft and its `Ns`: envelopes of that chain
    /// below `Ns` were sent before the theft and pass unchanged.
    stolen_key: [u8; 32],
    stolen_ns: u32,
    /// The component's randomness for this session (new ratchet keys).
    rng: ChaCha20Rng,
    /// Index of the attack in the log.
    attack: Option<usize>,
    /// Envelopes re-encrypted.
    replaced: u64,
    /// Why the takeover was lost, if it was.
    lost: Option<String>,
}

/// The signal takeovers of one core's component, by (victim MSISDN, peer MSISDN).
#[derive(Default)]
pub(crate) struct SignalMitm {
    takeovers: BTreeMap<(String, String), Takeover>,
}

impl core::fmt::Debug for SignalMitm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignalMitm")
            .field("takeovers", &self.takeovers.len())
            .finish_non_exhaustive()
    }
}

/// The stolen session as the endpoint's ratchet takes it (fields the ratchet does not read, the
/// peer's identity and the X3DH base key, are left empty; header keys are absent because
/// header-encrypted sessions are not taken over).
fn snapshot_of(v: &SignalSession) -> SessionSnapshot {
    SessionSnapshot {
        peer: v.peer,
        peer_identity: [0; 32],
        initiator: v.initiator,
        base_key: None,
        associated_data: v.associated_data.clone(),
        root_key: v.root_key.clone(),
        ratchet_private: v.ratchet_private.clone(),
        ratchet_public: v.ratchet_public,
        remote_ratchet: v.remote_ratchet,
        sending_chain: v.sending_chain.clone(),
        receiving_chain: v.receiving_chain.clone(),
        ns: v.ns,
        nr: v.nr,
        pn: v.pn,
        header_encryption: v.header_encryption,
        hks: None,
        hkr: None,
        nhks: None,
        nhkr: None,
        skipped: v
            .skipped
            .iter()
            .map(|(index_key, n, message_key)| SkippedKey {
                index_key: *index_key,
                n: *n,
                message_key: message_key.clone(),
            })
            .collect(),
    }
}

/// The peer's side of the session as the thief builds it: the peer's next DH ratchet step
/// performed with a key pair of the thief's own, so that every later step is computable.
fn peer_side(v: &SessionSnapshot, rng: &mut ChaCha20Rng) -> Option<SessionSnapshot> {
    let (private, public) = x25519_keypair(rng);
    let shared = dh_bytes(&private, &v.ratchet_public);
    let (rk, ck) = kdf_rk(&v.root_key, &shared);
    Some(SessionSnapshot {
        peer: 0,
        peer_identity: [0; 32],
        initiator: !v.initiator,
        base_key: None,
        associated_data: v.associated_data.clone(),
        root_key: rk,
        ratchet_private: private,
        ratchet_public: public,
        remote_ratchet: Some(v.ratchet_public),
        sending_chain: Some(ck),
        // The victim's sending chain is what the peer's side receives.
        receiving_chain: Some(v.sending_chain.clone()?),
        ns: 0,
        nr: v.ns,
        // The messages the victim received on the peer's current chain: it skips none.
        pn: v.nr,
        header_encryption: false,
        hks: None,
        hkr: None,
        nhks: None,
        nhkr: None,
        skipped: Vec::new(),
    })
}

/// The envelope with `message` in place of its ratchet message, same addresses and content type.
fn rewrap(envelope: &Envelope, content: &Content, message: RatchetMessage) -> Vec<u8> {
    let content = match content {
        Content::PreKey { prekey, .. } => Content::PreKey {
            prekey: prekey.clone(),
            message,
        },
        Content::Ratchet(_) => Content::Ratchet(message),
    };
    Envelope {
        recipient: envelope.recipient,
        sender: envelope.sender,
        body: content.encode(),
    }
    .encode()
}

impl Interceptor {
    /// Takes in the device states stolen since the last packet: one takeover per session of a
    /// victim targeted by a `mitm` entry (local victims only; first draw wins).
    fn signal_adopt(&mut self, now: Timestamp) {
        let stolen = core::mem::take(&mut self.log.stolen);
        for d in stolen {
            let Some(si) = (0..self.brief.orders.len()).find(|&i| {
                let s = &self.brief.orders[i];
                s.mode == OnPathMode::Mitm && s.msisdns.contains(&d.msisdn) && d.at >= s.from
            }) else {
                continue;
            };
            if !d.msisdn.starts_with(&self.brief.msisdn_prefix)
                || !self.draw(self.brief.orders[si].share)
            {
                continue;
            }
            for stolen in &d.state.sessions {
                let v = &snapshot_of(stolen);
                let peer = self.brief.orders[si]
                    .msisdns
                    .iter()
                    .find(|m| address(m) == v.peer)
                    .cloned()
                    .unwrap_or_else(|| format!("+{}", v.peer));
                let pair = (d.msisdn.clone(), peer.clone());
                let reverse = (peer.clone(), d.msisdn.clone());
                if self.signal.takeovers.contains_key(&pair)
                    || self.signal.takeovers.contains_key(&reverse)
                {
                    continue;
                }
                let mut seed = [0u8; 32];
                self.rng.fill_bytes(&mut seed);
                let mut rng = ChaCha20Rng::from_seed(seed);
                let spec = &self.brief.orders[si];
                let mut attack = Attack::new(spec, None, Some(pair.clone()), d.at, String::new());
                let side = (!v.header_encryption)
                    .then(|| peer_side(v, &mut rng))
                    .flatten();
                let Some(side) = side else {
                    attack.outcome = format!(
                        "stolen session of {} with {peer} not taken over: header encryption, or \
                         no sending chain",
                        d.msisdn
                    );
                    self.new_attack(attack);
                    continue;
                };
                attack.outcome = format!(
                    "took over the session of {} with {peer} from the stolen state at {}; \
                     nothing forwarded yet",
                    d.msisdn,
                    fmt_time(d.at)
                );
                let idx = self.new_attack(attack);
                self.signal.takeovers.insert(
                    pair,
                    Takeover {
                        to_victim: RatchetState::from_snapshot(&side, DEFAULT_MAX_SKIP),
                        to_peer: RatchetState::from_snapshot(v, DEFAULT_MAX_SKIP),
                        stolen_key: v.ratchet_public,
                        stolen_ns: v.ns,
                        rng,
                        attack: idx,
                        replaced: 0,
                        lost: None,
                    },
                );
            }
        }
        let _ = now;
    }

    /// A signal envelope in a DATA frame: `Some(act)` when it belongs to a session taken over
    /// (on the leg where the component acts), `None` to leave it to the other modes.
    pub(super) fn signal_takeover(
        &mut self,
        now: Timestamp,
        src: std::net::Ipv4Addr,
        env: &proto::wire::OttEnvelope,
        raw: &[u8],
        at: Place,
    ) -> Option<Act> {
        self.signal_adopt(now);
        let uplink = src != self.brief.ott_addr;
        let fwd = (env.from.clone(), env.to.clone());
        let back = (env.to.clone(), env.from.clone());
        // Victim → peer on the victim's uplink; peer → victim on the victim's downlink.
        let (key, from_victim) = if self.signal.takeovers.contains_key(&fwd) {
            (fwd, true)
        } else if self.signal.takeovers.contains_key(&back) {
            (back, false)
        } else {
            // A signal session of a mitm target that was not taken over (not a victim's, or
            // started after the theft): there is no handshake to answer; pass it on.
            let mitm = self.brief.orders.iter().any(|s| {
                s.mode == OnPathMode::Mitm
                    && (s.msisdns.contains(&env.from) || s.msisdns.contains(&env.to))
            });
            return mitm.then(|| Act::Forward(raw.to_vec()));
        };
        if uplink != from_victim {
            return Some(Act::Forward(raw.to_vec()));
        }
        self.links.entry(at.flow).or_default().guarded = true;
        if !at.new {
            return Some(Act::Forward(raw.to_vec()));
        }
        if at.gap {
            return Some(Act::Hold);
        }
        let mut t = self.signal.takeovers.remove(&key)?;
        let act = self.relay(&mut t, &key, env, raw, from_victim);
        self.signal.takeovers.insert(key, t);
        Some(act)
    }

    /// Decrypts one envelope on one side and re-encrypts it on the other.
    fn relay(
        &mut self,
        t: &mut Takeover,
        pair: &(String, String),
        env: &proto::wire::OttEnvelope,
        raw: &[u8],
        from_victim: bool,
    ) -> Act {
        let pass = Act::Forward(raw.to_vec());
        if t.lost.is_some() {
            return pass;
        }
        let parsed = Envelope::decode(&env.body)
            .ok()
            .filter(|e| e.sender.is_some())
            .and_then(|e| Content::decode(&e.body).ok().map(|c| (e, c)));
        let Some((envelope, content)) = parsed else {
            self.parse_error();
            return pass;
        };
        let message = match &content {
            Content::PreKey { message, .. } | Content::Ratchet(message) => message,
        };
        if let (true, RatchetMessage::Plain { header, .. }) = (from_victim, message) {
            if header.dh == t.stolen_key && header.n < t.stolen_ns {
                // Sent before the theft: the peer reads it on the chain it already has.
                return pass;
            }
        }
        let (reader, writer) = if from_victim {
            (&mut t.to_victim, &mut t.to_peer)
        } else {
            (&mut t.to_peer, &mut t.to_victim)
        };
        let plaintext = match reader.decrypt(&mut t.rng, message) {
            Ok(p) => p,
            Err(e) => {
                let why = format!(
                    "lost the session of {} with {}: could not decrypt an envelope from the {} \
                     ({e}); passing it on unchanged",
                    pair.0,
                    pair.1,
                    if from_victim { "victim" } else { "peer" }
                );
                t.lost = Some(why.clone());
                self.update(t.attack, |a| a.outcome = why);
                return pass;
            }
        };
        let Some(out) = writer.encrypt(&mut t.rng, &plaintext) else {
            return pass;
        };
        let Some(bytes) = Self::rebuild(env, rewrap(&envelope, &content, out)) else {
            return pass;
        };
        t.replaced += 1;
        let read = match Frame::decode(&plaintext) {
            Ok(Frame::Data { body, .. }) => Some(body),
            _ => None,
        };
        let replaced = t.replaced;
        self.update(t.attack, |a| {
            a.facts.acted = true;
            a.replaced += 1;
            if let Some(b) = read {
                a.plaintexts.push(b);
            }
            a.outcome = format!(
                "took over the session of {} with {} from the stolen state: running both \
                 ratchets (as the victim toward the peer, as the peer toward the victim with \
                 its own ratchet keys), {replaced} envelopes re-encrypted, {} messages read",
                pair.0,
                pair.1,
                a.plaintexts.len()
            );
        });
        Act::Forward(bytes)
    }
}

/// A device's address: its MSISDN's digits (the public convention of the signal apps).
fn address(msisdn: &str) -> u64 {
    msisdn
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u64, |a, d| {
            a.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        })
}

fn fmt_time(t: Timestamp) -> String {
    format!("{:.1}s", t.as_nanos() as f64 / 1e9)
}
