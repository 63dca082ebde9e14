//! Throughput of the adversary's metadata analyses on synthetic inputs (deterministic).
//!
//! - `records/contacts+locations`: 10 million compact call records (24 bytes each: 1 million
//!   subscribers, 250 cells, one simulated week, SMS and voice), through the contact graph and
//!   the location traces with home/work inference. Figure: records per second.
//! - `correlation/1M`: a relay trace of 1 million messages (1 million uplinks and 1 million
//!   downlinks, 100 000 parties, 100 messages per second, 70 ms ± 10 ms relay delay, sizes from
//!   a spread of lengths) through the timing/size correlation (window 10 s, at most 64
//!   candidates per uplink) and edge voting. Figure: messages per second.
//!
//! Inputs are generated once per bench with a xorshift generator, so runs are comparable.

use std::hint::black_box;

use adversary::metadata::correlation::{correlate_ids, edges_ids, CorrelationConfig};
use adversary::metadata::packets::Sighting;
use adversary::metadata::records::{
    contact_graph, location_traces, CompactRecord, RecordTable, KIND_SMS, KIND_VOICE, SRC_RECORDS,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDS: usize = 10_000_000;
const SUBSCRIBERS: u64 = 1_000_000;
const MESSAGES: usize = 1_000_000;
const PARTIES: u64 = 100_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn records() -> RecordTable {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let week_ns = 7 * 86_400 * 1_000_000_000u64;
    let step = week_ns / RECORDS as u64;
    let recs = (0..RECORDS)
        .map(|i| {
            let x = r.next();
            let sub = (x % SUBSCRIBERS) as u32;
            // Each subscriber has ~6 contacts: other = sub + small offset.
            let other = ((u64::from(sub) + 1 + (x >> 40) % 6) % SUBSCRIBERS) as u32;
            CompactRecord {
                time: i as u64 * step,
                subscriber: sub,
                other,
                cell: ((x >> 20) % 250) as u32,
                kind: if x & 8 == 0 { KIND_SMS } else { KIND_VOICE },
                source: SRC_RECORDS,
            }
        })
        .collect();
    RecordTable::from_ids(SUBSCRIBERS as usize, recs)
}

fn trace() -> (Vec<Sighting>, Vec<Sighting>) {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let ms = 1_000_000u64;
    let mut ups = Vec::with_capacity(MESSAGES);
    let mut downs = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES as u64 {
        let x = r.next();
        let a = (x % PARTIES) as u32;
        let b = ((u64::from(a) + 1 + (x >> 32) % 8) % PARTIES) as u32;
        let t = i * 10 * ms;
        let size = 100 + ((x >> 12) % 160) as u32;
        ups.push(Sighting {
            time: t,
            party: a,
            size,
        });
        downs.push(Sighting {
            time: t + 60 * ms + (x >> 50) % (20 * ms),
            party: b,
            size,
        });
    }
    ups.sort_unstable();
    downs.sort_unstable();
    (ups, downs)
}

fn bench_records(c: &mut Criterion) {
    let t = records();
    let mut g = c.benchmark_group("records");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("contacts+locations/10M", |b| {
        b.iter(|| {
            let edges = contact_graph(black_box(&t));
            let traces = location_traces(black_box(&t));
            (edges.len(), traces.len())
        })
    });
    g.finish();
}

fn bench_correlation(c: &mut Criterion) {
    let (ups, downs) = trace();
    let cfg = CorrelationConfig::default();
    let mut g = c.benchmark_group("correlation");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.bench_function("messages/1M", |b| {
        b.iter(|| {
            let c = correlate_ids(black_box(&ups), black_box(&downs), &cfg);
            edges_ids(&ups, &c, cfg.min_votes).len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_records, bench_correlation);
criterion_main!(benches);
