//! Throughput of the `netsim` event engine, in events per second.
//!
//! - `timer_loop`, `timer_loop_1m`: one node, 1,024 or 1,048,576 timers; every popped timer is
//!   re-armed a pseudo-random distance ahead. Measures the (time, seq) queue and the poll loop
//!   alone, with few and with a million events in flight (the network and its first timers
//!   are built outside the timed part, and the network is dropped outside it too).
//! - `packet_chain`: a chain of routers over ideal links with 1 µs latency and many datagrams
//!   in flight (`IN_FLIGHT` at once); every hop is one event (forwarding, routing lookup,
//!   link fate), and each delivery is sent back the other way until `DATAGRAMS` were sent.
//!
//! - `routing/tree_10k`, `routing/tree_1m`: a carrier-shaped tree (handsets under cells of
//!   1,000 under one gateway, behind a core and an interconnect) of 10,000 and 1,000,000
//!   handsets; each iteration sends 10,000 datagrams from random handsets to random handsets
//!   (fresh destinations, so every lookup is cold) and delivers them. Interval routing keeps
//!   per-destination state at zero; the old per-destination tables needed 4 bytes × nodes for
//!   every destination used (40 GB for 10,000 destinations at 1M).
//!
//! Each iteration processes a fixed number of events, checked against `NetStats::events` so
//! the throughput figure counts work actually done.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use netsim::{Event, LinkParams, NetworkBuilder, Packet};
use simcore::{SeedTree, Timestamp};

const TIMER_EVENTS: u64 = 1_000_000;

/// `timer_loop` with 1,024 and with 1,048,576 timers in flight: the queue's cost per event
/// should not grow much with what is pending.
fn timer_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("netsim");
    g.throughput(Throughput::Elements(TIMER_EVENTS));
    g.sample_size(10);
    for (name, timers) in [("timer_loop", 1_024u64), ("timer_loop_1m", 1 << 20)] {
        g.bench_function(name, |b| {
            // The network and its first `timers` timers are built outside the timed part, so
            // the figure is the cost per event with that many in flight.
            let setup = || {
                let mut nb = NetworkBuilder::new();
                let node = nb.add_node("clock", Ipv4Addr::new(10, 0, 0, 1));
                let mut net = nb.build(&SeedTree::new(1)).expect("one node is valid");
                for t in 0..timers {
                    net.set_timer(node, Timestamp::from_nanos(t * 7), t);
                }
                net
            };
            b.iter_batched(
                setup,
                |mut net| {
                    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
                    // Re-arm distances spread over about as many nanoseconds as timers pending,
                    // so the number in flight stays at `timers`.
                    let spread = (timers * 8).next_power_of_two() - 1;
                    for _ in 0..TIMER_EVENTS {
                        match net.poll() {
                            Some(Event::Timer { node, token }) => {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                let at = net.now().as_nanos() + 1 + (x & spread);
                                net.set_timer(node, Timestamp::from_nanos(at), black_box(token));
                            }
                            other => panic!("only timers are pending, got {other:?}"),
                        }
                    }
                    assert_eq!(net.stats().events, TIMER_EVENTS);
                    net
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

const ROUTERS: usize = 16;
const IN_FLIGHT: usize = 256;
const DATAGRAMS: u64 = 20_000;

fn packet_chain(c: &mut Criterion) {
    // Every datagram crosses ROUTERS - 1 links: that many events each.
    let events = DATAGRAMS * (ROUTERS as u64 - 1);
    let mut g = c.benchmark_group("netsim");
    g.throughput(Throughput::Elements(events));
    g.bench_function("packet_chain", |b| {
        let addr = |i: usize| Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8);
        let params = LinkParams {
            latency: simcore::Duration::from_micros(1),
            ..LinkParams::default()
        };
        b.iter(|| {
            let mut nb = NetworkBuilder::new();
            let nodes: Vec<_> = (0..ROUTERS)
                .map(|i| nb.add_node(&format!("r{i}"), addr(i)))
                .collect();
            for w in nodes.windows(2) {
                nb.add_link(w[0], w[1], params.clone());
            }
            let mut net = nb.build(&SeedTree::new(1)).expect("chain is valid");
            let first = SocketAddrV4::new(addr(0), 1000);
            let last = SocketAddrV4::new(addr(ROUTERS - 1), 2000);
            for i in 0..IN_FLIGHT {
                let p = Packet::udp(first, last, &[i as u8; 160]).expect("small");
                net.send(nodes[0], p);
            }
            let mut sent = IN_FLIGHT as u64;
            let mut delivered = 0;
            while let Some(ev) = net.poll() {
                let Event::Deliver { node, packet } = ev else {
                    panic!("only packets are in flight, got {ev:?}");
                };
                delivered += 1;
                if sent < DATAGRAMS {
                    // Bounce it back the other way.
                    let reply = Packet::udp(packet.dst(), packet.src(), packet.udp_payload())
                        .expect("small");
                    net.send(node, reply);
                    sent += 1;
                }
            }
            assert_eq!(delivered, DATAGRAMS);
            assert_eq!(net.stats().events, events);
            black_box(net.now())
        })
    });
    g.finish();
}

const ROUTED: usize = 10_000;

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing");
    g.throughput(Throughput::Elements(ROUTED as u64));
    g.sample_size(10);
    for (name, hosts) in [("tree_10k", 10_000usize), ("tree_1m", 1_000_000)] {
        let addr = |i: usize| Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8);
        // The tree is built on the closure's first call (criterion calls it only when the
        // name is selected, then once per sample), outside the timed part, and kept.
        let build = || {
            let mut nb = NetworkBuilder::new();
            let ix = nb.add_node("ix", Ipv4Addr::new(192, 168, 0, 1));
            let core = nb.add_node("core", Ipv4Addr::new(192, 168, 0, 2));
            let pgw = nb.add_node("pgw", Ipv4Addr::new(192, 168, 0, 3));
            nb.add_link(ix, core, LinkParams::default());
            nb.add_link(core, pgw, LinkParams::default());
            let cells: Vec<_> = (0..hosts.div_ceil(1000))
                .map(|j| {
                    let cell = nb.add_node(
                        &format!("cell{j}"),
                        Ipv4Addr::new(172, 16, (j >> 8) as u8, j as u8),
                    );
                    nb.add_link(cell, pgw, LinkParams::default());
                    cell
                })
                .collect();
            let handsets: Vec<_> = (0..hosts)
                .map(|i| {
                    let h = nb.add_node(&format!("h{i}"), addr(i));
                    nb.add_link(h, cells[i / 1000], LinkParams::default());
                    h
                })
                .collect();
            let net = nb.build(&SeedTree::new(1)).expect("tree is valid");
            (net, handsets)
        };
        let mut built = None;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut draw = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as usize % hosts
        };
        g.bench_function(name, |b| {
            let (net, handsets) = built.get_or_insert_with(build);
            b.iter(|| {
                for _ in 0..ROUTED {
                    let (a, d) = (draw(), draw());
                    let p = Packet::udp(
                        SocketAddrV4::new(addr(a), 1000),
                        SocketAddrV4::new(addr(d), 1000),
                        &[0u8; 64],
                    )
                    .expect("small");
                    net.send(handsets[a], p);
                }
                let mut delivered = 0;
                while let Some(ev) = net.poll() {
                    if let Event::Deliver { .. } = ev {
                        delivered += 1;
                    }
                }
                black_box(delivered)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, timer_loop, packet_chain, routing);
criterion_main!(benches);
