//! Cost of `wiretap matrix`: every experiment, for every pattern, in the simulator with real
//! cryptography.
//!
//! - `matrix/all_59_patterns`: the 38 base patterns plus the 21 psk patterns of spec section
//!   9.4, exactly what `wiretap matrix` runs by default (target: under 10 s on the 2-core
//!   reference machine).
//! - `matrix/XX`: one pattern, for a per-pattern figure.
//!
//! Every iteration checks that each pattern produced a full matrix, so the figures count work
//! actually done.
//!
//! Run: `cargo bench --bench matrix -- --warm-up-time 1 --measurement-time 10`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

fn all_patterns() -> Vec<&'static str> {
    matrix::base_patterns()
        .into_iter()
        .chain(matrix::PSK_PATTERNS)
        .collect()
}

fn bench(c: &mut Criterion) {
    let patterns = all_patterns();
    assert_eq!(patterns.len(), 59);
    let mut g = c.benchmark_group("matrix");
    g.sample_size(10);
    g.bench_function("all_59_patterns", |b| {
        b.iter(|| {
            let mut rows = 0;
            for p in &patterns {
                let m = matrix::run_pattern(p, 1).expect("pattern runs");
                assert!(!m.messages.is_empty());
                rows += m.messages.len();
            }
            black_box(rows)
        })
    });
    g.bench_function("XX", |b| {
        b.iter(|| black_box(matrix::run_pattern("XX", 1).expect("XX runs").runs))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
