//! [`NoiseSession`]: one party of a Noise session over snow, for any protocol name snow parses:
//! one-way (`N`, `K`, `X`), the twelve fundamental interactive patterns, the deferred ones
//! (`NK1`, `X1X1`, ...), and `psk` modifiers (`XXpsk3`, `NNpsk0+psk2`, ...), over 25519 with
//! ChaChaPoly or AESGCM and SHA256, SHA512, BLAKE2s or BLAKE2b.
//!
//! Calling order, for the driver:
//!
//! 1. [`send`](NoiseSession::send) queues plaintext (the initiator's first `send` starts the
//!    handshake); [`handle_message`](NoiseSession::handle_message) feeds a message from the peer.
//! 2. Drain [`poll_transmit`](NoiseSession::poll_transmit) (messages for the peer, in order) and
//!    [`poll_event`](NoiseSession::poll_event) (handshake completion, plaintexts, failure).
//!
//! Rules the session enforces:
//!
//! * **Strict alternation.** A party writes its next handshake message only after reading every
//!   earlier one. The responder (and the initiator, for its later messages) answers handshake
//!   messages automatically, with empty payloads.
//! * **Early data** ([`EarlyData`], the same on both sides): the initiator's first queued
//!   plaintext becomes the payload of one of its handshake messages, and the responder delivers
//!   it as [`SessionEvent::Received`] on reading that message. [`EarlyData::First`] uses
//!   message 1: for patterns whose first message has no key yet (`NN`, `XX`, `IX`, ...), that
//!   payload travels **in clear** (traced at debug). [`EarlyData::Last`] uses the initiator's
//!   last handshake message ([`initiator_last_message`]: message 3 of `XX`, `XK`, `IX1`, ...;
//!   message 1 of two-message and one-way patterns), which in `XX` is encrypted after `ee`,
//!   `es` and `se` and carries the initiator's static to the responder only. Every other
//!   handshake payload must be empty, and a non-empty one kills the session.
//! * **Transport messages** carry application plaintext once the handshake completes, with
//!   implicit in-order nonces: the reliable layer below guarantees order, so a replayed or
//!   reordered message fails authentication ([`ProtoError::BadTag`]). A message whose bytes
//!   end like one the session already accepted is reported as [`ProtoError::Replayed`].
//! * **Failure kinds.** [`ProtoError::failure_kind`] sorts a fatal error into a
//!   [`FailureKind`] (bad tag, unexpected remote static, replay, handshake aborted, ...): how
//!   the endpoint noticed, for ground truth and reports.
//! * **Pinning**: a remote static key received through an `s` token must equal
//!   `expected_remote_static`, checked before anything else from that message is used or any
//!   reply is written.
//! * **Any error kills the session.** snow would let a caller retry after a failed read; this
//!   session does not. It reports the error once as [`SessionEvent::Failed`], returns it from
//!   the failing call, and answers [`ProtoError::SessionDead`] ever after.
//!
//! All randomness (ephemeral keys) comes from [`crate::crypto::resolver`] keyed by
//! `NoiseConfig::rng_seed`: equal seeds give byte-identical transcripts.

use std::collections::VecDeque;

use core::fmt;

use simcore::Timestamp;
use snow::params::{DHChoice, HandshakeModifier, HandshakePattern, NoiseParams};
use snow::{HandshakeState, TransportState};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Hex, ProtoError};
use crate::keys::{Psk, StaticKeypair};

pub use crate::wire::NoiseKind;

/// The largest plaintext [`NoiseSession::send`] accepts: a Noise message is at most 65 535
/// bytes, and handshake message 1 may need 96 of them for keys and tags around early data.
pub const MAX_PLAINTEXT: usize = 65_535 - 96;

/// Which of the initiator's handshake messages carries its first plaintext (0-RTT / early
/// data), instead of waiting for the handshake to finish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum EarlyData {
    /// None: every handshake payload is empty.
    #[default]
    Off,
    /// Handshake message 1.
    First,
    /// The initiator's last handshake message ([`initiator_last_message`]).
    Last,
}

impl From<bool> for EarlyData {
    /// `true` is [`EarlyData::First`], as the scenario key `early_data = true` always was.
    fn from(on: bool) -> Self {
        if on {
            EarlyData::First
        } else {
            EarlyData::Off
        }
    }
}

impl EarlyData {
    /// The index (1-based) of the handshake message that carries the early plaintext in
    /// `pattern`, or `None` when off.
    pub fn message_index(self, pattern: HandshakePattern) -> Option<u8> {
        match self {
            EarlyData::Off => None,
            EarlyData::First => Some(1),
            EarlyData::Last => Some(initiator_last_message(pattern)),
        }
    }
}

/// The index (1-based) of the last handshake message the initiator writes in `pattern`. Noise
/// patterns alternate starting with the initiator, so it is the message count if odd, else one
/// less. A pattern has 4 messages when the initiator's static is deferred past an `X` (`X1N`,
/// `X1K`, `X1X`, `X1K1`, `X1X1`), 3 when the initiator sends its static in message 3 (`X`...) or
/// defers its DH (`K1`, `I1`), or the responder defers an `X` (`NX1`, `KX1`, `IX1`), and 2
/// otherwise; one-way patterns have 1. Checked against snow for every supported pattern.
pub fn initiator_last_message(pattern: HandshakePattern) -> u8 {
    if pattern.is_oneway() {
        return 1;
    }
    let name = pattern.as_str();
    let (init, resp) = if name.as_bytes().get(1) == Some(&b'1') {
        name.split_at(2)
    } else {
        name.split_at(1)
    };
    let count = if init == "X1" {
        4
    } else if init == "X" || init.ends_with('1') || resp == "X1" {
        3
    } else {
        2
    };
    if count >= 3 {
        3
    } else {
        1
    }
}

/// Authentication tag length of both AEADs.
const TAG_LEN: usize = 16;
/// Upper bound of the non-payload bytes of a handshake message (e, encrypted s, payload tag).
const HANDSHAKE_OVERHEAD: usize = 96;
/// snow's maximum message length.
const MAX_MESSAGE: usize = 65_535;
/// Extra handshake bytes of a hybrid (`hfs`) pattern: an ML-KEM-1024 public key or ciphertext
/// (1568 bytes, both) plus its tag.
const HFS_OVERHEAD: usize = crate::crypto::KEM_CIPHERTEXT_LEN + TAG_LEN;

/// The two transport keys a completed handshake split into (the `k` of each CipherState, nonces
/// start at 0). What a thief copies out of a device's memory; wiped on drop, never printed.
#[derive(Clone)]
pub struct TransportKeys {
    /// Encrypts initiator-to-responder transport messages.
    pub initiator_to_responder: Zeroizing<[u8; 32]>,
    /// Encrypts responder-to-initiator transport messages; `None` in one-way patterns.
    pub responder_to_initiator: Option<Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for TransportKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransportKeys { <redacted> }")
    }
}

/// The positions of a protocol's `pskN` modifiers, in name order (`NNpsk0+psk2` → `[0, 2]`):
/// where snow's builder wants a psk.
pub fn psk_positions(params: &NoiseParams) -> Vec<u8> {
    params
        .handshake
        .modifiers
        .list
        .iter()
        .filter_map(|m| match m {
            HandshakeModifier::Psk(n) => Some(*n),
            _ => None,
        })
        .collect()
}

/// Everything a party needs to start a Noise session.
///
/// `rng_seed` keys the only RNG of the session (its ephemeral keys); it is wiped when the
/// config is dropped, and `Debug` redacts it along with the keys.
#[derive(Clone)]
pub struct NoiseConfig {
    /// Full Noise protocol name, e.g. `"Noise_XX_25519_ChaChaPoly_BLAKE2s"`.
    pub protocol: String,
    /// Whether this party is the initiator.
    pub initiator: bool,
    /// This party's static keypair, when the pattern uses one (ignored otherwise).
    pub local_static: Option<StaticKeypair>,
    /// The peer's static public key known in advance (from a key directory), exactly when the
    /// pattern has a pre-message for it (`K` positions, and the responder of `N`, `K`, `X`,
    /// `NK`, ...). Giving one the pattern has no use for is refused: to check a key the peer
    /// transmits, use `expected_remote_static`.
    pub remote_static: Option<[u8; 32]>,
    /// Pinning: a static key the peer transmits through an `s` token must equal this one, or
    /// the session dies with [`ProtoError::UnexpectedRemoteStatic`].
    pub expected_remote_static: Option<[u8; 32]>,
    /// The pre-shared key, used at every `pskN` position the protocol name lists.
    pub psk: Option<Psk>,
    /// Prologue bytes both parties must agree on.
    pub prologue: Vec<u8>,
    /// Which handshake message, if any, carries the initiator's first plaintext.
    pub early_data: EarlyData,
    /// Seed of the session's RNG (ephemeral keys). Use a distinct seed per session and party.
    pub rng_seed: [u8; 32],
}

impl Drop for NoiseConfig {
    fn drop(&mut self) {
        self.rng_seed.zeroize();
    }
}

impl fmt::Debug for NoiseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseConfig")
            .field("protocol", &self.protocol)
            .field("initiator", &self.initiator)
            .field("local_static", &self.local_static)
            .field(
                "remote_static",
                &self.remote_static.as_ref().map(|k| Hex(k).to_string()),
            )
            .field(
                "expected_remote_static",
                &self
                    .expected_remote_static
                    .as_ref()
                    .map(|k| Hex(k).to_string()),
            )
            .field("psk", &self.psk)
            .field("prologue_len", &self.prologue.len())
            .field("early_data", &self.early_data)
            .field("rng_seed", &"<redacted>")
            .finish()
    }
}

/// One Noise message, as handed to the transport below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoiseMessage {
    /// Handshake or transport.
    pub kind: NoiseKind,
    /// Handshake: 1-based message number in the pattern; transport: 0.
    pub index: u8,
    /// The message exactly as snow wrote it.
    pub bytes: Vec<u8>,
}

/// Something the session has to tell its owner.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionEvent {
    /// The handshake completed; transport messages flow from now on.
    HandshakeComplete {
        /// The peer's static public key, if the pattern gave this party one.
        remote_static: Option<[u8; 32]>,
    },
    /// A plaintext from the peer, authenticated, in order.
    Received(Vec<u8>),
    /// The session died with this error (reported once; the failing call returned it too).
    Failed(ProtoError),
}

/// How an endpoint noticed that its session was attacked or broke: the kind of a
/// [`SessionEvent::Failed`] error, as ground truth and reports count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// AEAD authentication failed: the bytes were altered, forged, or encrypted under other keys.
    BadTag,
    /// The peer's static key differs from the pinned directory key: an impostor.
    UnexpectedRemoteStatic,
    /// The session had already accepted these exact bytes.
    Replay,
    /// The handshake broke off: a message out of turn, a transport message too early, a
    /// malformed handshake message.
    HandshakeAborted,
    /// Messages stopped arriving (detected by the application above the session, not by it).
    Timeout,
    /// Anything else (local misuse, snow internals).
    Other,
}

impl FailureKind {
    /// The kebab-case name used in reports: `bad-tag`, `unexpected-remote-static`, `replay`,
    /// `handshake-aborted`, `timeout`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadTag => "bad-tag",
            FailureKind::UnexpectedRemoteStatic => "unexpected-remote-static",
            FailureKind::Replay => "replay",
            FailureKind::HandshakeAborted => "handshake-aborted",
            FailureKind::Timeout => "timeout",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ProtoError {
    /// The kind of failure this error means when it kills a session.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            ProtoError::BadTag => FailureKind::BadTag,
            ProtoError::UnexpectedRemoteStatic { .. } => FailureKind::UnexpectedRemoteStatic,
            ProtoError::Replayed => FailureKind::Replay,
            ProtoError::HandshakeOutOfOrder { .. }
            | ProtoError::TransportBeforeHandshake
            | ProtoError::MalformedNoise(_)
            | ProtoError::Wire(_) => FailureKind::HandshakeAborted,
            _ => FailureKind::Other,
        }
    }
}

/// How many accepted messages a session remembers (a fingerprint of their last bytes) to
/// recognise a replay.
const REPLAY_MEMORY: usize = 256;
/// How many trailing bytes of an accepted message are fingerprinted (the AEAD tag and more).
const REPLAY_TAIL: usize = 32;

/// A fingerprint of the trailing bytes (up to [`REPLAY_TAIL`]) of one accepted message: a
/// 64-bit hash of them and their length, held inline. Eight bytes where the bytes themselves
/// took 33: a session remembers up to [`REPLAY_MEMORY`] of them, and at scale the sessions' rings
/// were a large share of the run's memory (BENCHMARKING.md § "Replay memory"). Two different
/// tails share a fingerprint with probability 2^-64, and the fingerprint only ever names the
/// failure of a message that already failed to authenticate (a replay, or a bad tag).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Tail(u64);

impl Tail {
    fn of(message: &[u8]) -> Self {
        Tail(simcore::fixed_hash(NoiseSession::tail(message)))
    }
}

enum Phase {
    Handshake(Box<HandshakeState>),
    Transport(Box<TransportState>),
    Dead,
}

/// One party of a Noise session. See the [module documentation](self) for the rules.
pub struct NoiseSession {
    protocol: String,
    initiator: bool,
    one_way: bool,
    /// The handshake message carrying the initiator's first plaintext ([`EarlyData`]).
    early_index: Option<u8>,
    /// The initiator has started the handshake (first `send` or `start`).
    started: bool,
    /// Handshake messages written or read so far.
    handshake_messages: u8,
    /// Pinned key still to be checked against a transmitted static.
    pin: Option<[u8; 32]>,
    phase: Phase,
    outgoing: VecDeque<Zeroizing<Vec<u8>>>,
    transmit: VecDeque<NoiseMessage>,
    events: VecDeque<SessionEvent>,
    /// The split keys, kept from handshake completion for [`NoiseSession::transport_keys`].
    transport_keys: Option<Box<TransportKeys>>,
    /// Fingerprints of the trailing bytes of the last [`REPLAY_MEMORY`] messages accepted from
    /// the peer (ciphertext, public), to tell a replay from other authentication failures.
    accepted: VecDeque<Tail>,
}

impl fmt::Debug for NoiseSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoiseSession")
            .field("protocol", &self.protocol)
            .field("initiator", &self.initiator)
            .field("established", &self.is_established())
            .field("dead", &self.is_dead())
            .field("handshake_messages", &self.handshake_messages)
            .finish_non_exhaustive()
    }
}

/// How a pattern treats one party's static key, from the other party's point of view.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RemoteStatic {
    /// Never known (`N`).
    Absent,
    /// Known in advance through a pre-message (`K`, and the responder of one-way patterns).
    PreMessage,
    /// Transmitted in an `s` token during the handshake (`X`, `I`, with or without `1`).
    Transmitted,
}

/// The static-key letters of a pattern name: (initiator's, responder's).
fn static_letters(pattern: HandshakePattern) -> (char, char) {
    let mut chars = pattern.as_str().chars().filter(|c| *c != '1');
    let first = chars.next().unwrap_or('N');
    if pattern.is_oneway() {
        // The responder's static is always a pre-message of one-way patterns.
        (first, 'K')
    } else {
        (first, chars.next().unwrap_or('N'))
    }
}

fn remote_static_kind(pattern: HandshakePattern, initiator: bool) -> RemoteStatic {
    let (i, r) = static_letters(pattern);
    match if initiator { r } else { i } {
        'K' => RemoteStatic::PreMessage,
        'X' | 'I' => RemoteStatic::Transmitted,
        _ => RemoteStatic::Absent,
    }
}

fn to_key(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

/// Maps a snow error from reading a peer's message to the party at fault.
fn read_error(e: snow::Error) -> ProtoError {
    match e {
        snow::Error::Decrypt => ProtoError::BadTag,
        snow::Error::Input => {
            ProtoError::MalformedNoise("message too short or too long for its place in the pattern")
        }
        snow::Error::Dh => ProtoError::MalformedNoise("invalid public key: Diffie-Hellman failed"),
        e => ProtoError::Snow(e),
    }
}

impl NoiseSession {
    /// Validates the configuration and builds the snow handshake state with
    /// [`crate::crypto::resolver`]`(cfg.rng_seed)`.
    ///
    /// # Errors
    /// [`ProtoError::UnknownProtocol`] if snow cannot parse or build the protocol (or it uses a
    /// DH other than 25519, or the `fallback` modifier), and [`ProtoError::ApiMisuse`] if the
    /// keys given do not fit the pattern: a missing `local_static`, `remote_static` or `psk` it
    /// needs, a `remote_static` or `psk` it has no place for, or an `expected_remote_static` it
    /// can never check or that contradicts `remote_static`.
    pub fn new(cfg: NoiseConfig) -> Result<Self, ProtoError> {
        let name = cfg.protocol.as_str();
        let params: NoiseParams = name
            .parse()
            .map_err(|e| ProtoError::UnknownProtocol(format!("`{name}`: {e}")))?;
        if params.dh != DHChoice::Curve25519 {
            return Err(ProtoError::UnknownProtocol(format!(
                "`{name}`: only 25519 is supported (wiretap keys are X25519)"
            )));
        }
        if params.handshake.is_fallback() {
            return Err(ProtoError::UnknownProtocol(format!(
                "`{name}`: the fallback modifier needs a role switch NoiseSession does not do"
            )));
        }
        let pattern = params.handshake.pattern;
        let initiator = cfg.initiator;
        let psk_positions = psk_positions(&params);

        if pattern.needs_local_static_key(initiator) && cfg.local_static.is_none() {
            return Err(ProtoError::ApiMisuse(
                "the pattern needs this party's static keypair (local_static)",
            ));
        }
        let needs_remote = pattern.need_known_remote_pubkey(initiator);
        match (needs_remote, cfg.remote_static) {
            (true, None) => {
                return Err(ProtoError::ApiMisuse(
                    "the pattern needs the peer's static key in advance (remote_static)",
                ))
            }
            (false, Some(_)) => {
                return Err(ProtoError::ApiMisuse(
                    "remote_static given but the pattern has no pre-message for it; \
                     pin a transmitted key with expected_remote_static",
                ))
            }
            _ => {}
        }
        let mut pin = cfg.expected_remote_static;
        if let Some(expected) = pin {
            match remote_static_kind(pattern, initiator) {
                RemoteStatic::Absent => {
                    return Err(ProtoError::ApiMisuse(
                        "expected_remote_static given but the pattern never reveals the peer's static key",
                    ))
                }
                RemoteStatic::PreMessage => {
                    if cfg.remote_static != Some(expected) {
                        return Err(ProtoError::ApiMisuse(
                            "expected_remote_static contradicts the pre-message remote_static",
                        ));
                    }
                    pin = None;
                }
                RemoteStatic::Transmitted => {}
            }
        }
        match (psk_positions.is_empty(), &cfg.psk) {
            (false, None) => {
                return Err(ProtoError::ApiMisuse(
                    "the protocol has psk modifiers but no psk was given",
                ))
            }
            (true, Some(_)) => {
                return Err(ProtoError::ApiMisuse(
                    "psk given but the protocol has no psk modifier",
                ))
            }
            _ => {}
        }

        let build_error = |e: snow::Error| match e {
            snow::Error::Init(_) | snow::Error::Pattern(_) => {
                ProtoError::UnknownProtocol(format!("`{name}`: {e}"))
            }
            e => ProtoError::Snow(e),
        };
        let mut builder =
            snow::Builder::with_resolver(params.clone(), crate::crypto::resolver(cfg.rng_seed))
                .prologue(&cfg.prologue)
                .map_err(build_error)?;
        if let Some(k) = &cfg.local_static {
            builder = builder
                .local_private_key(&k.private[..])
                .map_err(build_error)?;
        }
        if let (true, Some(k)) = (needs_remote, &cfg.remote_static) {
            builder = builder.remote_public_key(k).map_err(build_error)?;
        }
        if let Some(psk) = &cfg.psk {
            for n in &psk_positions {
                builder = builder.psk(*n, psk.as_bytes()).map_err(build_error)?;
            }
        }
        let hs = if initiator {
            builder.build_initiator()
        } else {
            builder.build_responder()
        }
        .map_err(build_error)?;

        Ok(NoiseSession {
            protocol: cfg.protocol.clone(),
            initiator,
            one_way: pattern.is_oneway(),
            early_index: cfg.early_data.message_index(pattern),
            started: false,
            handshake_messages: 0,
            pin,
            phase: Phase::Handshake(Box::new(hs)),
            outgoing: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            transport_keys: None,
            accepted: VecDeque::new(),
        })
    }

    /// Queues `plaintext` for the peer. Before the handshake completes it waits (except the
    /// initiator's first message with early data, which rides in handshake message 1); the
    /// initiator's first `send` starts the handshake.
    ///
    /// # Errors
    /// [`ProtoError::SessionDead`] after a fatal error; [`ProtoError::ApiMisuse`] from the
    /// responder of a one-way pattern or for a plaintext over [`MAX_PLAINTEXT`] (the session
    /// survives both). A failure to write a handshake message kills the session.
    pub fn send(&mut self, _now: Timestamp, plaintext: Vec<u8>) -> Result<(), ProtoError> {
        if self.is_dead() {
            return Err(ProtoError::SessionDead);
        }
        if self.one_way && !self.initiator {
            return Err(ProtoError::ApiMisuse(
                "one-way pattern: only the initiator may send",
            ));
        }
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(ProtoError::ApiMisuse(
                "plaintext longer than a Noise message can carry (MAX_PLAINTEXT)",
            ));
        }
        self.outgoing.push_back(Zeroizing::new(plaintext));
        if self.initiator {
            self.started = true;
        }
        self.pump_or_die()
    }

    /// Starts the handshake now, with an empty payload in message 1 (initiator only; a no-op if
    /// already started). Used by tunnels that must be up before data flows.
    ///
    /// # Errors
    /// [`ProtoError::ApiMisuse`] from a responder or with `early_data` (whose handshake starts
    /// with the first `send`); [`ProtoError::SessionDead`] after a fatal error.
    pub fn start(&mut self, _now: Timestamp) -> Result<(), ProtoError> {
        if self.is_dead() {
            return Err(ProtoError::SessionDead);
        }
        if !self.initiator {
            return Err(ProtoError::ApiMisuse(
                "only the initiator starts a handshake",
            ));
        }
        if self.early_index.is_some() {
            return Err(ProtoError::ApiMisuse(
                "with early_data the handshake starts with the first send",
            ));
        }
        self.started = true;
        self.pump_or_die()
    }

    /// Feeds one message from the peer. Any error kills the session (see the module docs).
    ///
    /// # Errors
    /// [`ProtoError::HandshakeOutOfOrder`] for a handshake message out of turn,
    /// [`ProtoError::TransportBeforeHandshake`], [`ProtoError::BadTag`] when authentication
    /// fails, [`ProtoError::UnexpectedRemoteStatic`] when pinning fails,
    /// [`ProtoError::MalformedNoise`] for framing violations, and [`ProtoError::SessionDead`]
    /// for any message after death.
    pub fn handle_message(
        &mut self,
        _now: Timestamp,
        msg: &NoiseMessage,
    ) -> Result<(), ProtoError> {
        if self.is_dead() {
            return Err(ProtoError::SessionDead);
        }
        match self.read(msg) {
            Ok(()) => self.remember(&msg.bytes),
            Err(e) => {
                let e = match e {
                    ProtoError::BadTag | ProtoError::HandshakeOutOfOrder { .. }
                        if self.already_accepted(&msg.bytes) =>
                    {
                        ProtoError::Replayed
                    }
                    e => e,
                };
                return Err(self.die(e));
            }
        }
        self.pump().map_err(|e| self.die(e))
    }

    /// The transport keys of this session once its handshake completed (`None` before): what
    /// an adversary who steals the device's memory gets. They decrypt every transport message
    /// of the session, before and after (no rekeying).
    pub fn transport_keys(&self) -> Option<TransportKeys> {
        self.transport_keys.as_deref().cloned()
    }

    /// The next message for the peer, in order.
    pub fn poll_transmit(&mut self) -> Option<NoiseMessage> {
        self.transmit.pop_front()
    }

    /// The next event for the owner.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Whether the handshake has completed and the session is alive.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Transport(_))
    }

    /// Whether an error killed the session.
    pub fn is_dead(&self) -> bool {
        matches!(self.phase, Phase::Dead)
    }

    /// The full Noise protocol name.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Whether the pattern is one-way (`N`, `K`, `X`): only the initiator sends.
    pub fn is_one_way(&self) -> bool {
        self.one_way
    }

    /// Whether this party is the initiator.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    fn die(&mut self, e: ProtoError) -> ProtoError {
        tracing::debug!(protocol = %self.protocol, initiator = self.initiator, error = %e, "noise session died");
        self.phase = Phase::Dead;
        self.outgoing.clear();
        self.transmit.clear();
        self.events.push_back(SessionEvent::Failed(e.clone()));
        e
    }

    fn tail(bytes: &[u8]) -> &[u8] {
        &bytes[bytes.len().saturating_sub(REPLAY_TAIL)..]
    }

    fn remember(&mut self, bytes: &[u8]) {
        if self.accepted.len() == REPLAY_MEMORY {
            self.accepted.pop_front();
        }
        self.accepted.push_back(Tail::of(bytes));
    }

    fn already_accepted(&self, bytes: &[u8]) -> bool {
        let t = Self::tail(bytes);
        !t.is_empty() && self.accepted.contains(&Tail::of(bytes))
    }

    fn pump_or_die(&mut self) -> Result<(), ProtoError> {
        self.pump().map_err(|e| self.die(e))
    }

    /// Reads one message from the peer (no writing).
    fn read(&mut self, msg: &NoiseMessage) -> Result<(), ProtoError> {
        match (&mut self.phase, msg.kind) {
            (Phase::Dead, _) => Err(ProtoError::SessionDead),
            (Phase::Handshake(_), NoiseKind::Transport) => {
                Err(ProtoError::TransportBeforeHandshake)
            }
            (Phase::Transport(_), NoiseKind::Handshake) => Err(ProtoError::HandshakeOutOfOrder {
                expected: 0,
                got: msg.index,
            }),
            (Phase::Handshake(hs), NoiseKind::Handshake) => {
                let next = self.handshake_messages.saturating_add(1);
                if hs.is_my_turn() || msg.index != next {
                    return Err(ProtoError::HandshakeOutOfOrder {
                        expected: if hs.is_my_turn() {
                            next.saturating_add(1)
                        } else {
                            next
                        },
                        got: msg.index,
                    });
                }
                let mut payload = Zeroizing::new(vec![0u8; msg.bytes.len()]);
                let n = hs
                    .read_message(&msg.bytes, &mut payload)
                    .map_err(read_error)?;
                payload.truncate(n);
                self.handshake_messages = next;
                if let (Some(expected), Some(got)) =
                    (self.pin, hs.get_remote_static().and_then(to_key))
                {
                    self.pin = None;
                    if got != expected {
                        return Err(ProtoError::UnexpectedRemoteStatic { expected, got });
                    }
                }
                if Some(next) == self.early_index && !self.initiator {
                    // Complete the handshake first (one-way patterns end here) so the owner
                    // sees `HandshakeComplete` before the early plaintext.
                    self.pump()?;
                    self.events
                        .push_back(SessionEvent::Received(payload.to_vec()));
                } else if !payload.is_empty() {
                    return Err(ProtoError::MalformedNoise(
                        "non-empty handshake payload where this session expects none",
                    ));
                }
                Ok(())
            }
            (Phase::Transport(ts), NoiseKind::Transport) => {
                if msg.index != 0 {
                    return Err(ProtoError::MalformedNoise(
                        "transport message with a non-zero index",
                    ));
                }
                if self.one_way && self.initiator {
                    return Err(ProtoError::MalformedNoise(
                        "one-way pattern: the responder may not send",
                    ));
                }
                let mut payload = vec![0u8; msg.bytes.len()];
                let n = ts
                    .read_message(&msg.bytes, &mut payload)
                    .map_err(read_error)?;
                payload.truncate(n);
                self.events.push_back(SessionEvent::Received(payload));
                Ok(())
            }
        }
    }

    /// Writes whatever this party may write now: its handshake messages in turn, then (once
    /// established) every queued plaintext as a transport message.
    fn pump(&mut self) -> Result<(), ProtoError> {
        loop {
            match &mut self.phase {
                Phase::Dead => return Err(ProtoError::SessionDead),
                Phase::Handshake(hs) if hs.is_handshake_finished() => self.finish_handshake()?,
                Phase::Handshake(hs) => {
                    if !hs.is_my_turn() || (self.initiator && !self.started) {
                        return Ok(());
                    }
                    let index = self.handshake_messages.saturating_add(1);
                    let early = Some(index) == self.early_index;
                    let payload = if early {
                        self.outgoing.pop_front().unwrap_or_default()
                    } else {
                        Zeroizing::new(Vec::new())
                    };
                    let overhead = if self.protocol.contains("hfs") {
                        HANDSHAKE_OVERHEAD + HFS_OVERHEAD
                    } else {
                        HANDSHAKE_OVERHEAD
                    };
                    let mut buf = vec![0u8; (payload.len() + overhead).min(MAX_MESSAGE)];
                    let n = hs.write_message(&payload, &mut buf).map_err(|e| match e {
                        snow::Error::Input => {
                            ProtoError::ApiMisuse("early data too long for its handshake message")
                        }
                        e => ProtoError::Snow(e),
                    })?;
                    if early && !hs.was_write_payload_encrypted() {
                        // Debug, not warn: a scenario with early data does this in every session
                        // of such a pattern, by design; the report says what it exposed.
                        tracing::debug!(
                            protocol = %self.protocol,
                            "early data sent in clear: the pattern's first message has no key yet"
                        );
                    }
                    buf.truncate(n);
                    self.handshake_messages = index;
                    self.transmit.push_back(NoiseMessage {
                        kind: NoiseKind::Handshake,
                        index,
                        bytes: buf,
                    });
                }
                Phase::Transport(ts) => {
                    while let Some(plaintext) = self.outgoing.pop_front() {
                        let mut buf = vec![0u8; plaintext.len() + TAG_LEN];
                        let n = ts
                            .write_message(&plaintext, &mut buf)
                            .map_err(ProtoError::Snow)?;
                        buf.truncate(n);
                        self.transmit.push_back(NoiseMessage {
                            kind: NoiseKind::Transport,
                            index: 0,
                            bytes: buf,
                        });
                    }
                    return Ok(());
                }
            }
        }
    }

    fn finish_handshake(&mut self) -> Result<(), ProtoError> {
        let Phase::Handshake(mut hs) = core::mem::replace(&mut self.phase, Phase::Dead) else {
            return Err(ProtoError::SessionDead);
        };
        let remote_static = hs.get_remote_static().and_then(to_key);
        let (mut i2r, mut r2i) = hs.dangerously_get_raw_split();
        self.transport_keys = Some(Box::new(TransportKeys {
            initiator_to_responder: Zeroizing::new(i2r),
            responder_to_initiator: (!self.one_way).then(|| Zeroizing::new(r2i)),
        }));
        i2r.zeroize();
        r2i.zeroize();
        let ts = hs.into_transport_mode().map_err(ProtoError::Snow)?;
        self.phase = Phase::Transport(Box::new(ts));
        tracing::debug!(protocol = %self.protocol, initiator = self.initiator, "noise handshake complete");
        self.events
            .push_back(SessionEvent::HandshakeComplete { remote_static });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_letters_follow_the_pattern_names() {
        use HandshakePattern as P;
        assert_eq!(static_letters(P::XX), ('X', 'X'));
        assert_eq!(static_letters(P::I1K1), ('I', 'K'));
        assert_eq!(static_letters(P::NK1), ('N', 'K'));
        assert_eq!(static_letters(P::X), ('X', 'K'));
        assert!(remote_static_kind(P::IK, false) == RemoteStatic::Transmitted);
        assert!(remote_static_kind(P::IK, true) == RemoteStatic::PreMessage);
        assert!(remote_static_kind(P::NX1, false) == RemoteStatic::Absent);
        assert!(remote_static_kind(P::N, true) == RemoteStatic::PreMessage);
    }

    fn nn(initiator: bool, seed: u8) -> NoiseSession {
        NoiseSession::new(NoiseConfig {
            protocol: "Noise_NN_25519_ChaChaPoly_BLAKE2s".into(),
            initiator,
            local_static: None,
            remote_static: None,
            expected_remote_static: None,
            psk: None,
            prologue: vec![],
            early_data: EarlyData::Off,
            rng_seed: [seed; 32],
        })
        .expect("NN session")
    }

    /// Runs an NN handshake and one transport message; returns (responder, that message).
    fn established() -> (NoiseSession, NoiseMessage) {
        let t = Timestamp::ZERO;
        let (mut i, mut r) = (nn(true, 1), nn(false, 2));
        i.send(t, b"hello".to_vec()).expect("send");
        let m1 = i.poll_transmit().expect("message 1");
        r.handle_message(t, &m1).expect("read 1");
        let m2 = r.poll_transmit().expect("message 2");
        i.handle_message(t, &m2).expect("read 2");
        let data = i.poll_transmit().expect("transport");
        (r, data)
    }

    #[test]
    fn a_replayed_message_fails_as_a_replay_and_a_flipped_one_as_a_bad_tag() {
        let t = Timestamp::ZERO;
        let (mut r, data) = established();
        r.handle_message(t, &data).expect("first copy");
        let err = r.handle_message(t, &data).expect_err("second copy");
        assert_eq!(err, ProtoError::Replayed);
        assert_eq!(err.failure_kind(), FailureKind::Replay);

        let (mut r, mut data) = established();
        data.bytes[3] ^= 1;
        let err = r.handle_message(t, &data).expect_err("flipped");
        assert_eq!(err.failure_kind(), FailureKind::BadTag);
        assert!(r.is_dead());
    }

    #[test]
    fn remembered_tails_are_eight_bytes_of_the_last_bytes_and_their_length() {
        // A remembered message costs 8 bytes in the ring, no allocation.
        assert!(!core::mem::needs_drop::<Tail>());
        assert_eq!(core::mem::size_of::<Tail>(), 8);
        let long: Vec<u8> = (0..100).collect();
        // Only the last REPLAY_TAIL bytes count...
        assert!(Tail::of(&long) == Tail::of(&long[100 - REPLAY_TAIL..]));
        let mut head = long.clone();
        head[0] ^= 1;
        assert!(Tail::of(&head) == Tail::of(&long));
        // ...every one of them does, and so does a short message's length.
        for i in 100 - REPLAY_TAIL..100 {
            let mut other = long.clone();
            other[i] ^= 1;
            assert!(Tail::of(&other) != Tail::of(&long), "byte {i}");
        }
        assert!(Tail::of(b"abc") != Tail::of(b"abc\0"));
        assert!(Tail::of(b"abc") != Tail::of(b"bc"));
    }

    #[test]
    fn config_debug_redacts_seed_and_keys() {
        let cfg = NoiseConfig {
            protocol: "Noise_NN_25519_ChaChaPoly_BLAKE2s".into(),
            initiator: true,
            local_static: Some(StaticKeypair::from_private([0x11; 32])),
            remote_static: None,
            expected_remote_static: None,
            psk: Some(Psk::new([0x22; 32])),
            prologue: vec![],
            early_data: EarlyData::Off,
            rng_seed: [0x33; 32],
        };
        let s = format!("{cfg:?}");
        assert!(!s.contains("51, 51") && !s.contains("3333"), "{s}");
        assert!(!s.contains("17, 17") && !s.contains("34, 34"), "{s}");
    }
}
