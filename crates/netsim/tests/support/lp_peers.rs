//! The peer workload split into logical processes, shared by `tests/partition.rs` and the
//! root package's `benches/partition.rs` (included with `#[path]`).
//!
//! Every host sends a 200-byte datagram to a planned other host every 10 ms for one simulated
//! second. `k` routers each serve `h` hosts; [`whole`] links every pair of routers with a 10 ms
//! link (the cut), [`partitioned`] makes each router an LP's portal with a lookahead of 10 ms.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use netsim::partition::{self, Lp, Owner, Process};
use netsim::{
    Duration, Event, LinkParams, Network, NetworkBuilder, NodeId, Packet, SeedTree, Timestamp,
};

const TICK_MS: u64 = 10;
pub const TICKS: u64 = 100;
pub const CUT: Duration = Duration::from_millis(10);

fn host_addr(p: usize, j: usize) -> Ipv4Addr {
    let n = j + 1;
    Ipv4Addr::new(10, p as u8, (n >> 8) as u8, (n & 0xff) as u8)
}

fn router_addr(p: usize) -> Ipv4Addr {
    Ipv4Addr::new(172, 16, p as u8, 1)
}

/// The planned destination of `src`'s datagram at `tick`: a fixed mix of the two numbers
/// (SplitMix64's finaliser), never `src` itself.
fn destination(src: usize, tick: u64, hosts: usize) -> usize {
    let mut z = (src as u64) << 32 ^ tick ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let d = (z % (hosts as u64 - 1)) as usize;
    if d >= src {
        d + 1
    } else {
        d
    }
}

/// Sends on every host's ticks; records every delivery as (time, receiver, payload).
pub struct Peers {
    /// (node, address, global index) of the hosts this process drives.
    hosts: Vec<(NodeId, Ipv4Addr, usize)>,
    /// Every host of the whole network, by global index.
    all: Vec<Ipv4Addr>,
    deliveries: Vec<(u64, Ipv4Addr, Vec<u8>)>,
}

impl Peers {
    fn start(&self, net: &mut Network) {
        for (token, &(node, _, _)) in self.hosts.iter().enumerate() {
            net.set_timer(node, Timestamp::ZERO, token as u64);
        }
    }
}

impl Process for Peers {
    fn handle(&mut self, net: &mut Network, event: Event) {
        match event {
            Event::Timer { node, token } => {
                let (_, addr, me) = self.hosts[token as usize];
                let tick = net.now().as_nanos() / (TICK_MS * 1_000_000);
                let to = self.all[destination(me, tick, self.all.len())];
                let mut payload = vec![0u8; 200];
                payload[..8].copy_from_slice(&(me as u64).to_be_bytes());
                payload[8..16].copy_from_slice(&tick.to_be_bytes());
                let packet = Packet::udp(
                    SocketAddrV4::new(addr, 9),
                    SocketAddrV4::new(to, 9),
                    &payload,
                )
                .expect("a small datagram");
                net.send(node, packet);
                if tick + 1 < TICKS {
                    net.set_timer(
                        node,
                        Timestamp::from_nanos((tick + 1) * TICK_MS * 1_000_000),
                        token,
                    );
                }
            }
            Event::Deliver { node, packet } => {
                let at = net.now().as_nanos();
                self.deliveries
                    .push((at, net.node_addr(node), packet.udp_payload().to_vec()));
            }
        }
    }
}

fn host_link(jitter: bool) -> LinkParams {
    LinkParams {
        latency: Duration::from_micros(2_500),
        jitter: if jitter {
            Duration::from_micros(500)
        } else {
            Duration::ZERO
        },
        loss: if jitter { 0.05 } else { 0.0 },
        ..LinkParams::default()
    }
}

fn cut_link() -> LinkParams {
    LinkParams {
        latency: CUT,
        ..LinkParams::default()
    }
}

/// The whole network in one queue: `k` routers linked pairwise by the cut's latency.
pub fn whole(k: usize, h: usize) -> Vec<(u64, Ipv4Addr, Vec<u8>)> {
    let mut b = NetworkBuilder::new();
    let routers: Vec<NodeId> = (0..k)
        .map(|p| b.add_node(&format!("r{p}"), router_addr(p)))
        .collect();
    for p in 0..k {
        for q in p + 1..k {
            b.add_link(routers[p], routers[q], cut_link());
        }
    }
    let mut hosts = Vec::new();
    for (p, &r) in routers.iter().enumerate() {
        for j in 0..h {
            let n = b.add_node(&format!("h{p}.{j}"), host_addr(p, j));
            b.add_link(n, r, host_link(false));
            hosts.push((n, host_addr(p, j), p * h + j));
        }
    }
    let mut net = b.build(&SeedTree::new(16)).expect("a valid network");
    let all = hosts.iter().map(|h| h.1).collect();
    let mut peers = Peers {
        hosts,
        all,
        deliveries: Vec::new(),
    };
    peers.start(&mut net);
    while let Some(ev) = net.poll() {
        peers.handle(&mut net, ev);
    }
    let mut d = peers.deliveries;
    d.sort();
    d
}

/// The same network as `k` LPs, run on `threads` threads; `faults` puts jitter and loss on
/// the host links (each LP's links draw from their own streams).
pub fn partitioned(
    k: usize,
    h: usize,
    threads: usize,
    faults: bool,
) -> (Vec<(u64, Ipv4Addr, Vec<u8>)>, partition::PartitionStats) {
    let mut lps: Vec<Lp<Peers>> = (0..k).map(|p| lp(p, k, h, faults)).collect();
    let stats = partition::run(&mut lps, CUT, threads);
    let mut d: Vec<_> = lps.into_iter().flat_map(deliveries).collect();
    d.sort();
    (d, stats)
}

/// LP `p` of the `k`-LP network of `partitioned`, ready to run.
pub fn lp(p: usize, k: usize, h: usize, faults: bool) -> Lp<Peers> {
    let all: Vec<Ipv4Addr> = (0..k)
        .flat_map(|p| (0..h).map(move |j| host_addr(p, j)))
        .collect();
    let owner: Owner = Arc::new(|a: Ipv4Addr| {
        let o = a.octets();
        (o[0] == 10).then_some(usize::from(o[1]))
    });
    let mut b = NetworkBuilder::new();
    let portal = b.add_node(&format!("r{p}"), router_addr(p));
    let mut hosts = Vec::new();
    for j in 0..h {
        let n = b.add_node(&format!("h{p}.{j}"), host_addr(p, j));
        b.add_link(n, portal, host_link(faults));
        hosts.push((n, host_addr(p, j), p * h + j));
    }
    // Stubs for the other LPs' hosts, so packets for them route to the portal.
    for q in (0..k).filter(|&q| q != p) {
        for j in 0..h {
            let s = b.add_node(&format!("stub{q}.{j}"), host_addr(q, j));
            b.add_link(s, portal, LinkParams::default());
        }
    }
    let mut net = b
        .build(&SeedTree::new(16).child(&format!("lp{p}")))
        .expect("a valid network");
    let peers = Peers {
        hosts,
        all,
        deliveries: Vec::new(),
    };
    peers.start(&mut net);
    Lp::new(p, net, portal, peers, owner, CUT)
}

/// What LP `lp`'s hosts received: (time, host, payload).
pub fn deliveries(lp: Lp<Peers>) -> Vec<(u64, Ipv4Addr, Vec<u8>)> {
    lp.into_process().deliveries
}
