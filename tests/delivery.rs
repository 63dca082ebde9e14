//! Loss delays a message but never silently loses or corrupts it.

use proptest::prelude::*;

use crate::support::{mixed, parse, run, Faults};

fn check_all_delivered(seed: u64, faults: Faults) {
    let r = run(parse(&mixed(&faults, false)), seed);
    let t = &r.output.truth;
    let lost: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.delivered_at.is_none())
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} not delivered, first: {:?}",
        lost.len(),
        t.messages.len(),
        lost.first()
    );
    assert_eq!(t.integrity_errors, 0);
    assert_eq!(t.duplicate_deliveries, 0);
    assert_eq!(r.output.stats.links.unacknowledged_links, 0);
    assert_eq!(r.output.stats.packets_unroutable, 0);
    if faults.loss > 0.05 {
        assert!(r.output.stats.links.retransmissions > 0);
    }
}

#[test]
fn twenty_percent_radio_loss_loses_nothing() {
    check_all_delivered(
        8,
        Faults {
            loss: 0.2,
            duplicate: 0.05,
            reorder: 0.1,
            corrupt: 0.02,
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn nothing_is_lost_over_seeds_and_faults(
        seed in 0u64..1_000_000,
        loss in 0.0f64..=0.2,
        duplicate in 0.0f64..0.1,
        reorder in 0.0f64..0.3,
        corrupt in 0.0f64..0.05,
    ) {
        check_all_delivered(seed, Faults { loss, duplicate, reorder, corrupt });
    }
}

/// Issue 14: damage the frame check misses on one hop is caught by the receiving host's UDP
/// checksum, and the adversary reads only what a host would accept, so no wrong text is
/// delivered and nothing is falsely recovered. (Flips on two hops can cancel in the 16-bit sum:
/// `undetected_corrupt` is documented as that risk.)
#[test]
fn undetected_damage_on_one_hop_delivers_no_wrong_text_and_no_false_recovery() {
    let text = mixed(&Faults::NONE, false).replacen("corrupt = 0", "undetected_corrupt = 0.3", 1);
    assert!(text.contains("undetected_corrupt = 0.3"), "{text}");
    let r = run(parse(&text), 5);
    assert!(r.output.stats.packets_corrupt_dropped > 100);
    assert_eq!(r.output.truth.integrity_errors, 0);
    assert_eq!(r.report.adversary.false_recoveries, 0);
    assert!(r.report.adversary.messages_read > 0);
}

/// Issue 14: with half the frames lost (or damaged) on every link, the run drains past its
/// usual end while messages are open, within the retry budget: every message is delivered, and
/// `delivered + failed = messages` always.
#[test]
fn half_the_frames_lost_on_every_link_costs_time_never_messages() {
    let base = include_str!("../sim/small-lab.toml");
    for fault in ["loss", "corrupt"] {
        let text = format!(
            "{base}\n[links]\nradio = {{ {fault} = 0.5 }}\ncore = {{ {fault} = 0.5 }}\n\
             interconnect = {{ {fault} = 0.5 }}\ninternet = {{ {fault} = 0.5 }}\n"
        );
        let r = run(parse(&text), 1);
        let t = &r.output.truth;
        let delivered = t
            .messages
            .iter()
            .filter(|m| m.delivered_at.is_some())
            .count();
        let failed = t.messages.iter().filter(|m| m.failure.is_some()).count();
        assert_eq!(delivered + failed, t.messages.len(), "{fault}");
        assert_eq!(
            delivered,
            t.messages.len(),
            "{fault}: {:?}",
            t.messages.iter().find(|m| m.failure.is_some())
        );
        assert_eq!(t.integrity_errors, 0);
        // It took longer than the usual 6 h drain after the hour of traffic.
        assert!(
            r.output.stats.end
                > simcore::Timestamp::ZERO + simcore::Duration::from_secs(7 * 3600 + 60),
            "{fault}"
        );
    }
}
