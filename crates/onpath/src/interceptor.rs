//! The adversary's active component at a carrier's core router: one [`Interceptor`] per core
//! node that carries out every `[[adversary.onpath]]` entry of that carrier.
//!
//! **Honest adversary.** The component sees only the datagrams crossing the core and its
//! [`OnPathBrief`]: the target list (the MSISDNs and addresses of the app's subscribers, which an
//! insider reads from the carrier's own subscriber database), the carrier's numbering plan and
//! subscriber address block, the public key directory, the apps' public prologue, and its own
//! seed. It never reads ground truth or endpoint state (this crate cannot: it does not depend on
//! the simulator); its Noise work is done by [`adversary::engine::Engine`], which can only compute
//! a Diffie-Hellman when it holds one of the two private keys.
//!
//! **Which flows.** End-to-end sessions travel as `OttEnvelope`s inside reliable-layer DATA
//! frames between a subscriber and the OTT server. An envelope from `A` to `B` crosses the core
//! of `A`'s carrier on the uplink (`A` → server) and of `B`'s carrier on the downlink. The hook
//! acts on an envelope once: on the uplink of a local subscriber, or on the downlink when the
//! sender is not a local number. A session is targeted when an endpoint is on an entry's target
//! list, it is first seen at or after the entry's `from`, and a seeded draw falls under `share`
//! (decided at its first sighting, in packet order, so the run stays deterministic). Apps with a
//! server tunnel show the core only Noise_NK tunnel records to the OTT server: the session layer
//! is out of reach, which is recorded as such (a man in the middle tries the tunnel handshake
//! and is blocked at `es`, because the client knows the server key as a pre-message).
//!
//! **Modes.** `drop` drops every `drop_every`-th envelope of the session (all of them by
//! default): `delete` removes the frame and acknowledges it to the sender (below), `once` holds
//! its first transmission back unacknowledged so the sender's reliable layer resends it and the
//! resend passes, `always` holds back every transmission; `tamper` flips one byte of its first
//! transport message; `replay` sends its first transport message again; `replay-0rtt` sends its
//! handshake message 1 (with any early data) again after it, under a fresh session id with
//! [`REPLAY_SESSION_BIT`] set, so the responder takes it for a new session (the session id is
//! not bound into the handshake), and leaves the sessions so marked alone; `inject` sends a
//! forged transport message (a payload encrypted under a key the adversary made up); `mitm`
//! answers each side's handshake itself (responder toward the initiator, initiator toward the
//! responder) and re-encrypts every message, reading the plaintext. Signal envelopes carry no
//! session id: a non-`mitm` attack on them is recorded per (sender, recipient) pair.
//!
//! **The reliable layer.** Frames are numbered per hop and retransmitted until acknowledged. A
//! replaced message keeps its frame's sequence number, and the replacement is cached per
//! `(flow, seq)` so a retransmission gets identical bytes. Injection and deletion renumber the
//! flow, as a TCP man in the middle does: an injected frame takes the next number and every
//! later frame of the sender shifts up by one, a deleted frame is acknowledged to the sender
//! by a forged ACK and every later frame shifts down; ACKs coming back are mapped to the
//! sender's numbering. Injected frames are resent (on any later packet of the flow) until
//! acknowledged. Bytes that do not parse are passed on untouched and counted.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use adversary::engine::{Blocked, Engine, EngineError, Keyring, Premessages, Role};
use capture::active::{
    AttackFacts, DropHow, DropPlan, Interceptor as Component, OnPathBrief, OnPathOrder, Verdict,
};
use capture::{ActiveRecord, OnPathMode, Secret, StolenSecret};
use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, TunnelPdu, FRAME_PORT};
use rand_core::RngCore;
use simcore::{Duration, SimRng, Timestamp};
use zeroize::Zeroizing;

use crate::signal_mitm;

/// `replay-0rtt`: the bit set in a replayed first message's session id, so that the fresh
/// session is one no endpoint has used (session ids count up from 0 in their low 32 bits) and the
/// component recognises its own replays and leaves them alone.
pub(crate) const REPLAY_SESSION_BIT: u64 = 1 << 31;

/// An injected frame is sent again after this long without an acknowledgement.
const INJECT_RTO: Duration = Duration::from_secs(2);

/// The forged plaintext of `inject` mode.
pub(crate) const FORGED_TEXT: &str = "wiretap: forged on path — please call +15550100 now";

/// What the adversary's on-path component did to one session or flow: the facts the ground
/// truth needs ([`AttackFacts`]), plus its own log, which becomes a [`capture::ActiveRecord`].
#[derive(Clone, Debug)]
pub(crate) struct Attack {
    /// Entry, mode, app, session or pair, first sighting, whether it acted, frames deleted.
    pub facts: AttackFacts,
    /// Frames injected (first transmissions).
    pub injected: u64,
    /// Messages replaced.
    pub replaced: u64,
    /// Plaintexts the component decrypted itself (mitm), in order.
    pub plaintexts: Vec<Vec<u8>>,
    /// Its account of the outcome.
    pub outcome: String,
}

impl Attack {
    /// An attack by order `spec` on a session (`session`) or Signal pair (`pair`), first seen
    /// at `at`, that has not acted yet.
    pub(crate) fn new(
        spec: &OnPathOrder,
        session: Option<u64>,
        pair: Option<(String, String)>,
        at: Timestamp,
        outcome: String,
    ) -> Attack {
        Attack {
            facts: AttackFacts {
                entry: spec.entry,
                mode: spec.mode,
                app: spec.app.clone(),
                session,
                pair,
                at,
                acted: false,
                dropped: 0,
                transmissions_dropped: 0,
                passed_after_drop: 0,
                replayed_session: None,
            },
            injected: 0,
            replaced: 0,
            plaintexts: Vec::new(),
            outcome,
        }
    }
}

/// Everything the core's on-path component recorded: its own log.
#[derive(Debug, Default)]
pub(crate) struct OnPathLog {
    /// The node name, e.g. `"east.core"`.
    pub node: String,
    /// One entry per attacked session or flow, in order of first sighting.
    pub attacks: Vec<Attack>,
    /// Frames or PDUs the component could not parse (passed on untouched).
    pub parse_errors: u64,
    /// Device states stolen and not yet taken in (see [`signal_mitm`]).
    pub stolen: Vec<signal_mitm::StolenDevice>,
}

impl OnPathLog {
    /// The adversary's view: one [`ActiveRecord`] per attack.
    fn records(&self) -> Vec<ActiveRecord> {
        self.attacks
            .iter()
            .map(|a| ActiveRecord {
                at: a.facts.at,
                mode: a.facts.mode.as_str().to_string(),
                node: self.node.clone(),
                session: a.facts.session,
                plaintexts: a.plaintexts.clone(),
                outcome: a.outcome.clone(),
            })
            .collect()
    }

    /// What each attack concerned, for the ground truth.
    fn facts(&self) -> Vec<AttackFacts> {
        self.attacks.iter().map(|a| a.facts.clone()).collect()
    }
}

/// Sequence-number translation of one direction of one hop (sender → receiver), once frames
/// have been injected into it or deleted from it. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct SeqMap {
    /// `(first sender seq, offset)`: from that sender seq on, receiver seq = sender seq + offset.
    pub(crate) changes: Vec<(u32, i64)>,
    /// Highest sender seq seen.
    pub(crate) max_seen: Option<u32>,
    /// Every sender seq below this one has been seen.
    pub(crate) contig: u32,
    /// Sender seqs seen at or above `contig`.
    pub(crate) pending: BTreeSet<u32>,
    /// The flow carries an attacked session: frames are taken strictly in order (a frame
    /// after a gap is dropped, and the sender retransmits it once the gap has filled).
    pub(crate) guarded: bool,
    /// Sender seqs deleted.
    pub(crate) deleted: BTreeSet<u32>,
    /// Injected frames by receiver seq.
    injected: BTreeMap<u32, Injected>,
    /// Receiver seq → sender seq of forwarded frames.
    pub(crate) back: BTreeMap<u32, u32>,
    /// Highest cumulative acknowledgement passed back to the sender (sender numbering).
    pub(crate) cum_to_sender: u32,
}

#[derive(Debug)]
struct Injected {
    /// The whole IPv4 datagram.
    packet: Vec<u8>,
    sent_at: Timestamp,
    acked: bool,
}

impl SeqMap {
    fn offset(&self) -> i64 {
        self.changes.last().map_or(0, |c| c.1)
    }

    fn offset_at(&self, s: u32) -> i64 {
        self.changes
            .iter()
            .rev()
            .find(|c| c.0 <= s)
            .map_or(0, |c| c.1)
    }

    fn modified(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Whether `s` is the head of the flow: every earlier frame seen, no later one (only then
    /// may frames be inserted or deleted).
    fn in_order(&self, s: u32) -> bool {
        s == self.contig && self.max_seen.is_none_or(|m| s == m.wrapping_add(1))
    }

    /// Whether `s` has not been seen before.
    fn is_new(&self, s: u32) -> bool {
        s >= self.contig && !self.pending.contains(&s)
    }

    fn note(&mut self, s: u32) {
        self.max_seen = Some(self.max_seen.map_or(s, |m| m.max(s)));
        if s >= self.contig {
            self.pending.insert(s);
        }
        while self.pending.remove(&self.contig) {
            self.contig = self.contig.wrapping_add(1);
        }
    }

    /// The receiver seq of sender seq `s`.
    fn map(&mut self, s: u32) -> Option<u32> {
        let r = u32::try_from(i64::from(s) + self.offset_at(s)).ok()?;
        if self.modified() {
            self.back.insert(r, s);
        }
        Some(r)
    }

    fn delete(&mut self, s: u32) {
        self.deleted.insert(s);
        let o = self.offset() - 1;
        self.changes.push((s.wrapping_add(1), o));
    }

    /// Makes room after sender seq `s`; returns the injected frame's receiver seq.
    fn insert_after(&mut self, s: u32) -> Option<u32> {
        let o = self.offset();
        let r = u32::try_from(i64::from(s) + 1 + o).ok()?;
        self.changes.push((s.wrapping_add(1), o + 1));
        Some(r)
    }

    /// The sender's `next_expected` for a receiver's cumulative `n`: the first sender seq that
    /// is neither deleted nor mapped below `n`.
    fn sender_next(&self, n: u32) -> u32 {
        let n = i64::from(n);
        let mut bounds: Vec<(i64, i64)> = vec![(0, 0)];
        bounds.extend(self.changes.iter().map(|c| (i64::from(c.0), c.1)));
        for (i, &(lo, o)) in bounds.iter().enumerate() {
            let hi = bounds.get(i + 1).map_or(i64::MAX, |b| b.0);
            let mut s = lo.max(n - o).max(0);
            while s < hi && u32::try_from(s).is_ok_and(|x| self.deleted.contains(&x)) {
                s += 1;
            }
            if s < hi {
                return u32::try_from(s).unwrap_or(u32::MAX);
            }
        }
        u32::MAX
    }
}

/// The adversary's man-in-the-middle state for one session.
struct Mitm {
    /// Toward the initiator: the adversary plays the responder.
    to_initiator: Engine,
    /// Toward the responder: the adversary plays the initiator.
    to_responder: Engine,
    keys: Keyring,
}

/// One session as the hook tracks it.
struct Session {
    initiator: String,
    /// Index in the log's `attacks`, when targeted.
    attack: Option<usize>,
    spec: usize,
    /// One-shot modes: done.
    done: bool,
    /// mitm gave up: pass everything on.
    aborted: bool,
    /// drop: envelopes of the session counted so far (first transmissions on the acting leg).
    seen: u32,
    mitm: Option<Box<Mitm>>,
}

/// What to do with one DATA frame.
pub(crate) enum Act {
    Forward(Vec<u8>),
    /// Forward (possibly replaced) and inject these PDUs right after it.
    ForwardThen(Vec<u8>, Vec<Vec<u8>>),
    Delete,
    /// Drop without a trace (a frame after a gap on a guarded flow): the sender resends it.
    Hold,
}

/// Where a DATA frame stands in its flow.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    /// The flow (sender, receiver).
    pub(crate) flow: (Ipv4Addr, Ipv4Addr),
    /// First sighting of this sequence number.
    pub(crate) new: bool,
    /// An earlier frame has not been seen yet.
    pub(crate) gap: bool,
    /// Head of the flow: frames may be inserted or deleted here.
    pub(crate) head: bool,
    /// The frame's sender sequence number.
    pub(crate) seq: u32,
}

/// The core's on-path component: a sans-IO machine behind [`capture::active::Interceptor`].
pub struct Interceptor {
    pub(crate) brief: OnPathBrief,
    pub(crate) own_public: [u8; 32],
    pub(crate) own_private: Zeroizing<[u8; 32]>,
    pub(crate) rng: SimRng,
    sessions: BTreeMap<(u64, String, String), Session>,
    /// Tunnelled flows already judged, by subscriber address.
    pub(crate) tunnels: BTreeSet<Ipv4Addr>,
    pub(crate) links: BTreeMap<(Ipv4Addr, Ipv4Addr), SeqMap>,
    /// Signal sessions taken over with stolen device state.
    pub(crate) signal: signal_mitm::SignalMitm,
    /// Replacement DATA payloads by (src, dst, sender seq): `None` = deleted.
    pub(crate) cache: BTreeMap<(Ipv4Addr, Ipv4Addr, u32), Option<Vec<u8>>>,
    /// Datagrams to send from the node, in order.
    pub(crate) outbox: VecDeque<Vec<u8>>,
    /// drop with `once` / `always`: frames chosen for dropping, by (src, dst, sender seq), and
    /// the attack they belong to.
    held: BTreeMap<(Ipv4Addr, Ipv4Addr, u32), Option<usize>>,
    pub(crate) log: OnPathLog,
}

/// Why a man in the middle stops attacking a session (its words go into the attack's outcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The handshake names a protocol the adversary's pattern table does not know.
    #[error("unknown protocol: {0}")]
    UnknownProtocol(String),
    /// The engine refused or could not go on (a missing DH, a bad tag, a malformed message).
    #[error("{}", engine_error_text(.0))]
    Engine(EngineError),
    /// A message's keys need a Diffie-Hellman the adversary cannot compute.
    #[error("{}", blocked_text(.0))]
    Blocked(Blocked),
    /// A message carried no payload to re-encrypt.
    #[error("no payload")]
    NoPayload,
}

/// The component's account of a drop attack so far.
fn drop_outcome(a: &Attack, plan: DropPlan) -> String {
    let n = plan.every;
    let which = if n <= 1 {
        "every envelope".to_owned()
    } else {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("every {n}{suffix} envelope")
    };
    match plan.how {
        DropHow::Delete => format!(
            "dropped {which}: {} frame(s) deleted and acknowledged to the sender",
            a.facts.dropped
        ),
        DropHow::Once => format!(
            "dropped {which} once: {} frame(s) held back, {} let through on retransmission",
            a.facts.dropped, a.facts.passed_after_drop
        ),
        DropHow::Always => format!(
            "dropped {which} and every retransmission of it: {} frame(s), {} transmissions",
            a.facts.dropped, a.facts.transmissions_dropped
        ),
    }
}

fn blocked_text(b: &Blocked) -> String {
    match b {
        Blocked::MissingDh { token, .. } => format!("could not compute {token}: {b}"),
        b => format!("blocked: {b}"),
    }
}

fn engine_error_text(e: &EngineError) -> String {
    match e {
        EngineError::Blocked(b) => blocked_text(b),
        e => format!("engine error: {e}"),
    }
}

impl Interceptor {
    /// A component for the node and orders of `brief`; its static key and draws come from the
    /// brief's seed.
    pub fn new(brief: OnPathBrief) -> Self {
        let own = brief.seeds.child("static").key();
        let own_private = Zeroizing::new(own);
        let own_public = Keyring::new().add_private(own);
        let rng = brief.seeds.stream("draws");
        let log = OnPathLog {
            node: brief.node.clone(),
            ..Default::default()
        };
        Interceptor {
            brief,
            own_public,
            own_private,
            rng,
            sessions: BTreeMap::new(),
            tunnels: BTreeSet::new(),
            links: BTreeMap::new(),
            signal: signal_mitm::SignalMitm::default(),
            cache: BTreeMap::new(),
            outbox: VecDeque::new(),
            held: BTreeMap::new(),
            log,
        }
    }

    pub(crate) fn parse_error(&mut self) {
        self.log.parse_errors += 1;
    }

    pub(crate) fn draw(&mut self, share: f64) -> bool {
        if share >= 1.0 {
            return true;
        }
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        u < share
    }

    pub(crate) fn new_attack(&mut self, a: Attack) -> Option<usize> {
        self.log.attacks.push(a);
        Some(self.log.attacks.len() - 1)
    }

    pub(crate) fn update(&mut self, idx: Option<usize>, f: impl FnOnce(&mut Attack)) {
        if let Some(a) = idx.and_then(|i| self.log.attacks.get_mut(i)) {
            f(a);
        }
    }

    /// A tunnel record between a targeted subscriber and the OTT server.
    fn tunnel_seen(&mut self, now: Timestamp, sub: Ipv4Addr, t: &TunnelPdu, uplink: bool) {
        if self.tunnels.contains(&sub) {
            return;
        }
        self.tunnels.insert(sub);
        let mut chosen = None;
        for i in 0..self.brief.orders.len() {
            if self.brief.orders[i].addrs.contains(&sub)
                && now >= self.brief.orders[i].from
                && self.draw(self.brief.orders[i].share)
            {
                chosen = Some(i);
                break;
            }
        }
        let Some(si) = chosen else {
            return;
        };
        let spec = &self.brief.orders[si];
        let mut outcome = format!(
            "flow is inside a server tunnel ({} to the OTT server): the end-to-end session is \
             not visible at the core",
            proto::tunnel::TUNNEL_PROTOCOL
        );
        if spec.mode == OnPathMode::Mitm {
            if t.kind == NoiseKind::Handshake && uplink {
                let pre = Premessages {
                    initiator_static: None,
                    responder_static: Some(self.brief.ott_public),
                };
                let r = Engine::new(proto::tunnel::TUNNEL_PROTOCOL, &[], &pre, None)
                    .and_then(|mut e| e.read(Role::Initiator, &t.noise, &Keyring::new()));
                let why = match r {
                    Ok(o) => o.blocked.as_ref().map(blocked_text),
                    Err(e) => Some(engine_error_text(&e)),
                };
                outcome.push_str(&format!(
                    "; breaking the tunnel failed: the client knows the server key as a \
                     pre-message ({})",
                    why.unwrap_or_else(|| "no key".into())
                ));
            } else {
                outcome.push_str(
                    "; the tunnel was established before the attack began, and its keys need \
                     the server's private key",
                );
            }
        } else {
            outcome.push_str(&format!("; {} not attempted", spec.mode.as_str()));
        }
        let a = Attack::new(spec, None, None, now, outcome);
        self.new_attack(a);
    }

    /// Decides what to do with an OTT envelope on the acting leg.
    fn envelope(&mut self, now: Timestamp, env: &OttEnvelope, raw: &[u8], at: Place) -> Act {
        let key = (
            env.session,
            env.from.clone().min(env.to.clone()),
            env.from.clone().max(env.to.clone()),
        );
        // The component's own replayed sessions (`replay-0rtt`) are left alone.
        if !env.is_signal() && env.session & REPLAY_SESSION_BIT != 0 {
            return Act::Forward(raw.to_vec());
        }
        if !self.sessions.contains_key(&key) {
            let first = env.kind == NoiseKind::Handshake && env.index == 1;
            // Entries in file order; the session goes to the first whose draw succeeds.
            let mut attack = None;
            let mut si = 0;
            let mut chosen = None;
            for i in 0..self.brief.orders.len() {
                let s = &self.brief.orders[i];
                // A 0-RTT replay needs the session's first message.
                if s.mode == OnPathMode::Replay0Rtt && !first {
                    continue;
                }
                if now >= s.from
                    && (s.msisdns.contains(&env.from) || s.msisdns.contains(&env.to))
                    && self.draw(self.brief.orders[i].share)
                {
                    chosen = Some(i);
                    break;
                }
            }
            if let Some(i) = chosen {
                si = i;
                {
                    let s = &self.brief.orders[i];
                    let outcome = if s.mode == OnPathMode::Mitm && !first {
                        "session began before the attack: its handshake was not seen".to_string()
                    } else {
                        "targeted".to_string()
                    };
                    // Signal envelopes carry no session id: the pair names the conversation.
                    let a = if env.is_signal() {
                        let pair = (env.from.clone(), env.to.clone());
                        Attack::new(s, None, Some(pair), now, outcome)
                    } else {
                        Attack::new(s, Some(env.session), None, now, outcome)
                    };
                    attack = self.new_attack(a);
                }
            }
            let initiator = if first {
                env.from.clone()
            } else {
                String::new()
            };
            let mut sess = Session {
                initiator,
                attack,
                spec: si,
                done: false,
                aborted: false,
                seen: 0,
                mitm: None,
            };
            if attack.is_some() && self.brief.orders[si].mode == OnPathMode::Mitm {
                if first {
                    match self.start_mitm(env) {
                        Ok(m) => sess.mitm = Some(Box::new(m)),
                        Err(why) => {
                            sess.aborted = true;
                            self.update(attack, |a| a.outcome = why.to_string());
                        }
                    }
                } else {
                    sess.aborted = true;
                }
            }
            self.sessions.insert(key.clone(), sess);
        }
        let Some(mut sess) = self.sessions.remove(&key) else {
            return Act::Forward(raw.to_vec());
        };
        if sess.attack.is_some() {
            self.links.entry(at.flow).or_default().guarded = true;
        }
        let act = if sess.attack.is_none() {
            Act::Forward(raw.to_vec())
        } else if !at.new {
            // A retransmission of a frame passed on unchanged: the same again.
            Act::Forward(raw.to_vec())
        } else if at.gap {
            Act::Hold
        } else {
            self.attack(now, &mut sess, env, raw, at)
        };
        self.sessions.insert(key, sess);
        act
    }

    fn start_mitm(&mut self, env: &OttEnvelope) -> Result<Mitm, Refusal> {
        let proto = adversary::noise::Protocol::parse(&env.protocol)
            .map_err(|e| Refusal::UnknownProtocol(e.to_string()))?;
        let base = proto.pattern.base;
        let pre = Premessages {
            initiator_static: if base.initiator_pre.is_empty() {
                None
            } else {
                self.brief.directory.get(&env.from).copied()
            },
            responder_static: if base.responder_pre.is_empty() {
                None
            } else {
                self.brief.directory.get(&env.to).copied()
            },
        };
        let mk = || {
            Engine::new(&env.protocol, &self.brief.prologue, &pre, None).map_err(Refusal::Engine)
        };
        let mut keys = Keyring::new();
        keys.add_private(*self.own_private);
        Ok(Mitm {
            to_initiator: mk()?,
            to_responder: mk()?,
            keys,
        })
    }

    pub(crate) fn rebuild(env: &OttEnvelope, body: Vec<u8>) -> Option<Vec<u8>> {
        let mut e = env.clone();
        e.body = body;
        AppPdu::Ott(e).to_bytes().ok()
    }

    fn attack(
        &mut self,
        now: Timestamp,
        sess: &mut Session,
        env: &OttEnvelope,
        raw: &[u8],
        at: Place,
    ) -> Act {
        let head = at.head;
        let spec = &self.brief.orders[sess.spec];
        let mode = spec.mode;
        let own_static = spec.own_static;
        let plan = spec.drop;
        let idx = sess.attack;
        match mode {
            OnPathMode::Drop => self.drop(sess, plan, raw, at),
            // Frames can only be added at the head of the flow; try again later.
            OnPathMode::Replay | OnPathMode::Inject | OnPathMode::Replay0Rtt if !head => {
                Act::Forward(raw.to_vec())
            }
            OnPathMode::Replay0Rtt
                if sess.done || env.kind != NoiseKind::Handshake || env.index != 1 =>
            {
                Act::Forward(raw.to_vec())
            }
            OnPathMode::Replay0Rtt => {
                sess.done = true;
                let mut copy = env.clone();
                copy.session = env.session | REPLAY_SESSION_BIT;
                let fresh = copy.session;
                let Ok(bytes) = AppPdu::Ott(copy).to_bytes() else {
                    return Act::Forward(raw.to_vec());
                };
                let to = env.to.clone();
                self.update(idx, |a| {
                    a.facts.acted = true;
                    a.facts.replayed_session = Some(fresh);
                    a.injected += 1;
                    a.outcome = format!(
                        "replayed handshake message 1 ({} bytes, with whatever early data it \
                         carries) to {to} as the first message of a fresh session",
                        env.body.len()
                    );
                });
                Act::ForwardThen(raw.to_vec(), vec![bytes])
            }
            OnPathMode::Tamper | OnPathMode::Replay | OnPathMode::Inject
                if sess.done || env.kind != NoiseKind::Transport =>
            {
                Act::Forward(raw.to_vec())
            }
            OnPathMode::Tamper => {
                sess.done = true;
                let mut body = env.body.clone();
                if body.is_empty() {
                    return Act::Forward(raw.to_vec());
                }
                let i = (self.rng.next_u32() as usize) % body.len();
                body[i] ^= 0x01 << (self.rng.next_u32() % 8);
                match Self::rebuild(env, body) {
                    Some(b) => {
                        self.update(idx, |a| {
                            a.facts.acted = true;
                            a.replaced += 1;
                            a.outcome = format!(
                                "flipped one bit of byte {i} of the first transport message"
                            );
                        });
                        Act::Forward(b)
                    }
                    None => Act::Forward(raw.to_vec()),
                }
            }
            OnPathMode::Replay => {
                sess.done = true;
                self.update(idx, |a| {
                    a.facts.acted = true;
                    a.injected += 1;
                    a.outcome =
                        "sent the first transport message again, in a new frame".to_string();
                });
                Act::ForwardThen(raw.to_vec(), vec![raw.to_vec()])
            }
            OnPathMode::Inject => {
                sess.done = true;
                let body = self.forge();
                match Self::rebuild(env, body) {
                    Some(b) => {
                        self.update(idx, |a| {
                            a.facts.acted = true;
                            a.injected += 1;
                            a.outcome = "injected a forged transport message (encrypted under a \
                                         key of its own: it holds no session key)"
                                .to_string();
                        });
                        Act::ForwardThen(raw.to_vec(), vec![b])
                    }
                    None => Act::Forward(raw.to_vec()),
                }
            }
            OnPathMode::Mitm => {
                if sess.aborted {
                    return Act::Forward(raw.to_vec());
                }
                self.mitm(now, sess, env, raw, own_static)
            }
        }
    }

    /// `drop`: counts the session's envelope and drops it when the plan chooses it — deleted
    /// with a forged ACK (`delete`, only at the head of the flow), or held back unacknowledged
    /// so that the sender's reliable layer retransmits it (`once` lets the first
    /// retransmission through, `always` none).
    fn drop(&mut self, sess: &mut Session, plan: DropPlan, raw: &[u8], at: Place) -> Act {
        let idx = sess.attack;
        let key = (at.flow.0, at.flow.1, at.seq);
        if self.held.contains_key(&key) {
            // A retransmission of a frame chosen before.
            if plan.how == DropHow::Always {
                self.update(idx, |a| a.facts.transmissions_dropped += 1);
                return Act::Hold;
            }
            self.held.remove(&key);
            self.update(idx, |a| {
                a.facts.passed_after_drop += 1;
                a.outcome = drop_outcome(a, plan);
            });
            return Act::Forward(raw.to_vec());
        }
        if plan.how == DropHow::Delete && !at.head {
            // Frames can only be removed at the head of the flow: this one passes, uncounted.
            return Act::Forward(raw.to_vec());
        }
        sess.seen += 1;
        if !sess.seen.is_multiple_of(plan.every.max(1)) {
            return Act::Forward(raw.to_vec());
        }
        self.update(idx, |a| {
            a.facts.acted = true;
            a.facts.dropped += 1;
            if plan.how != DropHow::Delete {
                a.facts.transmissions_dropped += 1;
            }
            a.outcome = drop_outcome(a, plan);
        });
        if plan.how == DropHow::Delete {
            Act::Delete
        } else {
            self.held.insert(key, idx);
            Act::Hold
        }
    }

    /// A transport-message body for [`FORGED_TEXT`] sealed under a key the adversary made up.
    fn forge(&mut self) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        let mut key = Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut key[..]);
        let cipher = chacha20poly1305::ChaCha20Poly1305::new((&*key).into());
        let nonce = chacha20poly1305::Nonce::default();
        cipher
            .encrypt(&nonce, FORGED_TEXT.as_bytes())
            .unwrap_or_else(|_| vec![0u8; FORGED_TEXT.len() + 16])
    }

    fn mitm(
        &mut self,
        _now: Timestamp,
        sess: &mut Session,
        env: &OttEnvelope,
        raw: &[u8],
        own_static: bool,
    ) -> Act {
        let idx = sess.attack;
        let Some(m) = sess.mitm.as_deref_mut() else {
            return Act::Forward(raw.to_vec());
        };
        let from = if env.from == sess.initiator {
            Role::Initiator
        } else {
            Role::Responder
        };
        // The impersonated party: whoever the written message claims to come from.
        let claimed = if own_static {
            Some(self.own_public)
        } else {
            self.brief.directory.get(&env.from).copied()
        };
        let handshake = env.kind == NoiseKind::Handshake;
        let (reader, writer) = match from {
            Role::Initiator => (&mut m.to_initiator, &mut m.to_responder),
            Role::Responder => (&mut m.to_responder, &mut m.to_initiator),
        };
        // Ok: the new body and the plaintext read (if any); Err: why the attack stops.
        let result: Result<(Vec<u8>, Option<Vec<u8>>), Refusal> =
            match reader.read(from, &env.body, &m.keys) {
                Err(e) => Err(Refusal::Engine(e)),
                Ok(o) => match (o.payload, o.blocked) {
                    (_, Some(b)) => Err(Refusal::Blocked(b)),
                    (None, None) => Err(Refusal::NoPayload),
                    (Some(p), None) => {
                        let rng = &mut self.rng;
                        match writer.write(from, &p, claimed, &mut m.keys, rng) {
                            Ok(body) => {
                                let read = (!handshake || !p.is_empty()).then_some(p);
                                Ok((body, read))
                            }
                            Err(e) => Err(Refusal::Engine(e)),
                        }
                    }
                },
            };
        match result {
            Ok((body, read)) => {
                let finished =
                    m.to_initiator.handshake_finished() && m.to_responder.handshake_finished();
                let Some(b) = Self::rebuild(env, body) else {
                    return Act::Forward(raw.to_vec());
                };
                self.update(idx, |a| {
                    a.facts.acted = true;
                    a.replaced += 1;
                    if let Some(p) = read {
                        a.plaintexts.push(p);
                    }
                    a.outcome = if finished {
                        format!(
                            "completed both handshakes; re-encrypting, {} messages read",
                            a.plaintexts.len()
                        )
                    } else {
                        "handshakes with both sides in progress".to_string()
                    };
                });
                Act::Forward(b)
            }
            Err(why) => {
                sess.aborted = true;
                sess.mitm = None;
                self.update(idx, |a| {
                    a.outcome = if a.facts.acted {
                        format!("gave up mid-session, passing messages on unchanged: {why}")
                    } else {
                        format!("gave up, passing the session on untouched: {why}")
                    };
                });
                Act::Forward(raw.to_vec())
            }
        }
    }

    fn frame_packet(src: Ipv4Addr, dst: Ipv4Addr, frame: &Frame) -> Option<Vec<u8>> {
        let bytes = frame.to_bytes().ok()?;
        capture::ip::build_udp(
            SocketAddrV4::new(src, FRAME_PORT),
            SocketAddrV4::new(dst, FRAME_PORT),
            &bytes,
        )
        .ok()
    }

    /// Resends unacknowledged injected frames of the flow `(src, dst)`.
    fn resend(&mut self, now: Timestamp, flow: (Ipv4Addr, Ipv4Addr)) {
        if let Some(l) = self.links.get_mut(&flow) {
            for inj in l.injected.values_mut() {
                if !inj.acked && now >= inj.sent_at + INJECT_RTO {
                    self.outbox.push_back(inj.packet.clone());
                    inj.sent_at = now;
                }
            }
        }
    }

    /// An ACK from `src` (the receiver) to `dst` (the sender of the data flow `dst → src`).
    fn ack(&mut self, src: Ipv4Addr, dst: Ipv4Addr, next: u32, seq: u32) -> Verdict {
        let Some(l) = self.links.get_mut(&(dst, src)) else {
            return Verdict::Pass;
        };
        if !l.modified() {
            return Verdict::Pass;
        }
        let mut selective = None;
        if let Some(inj) = l.injected.get_mut(&seq) {
            inj.acked = true;
        } else {
            selective = l.back.get(&seq).copied();
        }
        for (_, inj) in l.injected.range_mut(..next) {
            inj.acked = true;
        }
        let n = l.sender_next(next);
        l.cum_to_sender = l.cum_to_sender.max(n);
        let sel = match selective {
            Some(s) => s,
            None if n > 0 => n - 1,
            None => return Verdict::Drop,
        };
        let frame = Frame::Ack {
            next_expected: n,
            seq: sel,
        };
        match Self::frame_packet(src, dst, &frame) {
            Some(p) => Verdict::Replace(p),
            None => Verdict::Pass,
        }
    }

    fn data(
        &mut self,
        now: Timestamp,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seq: u32,
        payload: &[u8],
        acting: bool,
    ) -> Verdict {
        let flow = (src, dst);
        // A frame seen before: the same decision, byte for byte.
        if let Some(cached) = self.cache.get(&(src, dst, seq)).cloned() {
            return self.emit(now, flow, seq, cached, Vec::new(), true);
        }
        let (new, gap, head) = {
            let l = self.links.entry(flow).or_default();
            (l.is_new(seq), seq > l.contig, l.in_order(seq))
        };
        let at = Place {
            flow,
            new,
            gap,
            head,
            seq,
        };
        let decoded = AppPdu::decode(payload);
        let signal = match &decoded {
            Ok(AppPdu::Ott(env)) if env.is_signal() => {
                self.signal_takeover(now, src, env, payload, at)
            }
            _ => None,
        };
        let act = if let Some(act) = signal {
            act
        } else if acting {
            match decoded {
                Ok(AppPdu::Ott(env)) => self.envelope(now, &env, payload, at),
                Ok(AppPdu::Tunnel(t)) => {
                    let (sub, up) = if src == self.brief.ott_addr {
                        (dst, false)
                    } else {
                        (src, true)
                    };
                    self.tunnel_seen(now, sub, &t, up);
                    Act::Forward(payload.to_vec())
                }
                Ok(_) => Act::Forward(payload.to_vec()),
                Err(_) => {
                    self.parse_error();
                    Act::Forward(payload.to_vec())
                }
            }
        } else {
            Act::Forward(payload.to_vec())
        };
        let guarded = self.links.get(&flow).is_some_and(|l| l.guarded);
        let act = match act {
            _ if guarded && gap && new => Act::Hold,
            Act::Delete | Act::ForwardThen(..) if !head => Act::Forward(payload.to_vec()),
            a => a,
        };
        if matches!(act, Act::Hold) {
            return Verdict::Drop;
        }
        let l = self.links.entry(flow).or_default();
        l.note(seq);
        match act {
            Act::Forward(p) => {
                let changed = p.as_slice() != payload;
                if changed {
                    self.cache.insert((src, dst, seq), Some(p.clone()));
                }
                self.emit(now, flow, seq, Some(p), Vec::new(), changed)
            }
            Act::ForwardThen(p, extra) => {
                let changed = p.as_slice() != payload;
                if changed {
                    self.cache.insert((src, dst, seq), Some(p.clone()));
                }
                self.emit(now, flow, seq, Some(p), extra, changed)
            }
            Act::Delete => {
                l.delete(seq);
                self.cache.insert((src, dst, seq), None);
                self.emit(now, flow, seq, None, Vec::new(), true)
            }
            Act::Hold => Verdict::Drop,
        }
    }

    /// Carries out the decision on one DATA frame of `flow` with sender seq `seq`: forward
    /// `payload` (renumbered) and inject `extra` PDUs after it, or delete it (forged ACK).
    fn emit(
        &mut self,
        now: Timestamp,
        flow: (Ipv4Addr, Ipv4Addr),
        seq: u32,
        payload: Option<Vec<u8>>,
        extra: Vec<Vec<u8>>,
        changed: bool,
    ) -> Verdict {
        let (src, dst) = flow;
        self.resend(now, flow);
        let l = self.links.entry(flow).or_default();
        let Some(payload) = payload else {
            // Deleted: acknowledge it to the sender ourselves.
            let ack = Frame::Ack {
                next_expected: l.cum_to_sender,
                seq,
            };
            if let Some(p) = Self::frame_packet(dst, src, &ack) {
                self.outbox.push_back(p);
            }
            return Verdict::Drop;
        };
        let mut injected = Vec::new();
        for pdu in extra {
            let Some(r) = l.insert_after(seq) else {
                continue;
            };
            let frame = Frame::Data {
                seq: r,
                payload: pdu,
            };
            if let Some(p) = Self::frame_packet(src, dst, &frame) {
                l.injected.insert(
                    r,
                    Injected {
                        packet: p.clone(),
                        sent_at: now,
                        acked: false,
                    },
                );
                injected.push(p);
            }
        }
        let Some(r) = l.map(seq) else {
            return Verdict::Pass;
        };
        self.outbox.extend(injected);
        if !changed && r == seq {
            return Verdict::Pass;
        }
        let frame = Frame::Data { seq: r, payload };
        match Self::frame_packet(src, dst, &frame) {
            Some(p) => Verdict::Replace(p),
            None => Verdict::Pass,
        }
    }
}

impl Component for Interceptor {
    fn handle_datagram(&mut self, now: Timestamp, datagram: &[u8]) -> Verdict {
        let Ok(udp) = capture::ip::parse_udp(datagram) else {
            return Verdict::Pass;
        };
        if udp.dst.port() != FRAME_PORT || udp.src.port() != FRAME_PORT {
            return Verdict::Pass;
        }
        let (src, dst) = (*udp.src.ip(), *udp.dst.ip());
        let ott = self.brief.ott_addr;
        let uplink = self.brief.is_local_subscriber(src) && dst == ott;
        let downlink = src == ott && self.brief.is_local_subscriber(dst);
        if !uplink && !downlink {
            return Verdict::Pass;
        }
        if !capture::ip::checksums_ok(datagram) {
            return Verdict::Pass;
        }
        match Frame::decode(udp.payload) {
            Ok(Frame::Ack { next_expected, seq }) => {
                self.resend(now, (dst, src));
                self.ack(src, dst, next_expected, seq)
            }
            Ok(Frame::Data { seq, payload }) => {
                // Act on the uplink of a local subscriber, or on the downlink of an envelope
                // from a number that is not local (its sender's core saw no uplink here).
                let acting = uplink
                    || match AppPdu::decode(&payload) {
                        Ok(AppPdu::Ott(env)) => !env.from.starts_with(&self.brief.msisdn_prefix),
                        _ => true,
                    };
                self.data(now, src, dst, seq, &payload, acting)
            }
            Err(_) => {
                self.parse_error();
                Verdict::Pass
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    fn handle_stolen(&mut self, stolen: &StolenSecret) {
        // Device states feed Signal takeovers; other secrets are the passive analysis's.
        if let (capture::Owner::Subscriber(msisdn), Secret::SignalState(state)) =
            (&stolen.owner, &stolen.secret)
        {
            if state.device_state {
                self.log.stolen.push(signal_mitm::StolenDevice {
                    at: stolen.at,
                    msisdn: msisdn.clone(),
                    state: (**state).clone(),
                });
            }
        }
    }

    fn records(&self) -> Vec<ActiveRecord> {
        self.log.records()
    }

    fn facts(&self) -> Vec<AttackFacts> {
        self.log.facts()
    }
}

/// Builds [`Interceptor`]s: what the pipeline hands the simulator.
#[derive(Clone, Copy, Debug, Default)]
pub struct Armory;

impl capture::active::Arm for Armory {
    fn arm(&self, brief: OnPathBrief) -> Box<dyn Component> {
        Box::new(Interceptor::new(brief))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_map_insert_and_delete_keep_the_receiver_gapless() {
        let mut m = SeqMap::default();
        for s in 0..3 {
            m.note(s);
            assert_eq!(m.map(s), Some(s));
        }
        // Inject after 2: receiver 3 is ours, sender 3 becomes 4.
        assert_eq!(m.insert_after(2), Some(3));
        m.note(3);
        assert_eq!(m.map(3), Some(4));
        // Delete sender 4; sender 5 takes receiver 5.
        assert!(m.in_order(4));
        m.delete(4);
        m.note(4);
        m.note(5);
        assert_eq!(m.map(5), Some(5));
        // Receiver cumulative 4 (got 0..=3) means sender got 0..=2 plus seq 3 (receiver 4)? no:
        // receiver 0,1,2 = sender 0,1,2; receiver 3 injected; so sender next is 3.
        assert_eq!(m.sender_next(4), 3);
        // Receiver got 0..=4: sender 3 done, 4 deleted, so next is 5.
        assert_eq!(m.sender_next(5), 5);
        assert_eq!(m.sender_next(6), 6);
        assert_eq!(m.sender_next(0), 0);
    }
}
