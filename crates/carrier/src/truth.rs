//! Ground truth: what was really sent, by whom, to whom, over which protocol, and whether it
//! arrived intact. Only the scorer reads it; the adversary crate cannot depend on this crate.

use std::collections::BTreeMap;

use serde::Serialize;
use simcore::Timestamp;

use crate::ids::Subscriber;

/// One application message as it really was.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TruthMessage {
    /// Index in [`GroundTruth::messages`].
    pub id: usize,
    /// Sender's subscriber index.
    pub from: usize,
    /// Recipient's subscriber index.
    pub to: usize,
    /// Protocol label: `sms`, `carrier-encrypted` or `noise:<pattern>`.
    pub protocol: String,
    /// The scenario app that carried it (for SMS fallback, the sender's carrier messaging).
    pub app: String,
    /// The exact plaintext.
    pub text: String,
    /// When the sender's app submitted it.
    pub sent_at: Timestamp,
    /// When the recipient's app received exactly this text, if it did.
    pub delivered_at: Option<Timestamp>,
    /// Why it was not delivered, when a session failed (never silently).
    pub failure: Option<String>,
}

/// Everything that really happened in a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroundTruth {
    /// Every subscriber of every carrier.
    pub subscribers: Vec<Subscriber>,
    /// Every application message, in send order.
    pub messages: Vec<TruthMessage>,
    /// End-to-end sessions started, per protocol label.
    pub sessions: BTreeMap<String, usize>,
    /// Deliveries whose text matched no sent message or the wrong recipient (must stay 0).
    pub integrity_errors: usize,
    /// Deliveries of a message already delivered (must stay 0).
    pub duplicate_deliveries: usize,
    #[serde(skip)]
    by_text: BTreeMap<String, usize>,
}

impl GroundTruth {
    pub(crate) fn push(&mut self, mut m: TruthMessage) -> usize {
        let id = self.messages.len();
        m.id = id;
        self.by_text.insert(m.text.clone(), id);
        self.messages.push(m);
        id
    }

    /// Records that subscriber `to` received `text` at `now`.
    pub(crate) fn delivered(&mut self, to: usize, text: &str, now: Timestamp) {
        match self.by_text.get(text).copied() {
            Some(id) if self.messages[id].to == to => {
                let m = &mut self.messages[id];
                if m.delivered_at.is_some() {
                    self.duplicate_deliveries += 1;
                } else {
                    m.delivered_at = Some(now);
                }
            }
            _ => self.integrity_errors += 1,
        }
    }

    /// Records why a message could not be delivered.
    pub(crate) fn failed(&mut self, text: &str, why: &str) {
        if let Some(&id) = self.by_text.get(text) {
            let m = &mut self.messages[id];
            if m.delivered_at.is_none() && m.failure.is_none() {
                m.failure = Some(why.to_string());
            }
        }
    }

    /// The id of the message with exactly this text, if any.
    pub fn message_by_text(&self, text: &str) -> Option<&TruthMessage> {
        self.by_text.get(text).map(|&i| &self.messages[i])
    }

    /// Protocol labels in first-use order of the scenario's apps would be nicer for reports,
    /// but a sorted list is deterministic and simple.
    pub fn protocols(&self) -> Vec<String> {
        let mut v: Vec<String> = self.messages.iter().map(|m| m.protocol.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}
