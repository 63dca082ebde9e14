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
//! Routes are shortest paths, so SMS between carriers goes SMS centre → core → edge → ix →
//! edge → core → SMS centre, and all OTT traffic of a carrier's subscribers crosses its
//! packet gateway and core router, where charging and the point of interception sit.

use std::net::Ipv4Addr;

use netsim::{LinkParams, NodeId};
use scenario::LinkSpec;

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
/// Subscriber with local index `k` of carrier `c`.
/// Carrier `c`'s subscriber address block, `10.c.0.0/16`.
pub(crate) fn subscriber_net(c: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, c as u8, 0, 0)
}

pub(crate) fn subscriber_addr(c: usize, k: usize) -> Ipv4Addr {
    let n = k + 1;
    Ipv4Addr::new(10, c as u8, (n >> 8) as u8, (n & 0xff) as u8)
}

/// Whether `addr` is one of carrier `c`'s infrastructure hosts.
pub(crate) fn is_infra_of(addr: Ipv4Addr, c: usize) -> bool {
    let o = addr.octets();
    o[0] == 172 && o[1] == 16 && usize::from(o[2]) == c
}

/// Whether `addr` is a subscriber address (of any carrier).
pub(crate) fn is_subscriber(addr: Ipv4Addr) -> bool {
    addr.octets()[0] == 10
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
