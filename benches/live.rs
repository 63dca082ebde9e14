//! Live mode beside the simulator (issue 9): the same scenario run by `live::run` (every node a
//! tokio task with its own UDP socket on 127.0.0.1, the modelled network in the intercepting
//! proxy, real time) and by `carrier::run` (the discrete-event simulator, virtual time).
//!
//! The topology: one carrier, two subscribers who are each other's only contact, one Noise XX
//! app without a server tunnel, every link class ideal (0 ms, no jitter, no loss, 100 Gbit/s),
//! a core tap (validation wants one vantage point). Two workloads, each measured in both
//! drivers:
//!
//! 1. `xx_handshake`: 1 ms of traffic whose plan holds exactly one message (seed 9), so a run is
//!    one XX handshake through the OTT server and one message. Per iteration the bench records
//!    the message's `delivered_at - sent_at` from the run's own ground truth (real time live;
//!    virtual time in the simulator, 0 with 0 ms links) and the iteration's wall time.
//! 2. `xx_200B_messages`: 10 ms of traffic whose plan holds 203 messages of 200 characters
//!    (seed 4). Per iteration: the wall time, hence messages per second of wall time.
//!
//! Every iteration asserts that every planned message was delivered intact (the count from a
//! simulator probe run outside the timing, no integrity errors, no duplicates). The figures
//! the criterion lines do not give (median latency, messages per second, the ratios) are
//! printed to stderr once per workload; BENCHMARKING.md § "Live mode against the simulator"
//! has them. Wall times include everything a run does: building the world and, live, the
//! runtime, binding every socket, the real-time traffic and drain, and shutting down.
// A bench measures the wall clock (`Instant`, which clippy.toml bans from the simulation); it
// times whole runs from outside and never reaches them.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use carrier::RunOutput;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scenario::Scenario;

/// The shared topology: `{duration}`, `{rate}` and `{length}` are filled in per workload.
const TOPOLOGY: &str = r#"
[scenario]
name = "bench-live"
description = "Two subscribers of one carrier, one Noise XX contact, ideal links."
seed = 1
duration = "{duration}"

[links]
radio        = { latency = "0ms", jitter = "0ms", bandwidth = "100Gbps", loss = 0.0 }
core         = { latency = "0ms", jitter = "0ms", bandwidth = "100Gbps", loss = 0.0 }
interconnect = { latency = "0ms", jitter = "0ms", bandwidth = "100Gbps", loss = 0.0 }
internet     = { latency = "0ms", jitter = "0ms", bandwidth = "100Gbps", loss = 0.0 }

[[app]]
name = "chat-xx"
kind = "noise"
pattern = "XX"
server_tunnel = false

[[carrier]]
name = "lab"
subscribers = 2
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"

[carrier.population]
chat-xx = 1.0

[traffic]
mean_degree = 1.0
messages_per_contact_per_day = {rate}
reply_probability = 0.0
message_length = { min = {length}, max = {length} }

[adversary]
name = "bench"

[[adversary.vantage]]
kind = "core-tap"
carrier = "lab"
"#;

/// One workload: its scenario and seed, and the message count its plan holds.
struct Workload {
    name: &'static str,
    sc: Scenario,
    seed: u64,
    messages: usize,
}

impl Workload {
    /// `rate` is messages per contact per day: the generator draws one Poisson stream per
    /// contact pair at that rate (`carrier/src/traffic.rs`), so `rate / 86,400,000` messages
    /// per millisecond, which is also what `wiretap validate` estimates (one pair: each of the two
    /// subscribers draws the other).
    fn new(name: &'static str, duration: &str, rate: f64, length: u32, seed: u64) -> Self {
        let text = TOPOLOGY
            .replace("{duration}", duration)
            .replace("{rate}", &format!("{rate:.1}"))
            .replace("{length}", &length.to_string());
        let sc = scenario::parse(&format!("benches/live.rs ({name})"), &text)
            .unwrap_or_else(|e| panic!("the {name} scenario is valid: {e}"));
        let probe = carrier::run(&sc, seed, &onpath::Armory).expect("the simulator runs it");
        let messages = probe.truth.messages.len();
        assert!(messages > 0, "{name}: seed {seed} plans no message");
        Workload {
            name,
            sc,
            seed,
            messages,
        }
    }

    /// Checks that a run delivered every planned message, intact and once.
    fn check(&self, out: &RunOutput, driver: &str) {
        let t = &out.truth;
        assert_eq!(
            t.messages.len(),
            self.messages,
            "{driver}: planned messages"
        );
        let lost: Vec<_> = t
            .messages
            .iter()
            .filter(|m| m.delivered_at.is_none())
            .map(|m| (m.id, m.failure.clone()))
            .collect();
        assert!(lost.is_empty(), "{driver}: undelivered {lost:?}");
        assert_eq!(t.integrity_errors, 0, "{driver}: integrity errors");
        assert_eq!(t.duplicate_deliveries, 0, "{driver}: duplicate deliveries");
    }

    /// A live run: its output and the real UDP datagrams through the proxy (both ways).
    fn live(&self) -> (RunOutput, Option<u64>) {
        let opts = live::Options {
            duration: None,
            drain: Duration::from_secs(5),
            tail: Duration::ZERO,
        };
        let run = live::run(
            &self.sc,
            self.seed,
            &onpath::Armory,
            &opts,
            &simcore::Watch::new(),
        )
        .expect("the live run completes");
        self.check(&run.output, "live");
        let datagrams = run.stats.datagrams_to_proxy + run.stats.datagrams_from_proxy;
        (run.output, Some(datagrams))
    }

    /// A simulated run: its output (no real datagrams).
    fn sim(&self) -> (RunOutput, Option<u64>) {
        let out = carrier::run(&self.sc, self.seed, &onpath::Armory).expect("the simulator runs");
        self.check(&out, "sim");
        (out, None)
    }
}

/// What every iteration of one driver on one workload measured.
#[derive(Default)]
struct Samples {
    /// Wall time of each run.
    wall: Vec<Duration>,
    /// The first message's `delivered_at - sent_at` in each run (the run's own clock).
    first_latency: Vec<Duration>,
    /// From the first message's `sent_at` to the last `delivered_at` (the run's own clock).
    span: Vec<Duration>,
    /// The median of every message's `delivered_at - sent_at` in each run (the run's clock).
    message_latency: Vec<Duration>,
    /// From the first message's `sent_at` to the first packet the core tap saw at or after it
    /// (the handset's send timer firing and its first datagram reaching the core).
    to_first_packet: Vec<Duration>,
    /// From that packet to the first message's `delivered_at`: the handshake and the message
    /// on the (modelled) wire.
    on_wire: Vec<Duration>,
    /// Live runs: real UDP datagrams through the proxy, to it and from it.
    datagrams: Vec<u64>,
}

impl Samples {
    fn record(&mut self, wall: Duration, out: &RunOutput) {
        let m = &out.truth.messages[0];
        let delivered = m.delivered_at.expect("checked delivered");
        let last = out
            .truth
            .messages
            .iter()
            .filter_map(|m| m.delivered_at)
            .max()
            .unwrap_or(delivered);
        let latencies: Vec<Duration> = out
            .truth
            .messages
            .iter()
            .filter_map(|m| Some(m.delivered_at?.saturating_duration_since(m.sent_at)))
            .collect();
        self.message_latency.push(median(&latencies));
        self.wall.push(wall);
        self.first_latency
            .push(delivered.saturating_duration_since(m.sent_at));
        self.span.push(last.saturating_duration_since(m.sent_at));
        let first_packet = out
            .captures
            .vantages
            .iter()
            .filter_map(|v| v.packets.as_ref())
            .flat_map(|c| c.packets.iter().map(|p| p.time))
            .filter(|&t| t >= m.sent_at)
            .min();
        if let Some(p) = first_packet {
            self.to_first_packet
                .push(p.saturating_duration_since(m.sent_at));
            self.on_wire.push(delivered.saturating_duration_since(p));
        }
    }
}

/// The median (the lower middle for an even count); the default (zero) when empty.
fn median<T: Ord + Copy + Default>(v: &[T]) -> T {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Benches `run` under `group`, timing each run and recording it into `samples`.
fn bench_driver(
    c: &mut Criterion,
    group: &str,
    w: &Workload,
    samples: &RefCell<Samples>,
    run: impl Fn(&Workload) -> (RunOutput, Option<u64>),
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(w.messages as u64));
    g.bench_function(w.name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let (out, datagrams) = black_box(run(w));
                let wall = start.elapsed();
                total += wall;
                let mut s = samples.borrow_mut();
                s.record(wall, &out);
                s.datagrams.extend(datagrams);
            }
            total
        })
    });
    g.finish();
}

fn handshake(c: &mut Criterion) {
    // 86,400,000 a day: one message per millisecond on average; seed 9's plan has exactly one.
    let w = Workload::new("xx_handshake", "1ms", 86_400_000.0, 160, 9);
    assert_eq!(w.messages, 1, "the handshake workload is one message");
    let (live, sim) = (RefCell::default(), RefCell::default());
    bench_driver(c, "live", &w, &live, Workload::live);
    bench_driver(c, "sim", &w, &sim, Workload::sim);
    let (live, sim): (Samples, Samples) = (live.into_inner(), sim.into_inner());
    let live_lat = median(&live.first_latency);
    let sim_wall = median(&sim.wall);
    eprintln!(
        "xx_handshake: {} live runs, {} sim runs; handshake+message latency over loopback \
         (median, the run's truth): {:.3} ms, of which sent_at to the first packet at the core \
         tap {:.3} ms and that packet to delivery {:.3} ms; simulator: {:.3} ms of virtual \
         time, {:.3} ms of wall time per run (median); live wall time per run (median) {:.3} \
         ms, {} real datagrams through the proxy (median); live latency / sim wall = {:.1}",
        live.wall.len(),
        sim.wall.len(),
        ms(live_lat),
        ms(median(&live.to_first_packet)),
        ms(median(&live.on_wire)),
        ms(median(&sim.first_latency)),
        ms(sim_wall),
        ms(median(&live.wall)),
        median(&live.datagrams),
        live_lat.as_secs_f64() / sim_wall.as_secs_f64().max(f64::MIN_POSITIVE),
    );
}

fn messages_200b(c: &mut Criterion) {
    // 1,728,000,000 a day: 20 messages per millisecond; seed 4's plan has 203 in 10 ms.
    let w = Workload::new("xx_200B_messages", "10ms", 1_728_000_000.0, 200, 4);
    assert_eq!(
        w.messages, 203,
        "the plan the docs describe (update them with it)"
    );
    let (live, sim) = (RefCell::default(), RefCell::default());
    bench_driver(c, "live", &w, &live, Workload::live);
    bench_driver(c, "sim", &w, &sim, Workload::sim);
    let (live, sim): (Samples, Samples) = (live.into_inner(), sim.into_inner());
    let per_sec = |d: Duration| w.messages as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE);
    let (live_wall, sim_wall) = (median(&live.wall), median(&sim.wall));
    eprintln!(
        "xx_200B_messages: {} messages of 200 B per run, {} real datagrams through the proxy \
         (median); {} live runs, {} sim runs; wall time \
         per run (median): live {:.3} ms, sim {:.3} ms; messages per second of wall time: \
         live {:.0}, sim {:.0}; sim / live = {:.1}; first sent to last delivered (median, \
         the run's clock): live {:.3} ms real, sim {:.3} ms virtual; per-message latency (median of \
         the runs' medians): live {:.3} ms real, sim {:.3} ms virtual",
        w.messages,
        median(&live.datagrams),
        live.wall.len(),
        sim.wall.len(),
        ms(live_wall),
        ms(sim_wall),
        per_sec(live_wall),
        per_sec(sim_wall),
        live_wall.as_secs_f64() / sim_wall.as_secs_f64().max(f64::MIN_POSITIVE),
        ms(median(&live.span)),
        ms(median(&sim.span)),
        ms(median(&live.message_latency)),
        ms(median(&sim.message_latency)),
    );
}

criterion_group!(benches, handshake, messages_200b);
criterion_main!(benches);
