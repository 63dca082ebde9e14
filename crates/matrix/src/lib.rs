//! The empirical Noise security matrix: for a handshake pattern, run the attack experiments
//! E1–E8 and the identity-hiding experiments of `docs/noise-matrix-experiments.md` in the
//! simulator, with real cryptography, and derive the payload security levels (source 0–2,
//! destination 0–5) and identity-hiding levels (0–9) of Noise specification revision 34,
//! sections 7.7 and 7.8, from what the attacks achieved.
//!
//! - The honest parties are snow with strict alternation, drop on error and pinning
//!   ([`honest`]), at the two ends of a three-node `netsim` network.
//! - The attacker is an on-path hook at the middle node; it reads and writes Noise messages
//!   with the adversary's own engine (`adversary::engine`), holding only the keys an
//!   experiment gives it ([`harness`]).
//! - [`experiments`] decides each experiment by comparing with the markers the honest parties
//!   sent, and derives the levels. There is no table of expected levels outside the tests.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use serde::Serialize;

mod experiments;
mod harness;
mod honest;
mod render;
mod setup;

pub use adversary::engine::Role;
pub use render::render_terminal;
pub use setup::protocol_name;

/// What went wrong before any experiment ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatrixError {
    /// The pattern cannot be run.
    #[error("pattern `{pattern}`: {reason}")]
    Pattern {
        /// The name given.
        pattern: String,
        /// Why.
        reason: String,
    },
}

/// One experiment's outcome and why.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Whether the attack succeeded.
    pub success: bool,
    /// Secrets the attacker held from the start.
    pub held: Vec<String>,
    /// Secrets revealed to it after the session.
    pub revealed: Vec<String>,
    /// One sentence per attempt (all attempts if it failed, the successful one otherwise):
    /// which takeover point, which DH it lacked, which check stopped it.
    pub why: Vec<String>,
}

/// One message of the sequence.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRow {
    /// 1-based position in the sequence.
    pub index: usize,
    /// `"->"` (initiator to responder) or `"<-"`.
    pub direction: &'static str,
    /// `"handshake"` or `"transport"`.
    pub kind: &'static str,
    /// The handshake tokens (`"e, ee, s, es"`); empty for transport messages.
    pub tokens: String,
    /// Source (authentication) level, 0–2.
    pub source: u8,
    /// Destination (confidentiality) level, 0–5.
    pub destination: u8,
    /// E1..E8: whether each attack succeeded.
    pub experiments: BTreeMap<String, bool>,
    /// E1..E8: the evidence.
    pub evidence: BTreeMap<String, Evidence>,
}

/// Identity-hiding levels (0–9); `None` for a party without a static key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IdentityHiding {
    /// The initiator's level.
    pub initiator: Option<u8>,
    /// The responder's level.
    pub responder: Option<u8>,
}

/// The full matrix of one pattern.
#[derive(Clone, Debug, Serialize)]
pub struct PatternMatrix {
    /// The pattern name (`"XX"`, `"XXpsk3"`).
    pub pattern: String,
    /// The protocol the experiments ran.
    pub protocol: String,
    /// One row per message of the sequence.
    pub messages: Vec<MessageRow>,
    /// Identity-hiding levels.
    pub identity_hiding: IdentityHiding,
    /// Identity-hiding evidence, by party.
    pub identity_evidence: BTreeMap<String, Vec<String>>,
    /// Simulated runs it took.
    pub runs: usize,
}

/// Runs every experiment against one pattern (`"XX"`, `"NK1"`, `"XXpsk3"`, `"NNhfs"`, or a
/// full protocol name). `seed` fixes keys, markers and ephemerals.
///
/// # Errors
/// [`MatrixError::Pattern`] if snow or the adversary's pattern table does not know the pattern.
pub fn run_pattern(pattern: &str, seed: u64) -> Result<PatternMatrix, MatrixError> {
    let setup = setup::Setup::new(pattern, seed)?;
    Ok(experiments::run_all(setup))
}

/// The 38 base patterns of the specification (one-way, fundamental, deferred), in its order.
pub fn base_patterns() -> Vec<&'static str> {
    adversary::noise::patterns::PATTERNS
        .iter()
        .map(|p| p.name)
        .collect()
}

/// The 21 psk patterns of specification section 9.4.
pub const PSK_PATTERNS: [&str; 21] = [
    "Npsk0", "Kpsk0", "Xpsk1", "NNpsk0", "NNpsk2", "NKpsk0", "NKpsk2", "NXpsk2", "XNpsk3",
    "XKpsk3", "XXpsk3", "KNpsk0", "KNpsk2", "KKpsk0", "KKpsk2", "KXpsk2", "INpsk1", "INpsk2",
    "IKpsk1", "IKpsk2", "IXpsk2",
];

/// The one-line meaning of each source level (spec 7.7).
pub const SOURCE_MEANING: [&str; 3] = [
    "no authentication: anyone, including an active attacker, may have sent it",
    "sender authenticated, but forgeable by whoever holds the recipient's static key (KCI)",
    "sender authenticated, resistant to key-compromise impersonation",
];

/// The one-line meaning of each destination level (spec 7.7).
pub const DESTINATION_MEANING: [&str; 6] = [
    "no confidentiality: sent in clear",
    "encrypted to an ephemeral recipient: forward secret, but maybe to an active attacker",
    "encrypted to a known recipient, only its static: readable once that key leaks; replayable",
    "known recipient, weak forward secrecy: an active attacker plus the recipient's static later reads it",
    "known recipient, weak forward secrecy even if the sender's static leaked too",
    "known recipient, strong forward secrecy",
];

/// The one-line meaning of each identity-hiding level (spec 7.8).
pub const IDENTITY_MEANING: [&str; 10] = [
    "transmitted in clear",
    "encrypted with forward secrecy, but can be probed by an anonymous initiator",
    "encrypted with forward secrecy, but sent to an anonymous responder",
    "not transmitted, but a passive attacker can check candidates for the responder's private key",
    "encrypted to the responder's static without forward secrecy: its leak reveals the key",
    "not transmitted, but a passive attacker can check a (responder private, initiator public) candidate pair",
    "weak forward secrecy: an active attacker posing as the initiator, later given its key, decrypts it",
    "not transmitted, but an active attacker posing as the initiator can later check a private-key candidate",
    "encrypted with forward secrecy to an authenticated party (no attack found)",
    "an active attacker posing as the initiator can check candidates for the responder's public key",
];
