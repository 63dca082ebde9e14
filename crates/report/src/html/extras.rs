//! What the page shows beyond the [`Report`](crate::Report): [`PageExtras`], built by
//! [`extras`] from the scenario, the run's ground truth and the adversary's findings (the scorer
//! is the one place both may be read). The topology with the adversary's footholds (from the
//! scenario's vantage, on-path and theft entries), and the contact graph, true and reconstructed,
//! over all subscribers of a small run or a connected sample of at most [`GRAPH_MAX_NODES`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use adversary::Findings;
use carrier::RunOutput;
use scenario::{Scenario, VantageKind, Who};
use serde::Serialize;

/// The most subscribers the contact-graph figure draws; larger runs show a connected
/// neighbourhood of this size (the counts in the table are always over the whole run).
pub const GRAPH_MAX_NODES: usize = 36;

/// At most this many neighbours of each drawn subscriber join the sample.
const GRAPH_FANOUT: usize = 4;

/// What the page shows beyond the [`Report`](crate::Report): the topology and the contact graphs.
#[derive(Clone, Debug, Serialize)]
pub struct PageExtras {
    /// The carriers and the OTT server, with the adversary's footholds.
    pub topology: Topology,
    /// The true and the reconstructed contact graph over a sample of subscribers.
    pub contacts: ContactGraph,
}

/// The network as the page draws it.
#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    /// Carriers in scenario order.
    pub carriers: Vec<CarrierView>,
    /// Whether the scenario has an over-the-top app (so an OTT server exists).
    pub ott_server: bool,
    /// Whether the adversary stole the OTT server's tunnel key.
    pub ott_key_stolen: bool,
    /// Whether the adversary holds the OTT server itself (an `ott-server` vantage).
    pub ott_server_held: bool,
}

/// One carrier and what the adversary holds in it.
#[derive(Clone, Debug, Serialize)]
pub struct CarrierView {
    /// The carrier's name.
    pub name: String,
    /// Its subscribers.
    pub subscribers: u32,
    /// Its cells.
    pub cells: u32,
    /// The adversary holds its lawful-intercept mediation node.
    pub mediation: bool,
    /// The adversary taps its core router.
    pub core_tap: bool,
    /// The adversary reads its call-record store.
    pub call_records: bool,
    /// Share of its subscribers whose customer edge router the adversary holds (0 if none).
    pub edge_routers: f64,
    /// On-path components at its core, e.g. `"mitm on chat-xx"`.
    pub on_path: Vec<String>,
    /// The adversary stole its packet gateway's tunnel key.
    pub gateway_key_stolen: bool,
}

/// A subscriber drawn in the contact graph.
#[derive(Clone, Debug, Serialize)]
pub struct GraphNode {
    /// Phone number.
    pub msisdn: String,
    /// Index of its carrier in [`Topology::carriers`].
    pub carrier: usize,
}

/// The contact graph over the drawn subscribers.
#[derive(Clone, Debug, Serialize)]
pub struct ContactGraph {
    /// Subscribers in the run.
    pub subscribers: usize,
    /// Subscribers drawn, sorted by carrier then number (their order around the circle).
    pub nodes: Vec<GraphNode>,
    /// Pairs that really exchanged messages (indices into `nodes`, smaller first).
    pub true_edges: Vec<(usize, usize)>,
    /// Pairs the adversary reported, with whether the pair is real.
    pub reported_edges: Vec<(usize, usize, bool)>,
}

/// Builds the [`PageExtras`] of a run.
pub fn extras(sc: &Scenario, run: &RunOutput, findings: &Findings) -> PageExtras {
    PageExtras {
        topology: topology(sc),
        contacts: contact_graph(sc, run, findings),
    }
}

fn topology(sc: &Scenario) -> Topology {
    let carriers = sc
        .carriers
        .iter()
        .map(|c| {
            let held = |k: VantageKind| {
                sc.adversary
                    .vantage
                    .iter()
                    .any(|v| v.kind == k && v.carrier == c.name)
            };
            let edge_routers = sc
                .adversary
                .vantage
                .iter()
                .filter(|v| v.kind == VantageKind::EdgeRouter && v.carrier == c.name)
                .map(|v| v.share)
                .fold(0.0, f64::max);
            let on_path = sc
                .adversary
                .onpath
                .iter()
                .filter(|o| o.carrier == c.name)
                .map(|o| format!("{} on {}", o.mode.as_str(), o.app))
                .collect();
            let gateway_key_stolen = sc.adversary.theft.iter().any(|t| {
                t.who == Who::CarrierGateway && t.carrier.as_deref().is_none_or(|n| n == c.name)
            });
            CarrierView {
                name: c.name.clone(),
                subscribers: c.subscribers,
                cells: c.cells,
                mediation: held(VantageKind::Mediation),
                core_tap: held(VantageKind::CoreTap),
                call_records: held(VantageKind::CallRecords),
                edge_routers,
                on_path,
                gateway_key_stolen,
            }
        })
        .collect();
    Topology {
        carriers,
        ott_server: sc.apps.iter().any(|a| {
            !matches!(
                a.kind,
                scenario::AppKind::Sms | scenario::AppKind::CarrierEncrypted
            )
        }),
        ott_key_stolen: sc.adversary.theft.iter().any(|t| t.who == Who::OttServer),
        ott_server_held: sc
            .adversary
            .vantage
            .iter()
            .any(|v| v.kind == VantageKind::OttServer),
    }
}

fn ordered(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// The subscribers to draw: all of them in a small run, else a breadth-first neighbourhood in
/// the true graph around the subscriber with the most contacts (ties: the lowest index), taking
/// at most [`GRAPH_FANOUT`] new neighbours of each.
fn sample(n: usize, adj: &BTreeMap<usize, BTreeSet<usize>>) -> BTreeSet<usize> {
    if n <= GRAPH_MAX_NODES {
        return (0..n).collect();
    }
    let mut chosen = BTreeSet::new();
    let mut by_degree: Vec<(usize, usize)> = adj.iter().map(|(&s, p)| (p.len(), s)).collect();
    by_degree.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // Several components: start again from the next best hub until the sample is full.
    for &(_, start) in &by_degree {
        if chosen.len() >= GRAPH_MAX_NODES {
            break;
        }
        if chosen.contains(&start) {
            continue;
        }
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            if chosen.len() >= GRAPH_MAX_NODES {
                break;
            }
            if !chosen.insert(s) {
                continue;
            }
            // A few neighbours each, so a hub does not fill the sample with a star.
            for &p in adj
                .get(&s)
                .into_iter()
                .flatten()
                .filter(|p| !chosen.contains(p))
                .take(GRAPH_FANOUT)
            {
                queue.push_back(p);
            }
        }
    }
    chosen
}

fn contact_graph(sc: &Scenario, run: &RunOutput, findings: &Findings) -> ContactGraph {
    let subs = &run.truth.subscribers;
    // The same truth and the same reported edges as the metadata score: messages and calls.
    let t = crate::metadata::Truth::of(sc, run);
    let truth: BTreeSet<(usize, usize)> = t
        .messages
        .iter()
        .map(|m| (m.from, m.to))
        .chain(t.calls.iter().map(|&(a, b, _)| (a, b)))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| ordered(a, b))
        .collect();
    let mut adj: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &(a, b) in &truth {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default().insert(a);
    }
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in subs.iter().enumerate() {
        by_name.insert(s.msisdn.clone(), i);
        by_name.insert(s.ip.to_string(), i);
    }
    let reported: BTreeSet<(usize, usize)> = findings
        .metadata
        .contacts
        .iter()
        .filter_map(|e| {
            let (a, b) = (*by_name.get(&*e.a)?, *by_name.get(&*e.b)?);
            (a != b).then(|| ordered(a, b))
        })
        .collect();
    let chosen = sample(subs.len(), &adj);
    let mut drawn: Vec<usize> = chosen.into_iter().collect();
    drawn.sort_by(|&a, &b| {
        (subs[a].carrier, &subs[a].msisdn).cmp(&(subs[b].carrier, &subs[b].msisdn))
    });
    let pos: BTreeMap<usize, usize> = drawn.iter().enumerate().map(|(p, &s)| (s, p)).collect();
    let local = |(a, b): (usize, usize)| Some(ordered(*pos.get(&a)?, *pos.get(&b)?));
    let mut true_edges: Vec<(usize, usize)> = truth.iter().filter_map(|&e| local(e)).collect();
    true_edges.sort_unstable();
    let mut reported_edges: Vec<(usize, usize, bool)> = reported
        .iter()
        .filter_map(|&e| local(e).map(|(a, b)| (a, b, truth.contains(&e))))
        .collect();
    reported_edges.sort_unstable();
    ContactGraph {
        subscribers: subs.len(),
        nodes: drawn
            .iter()
            .map(|&s| GraphNode {
                msisdn: subs[s].msisdn.clone(),
                carrier: subs[s].carrier,
            })
            .collect(),
        true_edges,
        reported_edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_keeps_small_graphs_whole_and_caps_large_ones() {
        let mut adj: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for i in 0..100usize {
            adj.entry(i).or_default().insert((i + 1) % 100);
            adj.entry((i + 1) % 100).or_default().insert(i);
        }
        assert_eq!(sample(20, &adj).len(), 20);
        let s = sample(100, &adj);
        assert_eq!(s.len(), GRAPH_MAX_NODES);
        // A neighbourhood: the ring's hub (index 0, every degree equal) and its neighbours.
        assert!(s.contains(&0) && s.contains(&1) && s.contains(&99));
    }
}
