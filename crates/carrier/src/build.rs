//! Building a world from a scenario: the network (carriers, cells, handsets, the OTT server,
//! the interconnect), identities, static keys, warrants and points of interception, call-record
//! stores, the adversary's vantage points and on-path components, the traffic and call plans,
//! and every node's machine; then starting the nodes and handing each user its planned messages
//! and calls. Part of the driver, with [`crate::world`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use capture::active::Arm;
use capture::ProtocolId;
use capture::{Warrant, WarrantKind};
use netsim::{NetworkBuilder, NodeId, TapPoint};
use proto::keys::StaticKeypair;
use proto::tunnel::NkTunnel;
use rand_core::RngCore;
use scenario::{AppKind, Scenario, VantageKind};
use simcore::{FixedMap, SeedTree, Timestamp, Watch};

use crate::capability::Capable;
use crate::directory::{AppInfo, Directory};
use crate::endpoint::Endpoint;
use crate::error::CarrierError;
use crate::handset::{self, Handset};
use crate::ids::{digits, imei, Identity, Subscriber};
use crate::io::Io;
use crate::li::{Charged, Charging, Poi, PoiHook, RecordStore, Target};
use crate::mediation::{LeaNode, MediationNode};
use crate::mobility::Mobility;
use crate::nodes::{Logic, OttClient, Outgoing, RadioPath, TunnelServer, Via};
use crate::ott::OttNode;
use crate::signal_app::KeyServer;
use crate::timer::Timer;
use crate::topology::*;
use crate::traffic::{plan, unit, TrafficParams};
use crate::truth::{GroundTruth, TruthMessage};
use crate::voice::{self, CallParams, TruthCall};

use crate::world::{RunStats, World, DRAIN};

impl<'s> World<'s> {
    /// Builds the world: network, subscribers, keys, traffic plan, nodes. Stops with
    /// [`CarrierError::Interrupted`] when `watch` asks (planning a large scenario's traffic takes
    /// seconds).
    pub(crate) fn build(
        sc: &'s Scenario,
        seeds: SeedTree,
        arm: &dyn Arm,
        watch: &Watch,
    ) -> Result<Self, CarrierError> {
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

        let addresses =
            AddressPlan::new(sc.carriers.iter().map(|c| c.subscribers)).map_err(|c| {
                CarrierError::TooLarge(format!(
                    "carrier {}: no address block of 100.64.0.0/10 left for its subscribers",
                    sc.carriers[c].name
                ))
            })?;
        let mut id_rng = seeds.stream("identities");
        let mut used_msisdn = BTreeSet::new();
        let mut subs = Vec::new();
        let mut sub_node = Vec::new();
        let mut infra = Vec::new();
        let mut mediation_links = Vec::new();
        for (c, car) in sc.carriers.iter().enumerate() {
            if car.subscribers > scenario::MAX_SUBSCRIBERS_PER_CARRIER
                || car.cells > scenario::MAX_CELLS_PER_CARRIER
            {
                return Err(CarrierError::TooLarge(format!(
                    "carrier {}: at most {} subscribers and {} cells",
                    car.name,
                    scenario::MAX_SUBSCRIBERS_PER_CARRIER,
                    scenario::MAX_CELLS_PER_CARRIER
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
                let ip = addresses.subscriber_addr(c, k);
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
        let ids: Vec<Identity> = subs.iter().map(Identity::of).collect();

        // Static keys from the seed for every E2EE user (published in the key directory).
        // Each from its own seed stream, so they are made on every core (`simcore::par`).
        let static_seeds = seeds.child("static");
        let statics: Vec<Option<StaticKeypair>> = simcore::par::map(&subs, |s| {
            matches!(apps[s.app].kind, AppKind::Noise { .. })
                .then(|| StaticKeypair::generate(static_seeds.child(&s.msisdn).key()))
        });

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
            let charged: Arc<FixedMap<Ipv4Addr, Charged>> = Arc::new(
                local
                    .iter()
                    .map(|s| {
                        (
                            s.ip,
                            Charged {
                                index: s.index,
                                id: ids[s.index].clone(),
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
                    VantageKind::CallRecords | VantageKind::EdgeRouter | VantageKind::OttServer => {
                        None
                    }
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
                addresses: &addresses,
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
        let traffic_seeds = seeds.child("traffic");
        let public_keys = statics
            .iter()
            .map(|k| k.as_ref().map(|k| k.public))
            .collect();

        let mut w = World {
            sc,
            seeds,
            net,
            logic: Vec::new(),
            dir: Directory {
                subs,
                ids,
                by_msisdn,
                apps,
                mobility: mobility.clone(),
                presence: Default::default(),
            },
            sub_node,
            statics,
            public_keys,
            infra,
            stores,
            charged: charged_all,
            li_counts,
            warrants,
            taps,
            attackers,
            truth: GroundTruth::default(),
            planned: Vec::new(),
            planned_calls: Vec::new(),
            stats: RunStats::default(),
            caps: Capable::default(),
            key_server: KeyServer::default(),
            session_texts: BTreeMap::new(),
            signal_failures: Vec::new(),
            mobility,
            pois,
            edge_taps,
            ott_node: NodeId(0),
            io: Io::default(),
        };
        w.ott_node = w.net.node_by_addr(OTT_ADDR).unwrap_or(NodeId(0));
        // The nodes' logic and the traffic plan read nothing of each other, so the traffic is
        // planned on a second core while this thread makes the nodes. The nodes stay in this
        // thread's allocator arena, where the run frees and grows their buffers (made on
        // another thread, glibc would return those frees to that thread's arena, where this
        // one never allocates again: BENCHMARKING.md § "Both cores"); the plan's texts are
        // made once there and live to the end of the run.
        let (plans, logic) = std::thread::scope(|s| {
            let planner = s.spawn(|| {
                let planned = plan(
                    &carrier_of,
                    sc.carriers.len(),
                    &params,
                    &traffic_seeds,
                    watch,
                )?;
                let calls = voice::plan_calls(
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
                    &traffic_seeds,
                );
                Some((planned, calls))
            });
            let logic = w.make_logic();
            let plans = planner
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (plans, logic)
        });
        let (planned, planned_calls) = plans.ok_or(CarrierError::Interrupted {
            at: Timestamp::ZERO,
        })?;
        w.logic = logic?;
        let contacts: Vec<(usize, usize)> = planned.iter().map(|p| (p.from, p.to)).collect();
        w.caps = Capable::new(sc, &w.seeds, &w.dir.subs, &w.statics, &contacts);
        w.planned = planned;
        w.planned_calls = planned_calls;
        Ok(w)
    }

    /// Every node's logic, by node index.
    fn make_logic(&self) -> Result<Vec<Logic>, CarrierError> {
        let mut logic: Vec<Logic> = (0..self.net.node_count()).map(|_| Logic::Router).collect();
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
            if let Logic::Ott(o) = &mut logic[i] {
                if self
                    .sc
                    .adversary
                    .vantage
                    .iter()
                    .any(|v| v.kind == VantageKind::OttServer)
                {
                    o.log = Some(crate::ott::ServerLog::default());
                }
            }
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
        let cm_seeds = self.seeds.child("countermeasures");
        let pgw_public: Vec<[u8; 32]> = self
            .infra
            .iter()
            .map(|inf| match &logic[inf.pgw.0 as usize] {
                Logic::Pgw(p) => p.server.key.public,
                _ => [0; 32],
            })
            .collect();
        let (radio_seeds, ott_seeds) = (
            self.seeds.child("radio-tunnel"),
            self.seeds.child("ott-tunnel"),
        );
        let (cover_seeds, receipt_seeds) = (cm_seeds.child("cover"), cm_seeds.child("receipts"));
        let handset = |s: &Subscriber| -> Result<Box<Handset>, CarrierError> {
            let app = &self.dir.apps[s.app];
            let radio = if matches!(app.kind, AppKind::CarrierEncrypted) {
                RadioPath::Tunnel {
                    pgw: pgw_addr(s.carrier),
                    tunnel: NkTunnel::initiator(
                        pgw_public[s.carrier],
                        radio_seeds.child(&s.msisdn).key(),
                    )?,
                }
            } else {
                RadioPath::Sms {
                    smsc: smsc_addr(s.carrier),
                }
            };
            let ott = match app.kind {
                AppKind::Noise { .. } | AppKind::Signal(_) => Some(OttClient {
                    tunnel: if app.server_tunnel() {
                        Some(NkTunnel::initiator(
                            ott_public,
                            ott_seeds.child(&s.msisdn).key(),
                        )?)
                    } else {
                        None
                    },
                }),
                _ => None,
            };
            let mut handset = Handset::new(
                s.index,
                Endpoint::new(self.sub_node[s.index], s.ip),
                radio,
                ott,
                self.statics[s.index].clone(),
                handset::cm::State::new(
                    self.sc,
                    s.app,
                    handset::cm::Streams {
                        cover: cover_seeds.stream(&s.msisdn),
                        receipts: receipt_seeds.stream(&s.msisdn),
                    },
                ),
            );
            // The Noise app is installed here; Signal devices when they upload their keys
            // (`signal_app.rs`).
            if matches!(app.kind, AppKind::Noise { .. }) {
                handset.app = Some(Box::new(crate::handset::noise::NoiseApp::default()));
            }
            Ok(Box::new(handset))
        };
        for s in &self.dir.subs {
            logic[self.sub_node[s.index].0 as usize] = Logic::Sub(handset(s)?);
        }
        Ok(logic)
    }
}

impl World<'_> {
    pub(crate) fn start_nodes(&mut self) {
        self.signal_start();
        for i in 0..self.dir.subs.len() {
            self.with_handset(i, |h, env, io| h.start(env, io));
        }
        // The plan is not read after this: each message moves to its sender's handset.
        let planned = std::mem::take(&mut self.planned);
        // One copy of each app's name, pointed at by every truth message it carried.
        let app_names: Vec<Arc<str>> = self
            .dir
            .apps
            .iter()
            .map(|a| Arc::<str>::from(a.name.as_str()))
            .collect();
        let fallback = Arc::<str>::from("sms (fallback)");
        // And of each app's protocol id (a Noise pattern is a shared string).
        let protocol_ids: Vec<ProtocolId> =
            self.dir.apps.iter().map(|a| a.kind.protocol_id()).collect();
        // Every message of the run is pushed here, once: no doubling slack kept all day.
        self.truth.messages.reserve_exact(planned.len());
        for (id, p) in planned.into_iter().enumerate() {
            let (from, to) = (&self.dir.subs[p.from], &self.dir.subs[p.to]);
            let fa = &self.dir.apps[from.app];
            // End-to-end only when both use the same app; otherwise the sender's carrier
            // messaging carries it (E2EE apps fall back to plain SMS, as phones do).
            let signal = matches!(fa.kind, AppKind::Signal(_));
            let e2e = (fa.protocol().is_some() || signal) && from.app == to.app;
            let (protocol, app) = if e2e {
                (protocol_ids[from.app].clone(), app_names[from.app].clone())
            } else if matches!(fa.kind, AppKind::CarrierEncrypted) {
                (ProtocolId::CarrierEncrypted, app_names[from.app].clone())
            } else if matches!(fa.kind, AppKind::Sms) {
                (ProtocolId::Sms, app_names[from.app].clone())
            } else {
                (ProtocolId::Sms, fallback.clone())
            };
            // One copy of the text, shared by the truth and the sender's outbox.
            let text = p.text;
            let via = if e2e { Via::App } else { Via::Carrier };
            self.truth.push(TruthMessage {
                id,
                from: p.from,
                to: p.to,
                protocol,
                app,
                text: text.clone(),
                sent_at: p.at,
                delivered_at: None,
                failure: None,
            });
            let message = Outgoing {
                to: p.to,
                text,
                via,
            };
            if let Some(Logic::Sub(h)) = self.logic.get_mut(self.sub_node[p.from].0 as usize) {
                h.plan_message(&mut self.io, id, p.at, message);
            }
        }
    }

    /// Sets up every planned call: a truth entry, a leg at each party, and the start timer.
    pub(crate) fn schedule_calls(&mut self) {
        let calls = std::mem::take(&mut self.planned_calls);
        for (i, plan) in calls.into_iter().enumerate() {
            let (a, b) = (&self.dir.subs[plan.caller], &self.dir.subs[plan.callee]);
            let app = &self.dir.apps[a.app];
            let mode = self.sc.apps[a.app].voice;
            let ott = (a.app == b.app
                && app.protocol().is_some()
                && !app.one_way
                && mode != scenario::VoiceMode::Off)
                .then_some(mode);
            let call_id = ((plan.caller as u64) << 32) | (i as u64 + 1);
            self.truth.calls.push(TruthCall {
                call_id,
                caller: plan.caller,
                callee: plan.callee,
                kind: match ott {
                    None => "carrier".into(),
                    Some(scenario::VoiceMode::P2p) => "ott-p2p".into(),
                    Some(_) => "ott-relay".into(),
                },
                app: if ott.is_some() {
                    app.name.clone()
                } else {
                    String::new()
                },
                start: plan.at,
                answer: None,
                end: None,
                cause: String::new(),
                caller_packets: 0,
                caller_bytes: 0,
                callee_packets: 0,
                callee_bytes: 0,
                packets_received: 0,
                media_errors: 0,
            });
            let (caller, callee, at) = (plan.caller, plan.callee, plan.at);
            if let Some(h) = self.handset_mut(callee) {
                h.plan_call(
                    i,
                    handset::voice::Leg::new(plan.clone(), call_id, ott, false),
                );
            }
            if let Some(h) = self.handset_mut(caller) {
                h.plan_call(i, handset::voice::Leg::new(plan, call_id, ott, true));
            }
            self.io.set_timer(
                self.sub_node[caller],
                at,
                Timer::Call {
                    call: i,
                    act: crate::timer::CallAct::Start,
                },
            );
        }
    }
}

/// A law-enforcement agency name for a generated warrant.
fn agency(rng: &mut simcore::SimRng) -> String {
    const AGENCIES: &[&str] = &[
        "FBI-NY", "FBI-DC", "FBI-LA", "DEA-MIA", "DEA-HOU", "USMS", "HSI-SEA", "ATF-CHI",
    ];
    AGENCIES[(rng.next_u32() as usize) % AGENCIES.len()].to_string()
}
