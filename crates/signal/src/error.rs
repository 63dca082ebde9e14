//! [`SignalError`]: everything that can go wrong, each variant saying who is at fault, and
//! [`FailureKind`], how an endpoint noticed.

/// Errors of the signal crate. A failed [`crate::Device::handle_envelope`] discards the
/// envelope and every state change it would have made (Double Ratchet spec, section 3.5): the
/// sessions survive.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// The sender (or whoever altered the bytes on the way) sent a malformed encoding: `field`
    /// at byte `offset` is missing, short or invalid.
    #[error("malformed {field} at byte {offset}")]
    Decode {
        /// Byte offset of the field in the decoded buffer.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// AEAD authentication failed: the bytes were altered in transit, forged, or encrypted
    /// under other keys.
    #[error("authentication failed ({0})")]
    BadTag(&'static str),
    /// Header encryption: no header key this session holds opens the header (altered, forged,
    /// replayed from a discarded chain, or for another session).
    #[error("no header key opens the encrypted header")]
    BadHeader,
    /// The message number lies more than `MAX_SKIP` messages ahead of the receiving chain:
    /// the sender (or an attacker) would make us store too many skipped keys.
    #[error("message {n} would skip {skip} message keys, more than MAX_SKIP = {max}")]
    TooManySkipped {
        /// Message number in the header.
        n: u32,
        /// Keys that would have to be skipped.
        skip: u64,
        /// The bound.
        max: u32,
    },
    /// The message was already decrypted and its key deleted: a replay (by the network or an
    /// attacker).
    #[error("message already decrypted (replay)")]
    Replayed,
    /// A prekey bundle's signature does not verify under its identity key: the key server or
    /// an impostor is at fault.
    #[error("prekey signature does not verify")]
    BadSignature,
    /// An initial message names a signed prekey this device does not hold (sender error or
    /// forgery).
    #[error("unknown signed prekey {0}")]
    UnknownSignedPreKey(u32),
    /// An initial message names a one-time prekey this device does not hold or already used
    /// (a replayed initial message, or the server handed the prekey out twice).
    #[error("unknown or already used one-time prekey {0}")]
    UnknownOneTimePreKey(u32),
    /// An initial message names a PQ prekey this device does not hold or already used.
    #[error("unknown or already used PQ prekey {0}")]
    UnknownPqPreKey(u32),
    /// A KEM key or ciphertext has the wrong size (sender or server error).
    #[error("bad ML-KEM key or ciphertext")]
    Kem,
    /// A message from a peer with whom this device has no session and that is not an initial
    /// message (lost initial messages, or a forged envelope).
    #[error("no session with device {0}")]
    NoSession(u64),
    /// `send` to a peer without a session: the caller must call `start_session` first.
    #[error("no session with device {0}: start one from its prekey bundle")]
    NotStarted(u64),
    /// The envelope is addressed to another device (routing error).
    #[error("envelope for device {recipient}, this is device {local}")]
    WrongRecipient {
        /// Recipient named in the envelope.
        recipient: u64,
        /// This device.
        local: u64,
    },
    /// Sealed sender: the identity key in the sealed envelope differs from the session's
    /// identity key of the claimed sender (an impostor).
    #[error("sealed sender identity does not match the session with device {0}")]
    IdentityMismatch(u64),
    /// The key server has no bundle for this device (caller error).
    #[error("no prekey bundle for device {0}")]
    UnknownDevice(u64),
    /// A plaintext longer than [`crate::MAX_PLAINTEXT`] (caller error).
    #[error("plaintext of {0} bytes is too large")]
    PlaintextTooLarge(usize),
}

/// How an endpoint noticed a failure: the kind of [`crate::Event::Failed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Malformed bytes.
    Malformed,
    /// AEAD or header authentication failed.
    BadTag,
    /// A replayed message or initial message.
    Replay,
    /// Too many skipped messages.
    TooManySkipped,
    /// Bad prekey signature or unknown prekey.
    PreKey,
    /// No session for the message.
    NoSession,
    /// Sealed sender identity mismatch.
    IdentityMismatch,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// Kebab-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Malformed => "malformed",
            FailureKind::BadTag => "bad-tag",
            FailureKind::Replay => "replay",
            FailureKind::TooManySkipped => "too-many-skipped",
            FailureKind::PreKey => "prekey",
            FailureKind::NoSession => "no-session",
            FailureKind::IdentityMismatch => "identity-mismatch",
            FailureKind::Other => "other",
        }
    }
}

impl SignalError {
    /// The [`FailureKind`] of this error.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            SignalError::Decode { .. } | SignalError::Kem => FailureKind::Malformed,
            SignalError::BadTag(_) | SignalError::BadHeader => FailureKind::BadTag,
            SignalError::Replayed | SignalError::UnknownOneTimePreKey(_) => FailureKind::Replay,
            SignalError::TooManySkipped { .. } => FailureKind::TooManySkipped,
            SignalError::BadSignature
            | SignalError::UnknownSignedPreKey(_)
            | SignalError::UnknownPqPreKey(_) => FailureKind::PreKey,
            SignalError::NoSession(_) => FailureKind::NoSession,
            SignalError::IdentityMismatch(_) => FailureKind::IdentityMismatch,
            _ => FailureKind::Other,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = core::result::Result<T, SignalError>;
