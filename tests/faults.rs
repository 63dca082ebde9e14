//! Issue 14's invariants under every fault the scenario schema offers, scheduled partitions
//! included: no wrong or duplicated text is delivered, the adversary recovers nothing false,
//! and every message is delivered or failed with a stated reason (`delivered + failed =
//! messages`). The property test keeps CI small; `examples/fault_campaign.rs` runs the same
//! check over thousands of sessions.

use proptest::prelude::*;

use crate::support::campaign::{check, scenario_text, Case, PARTITION_TARGETS};

fn quiet(seed: u64, partitions: Vec<(usize, u32, u32)>) -> Case {
    Case {
        seed,
        loss: 0.0,
        corrupt: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        partitions,
    }
}

fn target(keys: &str) -> usize {
    PARTITION_TARGETS
        .iter()
        .position(|t| *t == keys)
        .unwrap_or_else(|| panic!("no target {keys}"))
}

/// A partition that heals inside the retry budget delays messages and loses none: the SMS
/// centre of `east` is down from minute 10 to minute 70 (past the end of the traffic), the OTT
/// server from minute 20 to minute 40. Messages sent into the partition arrive after it heals.
#[test]
fn a_partition_healing_inside_the_budget_delivers_everything() {
    let smsc = target(r#"node = "smsc", carrier = "east""#);
    let ott = target(r#"node = "ott""#);
    let case = quiet(3, vec![(smsc, 10, 60), (ott, 20, 20)]);
    let out = check(&case).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.delivered, out.messages, "{out:?}");
    assert_eq!(out.failed, 0);

    // The partition took effect: some message sent while the OTT server was down was held
    // until it came back.
    let sc = crate::support::parse(&scenario_text(&case));
    let r = crate::support::run(sc, case.seed);
    let min = |m: u64| simcore::Timestamp::from_nanos(m * 60_000_000_000);
    let held = r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| m.sent_at >= min(20) && m.sent_at < min(39))
        .filter(|m| m.delivered_at.is_some_and(|d| d >= min(40)))
        .count();
    assert!(held > 0, "no message was held by the partition");
    let held_sms = r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| &*m.app == "sms" && m.sent_at >= min(10) && m.sent_at < min(60))
        .filter(|m| m.delivered_at.is_some_and(|d| d >= min(70)))
        .count();
    assert!(held_sms > 0, "no SMS was held by the SMS centre's outage");
}

/// Without the partition the same seed delivers those messages before the heal: the test
/// above measures the partition, not the seed.
#[test]
fn without_the_partition_nothing_waits_for_minute_40() {
    let case = quiet(3, Vec::new());
    let r = crate::support::run(crate::support::parse(&scenario_text(&case)), case.seed);
    let min = |m: u64| simcore::Timestamp::from_nanos(m * 60_000_000_000);
    let late = r
        .output
        .truth
        .messages
        .iter()
        .filter(|m| m.sent_at >= min(20) && m.sent_at < min(35))
        .filter(|m| m.delivered_at.is_some_and(|d| d >= min(40)))
        .count();
    assert_eq!(late, 0);
}

/// A partition that outlasts the retry budget (`carrier::MAX_DRAIN` after the traffic): every
/// message that needs the cut link fails with a stated reason, the others are delivered, and
/// `delivered + failed = messages`.
#[test]
fn a_partition_outlasting_the_budget_fails_messages_with_a_reason() {
    let ott = target(r#"node = "ott""#);
    // Down from minute 30 for 8 days: past 1 h of traffic + 7 days of budget.
    let case = quiet(5, vec![(ott, 30, 8 * 24 * 60)]);
    let mut text = scenario_text(&case);
    text = text.replace(
        "messages_per_contact_per_day = 48.0",
        "messages_per_contact_per_day = 12.0",
    );
    let r = crate::support::run(crate::support::parse(&text), case.seed);
    let t = &r.output.truth;
    let delivered = t
        .messages
        .iter()
        .filter(|m| m.delivered_at.is_some())
        .count();
    let failed: Vec<_> = t.messages.iter().filter(|m| m.failure.is_some()).collect();
    assert_eq!(delivered + failed.len(), t.messages.len());
    assert!(!failed.is_empty(), "the OTT outage must fail some message");
    assert!(
        delivered > 0,
        "SMS and carrier-encrypted messages do not need the OTT server"
    );
    for m in &failed {
        assert_ne!(&*m.app, "sms", "{m:?}");
        let why = m.failure.as_deref().unwrap_or_default();
        assert!(
            why.starts_with("partition outlasted the retry budget: node ott still down"),
            "{why}"
        );
    }
    assert_eq!(t.integrity_errors, 0);
    assert_eq!(r.report.adversary.false_recoveries, 0);
    // `validate`'s work estimate bounds what the outage cost: it counts the retransmissions of
    // every message sent while the server is down, until the retry budget ends.
    let sc = crate::support::parse(&text);
    let work = sc.estimated_work();
    let retransmissions = r.report.network.stats.links.retransmissions;
    // The figures docs/scenario.md#work-budget quotes (`-- --nocapture` shows them).
    eprintln!(
        "{retransmissions} retransmissions, estimated at most {:.0}",
        work.retries
    );
    assert!(retransmissions > 0);
    assert!(
        (retransmissions as f64) <= work.retries,
        "{retransmissions} retransmissions, estimated at most {work:?}"
    );
}

/// The constants `validate` estimates retransmissions with are the simulator's.
#[test]
fn the_work_estimate_uses_the_simulators_retry_timing() {
    let reliable = proto::reliable::ReliableConfig::default();
    assert_eq!(reliable.max_rto, scenario::RETRANSMISSION_CAP);
    assert_eq!(carrier::MAX_DRAIN, scenario::RETRY_BUDGET);
    // 1, 2, 4, 8, 16, 32 s: six retransmissions before the back-off reaches the cap.
    let mut rto = reliable.initial_rto;
    let mut before_cap = 0;
    while rto < reliable.max_rto {
        before_cap += 1;
        rto = (rto * 2).min(reliable.max_rto);
    }
    assert_eq!(before_cap, 6);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    /// Faults up to 0.5 on every link, with SMS, carrier-encrypted, Noise and Signal apps and
    /// up to two partitions: the invariants hold.
    #[test]
    fn nothing_silently_wrong_over_seeds_faults_and_partitions(
        seed in 0u64..1_000_000,
        loss in 0.0f64..=0.5,
        corrupt in 0.0f64..=0.5,
        duplicate in 0.0f64..=0.5,
        reorder in 0.0f64..=0.5,
        partitions in prop::collection::vec(
            (0..PARTITION_TARGETS.len(), 0u32..60, 1u32..120), 0..=2),
    ) {
        let case = Case { seed, loss, corrupt, duplicate, reorder, partitions };
        let out = check(&case).map_err(TestCaseError::fail)?;
        prop_assert_eq!(out.delivered + out.failed, out.messages);
    }
}
