//! The adversary's own Double Ratchet and X3DH reader, for Signal-style sessions: an
//! implementation independent of the `signal` crate (this crate must not depend on it),
//! written from the specifications and `docs/signal.md`.
//!
//! - [`StolenState`] mirrors what a thief copies out of a device (the `signal` crate's
//!   `StateSnapshot`; a later engineer converts field by field).
//! - [`RatchetReader`] follows one session through captured envelopes, in capture order, from
//!   the state stolen at some moment: it decrypts every message whose chain key it holds or
//!   can derive, and performs a DH ratchet step only when it holds the private key of one
//!   side (or a quantum DH oracle). When it cannot, it says so, with the step:
//!   "new ratchet key from the peer: no private key for ratchet step 2".
//! - [`read_x3dh`] derives `SK` of a captured initial message from stolen responder keys
//!   (identity, signed prekey, one-time prekeys if still held, PQ prekeys), or with a quantum
//!   DH oracle; the oracle cannot break ML-KEM, so PQXDH stays closed without the KEM key.
//!
//! Model: the two parties' ratchet public keys form one alternating sequence; step `i`
//! derives `(RK_i, CK_i) = KDF_RK(RK_{i-1}, DH(K_i, K_{i-1}))`, the chain of the new key's
//! owner. Chains and skipped keys are kept, so late and reordered messages on known chains
//! stay readable.
//!
//! Header encryption (section 4): a stolen device state holds the header keys too (`HKs`,
//! `HKr`, `NHKs`, `NHKr`). The reader opens each encrypted header with the header key of a
//! known chain, of a chain of stolen skipped keys, or of the next chain of the sequence: step
//! `i`'s `KDF_RK_HE` yields the header key of step `i + 2`'s chain, and at the theft the next
//! two are `NHKr` (the peer's next key) and `NHKs` (the victim's). It then reads the message as
//! with a clear header. A header no held key opens is reported as such.

mod kdf;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

pub use kdf::Key;
pub use wire::{
    parse_content, parse_envelope, parse_header, CapturedContent, CapturedEnvelope,
    EncryptedHeaderMessage, InitialData, ENC_HEADER_LEN,
};

/// A ratchet message whose header the reader holds: ratchet key, N, the bytes authenticated
/// after `AD` (the clear or the encrypted header), ciphertext.
struct Message {
    dh: [u8; 32],
    n: u32,
    header: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// A quantum DH oracle: given two X25519 public keys, their shared secret.
pub type DhOracle<'a> = &'a dyn Fn(&[u8; 32], &[u8; 32]) -> Option<[u8; 32]>;

/// The header keys of a stolen session with header encryption (all `None` without).
#[derive(Clone, Default)]
pub struct HeaderKeys {
    /// `HKs`: header key of the sending chain.
    pub hks: Option<Key>,
    /// `HKr`: header key of the receiving chain.
    pub hkr: Option<Key>,
    /// `NHKs`: header key of the next sending chain.
    pub nhks: Option<Key>,
    /// `NHKr`: header key of the next receiving chain.
    pub nhkr: Option<Key>,
}

/// One stolen session (Double Ratchet state; spec names in brackets).
#[derive(Clone)]
pub struct StolenSession {
    /// The peer's address.
    pub peer: u64,
    /// `AD` of the session.
    pub associated_data: Vec<u8>,
    /// `RK`.
    pub root_key: Key,
    /// Private half of `DHs`.
    pub ratchet_private: Key,
    /// `DHr`.
    pub remote_ratchet: Option<[u8; 32]>,
    /// `CKs`.
    pub sending_chain: Option<Key>,
    /// `CKr`.
    pub receiving_chain: Option<Key>,
    /// `Ns`.
    pub ns: u32,
    /// `Nr`.
    pub nr: u32,
    /// Whether the session encrypts headers.
    pub header_encryption: bool,
    /// Its header keys (header encryption).
    pub header_keys: HeaderKeys,
    /// `MKSKIPPED`: (ratchet public key, or under header encryption the header key of its
    /// chain; N; message key).
    pub skipped: Vec<([u8; 32], u32, Key)>,
}

/// Everything stolen from one device.
#[derive(Clone, Default)]
pub struct StolenState {
    /// The device's address.
    pub address: u64,
    /// Identity private key.
    pub identity_private: Option<Key>,
    /// Signed prekey (id, private key).
    pub signed_prekey: Option<(u32, Key)>,
    /// One-time prekeys still on the device: (id, private key).
    pub one_time_prekeys: Vec<(u32, Key)>,
    /// PQ prekeys (last-resort and one-time): (id, decapsulation key).
    pub pq_prekeys: Vec<(u32, Zeroizing<Vec<u8>>)>,
    /// Sessions.
    pub sessions: Vec<StolenSession>,
}

macro_rules! redacted {
    ($t:ty) => {
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($t), " { <redacted> }"))
            }
        }
    };
}
redacted!(StolenSession);
redacted!(StolenState);

/// Which party sent a captured message, seen from the victim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The device whose state was stolen.
    Victim,
    /// Its peer.
    Peer,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Victim => "the victim",
            Side::Peer => "the peer",
        }
    }
    fn other(self) -> Side {
        match self {
            Side::Victim => Side::Peer,
            Side::Peer => Side::Victim,
        }
    }
}

/// What the reader got from one captured envelope.
#[derive(Clone, PartialEq, Eq)]
pub enum Reading {
    /// Decrypted: the inner frame (`1 | id | body` for data, `2 | id` for a receipt).
    Plaintext {
        /// Who sent it.
        from: Side,
        /// The frame's message id.
        id: u64,
        /// The application plaintext (`None` for a receipt).
        body: Option<Vec<u8>>,
    },
    /// Not readable, and why.
    Unreadable {
        /// Who sent it, if known.
        from: Option<Side>,
        /// The reason, e.g. "new ratchet key from the peer: no private key for ratchet step 2".
        reason: String,
    },
    /// Not an envelope of this session.
    OtherSession,
}

impl core::fmt::Debug for Reading {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reading::Plaintext { from, id, body } => f
                .debug_struct("Plaintext")
                .field("from", from)
                .field("id", id)
                .field("len", &body.as_ref().map(Vec::len))
                .finish(),
            Reading::Unreadable { from, reason } => f
                .debug_struct("Unreadable")
                .field("from", from)
                .field("reason", reason)
                .finish(),
            Reading::OtherSession => f.write_str("OtherSession"),
        }
    }
}

struct Chain {
    ck: Key,
    next: u32,
}

/// Follows one session from stolen state (see the module docs).
pub struct RatchetReader<'a> {
    victim: u64,
    peer: u64,
    victim_identity: Option<Key>,
    peer_identity: Option<Key>,
    ad: Vec<u8>,
    header_encryption: bool,
    root: Option<Key>,
    /// Newest key of the ratchet sequence and its owner; the previous key of the other side.
    newest: ([u8; 32], Side),
    previous: Option<[u8; 32]>,
    step: u32,
    lost: Option<String>,
    privates: BTreeMap<[u8; 32], Key>,
    chains: BTreeMap<[u8; 32], Chain>,
    keys: BTreeMap<([u8; 32], u32), Key>,
    oracle: Option<DhOracle<'a>>,
    /// Skipped message keys that came with the stolen state, not used yet.
    stolen_skipped: std::collections::BTreeSet<([u8; 32], u32)>,
    skipped_used: usize,
    /// Header encryption: the header key of each known chain (with its ratchet public key).
    hk_chains: Vec<(Key, [u8; 32])>,
    /// Header encryption: the header keys of the chains of steps `step + 1` and `step + 2`.
    hk_pending: VecDeque<Option<Key>>,
    /// Header encryption: stolen skipped keys by header key, until a header they open names
    /// their chain's ratchet key.
    hk_skipped: Vec<(Key, u32, Key)>,
}

impl<'a> RatchetReader<'a> {
    /// A reader of `session`, stolen from device `victim` (whose identity key, if stolen,
    /// opens sealed envelopes addressed to it).
    pub fn new(victim: u64, identity: Option<&Key>, session: &StolenSession) -> Self {
        let own = kdf::public(&session.ratchet_private);
        let mut reader = RatchetReader {
            victim,
            peer: session.peer,
            victim_identity: identity.cloned(),
            peer_identity: None,
            ad: session.associated_data.clone(),
            header_encryption: session.header_encryption,
            root: Some(session.root_key.clone()),
            newest: (own, Side::Victim),
            previous: session.remote_ratchet,
            step: 0,
            lost: None,
            privates: BTreeMap::new(),
            chains: BTreeMap::new(),
            keys: BTreeMap::new(),
            oracle: None,
            stolen_skipped: std::collections::BTreeSet::new(),
            skipped_used: 0,
            hk_chains: Vec::new(),
            hk_pending: VecDeque::new(),
            hk_skipped: Vec::new(),
        };
        reader.privates.insert(own, session.ratchet_private.clone());
        if session.header_encryption {
            let hk = &session.header_keys;
            if let Some(k) = &hk.hks {
                reader.hk_chains.push((k.clone(), own));
            }
            if let (Some(k), Some(remote)) = (&hk.hkr, session.remote_ratchet) {
                reader.hk_chains.push((k.clone(), remote));
            }
            reader.hk_pending = VecDeque::from([hk.nhkr.clone(), hk.nhks.clone()]);
            reader.hk_skipped = session
                .skipped
                .iter()
                .map(|(k, n, mk)| (Zeroizing::new(*k), *n, mk.clone()))
                .collect();
        } else {
            reader.stolen_skipped = session.skipped.iter().map(|(k, n, _)| (*k, *n)).collect();
        }
        if let Some(ck) = &session.sending_chain {
            reader.chains.insert(
                own,
                Chain {
                    ck: ck.clone(),
                    next: session.ns,
                },
            );
        }
        if let (Some(ck), Some(remote)) = (&session.receiving_chain, session.remote_ratchet) {
            reader.chains.insert(
                remote,
                Chain {
                    ck: ck.clone(),
                    next: session.nr,
                },
            );
        }
        if !session.header_encryption {
            for (k, n, mk) in &session.skipped {
                reader.keys.insert((*k, *n), mk.clone());
            }
        }
        reader
    }

    /// A reader of a session whose `SK` was derived from its initial message
    /// ([`read_x3dh`]): the responder's (victim's) state right after X3DH, with its signed
    /// prekey as first ratchet key (`spk_private` if stolen).
    pub fn from_x3dh(
        victim: u64,
        peer: u64,
        reading: &X3dhReading,
        spk_public: [u8; 32],
        spk_private: Option<&Key>,
    ) -> Self {
        let mut reader = RatchetReader {
            victim,
            peer,
            victim_identity: None,
            peer_identity: None,
            ad: reading.associated_data.clone(),
            header_encryption: false,
            root: Some(reading.sk.clone()),
            newest: (spk_public, Side::Victim),
            previous: None,
            step: 0,
            lost: None,
            privates: BTreeMap::new(),
            chains: BTreeMap::new(),
            keys: BTreeMap::new(),
            oracle: None,
            stolen_skipped: std::collections::BTreeSet::new(),
            skipped_used: 0,
            hk_chains: Vec::new(),
            hk_pending: VecDeque::new(),
            hk_skipped: Vec::new(),
        };
        if let Some(p) = spk_private {
            reader.privates.insert(spk_public, p.clone());
        }
        reader
    }

    /// Adds a quantum DH oracle.
    pub fn with_oracle(mut self, oracle: DhOracle<'a>) -> Self {
        self.oracle = Some(oracle);
        self
    }

    /// Adds a ratchet private key learned elsewhere (e.g. from a later theft).
    pub fn add_ratchet_private(&mut self, private: &Key) {
        self.privates.insert(kdf::public(private), private.clone());
    }

    /// Adds the victim's identity private key (opens sealed envelopes addressed to it).
    pub fn add_victim_identity(&mut self, private: &Key) {
        self.victim_identity = Some(private.clone());
    }

    /// How many messages were read with a skipped message key that came with the stolen
    /// state (messages delayed or reordered in flight at the theft).
    pub fn stolen_skipped_keys_used(&self) -> usize {
        self.skipped_used
    }

    /// Adds the peer's identity private key (opens sealed envelopes addressed to the peer).
    pub fn add_peer_identity(&mut self, private: &Key) {
        self.peer_identity = Some(private.clone());
    }

    /// How many DH ratchet steps the reader has followed.
    pub fn steps(&self) -> u32 {
        self.step
    }

    /// Why the reader lost the root chain, if it did.
    pub fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Reads one captured envelope (in capture order).
    pub fn read(&mut self, bytes: &[u8]) -> Reading {
        let Some(env) = parse_envelope(bytes) else {
            return Reading::OtherSession;
        };
        let from = if env.recipient == self.victim {
            Side::Peer
        } else if env.recipient == self.peer {
            Side::Victim
        } else {
            return Reading::OtherSession;
        };
        let expected_sender = match from {
            Side::Peer => self.peer,
            Side::Victim => self.victim,
        };
        let content = match env.sender {
            Some(s) if s != expected_sender => return Reading::OtherSession,
            Some(_) => env.body,
            None => {
                let identity = match from {
                    Side::Peer => self.victim_identity.as_ref(),
                    Side::Victim => self.peer_identity.as_ref(),
                };
                let Some(identity) = identity else {
                    return Reading::Unreadable {
                        from: Some(from),
                        reason: format!(
                            "sealed sender: no identity private key of the recipient ({})",
                            from.other().name()
                        ),
                    };
                };
                match kdf::unseal(identity, &env.body) {
                    Some((s, _, c)) if s == expected_sender => c,
                    Some(_) => return Reading::OtherSession,
                    None => {
                        return Reading::Unreadable {
                            from: Some(from),
                            reason: "sealed sender: envelope does not open".into(),
                        }
                    }
                }
            }
        };
        let msg = match parse_content(&content) {
            Some(CapturedContent::Clear(_, m)) if !self.header_encryption => Message {
                dh: m.dh,
                n: m.n,
                header: m.header.to_vec(),
                ciphertext: m.ciphertext,
            },
            Some(CapturedContent::EncryptedHeader(_, m)) if self.header_encryption => {
                let Some((dh, n)) = self.open_header(&m.enc_header) else {
                    return Reading::Unreadable {
                        from: Some(from),
                        reason: "encrypted header: no header key held opens it".into(),
                    };
                };
                Message {
                    dh,
                    n,
                    header: m.enc_header,
                    ciphertext: m.ciphertext,
                }
            }
            Some(_) => {
                return Reading::Unreadable {
                    from: Some(from),
                    reason: "header encryption differs from the stolen session's".into(),
                }
            }
            None => {
                return Reading::Unreadable {
                    from: Some(from),
                    reason: "malformed content".into(),
                }
            }
        };
        // A ratchet step is only a trial until the message authenticates: an old key seen
        // late (captured before the theft) must not move the root chain.
        let saved = (self.root.clone(), self.newest, self.previous, self.step);
        let saved_hk = (self.hk_chains.len(), self.hk_pending.clone());
        if let Err(reason) = self.ensure_chain(from, msg.dh) {
            return Reading::Unreadable {
                from: Some(from),
                reason,
            };
        }
        let stepped = self.step != saved.3;
        let skipped_key = self.stolen_skipped.remove(&(msg.dh, msg.n));
        let mk = self.message_key(msg.dh, msg.n);
        let mut ad = self.ad.clone();
        ad.extend_from_slice(&msg.header);
        let pt = mk
            .as_ref()
            .and_then(|mk| kdf::decrypt(mk, &msg.ciphertext, &ad));
        let Some(pt) = pt else {
            if stepped {
                (self.root, self.newest, self.previous, self.step) = saved;
                self.hk_chains.truncate(saved_hk.0);
                self.hk_pending = saved_hk.1;
                self.chains.remove(&msg.dh);
                let stale: Vec<_> = self
                    .keys
                    .range((msg.dh, 0)..=(msg.dh, u32::MAX))
                    .map(|(k, _)| *k)
                    .collect();
                for k in stale {
                    self.keys.remove(&k);
                }
                return Reading::Unreadable {
                    from: Some(from),
                    reason: format!(
                        "ratchet key from {} is not the next of the sequence (an earlier key)",
                        from.name()
                    ),
                };
            }
            return Reading::Unreadable {
                from: Some(from),
                reason: match mk {
                    None => format!("message key {} of the chain already used or unknown", msg.n),
                    Some(_) => "authentication failed under the derived message key".into(),
                },
            };
        };
        if skipped_key {
            self.skipped_used += 1;
        }
        let id = pt
            .get(1..9)
            .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .unwrap_or(0);
        let body = match pt.first() {
            Some(1) => Some(pt[9.min(pt.len())..].to_vec()),
            _ => None,
        };
        Reading::Plaintext { from, id, body }
    }

    /// Makes sure the chain of ratchet key `dh` (sent by `from`) is known, stepping the root
    /// chain if `dh` is the next key of the sequence.
    fn ensure_chain(&mut self, from: Side, dh: [u8; 32]) -> Result<(), String> {
        if self.chains.contains_key(&dh)
            || self.keys.range((dh, 0)..=(dh, u32::MAX)).next().is_some()
        {
            return Ok(());
        }
        let next_step = self.step + 1;
        if let Some(lost) = &self.lost {
            return Err(format!(
                "new ratchet key from {}: root chain lost earlier ({lost})",
                from.name()
            ));
        }
        if from == self.newest.1 {
            return Err(format!(
                "new ratchet key from {} out of sequence (expected one from {})",
                from.name(),
                from.other().name()
            ));
        }
        let other = self.newest.0;
        let shared = match (self.privates.get(&dh), self.privates.get(&other)) {
            (Some(p), _) => Some(kdf::dh(p, &other)),
            (None, Some(p)) => Some(kdf::dh(p, &dh)),
            (None, None) => self.oracle.and_then(|o| o(&dh, &other)).map(Zeroizing::new),
        };
        let Some(shared) = shared else {
            let reason = format!(
                "new ratchet key from {}: no private key for ratchet step {next_step}",
                from.name()
            );
            self.lost = Some(reason.clone());
            return Err(reason);
        };
        let Some(root) = self.root.take() else {
            return Err("no root key".into());
        };
        let (rk, ck) = if self.header_encryption {
            let (rk, ck, nhk) = kdf::kdf_rk_he(&root, &shared);
            // This chain's header key was the pending one; the new one is step + 2's.
            if let Some(hk) = self.hk_pending.pop_front().flatten() {
                self.hk_chains.push((hk, dh));
            }
            self.hk_pending.push_back(Some(nhk));
            (rk, ck)
        } else {
            kdf::kdf_rk(&root, &shared)
        };
        self.root = Some(rk);
        self.chains.insert(dh, Chain { ck, next: 0 });
        self.previous = Some(other);
        self.newest = (dh, from);
        self.step = next_step;
        Ok(())
    }

    /// Opens an encrypted header with a held header key: `(ratchet key, N)`. Tried in order:
    /// the header keys of known chains, those of stolen skipped keys (whose entries then move
    /// under the ratchet key the header names), the next chain's.
    fn open_header(&mut self, enc_header: &[u8]) -> Option<([u8; 32], u32)> {
        let open = |hk: &Key| kdf::hdecrypt(hk, enc_header).and_then(|h| wire::parse_header(&h));
        for (hk, _) in &self.hk_chains {
            if let Some((dh, _, n)) = open(hk) {
                return Some((dh, n));
            }
        }
        let skipped_hit = self
            .hk_skipped
            .iter()
            .find_map(|(hk, _, _)| open(hk).map(|h| (hk.clone(), h)));
        if let Some((hk, (dh, _, n))) = skipped_hit {
            let (mine, rest): (Vec<_>, Vec<_>) = core::mem::take(&mut self.hk_skipped)
                .into_iter()
                .partition(|(k, _, _)| **k == *hk);
            self.hk_skipped = rest;
            for (_, m, mk) in mine {
                self.keys.insert((dh, m), mk);
                self.stolen_skipped.insert((dh, m));
            }
            self.hk_chains.push((hk, dh));
            return Some((dh, n));
        }
        let next = self.hk_pending.front().cloned().flatten()?;
        open(&next).map(|(dh, _, n)| (dh, n))
    }

    fn message_key(&mut self, dh: [u8; 32], n: u32) -> Option<Key> {
        if let Some(mk) = self.keys.remove(&(dh, n)) {
            return Some(mk);
        }
        let chain = self.chains.get_mut(&dh)?;
        if n < chain.next || n - chain.next > 100_000 {
            return None;
        }
        while chain.next < n {
            let (ck, mk) = kdf::kdf_ck(&chain.ck);
            self.keys.insert((dh, chain.next), mk);
            chain.ck = ck;
            chain.next += 1;
        }
        let (ck, mk) = kdf::kdf_ck(&chain.ck);
        chain.ck = ck;
        chain.next += 1;
        Some(mk)
    }
}

/// Opens a captured envelope: `(recipient, sender, content)`. Sealed envelopes need the
/// recipient's identity private key (`identity`); `None` if it is missing or the envelope
/// does not parse or open.
pub fn open_envelope(bytes: &[u8], identity: Option<&Key>) -> Option<(u64, u64, Vec<u8>)> {
    let env = parse_envelope(bytes)?;
    match env.sender {
        Some(s) => Some((env.recipient, s, env.body)),
        None => {
            let (s, _, c) = kdf::unseal(identity?, &env.body)?;
            Some((env.recipient, s, c))
        }
    }
}

/// `SK` and `AD` of a captured initial message.
#[derive(Clone)]
pub struct X3dhReading {
    /// `SK`.
    pub sk: Key,
    /// `AD = Encode(IK_A) || Encode(IK_B) || initiator u64 || responder u64`.
    pub associated_data: Vec<u8>,
}
redacted!(X3dhReading);

/// The responder's public keys as published in its bundle (public server data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponderPublic {
    /// `IK_B`.
    pub identity: [u8; 32],
    /// `SPK_B`.
    pub signed_prekey: [u8; 32],
    /// `OPK_B` handed out with the bundle, if any.
    pub one_time_prekey: Option<[u8; 32]>,
}

/// Derives `SK` of an initial message `initial` sent by `initiator` to the responder whose
/// keys were stolen (`stolen`; its published keys `public`), or says which secret was
/// missing. `quantum` computes any X25519 DH from the two public keys; it does not open
/// ML-KEM.
pub fn read_x3dh(
    stolen: &StolenState,
    public: &ResponderPublic,
    initiator: u64,
    initial: &InitialData,
    quantum: Option<DhOracle<'_>>,
) -> Result<X3dhReading, String> {
    let dh =
        |private: Option<&Key>, own_public: Option<&[u8; 32]>, their: &[u8; 32], what: &str| {
            match private {
                Some(p) => Ok(kdf::dh(p, their)),
                None => quantum
                    .zip(own_public)
                    .and_then(|(q, own)| q(own, their))
                    .map(Zeroizing::new)
                    .ok_or_else(|| format!("{what}: private key not stolen")),
            }
        };
    let spk = stolen
        .signed_prekey
        .as_ref()
        .filter(|(id, _)| *id == initial.signed_prekey_id)
        .map(|(_, k)| k);
    let spk_pub = Some(&public.signed_prekey);
    let mut km = Zeroizing::new(Vec::new());
    km.extend_from_slice(&dh(spk, spk_pub, &initial.identity, "DH1 (signed prekey)")?[..]);
    km.extend_from_slice(
        &dh(
            stolen.identity_private.as_ref(),
            Some(&public.identity),
            &initial.ephemeral,
            "DH2 (identity key)",
        )?[..],
    );
    km.extend_from_slice(&dh(spk, spk_pub, &initial.ephemeral, "DH3 (signed prekey)")?[..]);
    if let Some(id) = initial.one_time_prekey_id {
        let opk = stolen
            .one_time_prekeys
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| k);
        let what = format!("DH4 (one-time prekey {id}, deleted after use)");
        km.extend_from_slice(
            &dh(
                opk,
                public.one_time_prekey.as_ref(),
                &initial.ephemeral,
                &what,
            )?[..],
        );
    }
    let mut info: &[u8] = b"Wiretap_X3DH_CURVE25519_SHA-256";
    if let Some((id, ct)) = &initial.pq {
        let secret = stolen
            .pq_prekeys
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                format!("PQXDH: ML-KEM-1024 decapsulation key of PQ prekey {id} not stolen (a DH oracle does not help)")
            })?;
        let ss = proto::crypto::kem_decapsulate(secret, ct)
            .ok_or_else(|| "PQXDH: malformed KEM key or ciphertext".to_string())?;
        km.extend_from_slice(&ss[..]);
        info = b"Wiretap_PQXDH_CURVE25519_SHA-256_ML-KEM-1024";
    }
    let mut ad = vec![0x05];
    ad.extend_from_slice(&initial.identity);
    ad.push(0x05);
    ad.extend_from_slice(&public.identity);
    ad.extend_from_slice(&initiator.to_be_bytes());
    ad.extend_from_slice(&stolen.address.to_be_bytes());
    Ok(X3dhReading {
        sk: kdf::x3dh_kdf(&km, info),
        associated_data: ad,
    })
}
