//! One run split into logical processes (`netsim::partition`, docs/distributed.md) against
//! the same network in one queue, in the same criterion run.
//!
//! The workload is issue 16's peer workload (`crates/netsim/tests/support/lp_peers.rs`): every
//! host sends a 200-byte datagram to a planned other host every 10 ms for one simulated second,
//! `k` routers of `h` hosts, the routers joined by 10 ms links (the cut). `whole` is one
//! `Network`; `lps_1thread` the `k` LPs run in turn on one thread (the cost of partitioning
//! itself: windows, the cut's hooks and timers, stub nodes); `lps_2threads` the same on two
//! threads. Every iteration builds the networks and checks every datagram arrived, so a fast
//! figure cannot come from a broken run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "../crates/netsim/tests/support/lp_peers.rs"]
mod lp_peers;

use lp_peers::{partitioned, whole, TICKS};

fn partition(c: &mut Criterion) {
    let mut g = c.benchmark_group("partition");
    for (k, h) in [(2usize, 500usize), (4, 250)] {
        let datagrams = (k * h) as u64 * TICKS;
        g.throughput(Throughput::Elements(datagrams));
        let id = format!("{k}x{h}");
        g.bench_function(format!("whole/{id}"), |b| {
            b.iter(|| assert_eq!(whole(k, h).len() as u64, datagrams));
        });
        for threads in [1usize, 2] {
            g.bench_function(format!("lps_{threads}thread/{id}"), |b| {
                b.iter(|| assert_eq!(partitioned(k, h, threads, false).0.len() as u64, datagrams));
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = partition
}
criterion_main!(benches);
