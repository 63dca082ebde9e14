//! Why the engine stopped: [`Blocked`] (key derivation needs something the attacker lacks) and
//! [`EngineError`] (the transcript or the caller is at fault).

use core::fmt;

use serde::Serialize;

use super::Role;

/// Why key derivation stopped. Messages are numbered from 1 over the whole transcript
/// (handshake messages first, then transport messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Blocked {
    /// A DH the attacker could not compute: it holds neither private key and has no oracle
    /// that answers.
    MissingDh {
        /// The 1-based message of the DH token.
        message: usize,
        /// `"ee"`, `"es"`, `"se"` or `"ss"`.
        token: &'static str,
        /// The two public keys: the initiator's side first.
        publics: ([u8; 32], [u8; 32]),
    },
    /// A `psk` token without the pre-shared key.
    MissingPsk {
        /// The 1-based message of the psk token.
        message: usize,
    },
    /// An `ekem1` token (hfs) without the ML-KEM decapsulation key of the initiator's `e1`.
    MissingKemSecret {
        /// The 1-based message of the ekem1 token.
        message: usize,
    },
    /// Key derivation had already stopped at an earlier message ([`super::Engine::blocked`]
    /// says why).
    EarlierBlock,
}

/// `3f2a..`: the first two bytes of a key, enough to tell keys apart in a sentence.
struct Short<'a>(&'a [u8; 32]);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}{:02x}..", self.0[0], self.0[1])
    }
}

/// The two sides of a DH token, as words.
pub(crate) fn dh_sides(token: &str) -> (&'static str, &'static str) {
    match token {
        "ee" => ("initiator ephemeral", "responder ephemeral"),
        "es" => ("initiator ephemeral", "responder static"),
        "se" => ("initiator static", "responder ephemeral"),
        _ => ("initiator static", "responder static"),
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::MissingDh {
                message,
                token,
                publics,
            } => {
                let (a, b) = dh_sides(token);
                write!(
                    f,
                    "message {message}: no private key for either side of {token} ({a} {}, {b} {})",
                    Short(&publics.0),
                    Short(&publics.1)
                )
            }
            Blocked::MissingPsk { message } => {
                write!(
                    f,
                    "message {message}: the pre-shared key of the psk token is unknown"
                )
            }
            Blocked::MissingKemSecret { message } => write!(
                f,
                "message {message}: no ML-KEM decapsulation key for the initiator's e1 key (ekem1)"
            ),
            Blocked::EarlierBlock => write!(f, "key derivation stopped at an earlier message"),
        }
    }
}

/// What went wrong. Messages are numbered from 1 over the whole transcript.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The protocol name is malformed or names something snow 0.10 does not speak with 25519.
    #[error("unsupported or malformed Noise protocol name: {0}")]
    Protocol(String),
    /// The caller did not give a static key the pattern's pre-messages need.
    #[error("the pattern has a pre-message with the {0:?}'s static key, but none was given")]
    MissingPremessage(Role),
    /// The caller gave the wrong number of pre-shared keys.
    #[error("the protocol has {expected} psk modifiers, {got} pre-shared keys were given")]
    PskCount {
        /// psk modifiers in the name.
        expected: usize,
        /// Keys given.
        got: usize,
    },
    /// A message attributed to the party whose turn it is not.
    #[error("message {message} is the {expected:?}'s to send, not the {got:?}'s")]
    WrongTurn {
        /// The 1-based message.
        message: usize,
        /// Who the pattern says sends it (for a one-way transport message: the initiator).
        expected: Role,
        /// Who the caller said sent it.
        got: Role,
    },
    /// A message shorter than its tokens require: the transcript is at fault.
    #[error("message {message} is {got} bytes, the pattern needs at least {need}")]
    Truncated {
        /// The 1-based message.
        message: usize,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// A message longer than Noise allows (65535 bytes).
    #[error("message {message} is {len} bytes, longer than Noise's 65535")]
    TooLong {
        /// The 1-based message.
        message: usize,
        /// Its length.
        len: usize,
    },
    /// A key was derived but the AEAD tag did not verify: the bytes were tampered with or belong
    /// to another session. The engine is unusable afterwards.
    #[error(
        "message {message}: AEAD tag of the {what} does not verify (tampered or foreign bytes)"
    )]
    BadTag {
        /// The 1-based message.
        message: usize,
        /// `"payload"`, `"static"`, `"e1"` or `"ekem1"`.
        what: &'static str,
    },
    /// Writing needed something the attacker lacks.
    #[error("cannot derive the key: {0}")]
    Blocked(Blocked),
    /// A DH returned all zeros: a peer sent a low-order point.
    #[error("message {message}: a DH returned all zeros (low-order public key in the transcript)")]
    LowOrderPoint {
        /// The 1-based message.
        message: usize,
    },
    /// Writing an `s` token without a `local_static`.
    #[error("message {message} sends a static key but no local_static was given")]
    MissingLocalStatic {
        /// The 1-based message.
        message: usize,
    },
    /// The 2^64-1 nonce limit of a cipher state was reached.
    #[error("message {message}: nonce space exhausted")]
    NonceExhausted {
        /// The 1-based message.
        message: usize,
    },
    /// An ML-KEM field that cannot be used (wrong length).
    #[error("message {message}: malformed ML-KEM {what}")]
    Kem {
        /// The 1-based message.
        message: usize,
        /// What was malformed.
        what: &'static str,
    },
    /// An earlier error left the engine in an unknown state; like an honest party, it drops
    /// the session.
    #[error("the engine failed at an earlier message and must be discarded")]
    Unusable,
}
