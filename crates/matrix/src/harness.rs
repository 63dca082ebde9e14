//! One experiment run in the simulator: initiator, intercept node and responder on a three-node
//! `netsim` network, real snow parties at the ends, the attacker as an on-path hook at the
//! intercept node.
//!
//! Every Noise message is one UDP datagram. The honest parties follow the message sequence of
//! the experiment note with strict alternation; the attacker ([`Attacker`]) sees each datagram at
//! the intercept node and relays, absorbs or replaces it, and injects its own messages with the
//! address of the party it plays. A run returns what each side did, so that the experiments
//! ([`crate::experiments`]) can decide success against the markers.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};

use adversary::engine::{Engine, Keyring, Premessages};
use netsim::{Event, HookCtx, LinkParams, Network, NetworkBuilder, NodeId, Packet, Verdict};
use simcore::{Duration, SeedTree};

use crate::honest::{Honest, HonestConfig};
use crate::setup::{PublicInfo, Setup};
use crate::Role;

/// UDP port of the experiment's Noise datagrams.
const PORT: u16 = 42_430;
const ADDR_I: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const ADDR_M: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const ADDR_R: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);

fn addr(role: Role) -> SocketAddrV4 {
    match role {
        Role::Initiator => SocketAddrV4::new(ADDR_I, PORT),
        Role::Responder => SocketAddrV4::new(ADDR_R, PORT),
    }
}

/// The other party.
pub(crate) fn peer(role: Role) -> Role {
    match role {
        Role::Initiator => Role::Responder,
        Role::Responder => Role::Initiator,
    }
}

/// What the attacker does in a run.
#[derive(Clone)]
pub(crate) enum Plan {
    /// Relay everything unchanged and record.
    Passive,
    /// Relay until the first message addressed to `target`, then play the target's peer.
    Takeover {
        target: Role,
        /// Private keys held from the start.
        held: Keyring,
        /// The psk, if held from the start.
        psk: Option<[u8; 32]>,
    },
    /// The sender is silent; a fresh `recipient` is fed the sender's recorded messages, in order.
    Replay {
        recipient: Role,
        /// Recorded messages of the other party, by sequence position (0-based).
        recorded: Vec<(usize, Vec<u8>)>,
    },
}

/// Everything a run produced.
pub(crate) struct RunResult {
    /// Bytes an honest party actually sent at each position (`None`: it never sent it).
    pub sent: Vec<Option<Vec<u8>>>,
    /// Payload the honest recipient accepted at each position.
    pub accepted: Vec<Option<Vec<u8>>>,
    /// The transcript of the session the attacker took part in (all relayed messages for a
    /// passive run), as `(sender, bytes)` in sequence order.
    pub view: Vec<(Role, Vec<u8>)>,
    /// The attacker's keys at the end: what it held plus its own ephemerals.
    pub keyring: Keyring,
    /// Why the attacker stopped, if it did.
    pub attacker_failure: Option<String>,
    /// Where the attacker took over (1-based message number), if it did.
    pub takeover_at: Option<usize>,
    /// Why an honest party died, by role.
    pub deaths: Vec<(Role, String)>,
}

/// The attacker's state machine, shared with the on-path hook.
struct Attacker {
    /// Public knowledge only: never the honest parties' keys or markers.
    public: PublicInfo,
    plan: Plan,
    /// Next sequence position as the attacker sees it.
    pos: usize,
    /// Mirror of the session it observes or takes part in.
    engine: Option<Engine>,
    keyring: Keyring,
    rng: simcore::SimRng,
    view: Vec<(Role, Vec<u8>)>,
    taken_over: bool,
    takeover_at: Option<usize>,
    failure: Option<String>,
    /// Packets to send from the intercept node (replay start).
    initial: Vec<Packet>,
}

impl Attacker {
    fn new(public: PublicInfo, plan: Plan, rng: simcore::SimRng) -> Attacker {
        let (keyring, psk) = match &plan {
            Plan::Takeover { held, psk, .. } => (held.clone(), *psk),
            _ => (Keyring::new(), None),
        };
        let pre = Premessages {
            initiator_static: public.premessage_key(Role::Initiator),
            responder_static: public.premessage_key(Role::Responder),
        };
        let (engine, failure) = match Engine::new(&public.protocol, &public.prologue, &pre, psk) {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(format!("engine: {e}"))),
        };
        let mut a = Attacker {
            public,
            plan,
            pos: 0,
            engine,
            keyring,
            rng,
            view: Vec::new(),
            taken_over: false,
            takeover_at: None,
            failure,
            initial: Vec::new(),
        };
        if let Plan::Replay { recipient, .. } = &a.plan {
            let sender = peer(*recipient);
            let mut out = Vec::new();
            a.replay_next(sender, &mut out);
            a.initial = out;
        }
        a
    }

    fn packet(&self, from: Role, bytes: &[u8]) -> Option<Packet> {
        Packet::udp(addr(from), addr(peer(from)), bytes).ok()
    }

    /// Replay: injects the recorded messages of `sender` due at the current position.
    fn replay_next(&mut self, sender: Role, out: &mut Vec<Packet>) {
        let Plan::Replay { recorded, .. } = &self.plan else {
            return;
        };
        let recorded = recorded.clone();
        while self.pos < self.public.senders.len() && self.public.senders[self.pos] == sender {
            match recorded.iter().find(|(p, _)| *p == self.pos) {
                Some((_, bytes)) => {
                    if let Some(p) = self.packet(sender, bytes) {
                        out.push(p);
                    }
                    self.pos += 1;
                }
                None => return,
            }
        }
    }

    /// Takeover: writes every message of `me` due at the current position.
    fn write_due(&mut self, me: Role, out: &mut Vec<Packet>) {
        while self.failure.is_none()
            && self.pos < self.public.senders.len()
            && self.public.senders[self.pos] == me
        {
            let payload = self.public.attacker_markers[self.pos].to_vec();
            let local_static = self.public.directory_key(me);
            let Some(engine) = self.engine.as_mut() else {
                return;
            };
            match engine.write(me, &payload, local_static, &mut self.keyring, &mut self.rng) {
                Ok(bytes) => {
                    self.view.push((me, bytes.clone()));
                    if let Some(p) = self.packet(me, &bytes) {
                        out.push(p);
                    }
                    self.pos += 1;
                }
                Err(e) => {
                    self.failure = Some(format!("could not write message {}: {e}", self.pos + 1));
                }
            }
        }
    }

    fn on_message(&mut self, from: Role, bytes: &[u8], out: &mut Vec<Packet>) -> Verdict {
        match self.plan.clone() {
            Plan::Passive => {
                self.observe(from, bytes);
                Verdict::Pass
            }
            Plan::Replay { recipient, .. } => {
                // Only the fresh recipient speaks; its messages go nowhere.
                if from == recipient {
                    self.pos += 1;
                    self.replay_next(peer(recipient), out);
                }
                Verdict::Drop
            }
            Plan::Takeover { target, .. } => {
                let me = peer(target);
                if !self.taken_over {
                    if from == me {
                        // The first message addressed to the target: take over here.
                        self.taken_over = true;
                        self.takeover_at = Some(self.pos + 1);
                        self.write_due(me, out);
                        return Verdict::Drop;
                    }
                    self.observe(from, bytes);
                    return Verdict::Pass;
                }
                if from == me {
                    // The real peer is cut off.
                    return Verdict::Drop;
                }
                // A message of the target, absorbed.
                self.observe(from, bytes);
                self.write_due(me, out);
                Verdict::Drop
            }
        }
    }

    /// Records a message of the attacked session and feeds the mirror engine.
    fn observe(&mut self, from: Role, bytes: &[u8]) {
        self.view.push((from, bytes.to_vec()));
        self.pos += 1;
        if let Some(engine) = self.engine.as_mut() {
            if let Err(e) = engine.read(from, bytes, &self.keyring) {
                if self.failure.is_none() && self.taken_over {
                    self.failure = Some(format!("could not read message {}: {e}", self.pos));
                }
                self.engine = None;
            }
        }
    }
}

struct Hook(Arc<Mutex<Attacker>>);

impl netsim::OnPathHook for Hook {
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict {
        let from = if packet.src().ip() == &ADDR_I {
            Role::Initiator
        } else if packet.src().ip() == &ADDR_R {
            Role::Responder
        } else {
            return Verdict::Pass;
        };
        let mut out = Vec::new();
        let verdict = match self.0.lock() {
            Ok(mut a) => a.on_message(from, packet.udp_payload(), &mut out),
            Err(_) => Verdict::Pass,
        };
        for p in out {
            ctx.inject(p);
        }
        verdict
    }
}

/// A party's progress through the sequence.
struct Party {
    role: Role,
    honest: Option<Honest>,
    pos: usize,
}

/// Runs one experiment. `fresh_seed` varies the honest parties' ephemerals between runs.
pub(crate) fn run(setup: &Arc<Setup>, plan: Plan, run_label: &str) -> RunResult {
    let seeds = SeedTree::new(setup.seed).child("run").child(run_label);
    let mut b = NetworkBuilder::new();
    let ni = b.add_node("initiator", ADDR_I);
    let nm = b.add_node("intercept", ADDR_M);
    let nr = b.add_node("responder", ADDR_R);
    let link = LinkParams {
        latency: Duration::from_millis(1),
        ..LinkParams::default()
    };
    b.add_link(ni, nm, link.clone());
    b.add_link(nm, nr, link);
    let n = setup.sequence.len();
    let mut result = RunResult {
        sent: vec![None; n],
        accepted: vec![None; n],
        view: Vec::new(),
        keyring: Keyring::new(),
        attacker_failure: None,
        takeover_at: None,
        deaths: Vec::new(),
    };
    let mut net = match b.build(&seeds) {
        Ok(net) => net,
        Err(e) => {
            result.attacker_failure = Some(format!("network: {e}"));
            return result;
        }
    };
    let attacker = Arc::new(Mutex::new(Attacker::new(
        setup.public(),
        plan.clone(),
        seeds.stream("attacker"),
    )));
    net.add_hook(nm, Box::new(Hook(Arc::clone(&attacker))));

    // The honest parties: both, except in a replay where the sender is absent.
    let silent = match &plan {
        Plan::Replay { recipient, .. } => Some(peer(*recipient)),
        _ => None,
    };
    let mut parties: Vec<Party> = [Role::Initiator, Role::Responder]
        .into_iter()
        .map(|role| {
            let honest = if silent == Some(role) {
                None
            } else {
                let label = match role {
                    Role::Initiator => "initiator",
                    Role::Responder => "responder",
                };
                match Honest::new(&HonestConfig {
                    protocol: &setup.protocol,
                    role,
                    prologue: &setup.prologue,
                    local_private: setup.private_key(role),
                    peer_directory_key: setup.directory_key(peer(role)),
                    peer_premessage: setup.premessage_key(peer(role)).is_some(),
                    psk: setup.psk.as_ref(),
                    psk_positions: &setup.psk_positions,
                    rng_seed: seeds.child(label).key(),
                }) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        result.deaths.push((role, e));
                        None
                    }
                }
            };
            Party {
                role,
                honest,
                pos: 0,
            }
        })
        .collect();

    let node_of = |role: Role| match role {
        Role::Initiator => ni,
        Role::Responder => nr,
    };
    // Start: whoever has messages due writes them; the attacker's replay opening goes out.
    for p in parties.iter_mut() {
        write_due(setup, p, &mut result, &mut net, node_of(p.role));
    }
    let initial = match attacker.lock() {
        Ok(mut a) => std::mem::take(&mut a.initial),
        Err(_) => Vec::new(),
    };
    for pkt in initial {
        net.send(nm, pkt);
    }
    while let Some(ev) = net.poll() {
        let Event::Deliver { node, packet } = ev else {
            continue;
        };
        let role = if node == ni {
            Role::Initiator
        } else if node == nr {
            Role::Responder
        } else {
            continue;
        };
        let p = &mut parties[usize::from(role == Role::Responder)];
        let Some(h) = p.honest.as_mut() else {
            continue;
        };
        if p.pos >= n || setup.sequence[p.pos].from == role {
            continue;
        }
        match h.read(packet.udp_payload()) {
            Ok(payload) => result.accepted[p.pos] = Some(payload),
            Err(e) => {
                result
                    .deaths
                    .push((role, format!("message {}: {e}", p.pos + 1)));
                p.honest = None;
                continue;
            }
        }
        p.pos += 1;
        write_due(setup, p, &mut result, &mut net, node_of(role));
    }
    if let Ok(mut a) = attacker.lock() {
        result.view = std::mem::take(&mut a.view);
        result.keyring = a.keyring.clone();
        result.attacker_failure = a.failure.take();
        result.takeover_at = a.takeover_at;
    }
    for p in &parties {
        if let Some(d) = p.honest.as_ref().and_then(|h| h.death()) {
            result.deaths.push((p.role, d.to_owned()));
        }
    }
    result
}

/// Writes every message due from party `p` (strict alternation: it has read all earlier
/// messages addressed to it, since it only advances by reading them).
fn write_due(
    setup: &Setup,
    p: &mut Party,
    result: &mut RunResult,
    net: &mut Network,
    node: NodeId,
) {
    while p.pos < setup.sequence.len() && setup.sequence[p.pos].from == p.role {
        let Some(h) = p.honest.as_mut() else {
            return;
        };
        match h.write(&setup.markers[p.pos]) {
            Ok(bytes) => {
                if let Ok(pkt) = Packet::udp(addr(p.role), addr(peer(p.role)), &bytes) {
                    net.send(node, pkt);
                }
                result.sent[p.pos] = Some(bytes);
                p.pos += 1;
            }
            Err(e) => {
                result
                    .deaths
                    .push((p.role, format!("message {}: {e}", p.pos + 1)));
                p.honest = None;
                return;
            }
        }
    }
}
