//! Which protocol carried a message, as one typed id shared by the simulator, the adversary and
//! the scorer (instead of label strings tested with `starts_with`).
//!
//! The label (`sms`, `carrier-encrypted`, `noise:<pattern>`, `signal`, `signal+pq`) is only the
//! id's printed and serialized form, what reports show and JSON carries.

use core::cmp::Ordering;
use core::fmt;

use serde::{Serialize, Serializer};
use std::sync::Arc;

/// The protocol of a messaging app.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProtocolId {
    /// Plain SMS over the carrier's signalling path.
    Sms,
    /// SMS inside the carrier's encrypted radio tunnel, decrypted at its packet gateway.
    CarrierEncrypted,
    /// An end-to-end Noise app with this handshake pattern (e.g. `XX`, `NNpsk0`).
    Noise {
        /// The pattern as the scenario names it (shared: every ground-truth message of an app
        /// points at one copy).
        pattern: Arc<str>,
    },
    /// A Signal-style app: X3DH, or PQXDH when `post_quantum`.
    Signal {
        /// PQXDH (ML-KEM-1024 in the key agreement).
        post_quantum: bool,
    },
}

/// The families a scorer or an analysis distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// The carrier's own messaging (SMS, carrier-encrypted): readable wherever the carrier is.
    Carrier,
    /// End-to-end Noise sessions.
    Noise,
    /// End-to-end Signal-style sessions.
    Signal,
}

impl ProtocolId {
    /// The label reports print: `sms`, `carrier-encrypted`, `noise:<pattern>`, `signal`,
    /// `signal+pq`.
    pub fn label(&self) -> String {
        match self {
            ProtocolId::Sms => "sms".to_owned(),
            ProtocolId::CarrierEncrypted => "carrier-encrypted".to_owned(),
            ProtocolId::Noise { pattern } => format!("noise:{pattern}"),
            ProtocolId::Signal { post_quantum: true } => "signal+pq".to_owned(),
            ProtocolId::Signal {
                post_quantum: false,
            } => "signal".to_owned(),
        }
    }

    /// The id a label names, if any (the inverse of [`ProtocolId::label`]).
    pub fn from_label(label: &str) -> Option<ProtocolId> {
        Some(match label {
            "sms" => ProtocolId::Sms,
            "carrier-encrypted" => ProtocolId::CarrierEncrypted,
            "signal" => ProtocolId::Signal {
                post_quantum: false,
            },
            "signal+pq" => ProtocolId::Signal { post_quantum: true },
            _ => {
                let pattern = label.strip_prefix("noise:").filter(|p| !p.is_empty())?;
                ProtocolId::Noise {
                    pattern: pattern.into(),
                }
            }
        })
    }

    /// Its family.
    pub fn family(&self) -> Family {
        match self {
            ProtocolId::Sms | ProtocolId::CarrierEncrypted => Family::Carrier,
            ProtocolId::Noise { .. } => Family::Noise,
            ProtocolId::Signal { .. } => Family::Signal,
        }
    }

    /// Whether only the two ends hold the keys (Noise and Signal apps).
    pub fn is_end_to_end(&self) -> bool {
        self.family() != Family::Carrier
    }
}

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Serialized as its label, so JSON reports and exports read as before.
impl Serialize for ProtocolId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

/// Ordered by label, the order reports list protocols in.
impl Ord for ProtocolId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.label().cmp(&other.label())
    }
}

impl PartialOrd for ProtocolId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_kind_round_trips_through_its_label() {
        for p in [
            ProtocolId::Sms,
            ProtocolId::CarrierEncrypted,
            ProtocolId::Noise {
                pattern: "XXpsk3".into(),
            },
            ProtocolId::Signal {
                post_quantum: false,
            },
            ProtocolId::Signal { post_quantum: true },
        ] {
            assert_eq!(ProtocolId::from_label(&p.label()), Some(p.clone()));
        }
        assert_eq!(ProtocolId::from_label("noise:"), None);
        assert_eq!(ProtocolId::from_label("smtp"), None);
    }

    #[test]
    fn families_and_end_to_end() {
        assert!(!ProtocolId::Sms.is_end_to_end());
        assert!(!ProtocolId::CarrierEncrypted.is_end_to_end());
        assert!(ProtocolId::Signal { post_quantum: true }.is_end_to_end());
        assert_eq!(
            ProtocolId::Noise {
                pattern: "NN".into()
            }
            .family(),
            Family::Noise
        );
    }

    proptest! {
        #[test]
        fn any_label_that_parses_prints_back_the_same(label in "\\PC{0,24}") {
            if let Some(p) = ProtocolId::from_label(&label) {
                prop_assert_eq!(p.label(), label);
            }
        }
    }
}
