//! On-path attacks at the core (`[[adversary.onpath]]`, `sim/active-intercept.toml`): what a man
//! in the middle reads per Noise pattern, and that endpoints notice every tampering, replay,
//! injection and drop, with nothing silently lost.

use report::AttackScore;

use crate::support;

fn active(seed: u64) -> support::Run {
    let text = scenario::builtin("active-intercept").expect("active-intercept is built in");
    support::run_with_capabilities(support::parse(text), seed)
}

/// The report line of `app` and `mode`, which must have attacked something.
fn line<'a>(r: &'a support::Run, app: &str, mode: &str) -> &'a AttackScore {
    let a = r
        .report
        .on_path
        .iter()
        .find(|a| a.app == app && a.mode == mode)
        .unwrap_or_else(|| panic!("no {mode} line for {app}: {:#?}", r.report.on_path));
    assert!(a.attempted > 0, "{a:#?}");
    a
}

#[test]
fn nn_mitm_reads_every_message_silently() {
    let r = active(1);
    let a = line(&r, "chat-nn", "mitm");
    assert_eq!(a.succeeded_silently, a.attempted, "{a:#?}");
    assert!(a.messages > 0, "{a:#?}");
    assert_eq!(a.messages_read, a.messages, "{a:#?}");
    assert_eq!(a.messages_delivered, a.messages, "{a:#?}");
    assert!(r
        .findings
        .recovered
        .iter()
        .any(|x| x.method == "mitm at metro.core"));
    assert_eq!(r.report.adversary.false_recoveries, 0);
}

#[test]
fn pinned_xx_detects_every_attack_and_nothing_is_read() {
    let r = active(1);
    let expected = [
        ("mitm", "unexpected-remote-static"),
        ("tamper", "bad-tag"),
        ("replay", "replay"),
        ("inject", "bad-tag"),
        ("drop", "timeout"),
    ];
    for (mode, kind) in expected {
        let a = line(&r, "chat-pinned", mode);
        assert_eq!(a.detected, a.attempted, "{a:#?}");
        assert_eq!(a.messages_read, 0, "{a:#?}");
        assert_eq!(
            a.detected_by.keys().collect::<Vec<_>>(),
            [kind],
            "{mode}: {a:#?}"
        );
    }
}

#[test]
fn unpinned_xx_with_the_adversarys_own_static_is_read_silently() {
    let r = active(1);
    let a = line(&r, "chat-open", "mitm");
    assert_eq!(a.succeeded_silently, a.attempted, "{a:#?}");
    assert_eq!(a.messages_read, a.messages, "{a:#?}");
    assert_eq!(a.messages_delivered, a.messages, "{a:#?}");
}

#[test]
fn ik_mitm_fails_for_want_of_es_and_reads_nothing() {
    let r = active(1);
    let a = line(&r, "chat-ik", "mitm");
    assert_eq!(a.failed_undetected, a.attempted, "{a:#?}");
    assert_eq!(a.messages_read, 0, "{a:#?}");
    assert_eq!(
        a.messages_delivered, a.messages,
        "the session went on untouched"
    );
    let why = a.example_outcome.as_deref().unwrap_or_default();
    assert!(why.contains("could not compute es"), "{why}");
}

#[test]
fn a_tunnelled_app_is_out_of_the_core_attackers_reach() {
    let r = active(1);
    let a = line(&r, "chat-tunnel", "mitm");
    assert_eq!(a.failed_undetected, a.attempted, "{a:#?}");
    assert_eq!(a.messages_read, 0);
    let why = a.example_outcome.as_deref().unwrap_or_default();
    assert!(why.contains("flow is inside a server tunnel"), "{why}");
}

#[test]
fn tampered_replayed_and_injected_messages_are_never_delivered_as_genuine() {
    let r = active(1);
    let t = &r.output.truth;
    assert_eq!(
        t.integrity_errors, 0,
        "a forged or altered text was delivered"
    );
    assert_eq!(t.duplicate_deliveries, 0, "a replay was delivered");
    for a in &t.attacks {
        if ["tamper", "replay", "inject"].contains(&a.mode.as_str()) {
            assert!(a.modified && a.detected.is_some(), "{a:#?}");
        }
    }
    for mode in ["tamper", "replay", "inject"] {
        let a = line(&r, "chat-pinned", mode);
        assert_eq!(a.succeeded_silently, 0, "{a:#?}");
    }
}

#[test]
fn dropped_sessions_are_recorded_as_failed_never_silently_lost() {
    let r = active(1);
    let t = &r.output.truth;
    let undelivered: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.delivered_at.is_none() && m.failure.is_none())
        .collect();
    assert!(undelivered.is_empty(), "{undelivered:#?}");
    let mut dropped = 0;
    for a in t.attacks.iter().filter(|a| a.mode == "drop" && a.modified) {
        assert_eq!(a.detected.as_deref(), Some("timeout"), "{a:#?}");
        for &id in &a.messages {
            let m = &t.messages[id];
            if m.delivered_at.is_none() {
                dropped += 1;
                assert!(m
                    .failure
                    .as_deref()
                    .is_some_and(|f| f.starts_with("timeout")));
            }
        }
    }
    assert!(dropped > 0);
    assert_eq!(r.output.stats.links.unacknowledged_links, 0);
}

#[test]
fn an_active_run_is_deterministic() {
    let (a, b) = (active(5), active(5));
    let ja = serde_json::to_string(&a.report).expect("json");
    let jb = serde_json::to_string(&b.report).expect("json");
    assert_eq!(ja, jb);
    assert_eq!(a.output.capabilities.active, b.output.capabilities.active);
    assert!(a.report.on_path.iter().any(|x| x.succeeded_silently > 0));
}
