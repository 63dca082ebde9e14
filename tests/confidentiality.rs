//! End-to-end encryption keeps content out of every capture (early data off), whatever the
//! seed and the faults; and early data shows exactly what the first payload exposes.

use proptest::prelude::*;

use crate::support::{capture_windows, mixed, parse, run, Faults};

/// Texts are human-like, so two messages can share a phrase ("sorry look at the "): a 16-byte
/// run of an E2EE message that also occurs in some message sent in the clear proves nothing,
/// nor does one whose first or last 15 bytes do (one byte of framing can complete it: a
/// length byte of 32 is an ASCII space). The check covers every other run: all the
/// distinctive ones.
fn check_no_e2ee_plaintext(seed: u64, faults: Faults, min_messages: usize) {
    let r = run(parse(&mixed(&faults, false)), seed);
    let windows = capture_windows(&r.output);
    assert!(!windows.is_empty(), "nothing captured");
    let mut clear_runs = std::collections::BTreeSet::new();
    for m in r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| m.protocol.family() != capture::Family::Noise)
    {
        for w in m.text.as_bytes().windows(15) {
            clear_runs.insert(w.to_vec());
        }
    }
    let (mut messages, mut runs) = (0, 0);
    for m in r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| m.protocol.family() == capture::Family::Noise)
    {
        let mut distinctive = 0;
        for w in m.text.as_bytes().windows(16) {
            if clear_runs.contains(&w[..15]) || clear_runs.contains(&w[1..]) {
                continue;
            }
            distinctive += 1;
            assert!(
                !windows.contains(<&[u8; 16]>::try_from(w).expect("16 bytes")),
                "plaintext of E2EE message {} ({}) appears in a capture: {:?} (run {:?})",
                m.id,
                m.protocol,
                m.text,
                String::from_utf8_lossy(w)
            );
        }
        runs += distinctive;
        messages += 1;
    }
    assert!(
        messages >= min_messages && runs > 2 * messages,
        "{messages} messages, {runs} runs checked"
    );
    // And the adversary read none of them.
    for p in r
        .report
        .protocols
        .iter()
        .filter(|p| p.protocol.starts_with("noise:"))
    {
        assert_eq!(p.messages_read_by_adversary, 0, "{}", p.protocol);
    }
}

#[test]
fn e2ee_plaintext_never_appears_in_captures() {
    // Seed 1 carries a known-large E2EE load: this is the run that proves the check is not vacuous.
    check_no_e2ee_plaintext(1, Faults::NONE, 20);
}

#[test]
fn e2ee_plaintext_never_appears_with_a_light_e2ee_load() {
    // The seed that made CI fail once: a correct run with few E2EE messages.
    check_no_e2ee_plaintext(331_791, Faults::NONE, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn e2ee_plaintext_never_appears_over_seeds_and_faults(
        seed in 0u64..1_000_000,
        loss in 0.0f64..0.2,
        duplicate in 0.0f64..0.1,
        reorder in 0.0f64..0.2,
    ) {
        // The E2EE load depends on the seed (seed 331791 sends only 19 such messages), so any
        // seed must check at least one message; the fixed-seed test above checks a large load.
        check_no_e2ee_plaintext(seed, Faults { loss, duplicate, reorder, corrupt: 0.0 }, 1);
    }
}

#[test]
fn sms_and_carrier_encrypted_content_is_read_in_a_tapped_core() {
    let r = run(parse(&mixed(&Faults::NONE, false)), 3);
    for p in &r.report.protocols {
        if p.protocol == "sms" || p.protocol == "carrier-encrypted" {
            // Both carriers' cores are tapped: every such message crosses one in the clear.
            assert_eq!(p.messages_read_by_adversary, p.messages, "{}", p.protocol);
        }
    }
    assert_eq!(r.report.adversary.false_recoveries, 0);
}

#[test]
fn early_data_exposes_the_first_payload_of_unprotected_patterns_only() {
    let text = scenario::builtin("early-data").expect("built in");
    let r = run(parse(text), 4);
    let labels: Vec<&str> = r
        .report
        .protocols
        .iter()
        .map(|p| p.protocol.as_str())
        .collect();
    let read = |label: &str| {
        r.report
            .protocols
            .iter()
            .find(|p| p.protocol == label)
            .map(|p| (p.messages_read_by_adversary, p.sessions))
            .unwrap_or_else(|| panic!("no {label} traffic: {labels:?}"))
    };
    // NN and XX send their first message with only `e` before the payload: no key exists yet,
    // so the first message of every observed session is read, and nothing else.
    // NNpsk2 too: snow encrypts its first payload, but under a key mixed from the public
    // ephemeral alone (the psk comes at the end of message 2), so no secret is needed.
    for label in ["noise:NN", "noise:XX", "noise:NNpsk2"] {
        let (n, sessions) = read(label);
        assert!(n > 0, "{label} early data should be readable");
        assert!(
            n <= sessions,
            "{label}: only first payloads: read {n} > sessions {sessions}"
        );
    }
    // NK, IK and one-way X encrypt the first payload after `es` with the responder's static.
    for label in ["noise:NK", "noise:IK", "noise:X", "noise:NNpsk0"] {
        assert_eq!(read(label).0, 0, "{label} early data must stay encrypted");
    }
    assert_eq!(r.report.adversary.false_recoveries, 0);
    assert!(
        r.findings
            .recovered
            .iter()
            .any(|m| m.method.contains("public values only")),
        "the NNpsk2 payloads are read by the engine, named as such"
    );
}
