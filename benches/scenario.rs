//! The default scenario end to end: build the world, run one simulated day, analyse the
//! captures, score. Target (issue 2): under 10 s in release on the 2-core reference machine.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn default_scenario(c: &mut Criterion) {
    let text = scenario::builtin(scenario::DEFAULT_SCENARIO_NAME).expect("built in");
    let sc = scenario::parse("sim/salt-typhoon.toml", text).expect("parses");
    // One warm run to count the work, so the throughput line is in simulator events.
    let probe = pipeline::run(&sc, sc.seed).expect("run");
    let events = probe.output.stats.events;
    let messages = probe.output.truth.messages.len();
    eprintln!(
        "salt-typhoon seed {}: {events} events, {messages} messages",
        sc.seed
    );
    drop(probe);

    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("salt-typhoon/run+analyze+score", |b| {
        b.iter(|| {
            let run = pipeline::run(black_box(&sc), sc.seed).expect("run");
            assert_eq!(run.report.network.stats.events, events);
            black_box(run.report)
        })
    });
    g.finish();
}

criterion_group!(benches, default_scenario);
criterion_main!(benches);
