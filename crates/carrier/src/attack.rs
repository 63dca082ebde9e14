//! Where the adversary's on-path components meet the network: the carrier writes each one's
//! brief (what an insider at that core knows), asks the [`Arm`] it was given for a component,
//! and plugs it into the core node as a [`netsim::OnPathHook`].
//!
//! The components themselves live on the adversary's side of the wall (`onpath`); this crate
//! only knows the [`capture::active::Interceptor`] trait, so it cannot read an attacker's
//! internals and the attacker cannot read the world.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use capture::active::{Arm, Interceptor, OnPathBrief, OnPathOrder, Verdict};
use capture::StolenSecret;
use netsim::{HookCtx, Network, OnPathHook, Packet};
use proto::keys::StaticKeypair;
use scenario::Scenario;
use simcore::{SeedTree, Timestamp};

use crate::ids::Subscriber;
use crate::topology::{Infra, OTT_ADDR};

/// The prologue every end-to-end app binds into its handshakes (public: it is in the app).
pub(crate) const OTT_PROLOGUE: &[u8] = b"wiretap-ott-v1";

/// One armed component, shared between its hook (owned by the network) and the world (which
/// hands it loot and reads its log at the end).
pub(crate) struct Attacker {
    /// The node it sits at, e.g. `"east.core"`.
    pub node: String,
    /// The component.
    pub component: Arc<Mutex<Box<dyn Interceptor>>>,
}

impl Attacker {
    /// Hands the component a secret the adversary just stole.
    pub(crate) fn give(&self, stolen: &StolenSecret) {
        if let Ok(mut c) = self.component.lock() {
            c.handle_stolen(stolen);
        }
    }
}

/// The network side of a component: datagrams in, verdicts and injections out.
struct Hook(Arc<Mutex<Box<dyn Interceptor>>>);

impl OnPathHook for Hook {
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> netsim::Verdict {
        let Ok(mut c) = self.0.lock() else {
            return netsim::Verdict::Pass;
        };
        let verdict = c.handle_datagram(ctx.now(), packet.bytes());
        while let Some(bytes) = c.poll_transmit() {
            // A datagram the network cannot represent is not sent (the component built it).
            if let Ok(p) = Packet::from_bytes(bytes) {
                ctx.inject(p);
            }
        }
        match verdict {
            Verdict::Pass => netsim::Verdict::Pass,
            Verdict::Drop => netsim::Verdict::Drop,
            Verdict::Delay(d) => netsim::Verdict::Delay(d),
            Verdict::Replace(b) => netsim::Verdict::Replace(b),
        }
    }
}

/// What [`install`] needs of the world being built.
pub(crate) struct Site<'a> {
    pub sc: &'a Scenario,
    pub seeds: &'a SeedTree,
    pub infra: &'a [Infra],
    pub subs: &'a [Subscriber],
    /// Each subscriber's app name and whether it tunnels to its server, by subscriber index.
    pub app_of: &'a dyn Fn(&Subscriber) -> (&'a str, bool),
    pub statics: &'a [Option<StaticKeypair>],
    /// Where the subscribers are numbered.
    pub addresses: &'a crate::topology::AddressPlan,
}

/// Arms one component at the core of every carrier named by an `[[adversary.onpath]]` entry.
pub(crate) fn install(site: &Site<'_>, net: &mut Network, arm: &dyn Arm) -> Vec<Attacker> {
    let Site {
        sc,
        seeds,
        infra,
        subs,
        app_of,
        statics,
        addresses,
    } = site;
    let directory: BTreeMap<String, [u8; 32]> = subs
        .iter()
        .filter_map(|s| {
            statics[s.index]
                .as_ref()
                .map(|k| (s.msisdn.clone(), k.public))
        })
        .collect();
    let ott_public = StaticKeypair::generate(seeds.child("ott-static").key()).public;
    let mut attackers = Vec::new();
    for (c, car) in sc.carriers.iter().enumerate() {
        let orders: Vec<OnPathOrder> = sc
            .adversary
            .onpath
            .iter()
            .enumerate()
            .filter(|(_, o)| o.carrier == car.name)
            .map(|(entry, o)| {
                let users = subs.iter().filter(|s| app_of(s).0 == o.app);
                OnPathOrder {
                    entry,
                    mode: o.mode,
                    app: o.app.clone(),
                    msisdns: users.clone().map(|s| s.msisdn.clone()).collect(),
                    addrs: users.filter(|s| app_of(s).1).map(|s| s.ip).collect(),
                    share: o.share,
                    from: Timestamp::ZERO + o.from,
                    own_static: o.own_static,
                    drop: capture::active::DropPlan {
                        every: o.drop_every,
                        how: o.drop_how,
                    },
                }
            })
            .collect();
        if orders.is_empty() {
            continue;
        }
        let node = format!("{}.core", car.name);
        let brief = OnPathBrief {
            node: node.clone(),
            msisdn_prefix: format!("+{}", car.msisdn_prefix.trim_start_matches('+')),
            subscriber_nets: addresses.subscriber_nets(c),
            ott_addr: OTT_ADDR,
            ott_public,
            prologue: OTT_PROLOGUE.to_vec(),
            directory: directory.clone(),
            orders,
            seeds: seeds.child("onpath").child(&car.name),
        };
        let component = Arc::new(Mutex::new(arm.arm(brief)));
        net.add_hook(infra[c].core, Box::new(Hook(component.clone())));
        attackers.push(Attacker { node, component });
    }
    attackers
}
