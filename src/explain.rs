//! `wiretap explain PATTERN|PROFILE`: in plain words, what each message of a Noise pattern
//! protects against, and what a messaging profile (`sms`, `carrier-encrypted`, `signal`,
//! `signal+pq`) leaves to an adversary in the carrier.
//!
//! Nothing here is a table of answers. For a pattern, every sentence is chosen by the outcome of
//! an attack experiment (E1–E8 and the identity-hiding experiments) that `matrix::run_pattern`
//! ran against it, and the levels come with the matrix's own meanings. For a profile, small
//! simulations are run through `pipeline::run` (one carrier, ten subscribers, an hour, the
//! adversary on a core tap; with a quantum computer for the Signal profiles) and their scored
//! reports are quoted; `carrier-encrypted` adds the derived matrix of its radio tunnel's
//! pattern (`proto::tunnel`'s NK).

use std::fmt::Write;

/// The profiles `explain` knows, with the app table of the scenario that measures each.
pub const PROFILES: [(&str, &str); 4] = [
    ("sms", "kind = \"sms\""),
    ("carrier-encrypted", "kind = \"carrier-encrypted\""),
    (
        "signal",
        "kind = \"signal\"\npost_quantum = false\nserver_tunnel = false",
    ),
    (
        "signal+pq",
        "kind = \"signal\"\npost_quantum = true\nserver_tunnel = false",
    ),
];

/// The radio hop of `carrier-encrypted` is this Noise pattern (`proto::tunnel`).
pub const TUNNEL_PATTERN: &str = "NK";

/// What each experiment threatens, in plain words (the experiment's definition, not its result).
const THREATS: [(&str, &str); 8] = [
    (
        "E1",
        "someone who only records the traffic (a passive tap at a compromised core)",
    ),
    (
        "E2",
        "an attacker on the path who answers the handshake itself (a man in the middle)",
    ),
    (
        "E3",
        "someone who records it now and steals the recipient's long-term key later (harvest now, decrypt later)",
    ),
    (
        "E4",
        "a man in the middle who steals the recipient's long-term key later",
    ),
    (
        "E5",
        "a man in the middle who holds the sender's long-term key and steals the recipient's later",
    ),
    ("E6", "someone else sending a message in the sender's name (forgery)"),
    (
        "E7",
        "forgery by someone who stole the recipient's own key (key-compromise impersonation)",
    ),
    (
        "E8",
        "a recorded copy being accepted again by a new session (replay)",
    ),
];

/// The explanation of `name`, or `None` when it is neither a profile nor a pattern the matrix
/// can run.
pub fn explain(name: &str, seed: u64) -> Result<Option<String>, String> {
    if let Some((_, app)) = PROFILES.iter().find(|(p, _)| *p == name) {
        return profile(name, app, seed).map(Some);
    }
    match matrix::run_pattern(name, seed) {
        Ok(m) => Ok(Some(pattern_text(&m))),
        Err(_) => Ok(None),
    }
}

/// The hint of an unknown name: every profile and every pattern of the default matrix.
pub fn valid_names() -> String {
    let mut names: Vec<String> = PROFILES.iter().map(|(p, _)| (*p).to_string()).collect();
    names.extend(
        matrix::base_patterns()
            .into_iter()
            .chain(matrix::PSK_PATTERNS)
            .map(str::to_owned),
    );
    names.join(", ")
}

fn party(direction: &str) -> (&'static str, &'static str) {
    if direction == "->" {
        ("initiator", "responder")
    } else {
        ("responder", "initiator")
    }
}

/// The plain-words reading of a derived matrix.
pub fn pattern_text(m: &matrix::PatternMatrix) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} ({}): what each message protects against, found by attacking it ({} simulated runs; `wiretap matrix --pattern {}` shows the evidence)\n",
        m.pattern, m.protocol, m.runs, m.pattern
    );
    for r in &m.messages {
        let (from, to) = party(r.direction);
        let what = if r.kind == "handshake" {
            format!("handshake message, tokens {}", r.tokens)
        } else {
            "a message after the handshake".to_string()
        };
        let _ = writeln!(o, "Message {}: {from} to {to}, {what}", r.index);
        let hit = |e: &str| r.experiments.get(e).copied().unwrap_or(false);
        if hit("E1") {
            let _ = writeln!(
                o,
                "  Anyone who records it reads it: it is not confidential (passive read succeeded)."
            );
        } else {
            let safe: Vec<&str> = THREATS[..5]
                .iter()
                .filter(|(e, _)| !hit(e))
                .map(|(_, t)| *t)
                .collect();
            let open: Vec<&str> = THREATS[..5]
                .iter()
                .filter(|(e, _)| hit(e))
                .map(|(_, t)| *t)
                .collect();
            let _ = writeln!(o, "  Kept secret from: {}.", safe.join("; "));
            if !open.is_empty() {
                let _ = writeln!(o, "  Readable by: {}.", open.join("; "));
            }
        }
        let (forge, kci) = (hit("E6"), hit("E7"));
        let _ = writeln!(
            o,
            "  {}",
            match (forge, kci) {
                (true, _) => format!(
                    "Not authenticated: {} could have been anyone, an active attacker included.",
                    if from == "initiator" {
                        "the sender"
                    } else {
                        "the responder"
                    }
                ),
                (false, true) => format!(
                    "Authenticated, but {} can forge it.",
                    THREATS[6].1.trim_start_matches("forgery by ")
                ),
                (false, false) =>
                    "Authenticated: it cannot be forged, not even with the recipient's stolen key."
                        .to_string(),
            }
        );
        let _ = writeln!(
            o,
            "  {}",
            if hit("E8") {
                "Replayable: a recorded copy is accepted again by a new session."
            } else {
                "Not replayable: a recorded copy is refused by a new session."
            }
        );
        let _ = writeln!(
            o,
            "  (levels: source {} — {}; destination {} — {})\n",
            r.source,
            matrix::SOURCE_MEANING[usize::from(r.source)],
            r.destination,
            matrix::DESTINATION_MEANING[usize::from(r.destination)]
        );
    }
    for (who, level) in [
        ("initiator", m.identity_hiding.initiator),
        ("responder", m.identity_hiding.responder),
    ] {
        let _ = match level {
            Some(l) => writeln!(
                o,
                "The {who}'s identity (its long-term public key): {} (level {l}).",
                matrix::IDENTITY_MEANING[usize::from(l)]
            ),
            None => writeln!(
                o,
                "The {who} has no long-term key: there is no identity to hide."
            ),
        };
    }
    o
}

/// A small measuring scenario for a profile: one carrier, ten subscribers on the profile's app,
/// an hour of traffic, the adversary on the core tap (and with a quantum computer if asked).
fn profile_scenario(name: &str, app: &str, quantum: bool) -> String {
    // Scenario names are [a-z0-9-]+: `signal+pq` becomes `explain-signal-pq`.
    let id = name.replace('+', "-");
    format!(
        r#"[scenario]
name = "explain-{id}"
description = "wiretap explain {name}: ten subscribers, one hour, a tapped core"
seed = 1
duration = "1h"

[[app]]
name = "app"
{app}

[[carrier]]
name = "lab"
subscribers = 10
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"

[carrier.population]
app = 1.0

[traffic]
mean_degree = 3.0
cross_carrier = 0.0
messages_per_contact_per_day = 48.0

[adversary]
name = "explain"
quantum = {quantum}

[[adversary.vantage]]
kind = "core-tap"
carrier = "lab"
"#
    )
}

/// Runs the measuring scenario; the report's protocol rows.
fn measure(name: &str, app: &str, quantum: bool, seed: u64) -> Result<report::Report, String> {
    let text = profile_scenario(name, app, quantum);
    let file = format!("explain-{}.toml", name.replace('+', "-"));
    let sc = scenario::parse(&file, &text).map_err(|e| e.to_string())?;
    pipeline::run(&sc, seed)
        .map(|r| r.report)
        .map_err(|e| e.to_string())
}

fn rows(o: &mut String, who: &str, r: &report::Report) {
    for p in &r.protocols {
        let _ = writeln!(
            o,
            "  {who}: read {} of {} messages ({}).",
            p.messages_read_by_adversary, p.messages, p.protocol
        );
        for w in &p.why_unreadable {
            let _ = writeln!(o, "    {} stayed unread: {}", w.messages, w.reason);
        }
        if let Some(e) = r
            .adversary
            .examples
            .iter()
            .find(|e| e.protocol == p.protocol)
        {
            let _ = writeln!(o, "    how it read them: {}", e.method);
        }
    }
}

fn profile(name: &str, app: &str, seed: u64) -> Result<String, String> {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{name}: measured by simulation (one carrier, ten subscribers, one hour, seed {seed}), the adversary on a tap of the carrier's core router\n"
    );
    let passive = measure(name, app, false, seed)?;
    rows(&mut o, "A passive tap at the core", &passive);
    if name.starts_with("signal") {
        let q = measure(name, app, true, seed)?;
        rows(
            &mut o,
            "The same recording, with a quantum computer that breaks X25519",
            &q,
        );
    }
    let c = &passive.metadata.contacts.all;
    let _ = writeln!(
        o,
        "  Who talks to whom: it reported {} contact pairs, {} right, of {} real ones.",
        c.reported, c.correct, c.truth
    );
    if name == "carrier-encrypted" {
        let m = matrix::run_pattern(TUNNEL_PATTERN, seed).map_err(|e| e.to_string())?;
        let _ = writeln!(
            o,
            "\nThe radio hop (handset to packet gateway) is a Noise {TUNNEL_PATTERN} tunnel to the gateway's key; the gateway decrypts, so the core behind it sees the message as sent. The tunnel itself:\n"
        );
        o.push_str(&pattern_text(&m));
    }
    Ok(o)
}
