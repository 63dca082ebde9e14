//! Ground truth: what was really sent, by whom, to whom, over which protocol, and whether it
//! arrived intact. Only the scorer reads it; the adversary crate cannot depend on this crate.

use std::collections::BTreeMap;

use serde::Serialize;
use simcore::{FixedMap, Timestamp};

use crate::ids::Subscriber;
use std::sync::Arc;

/// One application message as it really was.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TruthMessage {
    /// Index in [`GroundTruth::messages`].
    pub id: usize,
    /// Sender's subscriber index.
    pub from: usize,
    /// Recipient's subscriber index.
    pub to: usize,
    /// The protocol that carried it (serialized as its label: `sms`, `carrier-encrypted`,
    /// `noise:<pattern>`, `signal`, `signal+pq`).
    pub protocol: capture::ProtocolId,
    /// The scenario app that carried it (for SMS fallback, the sender's carrier messaging):
    /// one copy per app, shared by its messages.
    pub app: Arc<str>,
    /// The exact plaintext: the same copy the sender's outbox holds.
    pub text: Arc<str>,
    /// When the sender's app submitted it.
    pub sent_at: Timestamp,
    /// When the recipient's app received exactly this text, if it did.
    pub delivered_at: Option<Timestamp>,
    /// Why it was not delivered, when a session failed (never silently).
    pub failure: Option<String>,
}

/// One sending chain of a Signal-style session as it really was: every ratchet message (data
/// message or delivery receipt) its sender sent under one ratchet public key.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TruthChain {
    /// Sender's subscriber index.
    pub from: usize,
    /// Recipient's subscriber index.
    pub to: usize,
    /// When its first message went out.
    pub first_sent: Timestamp,
    /// Ratchet messages sent on it (the sender's `Ns` when the chain ended).
    pub messages: u32,
}

/// How an endpoint noticed that a session failed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionFailure {
    /// The subscriber whose session reported it.
    pub subscriber: usize,
    /// The kind: `bad-tag`, `unexpected-remote-static`, `replay`, `handshake-aborted`,
    /// `timeout` or `other` ([`proto::noise::FailureKind`]).
    pub kind: String,
    /// The error as the endpoint reported it.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// One session (or tunnelled flow) an on-path component attacked, as it really went.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AttackTruth {
    /// Index of the `[[adversary.onpath]]` entry in the scenario.
    pub entry: usize,
    /// The node it acted at, e.g. `"east.core"`.
    pub node: String,
    /// `mitm`, `tamper`, `replay`, `drop` or `inject`.
    pub mode: String,
    /// The targeted app.
    pub app: String,
    /// The app's protocol label (`noise:<pattern>`).
    pub protocol: String,
    /// The end-to-end session id, or `None` for a flow inside a server tunnel.
    pub session: Option<u64>,
    /// Whether the component changed, dropped or injected any byte of the session.
    pub modified: bool,
    /// How an endpoint noticed, if one did (a [`SessionFailure`] kind).
    pub detected: Option<String>,
    /// The messages the session carried (ids in [`GroundTruth::messages`]).
    pub messages: Vec<usize>,
    /// Of those, delivered to the recipient exactly.
    pub delivered: usize,
    /// `drop`: envelopes the component chose and dropped (first transmissions).
    pub envelopes_dropped: u64,
    /// `drop` with `drop_how = "once"`: of those, let through on retransmission.
    pub envelopes_retransmitted: u64,
    /// `replay-0rtt`: deliveries of the session's messages a second time, to the fresh
    /// responder session the replay opened (taken out of
    /// [`GroundTruth::duplicate_deliveries`]: they are the replay's doing, not a new message).
    pub replayed_deliveries: usize,
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
    /// Deliveries of a message already delivered (must stay 0), replays an on-path component
    /// got accepted excepted ([`AttackTruth::replayed_deliveries`]).
    pub duplicate_deliveries: usize,
    /// Every session or flow the adversary's on-path components attacked, and whether an
    /// endpoint noticed, in order of the attacks.
    pub attacks: Vec<AttackTruth>,
    /// End-to-end sessions that died, by session id: the first failure an endpoint reported.
    pub session_failures: BTreeMap<u64, SessionFailure>,
    /// Every voice call, in plan order (carrier voice and end-to-end OTT calls).
    pub calls: Vec<crate::TruthCall>,
    /// Every subscriber's true serving cell over time, by subscriber index.
    pub locations: Vec<crate::LocationTrace>,
    /// Signal apps: the sender's ratchet public key under which each message (by id) was
    /// encrypted. Never given to the adversary.
    pub signal_ratchet_keys: BTreeMap<usize, [u8; 32]>,
    /// Signal apps: every sending chain by its ratchet public key (data messages and receipts),
    /// for scoring what clear ratchet headers reveal. Never given to the adversary.
    #[serde(skip)]
    pub signal_chains: BTreeMap<[u8; 32], TruthChain>,
    /// Every message by the hash of its text ([`text_hash`]; the latest message with that
    /// text): a lookup compares numbers, then the one text it points at, and no text is stored
    /// twice.
    #[serde(skip)]
    by_text: FixedMap<u64, usize>,
    /// Texts whose hash another text already holds in `by_text` (a 64-bit collision: kept
    /// exact, never expected in practice).
    #[serde(skip)]
    collided: BTreeMap<String, usize>,
    /// Ids of messages delivered again, one entry per extra delivery (for the attack truth).
    #[serde(skip)]
    pub(crate) redelivered: Vec<usize>,
    /// Messages neither delivered nor failed yet (kept as deliveries and failures are
    /// recorded, so the driver can drain while any is open).
    #[serde(skip)]
    pub(crate) open: usize,
}

/// The hash `by_text` files a text under: foldhash's fixed-seed string hash, which reads 16
/// bytes a step (every delivery and every scored recovery looks a text up; FNV-1a, a byte a
/// step, was 2 % of a large run's simulation).
fn text_hash(text: &str) -> u64 {
    simcore::fixed_hash(text)
}

impl GroundTruth {
    pub(crate) fn push(&mut self, m: TruthMessage) -> usize {
        let h = text_hash(&m.text);
        self.push_hashed(m, h)
    }

    /// [`GroundTruth::push`] with the text's hash `h` given (tests force collisions with it).
    fn push_hashed(&mut self, mut m: TruthMessage, h: u64) -> usize {
        let id = self.messages.len();
        m.id = id;
        match self.by_text.get(&h) {
            Some(&other) if self.messages[other].text != m.text => {
                self.collided.insert(m.text.to_string(), id);
            }
            _ => {
                self.by_text.insert(h, id);
            }
        }
        if m.delivered_at.is_none() && m.failure.is_none() {
            self.open += 1;
        }
        self.messages.push(m);
        id
    }

    /// Records that subscriber `to` received `text` at `now`.
    pub(crate) fn delivered(&mut self, to: usize, text: &str, now: Timestamp) {
        match self.id_by_text(text) {
            Some(id) if self.messages[id].to == to => {
                let m = &mut self.messages[id];
                if m.delivered_at.is_some() {
                    tracing::debug!(message_id = id, to, "delivered again (duplicate)");
                    self.duplicate_deliveries += 1;
                    self.redelivered.push(id);
                } else {
                    tracing::debug!(
                        message_id = id,
                        to,
                        latency_ns = now.saturating_duration_since(m.sent_at).as_nanos() as u64,
                        "delivered"
                    );
                    if m.failure.is_none() {
                        self.open -= 1;
                    }
                    m.delivered_at = Some(now);
                }
            }
            _ => {
                tracing::debug!(
                    to,
                    "delivered a text that was never sent to it (integrity error)"
                );
                self.integrity_errors += 1;
            }
        }
    }

    /// Records why a message could not be delivered.
    pub(crate) fn failed(&mut self, text: &str, why: &str) {
        if let Some(id) = self.id_by_text(text) {
            let m = &mut self.messages[id];
            if m.delivered_at.is_none() && m.failure.is_none() {
                tracing::debug!(message_id = id, reason = why, "failed");
                m.failure = Some(why.to_string());
                self.open -= 1;
            }
        }
    }

    /// Fails every message still neither delivered nor failed, with reason `why`.
    pub(crate) fn fail_open(&mut self, why: &str) {
        let open: Vec<usize> = self
            .messages
            .iter()
            .filter(|m| m.delivered_at.is_none() && m.failure.is_none())
            .map(|m| m.id)
            .collect();
        for id in open {
            let m = &mut self.messages[id];
            tracing::debug!(message_id = id, reason = why, "failed");
            m.failure = Some(why.to_string());
            self.open -= 1;
        }
    }

    /// Records the first failure of end-to-end session `session`.
    pub(crate) fn session_failed(&mut self, session: u64, failure: SessionFailure) {
        self.session_failures.entry(session).or_insert(failure);
    }

    /// The id of the message with exactly this text, if any.
    pub fn message_by_text(&self, text: &str) -> Option<&TruthMessage> {
        self.id_by_text(text).map(|i| &self.messages[i])
    }

    /// The id of the message with this text (the latest, were a text ever pushed twice).
    fn id_by_text(&self, text: &str) -> Option<usize> {
        self.id_by_hash(text, text_hash(text))
    }

    /// [`GroundTruth::id_by_text`] with the text's hash `h` given.
    fn id_by_hash(&self, text: &str, h: u64) -> Option<usize> {
        match self.by_text.get(&h) {
            Some(&id) if *self.messages[id].text == *text => Some(id),
            Some(_) => self.collided.get(text).copied(),
            None => None,
        }
    }

    /// Protocol labels in first-use order of the scenario's apps would be nicer for reports,
    /// but a sorted list is deterministic and simple.
    pub fn protocols(&self) -> Vec<String> {
        let mut v: Vec<String> = self.messages.iter().map(|m| m.protocol.label()).collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_texts_serialize_as_plain_strings() {
        let m = message("meet at noon", 1);
        let copy = m.clone();
        assert!(Arc::ptr_eq(&m.text, &copy.text), "a clone shares the text");
        let json = serde_json::to_value(&m).expect("serializes");
        assert_eq!(json["text"], "meet at noon");
        assert_eq!(json["app"], "sms");
    }

    fn message(text: &str, to: usize) -> TruthMessage {
        TruthMessage {
            id: 0,
            from: 0,
            to,
            protocol: capture::ProtocolId::Sms,
            app: "sms".into(),
            text: text.into(),
            sent_at: Timestamp::ZERO,
            delivered_at: None,
            failure: None,
        }
    }

    /// Two texts with the same 64-bit hash (forced: no FNV-1a collision of short texts is
    /// known) stay apart: each is found by its own text, and a third text with that hash is
    /// found by none.
    #[test]
    fn texts_whose_hashes_collide_are_kept_apart() {
        let mut t = GroundTruth::default();
        let a = t.push_hashed(message("meet at the boat at 7", 1), 42);
        let b = t.push_hashed(message("the boat leaves at 9", 2), 42);
        assert_ne!(a, b);
        assert_eq!(t.id_by_hash("meet at the boat at 7", 42), Some(a));
        assert_eq!(t.id_by_hash("the boat leaves at 9", 42), Some(b));
        assert_eq!(t.id_by_hash("a text never sent", 42), None);
        assert_eq!(t.id_by_hash("meet at the boat at 7", 43), None);
        assert_eq!(t.open, 2);
    }

    #[test]
    fn delivery_and_failure_close_a_message_once() {
        let mut t = GroundTruth::default();
        t.push(message("hello there", 1));
        t.push(message("see you", 2));
        t.delivered(1, "hello there", Timestamp::from_secs(1));
        t.delivered(1, "hello there", Timestamp::from_secs(2));
        t.failed("see you", "because");
        t.failed("see you", "again");
        t.delivered(3, "see you", Timestamp::from_secs(3));
        assert_eq!(t.open, 0);
        assert_eq!(t.duplicate_deliveries, 1);
        assert_eq!(t.integrity_errors, 1);
        assert_eq!(t.messages[1].failure.as_deref(), Some("because"));
        assert_eq!(t.messages[0].delivered_at, Some(Timestamp::from_secs(1)));
    }
}
