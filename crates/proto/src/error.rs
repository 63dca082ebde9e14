//! [`ProtoError`]: the one error type of this crate, with a variant per kind of failure and a
//! doc line saying who is at fault.

use core::fmt;

use crate::wire::WireError;

/// Why a protocol machine refused an input or a call.
///
/// Errors returned by a [`NoiseSession`](crate::noise::NoiseSession) while handling a message
/// are fatal to that session: it is dead afterwards, and reports the same error once as
/// [`SessionEvent::Failed`](crate::noise::SessionEvent::Failed).
#[derive(Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The peer (or the path) sent bytes that do not parse as the wire format says.
    #[error("malformed wire data: {0}")]
    Wire(#[from] WireError),
    /// The peer or the path sent bytes that failed AEAD authentication: altered, replayed,
    /// reordered, or encrypted under other keys.
    #[error("authentication tag did not verify: the message was altered, replayed, reordered or not meant for this session")]
    BadTag,
    /// The peer presented a static key other than the pinned one: an impostor, or a stale key
    /// directory on our side.
    #[error("remote static key {} is not the pinned key {}", Hex(.got), Hex(.expected))]
    UnexpectedRemoteStatic {
        /// The key the session was told to expect.
        expected: [u8; 32],
        /// The key the peer sent.
        got: [u8; 32],
    },
    /// The path (never an honest peer) delivered a message this session had already accepted:
    /// a replay. Detected when a message fails to decrypt or arrives out of turn and its bytes
    /// end exactly like a message accepted earlier.
    #[error("replayed message: the session already accepted these bytes")]
    Replayed,
    /// The peer sent a handshake message out of turn. `expected` is the index of the message
    /// this party would read next; 0 means the handshake is over.
    #[error("handshake message {got} arrived out of order (expected message {expected})")]
    HandshakeOutOfOrder {
        /// The index this party would read next (0: the handshake is over).
        expected: u8,
        /// The index carried by the message.
        got: u8,
    },
    /// The peer sent a transport message before the handshake completed.
    #[error("transport message received before the handshake completed")]
    TransportBeforeHandshake,
    /// The caller used a session that an earlier error already killed.
    #[error("the session is dead after an earlier error")]
    SessionDead,
    /// The caller asked for a Noise protocol that snow cannot parse or build here.
    #[error("unknown or unsupported Noise protocol: {0}")]
    UnknownProtocol(String),
    /// The caller broke this API's contract (what, is said).
    #[error("API misuse: {0}")]
    ApiMisuse(&'static str),
    /// The peer sent a Noise message that breaks this session's framing rules (what, is said),
    /// such as a non-empty handshake payload where none is allowed.
    #[error("malformed Noise message: {0}")]
    MalformedNoise(&'static str),
    /// Any other failure reported by snow (a local bug or an unexpected state, see the inner
    /// error).
    #[error("noise error: {0}")]
    Snow(#[source] snow::Error),
}

impl Clone for ProtoError {
    fn clone(&self) -> Self {
        match self {
            ProtoError::Wire(e) => ProtoError::Wire(e.clone()),
            ProtoError::BadTag => ProtoError::BadTag,
            ProtoError::Replayed => ProtoError::Replayed,
            ProtoError::UnexpectedRemoteStatic { expected, got } => {
                ProtoError::UnexpectedRemoteStatic {
                    expected: *expected,
                    got: *got,
                }
            }
            ProtoError::HandshakeOutOfOrder { expected, got } => ProtoError::HandshakeOutOfOrder {
                expected: *expected,
                got: *got,
            },
            ProtoError::TransportBeforeHandshake => ProtoError::TransportBeforeHandshake,
            ProtoError::SessionDead => ProtoError::SessionDead,
            ProtoError::UnknownProtocol(s) => ProtoError::UnknownProtocol(s.clone()),
            ProtoError::ApiMisuse(s) => ProtoError::ApiMisuse(s),
            ProtoError::MalformedNoise(s) => ProtoError::MalformedNoise(s),
            ProtoError::Snow(e) => ProtoError::Snow(clone_snow(e)),
        }
    }
}

/// `snow::Error` is not `Clone`; rebuild it variant by variant.
fn clone_snow(e: &snow::Error) -> snow::Error {
    use snow::error::{InitStage as I, PatternProblem as P, Prerequisite as R, StateProblem as S};
    use snow::Error as E;
    match e {
        E::Pattern(p) => E::Pattern(match p {
            P::TooFewParameters => P::TooFewParameters,
            P::TooManyParameters => P::TooManyParameters,
            P::UnsupportedHandshakeType => P::UnsupportedHandshakeType,
            P::UnsupportedBaseType => P::UnsupportedBaseType,
            P::UnsupportedHashType => P::UnsupportedHashType,
            P::UnsupportedDhType => P::UnsupportedDhType,
            P::UnsupportedCipherType => P::UnsupportedCipherType,
            P::InvalidPsk => P::InvalidPsk,
            P::DuplicateModifier => P::DuplicateModifier,
            P::UnsupportedModifier => P::UnsupportedModifier,
            P::UnsupportedKemType => P::UnsupportedKemType,
        }),
        E::Init(i) => E::Init(match i {
            I::ValidateKeyLengths => I::ValidateKeyLengths,
            I::ValidatePskLengths => I::ValidatePskLengths,
            I::ValidateCipherTypes => I::ValidateCipherTypes,
            I::GetRngImpl => I::GetRngImpl,
            I::GetDhImpl => I::GetDhImpl,
            I::GetCipherImpl => I::GetCipherImpl,
            I::GetHashImpl => I::GetHashImpl,
            I::ValidatePskPosition => I::ValidatePskPosition,
            I::ParameterOverwrite => I::ParameterOverwrite,
            I::GetKemImpl => I::GetKemImpl,
        }),
        E::Prereq(r) => E::Prereq(match r {
            R::LocalPrivateKey => R::LocalPrivateKey,
            R::RemotePublicKey => R::RemotePublicKey,
        }),
        E::State(s) => E::State(match s {
            S::MissingKeyMaterial => S::MissingKeyMaterial,
            S::MissingPsk => S::MissingPsk,
            S::NotTurnToWrite => S::NotTurnToWrite,
            S::NotTurnToRead => S::NotTurnToRead,
            S::HandshakeNotFinished => S::HandshakeNotFinished,
            S::HandshakeAlreadyFinished => S::HandshakeAlreadyFinished,
            S::OneWay => S::OneWay,
            S::Exhausted => S::Exhausted,
        }),
        E::Dh => E::Dh,
        E::Decrypt => E::Decrypt,
        E::Rng => E::Rng,
        // `snow::Error` is non-exhaustive; a future variant degrades to the generic one.
        _ => E::Input,
    }
}

/// Lower-case hex of a key, for `Display` (public keys only: never used on secrets).
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
