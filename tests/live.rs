//! Live mode (issue 9): the same node machines on real loopback sockets through the proxy.
//!
//! - On a lossless variant of `sim/salt-typhoon-live.toml`, the simulator and the live driver
//!   give every message the same verdict: read by the adversary or not, and why (only timings
//!   differ). The live run reads SMS through the core tap and the mediation node's content
//!   copies, Noise XX through stolen session state and Signal through stolen device state.
//! - `wiretap live --out` writes pcaps that tshark opens with no malformed packet, and prints the
//!   report's JSON with a `live` section beside the same keys as `run --json`.
//! - A stop request (Ctrl-C) ends a live run early with nothing produced.

use std::collections::BTreeSet;
use std::sync::Arc;

use scenario::Scenario;
use simcore::Watch;

use crate::pcap::tshark_counts;
use crate::support::{parse, tempdir, tool_available, wiretap};

/// `sim/salt-typhoon-live.toml` without loss, with `secs` seconds of traffic and the thefts
/// moved to its middle.
fn lossless(secs: u64) -> Scenario {
    let text = scenario::builtin("salt-typhoon-live").expect("built in");
    let half = secs / 2;
    let text = text
        .replace("loss = 0.01", "loss = 0.0")
        .replace("duration = \"20s\"", &format!("duration = \"{secs}s\""))
        .replace("at = \"8s\"", &format!("at = \"{half}s\""))
        .replace("at = \"20s\"", &format!("at = \"{secs}s\""));
    assert!(
        !text.contains("loss = 0.01"),
        "the variant must be lossless"
    );
    parse(&text)
}

/// `sc` with `seed` through the simulator and through the live driver, each analysed and
/// scored by the pipeline; and the live run's own counters.
fn both(sc: &Scenario, seed: u64) -> (pipeline::Run, pipeline::Run, live::LiveStats) {
    let sim = pipeline::run(sc, seed).expect("simulated run");
    let live_run = live::run(
        sc,
        seed,
        &onpath::Armory,
        &live::Options::default(),
        &Watch::new(),
    )
    .expect("live run");
    let live = pipeline::score_output(sc, seed, live_run.output);
    (sim, live, live_run.stats)
}

fn protocol_read(r: &report::Report, protocol: &str) -> usize {
    r.protocols
        .iter()
        .filter(|p| p.protocol == protocol)
        .map(|p| p.messages_read_by_adversary)
        .sum()
}

#[test]
fn live_and_simulated_runs_give_every_message_the_same_verdict() {
    let sc = lossless(8);
    // Seed 1 of this variant has every kind of read (SMS, XX after the session theft, Signal
    // after the device theft): `wiretap run` on it shows them.
    let seed = 1;
    let (sim, live, live_stats) = both(&sc, seed);

    // The same messages were planned and every one was delivered in both.
    let (ts, tl) = (&sim.output.truth, &live.output.truth);
    assert_eq!(ts.messages.len(), tl.messages.len());
    assert!(ts.messages.len() > 50, "{} messages", ts.messages.len());
    for (a, b) in ts.messages.iter().zip(&tl.messages) {
        assert_eq!((a.from, a.to, &a.text), (b.from, b.to, &b.text));
        assert!(a.delivered_at.is_some(), "simulated: {a:?}");
        assert!(b.delivered_at.is_some(), "live: {b:?}");
    }
    assert_eq!(tl.integrity_errors, 0);
    assert_eq!(tl.duplicate_deliveries, 0);
    assert_eq!(live_stats.malformed, 0);
    assert_eq!(live_stats.strangers, 0);
    assert!(live_stats.datagrams_to_proxy > 100);

    // Every message: read or not, and why.
    let vs = report::verdicts(&sc, &sim.output, &sim.findings);
    let vl = report::verdicts(&sc, &live.output, &live.findings);
    let differ: Vec<String> = vs
        .iter()
        .zip(&vl)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| {
            let m = &ts.messages[a.message];
            format!(
                "message {} ({:?}, sent at {}): simulated {:?}, live {:?}",
                a.message, m.protocol, m.sent_at, a.why_unread, b.why_unread
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} verdicts differ:\n{}",
        differ.len(),
        vs.len(),
        differ.join("\n")
    );
    assert_eq!(sim.report.adversary.false_recoveries, 0);
    assert_eq!(live.report.adversary.false_recoveries, 0);

    // What works live: the passive tap and the mediation node's content copies (SMS), stolen
    // session state (Noise XX), stolen device state (Signal: X3DH through the server's prekey
    // store, the ratchet, sealed sender).
    let methods: BTreeSet<&str> = live.findings.recovered.iter().map(|r| &*r.method).collect();
    assert!(
        live.findings
            .recovered
            .iter()
            .any(|r| r.seen_at.iter().any(|v| v.contains("mediation"))),
        "nothing read at a mediation node: {methods:?}"
    );
    assert!(live.output.stats.li_records > 0);
    assert!(live.output.stats.li_delivered_to_lea > 0);
    assert!(protocol_read(&live.report, "sms") > 0);
    assert!(protocol_read(&live.report, "noise:XX") > 0, "{methods:?}");
    assert!(protocol_read(&live.report, "signal") > 0, "{methods:?}");
}

/// `sim/active-intercept.toml` compressed into 10 s (60 subscribers, the rate and reply delay
/// scaled to match).
fn active_intercept_in_10s() -> Scenario {
    let text = scenario::builtin("active-intercept").expect("built in");
    let text = text
        .replace("duration = \"1h\"", "duration = \"10s\"")
        .replace(
            "messages_per_contact_per_day = 96.0",
            "messages_per_contact_per_day = 34560.0",
        )
        .replace("subscribers = 200", "subscribers = 60")
        .replace("reply_delay = \"1m\"", "reply_delay = \"2s\"");
    assert!(text.contains("duration = \"10s\""), "the template changed");
    parse(&text)
}

#[test]
fn on_path_attacks_work_live_as_in_simulation() {
    let sc = active_intercept_in_10s();
    let seed = 1;
    let (sim, live, stats) = both(&sc, seed);
    assert_eq!(stats.malformed + stats.strangers, 0);
    assert_eq!(
        report::verdicts(&sc, &sim.output, &sim.findings),
        report::verdicts(&sc, &live.output, &live.findings)
    );
    // Every attack's outcome, where it does not depend on the order in which near-simultaneous
    // sessions reach the core (the attacker takes the sessions of an app in the order it sees
    // them, so live timing moves sessions between an app's attack modes): per attack, what the
    // man in the middle read, whether it succeeded silently and by what the endpoints noticed
    // it; per app, the messages the attacks bore on.
    let outcome = |r: &report::Report| {
        r.on_path
            .iter()
            .map(|a| {
                (
                    a.app.clone(),
                    a.mode.clone(),
                    a.messages_read,
                    a.succeeded_silently > 0,
                    a.detected_by.keys().cloned().collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(outcome(&sim.report), outcome(&live.report));
    let per_app = |r: &report::Report| {
        let mut m = std::collections::BTreeMap::<String, usize>::new();
        for a in &r.on_path {
            *m.entry(a.app.clone()).or_default() += a.messages;
        }
        m
    };
    assert_eq!(per_app(&sim.report), per_app(&live.report));
    assert!(
        live.report.on_path.iter().any(|a| a.messages_read > 0),
        "the man in the middle read nothing live"
    );
    assert!(live
        .report
        .on_path
        .iter()
        .any(|a| a.detected > 0 || a.envelopes_dropped > 0));
}

#[test]
fn wiretap_live_writes_pcaps_tshark_opens_and_the_run_json_schema() {
    let dir = tempdir("live-out");
    let out = wiretap([
        "live".as_ref(),
        "--duration".as_ref(),
        "3".as_ref(),
        "--json".as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "wiretap live: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let sim = wiretap(["run", "salt-typhoon-live", "--json", "--quiet"]);
    assert!(sim.status.success());
    let sim: serde_json::Value = serde_json::from_slice(&sim.stdout).expect("JSON");
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    let mut expected = keys(&sim);
    expected.insert("live".into());
    assert_eq!(keys(&live), expected, "the same schema plus `live`");
    assert!(live["live"]["datagrams_to_proxy"].as_u64() > Some(0));
    assert!(live["live"]["wall_ms"].as_u64() >= Some(3000));
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report.json"))
            .expect("JSON");
    assert_eq!(keys(&file), expected);

    let mut pcaps: Vec<_> = std::fs::read_dir(&dir)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(
        pcaps.len() >= 2,
        "the core taps' pcaps: {pcaps:?} in {}",
        dir.display()
    );
    if !tool_available("tshark", &["--version"], "that live pcaps open in tshark") {
        return;
    }
    for p in pcaps {
        let (frames, malformed, errors) = tshark_counts(&p);
        assert!(frames > 0, "{}: no packet", p.display());
        assert_eq!((malformed, errors), (0, 0), "{}", p.display());
    }
}

#[test]
fn a_stop_request_ends_a_live_run_with_nothing_produced() {
    let sc = lossless(20);
    let watch = Arc::new(Watch::new());
    let stopper = {
        let watch = watch.clone();
        // Live mode runs in real time: here waiting on the wall clock is the point.
        #[allow(clippy::disallowed_methods)]
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            watch.request_stop();
        })
    };
    let r = live::run(
        &sc,
        sc.seed,
        &onpath::Armory,
        &live::Options::default(),
        &watch,
    );
    stopper.join().expect("stopper");
    match r {
        Err(live::LiveError::Interrupted { at }) => {
            assert!(at < simcore::Timestamp::from_secs(20), "stopped at {at}")
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
}

#[test]
fn live_refuses_a_day_of_traffic_with_a_hint() {
    let out = wiretap(["live", "salt-typhoon"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("real time") && err.contains("hint:"), "{err}");
    let out = wiretap(["live", "--duration", "-1"]);
    assert_eq!(out.status.code(), Some(2));
}
