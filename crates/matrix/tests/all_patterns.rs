//! Every pattern snow supports yields a full matrix whose outcomes are consistent: the
//! monotonicity of the experiment note (a violation is a harness bug) and E8 succeeding exactly
//! on destination-0 and destination-2 rows.

fn all_patterns() -> Vec<String> {
    let mut v: Vec<String> = matrix::base_patterns()
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(matrix::PSK_PATTERNS.iter().map(|s| s.to_string()));
    // Multiple psk modifiers, deferred patterns with psk, and hybrid forward secrecy.
    v.extend(
        [
            "NNpsk0+psk2",
            "XXpsk0+psk3",
            "NK1psk0",
            "NNhfs",
            "XXhfs",
            "IKhfs",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

fn check(m: &matrix::PatternMatrix) -> Vec<String> {
    let mut bad = Vec::new();
    assert!(!m.messages.is_empty(), "{}: no rows", m.pattern);
    for r in &m.messages {
        let e = |i: u8| r.experiments[&format!("E{i}")];
        for (a, b) in [(1, 2), (1, 3), (2, 4), (3, 4), (4, 5), (6, 7)] {
            if e(a) && !e(b) {
                bad.push(format!(
                    "{} message {}: E{a} without E{b}",
                    m.pattern, r.index
                ));
            }
        }
        let replayable = r.destination == 0 || r.destination == 2;
        if e(8) != replayable {
            bad.push(format!(
                "{} message {}: E8 = {} but destination {}",
                m.pattern,
                r.index,
                e(8),
                r.destination
            ));
        }
        for (k, ev) in &r.evidence {
            assert!(
                !ev.why.is_empty(),
                "{} message {} {k}: no evidence",
                m.pattern,
                r.index
            );
        }
    }
    bad
}

#[test]
fn every_snow_pattern_yields_a_consistent_matrix() {
    let mut bad = Vec::new();
    let mut n = 0;
    for p in all_patterns() {
        let m = matrix::run_pattern(&p, 7).unwrap_or_else(|e| panic!("{p}: {e}"));
        n += 1;
        bad.extend(check(&m));
    }
    assert_eq!(n, 38 + 21 + 6);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn unknown_and_unsupported_patterns_are_clear_errors() {
    for (p, needle) in [
        ("QQ", "QQ"),
        ("XXfallback", "fallback"),
        ("Noise_XX_448_ChaChaPoly_SHA256", "25519"),
    ] {
        let e = matrix::run_pattern(p, 1).expect_err(p).to_string();
        assert!(e.contains(needle), "{p}: {e}");
    }
}
