//! The driver: building a world from a scenario and running it to completion.
//!
//! The driver pops events from the [`netsim::Network`] in (time, sequence) order and hands
//! each to the node it concerns, inside a tracing span with the node's name and the simulated
//! time. A node reads the time from an [`Io`] and pushes transmits and typed timers into it;
//! the driver carries them out on the network in order and turns the node's [`NodeEvent`]s into
//! ground truth, call records and counters. Only the driver (this file, `attack.rs`,
//! `collect.rs`) touches the network.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use capture::active::Arm;
use capture::ProtocolId;
use capture::{CallRecord, Captures, Warrant, WarrantKind};
use netsim::{Event, Network, NetworkBuilder, NodeId, Packet, TapId, TapPoint};
use proto::keys::StaticKeypair;
use proto::tunnel::NkTunnel;
use rand_core::RngCore;
use scenario::{AppKind, Scenario, VantageKind};
use serde::Serialize;
use simcore::{Duration, SeedTree, Timestamp};

use crate::attack::Attacker;
use crate::capability::Capable;
use crate::countermeasures;
use crate::directory::{AppInfo, Directory};
use crate::endpoint::{Endpoint, LinkTotals};
use crate::error::CarrierError;
use crate::ids::{digits, imei, Subscriber};
use crate::io::{Io, NodeEvent, Output};
use crate::li::{Charged, Charging, Poi, PoiHook, RecordStore, Target};
use crate::mediation::{LeaNode, MediationNode};
use crate::mobility::Mobility;
use crate::nodes::{Logic, OttClient, Outgoing, RadioPath, SubNode, TunnelServer, Via};
use crate::ott::OttNode;
use crate::signal_app;
use crate::timer::Timer;
use crate::topology::*;
use crate::traffic::{plan, unit, Planned, TrafficParams};
use crate::truth::{GroundTruth, TruthMessage};
use crate::voice::{self, CallParams, CallState};

/// After traffic stops, the run drains for this long (retransmissions back off to 60 s, so on
/// links of ordinary quality anything deliverable arrives well within it; location traces and
/// the end of the run are measured to here).
const DRAIN: Duration = Duration::from_secs(6 * 3600);

/// The retry budget: while any message is neither delivered nor failed, the run keeps
/// draining past [`DRAIN`], up to this long after the traffic stopped (loss and damage cost
/// time, never messages). A message still undelivered then fails with that reason.
pub const MAX_DRAIN: Duration = Duration::from_secs(7 * 86_400);

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
    pub records: Vec<(String, Vec<CallRecord>)>,
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
    pub(crate) statics: Vec<Option<StaticKeypair>>,
    pub(crate) infra: Vec<Infra>,
    pub(crate) stores: Vec<Arc<Mutex<RecordStore>>>,
    pub(crate) charged: Vec<Arc<BTreeMap<Ipv4Addr, Charged>>>,
    pub(crate) li_counts: Vec<Arc<Mutex<u64>>>,
    pub(crate) warrants: Vec<Warrant>,
    pub(crate) taps: Vec<Option<TapId>>,
    /// The adversary's on-path components ([`crate::attack`]).
    pub(crate) attackers: Vec<Attacker>,
    pub(crate) truth: GroundTruth,
    pub(crate) planned: Vec<Planned>,
    pub(crate) stats: RunStats,
    /// The adversary's declared capabilities, made real (see [`crate::capability`]).
    pub(crate) caps: Capable,
    /// Signal-style apps: devices, key server, mailbox ([`signal_app`]).
    pub(crate) signal: signal_app::SignalApps,
    /// Every planned voice call and its state.
    pub(crate) calls: Vec<CallState>,
    /// Where every subscriber is over time.
    pub(crate) mobility: Arc<Mobility>,
    /// Points of interception, per carrier (for the final flush).
    pub(crate) pois: Vec<Arc<Mutex<Poi>>>,
    /// Edge-router taps per vantage entry (empty for other kinds).
    pub(crate) edge_taps: Vec<Vec<TapId>>,
    /// Padding, receipts, cover traffic and mixing ([`countermeasures`]).
    pub(crate) cm: countermeasures::Cm,
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
    if !scenario.adversary.onpath.is_empty() && !arm.armed() {
        return Err(CarrierError::Unarmed);
    }
    let seeds = SeedTree::new(seed);
    let mut w = World::build(scenario, seeds, arm)?;
    w.start();
    let deadline = Timestamp::ZERO + scenario.duration + DRAIN;
    for at in w.caps.session_theft_times() {
        while let Some(ev) = w.net.poll_until(at.min(deadline)) {
            w.dispatch(ev);
        }
        w.steal_sessions(at);
        w.signal_steal_devices(at);
    }
    while let Some(ev) = w.net.poll_until(deadline) {
        w.dispatch(ev);
    }
    // Messages still in flight: keep going while there is work, within the retry budget (the
    // end of the run moves only if something happens).
    let budget = Timestamp::ZERO + scenario.duration + MAX_DRAIN;
    while w.truth.open > 0 {
        let Some(ev) = w.net.poll_until_or_idle(budget) else {
            break;
        };
        w.dispatch(ev);
    }
    // Sessions still open at the end: the points of interception report their END.
    w.flush_intercepts();
    let tail = w.net.now() + Duration::from_secs(60);
    while let Some(ev) = w.net.poll_until(tail) {
        w.dispatch(ev);
    }
    let mut out = w.finish();
    if scenario.apps.iter().any(|a| a.countermeasures.any()) {
        let base = run(&countermeasures::strip(scenario), seed, arm)?;
        out.costs.baseline = Some(countermeasures::Baseline {
            apps: base.costs.apps,
            latency_ns: countermeasures::latencies(&base.truth),
        });
    }
    Ok(out)
}

impl World<'_> {
    /// Sends the END records of sessions still open to the mediation nodes.
    fn flush_intercepts(&mut self) {
        let now = self.net.now();
        for (c, poi) in self.pois.clone().iter().enumerate() {
            let out = poi.lock().map(|mut p| p.flush(now)).unwrap_or_default();
            for p in out {
                self.net.send(self.infra[c].core, p);
            }
        }
    }

    /// Session-state theft at `at`: copies the transport keys of every established, live
    /// end-to-end session of the targeted handsets.
    fn steal_sessions(&mut self, at: Timestamp) {
        for (i, s) in self.dir.subs.iter().enumerate() {
            if !self.caps.steals_sessions_of(at, i) {
                continue;
            }
            let Some(Logic::Sub(sn)) = self.logic.get(self.sub_node[i].0 as usize) else {
                continue;
            };
            for (sid, e) in sn.ott.iter().flat_map(|o| &o.sessions) {
                if !e.session.is_dead() {
                    self.caps.steal_session(at, &s.msisdn, *sid, &e.session);
                }
            }
        }
    }
}

impl<'s> World<'s> {
    fn build(sc: &'s Scenario, seeds: SeedTree, arm: &dyn Arm) -> Result<Self, CarrierError> {
        let apps = sc
            .apps
            .iter()
            .map(AppInfo::new)
            .collect::<Result<Vec<_>, _>>()?;
        if sc.carriers.len() > 200 {
            return Err(CarrierError::TooLarge("more than 200 carriers".into()));
        }
        let mut b = NetworkBuilder::new();
        let radio = link_params(&sc.links.radio);
        let core = link_params(&sc.links.core);
        let inter = link_params(&sc.links.interconnect);
        let internet = link_params(&sc.links.internet);
        let ix = b.add_node("ix", IX_ADDR);
        let ott = b.add_node("ott", OTT_ADDR);
        b.add_link(ix, ott, internet);

        let mut id_rng = seeds.stream("identities");
        let mut used_msisdn = BTreeSet::new();
        let mut subs = Vec::new();
        let mut sub_node = Vec::new();
        let mut infra = Vec::new();
        let mut mediation_links = Vec::new();
        for (c, car) in sc.carriers.iter().enumerate() {
            if car.subscribers as usize > 60_000 || car.cells > 250 {
                return Err(CarrierError::TooLarge(format!(
                    "carrier {}: at most 60000 subscribers and 250 cells",
                    car.name
                )));
            }
            let n = |s: &str| format!("{}.{s}", car.name);
            let pgw = b.add_node(&n("pgw"), pgw_addr(c));
            let corer = b.add_node(&n("core"), core_addr(c));
            let smsc = b.add_node(&n("smsc"), smsc_addr(c));
            let med = b.add_node(&n("mediation"), mediation_addr(c));
            let edge = b.add_node(&n("edge"), edge_addr(c));
            let lea = b.add_node(&n("lea"), lea_addr(c));
            b.add_link(pgw, corer, core.clone());
            b.add_link(corer, smsc, core.clone());
            // LI delivery is internal and lossless: the intercept chain itself is not what
            // the scenario's fault settings study.
            mediation_links.push(b.add_link(corer, med, netsim::LinkParams::default()));
            b.add_link(med, lea, inter.clone());
            b.add_link(corer, edge, core.clone());
            b.add_link(edge, ix, inter.clone());
            let cells: Vec<NodeId> = (0..car.cells as usize)
                .map(|j| {
                    let id = b.add_node(&n(&format!("cell{j}")), cell_addr(c, j));
                    b.add_link(id, pgw, core.clone());
                    id
                })
                .collect();
            // Apps in exact proportions, shuffled.
            let total = car.subscribers as usize;
            let mut app_of = Vec::with_capacity(total);
            let mut cum = 0.0;
            for (name, share) in &car.population {
                cum += share;
                let upto = ((cum * total as f64).round() as usize).min(total);
                let idx = sc.apps.iter().position(|a| &a.name == name).unwrap_or(0);
                while app_of.len() < upto {
                    app_of.push(idx);
                }
            }
            while app_of.len() < total {
                app_of.push(app_of.last().copied().unwrap_or(0));
            }
            for i in (1..total).rev() {
                let j = (id_rng.next_u64() % (i as u64 + 1)) as usize;
                app_of.swap(i, j);
            }
            for (k, &app) in app_of.iter().enumerate() {
                let mut imsi = format!("{}{}", car.mcc, car.mnc);
                let msin = 15usize.saturating_sub(imsi.len());
                digits(&mut id_rng, msin, &mut imsi);
                let msisdn = loop {
                    let mut m = format!("+{}", car.msisdn_prefix.trim_start_matches('+'));
                    digits(&mut id_rng, 7, &mut m);
                    if used_msisdn.insert(m.clone()) {
                        break m;
                    }
                };
                let cell = (id_rng.next_u32() % car.cells.max(1)) as usize;
                let ip = subscriber_addr(c, k);
                let node = b.add_node(&n(&format!("sub{k}")), ip);
                b.add_link(node, cells[cell], radio.clone());
                subs.push(Subscriber {
                    index: subs.len(),
                    carrier: c,
                    imsi,
                    msisdn,
                    imei: imei(&mut id_rng),
                    cell: cell as u32,
                    app,
                    ip,
                });
                sub_node.push(node);
            }
            infra.push(Infra {
                name: car.name.clone(),
                pgw,
                core: corer,
                smsc,
                mediation: med,
                lea,
            });
        }
        // Scheduled partitions ([[faults.partition]]), by the names given above.
        let names: Vec<String> = (0..)
            .map(NodeId)
            .map_while(|n| b.node_name(n).map(str::to_owned))
            .collect();
        let ends: Vec<_> = b.links().collect();
        for o in partitions(sc, &names, &ends) {
            match o {
                Outage::Link(l, from, until) => b.add_link_outage(l, from, until),
                Outage::Node(n, from, until) => b.add_node_outage(n, from, until),
            }
        }
        let mut net = b.build(&seeds.child("net"))?;
        let by_msisdn = subs.iter().map(|s| (s.msisdn.clone(), s.index)).collect();

        // Static keys from the seed for every E2EE user (published in the key directory).
        let statics: Vec<Option<StaticKeypair>> = subs
            .iter()
            .map(|s| {
                matches!(apps[s.app].kind, AppKind::Noise { .. })
                    .then(|| StaticKeypair::generate(seeds.child("static").child(&s.msisdn).key()))
            })
            .collect();

        // Where everyone is over time.
        let home: Vec<u32> = subs.iter().map(|s| s.cell).collect();
        let cell_counts: Vec<u32> = subs.iter().map(|s| sc.carriers[s.carrier].cells).collect();
        let mobility = Arc::new(Mobility::build(
            &sc.mobility,
            &home,
            &cell_counts,
            Timestamp::ZERO + sc.duration + DRAIN,
            &seeds,
        ));
        let mut pois = Vec::new();

        // Warrants, charging and interception per carrier.
        let mut w_rng = seeds.stream("warrants");
        let mut warrants = Vec::new();
        let mut stores = Vec::new();
        let mut charged_all = Vec::new();
        let mut li_counts = Vec::new();
        let mut first = 0usize;
        for (c, car) in sc.carriers.iter().enumerate() {
            let n = car.subscribers as usize;
            let local = &subs[first..first + n];
            let mut chosen: Vec<(usize, WarrantKind, String)> = Vec::new();
            let mut taken = BTreeSet::new();
            for e in &car.warrants.explicit {
                let k = e.subscriber as usize;
                if k < n && taken.insert(k) {
                    let kind = match e.kind {
                        scenario::WarrantKind::Iri => WarrantKind::Iri,
                        scenario::WarrantKind::IriAndContent => WarrantKind::IriAndContent,
                    };
                    let agency = e.agency.clone().unwrap_or_else(|| agency(&mut w_rng));
                    chosen.push((k, kind, agency));
                }
            }
            let want = (car.warrants.count as usize).min(n.saturating_sub(taken.len()));
            let mut added = 0;
            while added < want {
                let k = (w_rng.next_u64() % n as u64) as usize;
                if taken.insert(k) {
                    let kind = if unit(&mut w_rng) < car.warrants.content_share {
                        WarrantKind::IriAndContent
                    } else {
                        WarrantKind::Iri
                    };
                    chosen.push((k, kind, agency(&mut w_rng)));
                    added += 1;
                }
            }
            let mut targets = Vec::new();
            for (i, (k, kind, agency)) in chosen.into_iter().enumerate() {
                let s = &local[k];
                let liid = format!("{}-{:04}", car.name.to_uppercase(), i + 1);
                warrants.push(Warrant {
                    liid: liid.clone(),
                    target_msisdn: s.msisdn.clone(),
                    target_imsi: s.imsi.clone(),
                    kind,
                    agency,
                    since: Timestamp::ZERO,
                });
                targets.push(Target {
                    liid,
                    msisdn: s.msisdn.clone(),
                    ip: s.ip,
                    sub: s.index,
                    kind,
                });
            }
            let count = Arc::new(Mutex::new(0u64));
            let poi = Arc::new(Mutex::new(Poi::new(
                car.name.clone(),
                targets,
                core_addr(c),
                mediation_addr(c),
                mobility.clone(),
                count.clone(),
            )));
            net.add_hook(infra[c].core, Box::new(PoiHook(poi.clone())));
            pois.push(poi);
            li_counts.push(count);
            let charged: Arc<BTreeMap<Ipv4Addr, Charged>> = Arc::new(
                local
                    .iter()
                    .map(|s| {
                        (
                            s.ip,
                            Charged {
                                index: s.index,
                                imsi: s.imsi.clone(),
                                imei: s.imei.clone(),
                                msisdn: s.msisdn.clone(),
                            },
                        )
                    })
                    .collect(),
            );
            let store = Arc::new(Mutex::new(RecordStore::new(mobility.clone())));
            net.add_hook(
                infra[c].pgw,
                Box::new(Charging::new(c, charged.clone(), store.clone())),
            );
            stores.push(store);
            charged_all.push(charged);
            first += n;
        }

        // The adversary's vantage points.
        let taps = sc
            .adversary
            .vantage
            .iter()
            .map(|v| {
                let c = sc.carriers.iter().position(|x| x.name == v.carrier)?;
                match v.kind {
                    VantageKind::CoreTap => Some(net.add_tap(TapPoint::Node(infra[c].core))),
                    VantageKind::Mediation => Some(net.add_tap(TapPoint::Link(mediation_links[c]))),
                    VantageKind::CallRecords | VantageKind::EdgeRouter => None,
                }
            })
            .collect();
        // Edge routers: a seeded share of the carrier's subscribers, a tap on each handset.
        let edge_taps = sc
            .adversary
            .vantage
            .iter()
            .map(|v| {
                let Some(c) = sc.carriers.iter().position(|x| x.name == v.carrier) else {
                    return Vec::new();
                };
                if v.kind != VantageKind::EdgeRouter {
                    return Vec::new();
                }
                let mut rng = seeds.child("edge-router").stream(&v.carrier);
                subs.iter()
                    .filter(|s| s.carrier == c)
                    .filter(|_| unit(&mut rng) < v.share)
                    .map(|s| net.add_tap(TapPoint::Node(sub_node[s.index])))
                    .collect()
            })
            .collect();

        let app_of = |s: &Subscriber| (apps[s.app].name.as_str(), apps[s.app].server_tunnel());
        let attackers = crate::attack::install(
            &crate::attack::Site {
                sc,
                seeds: &seeds,
                infra: &infra,
                subs: &subs,
                app_of: &app_of,
                statics: &statics,
            },
            &mut net,
            arm,
        );

        let traffic = &sc.traffic;
        let params = TrafficParams {
            mean_degree: traffic.mean_degree,
            degree_exponent: traffic.degree_exponent,
            cross_carrier: traffic.cross_carrier,
            messages_per_contact_per_day: traffic.messages_per_contact_per_day,
            reply_probability: traffic.reply_probability,
            reply_delay: traffic.reply_delay,
            min_len: traffic.message_length.min as usize,
            max_len: traffic.message_length.max as usize,
            duration: sc.duration,
            lognormal: (traffic.message_length.distribution
                == scenario::LengthDistribution::Lognormal)
                .then_some((traffic.message_length.median, traffic.message_length.sigma)),
            community_size: traffic.community_size as usize,
            community_mixing: traffic.community_mixing,
            diurnal: traffic.diurnal.clone(),
        };
        let carrier_of: Vec<usize> = subs.iter().map(|s| s.carrier).collect();
        let planned = plan(
            &carrier_of,
            sc.carriers.len(),
            &params,
            &seeds.child("traffic"),
        );

        let planned_calls = voice::plan_calls(
            &carrier_of,
            sc.carriers.len(),
            &params,
            &CallParams {
                calls_per_contact_per_day: traffic.calls_per_contact_per_day,
                mean: traffic.call_duration,
                answer: traffic.answer_probability,
                busy: traffic.busy_probability,
                drop: traffic.call_drop_probability,
            },
            &seeds.child("traffic"),
        );
        let contacts: Vec<(usize, usize)> = planned.iter().map(|p| (p.from, p.to)).collect();
        let caps = Capable::new(sc, &seeds, &subs, &statics, &contacts);
        let seeds_cm = seeds.clone();

        let mut w = World {
            sc,
            seeds,
            net,
            logic: Vec::new(),
            dir: Directory {
                subs,
                by_msisdn,
                apps,
                mobility: mobility.clone(),
                presence: Default::default(),
            },
            sub_node,
            statics,
            infra,
            stores,
            charged: charged_all,
            li_counts,
            warrants,
            taps,
            attackers,
            truth: GroundTruth::default(),
            planned,
            stats: RunStats::default(),
            caps,
            signal: signal_app::SignalApps::default(),
            calls: Vec::new(),
            mobility,
            pois,
            edge_taps,
            cm: countermeasures::Cm::new(sc, &seeds_cm),
            ott_node: NodeId(0),
            io: Io::default(),
        };
        w.ott_node = w.net.node_by_addr(OTT_ADDR).unwrap_or(NodeId(0));
        w.make_logic()?;
        w.io.begin(w.net.now());
        w.schedule_calls(planned_calls);
        w.apply_io();
        Ok(w)
    }

    fn make_logic(&mut self) -> Result<(), CarrierError> {
        let nodes = self.net.node_count();
        let mut logic: Vec<Logic> = (0..nodes).map(|_| Logic::Router).collect();
        let ott_node = self.net.node_by_addr(OTT_ADDR).map(|n| n.0 as usize);
        if let Some(i) = ott_node {
            logic[i] = Logic::Ott(Box::new(OttNode::new(
                NodeId(i as u32),
                TunnelServer::new(StaticKeypair::generate(
                    self.seeds.child("ott-static").key(),
                )),
                self.seeds.child("ott-server-tunnel"),
                self.sc
                    .apps
                    .iter()
                    .map(|a| a.countermeasures.mixing_delay.as_secs_f64())
                    .collect(),
                self.seeds.child("countermeasures").stream("mix"),
            )));
        }
        for (c, inf) in self.infra.iter().enumerate() {
            logic[inf.pgw.0 as usize] = Logic::Pgw(Box::new(crate::gateway::PgwNode {
                carrier: c,
                ep: Endpoint::new(inf.pgw, pgw_addr(c)),
                server: TunnelServer::new(StaticKeypair::generate(
                    self.seeds.child("pgw-static").child(&inf.name).key(),
                )),
                seeds: self.seeds.child("pgw-tunnel"),
            }));
            logic[inf.smsc.0 as usize] = Logic::Smsc(Box::new(crate::smsc::SmscNode {
                carrier: c,
                ep: Endpoint::new(inf.smsc, smsc_addr(c)),
                calls: BTreeMap::new(),
            }));
            logic[inf.mediation.0 as usize] = Logic::Mediation(MediationNode {
                lea: lea_addr(c),
                node: inf.mediation,
            });
            logic[inf.lea.0 as usize] = Logic::Lea(LeaNode::default());
        }
        let ott_public = match ott_node.map(|i| &logic[i]) {
            Some(Logic::Ott(o)) => o.server.key.public,
            _ => [0; 32],
        };
        for s in &self.dir.subs {
            let node = self.sub_node[s.index];
            let app = &self.dir.apps[s.app];
            let radio = if matches!(app.kind, AppKind::CarrierEncrypted) {
                let pgw_public = match &logic[self.infra[s.carrier].pgw.0 as usize] {
                    Logic::Pgw(p) => p.server.key.public,
                    _ => [0; 32],
                };
                RadioPath::Tunnel {
                    pgw: pgw_addr(s.carrier),
                    tunnel: NkTunnel::initiator(
                        pgw_public,
                        self.seeds.child("radio-tunnel").child(&s.msisdn).key(),
                    )?,
                }
            } else {
                RadioPath::Sms {
                    smsc: smsc_addr(s.carrier),
                }
            };
            let ott = match app.kind {
                AppKind::Noise { .. } | AppKind::Signal(_) => Some(OttClient {
                    app: s.app,
                    tunnel: if app.server_tunnel() {
                        Some(NkTunnel::initiator(
                            ott_public,
                            self.seeds.child("ott-tunnel").child(&s.msisdn).key(),
                        )?)
                    } else {
                        None
                    },
                    sessions: BTreeMap::new(),
                    outgoing: BTreeMap::new(),
                    next_session: 0,
                }),
                _ => None,
            };
            logic[node.0 as usize] = Logic::Sub(Box::new(SubNode {
                sub: s.index,
                ep: Endpoint::new(node, s.ip),
                radio,
                ott,
                msg_ref: 0,
                outbox: BTreeMap::new(),
            }));
        }
        self.logic = logic;
        Ok(())
    }

    /// Attaches handsets (tunnel handshakes go out) and schedules every planned message.
    fn start(&mut self) {
        self.io.begin(self.net.now());
        self.start_nodes();
        self.apply_io();
    }

    /// Carries out what the handled node asked for, in order, and turns what it reported into
    /// records and counters.
    fn apply_io(&mut self) {
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
        for e in self.io.take_events() {
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
            }
        }
    }

    fn start_nodes(&mut self) {
        self.signal_start();
        self.cm_start();
        for i in 0..self.dir.subs.len() {
            let node = self.sub_node[i];
            let Logic::Sub(mut sn) =
                std::mem::replace(&mut self.logic[node.0 as usize], Logic::Router)
            else {
                continue;
            };
            if let RadioPath::Tunnel { pgw, tunnel } = &mut sn.radio {
                sn.ep.pump(&mut self.io, *pgw, tunnel);
            }
            if let Some(t) = sn.ott.as_mut().and_then(|o| o.tunnel.as_mut()) {
                sn.ep.pump(&mut self.io, OTT_ADDR, t);
            }
            self.logic[node.0 as usize] = Logic::Sub(sn);
        }
        for (id, p) in self.planned.iter().enumerate() {
            let (from, to) = (&self.dir.subs[p.from], &self.dir.subs[p.to]);
            let fa = &self.dir.apps[from.app];
            // End-to-end only when both use the same app; otherwise the sender's carrier
            // messaging carries it (E2EE apps fall back to plain SMS, as phones do).
            let signal = matches!(fa.kind, AppKind::Signal(_));
            let e2e = (fa.protocol().is_some() || signal) && from.app == to.app;
            let (protocol, app) = if e2e {
                (fa.kind.protocol_id(), fa.name.clone())
            } else if matches!(fa.kind, AppKind::CarrierEncrypted) {
                (ProtocolId::CarrierEncrypted, fa.name.clone())
            } else if matches!(fa.kind, AppKind::Sms) {
                (ProtocolId::Sms, fa.name.clone())
            } else {
                (ProtocolId::Sms, "sms (fallback)".to_string())
            };
            let via = match (e2e, signal) {
                (true, true) => Via::Signal,
                (true, false) => Via::Noise,
                (false, _) => Via::Carrier,
            };
            self.truth.push(TruthMessage {
                id,
                from: p.from,
                to: p.to,
                protocol,
                app,
                text: p.text.clone(),
                sent_at: p.at,
                delivered_at: None,
                failure: None,
            });
            if let Some(Logic::Sub(sn)) = self.logic.get_mut(self.sub_node[p.from].0 as usize) {
                sn.outbox.insert(
                    id,
                    Outgoing {
                        to: p.to,
                        text: p.text.clone(),
                        via,
                    },
                );
            }
            self.io
                .set_timer(self.sub_node[p.from], p.at, Timer::Send(id));
        }
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
        /// What a node is handed: a datagram or one of its typed timers.
        enum Input {
            Datagram(Packet),
            Timer(Timer),
        }
        let node = match &ev {
            Event::Deliver { node, .. } | Event::Timer { node, .. } => *node,
        };
        let idx = node.0 as usize;
        if idx >= self.logic.len() {
            return;
        }
        self.io.begin(self.net.now());
        let mut logic = std::mem::replace(&mut self.logic[idx], Logic::Router);
        let ev = match ev {
            Event::Timer { token, .. } => match Timer::from_token(token) {
                Some(t) => {
                    tracing::trace!(timer = ?t, "timer");
                    Input::Timer(t)
                }
                None => {
                    self.logic[idx] = logic;
                    return;
                }
            },
            Event::Deliver { packet, .. } => {
                tracing::trace!(
                    src = %packet.src(),
                    dst = %packet.dst(),
                    bytes = packet.len(),
                    "packet received"
                );
                Input::Datagram(packet)
            }
        };
        match (&mut logic, ev) {
            (Logic::Sub(sn), Input::Timer(Timer::Call { call, act })) => {
                self.call_timer(sn, call, act);
            }
            (Logic::Sub(sn), Input::Datagram(packet))
                if packet.dst().port() == proto::wire::MEDIA_PORT =>
            {
                self.sub_media(sn.sub, &packet);
            }
            (Logic::Sub(sn), Input::Timer(t @ (Timer::Cover(_) | Timer::Release(_)))) => {
                self.cm_sub_timer(sn, t);
            }
            (Logic::Sub(sn), Input::Timer(Timer::Send(id))) => self.sub_send(sn, id),
            (Logic::Sub(sn), Input::Timer(Timer::Link(i))) => sn.ep.on_timer(&mut self.io, i),
            (Logic::Sub(sn), Input::Datagram(packet)) => self.sub_receive(sn, &packet),
            (Logic::Pgw(p), Input::Timer(t)) => p.handle_timer(&mut self.io, t),
            (Logic::Pgw(p), Input::Datagram(packet)) => {
                p.handle_datagram(&self.dir, &mut self.io, &packet);
            }
            (Logic::Smsc(s), Input::Timer(t)) => s.handle_timer(&mut self.io, t),
            (Logic::Smsc(s), Input::Datagram(packet)) => {
                s.handle_datagram(&self.dir, &mut self.io, &packet);
            }
            (Logic::Ott(o), Input::Timer(t)) => o.handle_timer(&self.dir, &mut self.io, t),
            (Logic::Ott(o), Input::Datagram(packet)) => {
                o.handle_datagram(&self.dir, &mut self.io, &packet);
            }
            (Logic::Mediation(m), Input::Datagram(packet)) => {
                m.handle_datagram(&mut self.io, &packet)
            }
            (Logic::Lea(l), Input::Datagram(packet)) => l.handle_datagram(&packet),
            _ => {}
        }
        self.logic[idx] = logic;
        self.apply_io();
    }
}

/// The first words of an error, as a counter key.
fn short_reason(why: &str) -> String {
    why.split(':').next().unwrap_or(why).trim().to_string()
}

/// A law-enforcement agency name for a generated warrant.
fn agency(rng: &mut simcore::SimRng) -> String {
    const AGENCIES: &[&str] = &[
        "FBI-NY", "FBI-DC", "FBI-LA", "DEA-MIA", "DEA-HOU", "USMS", "HSI-SEA", "ATF-CHI",
    ];
    AGENCIES[(rng.next_u32() as usize) % AGENCIES.len()].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let text = scenario::builtin("small-lab").expect("small-lab is built in");
        scenario::parse("sim/small-lab.toml", text).expect("small-lab parses")
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
