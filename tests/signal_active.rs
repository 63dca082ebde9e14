//! The active Signal experiment (`sim/signal-active.toml`): device state stolen at `T` and used
//! by a man in the middle at the victims' core to take their sessions over. Checked against
//! ground truth: it reads messages the passive theft cannot (sent on the victim's ratchet keys
//! after `T`, past the healing point), until the end of the run; every message still reaches its
//! recipient with the right text; no endpoint rejects an envelope. Without the theft the same
//! `mitm` entry is refused by validation. Deterministic.

use std::collections::{BTreeMap, BTreeSet};

use capture::Secret;

use crate::support::{parse, run_with_capabilities, Run};

const SCENARIO: &str = include_str!("../sim/signal-active.toml");

/// The `[[adversary.onpath]]` entry of the scenario.
const ONPATH: &str =
    "[[adversary.onpath]]\ncarrier = \"atlantic\"\nmode = \"mitm\"\napp = \"signal\"\n";

fn public(private: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*private)).to_bytes()
}

/// The stolen sessions: unordered pair of addresses → (theft time, victims' ratchet keys at
/// the theft).
type Stolen = BTreeMap<(u64, u64), (simcore::Timestamp, BTreeSet<[u8; 32]>)>;

fn stolen(run: &Run) -> Stolen {
    let mut out = Stolen::new();
    for s in &run.output.capabilities.stolen {
        let Secret::SignalState(st) = &s.secret else {
            continue;
        };
        for sess in &st.sessions {
            let pair = (st.address.min(sess.peer), st.address.max(sess.peer));
            out.entry(pair)
                .or_insert((s.at, BTreeSet::new()))
                .1
                .insert(public(&sess.ratchet_private));
        }
    }
    out
}

fn addr(run: &Run, sub: usize) -> u64 {
    run.output.truth.subscribers[sub]
        .msisdn
        .trim_start_matches('+')
        .parse()
        .expect("digits")
}

/// Texts read, and those read by the man in the middle.
fn reads(run: &Run) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let all = run.findings.recovered.iter().map(|r| r.text.as_str());
    let mitm = run
        .findings
        .recovered
        .iter()
        .filter(|r| r.method.starts_with("mitm at "))
        .map(|r| r.text.as_str());
    (all.collect(), mitm.collect())
}

/// Messages of the stolen sessions sent after the theft: (all of them, those from a victim on
/// a ratchet key it generated after the theft — past the passive healing point).
fn after_theft(run: &Run, stolen: &Stolen) -> (Vec<usize>, Vec<usize>) {
    let t = &run.output.truth;
    let (mut all, mut healed) = (Vec::new(), Vec::new());
    for m in &t.messages {
        let (a, b) = (addr(run, m.from), addr(run, m.to));
        let Some((at, victim_keys)) = stolen.get(&(a.min(b), a.max(b))) else {
            continue;
        };
        if m.sent_at < *at {
            continue;
        }
        all.push(m.id);
        let key = t.signal_ratchet_keys.get(&m.id).expect("ratchet key");
        let from_victim = run
            .output
            .capabilities
            .stolen
            .iter()
            .any(|s| matches!(&s.secret, Secret::SignalState(st) if st.address == a));
        if from_victim && !victim_keys.contains(key) {
            healed.push(m.id);
        }
    }
    (all, healed)
}

#[test]
fn the_takeover_reads_past_healing_until_the_end_and_no_endpoint_notices() {
    let sc = parse(SCENARIO);
    let seed = sc.seed;
    let active = run_with_capabilities(sc, seed);
    let passive = run_with_capabilities(parse(&SCENARIO.replace(ONPATH, "")), seed);
    let t = &active.output.truth;
    let st = stolen(&active);
    assert!(!st.is_empty());
    // The passive run is the same run without the component: same theft, same traffic.
    assert_eq!(
        stolen(&passive).keys().collect::<Vec<_>>(),
        st.keys().collect::<Vec<_>>()
    );
    assert_eq!(passive.output.truth.messages.len(), t.messages.len());

    let (all, healed) = after_theft(&active, &st);
    assert!(all.len() > 20, "{} messages after the theft", all.len());
    assert!(healed.len() > 5, "{} past the healing point", healed.len());
    let (active_read, mitm) = reads(&active);
    let (passive_read, _) = reads(&passive);
    let text = |id: usize| &*t.messages[id].text;
    // Active: every message of the stolen sessions after the theft, to the last one (the
    // first few also passively: the merged findings keep the earliest method).
    for &id in &all {
        assert!(
            active_read.contains(text(id)),
            "not read: {:?}",
            t.messages[id]
        );
    }
    for &id in &healed {
        assert!(mitm.contains(text(id)), "not read by the mitm: {id}");
    }
    // Passive: nothing past the victim's next ratchet step.
    for &id in &healed {
        assert!(!passive_read.contains(text(id)), "passive read {id}");
    }
    let passive_after = all
        .iter()
        .filter(|&&i| passive_read.contains(text(i)))
        .count();
    assert!(
        passive_after < all.len() / 2,
        "{passive_after} of {}",
        all.len()
    );

    // Faithful re-encryption: everything delivered, exactly, and nothing rejected.
    assert!(t.messages.iter().all(|m| m.delivered_at.is_some()));
    assert_eq!(t.integrity_errors, 0);
    assert_eq!(t.duplicate_deliveries, 0);
    assert!(
        active.output.stats.session_failures.is_empty(),
        "{:?}",
        active.output.stats.session_failures
    );
    // The on-path row: every session taken over, silently.
    let attacks: Vec<_> = t.attacks.iter().filter(|a| a.mode == "mitm").collect();
    assert_eq!(attacks.len(), st.len());
    assert!(attacks.iter().all(|a| a.modified && a.detected.is_none()));
    let row = active
        .report
        .on_path
        .iter()
        .find(|r| r.app == "signal" && r.mode == "mitm")
        .expect("signal mitm row");
    assert_eq!(row.attempted, st.len());
    assert_eq!(row.succeeded_silently, st.len());
    assert_eq!(row.detected, 0);
    assert_eq!(row.messages, all.len());
    assert_eq!(row.messages_read, all.len());
    assert_eq!(row.messages_delivered, all.len());
    // The key-theft row: a session the takeover kept did not heal, whatever the passive reader
    // of the tap lost (the tap records what the endpoints sent); the others heal as without
    // the man in the middle.
    let theft = |r: &Run| {
        r.report
            .key_theft
            .iter()
            .find(|x| x.kind == "device-state")
            .and_then(|x| x.signal.clone())
            .expect("device-state row")
    };
    let (a, p) = (theft(&active), theft(&passive));
    assert_eq!(a.sessions_followed, p.sessions_followed);
    assert_eq!(p.kept_by_takeover, 0);
    let account = |x: &str| -> u64 { x.trim_start_matches('+').parse().expect("digits") };
    let followed: Vec<_> = passive
        .findings
        .key_theft
        .iter()
        .filter_map(|e| e.signal.as_ref())
        .flat_map(|s| &s.healing)
        .collect();
    let taken = |h: &adversary::signal_read::SessionHealing| {
        let (v, q) = (account(&h.victim), account(&h.peer));
        st.contains_key(&(v.min(q), v.max(q)))
    };
    let kept = followed.iter().filter(|h| taken(h)).count();
    let healed_elsewhere = followed
        .iter()
        .filter(|h| !taken(h) && h.lost_at.is_some())
        .count();
    assert!(kept > 0);
    assert_eq!(a.kept_by_takeover, kept, "{a:?}");
    assert_eq!(a.healed, healed_elsewhere, "{a:?}");
    assert!(a.healed < p.healed, "{a:?} vs {p:?}");
    let text = report::render_terminal(&active.report);
    assert!(
        text.contains(&format!(
            "{kept} kept by the on-path takeover (never healed)"
        )),
        "{text}"
    );
    assert_eq!(
        active
            .report
            .key_theft
            .iter()
            .map(|r| r.false_claims)
            .sum::<usize>(),
        0
    );
}

#[test]
fn a_signal_mitm_without_the_stolen_state_is_refused() {
    let text = SCENARIO.replace("secret = \"device-state\"", "secret = \"static\"");
    let e = scenario::parse("signal-active.toml", &text).expect_err("refused");
    let shown = e.to_string();
    assert!(shown.contains("needs the victims' device state"), "{shown}");
    assert!(shown.contains("secret = \"device-state\""), "{shown}");
    // The error points at the app of the onpath entry.
    let line = text
        .lines()
        .position(|l| l == "app = \"signal\"")
        .map(|_| ());
    assert!(line.is_some());
    let tunnel = SCENARIO.replace("server_tunnel = false", "server_tunnel = true");
    let e = scenario::parse("signal-active.toml", &tunnel).expect_err("refused");
    assert!(e.to_string().contains("server_tunnel = false"), "{e}");
}

#[test]
fn the_takeover_is_deterministic() {
    let run = || {
        let sc = parse(SCENARIO);
        let seed = sc.seed;
        let r = run_with_capabilities(sc, seed);
        (
            serde_json::to_string(&r.report).expect("json"),
            r.output.capabilities.active.clone(),
        )
    };
    let (a, ra) = run();
    let (b, rb) = run();
    assert_eq!(a, b);
    assert_eq!(ra, rb);
}
