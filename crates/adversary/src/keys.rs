//! Reading captured end-to-end transcripts with declared capabilities: stolen statics and psks,
//! stolen session state, weak-RNG devices, a quantum computer.
//!
//! The captures hold every end-to-end session that crossed a vantage point in the clear (OTT
//! envelopes: session id, handshake index and protocol, Noise body). For each session this module
//! runs the adversary's own Noise engine ([`crate::engine`]) over the transcript with the keyring
//! it held at each point of its capability timeline:
//!
//! - **time 0**: ephemeral keys recovered by enumerating the seeds of weak-RNG devices
//!   ([`proto::weak`], the public generator, 2^bits candidates matched against captured `e`
//!   keys), and the quantum oracle for every X25519 (never ML-KEM);
//! - **each theft time T**: every static and psk stolen at or before T;
//! - **session state stolen at T**: that session's transport messages, decrypted directly
//!   with the stolen keys ([`crate::engine::transport_decrypt`]).
//!
//! A message counts only when decryption produced its text; each is attributed to the first
//! capability that opened it and recorded as [`Recovered`] with a method naming that capability,
//! and the per-capability totals form [`Findings::key_theft`]. Among the secrets stolen at one
//! time, a message is credited to the one that opens it with what was held before (tried one
//! by one: the responder's static for a message encrypted to it, never the sender's static
//! that cannot open it), or to the few that open it only together, named in one method line.
//!
//! At the end, the messages still sealed in a session some capability bore on are filed under
//! what is still missing with every key held (e.g. the session's ephemeral keys: static keys
//! alone do not open `XX`), in [`Findings::unreadable`] and per message in
//! [`Findings::sealed_messages`]. Retransmissions and copies are
//! deduplicated by bytes; transport nonces are found by trying the unused positions of the
//! direction, so a message missing from the captures does not hide the ones after it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use capture::{Capabilities, Owner, Secret, StolenSecret, X25519Oracle};
use proto::wire::NoiseKind;
use simcore::Timestamp;
use zeroize::Zeroizing;

use crate::engine::{transport_decrypt, Blocked, DhOracle, Engine, Keyring, Premessages};
use crate::findings::TextsRead;
use crate::findings::{Channel, Findings, Recovered, SealedMessage, TheftExposure};
use crate::noise::Protocol;
use crate::observe::Observations;
use crate::sealed::Sealed;

/// The prologue every OTT app of the simulation binds into its handshakes (a public constant of
/// the app, like its protocol name).
pub const OTT_PROLOGUE: &[u8] = b"wiretap-ott-v1";

/// How far past the messages seen a transport nonce is searched.
const NONCE_SLACK: u64 = 16;

/// A first sighting: time and vantage name.
type Seen<'t> = (Timestamp, &'t str);

/// One captured end-to-end session; bodies are borrowed from the observation table.
struct Transcript<'t> {
    initiator: Option<String>,
    parties: (String, String),
    session: u64,
    protocol: Option<String>,
    /// Handshake messages by index (1-based), first sighting.
    handshake: BTreeMap<u8, (Seen<'t>, &'t [u8])>,
    /// Transport messages per sender, distinct bodies in first-seen order.
    transport: BTreeMap<String, Vec<(Seen<'t>, &'t [u8])>>,
}

impl Transcript<'_> {
    fn protocol(&self) -> &str {
        self.protocol.as_deref().unwrap_or("unknown")
    }

    fn responder(&self) -> Option<&str> {
        let i = self.initiator.as_deref()?;
        Some(if self.parties.0 == i {
            &self.parties.1
        } else {
            &self.parties.0
        })
    }

    fn has_party(&self, msisdn: &str) -> bool {
        self.parties.0 == msisdn || self.parties.1 == msisdn
    }
}

/// Groups the clear envelopes of the table (in table order, copies included) into transcripts,
/// keyed by (unordered parties, session id).
fn transcripts<'t>(obs: &'t Observations<'_>) -> Vec<Transcript<'t>> {
    let mut map: BTreeMap<((String, String), u64), Transcript<'t>> = BTreeMap::new();
    let mut seen: BTreeSet<(&str, u64, u8, &[u8])> = BTreeSet::new();
    // Signal-style envelopes are `crate::signal_read`'s.
    for (o, env) in obs.ott_envelopes().filter(|(_, e)| !e.is_signal()) {
        let (time, vantage) = (o.time, obs.vantage_name(o.vantage()));
        let parties = if env.from <= env.to {
            (env.from.to_owned(), env.to.to_owned())
        } else {
            (env.to.to_owned(), env.from.to_owned())
        };
        let t = map
            .entry((parties.clone(), env.session))
            .or_insert_with(|| Transcript {
                initiator: None,
                parties,
                session: env.session,
                protocol: None,
                handshake: BTreeMap::new(),
                transport: BTreeMap::new(),
            });
        if !seen.insert((env.from, env.session, env.index, env.body)) {
            continue;
        }
        match env.kind {
            NoiseKind::Handshake => {
                if env.index == 1 {
                    t.initiator = Some(env.from.to_owned());
                }
                if t.protocol.is_none() && !env.protocol.is_empty() {
                    t.protocol = Some(env.protocol.to_owned());
                }
                t.handshake
                    .entry(env.index)
                    .or_insert(((time, vantage), env.body));
            }
            NoiseKind::Transport => t
                .transport
                .entry(env.from.to_owned())
                .or_default()
                .push(((time, vantage), env.body)),
        }
    }
    map.into_values().collect()
}

/// A message read from a transcript: (handshake index or transport position key, sighting, text).
type Read<'t> = (MessageId, Seen<'t>, String);

/// Identifies a message within its transcript.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum MessageId {
    Handshake(u8),
    Transport(String, usize),
}

/// Decrypts one direction's transport messages with `key`, searching nonces.
fn decrypt_direction<'t>(
    cipher: &str,
    key: &[u8; 32],
    msgs: &[(Seen<'t>, &'t [u8])],
    sender: &str,
) -> Vec<Read<'t>> {
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    let limit = msgs.len() as u64 + NONCE_SLACK;
    for (pos, (seen, body)) in msgs.iter().enumerate() {
        let expected = pos as u64;
        let candidates = core::iter::once(expected).chain((0..limit).filter(|n| *n != expected));
        for n in candidates {
            if used.contains(&n) {
                continue;
            }
            if let Ok(p) = transport_decrypt(cipher, key, n, body) {
                used.insert(n);
                if let Ok(text) = String::from_utf8(p) {
                    if !text.is_empty() {
                        out.push((MessageId::Transport(sender.to_owned(), pos), *seen, text));
                    }
                }
                break;
            }
        }
    }
    out
}

fn cipher_of(protocol: &str) -> &str {
    protocol.split('_').nth(3).unwrap_or("")
}

/// Everything readable in `t` with `keys` (and the pair's psk, if held).
fn read_with_keys<'t>(
    t: &Transcript<'t>,
    keys: &Keyring,
    psk: Option<[u8; 32]>,
    directory: &BTreeMap<String, [u8; 32]>,
) -> Vec<Read<'t>> {
    let (Some(protocol), Some(initiator), Some(responder)) =
        (t.protocol.as_deref(), t.initiator.as_deref(), t.responder())
    else {
        return Vec::new();
    };
    let pre = Premessages {
        initiator_static: directory.get(initiator).copied(),
        responder_static: directory.get(responder).copied(),
    };
    let Ok(mut engine) = Engine::new(protocol, OTT_PROLOGUE, &pre, psk) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut index = 1u8;
    while !engine.handshake_finished() {
        let (Some(role), Some((seen, body))) =
            (engine.next_handshake_sender(), t.handshake.get(&index))
        else {
            return out;
        };
        match engine.read(role, body, keys) {
            Ok(o) => {
                if let Some(p) = o.payload {
                    if let Ok(text) = String::from_utf8(p) {
                        if !text.is_empty() {
                            out.push((MessageId::Handshake(index), *seen, text));
                        }
                    }
                }
                if o.blocked.is_some() {
                    return out;
                }
            }
            Err(_) => return out,
        }
        index = index.saturating_add(1);
    }
    if let Some([i2r, r2i]) = engine.transport_keys() {
        let cipher = cipher_of(protocol);
        for (sender, key) in [(initiator, &i2r), (responder, &r2i)] {
            if let Some(msgs) = t.transport.get(sender) {
                out.extend(decrypt_direction(cipher, key, msgs, sender));
            }
        }
    }
    out
}

/// The capability oracle as the engine's [`DhOracle`].
struct Quantum(Arc<dyn X25519Oracle>);

impl DhOracle for Quantum {
    fn dh(&self, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
        self.0.x25519(a, b)
    }
}

/// Ephemeral private keys of weak-RNG devices, found by enumerating their possible seeds and
/// matching the captured `e` keys (the first 32 bytes of each party's first handshake message).
fn weak_ephemerals(caps: &Capabilities, ts: &[Transcript<'_>]) -> Vec<Zeroizing<[u8; 32]>> {
    let bits: BTreeSet<u8> = caps
        .weak_rng
        .iter()
        .map(|w| w.entropy_bits.min(24))
        .collect();
    let Some(&max) = bits.iter().max() else {
        return Vec::new();
    };
    let captured: BTreeSet<[u8; 32]> = ts
        .iter()
        .flat_map(|t| t.handshake.iter().filter(|(i, _)| **i <= 2))
        .filter_map(|(_, (_, body))| body.get(..32)?.try_into().ok())
        .collect();
    let mut found = Vec::new();
    // Every seed of fewer bits is also a seed of `max` bits: one enumeration serves all.
    for entropy in 0..(1u32 << max) {
        let seed = proto::weak::weak_session_seed(entropy);
        let private = proto::weak::ephemeral_private(seed, 0);
        let public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*private)).to_bytes();
        if captured.contains(&public) {
            found.push(private);
        }
    }
    found
}

fn human(at: Timestamp) -> String {
    let s = at.as_nanos() / 1_000_000_000;
    match s {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn owner_msisdn(o: &Owner) -> Option<&str> {
    match o {
        Owner::Subscriber(m) => Some(m),
        _ => None,
    }
}

/// Attribution key of an exposure: (time, kind, owner).
type ExposureKey = (Timestamp, String, Option<Owner>);

/// What one capability opened: sessions `(party, session id)` and `(protocol, text)` messages.
type Opened = (BTreeSet<(String, u64)>, BTreeSet<(String, String)>);

/// Accumulates what each capability opened.
#[derive(Default)]
struct Timeline<'p> {
    entries: BTreeMap<ExposureKey, Opened>,
    /// Messages already read, by (parties, session, message id).
    read: BTreeSet<((String, String), u64, MessageId)>,
    /// Texts known before (passive) or read so far.
    texts: TextsRead<'p>,
    recovered: Vec<Recovered>,
}

impl Timeline<'_> {
    fn entry(&mut self, key: ExposureKey) {
        self.entries.entry(key).or_default();
    }

    fn credit(
        &mut self,
        key: &ExposureKey,
        method: &str,
        t: &Transcript<'_>,
        reads: Vec<Read<'_>>,
    ) {
        for (id, (time, vantage), text) in reads {
            if !self.read.insert((t.parties.clone(), t.session, id.clone())) {
                continue;
            }
            if !self.texts.first_read(&text) {
                // Already read (in clear, or by an earlier capability): not this one's doing.
                continue;
            }
            let e = self.entries.entry(key.clone()).or_default();
            e.0.insert((t.parties.0.clone(), t.session));
            e.1.insert((t.protocol().to_owned(), text.clone()));
            let from = match &id {
                MessageId::Handshake(i) if i % 2 == 1 => t.initiator.clone(),
                MessageId::Handshake(_) => t.responder().map(str::to_owned),
                MessageId::Transport(sender, _) => Some(sender.clone()),
            };
            let to = from.as_deref().map(|f| {
                if t.parties.0 == f {
                    t.parties.1.clone()
                } else {
                    t.parties.0.clone()
                }
            });
            {
                self.recovered.push(Recovered {
                    text,
                    from: from.map(Arc::from),
                    to: to.map(Arc::from),
                    channel: Channel::Ott {
                        protocol: t.protocol().to_owned(),
                    },
                    first_seen: time,
                    seen_at: Arc::from([Arc::from(vantage)]),
                    method: Arc::from(method),
                });
            }
        }
    }
}

/// The pre-shared key of `t`'s two parties among `psks`, if held.
fn psk_for(psks: &[(&StolenSecret, [u8; 32])], t: &Transcript<'_>) -> Option<[u8; 32]> {
    psks.iter().find_map(|(s, k)| match &s.secret {
        Secret::Psk { peer, .. } => {
            let a = owner_msisdn(&s.owner)?;
            let b = owner_msisdn(peer)?;
            (t.has_party(a) && t.has_party(b)).then_some(*k)
        }
        _ => None,
    })
}

/// `s` named for a method line: "static of subscriber +1202… (the responder)".
fn secret_name(t: &Transcript<'_>, s: &StolenSecret) -> String {
    let role = match owner_msisdn(&s.owner) {
        Some(m) if t.initiator.as_deref() == Some(m) => " (the initiator)",
        Some(m) if t.responder() == Some(m) => " (the responder)",
        _ => "",
    };
    format!("{} of {}{role}", s.secret.kind(), s.owner)
}

/// Credits `reads` (what `t` yields with every key held at `at`) to the secrets stolen at `at`
/// that open them: each message to the one secret that opens it together with what was held
/// before (`before`, `psks_before`), e.g. the responder's static for a K-pattern message to
/// it, never a secret that cannot (the sender's static does not open a message encrypted to
/// the responder's static). Messages that open only with several of them together are credited
/// to all of them, named in one method line.
#[allow(clippy::too_many_arguments)]
fn credit_opening_secrets(
    tl: &mut Timeline,
    t: &Transcript<'_>,
    at: Timestamp,
    held_now: &[&StolenSecret],
    before: &Keyring,
    psks_before: &[(&StolenSecret, [u8; 32])],
    reads: Vec<Read<'_>>,
    directory: &BTreeMap<String, [u8; 32]>,
) {
    // Only the secrets of this session's own parties can take part in its key derivation.
    let own: Vec<&StolenSecret> = held_now
        .iter()
        .copied()
        .filter(|s| owner_msisdn(&s.owner).is_some_and(|m| t.has_party(m)))
        .collect();
    let key_of = |s: &StolenSecret| (at, s.secret.kind().to_owned(), Some(s.owner.clone()));
    for s in &own {
        let mut keys = before.clone();
        let mut psks = psks_before.to_vec();
        match &s.secret {
            Secret::Static { private, .. } => {
                keys.add_private(**private);
            }
            Secret::Psk { psk, .. } => psks.push((s, **psk)),
            Secret::SessionState { .. } | Secret::SignalState(_) => continue,
        }
        let alone = read_with_keys(t, &keys, psk_for(&psks, t), directory);
        if !alone.is_empty() {
            let method = format!("stolen {} at {}", secret_name(t, s), human(at));
            tl.credit(&key_of(s), &method, t, alone);
        }
    }
    // The rest needs several of this time's secrets together (`credit` skips what is read).
    let together: Vec<&StolenSecret> = if own.is_empty() {
        held_now.to_vec()
    } else {
        own
    };
    let Some(first) = together.first() else {
        return;
    };
    let names: Vec<String> = together.iter().map(|s| secret_name(t, s)).collect();
    let method = format!("stolen {} together at {}", names.join(" and "), human(at));
    tl.credit(&key_of(first), &method, t, reads);
}

/// A sealed message of `t` sent by `from`.
fn sealed_message(
    t: &Transcript<'_>,
    from: Option<&str>,
    first_seen: Timestamp,
    reason: &str,
) -> SealedMessage {
    let from = from.unwrap_or_default().to_owned();
    let to = if t.parties.0 == from {
        t.parties.1.clone()
    } else {
        t.parties.0.clone()
    };
    SealedMessage {
        from,
        to,
        first_seen,
        reason: reason.to_owned(),
    }
}

/// Whether stolen secret `s` belongs to a party of `t` (or, for a session state, to `t`).
fn bears_on(s: &StolenSecret, t: &Transcript<'_>) -> bool {
    let party = owner_msisdn(&s.owner).is_some_and(|m| t.has_party(m));
    match &s.secret {
        Secret::Static { .. } | Secret::Psk { .. } => party,
        Secret::SessionState { session, .. } => party && *session == t.session,
        Secret::SignalState(_) => false,
    }
}

/// What a sealed message of a Noise `pattern` still needs when derivation stopped at `b`
/// (wording after the payload security properties of the Noise specification, rev 34 §7.7:
/// a payload encrypted after `ee` has forward secrecy, one encrypted only to the recipient's
/// static key falls to that key).
fn still_needs(pattern: &str, b: &Blocked) -> String {
    let lead = "with every key the adversary holds, still sealed";
    match b {
        Blocked::MissingDh { message, token, .. } => {
            let what = match *token {
                "ee" => format!(
                    "the ephemeral keys of the session (either ephemeral private key): static \
                     keys alone do not open {pattern} (forward secrecy)"
                ),
                "es" => "the responder's static or the initiator's ephemeral private key".into(),
                "se" => "the initiator's static or the responder's ephemeral private key".into(),
                _ => "the static private key of either party".into(),
            };
            format!("{lead}: DH {token} of handshake message {message} needs {what}")
        }
        Blocked::MissingPsk { message } => format!(
            "{lead}: the pre-shared key (psk token of handshake message {message}) is not held"
        ),
        Blocked::MissingKemSecret { message } => format!(
            "{lead}: the initiator's ML-KEM decapsulation key (ekem1 of handshake message \
             {message}) is not held; X25519 keys or a DH oracle do not open it"
        ),
        Blocked::EarlierBlock => format!("{lead}: key derivation stopped at an earlier message"),
    }
}

/// Why the messages of `t` stay sealed with `keys` (and `psk`): per handshake index `None`
/// when its payload decrypts, else the reason; and the reason for its transport messages.
fn sealed_reasons(
    t: &Transcript<'_>,
    keys: &Keyring,
    psk: Option<[u8; 32]>,
    directory: &BTreeMap<String, [u8; 32]>,
) -> (BTreeMap<u8, Option<String>>, String) {
    let mut hs: BTreeMap<u8, Option<String>> = BTreeMap::new();
    let (Some(protocol), Some(initiator), Some(responder)) =
        (t.protocol.as_deref(), t.initiator.as_deref(), t.responder())
    else {
        let r = "the session's first handshake message was not captured: no key can be derived";
        for i in t.handshake.keys() {
            hs.insert(*i, Some(r.to_owned()));
        }
        return (hs, r.to_owned());
    };
    let pattern = protocol.split('_').nth(1).unwrap_or(protocol);
    let pre = Premessages {
        initiator_static: directory.get(initiator).copied(),
        responder_static: directory.get(responder).copied(),
    };
    let mut engine = match Engine::new(protocol, OTT_PROLOGUE, &pre, psk) {
        Ok(e) => e,
        Err(e) => {
            let r = format!("the adversary's engine does not run {protocol}: {e}");
            for i in t.handshake.keys() {
                hs.insert(*i, Some(r.clone()));
            }
            return (hs, r);
        }
    };
    let mut stop: Option<String> = None;
    let mut index = 1u8;
    while !engine.handshake_finished() {
        let (Some(role), Some((_, body))) =
            (engine.next_handshake_sender(), t.handshake.get(&index))
        else {
            stop = Some(format!(
                "handshake message {index} was not captured: the keys after it cannot be derived"
            ));
            break;
        };
        match engine.read(role, body, keys) {
            Ok(o) => {
                let reason = match (&o.payload, engine.blocked()) {
                    (Some(_), _) => None,
                    (None, Some(b)) => Some(still_needs(pattern, b)),
                    (None, None) => Some(still_needs(pattern, &Blocked::EarlierBlock)),
                };
                hs.insert(index, reason);
            }
            Err(e) => {
                stop = Some(format!("handshake message {index} does not verify: {e}"));
                break;
            }
        }
        index = index.saturating_add(1);
    }
    let transport = match (stop, engine.blocked()) {
        (Some(s), _) => s,
        (None, Some(b)) => still_needs(pattern, b),
        (None, None) => "transport keys derived, but no nonce within reach opens it".to_owned(),
    };
    for i in t.handshake.keys() {
        hs.entry(*i).or_insert_with(|| Some(transport.clone()));
    }
    (hs, transport)
}

/// Adds to `findings` everything `caps` makes readable in the captures of `obs`.
pub(crate) fn analyze<'t>(
    findings: &mut Findings,
    obs: &'t Observations<'_>,
    caps: &Capabilities,
    sealed: &mut Sealed<'t>,
) {
    let ts = transcripts(obs);
    let directory: BTreeMap<String, [u8; 32]> = caps
        .directory
        .iter()
        .filter_map(|d| owner_msisdn(&d.owner).map(|m| (m.to_owned(), d.public)))
        .collect();
    let mut tl = Timeline {
        texts: TextsRead::new(&findings.recovered),
        ..Timeline::default()
    };

    // No secret at all: what the engine derives from public values alone. That covers payloads
    // sent before any DH and, in psk patterns whose psk comes late (`NNpsk2`, `XXpsk3`),
    // payloads snow encrypts under keys mixed only from public ephemerals. Not a capability:
    // the passive adversary's own reading, so it gets no timeline entry.
    let public_only: ExposureKey = (Timestamp::ZERO, "public-values".to_owned(), None);
    for t in &ts {
        let reads = read_with_keys(t, &Keyring::new(), None, &directory);
        tl.credit(
            &public_only,
            "Noise keys derived from public values only (no secret needed)",
            t,
            reads,
        );
    }
    tl.entries.remove(&public_only);

    // Time 0: weak RNG and quantum.
    let mut base = Keyring::new();
    let weak = weak_ephemerals(caps, &ts);
    for k in &weak {
        base.add_private(**k);
    }
    if !caps.weak_rng.is_empty() {
        let key = (Timestamp::ZERO, "weak-rng".to_owned(), None);
        tl.entry(key.clone());
        if !weak.is_empty() {
            for t in &ts {
                let reads = read_with_keys(t, &base, None, &directory);
                tl.credit(&key, "weak RNG: ephemeral key enumerated", t, reads);
            }
        }
    }
    if let Some(oracle) = &caps.quantum {
        base.set_oracle(Arc::new(Quantum(oracle.clone())));
        let key = (Timestamp::ZERO, "quantum".to_owned(), None);
        tl.entry(key.clone());
        for t in &ts {
            let reads = read_with_keys(t, &base, None, &directory);
            tl.credit(&key, "quantum: X25519 from public keys", t, reads);
        }
    }

    // Thefts, in time order.
    let mut times: Vec<Timestamp> = caps.stolen.iter().map(|s| s.at).collect();
    times.sort();
    times.dedup();
    let mut keys = base;
    let mut psks: Vec<(&StolenSecret, [u8; 32])> = Vec::new();
    for at in times {
        let now: Vec<&StolenSecret> = caps.stolen.iter().filter(|s| s.at == at).collect();
        // What was held before this time: a message that opens only with one of the secrets
        // stolen now is credited to that secret.
        let before = keys.clone();
        let psks_before = psks.clone();
        for s in &now {
            tl.entry((at, s.secret.kind().to_owned(), Some(s.owner.clone())));
            match &s.secret {
                Secret::Static { private, .. } => {
                    keys.add_private(**private);
                }
                Secret::Psk { psk, .. } => psks.push((s, **psk)),
                // Signal device state is read by `crate::signal_read`.
                Secret::SessionState { .. } | Secret::SignalState(_) => {}
            }
        }
        let held_now: Vec<&StolenSecret> = now
            .iter()
            .copied()
            .filter(|s| matches!(s.secret, Secret::Static { .. } | Secret::Psk { .. }))
            .collect();
        if !held_now.is_empty() {
            for t in &ts {
                let reads = read_with_keys(t, &keys, psk_for(&psks, t), &directory);
                if reads.is_empty() {
                    continue;
                }
                credit_opening_secrets(
                    &mut tl,
                    t,
                    at,
                    &held_now,
                    &before,
                    &psks_before,
                    reads,
                    &directory,
                );
            }
        }
        for s in &now {
            let Secret::SessionState {
                session,
                initiator_to_responder,
                responder_to_initiator,
                ..
            } = &s.secret
            else {
                continue;
            };
            let Some(me) = owner_msisdn(&s.owner) else {
                continue;
            };
            for t in ts
                .iter()
                .filter(|t| t.session == *session && t.has_party(me))
            {
                let (Some(protocol), Some(initiator), Some(responder)) =
                    (t.protocol.as_deref(), t.initiator.as_deref(), t.responder())
                else {
                    continue;
                };
                let cipher = cipher_of(protocol);
                let mut reads = Vec::new();
                if let Some(m) = t.transport.get(initiator) {
                    reads.extend(decrypt_direction(
                        cipher,
                        initiator_to_responder,
                        m,
                        initiator,
                    ));
                }
                if let (Some(k), Some(m)) = (responder_to_initiator, t.transport.get(responder)) {
                    reads.extend(decrypt_direction(cipher, k, m, responder));
                }
                let key = (at, "session-state".to_owned(), Some(s.owner.clone()));
                let method = format!(
                    "session state of {} stolen at {}: the session's transport keys",
                    s.owner,
                    human(at)
                );
                tl.credit(&key, &method, t, reads);
            }
        }
    }

    // What stayed sealed: opened messages leave the passive table; the unread messages of a
    // session some capability bore on are filed under what is still missing with everything
    // held at the end (the other sessions keep the passive reading's reasons).
    let quantum_or_weak = caps.quantum.is_some() || !weak.is_empty();
    let mut sealed_messages = Vec::new();
    for t in &ts {
        let parties = &t.parties;
        let opened = |id: &MessageId| tl.read.contains(&(parties.clone(), t.session, id.clone()));
        let relevant = quantum_or_weak || caps.stolen.iter().any(|s| bears_on(s, t));
        let reasons = relevant.then(|| sealed_reasons(t, &keys, psk_for(&psks, t), &directory));
        let parsed = t.protocol.as_deref().and_then(|p| Protocol::parse(p).ok());
        for (i, ((time, _), body)) in &t.handshake {
            let id = MessageId::Handshake(*i);
            match reasons.as_ref().map(|(hs, _)| hs.get(i)) {
                _ if opened(&id) => sealed.opened(body),
                Some(Some(None)) => sealed.opened(body),
                Some(Some(Some(reason))) => {
                    sealed.refile(body, reason.clone());
                    // A handshake message is a message only if it carries a payload.
                    let empty = parsed
                        .as_ref()
                        .and_then(|p| p.message_len(usize::from(*i), 0));
                    if empty.is_some_and(|n| body.len() > n) {
                        let from = if i % 2 == 1 {
                            t.initiator.as_deref()
                        } else {
                            t.responder()
                        };
                        sealed_messages.push(sealed_message(t, from, *time, reason));
                    }
                }
                Some(None) | None => {}
            }
        }
        for (sender, msgs) in &t.transport {
            for (pos, ((time, _), body)) in msgs.iter().enumerate() {
                if opened(&MessageId::Transport(sender.clone(), pos)) {
                    sealed.opened(body);
                } else if let Some((_, reason)) = &reasons {
                    sealed.refile(body, reason.clone());
                    sealed_messages.push(sealed_message(t, Some(sender), *time, reason));
                }
            }
        }
    }
    sealed_messages
        .sort_by(|a, b| (a.first_seen, &a.from, &a.to).cmp(&(b.first_seen, &b.from, &b.to)));
    findings.sealed_messages = sealed_messages;

    let Timeline {
        entries, recovered, ..
    } = tl;
    findings.add_recovered(recovered);
    findings.key_theft = entries
        .into_iter()
        .map(|((at, kind, owner), (sessions, messages))| TheftExposure {
            at,
            kind,
            owner,
            sessions: sessions.len(),
            messages: messages.into_iter().collect(),
            signal: None,
        })
        .collect();
}
