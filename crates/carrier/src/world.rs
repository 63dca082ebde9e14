//! The driver: building a world from a scenario and running it to completion.
//!
//! The driver pops events from the [`netsim::Network`] in (time, sequence) order and hands
//! each to the node it concerns, inside a tracing span with the node's name and the simulated
//! time. A node reads the time from an [`Io`] and pushes transmits and typed timers into it;
//! the driver carries them out on the network in order and turns the node's [`NodeEvent`]s into
//! ground truth, call records and counters. Only the driver (this file, `attack.rs`,
//! `collect.rs`) touches the network.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use capture::active::Arm;
use capture::{Captures, Warrant};
use netsim::{Event, Network, NodeId, TapId};
use proto::keys::StaticKeypair;
use scenario::Scenario;
use serde::Serialize;
use simcore::{Duration, FixedMap, SeedTree, Timestamp, Watch};

use crate::attack::Attacker;
use crate::capability::Capable;
use crate::countermeasures;
use crate::directory::Directory;
use crate::endpoint::LinkTotals;
use crate::error::CarrierError;
use crate::handset::{Env, Handset};
use crate::io::{CallFact, Io, NodeEvent, Output};
use crate::li::{Charged, Poi, RecordStore};
use crate::mobility::Mobility;
use crate::nodes::{Input, Logic};
use crate::signal_app::KeyServer;
use crate::timer::Timer;
use crate::topology::*;
use crate::traffic::Planned;
use crate::truth::GroundTruth;

/// After traffic stops, the run drains for this long (retransmissions back off to 60 s, so on
/// links of ordinary quality anything deliverable arrives well within it; location traces and
/// the end of the run are measured to here).
pub(crate) const DRAIN: Duration = Duration::from_secs(6 * 3600);

/// The retry budget: while any message is neither delivered nor failed, the run keeps
/// draining past [`DRAIN`], up to this long after the traffic stopped (loss and damage cost
/// time, never messages). A message still undelivered then fails with that reason.
pub const MAX_DRAIN: Duration = scenario::RETRY_BUDGET;

/// Everything a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// What the adversary's vantage points recorded: its only input.
    pub captures: Captures,
    /// What really happened: the scorer's other input.
    pub truth: GroundTruth,
    /// Every warrant of every carrier (ground truth of the intercept lists).
    pub warrants: Vec<Warrant>,
    /// Every carrier's call-record store, whether or not the adversary reads it:
    /// `(carrier name, records)` in scenario order (for `records.csv`).
    pub records: Vec<(String, Arc<capture::RecordLog>)>,
    /// Every record every point of interception delivered, decoded, per carrier in scenario
    /// order (for `iri.csv`).
    pub intercepts: Vec<capture::InterceptRecord>,
    /// Counters of the run.
    pub stats: RunStats,
    /// What the adversary holds beyond its captures: stolen secrets, weak-RNG devices, the
    /// quantum oracle, the key directory.
    pub capabilities: capture::Capabilities,
    /// What the apps' countermeasures cost ([`countermeasures`]): bytes per app, and the same
    /// run without countermeasures when any is on.
    pub costs: countermeasures::Costs,
}

/// Counters of a run, for reports and tests.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunStats {
    /// Events processed by the network.
    pub events: u64,
    /// Simulated time when the last event was processed.
    pub end: Timestamp,
    /// Datagrams sent by endpoints and hooks.
    pub packets_sent: u64,
    /// Datagrams that reached their destination intact.
    pub packets_delivered: u64,
    /// Datagrams lost on links.
    pub packets_lost: u64,
    /// Frames damaged on a link and dropped by the next hop's frame check.
    pub packets_damaged_dropped: u64,
    /// Frames dropped because their link or node was down (`[[faults.partition]]`).
    pub packets_partitioned: u64,
    /// Datagrams dropped at their destination for a bad checksum (damage the frame check
    /// missed: `undetected_corrupt`).
    pub packets_corrupt_dropped: u64,
    /// Extra copies made by links.
    pub packets_duplicated: u64,
    /// Datagrams no route led to (must be 0).
    pub packets_unroutable: u64,
    /// Reliable-transport totals.
    pub links: LinkTotals,
    /// Records delivered by points of interception to mediation nodes.
    pub li_records: u64,
    /// LI records that reached a law-enforcement agency.
    pub li_delivered_to_lea: u64,
    /// OTT envelopes relayed by the server.
    pub ott_relayed: u64,
    /// Wire PDUs an endpoint could not decode (must be 0 without corruption past checksums).
    pub undecodable_pdus: u64,
    /// End-to-end sessions that failed (with the reason counted per kind).
    pub session_failures: BTreeMap<String, u64>,
}

pub(crate) struct World<'s> {
    pub(crate) sc: &'s Scenario,
    pub(crate) seeds: SeedTree,
    pub(crate) net: Network,
    pub(crate) logic: Vec<Logic>,
    /// What nodes may read ([`crate::directory`]).
    pub(crate) dir: Directory,
    pub(crate) sub_node: Vec<NodeId>,
    /// Every subscriber's static key pair (for the capabilities and the attack site; each
    /// handset holds its own).
    pub(crate) statics: Vec<Option<StaticKeypair>>,
    /// The key directory: the published static public keys.
    pub(crate) public_keys: Vec<Option<[u8; 32]>>,
    pub(crate) infra: Vec<Infra>,
    pub(crate) stores: Vec<Arc<Mutex<RecordStore>>>,
    pub(crate) charged: Vec<Arc<FixedMap<Ipv4Addr, Charged>>>,
    pub(crate) li_counts: Vec<Arc<Mutex<u64>>>,
    pub(crate) warrants: Vec<Warrant>,
    pub(crate) taps: Vec<Option<TapId>>,
    /// The adversary's on-path components ([`crate::attack`]).
    pub(crate) attackers: Vec<Attacker>,
    pub(crate) truth: GroundTruth,
    /// The planned messages, until [`World::start`] hands them to their senders.
    pub(crate) planned: Vec<Planned>,
    /// The planned calls, until [`World::start`] sets them up.
    pub(crate) planned_calls: Vec<crate::voice::PlannedCall>,
    pub(crate) stats: RunStats,
    /// The adversary's declared capabilities, made real (see [`crate::capability`]).
    pub(crate) caps: Capable,
    /// The OTT server's Signal key server ([`crate::signal_app`]).
    pub(crate) key_server: KeyServer,
    /// The texts handed to each end-to-end session (for the truth of attacks on it).
    pub(crate) session_texts: BTreeMap<u64, Vec<std::sync::Arc<str>>>,
    /// Every envelope a Signal device rejected: (subscriber, when, failure kind).
    pub(crate) signal_failures: Vec<(usize, Timestamp, String)>,
    /// Where every subscriber is over time.
    pub(crate) mobility: Arc<Mobility>,
    /// Points of interception, per carrier (for the final flush).
    pub(crate) pois: Vec<Arc<Mutex<Poi>>>,
    /// Edge-router taps per vantage entry (empty for other kinds).
    pub(crate) edge_taps: Vec<Vec<TapId>>,
    /// The OTT server's node.
    pub(crate) ott_node: NodeId,
    /// What the node being handled asked of the network ([`crate::io`]); only the driver
    /// (`run`, `dispatch`, `finish`) touches `net`.
    pub(crate) io: Io,
}

/// Runs `scenario` with `seed` to completion: every planned message is sent, and the network
/// drains until nothing is left in flight (or [`DRAIN`] after the traffic stops).
///
/// `arm` builds the adversary's on-path components for the scenario's `[[adversary.onpath]]`
/// entries (the pipeline passes `onpath::Armory`); a scenario with entries is refused when it
/// is [`capture::active::Unarmed`].
pub fn run(scenario: &Scenario, seed: u64, arm: &dyn Arm) -> Result<RunOutput, CarrierError> {
    run_watched(scenario, seed, arm, &Watch::new())
}

/// Events handled between two looks at the [`Watch`]: progress is published and a stop request
/// noticed within this many events (a few milliseconds of work).
const WATCH_EVERY: u64 = 1 << 14;

/// [`run`], publishing its progress (simulated time, events) to `watch` and stopping with
/// [`CarrierError::Interrupted`] soon after `watch` is asked to stop. What the run computes does
/// not depend on the watch.
pub fn run_watched(
    scenario: &Scenario,
    seed: u64,
    arm: &dyn Arm,
    watch: &Watch,
) -> Result<RunOutput, CarrierError> {
    if !scenario.adversary.onpath.is_empty() && !arm.armed() {
        return Err(CarrierError::Unarmed);
    }
    if !scenario.apps.iter().any(|a| a.countermeasures.any()) {
        return simulate(scenario, seed, arm, watch, true);
    }
    // The same run without countermeasures is the costs' baseline: an independent world (its
    // own seed tree, network and nodes; nothing shared but read-only inputs), so it runs on a
    // second core beside the main one, and the output is what running the two one after the
    // other gives. Only the main run publishes progress; both stop when the watch asks.
    let stripped = countermeasures::strip(scenario);
    let (main, base) = std::thread::scope(|s| {
        let base = s.spawn(|| simulate(&stripped, seed, arm, watch, false));
        let main = simulate(scenario, seed, arm, watch, true);
        (main, base.join())
    });
    let base = base.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let mut out = main?;
    let base = base?;
    out.costs.baseline = Some(countermeasures::Baseline {
        apps: base.costs.apps,
        latency_ns: countermeasures::latencies(&base.truth),
    });
    Ok(out)
}

/// One world from build to output; publishes its progress to `watch` when `publish`.
fn simulate(
    scenario: &Scenario,
    seed: u64,
    arm: &dyn Arm,
    watch: &Watch,
    publish: bool,
) -> Result<RunOutput, CarrierError> {
    let seeds = SeedTree::new(seed);
    let mut w = World::build(scenario, seeds, arm, watch)?;
    w.start();
    let watch = &mut Watched {
        watch,
        next: 0,
        publish,
    };
    let deadline = Timestamp::ZERO + scenario.duration + DRAIN;
    for at in w.caps.session_theft_times() {
        while let Some(ev) = w.net.poll_until(at.min(deadline)) {
            w.dispatch_watched(ev, watch)?;
        }
        w.steal_state(at);
    }
    while let Some(ev) = w.net.poll_until(deadline) {
        w.dispatch_watched(ev, watch)?;
    }
    // Messages still in flight: keep going while there is work, within the retry budget (the
    // end of the run moves only if something happens).
    let budget = Timestamp::ZERO + scenario.duration + MAX_DRAIN;
    while w.truth.open > 0 {
        let Some(ev) = w.net.poll_until_or_idle(budget) else {
            break;
        };
        w.dispatch_watched(ev, watch)?;
    }
    // Sessions still open at the end: the points of interception report their END.
    w.flush_intercepts();
    let tail = w.net.now() + Duration::from_secs(60);
    while let Some(ev) = w.net.poll_until(tail) {
        w.dispatch_watched(ev, watch)?;
    }
    if publish {
        watch.watch.publish(w.net.now(), w.net.stats().events);
    }
    Ok(w.finish())
}

/// A [`Watch`] and the event count at which the run next looks at it.
struct Watched<'a> {
    watch: &'a Watch,
    next: u64,
    /// Whether this run publishes its progress (a baseline run beside the main one does not).
    publish: bool,
}

impl World<'_> {
    /// [`World::dispatch`], and every [`WATCH_EVERY`] events: publish progress to the watch, and
    /// stop if it asks.
    fn dispatch_watched(&mut self, ev: Event, w: &mut Watched<'_>) -> Result<(), CarrierError> {
        self.dispatch(ev);
        let events = self.net.stats().events;
        if events >= w.next {
            w.next = events + WATCH_EVERY;
            let now = self.net.now();
            if w.publish {
                w.watch.publish(now, events);
            }
            if w.watch.stop_requested() {
                return Err(CarrierError::Interrupted { at: now });
            }
        }
        Ok(())
    }
}

impl World<'_> {
    /// Sends the END records of sessions still open to the mediation nodes.
    pub(crate) fn flush_intercepts(&mut self) {
        let now = self.net.now();
        for (c, poi) in self.pois.clone().iter().enumerate() {
            let out = poi.lock().map(|mut p| p.flush(now)).unwrap_or_default();
            for p in out {
                self.net.send(self.infra[c].core, p);
            }
        }
    }

    /// Session-state theft at `at`: copies the state of the end-to-end app of every targeted
    /// handset (a Noise app's live sessions, a Signal device's whole state). On-path
    /// components get a copy too (a Signal takeover continues a stolen ratchet).
    fn steal_state(&mut self, at: Timestamp) {
        for i in 0..self.dir.subs.len() {
            if !self.caps.steals_sessions_of(at, i) {
                continue;
            }
            let Some(Logic::Sub(h)) = self.logic.get(self.sub_node[i].0 as usize) else {
                continue;
            };
            let secrets = h.app_secrets(true);
            self.stolen(at, i, secrets);
        }
    }

    /// Session state `secrets` copied from subscriber `i`'s handset at `at`: to the adversary's
    /// capabilities, and to its on-path components (a Signal takeover continues a stolen ratchet).
    pub(crate) fn stolen(&mut self, at: Timestamp, i: usize, secrets: Vec<capture::Secret>) {
        for secret in secrets {
            let stolen = capture::StolenSecret {
                at,
                owner: capture::Owner::Subscriber(self.dir.subs[i].msisdn.clone()),
                secret,
            };
            if matches!(stolen.secret, capture::Secret::SignalState(_)) {
                for attacker in &self.attackers {
                    attacker.give(&stolen);
                }
            }
            self.caps.steal(stolen.at, stolen.owner, stolen.secret);
        }
    }
}

impl<'s> World<'s> {
    /// Sets up every planned call, attaches handsets (tunnel handshakes go out) and schedules
    /// every planned message.
    fn start(&mut self) {
        self.io.begin(self.net.now());
        self.schedule_calls();
        self.start_nodes();
        self.apply_io();
        // The day's timers went out at once: do not keep room for them all day.
        self.io.shrink();
    }

    /// Carries out what the handled node asked for, in order, and turns what it reported into
    /// records and counters.
    pub(crate) fn apply_io(&mut self) {
        for o in self.io.take() {
            match o {
                Output::Transmit { from, packet } => {
                    tracing::trace!(
                        src = %packet.src(),
                        dst = %packet.dst(),
                        bytes = packet.len(),
                        "packet sent"
                    );
                    self.net.send(from, packet);
                }
                Output::Timer { node, at, timer } => self.net.set_timer(node, at, timer.token()),
            }
        }
        let now = self.io.now();
        let events: Vec<NodeEvent> = self.io.take_events().collect();
        // The key server asks the devices whose prekeys were handed out to top them up.
        for sub in self.apply_events(now, events) {
            self.with_handset(sub, |h, env, io| h.prekeys_taken(env, io));
            self.apply_io();
        }
    }

    /// Turns what nodes reported at `now` into ground truth, records and counters; returns the
    /// subscribers whose devices must top up their prekeys (the driver asks them).
    pub(crate) fn apply_events(&mut self, now: Timestamp, events: Vec<NodeEvent>) -> Vec<usize> {
        let mut refills = Vec::new();
        for e in events {
            match e {
                NodeEvent::Undecodable => {
                    tracing::debug!("undecodable PDU");
                    self.stats.undecodable_pdus += 1;
                }
                NodeEvent::Record { carrier, record } => {
                    if let Ok(mut st) = self.stores[carrier].lock() {
                        st.push(record);
                    }
                }
                NodeEvent::Delivered { to, text } => self.truth.delivered(to, &text, now),
                NodeEvent::Failed { text, why } => self.truth.failed(&text, &why),
                NodeEvent::SessionOpened { label } => {
                    *self.truth.sessions.entry(label).or_default() += 1;
                }
                NodeEvent::SessionFailed { session, failure } => {
                    *self
                        .stats
                        .session_failures
                        .entry(short_reason(&failure.reason))
                        .or_default() += 1;
                    self.truth.session_failed(session, failure);
                }
                NodeEvent::IntegrityError => {
                    tracing::debug!(
                        "integrity error: a handset decrypted something it cannot show"
                    );
                    self.truth.integrity_errors += 1;
                }
                NodeEvent::SignalRatchetKey { message, key } => {
                    self.truth.signal_ratchet_keys.insert(message, key);
                }
                NodeEvent::SignalChain {
                    from,
                    to,
                    key,
                    sent,
                } => {
                    let c = self
                        .truth
                        .signal_chains
                        .entry(key)
                        .or_insert(crate::TruthChain {
                            from,
                            to,
                            first_sent: now,
                            messages: 0,
                        });
                    c.messages = c.messages.max(sent);
                }
                NodeEvent::SessionRefused { reason } => {
                    *self.stats.session_failures.entry(reason).or_default() += 1;
                }
                NodeEvent::SignalRejected { sub, kind } => {
                    *self
                        .stats
                        .session_failures
                        .entry(format!("signal {kind}"))
                        .or_default() += 1;
                    self.signal_failures.push((sub, now, kind));
                }
                NodeEvent::PrekeysTaken { sub } => refills.push(sub),
                NodeEvent::SessionText { session, text } => {
                    self.session_texts.entry(session).or_default().push(text);
                }
                NodeEvent::Call { call, fact } => self.call_fact(call, fact, now),
            }
        }
        refills
    }

    /// What a handset reported about call `call` (its index in the plan), into the truth.
    fn call_fact(&mut self, call: usize, fact: CallFact, now: Timestamp) {
        let Some(tc) = self.truth.calls.get_mut(call) else {
            return;
        };
        match fact {
            CallFact::Answered => tc.answer = Some(now),
            CallFact::Ended { cause } => {
                tc.end = Some(now);
                tc.cause = cause.into();
            }
            CallFact::MediaSent {
                caller: true,
                bytes,
            } => {
                tc.caller_packets += 1;
                tc.caller_bytes += bytes;
            }
            CallFact::MediaSent {
                caller: false,
                bytes,
            } => {
                tc.callee_packets += 1;
                tc.callee_bytes += bytes;
            }
            CallFact::MediaReceived => tc.packets_received += 1,
            CallFact::MediaError => tc.media_errors += 1,
        }
    }

    /// Subscriber `i`'s handset.
    pub(crate) fn handset(&self, i: usize) -> Option<&Handset> {
        match self.logic.get(self.sub_node.get(i)?.0 as usize)? {
            Logic::Sub(h) => Some(h),
            _ => None,
        }
    }

    /// Subscriber `i`'s handset, to change.
    pub(crate) fn handset_mut(&mut self, i: usize) -> Option<&mut Handset> {
        match self.logic.get_mut(self.sub_node.get(i)?.0 as usize)? {
            Logic::Sub(h) => Some(h),
            _ => None,
        }
    }

    /// Runs `f` on subscriber `i`'s handset with its environment, then carries out what it
    /// asked for.
    pub(crate) fn with_handset(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Handset, &mut Env<'_>, &mut Io),
    ) {
        let Some(node) = self.sub_node.get(i).map(|n| n.0 as usize) else {
            return;
        };
        let (logic, mut env, io) = self.split();
        if let Some(Logic::Sub(h)) = logic.get_mut(node) {
            f(h, &mut env, io);
        }
    }

    /// The nodes, the environment a node reads while it handles one input, and the [`Io`] it
    /// answers through: disjoint borrows of the world, so a node is handled in place.
    fn split(&mut self) -> (&mut [Logic], Env<'_>, &mut Io) {
        let env = Env {
            dir: &self.dir,
            sc: self.sc,
            seeds: &self.seeds,
            keys: &self.public_keys,
            key_server: &mut self.key_server,
            exposure: &self.caps,
        };
        (&mut self.logic, env, &mut self.io)
    }

    /// Hands one network event to the node it concerns, inside a `node` span that names the node
    /// and carries the simulated time (`t_ns`); never the wall clock.
    fn dispatch(&mut self, ev: Event) {
        let node = match &ev {
            Event::Deliver { node, .. } | Event::Timer { node, .. } => *node,
        };
        let span = tracing::debug_span!(
            "node",
            node = self.net.node_name(node),
            t_ns = self.net.now().as_nanos()
        );
        let _entered = span.enter();
        self.dispatch_in_span(ev);
    }

    fn dispatch_in_span(&mut self, ev: Event) {
        let node = match &ev {
            Event::Deliver { node, .. } | Event::Timer { node, .. } => *node,
        };
        let idx = node.0 as usize;
        if idx >= self.logic.len() {
            return;
        }
        let input = match ev {
            Event::Timer { token, .. } => match Timer::from_token(token) {
                Some(t) => Input::Timer(t),
                None => return,
            },
            Event::Deliver { packet, .. } => Input::Datagram(packet),
        };
        self.io.begin(self.net.now());
        let (logic, mut env, io) = self.split();
        logic[idx].handle(&mut env, io, input);
        self.apply_io();
    }
}

/// The first words of an error, as a counter key.
fn short_reason(why: &str) -> String {
    why.split(':').next().unwrap_or(why).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn small() -> Scenario {
        let text = scenario::builtin("small-lab").expect("small-lab is built in");
        scenario::parse("sim/small-lab.toml", text).expect("small-lab parses")
    }

    #[test]
    fn every_shipped_topology_is_a_tree_so_routing_memory_is_linear() {
        for (name, text) in scenario::BUILTIN_SCENARIOS {
            if *name == "carrier-scale" {
                // A million subscribers: the same carrier trees as salt-typhoon's, too large to
                // build in a unit test (tests/golden.rs runs it at 2,000 subscribers).
                continue;
            }
            let sc = scenario::parse(name, text).expect("parses");
            let w = World::build(
                &sc,
                SeedTree::new(1),
                &capture::active::Unarmed,
                &Watch::new(),
            )
            .expect("builds");
            assert!(
                w.net.routes_by_interval(),
                "{name}: the network is not a forest"
            );
        }
    }

    #[test]
    fn the_plan_moves_to_the_handsets_at_the_start_and_is_not_kept() {
        let sc = small();
        let mut w = World::build(
            &sc,
            SeedTree::new(7),
            &capture::active::Unarmed,
            &Watch::new(),
        )
        .expect("builds");
        let n = w.planned.len();
        assert!(n > 10, "{n} planned messages");
        w.start();
        assert!(w.planned.is_empty(), "{} kept", w.planned.len());
        assert_eq!(
            w.truth.messages.len(),
            n,
            "every planned message is in the truth"
        );
        assert_eq!(w.truth.messages.capacity(), n, "no spare capacity");
        assert_eq!(
            w.io.capacity(),
            0,
            "the start's timers are not kept room for"
        );
        // One copy of each text (the sender's outbox and the truth point at it) and of each
        // app's name (every truth message of the app points at it).
        let mut apps: BTreeMap<&str, &Arc<str>> = BTreeMap::new();
        for m in &w.truth.messages {
            let Some(Logic::Sub(h)) = w.logic.get(w.sub_node[m.from].0 as usize) else {
                panic!("message {} from a subscriber without a handset", m.id);
            };
            let out = h.outgoing(m.id).expect("in its sender's outbox");
            assert!(Arc::ptr_eq(&out.text, &m.text), "{m:?}");
            let first = apps.entry(&*m.app).or_insert(&m.app);
            assert!(Arc::ptr_eq(first, &m.app), "{m:?}");
        }
        assert!(apps.len() >= 2, "{apps:?}");
    }

    #[test]
    fn small_lab_delivers_every_message_intact() {
        let sc = small();
        let out = run(&sc, 7, &capture::active::Unarmed).expect("run");
        let t = &out.truth;
        assert!(t.messages.len() > 10, "{} messages", t.messages.len());
        let undelivered: Vec<_> = t
            .messages
            .iter()
            .filter(|m| m.delivered_at.is_none())
            .collect();
        assert!(undelivered.is_empty(), "undelivered: {undelivered:#?}");
        assert_eq!(t.integrity_errors, 0);
        assert_eq!(t.duplicate_deliveries, 0);
        assert_eq!(out.stats.packets_unroutable, 0);
        assert!(out.stats.li_records > 0, "the POI delivered nothing");
        assert!(out
            .captures
            .vantages
            .iter()
            .any(|v| v.packets.as_ref().is_some_and(|p| !p.packets.is_empty())));
    }
}
