//! The world taken apart for a driver that runs every node on its own: the live driver
//! (`crates/live`), where each node is a task with a real socket.
//!
//! [`Plant::new`] builds the same world as the simulator ([`crate::run`]) and starts it, then
//! hands the nodes out as [`LiveNode`]s: the same node machines ([`crate::nodes::Logic`]) the
//! simulator's driver calls, each with its own timers, driven through `handle_*` / `poll_*`. What
//! stays in the [`Plant`] is the network between the nodes (links with their latency, jitter and
//! loss; routers; the points of interception; the adversary's taps and on-path components) and
//! the bookkeeping that turns what nodes report into ground truth, call records and counters.
//!
//! Both halves are sans-IO: every method takes `now` (virtual time, which a live driver keeps
//! equal to the wall-clock time since the start) and bytes, and hands back bytes to send and the
//! time it next wants to be woken. No clock, no sockets, no OS randomness: the live driver owns
//! those. The two halves share what every node may read (the directory, the scenario, the key
//! directory) and two things nodes change in place, as in the simulator: the OTT server's Signal
//! prekey store and the adversary's capabilities (a weak RNG, a quantum oracle). They share them
//! through `Rc<RefCell<_>>`, so a live driver runs the halves on one thread (a tokio `LocalSet`).
//!
//! At the end [`Plant::finish`] takes the nodes back and produces the same [`RunOutput`] as
//! [`crate::run`], which the pipeline reads, analyses and scores unchanged.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;

use capture::active::Arm;
use capture::Secret;
use netsim::{Event, NodeId, Packet};
use scenario::Scenario;
use simcore::{SeedTree, Timestamp, Watch};

use crate::capability::Capable;
use crate::directory::Directory;
use crate::error::CarrierError;
use crate::handset::Env;
use crate::io::{Io, NodeEvent, Output};
use crate::nodes::{Input, Logic};
use crate::signal_app::KeyServer;
use crate::timer::Timer;
use crate::world::{RunOutput, World};

/// Timers a node fires in one [`LiveNode::handle_timeout`] call at most (a node that keeps
/// re-arming a timer for "now" cannot hold its task forever; the rest fire on the next call).
const TIMERS_PER_CALL: usize = 4096;

/// What every node may read, and the two things nodes change in place.
struct Shared {
    dir: Directory,
    sc: Scenario,
    seeds: SeedTree,
    keys: Vec<Option<[u8; 32]>>,
    key_server: RefCell<KeyServer>,
    caps: RefCell<Capable>,
}

impl Shared {
    /// Runs `f` with the environment a handset reads while it handles one input.
    fn with_env<R>(&self, f: impl FnOnce(&mut Env<'_>) -> R) -> R {
        let caps = self.caps.borrow();
        let mut key_server = self.key_server.borrow_mut();
        let mut env = Env {
            dir: &self.dir,
            sc: &self.sc,
            seeds: &self.seeds,
            keys: &self.keys,
            key_server: &mut key_server,
            exposure: &*caps,
        };
        f(&mut env)
    }
}

/// Something a node reported, with the time it happened.
pub struct Report {
    at: Timestamp,
    what: Reported,
}

enum Reported {
    /// A [`NodeEvent`], as the simulator's driver gets it.
    Event(NodeEvent),
    /// The app state a thief copied from subscriber `sub`'s handset.
    Stolen { sub: usize, secrets: Vec<Secret> },
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Stolen secrets are never printed.
        let what = match &self.what {
            Reported::Event(e) => format!("{e:?}"),
            Reported::Stolen { sub, secrets } => {
                format!("{} secrets stolen from subscriber {sub}", secrets.len())
            }
        };
        f.debug_struct("Report")
            .field("at", &self.at)
            .field("what", &what)
            .finish()
    }
}

/// What the plant asks of a node beyond datagrams: the key server's "top up your prekeys",
/// and a thief copying the node's app state.
#[derive(Clone, Copy, Debug)]
pub struct Command(Cmd);

#[derive(Clone, Copy, Debug)]
enum Cmd {
    PrekeysTaken,
    StealState { at: Timestamp },
}

/// One node of the world, run by a live driver: a handset, packet gateway, SMS centre, OTT
/// server, mediation node or law-enforcement sink.
pub struct LiveNode {
    id: NodeId,
    name: String,
    addr: Ipv4Addr,
    logic: Logic,
    shared: Rc<Shared>,
    io: Io,
    timers: BTreeMap<(Timestamp, u64), Timer>,
    seq: u64,
    transmits: VecDeque<Packet>,
    reports: Vec<Report>,
}

impl std::fmt::Debug for LiveNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveNode")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl LiveNode {
    /// The node's id in the plant's network.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's name in the topology (`atlantic.sub17`, `ott`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's address inside the modelled network.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Whether the node is a subscriber's handset.
    pub fn is_handset(&self) -> bool {
        matches!(self.logic, Logic::Sub(_))
    }

    /// Hands the node an IPv4 datagram (as the plant delivered it) at `now`.
    ///
    /// # Errors
    /// If `bytes` is not a well-formed IPv4/UDP datagram: nothing is handed to the node.
    pub fn handle_datagram(&mut self, now: Timestamp, bytes: Vec<u8>) -> Result<(), CarrierError> {
        let packet = Packet::from_bytes(bytes)?;
        self.handle(now, Input::Datagram(packet));
        Ok(())
    }

    /// Fires the timers due at `now`, in (time, order set) order.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        for _ in 0..TIMERS_PER_CALL {
            let Some(entry) = self.timers.first_entry() else {
                return;
            };
            if entry.key().0 > now {
                return;
            }
            let timer = entry.remove();
            self.handle(now, Input::Timer(timer));
        }
    }

    /// When the node next wants [`LiveNode::handle_timeout`] called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.keys().next().map(|k| k.0)
    }

    /// The next IPv4 datagram the node sends (into the plant).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front().map(Packet::into_bytes)
    }

    /// What the node reported since the last call (for [`Plant::handle_reports`]).
    pub fn take_reports(&mut self) -> Vec<Report> {
        std::mem::take(&mut self.reports)
    }

    /// Carries out a command of the plant at `now`.
    pub fn handle_command(&mut self, now: Timestamp, cmd: Command) {
        let Logic::Sub(h) = &mut self.logic else {
            return;
        };
        match cmd.0 {
            Cmd::PrekeysTaken => {
                self.io.begin(now);
                let io = &mut self.io;
                self.shared.with_env(|env| h.prekeys_taken(env, io));
                self.collect(now);
            }
            Cmd::StealState { at } => {
                let secrets = h.app_secrets(true);
                self.reports.push(Report {
                    at,
                    what: Reported::Stolen {
                        sub: h.sub,
                        secrets,
                    },
                });
            }
        }
    }

    fn handle(&mut self, now: Timestamp, input: Input) {
        let span = tracing::debug_span!("node", node = %self.name, t_ns = now.as_nanos());
        let _entered = span.enter();
        self.io.begin(now);
        let (logic, io) = (&mut self.logic, &mut self.io);
        self.shared.with_env(|env| logic.handle(env, io, input));
        self.collect(now);
    }

    /// Takes what the node asked for out of its [`Io`].
    fn collect(&mut self, now: Timestamp) {
        let outputs: Vec<Output> = self.io.take().collect();
        for o in outputs {
            self.stage(o);
        }
        for e in self.io.take_events() {
            self.reports.push(Report {
                at: now,
                what: Reported::Event(e),
            });
        }
    }

    fn stage(&mut self, o: Output) {
        match o {
            Output::Transmit { packet, .. } => self.transmits.push_back(packet),
            Output::Timer { at, timer, .. } => {
                self.timers.insert((at, self.seq), timer);
                self.seq += 1;
            }
        }
    }
}

/// The network between the nodes and the world's bookkeeping, run by a live driver (see the
/// module docs).
pub struct Plant<'s> {
    w: World<'s>,
    shared: Rc<Shared>,
    /// Session-state theft times still to come.
    thefts: VecDeque<Timestamp>,
    deliveries: VecDeque<(NodeId, Vec<u8>)>,
    commands: VecDeque<(NodeId, Command)>,
}

impl std::fmt::Debug for Plant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plant")
            .field("now", &self.w.net.now())
            .field("open", &self.w.truth.open)
            .finish_non_exhaustive()
    }
}

impl<'s> Plant<'s> {
    /// Builds and starts the world of `scenario` with `seed`, as [`crate::run`] does, and
    /// hands out its nodes.
    ///
    /// # Errors
    /// As [`crate::run`].
    pub fn new(
        scenario: &'s Scenario,
        seed: u64,
        arm: &dyn Arm,
    ) -> Result<(Plant<'s>, Vec<LiveNode>), CarrierError> {
        if !scenario.adversary.onpath.is_empty() && !arm.armed() {
            return Err(CarrierError::Unarmed);
        }
        let mut w = World::build(scenario, SeedTree::new(seed), arm, &Watch::new())?;
        let thefts: VecDeque<Timestamp> = w.caps.session_theft_times().into();
        // Start as the simulator does, but keep what the nodes asked for: it goes to the nodes.
        w.io.begin(w.net.now());
        w.schedule_calls();
        w.start_nodes();
        let mut staged: Vec<Output> = Vec::new();
        loop {
            staged.extend(w.io.take());
            let events: Vec<NodeEvent> = w.io.take_events().collect();
            let refills = w.apply_events(Timestamp::ZERO, events);
            if refills.is_empty() {
                break;
            }
            for sub in refills {
                w.with_handset(sub, |h, env, io| h.prekeys_taken(env, io));
            }
        }
        let shared = Rc::new(Shared {
            dir: w.dir.clone(),
            sc: scenario.clone(),
            seeds: w.seeds.clone(),
            keys: w.public_keys.clone(),
            key_server: RefCell::new(std::mem::take(&mut w.key_server)),
            caps: RefCell::new(std::mem::take(&mut w.caps)),
        });
        let mut nodes: Vec<LiveNode> = Vec::new();
        let mut index: BTreeMap<NodeId, usize> = BTreeMap::new();
        for i in 0..w.logic.len() {
            if matches!(w.logic[i], Logic::Router) {
                continue;
            }
            let id = NodeId(i as u32);
            index.insert(id, nodes.len());
            nodes.push(LiveNode {
                id,
                name: w.net.node_name(id).to_string(),
                addr: w.net.node_addr(id),
                logic: std::mem::replace(&mut w.logic[i], Logic::Router),
                shared: shared.clone(),
                io: Io::default(),
                timers: BTreeMap::new(),
                seq: 0,
                transmits: VecDeque::new(),
                reports: Vec::new(),
            });
        }
        for o in staged {
            let node = match &o {
                Output::Transmit { from, .. } => *from,
                Output::Timer { node, .. } => *node,
            };
            if let Some(&n) = index.get(&node) {
                nodes[n].stage(o);
            }
        }
        Ok((
            Plant {
                w,
                shared,
                thefts,
                deliveries: VecDeque::new(),
                commands: VecDeque::new(),
            },
            nodes,
        ))
    }

    /// Moves the network to `now`: datagrams that reach a node by then wait in
    /// [`Plant::poll_delivery`], and thefts due by then become [`Plant::poll_command`]s.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while self.thefts.front().is_some_and(|&at| at <= now) {
            let at = self.thefts.pop_front().unwrap_or(now);
            self.pump(at);
            let caps = self.shared.caps.borrow();
            for i in 0..self.w.dir.subs.len() {
                if caps.steals_sessions_of(at, i) {
                    self.commands
                        .push_back((self.w.sub_node[i], Command(Cmd::StealState { at })));
                }
            }
        }
        self.pump(now);
    }

    fn pump(&mut self, now: Timestamp) {
        while let Some(ev) = self.w.net.poll_until(now) {
            match ev {
                Event::Deliver { node, packet } => {
                    self.deliveries.push_back((node, packet.into_bytes()));
                }
                // Timers live at the nodes in a live run; the network holds none.
                Event::Timer { .. } => {}
            }
        }
    }

    /// When the plant next wants [`Plant::handle_timeout`] called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match (self.w.net.next_event_time(), self.thefts.front()) {
            (Some(a), Some(&b)) => Some(a.min(b)),
            (a, b) => a.or(b.copied()),
        }
    }

    /// Takes an IPv4 datagram node `from` sent at `now` into the network.
    ///
    /// # Errors
    /// If `bytes` is not a well-formed IPv4/UDP datagram, or `from` is no node: it is dropped.
    pub fn handle_transmit(
        &mut self,
        now: Timestamp,
        from: NodeId,
        bytes: Vec<u8>,
    ) -> Result<(), CarrierError> {
        self.handle_timeout(now);
        let packet = Packet::from_bytes(bytes)?;
        if from.0 as usize >= self.w.logic.len() {
            return Err(CarrierError::NoSuchNode(from.0));
        }
        tracing::trace!(
            src = %packet.src(),
            dst = %packet.dst(),
            bytes = packet.len(),
            "packet sent"
        );
        self.w.net.send(from, packet);
        Ok(())
    }

    /// The next datagram the network delivers: to which node, and its bytes.
    pub fn poll_delivery(&mut self) -> Option<(NodeId, Vec<u8>)> {
        self.deliveries.pop_front()
    }

    /// The next command for a node.
    pub fn poll_command(&mut self) -> Option<(NodeId, Command)> {
        self.commands.pop_front()
    }

    /// Turns what a node reported into ground truth, records and counters, as the simulator's
    /// driver does.
    pub fn handle_reports(&mut self, reports: Vec<Report>) {
        for r in reports {
            match r.what {
                Reported::Event(e) => {
                    for sub in self.w.apply_events(r.at, vec![e]) {
                        self.commands
                            .push_back((self.w.sub_node[sub], Command(Cmd::PrekeysTaken)));
                    }
                }
                Reported::Stolen { sub, secrets } => {
                    // The world's bookkeeping of thefts works on its own capabilities: lend them.
                    let mut caps = self.shared.caps.borrow_mut();
                    std::mem::swap(&mut self.w.caps, &mut *caps);
                    self.w.stolen(r.at, sub, secrets);
                    std::mem::swap(&mut self.w.caps, &mut *caps);
                }
            }
        }
    }

    /// Messages neither delivered nor failed yet.
    pub fn open_messages(&self) -> usize {
        self.w.truth.open
    }

    /// Whether a session-state theft is still to come (a live run waits for it, as the
    /// simulator's run does).
    pub fn thefts_pending(&self) -> bool {
        !self.thefts.is_empty()
    }

    /// Messages planned in all.
    pub fn messages(&self) -> usize {
        self.w.truth.messages.len()
    }

    /// When the planned traffic ends (the scenario's duration).
    pub fn traffic_end(&self) -> Timestamp {
        Timestamp::ZERO + self.w.sc.duration
    }

    /// The points of interception report the END of sessions still open at `now` (their
    /// records still have to reach the mediation nodes).
    pub fn flush_intercepts(&mut self, now: Timestamp) {
        self.handle_timeout(now);
        self.w.flush_intercepts();
        self.handle_timeout(now);
    }

    /// Takes the nodes back and produces what [`crate::run`] produces. Nodes missing from
    /// `nodes` (a task that died) count as routers: their counters are lost, nothing else.
    pub fn finish(mut self, nodes: Vec<LiveNode>) -> RunOutput {
        for n in nodes {
            if let Some(slot) = self.w.logic.get_mut(n.id.0 as usize) {
                *slot = n.logic;
            }
        }
        // What the nodes changed in place goes back to the world. Taken out of its cell, not out
        // of the `Rc`: whoever may still hold the `Rc` (a node not handed back, which counts as
        // a router) is left an empty key server and no capabilities, and the rest of `Shared`
        // is the world's own, copied at the start. No borrow is alive here (nodes borrow only
        // while they handle an input, on this thread), so `take` cannot fail.
        self.w.key_server = self.shared.key_server.take();
        self.w.caps = self.shared.caps.take();
        // A live run ends on the wall clock, not on the simulator's retry budget: what is still
        // open failed for that reason, said as such.
        self.w.truth.fail_open(
            "live run ended with it still in flight (the drain after the traffic ran out)",
        );
        self.w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let text = scenario::builtin("small-lab").expect("built in");
        scenario::parse("sim/small-lab.toml", text).expect("parses")
    }

    #[test]
    fn nodes_and_the_plant_refuse_malformed_bytes_without_harm() {
        let sc = small();
        let (mut plant, mut nodes) = Plant::new(&sc, 1, &capture::active::Unarmed).expect("builds");
        let now = Timestamp::from_millis(5);
        for bytes in [vec![], vec![0x45], vec![0xff; 40], vec![0x45; 2000]] {
            assert!(plant
                .handle_transmit(now, nodes[0].id(), bytes.clone())
                .is_err());
            assert!(nodes[0].handle_datagram(now, bytes).is_err());
        }
        assert!(plant
            .handle_transmit(now, NodeId(u32::MAX), vec![0; 28])
            .is_err());
        // The world still finishes afterwards; ended at once, every message failed with the
        // live run's reason.
        let out = plant.finish(nodes);
        assert_eq!(out.truth.integrity_errors, 0);
        assert!(!out.truth.messages.is_empty());
        for m in &out.truth.messages {
            assert!(
                m.failure
                    .as_deref()
                    .is_some_and(|f| f.starts_with("live run ended with it still in flight")),
                "{m:?}"
            );
        }
    }

    /// A node not handed back while something still holds it (its task's state kept
    /// elsewhere) counts as a router; the key server and the capabilities the nodes shared still
    /// come back whole, as when every node is handed back.
    #[test]
    fn finishing_with_a_node_held_elsewhere_keeps_the_shared_state() {
        let sc = small();
        let (plant, nodes) = Plant::new(&sc, 1, &capture::active::Unarmed).expect("builds");
        let full = plant.finish(nodes);
        let (plant, mut nodes) = Plant::new(&sc, 1, &capture::active::Unarmed).expect("builds");
        let held = nodes.pop().expect("a node");
        let partial = plant.finish(nodes);
        assert!(!full.capabilities.directory.is_empty());
        assert_eq!(
            partial.capabilities.directory.len(),
            full.capabilities.directory.len()
        );
        assert_eq!(partial.truth.messages.len(), full.truth.messages.len());
        // The held node outlived `finish` (its `Rc` was never the only one).
        assert!(!held.name().is_empty());
    }

    /// Pumping the halves by hand, without sockets, in virtual time: every message arrives, as
    /// in the simulator.
    #[test]
    fn the_halves_pumped_in_virtual_time_deliver_every_message() {
        let sc = small();
        let (mut plant, mut nodes) = Plant::new(&sc, 7, &capture::active::Unarmed).expect("builds");
        let index: BTreeMap<NodeId, usize> =
            nodes.iter().enumerate().map(|(i, n)| (n.id(), i)).collect();
        let end = plant.traffic_end() + simcore::Duration::from_secs(3600);
        let mut now = Timestamp::ZERO;
        for _ in 0..10_000_000 {
            // Everything due now, until quiet.
            loop {
                let mut busy = false;
                for n in nodes.iter_mut() {
                    n.handle_timeout(now);
                    while let Some(b) = n.poll_transmit() {
                        plant.handle_transmit(now, n.id(), b).expect("well-formed");
                        busy = true;
                    }
                    plant.handle_reports(n.take_reports());
                }
                plant.handle_timeout(now);
                while let Some((id, bytes)) = plant.poll_delivery() {
                    let n = &mut nodes[index[&id]];
                    n.handle_datagram(now, bytes).expect("well-formed");
                    busy = true;
                }
                while let Some((id, cmd)) = plant.poll_command() {
                    nodes[index[&id]].handle_command(now, cmd);
                    busy = true;
                }
                if !busy {
                    break;
                }
            }
            let next = nodes
                .iter()
                .filter_map(LiveNode::poll_timeout)
                .chain(plant.poll_timeout())
                .min();
            match next {
                Some(t) if t <= end && (now < plant.traffic_end() || plant.open_messages() > 0) => {
                    now = t.max(now)
                }
                _ => break,
            }
        }
        assert_eq!(plant.open_messages(), 0, "messages still open at {now}");
        let out = plant.finish(nodes);
        assert!(out.truth.messages.len() > 10);
        assert!(out.truth.messages.iter().all(|m| m.delivered_at.is_some()));
        assert_eq!(out.truth.integrity_errors, 0);
        assert_eq!(out.truth.duplicate_deliveries, 0);
        assert!(out.stats.li_records > 0, "the POI delivered nothing");
    }
}
