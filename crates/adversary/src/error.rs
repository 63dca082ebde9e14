//! The one error type of this crate.

/// Why the adversary could not interpret something it captured.
///
/// In every variant the captured bytes (or the protocol name they announce) are at fault; the
/// [`Display`](core::fmt::Display) text is what [`crate::Findings::unreadable`] reports as the
/// reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdversaryError {
    /// A protocol name not of the form `Noise_<pattern>_<dh>_<cipher>_<hash>`.
    #[error("malformed Noise protocol name {name:?}")]
    BadProtocolName {
        /// The name as captured.
        name: String,
    },
    /// A handshake pattern that is not one of the specification's 38 base patterns.
    #[error("unknown Noise pattern {pattern}")]
    UnknownPattern {
        /// The pattern part of the name.
        pattern: String,
    },
    /// A pattern modifier other than `pskN` (e.g. `fallback`, `hfs`).
    #[error("unsupported Noise pattern modifier {modifier:?}")]
    UnsupportedModifier {
        /// The modifier.
        modifier: String,
    },
    /// A `pskN` modifier naming a message the pattern does not have.
    #[error("Noise pattern {pattern}: psk{position} names a message past the last of {messages}")]
    BadPskPosition {
        /// The pattern part of the name.
        pattern: String,
        /// `N` of `pskN`.
        position: usize,
        /// Messages of the base pattern.
        messages: usize,
    },
    /// A DH function other than 25519 (Curve448 is valid Noise, but snow does not support it).
    #[error("unsupported Noise DH function {dh} (only 25519 is modelled)")]
    UnsupportedDh {
        /// The DH part of the name.
        dh: String,
    },
    /// A cipher or hash function the specification does not define.
    #[error("unknown Noise cipher or hash {primitive}")]
    UnsupportedPrimitive {
        /// The cipher or hash part of the name.
        primitive: String,
    },
    /// A handshake message number outside the pattern.
    #[error("{protocol} has {messages} handshake messages; message {index} cannot exist")]
    MessageIndex {
        /// The protocol name.
        protocol: String,
        /// The 1-based index announced.
        index: usize,
        /// Messages of the pattern.
        messages: usize,
    },
    /// A handshake message shorter than its tokens require.
    #[error(
        "{protocol} handshake message {index} is {len} bytes, the pattern needs at least {needed}"
    )]
    ShortHandshakeMessage {
        /// The protocol name.
        protocol: String,
        /// The 1-based index.
        index: usize,
        /// Bytes captured.
        len: usize,
        /// Bytes the pattern requires with an empty payload.
        needed: usize,
    },
}
