//! The shared peer workload of issue 16 on netsim and on its peers, side by side in one run.
//!
//! The workload: `N` hosts; every 10 ms (ticks at 0, 10, ..., 990 ms: one simulated second)
//! each host sends one 200-byte datagram to a random other host; one-way delay 5 ms, no loss.
//! The destinations come from one fixed-seed ChaCha8 stream ([`Plan`]), drawn once per size
//! outside the timing, so every engine does the same work: `N × 100` datagrams delivered, each
//! counted at its destination with its length checked. Every iteration asserts that count.
//!
//! The engines:
//! - `netsim`: a star, every host linked to one router by an ideal link of 2.5 ms (5 ms one
//!   way, two hops), the sends driven by one netsim timer per host re-armed every 10 ms; every
//!   datagram is a real IPv4/UDP packet routed through the router.
//! - `tokio_task`: tokio's current-thread runtime with paused time (what
//!   `#[tokio::test(start_paused = true)]` builds): one task per host sends on its ticks; every
//!   datagram is a task of its own that sleeps 5 ms and hands the payload to the destination's
//!   inbox (an mpsc channel read by one receiver task per host).
//! - `tokio_fifo`: the same runtime; every host's uplink is one link task fed by an mpsc
//!   channel of `(due, destination, payload)` that sleeps until each item is due
//!   (`sleep_until`) and hands it to the destination's inbox: a FIFO link, as netsim's.
//! - `turmoil`: turmoil 0.7 with a fixed seed, constant 5 ms message latency, its default 1 ms
//!   tick and `simulation_duration` of 2 s; every host is a turmoil client with a
//!   `turmoil::net::UdpSocket`, sending on its ticks and receiving until it has its planned
//!   count.
//!
//! Sizes: 10, 100, 1,000 and 10,000 hosts for netsim and both tokio models; turmoil at 10 and
//! 100 only (it steps every host's runtime and scans its in-flight messages on every 1 ms
//! tick: issue 16 measured about 1.5 hours per simulated second at 1,000 hosts, and it cannot
//! register 10,000 hosts). `PEERS_TURMOIL_MAX` (an environment variable) raises that cap for
//! anyone with the time.
//!
//! Each figure is the time to simulate one second of the workload; BENCHMARKING.md has the
//! table and the ratios.

use std::cell::{Cell, OnceCell};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use netsim::{Event, LinkParams, NetworkBuilder, Packet};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use simcore::{SeedTree, Timestamp};

/// Sends per host: one every [`PERIOD_MS`] for one simulated second.
const TICKS: u32 = 100;
/// The sending period.
const PERIOD_MS: u64 = 10;
/// One-way delay from host to host.
const ONE_WAY_MS: u64 = 5;
/// Payload bytes per datagram.
const PAYLOAD: usize = 200;
/// The UDP port every host listens on.
const PORT: u16 = 9000;
/// The seed of the destination stream.
const SEED: u64 = 16;

/// Who sends to whom: `dest[k * n + i]` is host `i`'s destination on tick `k`.
struct Plan {
    n: usize,
    dest: Vec<u32>,
    /// Datagrams each host receives over the second.
    inbound: Vec<u32>,
}

impl Plan {
    fn new(n: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let mut dest = Vec::with_capacity(n * TICKS as usize);
        let mut inbound = vec![0u32; n];
        for _ in 0..TICKS {
            for i in 0..n {
                // Uniform over the n - 1 other hosts (the modulo bias is below 2^-18 here).
                let mut d = (rng.next_u32() % (n as u32 - 1)) as usize;
                if d >= i {
                    d += 1;
                }
                dest.push(d as u32);
                inbound[d] += 1;
            }
        }
        Plan { n, dest, inbound }
    }

    fn total(&self) -> u64 {
        self.n as u64 * u64::from(TICKS)
    }

    fn dest(&self, tick: u32, host: usize) -> usize {
        self.dest[tick as usize * self.n + host] as usize
    }
}

fn host_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

/// netsim: a star through one router; returns the datagrams delivered.
fn run_netsim(plan: &Plan) -> u64 {
    let n = plan.n;
    let half = LinkParams {
        latency: simcore::Duration::from_micros(ONE_WAY_MS * 1000 / 2),
        ..LinkParams::default()
    };
    let mut nb = NetworkBuilder::new();
    let router = nb.add_node("router", Ipv4Addr::new(192, 168, 0, 1));
    let hosts: Vec<_> = (0..n)
        .map(|i| {
            let h = nb.add_node(&format!("h{i}"), host_addr(i));
            nb.add_link(h, router, half.clone());
            h
        })
        .collect();
    let mut net = nb.build(&SeedTree::new(1)).expect("a star is valid");
    // The token is the tick; node ids are the host index + 1 (the router is node 0).
    for &h in &hosts {
        net.set_timer(h, Timestamp::from_nanos(0), 0);
    }
    let payload = [0x5au8; PAYLOAD];
    let mut delivered = 0u64;
    while let Some(ev) = net.poll() {
        match ev {
            Event::Timer { node, token } => {
                let i = node.0 as usize - 1;
                let tick = token as u32;
                let d = plan.dest(tick, i);
                let p = Packet::udp(
                    SocketAddrV4::new(host_addr(i), PORT),
                    SocketAddrV4::new(host_addr(d), PORT),
                    &payload,
                )
                .expect("200 bytes fit");
                net.send(node, p);
                if tick + 1 < TICKS {
                    let at = net.now().as_nanos() + PERIOD_MS * 1_000_000;
                    net.set_timer(node, Timestamp::from_nanos(at), token + 1);
                }
            }
            Event::Deliver { packet, .. } => {
                assert_eq!(packet.udp_payload().len(), PAYLOAD);
                delivered += 1;
            }
        }
    }
    delivered
}

/// A current-thread tokio runtime with paused time: the clock jumps to the next timer
/// whenever every task is idle.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// Every host's inbox, by host index.
type Inboxes = Rc<Vec<tokio::sync::mpsc::UnboundedSender<Box<[u8]>>>>;

/// One inbox per host and a receiver task on each that reads its planned count; returns the
/// senders and the receivers' handles (each yields what it counted).
fn inboxes(plan: &Plan) -> (Inboxes, Vec<tokio::task::JoinHandle<u64>>) {
    let mut txs = Vec::with_capacity(plan.n);
    let mut receivers = Vec::with_capacity(plan.n);
    for &expect in &plan.inbound {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Box<[u8]>>();
        txs.push(tx);
        receivers.push(tokio::task::spawn_local(async move {
            let mut got = 0u64;
            while got < u64::from(expect) {
                let p = rx.recv().await.expect("senders live until the end");
                assert_eq!(p.len(), PAYLOAD);
                got += 1;
            }
            got
        }));
    }
    (Rc::new(txs), receivers)
}

/// tokio, one task per datagram: each sleeps the one-way delay, then delivers.
fn run_tokio_task(plan: &Rc<Plan>) -> u64 {
    let rt = paused_runtime();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (txs, receivers) = inboxes(plan);
        let start = tokio::time::Instant::now();
        for i in 0..plan.n {
            let (plan, txs) = (plan.clone(), txs.clone());
            tokio::task::spawn_local(async move {
                for k in 0..TICKS {
                    tokio::time::sleep_until(
                        start + Duration::from_millis(PERIOD_MS * u64::from(k)),
                    )
                    .await;
                    let d = plan.dest(k, i);
                    let txs = txs.clone();
                    tokio::task::spawn_local(async move {
                        tokio::time::sleep(Duration::from_millis(ONE_WAY_MS)).await;
                        let _ = txs[d].send(vec![0x5au8; PAYLOAD].into_boxed_slice());
                    });
                }
            });
        }
        let mut delivered = 0;
        for r in receivers {
            delivered += r.await.expect("receiver ran");
        }
        delivered
    })
}

/// tokio, one FIFO link task per host: the host queues `(due, destination, payload)`, the link
/// sleeps until each is due and delivers it.
fn run_tokio_fifo(plan: &Rc<Plan>) -> u64 {
    let rt = paused_runtime();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (txs, receivers) = inboxes(plan);
        let start = tokio::time::Instant::now();
        for i in 0..plan.n {
            let (plan, txs) = (plan.clone(), txs.clone());
            let (link_tx, mut link_rx) =
                tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, usize, Box<[u8]>)>();
            tokio::task::spawn_local(async move {
                while let Some((due, d, p)) = link_rx.recv().await {
                    tokio::time::sleep_until(due).await;
                    let _ = txs[d].send(p);
                }
            });
            tokio::task::spawn_local(async move {
                for k in 0..TICKS {
                    let at = start + Duration::from_millis(PERIOD_MS * u64::from(k));
                    tokio::time::sleep_until(at).await;
                    let due = at + Duration::from_millis(ONE_WAY_MS);
                    let p = vec![0x5au8; PAYLOAD].into_boxed_slice();
                    link_tx
                        .send((due, plan.dest(k, i), p))
                        .expect("the link lives");
                }
            });
        }
        let mut delivered = 0;
        for r in receivers {
            delivered += r.await.expect("receiver ran");
        }
        delivered
    })
}

/// turmoil: every host a client with a simulated UDP socket.
fn run_turmoil(plan: &Rc<Plan>) -> u64 {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(2))
        .min_message_latency(Duration::from_millis(ONE_WAY_MS))
        .max_message_latency(Duration::from_millis(ONE_WAY_MS))
        .rng_seed(SEED)
        .build();
    let delivered = Rc::new(Cell::new(0u64));
    let names: Vec<String> = (0..plan.n).map(|i| format!("h{i}")).collect();
    // The peers' addresses are known once every host is registered; set before the run.
    let peers: Rc<OnceCell<Vec<IpAddr>>> = Rc::new(OnceCell::new());
    let mut addrs: Vec<IpAddr> = Vec::with_capacity(plan.n);
    for (i, name) in names.iter().enumerate() {
        let (plan, delivered, peers) = (plan.clone(), delivered.clone(), peers.clone());
        let expect = plan.inbound[i];
        sim.client(name.as_str(), async move {
            let sock = Rc::new(
                turmoil::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT))
                    .await
                    .expect("bind"),
            );
            let rx_sock = sock.clone();
            let receiver = tokio::task::spawn_local(async move {
                let mut buf = [0u8; 2 * PAYLOAD];
                for _ in 0..expect {
                    let (len, _) = rx_sock.recv_from(&mut buf).await.expect("recv");
                    assert_eq!(len, PAYLOAD);
                    delivered.set(delivered.get() + 1);
                }
            });
            let start = tokio::time::Instant::now();
            let payload = [0x5au8; PAYLOAD];
            for k in 0..TICKS {
                tokio::time::sleep_until(start + Duration::from_millis(PERIOD_MS * u64::from(k)))
                    .await;
                let to = peers.get().expect("addresses set before the run")[plan.dest(k, i)];
                sock.send_to(&payload, SocketAddr::new(to, PORT))
                    .await
                    .expect("send");
            }
            receiver.await.expect("receiver ran");
            Ok(())
        });
        addrs.push(sim.lookup(name.as_str()));
    }
    peers.set(addrs).expect("set once per simulation");
    sim.run()
        .expect("the simulation completes within its duration");
    delivered.get()
}

/// The largest turmoil size run by default (see the module docs).
fn turmoil_max() -> usize {
    std::env::var("PEERS_TURMOIL_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

fn peers(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers");
    g.sample_size(10);
    for n in [10usize, 100, 1_000, 10_000] {
        let plan = Rc::new(Plan::new(n));
        let total = plan.total();
        g.throughput(Throughput::Elements(total));
        g.bench_with_input(BenchmarkId::new("netsim", n), &plan, |b, plan| {
            b.iter(|| assert_eq!(black_box(run_netsim(plan)), total))
        });
        g.bench_with_input(BenchmarkId::new("tokio_task", n), &plan, |b, plan| {
            b.iter(|| assert_eq!(black_box(run_tokio_task(plan)), total))
        });
        g.bench_with_input(BenchmarkId::new("tokio_fifo", n), &plan, |b, plan| {
            b.iter(|| assert_eq!(black_box(run_tokio_fifo(plan)), total))
        });
        if n <= turmoil_max() {
            g.bench_with_input(BenchmarkId::new("turmoil", n), &plan, |b, plan| {
                b.iter(|| assert_eq!(black_box(run_turmoil(plan)), total))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
