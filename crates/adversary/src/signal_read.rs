//! Reading captured Signal-style envelopes with declared capabilities: device state stolen at a
//! time, identity key and signed prekey stolen (`static` of a signal app), a quantum computer.
//!
//! Input: the OTT envelopes seen in clear whose `protocol` is a signal app's label (`"signal"`,
//! `"signal+pq"`), deduplicated by body and taken in capture order, and the
//! [`capture::SignalState`] values of [`capture::Capabilities::stolen`], each mapped field by
//! field to [`crate::ratchet::StolenState`]. Device addresses are MSISDN digits (public
//! convention of the service), so `+<address>` names an account.
//!
//! - **Device state stolen at T** (`device-state`): every session in it is followed with a
//!   [`RatchetReader`] through the captured envelopes between the two parties, in capture order
//!   (envelopes captured before T are read only where the stolen chains or skipped keys open
//!   them: a trial ratchet step on an old key fails authentication and is undone). The
//!   reader loses the session at the first message on a ratchet key both of whose halves were
//!   made after T: the time from T to that capture is the **time to heal**, the messages read
//!   until then the **messages until healed** ([`SessionHealing`]).
//! - **Identity key and signed prekey** (both kinds): each captured initial (prekey) message
//!   addressed to the victim is tried with [`read_x3dh`]; sessions set up without a one-time
//!   prekey open, and are followed until the responder's first new ratchet key; sessions with a
//!   one-time prekey deleted before the theft do not.
//! - **Quantum computer**: every initial message in clear is tried with the X25519 oracle; X3DH
//!   opens and every later ratchet step is computed, PQXDH does not (no ML-KEM secret).
//!   Sealed envelopes are not opened with the oracle (not implemented).
//! - **Capabilities combine**: a theft's readers also hold the quantum computer's X25519, if
//!   declared. A stolen device state brings the PQ prekeys' ML-KEM decapsulation keys (the
//!   last-resort one and unused one-time ones): with the oracle for the X25519 parts, PQXDH
//!   initial messages made with them open, from the start of their sessions; and a session
//!   followed from the stolen state never heals (every later ratchet step is an X25519 of two
//!   public keys). The credit goes to the theft, whose method line names the oracle.
//! - **Header encryption**: the stolen state's header keys open the headers
//!   ([`crate::ratchet`]); what no reader opened is filed under the reason the reader gave
//!   ([`crate::sealed`]).
//!
//! Each text is credited to the first capability that read it, as in [`crate::keys`], and added
//! to [`Findings::key_theft`] (merged with the entry of the same time, kind and owner).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use capture::{Capabilities, Owner, Secret, SignalState};
use serde::Serialize;
use simcore::Timestamp;

use crate::findings::TextsRead;
use crate::findings::{Channel, Findings, Recovered, SealedMessage, TheftExposure};
use crate::observe::Observations;
use crate::ratchet::{
    open_envelope, parse_content, read_x3dh, CapturedContent, DhOracle, HeaderKeys, InitialData,
    RatchetReader, Reading, ResponderPublic, Side, StolenSession, StolenState,
};
use crate::sealed::Sealed;

/// How one session stolen with a device's state healed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionHealing {
    /// The victim's account.
    pub victim: String,
    /// The peer's account.
    pub peer: String,
    /// Messages of the session the adversary read from this state (both directions).
    pub messages_read: usize,
    /// Of those, sent after the theft as far as the captures tell (captured at or after it).
    pub read_after_theft: usize,
    /// When the reader lost the session (capture time of the first message it could not follow
    /// any more), `None` if it never did within the captures.
    pub lost_at: Option<Timestamp>,
    /// Why it lost it, e.g. "new ratchet key from the victim: no private key for ratchet step 2".
    pub reason: Option<String>,
}

/// What a Signal capability did beyond the messages it read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SignalExposure {
    /// Sessions followed from stolen device state, and how each healed.
    pub healing: Vec<SessionHealing>,
    /// Messages read with skipped message keys that came with the stolen state.
    pub skipped_keys_used: usize,
    /// X3DH/PQXDH sessions whose initial message the capability opened.
    pub initial_opened: usize,
    /// Sessions whose initial message it could not open, by reason.
    pub initial_refused: BTreeMap<String, usize>,
}

/// One captured Signal envelope (first sighting), borrowed from the observation table.
struct Captured<'t> {
    time: Timestamp,
    vantage: &'t str,
    protocol: &'t str,
    body: &'t [u8],
}

fn account(address: u64) -> String {
    format!("+{address}")
}

fn stolen_state(s: &SignalState) -> StolenState {
    StolenState {
        address: s.address,
        identity_private: Some(s.identity_private.clone()),
        signed_prekey: Some((s.signed_prekey.0, s.signed_prekey.1.clone())),
        one_time_prekeys: s.one_time_prekeys.clone(),
        pq_prekeys: s.pq_prekeys.clone(),
        sessions: s
            .sessions
            .iter()
            .map(|x| StolenSession {
                peer: x.peer,
                associated_data: x.associated_data.clone(),
                root_key: x.root_key.clone(),
                ratchet_private: x.ratchet_private.clone(),
                remote_ratchet: x.remote_ratchet,
                sending_chain: x.sending_chain.clone(),
                receiving_chain: x.receiving_chain.clone(),
                ns: x.ns,
                nr: x.nr,
                header_encryption: x.header_encryption,
                header_keys: HeaderKeys {
                    hks: x.hks.clone(),
                    hkr: x.hkr.clone(),
                    nhks: x.nhks.clone(),
                    nhkr: x.nhkr.clone(),
                },
                skipped: x.skipped.clone(),
            })
            .collect(),
    }
}

/// What one capability read: key of [`Findings::key_theft`].
type Key = (Timestamp, String, Option<Owner>);

/// Sessions `(address, address)`, `(protocol, text)` messages and details of one capability.
type Opened = (
    BTreeSet<(u64, u64)>,
    BTreeSet<(String, String)>,
    SignalExposure,
);

#[derive(Default)]
struct Credits<'t, 'k> {
    /// Texts read before this reader ran or by it so far.
    texts: TextsRead<'k>,
    entries: BTreeMap<Key, Opened>,
    recovered: Vec<Recovered>,
    /// Envelopes some reader decrypted (messages and receipts).
    opened: BTreeSet<&'t [u8]>,
    /// Envelopes of a followed session that a reader could not open: the first reason.
    sealed: BTreeMap<&'t [u8], String>,
    /// Sessions whose initial message stayed closed: (initiator, recipient, why).
    refused: Vec<(u64, u64, String)>,
}

/// The reason a ratchet reader gave, as a line of the "captured but unreadable" table: the
/// healing reasons (which name a step) are one line, so sessions that healed at different
/// steps are counted together.
fn sealed_reason(reason: &str) -> String {
    if reason.contains("no private key for ratchet step") || reason.contains("root chain lost") {
        "Signal envelope of a later ratchet step: the adversary holds neither of its two \
         private ratchet keys (the session healed for a passive reader)"
            .to_owned()
    } else if reason.contains("no header key held") {
        "Signal envelope with an encrypted header no held header key opens (a chain after the \
         session healed, or one deleted before the theft)"
            .to_owned()
    } else if reason.contains("already used or unknown") {
        "Signal envelope on a chain the stolen state had already passed (its message key was \
         used and deleted before the theft)"
            .to_owned()
    } else if reason.contains("earlier key") || reason.contains("out of sequence") {
        "Signal envelope under a ratchet key older than the stolen state (its chain was \
         deleted before the theft)"
            .to_owned()
    } else {
        format!("Signal envelope of a session the adversary follows: {reason}")
    }
}

impl<'t> Credits<'t, '_> {
    /// Credits `text` (sent by `from` to `to`) to `key`, unless it was read before.
    fn credit(
        &mut self,
        key: &Key,
        method: &str,
        c: &Captured<'_>,
        from: u64,
        to: u64,
        text: String,
    ) {
        let e = self.entries.entry(key.clone()).or_default();
        if !self.texts.first_read(&text) {
            return;
        }
        e.0.insert((from.min(to), from.max(to)));
        e.1.insert((c.protocol.to_owned(), text.clone()));
        self.recovered.push(Recovered {
            text,
            from: Some(account(from).into()),
            to: Some(account(to).into()),
            channel: Channel::Ott {
                protocol: c.protocol.to_owned(),
            },
            first_seen: c.time,
            seen_at: Arc::from([Arc::from(c.vantage)]),
            method: Arc::from(method),
        });
    }

    fn exposure(&mut self, key: &Key) -> &mut SignalExposure {
        &mut self.entries.entry(key.clone()).or_default().2
    }
}

/// What [`follow`] saw of one session.
#[derive(Default)]
struct Followed {
    /// Messages read (receipts and other frames without a text are not messages).
    read: usize,
    /// Of those, captured at or after `since`.
    after: usize,
    /// Of those, opened with a skipped message key that came with the stolen state.
    with_stolen_skipped_key: usize,
    /// The first loss at or after `since`: capture time and reason.
    lost: Option<(Timestamp, String)>,
}

/// Follows `reader` through `all` and credits what it reads to `key`.
#[allow(clippy::too_many_arguments)]
fn follow<'t>(
    reader: &mut RatchetReader<'_>,
    victim: u64,
    peer: u64,
    all: &[Captured<'t>],
    since: Timestamp,
    key: &Key,
    method: &str,
    credits: &mut Credits<'t, '_>,
) -> Followed {
    let mut f = Followed::default();
    for c in all {
        let skipped_before = reader.stolen_skipped_keys_used();
        let reading = reader.read(c.body);
        match &reading {
            Reading::Plaintext { .. } => {
                credits.opened.insert(c.body);
            }
            Reading::Unreadable { reason, .. } => {
                credits
                    .sealed
                    .entry(c.body)
                    .or_insert_with(|| sealed_reason(reason));
            }
            Reading::OtherSession => {}
        }
        match reading {
            Reading::Plaintext {
                from,
                body: Some(body),
                ..
            } => {
                let (s, r) = match from {
                    Side::Victim => (victim, peer),
                    Side::Peer => (peer, victim),
                };
                if let Ok(text) = String::from_utf8(body) {
                    if !text.is_empty() {
                        f.read += 1;
                        if c.time >= since {
                            f.after += 1;
                        }
                        if reader.stolen_skipped_keys_used() > skipped_before {
                            f.with_stolen_skipped_key += 1;
                        }
                        credits.credit(key, method, c, s, r, text);
                    }
                }
            }
            Reading::Unreadable { reason, .. }
                if f.lost.is_none()
                    && c.time >= since
                    && (reason.contains("no private key for ratchet step")
                        || reason.contains("root chain lost")) =>
            {
                f.lost = Some((c.time, reason));
            }
            _ => {}
        }
    }
    f
}

/// A captured initial message: who started which session, and its X3DH data.
struct Initial {
    index: usize,
    initiator: u64,
    recipient: u64,
    data: InitialData,
}

/// The initial messages in `all` that open with `identity` (sealed ones need the recipient's
/// identity key), one per session (initiator, recipient, ephemeral key).
fn initials(all: &[Captured<'_>], recipient: Option<(u64, &crate::ratchet::Key)>) -> Vec<Initial> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (index, c) in all.iter().enumerate() {
        let identity = recipient.map(|(_, k)| k);
        let Some((to, from, content)) = open_envelope(c.body, identity) else {
            continue;
        };
        if recipient.is_some_and(|(a, _)| a != to) {
            continue;
        }
        let data = match parse_content(&content) {
            Some(CapturedContent::Clear(Some(d), _)) => d,
            Some(CapturedContent::EncryptedHeader(Some(d), _)) => d,
            _ => continue,
        };
        if seen.insert((from, to, data.ephemeral)) {
            out.push(Initial {
                index,
                initiator: from,
                recipient: to,
                data,
            });
        }
    }
    out
}

/// Bytes of a delivery receipt's plaintext (`2 ‖ id u64`, `docs/signal.md`) plus the AEAD tag:
/// its ratchet ciphertext. A data frame carries at least one byte more.
const RECEIPT_CIPHERTEXT: usize = 9 + 16;

/// Whether a captured envelope is a delivery receipt, from its size alone (public format): a
/// plain envelope by its ratchet ciphertext; a sealed one by the sealed body of a receipt
/// with a clear or an encrypted header (`E`, `enc_static`, the sealed sender address and tag
/// around the content).
fn is_receipt(env: &crate::ratchet::CapturedEnvelope) -> bool {
    match env.sender {
        Some(_) => match parse_content(&env.body) {
            Some(CapturedContent::Clear(_, m)) => m.ciphertext.len() == RECEIPT_CIPHERTEXT,
            Some(CapturedContent::EncryptedHeader(_, m)) => {
                m.ciphertext.len() == RECEIPT_CIPHERTEXT
            }
            None => false,
        },
        None => {
            let around = 32 + 48 + 8 + 16;
            let clear = 1 + 40 + RECEIPT_CIPHERTEXT;
            let encrypted = 1 + crate::ratchet::ENC_HEADER_LEN + RECEIPT_CIPHERTEXT;
            [around + clear, around + encrypted].contains(&env.body.len())
        }
    }
}

/// The reason a sealed message stayed unread, in the words of the protocol table: from the
/// reason it is filed under in the unreadable table (`table`), for an app labelled `protocol`
/// (`signal` runs X3DH, `signal+pq` PQXDH).
fn message_reason(table: &str, protocol: &str) -> String {
    let setup = if protocol.contains("pq") {
        "PQXDH"
    } else {
        "X3DH"
    };
    if let Some(why) =
        table.strip_prefix("Signal envelope of a session whose initial message stayed closed: ")
    {
        return if why.starts_with("PQXDH") {
            why.to_owned()
        } else {
            format!("{setup}: {why}")
        };
    }
    if table.contains("holds neither of its two private ratchet keys") {
        "the ratchet healed: the new DH ratchet keys of a later step are not held".to_owned()
    } else if table.contains("encrypted header no held header key opens") {
        "encrypted header: no held header key opens it (a chain after the session healed, or \
         one deleted before the theft)"
            .to_owned()
    } else if table.contains("already passed") {
        "sent before the theft: its message key was used and deleted before the state was \
         stolen"
            .to_owned()
    } else if table.contains("older than the stolen state") {
        "sent before the theft, on a chain deleted before the state was stolen".to_owned()
    } else if table.contains("sealed sender: no identity private key of the recipient") {
        "sealed sender: the recipient's identity key is not held".to_owned()
    } else if table.contains("sealed sender: envelope does not open") {
        "sealed sender: the envelope does not open with the identity key held".to_owned()
    } else {
        table
            .strip_prefix("Signal envelope of a session the adversary follows: ")
            .unwrap_or(table)
            .to_owned()
    }
}

fn refusal(reason: &str) -> String {
    if reason.contains("DH4") {
        "one-time prekey used and deleted before the theft".to_owned()
    } else if reason.contains("PQXDH") {
        "PQXDH: the ML-KEM prekey secret is not held".to_owned()
    } else if reason.contains("signed prekey") {
        "signed prekey not held".to_owned()
    } else {
        reason.to_owned()
    }
}

/// Opens the sessions of `inits` with `stolen` (and/or `oracle`), follows them, credits `key`.
#[allow(clippy::too_many_arguments)]
fn read_initials<'t>(
    inits: &[Initial],
    stolen_for: &dyn Fn(u64) -> StolenState,
    caps: &Capabilities,
    all: &[Captured<'t>],
    oracle: Option<DhOracle<'_>>,
    key: &Key,
    method: &str,
    credits: &mut Credits<'t, '_>,
) {
    for i in inits {
        let Some(dir) = caps
            .signal_directory
            .iter()
            .find(|d| d.address == i.recipient)
        else {
            continue;
        };
        let Some(spk) = dir
            .signed_prekeys
            .iter()
            .find(|(id, _)| *id == i.data.signed_prekey_id)
            .map(|(_, k)| *k)
        else {
            continue;
        };
        let public = ResponderPublic {
            identity: dir.identity,
            signed_prekey: spk,
            one_time_prekey: i.data.one_time_prekey_id.and_then(|id| {
                dir.one_time_prekeys
                    .iter()
                    .find(|(x, _)| *x == id)
                    .map(|(_, k)| *k)
            }),
        };
        let stolen = stolen_for(i.recipient);
        match read_x3dh(&stolen, &public, i.initiator, &i.data, oracle) {
            Ok(reading) => {
                credits.exposure(key).initial_opened += 1;
                let spk_private = stolen.signed_prekey.as_ref().map(|(_, k)| k);
                let mut reader =
                    RatchetReader::from_x3dh(i.recipient, i.initiator, &reading, spk, spk_private);
                if let Some(id) = &stolen.identity_private {
                    reader.add_victim_identity(id);
                }
                if let Some(o) = oracle {
                    reader = reader.with_oracle(o);
                }
                follow(
                    &mut reader,
                    i.recipient,
                    i.initiator,
                    &all[i.index..],
                    Timestamp::ZERO,
                    key,
                    method,
                    credits,
                );
            }
            Err(reason) => {
                let why = refusal(&reason);
                credits
                    .refused
                    .push((i.initiator, i.recipient, why.clone()));
                *credits
                    .exposure(key)
                    .initial_refused
                    .entry(why)
                    .or_default() += 1;
            }
        }
    }
}

fn human(at: Timestamp) -> String {
    let ms = at.as_nanos() / 1_000_000;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Adds to `findings` what the Signal capabilities in `caps` open in the captures of `obs`.
pub(crate) fn analyze<'t>(
    findings: &mut Findings,
    obs: &'t Observations<'_>,
    caps: &Capabilities,
    sealed: &mut Sealed<'t>,
) {
    let signal_thefts: Vec<(&capture::StolenSecret, &SignalState)> = caps
        .stolen
        .iter()
        .filter_map(|s| match &s.secret {
            Secret::SignalState(st) => Some((s, &**st)),
            _ => None,
        })
        .collect();
    if signal_thefts.is_empty() && caps.quantum.is_none() {
        return;
    }
    // Signal envelopes in capture time order (table order among equal times), first copy of
    // each body only.
    let mut envs: Vec<(Timestamp, usize, &str, proto::wire::OttEnvelopeRef<'_>)> = obs
        .ott_envelopes()
        .enumerate()
        .filter(|(_, (_, e))| e.is_signal())
        .map(|(i, (o, e))| (o.time, i, obs.vantage_name(o.vantage()), e))
        .collect();
    envs.sort_by_key(|(t, i, _, _)| (*t, *i));
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    let all: Vec<Captured<'_>> = envs
        .into_iter()
        .filter(|(_, _, _, e)| seen.insert(e.body))
        .map(|(time, _, vantage, e)| Captured {
            time,
            vantage,
            protocol: e.protocol,
            body: e.body,
        })
        .collect();
    if all.is_empty() {
        return;
    }
    let mut credits = Credits {
        texts: TextsRead::new(&findings.recovered),
        ..Credits::default()
    };

    // Time 0: a quantum computer against every initial message in clear.
    // The quantum computer's X25519, also lent to every theft below: capabilities combine.
    let quantum_dh = |a: &[u8; 32], b: &[u8; 32]| caps.quantum.as_ref()?.x25519(a, b);
    let quantum: Option<DhOracle<'_>> = caps
        .quantum
        .is_some()
        .then_some(&quantum_dh as DhOracle<'_>);
    if let Some(oracle) = quantum {
        let key = (Timestamp::ZERO, "quantum".to_owned(), None);
        let inits = initials(&all, None);
        let empty = |a: u64| StolenState {
            address: a,
            ..StolenState::default()
        };
        read_initials(
            &inits,
            &empty,
            caps,
            &all,
            Some(oracle),
            &key,
            "quantum: X25519 of X3DH and every ratchet step from public keys",
            &mut credits,
        );
    }

    // Thefts in time order.
    for (n, (s, st)) in signal_thefts.iter().enumerate() {
        let at = s.at;
        let kind = s.secret.kind().to_owned();
        let key = (at, kind.clone(), Some(s.owner.clone()));
        credits.entries.entry(key.clone()).or_default();
        let stolen = stolen_state(st);
        let victim = st.address;
        // Identity keys held by then (sealed envelopes addressed to their owners open).
        let identities: BTreeMap<u64, crate::ratchet::Key> = signal_thefts[..=n]
            .iter()
            .map(|(_, x)| (x.address, x.identity_private.clone()))
            .collect();
        let method = format!(
            "stolen {kind} of {} at {}{}",
            account(victim),
            human(at),
            if quantum.is_some() {
                ", with the quantum computer's X25519"
            } else {
                ""
            }
        );
        if st.device_state {
            for sess in &stolen.sessions {
                let mut reader = RatchetReader::new(victim, stolen.identity_private.as_ref(), sess);
                if let Some(o) = quantum {
                    reader = reader.with_oracle(o);
                }
                if let Some(k) = identities.get(&sess.peer) {
                    reader.add_peer_identity(k);
                }
                let f = follow(
                    &mut reader,
                    victim,
                    sess.peer,
                    &all,
                    at,
                    &key,
                    &method,
                    &mut credits,
                );
                let e = credits.exposure(&key);
                // Messages only: a delivery receipt opened with a skipped key is no message.
                e.skipped_keys_used += f.with_stolen_skipped_key;
                e.healing.push(SessionHealing {
                    victim: account(victim),
                    peer: account(sess.peer),
                    messages_read: f.read,
                    read_after_theft: f.after,
                    lost_at: f.lost.as_ref().map(|l| l.0),
                    reason: f.lost.map(|l| l.1),
                });
            }
        }
        // Initial messages addressed to the victim, with its identity key and prekeys.
        let Some(identity) = stolen.identity_private.clone() else {
            continue;
        };
        let inits = initials(&all, Some((victim, &identity)));
        let this = stolen.clone();
        read_initials(
            &inits,
            &move |_| this.clone(),
            caps,
            &all,
            quantum,
            &key,
            &method,
            &mut credits,
        );
    }

    // What stayed sealed: envelopes a reader opened leave the passive table; those of a
    // followed session no reader opened are filed under the reason a reader gave.
    // The envelopes between the parties of a session whose initial message stayed closed
    // (with a clear sender) take its reason, unless a reader gave one.
    let refused: BTreeMap<(u64, u64), &str> = credits
        .refused
        .iter()
        .flat_map(|(a, b, why)| [((*a, *b), why.as_str()), ((*b, *a), why.as_str())])
        .collect();
    if !refused.is_empty() {
        for c in &all {
            let Some(env) = crate::ratchet::parse_envelope(c.body) else {
                continue;
            };
            let Some(why) = env.sender.and_then(|s| refused.get(&(s, env.recipient))) else {
                continue;
            };
            credits.sealed.entry(c.body).or_insert_with(|| {
                format!("Signal envelope of a session whose initial message stayed closed: {why}")
            });
        }
    }
    // Per message (receipts left out by size), what is still missing, for the scorer's "why
    // the rest stayed unreadable" lines.
    let captured: BTreeMap<&[u8], &Captured<'_>> = all.iter().map(|c| (c.body, c)).collect();
    let mut sealed_messages = Vec::new();
    for (body, reason) in core::mem::take(&mut credits.sealed) {
        if credits.opened.contains(body) {
            continue;
        }
        if let (Some(c), Some(env)) = (captured.get(body), crate::ratchet::parse_envelope(body)) {
            if !is_receipt(&env) {
                sealed_messages.push(SealedMessage {
                    from: env.sender.map(account).unwrap_or_default(),
                    to: account(env.recipient),
                    first_seen: c.time,
                    reason: message_reason(&reason, c.protocol),
                });
            }
        }
        sealed.refile(body, reason);
    }
    findings.sealed_messages.extend(sealed_messages);
    findings
        .sealed_messages
        .sort_by(|a, b| (a.first_seen, &a.from, &a.to).cmp(&(b.first_seen, &b.from, &b.to)));
    for body in &credits.opened {
        sealed.opened(body);
    }

    // Merge into the findings.
    let Credits {
        entries, recovered, ..
    } = credits;
    findings.add_recovered(recovered);
    for ((at, kind, owner), (sessions, messages, signal)) in entries {
        let pos = findings
            .key_theft
            .iter()
            .position(|e| e.at == at && e.kind == kind && e.owner == owner);
        let e = match pos {
            Some(p) => &mut findings.key_theft[p],
            None => {
                findings.key_theft.push(TheftExposure {
                    at,
                    kind,
                    owner,
                    sessions: 0,
                    messages: Vec::new(),
                    signal: None,
                });
                let last = findings.key_theft.len() - 1;
                &mut findings.key_theft[last]
            }
        };
        e.sessions += sessions.len();
        e.messages.extend(messages);
        e.messages.sort();
        e.messages.dedup();
        e.signal = Some(signal);
    }
    findings
        .key_theft
        .sort_by(|a, b| (a.at, &a.kind, &a.owner).cmp(&(b.at, &b.kind, &b.owner)));
}
