//! Scoring on-path attacks: per targeted app and attack mode, how many sessions were attacked,
//! how many attacks succeeded without any endpoint noticing, how many an endpoint detected (and
//! how), and how many failed without detection; and how many messages a man in the middle read.
//!
//! What counts as achieving something depends on the mode: a man in the middle must read a
//! message; `replay-0rtt` must get a replayed first message accepted (its text delivered a
//! second time, by a fresh responder session); `drop` must make a message fail — a dropped
//! envelope the reliable layer retransmitted and delivered late achieved only a delay, and a
//! message that failed because of a drop an endpoint noticed is counted as detected, never as
//! silent. Every message of an attacked session is delivered or failed with a reason
//! (`messages_delivered + messages_failed = messages`).
//!
//! The facts come from the ground truth ([`carrier::AttackTruth`]: whether the component
//! modified the session, whether an endpoint's session failed and with which kind); the
//! messages read come from the adversary's findings, compared with the truth like every other
//! recovered text; the adversary's own account of each attack comes from its log
//! ([`capture::ActiveRecord`]).

use std::collections::{BTreeMap, BTreeSet};

use carrier::RunOutput;
use serde::Serialize;

/// One line of the on-path section: one app and one attack mode.
#[derive(Clone, Debug, Serialize)]
pub struct AttackScore {
    /// The targeted app.
    pub app: String,
    /// Its protocol label, `noise:<pattern>`.
    pub protocol: String,
    /// `mitm`, `tamper`, `replay`, `drop` or `inject`.
    pub mode: String,
    /// Sessions (or tunnelled flows) attacked.
    pub attempted: usize,
    /// Attacks no endpoint noticed that achieved something: a man in the middle that read
    /// messages, or a modification an endpoint accepted.
    pub succeeded_silently: usize,
    /// Attacks an endpoint noticed (its session failed, or messages timed out).
    pub detected: usize,
    /// Attacks that achieved nothing and went unnoticed (the adversary gave up, or could not
    /// reach the session).
    pub failed_undetected: usize,
    /// How the endpoints noticed: failure kind → attacks.
    pub detected_by: BTreeMap<String, usize>,
    /// Messages the attacked sessions carried.
    pub messages: usize,
    /// Of those, delivered intact.
    pub messages_delivered: usize,
    /// Of those, failed (each with its reason in the ground truth).
    pub messages_failed: usize,
    /// Of those, read by the adversary's man in the middle (exact text, scored).
    pub messages_read: usize,
    /// `drop`: envelopes the component dropped (first transmissions of the chosen ones).
    pub envelopes_dropped: u64,
    /// `drop` with `drop_how = "once"`: of those, let through when the sender's reliable layer
    /// retransmitted them (delivered late).
    pub envelopes_retransmitted: u64,
    /// `replay-0rtt`: messages a fresh responder session delivered a second time from a
    /// replayed first handshake message (replays accepted).
    pub messages_replayed: usize,
    /// The adversary's own account of the line's first attack (from its log).
    pub example_outcome: Option<String>,
}

/// Scores every on-path attack of `run`. `mitm_read` holds the ids of messages whose exact
/// text the adversary produced by a man in the middle.
pub(crate) fn score(run: &RunOutput, mitm_read: &BTreeSet<usize>) -> Vec<AttackScore> {
    let truth = &run.truth;
    let outcomes: Vec<&str> = run
        .capabilities
        .active
        .iter()
        .map(|a| a.outcome.as_str())
        .collect();
    let mut rows: BTreeMap<(String, String, String), AttackScore> = BTreeMap::new();
    for (i, a) in truth.attacks.iter().enumerate() {
        let row = rows
            .entry((a.protocol.clone(), a.app.clone(), a.mode.clone()))
            .or_insert_with(|| AttackScore {
                app: a.app.clone(),
                protocol: a.protocol.clone(),
                mode: a.mode.clone(),
                attempted: 0,
                succeeded_silently: 0,
                detected: 0,
                failed_undetected: 0,
                detected_by: BTreeMap::new(),
                messages: 0,
                messages_delivered: 0,
                messages_failed: 0,
                messages_read: 0,
                envelopes_dropped: 0,
                envelopes_retransmitted: 0,
                messages_replayed: 0,
                example_outcome: None,
            });
        row.attempted += 1;
        let read = a.messages.iter().filter(|m| mitm_read.contains(m)).count();
        row.messages += a.messages.len();
        row.messages_delivered += a.delivered;
        let failed = a
            .messages
            .iter()
            .filter(|&&m| truth.messages[m].delivered_at.is_none())
            .count();
        row.messages_failed += failed;
        row.messages_read += read;
        row.envelopes_dropped += a.envelopes_dropped;
        row.envelopes_retransmitted += a.envelopes_retransmitted;
        row.messages_replayed += a.replayed_deliveries;
        let achieved = match a.mode.as_str() {
            "mitm" => read > 0,
            "replay-0rtt" => a.replayed_deliveries > 0,
            "drop" => failed > 0,
            _ => a.modified,
        };
        if let Some(kind) = &a.detected {
            row.detected += 1;
            *row.detected_by.entry(kind.clone()).or_default() += 1;
        } else if achieved {
            row.succeeded_silently += 1;
        } else {
            row.failed_undetected += 1;
        }
        // The world logs attacks and active records in the same order.
        if row.example_outcome.is_none() {
            row.example_outcome = outcomes.get(i).map(|s| (*s).to_string());
        }
    }
    rows.into_values().collect()
}
