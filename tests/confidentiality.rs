//! End-to-end encryption keeps content out of every capture (early data off), whatever the
//! seed and the faults; and early data shows exactly what the first payload exposes.

use proptest::prelude::*;

use crate::support::{capture_windows, mixed, parse, run, Faults};

fn check_no_e2ee_plaintext(seed: u64, faults: Faults) {
    let r = run(parse(&mixed(&faults, false)), seed);
    let windows = capture_windows(&r.output);
    assert!(!windows.is_empty(), "nothing captured");
    let mut checked = 0;
    for m in r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| m.protocol.starts_with("noise:"))
    {
        for w in m.text.as_bytes().windows(16) {
            assert!(
                !windows.contains(<&[u8; 16]>::try_from(w).expect("16 bytes")),
                "plaintext of E2EE message {} ({}) appears in a capture: {:?}",
                m.id,
                m.protocol,
                m.text
            );
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} E2EE messages");
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
    check_no_e2ee_plaintext(1, Faults::NONE);
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
        check_no_e2ee_plaintext(seed, Faults { loss, duplicate, reorder, corrupt: 0.0 });
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
    let r = run(parse(&mixed(&Faults::NONE, true)), 4);
    let read = |label: &str| {
        r.report
            .protocols
            .iter()
            .find(|p| p.protocol == label)
            .map(|p| (p.messages_read_by_adversary, p.sessions))
    };
    // NN's first message carries its payload before any DH: the first message of every
    // session is read, and nothing else.
    let (nn_read, nn_sessions) = read("noise:NN").expect("NN traffic");
    assert!(nn_read > 0, "NN early data should be readable");
    assert!(
        nn_read <= nn_sessions,
        "only first payloads: read {nn_read} > sessions {nn_sessions}"
    );
    // X encrypts its first payload to the responder's static (es, ss); KKpsk2 and X1X1 encrypt
    // after ee/es; none is readable passively.
    for label in [
        "noise:X",
        "noise:KKpsk2",
        "noise:X1X1",
        "noise:XX",
        "noise:IK",
    ] {
        if let Some((n, _)) = read(label) {
            assert_eq!(n, 0, "{label} early data must stay encrypted");
        }
    }
}
