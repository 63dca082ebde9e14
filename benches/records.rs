//! The cost of keeping call records encoded (`capture::RecordLog`) against a vector of
//! `CallRecord`s, in one run (issue 16).
//!
//! 1 million synthetic records of 100,000 subscribers (each subscriber's IMSI, IMEI and MSISDN
//! made once and shared, as a carrier's directory does; the other party another subscriber's
//! MSISDN; a day of starts in order, SMS, calls and data mixed):
//!
//! - `records/push/log` and `records/push/vec`: appending them all to an empty log, and to an
//!   empty vector (cloning the record, which is what the vector's `push` costs the store);
//! - `records/read/log` and `records/read/vec`: reading them all back and summing a field of
//!   each and the length of its MSISDN (what a reader of the records does).
//!
//! Figure: records per second. The bench also prints the bytes a record takes in each (the
//! log's encoded bytes and string table; the vector's 152-byte records).
//!
//! ```sh
//! cargo bench --bench records -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;
use std::sync::Arc;

use capture::{CallRecord, Cause, RecordKind, RecordLog, Timestamp};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const RECORDS: usize = 1_000_000;
const SUBSCRIBERS: usize = 100_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn records() -> Vec<CallRecord> {
    let ids: Vec<[Arc<str>; 3]> = (0..SUBSCRIBERS)
        .map(|i| {
            [
                format!("3101500{i:08}").into(),
                format!("3569380{i:08}").into(),
                format!("+1202{i:07}").into(),
            ]
        })
        .collect();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let day_ns = 86_400 * 1_000_000_000u64;
    (0..RECORDS)
        .map(|i| {
            let x = r.next();
            let [imsi, imei, msisdn] = ids[(x % SUBSCRIBERS as u64) as usize].clone();
            let other = ids[((x >> 20) % SUBSCRIBERS as u64) as usize][2].clone();
            let start = i as u64 * (day_ns / RECORDS as u64) + (x >> 44);
            let kind =
                [RecordKind::SmsMo, RecordKind::SmsMt, RecordKind::VoiceMo][(x % 3) as usize];
            let voice = kind.is_voice();
            let cell = ((x >> 8) % 250) as u32;
            CallRecord {
                record_id: i as u64 + 1,
                kind,
                imsi,
                imei,
                msisdn,
                other_party: other,
                start: Timestamp::from_nanos(start),
                end: Timestamp::from_nanos(if voice { start + (x >> 30) } else { start }),
                cell,
                bytes_up: if voice { 0 } else { 140 },
                bytes_down: 0,
                end_cell: if voice { (cell + 1) % 250 } else { cell },
                answer: voice.then(|| Timestamp::from_nanos(start + (x >> 36))),
                duration_ns: if voice { (x >> 30) - (x >> 36) } else { 0 },
                cause: Cause::Normal,
                call_ref: if voice { x >> 16 } else { 0 },
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let recs = records();
    let log: RecordLog = recs.iter().cloned().collect();
    let encoded = log.encoded_bytes() as f64 / RECORDS as f64;
    eprintln!(
        "records: {RECORDS} in a log take {encoded:.1} encoded bytes each and {} distinct \
         strings; in a vector {} bytes each",
        log.distinct_strings(),
        std::mem::size_of::<CallRecord>(),
    );
    let mut g = c.benchmark_group("records");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(10);
    g.bench_function("push/log", |b| {
        b.iter_batched(
            RecordLog::new,
            |mut log| {
                for r in &recs {
                    log.push(r);
                }
                log
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("push/vec", |b| {
        b.iter_batched(
            Vec::new,
            |mut v: Vec<CallRecord>| {
                for r in &recs {
                    v.push(r.clone());
                }
                v
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("read/log", |b| {
        b.iter(|| {
            log.iter()
                .map(|r| r.bytes_up + r.start.as_nanos() + r.msisdn.len() as u64)
                .fold(0u64, u64::wrapping_add)
        })
    });
    g.bench_function("read/vec", |b| {
        b.iter(|| {
            black_box(&recs)
                .iter()
                .map(|r| r.bytes_up + r.start.as_nanos() + r.msisdn.len() as u64)
                .fold(0u64, u64::wrapping_add)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
