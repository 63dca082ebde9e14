//! The key-theft timeline, scored: for each capability the adversary declared (a stolen static,
//! psk or session state at a time, a weak RNG, a quantum computer), the messages it newly
//! exposed, checked against ground truth and counted per protocol, with the cumulative
//! before/after picture per protocol.
//!
//! Owners with identical kind and time are merged into one row (e.g. "static of 40 subscribers
//! at 30d") so that a large theft stays one line.

use std::collections::{BTreeMap, BTreeSet};

use adversary::Findings;
use carrier::RunOutput;
use serde::Serialize;

/// One row of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct TheftScore {
    /// When the adversary obtained it, e.g. `"30d"` (`"0s"` for weak RNG and quantum).
    pub at: String,
    /// `static`, `psk`, `session-state`, `weak-rng` or `quantum`.
    pub kind: String,
    /// Whose: `"the OTT server"`, `"12 subscribers"`, `"east's packet gateway"`, or `""`.
    pub owners: String,
    /// End-to-end sessions with a message newly exposed.
    pub sessions: usize,
    /// Messages newly exposed per row of the protocol table (`noise:XX`, `signal:<app>`:
    /// [`crate::RowKey::label`]), confirmed against ground truth.
    pub messages_by_protocol: BTreeMap<String, usize>,
    /// Cumulative messages read per row of the protocol table after this row (passive reading
    /// included).
    pub readable_after: BTreeMap<String, usize>,
    /// Messages the adversary claimed but ground truth does not contain (must be 0).
    pub false_claims: usize,
    /// Of the messages newly exposed, those sent before the theft (in flight then: delayed in
    /// a mailbox, reordered, not yet decrypted by the victim).
    pub sent_before_theft: usize,
    /// Signal apps: healing of the stolen sessions and what the stolen prekeys opened
    /// (`None` for rows without a Signal capability).
    pub signal: Option<SignalTheftScore>,
}

/// What a Signal capability did, scored: healing after a device-state theft, X3DH sessions
/// opened or refused with identity key and signed prekey (or a quantum computer).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SignalTheftScore {
    /// Sessions followed from stolen device state.
    pub sessions_followed: usize,
    /// Of those, lost by the adversary within the run (the session healed): the passive reader
    /// lost it and no on-path takeover kept it.
    pub healed: usize,
    /// Of those followed, sessions the adversary's on-path man in the middle took over with the
    /// stolen state and kept to the end of the run unnoticed: they never healed, whatever the
    /// passive reader of the core tap lost.
    pub kept_by_takeover: usize,
    /// Messages read per followed session (not kept by a takeover) until it healed (or the run
    /// ended): mean.
    pub messages_until_healed_mean: f64,
    /// The same, maximum.
    pub messages_until_healed_max: usize,
    /// Time from the theft to the first message the adversary could no longer follow, over
    /// healed sessions: mean, e.g. `"41.2s"` (`""` if none healed).
    pub time_to_heal_mean: String,
    /// The same, maximum.
    pub time_to_heal_max: String,
    /// Messages read with skipped message keys that came with the stolen state.
    pub skipped_keys_used: usize,
    /// X3DH/PQXDH sessions whose initial message it opened.
    pub initial_opened: usize,
    /// Sessions whose initial message it could not open, by reason (e.g. "one-time prekey
    /// used and deleted before the theft", "PQXDH: the ML-KEM prekey secret is not held").
    pub initial_refused: BTreeMap<String, usize>,
}

fn seconds(ns: u64) -> String {
    format!("{:.1}s", ns as f64 / 1e9)
}

/// The unordered account pairs whose Signal session an on-path man in the middle took over and
/// kept: attacked in `mitm` mode, and no endpoint noticed (a takeover the component loses
/// passes an envelope it cannot decrypt, which the endpoint reports).
fn kept_takeovers(run: &RunOutput) -> BTreeSet<(String, String)> {
    let subs = &run.truth.subscribers;
    run.truth
        .attacks
        .iter()
        .filter(|a| {
            a.mode == "mitm"
                && a.detected.is_none()
                && capture::ProtocolId::from_label(&a.protocol)
                    .is_some_and(|p| p.family() == capture::Family::Signal)
        })
        .filter_map(|a| {
            let m = run.truth.messages.get(*a.messages.first()?)?;
            let (x, y) = (&subs[m.from].msisdn, &subs[m.to].msisdn);
            Some(if x <= y {
                (x.clone(), y.clone())
            } else {
                (y.clone(), x.clone())
            })
        })
        .collect()
}

fn signal_score(
    at: simcore::Timestamp,
    parts: &[&adversary::signal_read::SignalExposure],
    kept: &BTreeSet<(String, String)>,
) -> Option<SignalTheftScore> {
    if parts.is_empty() {
        return None;
    }
    let mut s = SignalTheftScore::default();
    let mut heal_ns = Vec::new();
    let mut read = Vec::new();
    for p in parts {
        s.skipped_keys_used += p.skipped_keys_used;
        s.initial_opened += p.initial_opened;
        for (k, n) in &p.initial_refused {
            *s.initial_refused.entry(k.clone()).or_default() += n;
        }
        for h in &p.healing {
            s.sessions_followed += 1;
            let pair = if h.victim <= h.peer {
                (h.victim.clone(), h.peer.clone())
            } else {
                (h.peer.clone(), h.victim.clone())
            };
            if kept.contains(&pair) {
                // Its figures are the on-path row's: it did not heal.
                s.kept_by_takeover += 1;
                continue;
            }
            read.push(h.messages_read);
            if let Some(t) = h.lost_at {
                s.healed += 1;
                heal_ns.push((t - at).as_nanos() as u64);
            }
        }
    }
    if !read.is_empty() {
        s.messages_until_healed_mean = read.iter().sum::<usize>() as f64 / read.len() as f64;
        s.messages_until_healed_max = read.iter().copied().max().unwrap_or(0);
    }
    if !heal_ns.is_empty() {
        s.time_to_heal_mean = seconds(heal_ns.iter().sum::<u64>() / heal_ns.len() as u64);
        s.time_to_heal_max = seconds(heal_ns.iter().copied().max().unwrap_or(0));
    }
    Some(s)
}

/// One merged row being built: owners, sessions, texts, Signal details.
type Row<'a> = (
    Vec<String>,
    usize,
    Vec<&'a str>,
    Vec<&'a adversary::signal_read::SignalExposure>,
);

/// Scores `findings.key_theft` against the truth of `run`.
pub(crate) fn score(run: &RunOutput, findings: &Findings) -> Vec<TheftScore> {
    let truth = &run.truth;
    let kept = kept_takeovers(run);
    // Passive baseline: everything read by a method that is not a capability's.
    let exposed: std::collections::BTreeSet<&str> = findings
        .key_theft
        .iter()
        .flat_map(|e| e.messages.iter().map(|(_, t)| t.as_str()))
        .collect();
    let mut cumulative: BTreeMap<String, usize> = BTreeMap::new();
    for r in &findings.recovered {
        if exposed.contains(r.text.as_str()) {
            continue;
        }
        if let Some(m) = truth.message_by_text(&r.text) {
            if m.protocol.is_end_to_end() {
                *cumulative.entry(crate::RowKey::of(m).label()).or_default() += 1;
            }
        }
    }
    // Merge rows of one (time, kind).
    let mut rows: BTreeMap<(simcore::Timestamp, String), Row<'_>> = BTreeMap::new();
    for e in &findings.key_theft {
        let row = rows.entry((e.at, e.kind.clone())).or_default();
        if let Some(o) = &e.owner {
            row.0.push(o.to_string());
        }
        row.1 += e.sessions;
        row.2.extend(e.messages.iter().map(|(_, t)| t.as_str()));
        row.3.extend(e.signal.as_ref());
    }
    let mut out = Vec::new();
    for ((at, kind), (owners, sessions, texts, signal)) in rows {
        let mut by = BTreeMap::new();
        let mut false_claims = 0;
        let mut sent_before_theft = 0;
        for t in texts {
            match truth.message_by_text(t) {
                Some(m) => {
                    if m.sent_at < at {
                        sent_before_theft += 1;
                    }
                    let row = crate::RowKey::of(m).label();
                    *by.entry(row.clone()).or_default() += 1;
                    *cumulative.entry(row).or_default() += 1;
                }
                None => false_claims += 1,
            }
        }
        let subscribers = owners
            .iter()
            .filter(|o| o.starts_with("subscriber "))
            .count();
        let mut named: Vec<String> = owners
            .into_iter()
            .filter(|o| !o.starts_with("subscriber "))
            .collect();
        match subscribers {
            0 => {}
            1 => named.insert(0, "1 subscriber".to_owned()),
            n => named.insert(0, format!("{n} subscribers")),
        }
        out.push(TheftScore {
            at: scenario::format_duration(at - simcore::Timestamp::ZERO),
            kind,
            owners: named.join(", "),
            sessions,
            messages_by_protocol: by,
            readable_after: cumulative.clone(),
            false_claims,
            sent_before_theft,
            signal: signal_score(at, &signal, &kept),
        });
    }
    out
}

/// The Signal lines under a key-theft row of the terminal report.
pub(crate) fn render_signal(o: &mut String, t: &TheftScore, s: &SignalTheftScore) {
    use core::fmt::Write as _;
    if s.sessions_followed > 0 {
        let kept = if s.kept_by_takeover > 0 {
            format!(
                ", {} kept by the on-path takeover (never healed)",
                s.kept_by_takeover
            )
        } else {
            String::new()
        };
        // Messages and time until healed, over the sessions no takeover kept.
        let until = if s.sessions_followed > s.kept_by_takeover {
            format!(
                "; messages until healed mean {:.1}, max {}; time to heal mean {}, max {}",
                s.messages_until_healed_mean,
                s.messages_until_healed_max,
                if s.time_to_heal_mean.is_empty() {
                    "-"
                } else {
                    &s.time_to_heal_mean
                },
                if s.time_to_heal_max.is_empty() {
                    "-"
                } else {
                    &s.time_to_heal_max
                },
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "           signal: {} sessions followed, {} healed{kept}{until}",
            s.sessions_followed, s.healed,
        );
        let _ = writeln!(
            o,
            "           signal: {} read were sent before the theft (in flight), {} with stolen skipped keys",
            t.sent_before_theft, s.skipped_keys_used
        );
    }
    if s.initial_opened > 0 || !s.initial_refused.is_empty() {
        let refused: Vec<String> = s
            .initial_refused
            .iter()
            .map(|(r, n)| format!("{n} ({r})"))
            .collect();
        let _ = writeln!(
            o,
            "           signal: initial messages opened {}; refused {}",
            s.initial_opened,
            if refused.is_empty() {
                "0".to_owned()
            } else {
                refused.join(", ")
            }
        );
    }
}
