//! The pipeline end to end on the shipped active scenario: the adversary's on-path components
//! are armed through `capture::active`, and the simulator refuses to run them unarmed.

fn active() -> scenario::Scenario {
    let text = include_str!("../../../sim/active-intercept.toml");
    scenario::parse("sim/active-intercept.toml", text).expect("parses")
}

/// Injection and deletion renumber flows: the reliable layer must still drain every link,
/// deliver nothing twice and nothing altered, while the attacks happen.
#[test]
fn the_active_scenario_keeps_every_reliable_link_whole() {
    let out = pipeline::run(&active(), 1).expect("run").output;
    assert_eq!(out.truth.integrity_errors, 0);
    assert_eq!(out.truth.duplicate_deliveries, 0);
    assert_eq!(out.stats.links.unacknowledged_links, 0);
    let modes: std::collections::BTreeSet<&str> = out
        .truth
        .attacks
        .iter()
        .filter(|a| a.modified)
        .map(|a| a.mode.as_str())
        .collect();
    assert_eq!(
        modes.into_iter().collect::<Vec<_>>(),
        ["drop", "inject", "mitm", "replay", "tamper"]
    );
    assert!(out
        .truth
        .messages
        .iter()
        .all(|m| m.delivered_at.is_some() || m.failure.is_some()));
    // The adversary's own log came back through the capture interface, one record per attack.
    assert_eq!(out.capabilities.active.len(), out.truth.attacks.len());
}

/// A scenario with on-path entries is refused, not silently run without its attacker.
#[test]
fn an_active_scenario_is_refused_without_an_arm() {
    let err = carrier::run(&active(), 1, &capture::active::Unarmed).expect_err("refused");
    assert!(matches!(err, carrier::CarrierError::Unarmed), "{err}");
}

/// The adversary's metadata analyses give the same findings whether they borrow the observation
/// table or consume it (and free it early, `metadata::analyze_consuming`, which
/// `Adversary::analyze` uses): on the default scenario, which exercises every analysis.
#[test]
fn the_metadata_analyses_agree_borrowing_or_consuming_the_table() {
    let text = include_str!("../../../sim/salt-typhoon.toml");
    let sc = scenario::parse("sim/salt-typhoon.toml", text).expect("parses");
    let run = pipeline::run(&sc, 1).expect("runs");
    let captures = &run.output.captures;
    let config = adversary::metadata::MetadataConfig::default();
    let borrowed = adversary::metadata::analyze_with(
        &adversary::observe::Observations::decode(captures),
        &run.findings,
        &config,
    );
    let consumed = adversary::metadata::analyze_consuming(
        adversary::observe::Observations::decode(captures),
        &run.findings,
        &config,
    );
    let (a, b) = (
        serde_json::to_string(&borrowed).expect("serializes"),
        serde_json::to_string(&consumed).expect("serializes"),
    );
    assert!(
        a.len() > 1_000,
        "the default scenario has metadata findings: {a}"
    );
    assert_eq!(a, b);
}
