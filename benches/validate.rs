//! Scenario validation must stay linear in the size of the file (issue 14: 100,000 `[[app]]`
//! tables took 12 s when duplicate names were found by a linear scan). Measures `small-lab`
//! with 10,000 and 100,000 extra apps; the second should cost about ten times the first.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn with_apps(n: usize) -> String {
    let base = scenario::builtin("small-lab").expect("built in");
    let at = base.find("[[carrier]]").expect("a carrier table");
    let mut text = String::with_capacity(base.len() + n * 40);
    text.push_str(&base[..at]);
    for i in 0..n {
        text.push_str(&format!("[[app]]\nname = \"a{i}\"\nkind = \"sms\"\n\n"));
    }
    text.push_str(&base[at..]);
    text
}

fn validate(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let text = with_apps(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("apps", n), &text, |b, text| {
            b.iter(|| {
                let sc = scenario::parse("apps.toml", black_box(text)).expect("valid");
                assert_eq!(sc.apps.len(), n + 2);
                black_box(sc)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
