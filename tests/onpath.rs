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
        .any(|x| &*x.method == "mitm at metro.core"));
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

fn shipped(name: &str, seed: u64) -> support::Run {
    let text = scenario::builtin(name).unwrap_or_else(|| panic!("{name} is built in"));
    support::run(support::parse(text), seed)
}

/// Every message delivered exactly once or failed with a reason, and the on-path lines agree
/// with the truth: delivered + failed = messages.
fn nothing_silently_wrong(r: &support::Run) {
    let t = &r.output.truth;
    assert_eq!(t.integrity_errors, 0);
    assert_eq!(t.duplicate_deliveries, 0);
    for m in &t.messages {
        assert!(
            m.delivered_at.is_some() != m.failure.is_some(),
            "delivered xor failed: {m:#?}"
        );
    }
    for a in &r.report.on_path {
        assert_eq!(
            a.messages_delivered + a.messages_failed,
            a.messages,
            "{a:#?}"
        );
    }
}

#[test]
fn selective_drop_delete_on_signal_leaves_skipped_keys_and_fails_only_the_dropped() {
    let r = shipped("selective-drop", 1);
    nothing_silently_wrong(&r);
    let a = line(&r, "signal", "drop");
    assert!(a.envelopes_dropped > 0, "{a:#?}");
    assert_eq!(
        a.envelopes_retransmitted, 0,
        "deleted frames are never resent"
    );
    // Only some envelopes are dropped: most messages still arrive, later ones out of a gap.
    assert!(a.messages_failed > 0 && a.messages_delivered > 0, "{a:#?}");
    // A dropped receipt fails no message: at most one failed message per dropped envelope.
    assert!(a.messages_failed as u64 <= a.envelopes_dropped, "{a:#?}");
    // A message that failed is never a silent success.
    assert_eq!(a.succeeded_silently, 0, "{a:#?}");
    // The recipients' ratchets stored skipped keys for the dropped messages; the device states
    // stolen later hold them, and the adversary opens envelopes it captured with them.
    let used: usize = r
        .report
        .key_theft
        .iter()
        .filter_map(|k| k.signal.as_ref())
        .map(|k| k.skipped_keys_used)
        .sum();
    assert!(used > 0, "{:#?}", r.report.key_theft);
    // Each failed message says why.
    let t = &r.output.truth;
    for at in t.attacks.iter().filter(|x| x.app == "signal") {
        for &id in &at.messages {
            if let Some(f) = &t.messages[id].failure {
                assert!(f.contains("dropped on path"), "{f}");
            }
        }
    }
}

#[test]
fn selective_drop_once_costs_time_and_delivers_everything() {
    let r = shipped("selective-drop", 1);
    let a = line(&r, "chat-xx", "drop");
    assert!(a.envelopes_dropped > 0, "{a:#?}");
    assert_eq!(a.envelopes_retransmitted, a.envelopes_dropped, "{a:#?}");
    assert_eq!(a.messages_failed, 0, "{a:#?}");
    assert_eq!(a.messages_delivered, a.messages, "{a:#?}");
    // Only a delay: nothing achieved, nobody noticed.
    assert_eq!(a.failed_undetected, a.attempted, "{a:#?}");
    assert!(r.output.stats.links.retransmissions > 0);
}

#[test]
fn selective_drop_always_fails_the_messages_with_a_stated_reason() {
    let r = shipped("selective-drop", 1);
    let a = line(&r, "chat-ik", "drop");
    assert!(a.envelopes_dropped > 0, "{a:#?}");
    assert_eq!(a.envelopes_retransmitted, 0, "{a:#?}");
    assert!(a.messages_failed > 0, "{a:#?}");
    assert_eq!(a.succeeded_silently, 0, "{a:#?}");
    // Every attack that lost a message was noticed (no receipt, no ACK): nothing silent.
    assert_eq!(a.detected, a.attempted, "{a:#?}");
    let t = &r.output.truth;
    for at in t.attacks.iter().filter(|x| x.app == "chat-ik") {
        for &id in &at.messages {
            if let Some(f) = &t.messages[id].failure {
                // Its own frame dropped, or waiting on the hop behind another one until the
                // retry budget ran out.
                assert!(
                    f.contains("dropped on path") || f.starts_with("retry budget spent"),
                    "{f}"
                );
            }
        }
    }
}

#[test]
fn a_replayed_0rtt_first_message_is_accepted_by_a_fresh_responder_for_every_pattern() {
    let r = shipped("replay-0rtt", 1);
    nothing_silently_wrong(&r);
    for app in ["chat-ik", "chat-nk", "drop-x", "psk-nn", "chat-xx"] {
        let a = line(&r, app, "replay-0rtt");
        // Noise keeps no replay memory across sessions: every replay is taken as new.
        assert_eq!(a.messages_replayed, a.attempted, "{a:#?}");
        assert_eq!(a.succeeded_silently, a.attempted, "{a:#?}");
        assert_eq!(a.messages_delivered, a.messages, "{a:#?}");
    }
    // The truth counts the second deliveries as the replays', not as duplicates.
    let replayed: usize = r
        .output
        .truth
        .attacks
        .iter()
        .map(|a| a.replayed_deliveries)
        .sum();
    assert!(replayed > 0);
    assert_eq!(r.output.truth.duplicate_deliveries, 0);
    assert_eq!(r.report.adversary.false_recoveries, 0);
}

#[test]
fn onpath_keys_are_validated_with_a_location_and_a_hint() {
    let replay = scenario::builtin("replay-0rtt").expect("built in");
    let no_early = replay.replace("early_data = true", "early_data = false");
    let e = scenario::parse("r.toml", &no_early).expect_err("replay-0rtt needs early data");
    let text = e.to_string();
    assert!(
        text.contains("r.toml:") && text.contains("early_data = true"),
        "{text}"
    );
    let drop = scenario::builtin("selective-drop").expect("built in");
    let zero = drop.replace("drop_every = 3", "drop_every = 0");
    let e = scenario::parse("d.toml", &zero).expect_err("drop_every = 0");
    assert!(e.to_string().contains("at least 1"), "{e}");
    let misplaced = drop.replace(
        "mode = \"drop\"\napp = \"signal\"",
        "mode = \"tamper\"\napp = \"signal\"",
    );
    let e = scenario::parse("d.toml", &misplaced).expect_err("drop_every on tamper");
    assert!(e.to_string().contains("`drop_every` does not apply"), "{e}");
    let how = drop.replace("drop_how = \"once\"", "drop_how = \"twice\"");
    assert!(scenario::parse("d.toml", &how).is_err());
}
