//! How each protocol is scored: the one trait a protocol implements on the scorer's side, and
//! its registration ([`scorer`], one match arm per protocol).
//!
//! The scorer compares findings with ground truth the same way for every protocol; what differs
//! is named here: whether each app gets its own row, what counts as a session, and why a
//! message the adversary captured but did not read stayed unread.

use capture::ProtocolId;

/// What the scorer needs to know about one protocol.
pub(crate) trait ProtocolScorer {
    /// Whether each app of this protocol gets its own row (apps of one protocol whose settings
    /// make them different experiments).
    fn row_per_app(&self) -> bool {
        false
    }

    /// Whether the row's sessions are handshakes started (session protocols) rather than
    /// conversations (unordered pairs that exchanged messages).
    fn sessions_are_handshakes(&self) -> bool {
        false
    }

    /// Why a message that crossed a vantage point stayed unread; `adversary` is the
    /// adversary's own reason for it, when it gave one.
    fn why_unread(&self, adversary: Option<&str>) -> String;
}

/// Plain SMS: read wherever it is captured in the clear.
struct Sms;

impl ProtocolScorer for Sms {
    fn why_unread(&self, _adversary: Option<&str>) -> String {
        "captured in a form the adversary did not parse".to_string()
    }
}

/// SMS inside the carrier's NK tunnel on the radio hop.
struct CarrierEncrypted;

impl ProtocolScorer for CarrierEncrypted {
    fn why_unread(&self, _adversary: Option<&str>) -> String {
        "carrier-encrypted: captured only on a radio hop the adversary does not see in the clear"
            .to_string()
    }
}

/// End-to-end Noise sessions.
struct Noise;

impl ProtocolScorer for Noise {
    fn sessions_are_handshakes(&self) -> bool {
        true
    }

    fn why_unread(&self, adversary: Option<&str>) -> String {
        match adversary {
            Some(why) => format!("end-to-end encrypted: captured; {why}"),
            None => "end-to-end encrypted: captured, but every key needs a private key the \
                     adversary does not hold"
                .to_string(),
        }
    }
}

/// Signal-style apps (X3DH or PQXDH and the Double Ratchet).
struct Signal;

impl ProtocolScorer for Signal {
    fn row_per_app(&self) -> bool {
        true
    }

    fn why_unread(&self, adversary: Option<&str>) -> String {
        match adversary {
            Some(why) => format!("end-to-end encrypted (Signal): captured and parsed; {why}"),
            None => "end-to-end encrypted (Signal): captured and parsed, but the adversary holds \
                     no device state or private key of either party"
                .to_string(),
        }
    }
}

/// The scorer of `protocol`: the registration of every protocol, one arm each.
pub(crate) fn scorer(protocol: &ProtocolId) -> &'static dyn ProtocolScorer {
    match protocol {
        ProtocolId::Sms => &Sms,
        ProtocolId::CarrierEncrypted => &CarrierEncrypted,
        ProtocolId::Noise { .. } => &Noise,
        ProtocolId::Signal { .. } => &Signal,
    }
}
