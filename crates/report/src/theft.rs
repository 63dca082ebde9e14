//! The key-theft timeline, scored: for each capability the adversary declared (a stolen static,
//! psk or session state at a time, a weak RNG, a quantum computer), the messages it newly
//! exposed, checked against ground truth and counted per protocol, with the cumulative
//! before/after picture per protocol.
//!
//! Owners with identical kind and time are merged into one row (e.g. "static of 40 subscribers
//! at 30d") so that a large theft stays one line.

use std::collections::BTreeMap;

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
    /// Messages newly exposed per protocol label (`noise:XX`), confirmed against ground truth.
    pub messages_by_protocol: BTreeMap<String, usize>,
    /// Cumulative messages read per protocol label after this row (passive reading included).
    pub readable_after: BTreeMap<String, usize>,
    /// Messages the adversary claimed but ground truth does not contain (must be 0).
    pub false_claims: usize,
}

/// One merged row being built: owners, sessions, texts.
type Row<'a> = (Vec<String>, usize, Vec<&'a str>);

/// Scores `findings.key_theft` against the truth of `run`.
pub(crate) fn score(run: &RunOutput, findings: &Findings) -> Vec<TheftScore> {
    let truth = &run.truth;
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
            if m.protocol.starts_with("noise:") {
                *cumulative.entry(m.protocol.clone()).or_default() += 1;
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
    }
    let mut out = Vec::new();
    for ((at, kind), (owners, sessions, texts)) in rows {
        let mut by = BTreeMap::new();
        let mut false_claims = 0;
        for t in texts {
            match truth.message_by_text(t) {
                Some(m) => {
                    *by.entry(m.protocol.clone()).or_default() += 1;
                    *cumulative.entry(m.protocol.clone()).or_default() += 1;
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
        });
    }
    out
}
