//! Where the memory and the time of one run go (issue 16): phase times, the heap's peak per
//! phase, and the heap each part of the run's output holds, for `BENCHMARKING.md`.
//!
//! ```text
//! cargo run --release --example memprofile -- FILE [SEED] [--simulate-only | --ballast MB]
//! ```
//! With `--simulate-only` it runs the simulation alone (`carrier::run_watched`, as the pipeline
//! calls it) and stops, so that under `heaptrack` the peak by allocation site is the end of the
//! simulation's even when the analysis peaks higher. With `--ballast MB` the observer thread
//! holds MB megabytes (zeroed on demand, so no resident pages) while the analysis runs, so that
//! under `heaptrack` the peak is the analysis' even when the simulation peaks higher; the
//! ballast is one stack outside `analyze` (`heap_groups.py --adversary` leaves it out), and the
//! stage peaks printed include it.
//! Runs `FILE` (a scenario; the work limit is raised to 10^9) through `pipeline::run_watched`
//! with a counting global allocator (the system allocator, plus two atomic counters: bytes live
//! now and the highest since the last reset). A second thread reads the run's `Watch` every
//! millisecond and, when the stage changes (build/plan → simulate → analyse → score), notes the
//! wall time and the phase's heap peak. After the run it drops the output one part at a time
//! (captured packets, call records, ground truth, ...) and prints how many heap bytes each
//! freed, with the counts to divide by, and the analysis' working memory (the analyse stage's
//! peak less the output it read). Last, a netsim micro-measurement: the heap held per
//! 200-byte datagram in flight (100,000 in flight on a 1 s link).
//!
//! The allocator's counters cost a few percent of the run's time; the figures are for
//! comparing parts and sizes, not for the speed tables (those come from `benches/`). Heap
//! bytes are what the program asked for, not RSS (the allocator's own overhead and
//! fragmentation come on top). Allocation sites within the simulation (handsets, sessions,
//! the network's queue) are broken down by running the same binary under `heaptrack`
//! (BENCHMARKING.md, "Where the memory goes").
// A profiler measures the wall clock, and its observer thread waits between looks at the
// watch; neither reaches the run, whose output does not depend on them.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use simcore::{SeedTree, Stage, Timestamp, Watch};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed through to `System` unchanged; the counters only observe sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from System, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` and `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn mb(b: usize) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// Heap bytes freed by dropping `x`.
fn freed<T>(x: T) -> usize {
    let before = live();
    drop(x);
    before.saturating_sub(live())
}

/// Prints `row` for the vector `v` (its length as the count) after freeing it.
fn vec_row<T>(row: &dyn Fn(&str, usize, usize, &str), name: &str, v: &mut Vec<T>, what: &str) {
    let n = v.len();
    row(name, freed(std::mem::take(v)), n, what);
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Building => "build/plan",
        Stage::Simulating => "simulate",
        Stage::Analysing => "analyse",
        Stage::Scoring => "score",
        _ => "other",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: memprofile FILE [SEED] [--simulate-only | --ballast MB]");
        std::process::exit(2);
    };
    let seed: u64 = args
        .get(2)
        .filter(|s| !s.starts_with("--"))
        .map_or(1, |s| s.parse().expect("SEED is a number"));
    let ballast_mb: usize = args.iter().position(|a| a == "--ballast").map_or(0, |i| {
        let mb = args.get(i + 1).and_then(|s| s.parse().ok());
        mb.expect("--ballast MB: a number of megabytes")
    });
    let text = std::fs::read_to_string(path).expect("scenario readable");
    let sc = scenario::parse_with(
        path,
        &text,
        scenario::Limits {
            max_work: 1_000_000_000,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));

    if args.iter().any(|a| a == "--simulate-only") {
        let t0 = Instant::now();
        PEAK.store(live(), Ordering::Relaxed);
        let out = carrier::run_watched(&sc, seed, &onpath::Armory, &Watch::new())
            .expect("the simulation completes");
        println!(
            "simulation only: subscribers {}, events {}, {:.2} s, heap peak {}",
            out.truth.subscribers.len(),
            out.stats.events,
            t0.elapsed().as_secs_f64(),
            mb(PEAK.load(Ordering::Relaxed))
        );
        return;
    }
    let watch = Arc::new(Watch::new());
    let done = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    PEAK.store(live(), Ordering::Relaxed);
    // The observer: (stage, wall seconds at its start, heap peak of the stage before it).
    let observer = {
        let (watch, done) = (watch.clone(), done.clone());
        std::thread::spawn(move || {
            let mut marks = vec![(Stage::Building, 0.0f64, 0usize)];
            let mut cur = Stage::Building;
            let mut ballast: Option<Vec<u8>> = None;
            while !done.load(Ordering::Relaxed) {
                let s = watch.stage();
                if s != cur {
                    if s != Stage::Analysing {
                        drop(ballast.take());
                    }
                    let peak = PEAK.swap(live(), Ordering::Relaxed);
                    marks.push((s, t0.elapsed().as_secs_f64(), peak));
                    if s == Stage::Analysing && ballast_mb > 0 {
                        ballast = Some(vec![0u8; ballast_mb * 1_000_000]);
                    }
                    cur = s;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            marks
        })
    };
    let run = pipeline::run_watched(&sc, seed, &watch).expect("the run completes");
    let total = t0.elapsed().as_secs_f64();
    let last_peak = PEAK.load(Ordering::Relaxed);
    done.store(true, Ordering::Relaxed);
    let marks = observer.join().expect("observer");

    println!("scenario {path}, seed {seed}");
    println!(
        "subscribers {}, events {}",
        run.output.truth.subscribers.len(),
        run.output.stats.events
    );
    println!("phase          wall s    heap peak");
    let mut analyse_peak = None;
    for (i, (stage, start, _)) in marks.iter().enumerate() {
        let (end, peak) = match marks.get(i + 1) {
            Some((_, next, peak)) => (*next, *peak),
            None => (total, last_peak),
        };
        if *stage == Stage::Analysing {
            analyse_peak = Some(peak);
        }
        println!(
            "{:<12} {:>8.2} {:>12}",
            stage_name(*stage),
            end - start,
            mb(peak)
        );
    }
    println!("total        {total:>8.2}");
    let per_event = |secs: f64| secs * 1e9 / run.output.stats.events as f64;
    if let (Some(sim), Some(ana)) = (
        marks.iter().position(|m| m.0 == Stage::Simulating),
        marks.iter().position(|m| m.0 == Stage::Analysing),
    ) {
        println!(
            "simulate per event: {:.0} ns; whole run per event: {:.0} ns",
            per_event(marks[ana].1 - marks[sim].1),
            per_event(total)
        );
    }

    // What the output holds, part by part.
    let pipeline::Run {
        mut output,
        findings,
        report,
    } = run;
    let held = live();
    println!("\nheld after the run: {}", mb(held));
    println!("part                         heap        count  bytes/item");
    let row = |name: &str, bytes: usize, count: usize, what: &str| {
        let per = if count > 0 {
            format!("{:.0} per {what}", bytes as f64 / count as f64)
        } else {
            String::new()
        };
        println!("{name:<26} {:>10} {count:>12}  {per}", mb(bytes));
    };
    let subscribers = output.truth.subscribers.len();
    let sessions: usize = output.truth.sessions.values().sum();
    row("report", freed(report), 0, "");
    // The findings field by field (the largest first), then the rest.
    let mut findings = findings;
    vec_row(
        &row,
        "findings: recovered",
        &mut findings.recovered,
        "message",
    );
    vec_row(&row, "findings: flows", &mut findings.flows, "flow");
    vec_row(
        &row,
        "findings: data sessions",
        &mut findings.data_sessions,
        "session",
    );
    vec_row(
        &row,
        "findings: contact pairs",
        &mut findings.contact_pairs,
        "pair",
    );
    vec_row(
        &row,
        "findings: sealed",
        &mut findings.sealed_messages,
        "message",
    );
    vec_row(
        &row,
        "findings: contact edges",
        &mut findings.metadata.contacts,
        "edge",
    );
    vec_row(
        &row,
        "findings: locations",
        &mut findings.metadata.locations,
        "trace",
    );
    row(
        "findings: correlation",
        freed(std::mem::take(&mut findings.metadata.correlation)),
        0,
        "",
    );
    row("findings: the rest", freed(findings), 0, "");
    let n_packets = output.captures.packet_count();
    // The analysis' working memory: its stage's peak less the output it reads (what is held
    // now, without the report and the findings it wrote) and any ballast.
    if let Some(peak) = analyse_peak {
        let working = peak.saturating_sub(live() + ballast_mb * 1_000_000);
        println!(
            "  (analysis' working memory: {} = the analyse peak less the {} of output it read; {:.0} per captured packet)",
            mb(working),
            mb(live()),
            working as f64 / n_packets.max(1) as f64
        );
    }
    let payload: usize = output
        .captures
        .vantages
        .iter()
        .filter_map(|v| v.packets.as_ref())
        .flat_map(|p| p.packets.iter())
        .map(|p| p.bytes.len())
        .sum();
    let packets: Vec<_> = output
        .captures
        .vantages
        .iter_mut()
        .map(|v| v.packets.take())
        .collect();
    row("captured packets", freed(packets), n_packets, "packet");
    println!("  (of which IPv4 bytes captured: {})", mb(payload));
    let n_cr: usize = output
        .captures
        .vantages
        .iter()
        .map(|v| v.call_records.len())
        .sum();
    let crs: Vec<_> = output
        .captures
        .vantages
        .iter_mut()
        .map(|v| std::mem::take(&mut v.call_records))
        .collect();
    row("captured call records", freed(crs), n_cr, "record");
    row(
        "captures (rest)",
        freed(std::mem::take(&mut output.captures)),
        0,
        "",
    );
    let n_rec: usize = output.records.iter().map(|(_, r)| r.len()).sum();
    row(
        "record stores",
        freed(std::mem::take(&mut output.records)),
        n_rec,
        "record",
    );
    vec_row(
        &row,
        "LI intercept records",
        &mut output.intercepts,
        "record",
    );
    let truth = &mut output.truth;
    vec_row(&row, "truth: messages", &mut truth.messages, "message");
    vec_row(&row, "truth: locations", &mut truth.locations, "trace");
    vec_row(&row, "truth: calls", &mut truth.calls, "call");
    row(
        "truth: subscribers",
        freed(std::mem::take(&mut truth.subscribers)),
        subscribers,
        "subscriber",
    );
    row("truth: rest", freed(std::mem::take(truth)), 0, "");
    row("everything else", freed(output), 0, "");
    println!("end-to-end sessions: {sessions}");

    // netsim alone: the heap per datagram in flight.
    const IN_FLIGHT: usize = 100_000;
    let mut nb = netsim::NetworkBuilder::new();
    let a = nb.add_node("a", Ipv4Addr::new(10, 0, 0, 1));
    let r = nb.add_node("r", Ipv4Addr::new(10, 0, 0, 2));
    let b = nb.add_node("b", Ipv4Addr::new(10, 0, 0, 3));
    let slow = netsim::LinkParams {
        latency: simcore::Duration::from_secs(1),
        ..netsim::LinkParams::default()
    };
    nb.add_link(a, r, slow.clone());
    nb.add_link(r, b, slow);
    let mut net = nb.build(&SeedTree::new(1)).expect("valid");
    let before = live();
    let src = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1);
    let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 3), 1);
    for _ in 0..IN_FLIGHT {
        net.send(
            a,
            netsim::Packet::udp(src, dst, &[7u8; 200]).expect("small"),
        );
    }
    let held = live() - before;
    assert!(net.pending() >= IN_FLIGHT);
    println!(
        "\nnetsim: {IN_FLIGHT} datagrams of 228 bytes (200 payload) in flight hold {} = {:.0} bytes each",
        mb(held),
        held as f64 / IN_FLIGHT as f64
    );
    let mut delivered = 0;
    while let Some(ev) = net.poll_until(Timestamp::from_nanos(3_000_000_000)) {
        if let netsim::Event::Deliver { .. } = ev {
            delivered += 1;
        }
    }
    assert_eq!(delivered, IN_FLIGHT);
}
