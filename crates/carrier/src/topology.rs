//! Wiring a scenario's carriers into a [`netsim`] topology, and handing out addresses.
//!
//! Per carrier `c` (0-based):
//!
//! ```text
//! subscriber 10.c.x.y ──radio── cell 172.17.c.j ──core── pgw 172.16.c.1 ──core── core 172.16.c.2
//!   core ──core── smsc 172.16.c.3      core ──core── mediation 172.16.c.4 ── lea 192.0.2.(c+1)
//!   core ──core── edge 172.16.c.5 ──interconnect── ix 198.51.100.1 ──internet── ott 203.0.113.10
//! ```
//!
//! A carrier's subscribers beyond the 65,535 of `10.c.0.0/16` are numbered in blocks of
//! `100.64.0.0/10` ([`AddressPlan`]). Routes are shortest paths, so SMS between carriers goes SMS centre → core → edge → ix →
//! edge → core → SMS centre, and all OTT traffic of a carrier's subscribers crosses its
//! packet gateway and core router, where charging and the point of interception sit.

use std::net::Ipv4Addr;

use netsim::{LinkId, LinkParams, NodeId};
use scenario::{LinkClass, LinkSpec, PartitionTarget, Scenario};
use simcore::Timestamp;

/// The address of the interconnect / internet exchange router.
pub(crate) const IX_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The address of the OTT messaging server.
pub(crate) const OTT_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// The infrastructure nodes of one carrier.
#[derive(Clone, Debug)]
pub(crate) struct Infra {
    pub name: String,
    pub pgw: NodeId,
    pub core: NodeId,
    pub smsc: NodeId,
    pub mediation: NodeId,
    pub lea: NodeId,
}

/// Infrastructure address `host` of carrier `c`.
pub(crate) fn infra_addr(c: usize, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(172, 16, c as u8, host)
}

/// Packet gateway of carrier `c`.
pub(crate) fn pgw_addr(c: usize) -> Ipv4Addr {
    infra_addr(c, 1)
}
/// Core router of carrier `c`.
pub(crate) fn core_addr(c: usize) -> Ipv4Addr {
    infra_addr(c, 2)
}
/// SMS centre of carrier `c`.
pub(crate) fn smsc_addr(c: usize) -> Ipv4Addr {
    infra_addr(c, 3)
}
/// LI mediation node of carrier `c`.
pub(crate) fn mediation_addr(c: usize) -> Ipv4Addr {
    infra_addr(c, 4)
}
/// Internet edge router of carrier `c`.
pub(crate) fn edge_addr(c: usize) -> Ipv4Addr {
    infra_addr(c, 5)
}
/// Law-enforcement collection function served by carrier `c`'s mediation node.
pub(crate) fn lea_addr(c: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, c as u8 + 1)
}
/// Cell site `j` of carrier `c`.
pub(crate) fn cell_addr(c: usize, j: usize) -> Ipv4Addr {
    Ipv4Addr::new(172, 17, c as u8, j as u8 + 1)
}
/// Where every carrier's subscribers are numbered.
///
/// Carrier `c`'s first [`scenario::SUBSCRIBERS_PER_BLOCK`] subscribers are `10.c.0.1` to
/// `10.c.255.255`; the rest take further `/16` blocks of the shared address space
/// `100.64.0.0/10` (RFC 6598, where carriers number subscribers behind carrier-grade NAT), handed
/// out in carrier order, each numbered from `.0.1` the same way. `validate` refuses scenarios
/// that need more than the [`scenario::OVERFLOW_BLOCKS`] blocks there are.
#[derive(Clone, Debug)]
pub(crate) struct AddressPlan {
    /// Per carrier: the first overflow block it takes (an index into 100.64.0.0/10's `/16`s),
    /// and how many.
    overflow: Vec<(u32, u32)>,
}

impl AddressPlan {
    /// The plan for carriers of these sizes, or the index of the first carrier that finds no
    /// overflow block left.
    pub(crate) fn new(subscribers: impl IntoIterator<Item = u32>) -> Result<AddressPlan, usize> {
        let mut overflow = Vec::new();
        let mut next = 0u32;
        for (c, n) in subscribers.into_iter().enumerate() {
            let extra = scenario::address_blocks(n) - 1;
            if next + extra > scenario::OVERFLOW_BLOCKS {
                return Err(c);
            }
            overflow.push((next, extra));
            next += extra;
        }
        Ok(AddressPlan { overflow })
    }

    /// The address of carrier `c`'s subscriber with local index `k`.
    pub(crate) fn subscriber_addr(&self, c: usize, k: usize) -> Ipv4Addr {
        let per = scenario::SUBSCRIBERS_PER_BLOCK as usize;
        let (block, host) = (k / per, k % per + 1);
        let [_, _, hi, lo] = (host as u32).to_be_bytes();
        if block == 0 {
            Ipv4Addr::new(10, c as u8, hi, lo)
        } else {
            let b = self.overflow[c].0 as usize + block - 1;
            Ipv4Addr::new(100, 64 + b as u8, hi, lo)
        }
    }

    /// Carrier `c`'s subscriber blocks: its own `10.c.0.0/16`, then its overflow blocks.
    pub(crate) fn subscriber_nets(&self, c: usize) -> Vec<(Ipv4Addr, u8)> {
        let (first, n) = self.overflow[c];
        std::iter::once((Ipv4Addr::new(10, c as u8, 0, 0), 16))
            .chain((first..first + n).map(|b| (Ipv4Addr::new(100, 64 + b as u8, 0, 0), 16)))
            .collect()
    }
}

/// Whether `addr` is one of carrier `c`'s infrastructure hosts.
pub(crate) fn is_infra_of(addr: Ipv4Addr, c: usize) -> bool {
    let o = addr.octets();
    o[0] == 172 && o[1] == 16 && usize::from(o[2]) == c
}

/// Whether `addr` is a subscriber address (of any carrier): in `10.0.0.0/8` or in the
/// overflow blocks of `100.64.0.0/10` ([`AddressPlan`]).
pub(crate) fn is_subscriber(addr: Ipv4Addr) -> bool {
    let o = addr.octets();
    o[0] == 10 || (o[0] == 100 && o[1] & 0xc0 == 64)
}

/// netsim link parameters from a scenario link class.
pub(crate) fn link_params(spec: &LinkSpec) -> LinkParams {
    LinkParams {
        latency: spec.latency,
        jitter: spec.jitter,
        bandwidth_bps: spec.bandwidth_bps,
        queue_limit_bytes: spec.queue_limit_bytes,
        loss: spec.loss,
        duplicate: spec.duplicate,
        reorder: spec.reorder,
        reorder_delay: spec.reorder_delay,
        corrupt: spec.corrupt,
        undetected_corrupt: spec.undetected_corrupt,
    }
}

/// A node's carrier (if any) and role, from the name the builder gave it: `ix`, `ott`, or
/// `<carrier>.<role>` (carrier names have no `.`).
fn role_of(name: &str) -> (Option<&str>, &str) {
    match name.split_once('.') {
        Some((c, r)) => (Some(c), r),
        None => (None, name),
    }
}

/// The `[links]` class of a link between nodes named `a` and `b`, and its carrier; `None` for
/// the lawful-intercept link from core to mediation (internal, never faulted).
fn link_class<'n>(a: &'n str, b: &'n str) -> Option<(LinkClass, Option<&'n str>)> {
    let ((ca, ra), (cb, rb)) = (role_of(a), role_of(b));
    let carrier = ca.or(cb);
    let has = |r: &str| ra == r || rb == r;
    let class = if ra.starts_with("sub") || rb.starts_with("sub") {
        LinkClass::Radio
    } else if has("ott") {
        LinkClass::Internet
    } else if has("ix") || has("lea") {
        LinkClass::Interconnect
    } else if has("mediation") {
        return None;
    } else {
        LinkClass::Core
    };
    Some((class, carrier))
}

/// One scheduled outage, for the driver to put on the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outage {
    /// A link is down during `[from, until)`.
    Link(LinkId, Timestamp, Timestamp),
    /// A node is down during `[from, until)`.
    Node(NodeId, Timestamp, Timestamp),
}

/// The outages of the scenario's `[[faults.partition]]`, given the nodes' names (indexed by
/// node id) and the links' ends: links and nodes are recognised by the names `World::build`
/// gives them (this module's docs).
pub(crate) fn partitions(
    sc: &Scenario,
    names: &[String],
    links: &[(LinkId, NodeId, NodeId)],
) -> Vec<Outage> {
    let at = |d| Timestamp::ZERO + d;
    let name = |n: NodeId| names.get(n.0 as usize).map(String::as_str);
    let mut out = Vec::new();
    for p in &sc.faults.partitions {
        let carrier = p.carrier.as_deref();
        let (from, until) = (at(p.from), at(p.until));
        match p.target {
            PartitionTarget::Link(class) => {
                for &(id, x, y) in links {
                    let (Some(x), Some(y)) = (name(x), name(y)) else {
                        continue;
                    };
                    let hit = link_class(x, y)
                        .is_some_and(|(k, c)| k == class && (carrier.is_none() || c == carrier));
                    if hit {
                        out.push(Outage::Link(id, from, until));
                    }
                }
            }
            PartitionTarget::Node(role) => {
                let want = match carrier {
                    Some(c) => format!("{c}.{}", role.as_str()),
                    None => role.as_str().to_owned(),
                };
                if let Some(i) = names.iter().position(|n| *n == want) {
                    out.push(Outage::Node(NodeId(i as u32), from, until));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod partition_tests {
    use super::*;

    #[test]
    fn links_are_classed_by_the_names_of_their_ends() {
        let cases = [
            (
                "east.sub3",
                "east.cell0",
                Some((LinkClass::Radio, Some("east"))),
            ),
            (
                "east.cell0",
                "east.pgw",
                Some((LinkClass::Core, Some("east"))),
            ),
            (
                "east.pgw",
                "east.core",
                Some((LinkClass::Core, Some("east"))),
            ),
            (
                "east.core",
                "east.smsc",
                Some((LinkClass::Core, Some("east"))),
            ),
            (
                "east.core",
                "east.edge",
                Some((LinkClass::Core, Some("east"))),
            ),
            ("east.core", "east.mediation", None),
            (
                "east.mediation",
                "east.lea",
                Some((LinkClass::Interconnect, Some("east"))),
            ),
            (
                "east.edge",
                "ix",
                Some((LinkClass::Interconnect, Some("east"))),
            ),
            ("ix", "ott", Some((LinkClass::Internet, None))),
        ];
        for (a, b, want) in cases {
            assert_eq!(link_class(a, b), want, "{a} - {b}");
        }
    }

    /// A link partition cuts the links of its class, a node partition finds its node by name
    /// (that the names are the ones `World::build` gives is tested end to end in
    /// `tests/faults.rs`: an SMS centre's and the OTT server's outages hold messages).
    #[test]
    fn partitions_pick_links_by_class_and_nodes_by_name() {
        let base = scenario::builtin("small-lab").expect("built in");
        let carrier = "lab";
        assert!(
            base.contains(&format!("name = \"{carrier}\"")),
            "small-lab's carrier"
        );
        let text = format!(
            "{base}\n[[faults.partition]]\nlink = \"radio\"\nfrom = \"1m\"\nuntil = \"2m\"\n\
             [[faults.partition]]\nnode = \"smsc\"\ncarrier = \"{carrier}\"\nfrom = \"1m\"\nuntil = \"2m\"\n"
        );
        let sc = scenario::parse("t.toml", &text).expect("valid");
        let names: Vec<String> = ["ix", "ott", "lab.smsc", "lab.sub0", "lab.cell0", "lab.sub1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let links = [
            (LinkId(0), NodeId(0), NodeId(1)),
            (LinkId(1), NodeId(3), NodeId(4)),
            (LinkId(2), NodeId(5), NodeId(4)),
        ];
        let t = |m: u64| Timestamp::from_nanos(m * 60_000_000_000);
        assert_eq!(
            partitions(&sc, &names, &links),
            vec![
                Outage::Link(LinkId(1), t(1), t(2)),
                Outage::Link(LinkId(2), t(1), t(2)),
                Outage::Node(NodeId(2), t(1), t(2)),
            ]
        );
    }
}

#[cfg(test)]
mod address_tests {
    use super::*;

    /// Every subscriber of every carrier gets its own address, in its carrier's blocks, seen
    /// as a subscriber; the first 65,535 keep the `10.c.x.y` numbering shipped scenarios use.
    #[test]
    fn subscribers_are_numbered_uniquely_in_their_carriers_blocks() {
        let sizes = [3u32, 200_000, 65_535, 65_536];
        let plan = AddressPlan::new(sizes).expect("4 overflow blocks");
        let mut seen = std::collections::BTreeSet::new();
        for (c, &n) in sizes.iter().enumerate() {
            let nets = plan.subscriber_nets(c);
            assert_eq!(nets.len() as u32, scenario::address_blocks(n));
            for k in 0..n as usize {
                let a = plan.subscriber_addr(c, k);
                assert!(seen.insert(a), "{a} given twice");
                assert!(is_subscriber(a), "{a}");
                assert!(!is_infra_of(a, c));
                let in_nets = nets.iter().filter(|(net, len)| {
                    let mask = u32::MAX << (32 - u32::from(*len));
                    u32::from(a) & mask == u32::from(*net)
                });
                assert_eq!(in_nets.count(), 1, "{a} in {nets:?}");
                let o = a.octets();
                assert!(
                    !(o[2] == 0 && o[3] == 0),
                    "{a} is a block's network address"
                );
            }
        }
        assert_eq!(plan.subscriber_addr(0, 0), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(plan.subscriber_addr(1, 255), Ipv4Addr::new(10, 1, 1, 0));
        assert_eq!(
            plan.subscriber_addr(1, 65_534),
            Ipv4Addr::new(10, 1, 255, 255)
        );
        assert_eq!(
            plan.subscriber_addr(1, 65_535),
            Ipv4Addr::new(100, 64, 0, 1)
        );
        // Carrier 1 takes blocks 0-2 (200,000 is 3.05 blocks: its own and 3 more); carrier 3
        // the next.
        assert_eq!(
            plan.subscriber_addr(1, 199_999),
            Ipv4Addr::new(100, 66, 13, 67)
        );
        assert_eq!(
            plan.subscriber_addr(3, 65_535),
            Ipv4Addr::new(100, 67, 0, 1)
        );
        assert!(!is_subscriber(Ipv4Addr::new(100, 128, 0, 1)));
        assert!(!is_subscriber(Ipv4Addr::new(172, 16, 0, 1)));
    }

    #[test]
    fn the_plan_refuses_the_carrier_that_finds_no_block_left() {
        let per = scenario::SUBSCRIBERS_PER_BLOCK;
        assert!(AddressPlan::new([per * 65]).is_ok());
        assert_eq!(AddressPlan::new([per * 33, per * 34]).err(), Some(1));
    }
}
