//! The long property campaign of issue 14 ("nothing silently wrong"), run outside CI.
//!
//! Draws fault-injection cases ([`campaign::Case`]: a seed; loss, frame-check-caught
//! corruption, duplication and reordering each up to 0.5 on every link class; up to two
//! scheduled partitions of a link class or a node) from a fixed ChaCha20 stream and checks
//! every invariant of `tests/faults.rs` on each: no wrong or duplicated text delivered, no
//! false recovery, every message delivered or failed with a reason. Prints one line per run and
//! the totals, counting sessions as end-to-end sessions plus SMS conversations (the report's
//! `sessions`); exits 1 at the first violation, naming the case.
//!
//! ```text
//! cargo run --release --example fault_campaign -- RUNS [FIRST]
//! ```
//! (No wall clock inside: simulations are in virtual time only; time the command with `time`.)
//! `RUNS` (default 100, or `WIRETAP_CAMPAIGN_RUNS`) cases starting at case `FIRST` (default 0):
//! case `i` is the same on every machine.

#[path = "../tests/support/campaign.rs"]
mod campaign;

use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Case `i` of the campaign: its own ChaCha20 stream, so cases can be run in any slices.
fn case(i: u64) -> campaign::Case {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x1400_0000 + i);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let half = |u: f64| (u * 0.5 * 1000.0).round() / 1000.0;
    let (loss, corrupt, duplicate, reorder) =
        (half(unit()), half(unit()), half(unit()), half(unit()));
    let n = (unit() * 3.0) as usize;
    let partitions = (0..n)
        .map(|_| {
            let target = (unit() * campaign::PARTITION_TARGETS.len() as f64) as usize;
            let from = (unit() * 60.0) as u32;
            let len = 1 + (unit() * 120.0) as u32;
            (target, from, len)
        })
        .collect();
    campaign::Case {
        seed: (unit() * 1e6) as u64,
        loss,
        corrupt,
        duplicate,
        reorder,
        partitions,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: u64 = args
        .first()
        .cloned()
        .or_else(|| std::env::var("WIRETAP_CAMPAIGN_RUNS").ok())
        .map_or(100, |s| s.parse().expect("RUNS is a number"));
    let first: u64 = args
        .get(1)
        .map_or(0, |s| s.parse().expect("FIRST is a number"));
    let mut total = campaign::Outcome::default();
    for i in first..first + runs {
        let c = case(i);
        match campaign::check(&c) {
            Ok(o) => {
                println!(
                    "case {i}: {} messages, {} delivered, {} failed, {} sessions{}",
                    o.messages,
                    o.delivered,
                    o.failed,
                    o.sessions,
                    if o.failed > 0 {
                        format!(" {:?} {:?}", o.reasons, c)
                    } else {
                        String::new()
                    }
                );
                for (why, n) in &o.reasons {
                    *total.reasons.entry(why.clone()).or_default() += n;
                }
                total.messages += o.messages;
                total.delivered += o.delivered;
                total.failed += o.failed;
                total.sessions += o.sessions;
            }
            Err(e) => {
                eprintln!("case {i} VIOLATES an invariant: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "{runs} runs (cases {first}..{}), {} sessions, {} messages, {} delivered, {} failed \
         (by reason: {:?}), 0 wrong texts, 0 false recoveries",
        first + runs,
        total.sessions,
        total.messages,
        total.delivered,
        total.failed,
        total.reasons,
    );
}
