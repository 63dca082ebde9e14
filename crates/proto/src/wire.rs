//! Encoders and decoders for the UDP payloads of `docs/wire-format.md`: the one implementation
//! shared by the carrier model, the endpoints and the adversary's parser.
//!
//! Every type has the same three functions:
//!
//! * `encode(&self, out: &mut Vec<u8>) -> Result<(), WireError>` appends the encoding to `out`.
//!   It fails (leaving `out` exactly as it was) when a `str8` field is longer than 255 bytes or a
//!   `bytes16` field longer than 65 535 bytes: the encoder never truncates silently.
//! * `to_bytes(&self) -> Result<Vec<u8>, WireError>`: `encode` into a fresh vector.
//! * `decode(bytes: &[u8]) -> Result<Self, WireError>` parses exactly one value from all of
//!   `bytes`. It rejects trailing bytes, short input, unknown tags and invalid UTF-8 with a
//!   [`WireError`] naming the byte offset, the field and what was expected. It never panics.
//!
//! All integers are big-endian. Decoding is pure: the same bytes always give the same value.
//!
//! **Borrowed views.** [`Frame`], [`AppPdu`] (and the four PDUs it wraps) and [`LiRecord`] also
//! have a borrowing twin ([`FrameRef`], [`AppPduRef`], [`SmsPduRef`], [`TunnelPduRef`],
//! [`OttEnvelopeRef`], [`CallPduRef`], [`LiRecordRef`]) whose strings are `&str` and whose byte
//! fields are `&[u8]` pointing into the decoded buffer: `XRef::decode(bytes)` allocates nothing,
//! for readers that keep the buffer anyway (the adversary's observation table keeps captured
//! packets, not copies of their fields). There is one decoder per format: the owned `decode` is
//! the borrowed one followed by `into_owned`, so both accept exactly the same bytes, with the
//! same errors, and give equal values. `X::borrowed()` views an owned value the same way.

use core::fmt;

use simcore::Timestamp;

/// UDP port of [`Frame`]s: the hop-by-hop reliable layer carrying every application PDU.
pub const FRAME_PORT: u16 = 42420;
/// UDP port of [`LiRecord`]s: lawful-intercept delivery to a mediation node.
pub const LI_PORT: u16 = 42421;

/// UDP port of [`MediaPdu`]s: voice media frames, one datagram each, not retransmitted.
pub const MEDIA_PORT: u16 = 42422;

/// The longest `str8` field: its length is one byte.
pub const MAX_STR8: usize = u8::MAX as usize;
/// The longest `bytes16` field: its length is a big-endian `u16`.
pub const MAX_BYTES16: usize = u16::MAX as usize;

const FRAME_MAGIC: [u8; 2] = *b"WT";
const FRAME_VERSION: u8 = 1;
const FRAME_DATA: u8 = 0x01;
const FRAME_ACK: u8 = 0x02;
const PDU_SMS: u8 = 0x10;
const PDU_TUNNEL: u8 = 0x20;
const PDU_OTT: u8 = 0x30;
const PDU_CALL: u8 = 0x40;
/// "WV": not "WM", which Wireshark's R-GOOSE heuristic takes for an ISO CLTP unit-data header
/// (length 0x57, type 0x4_) on any UDP port, and then reports as malformed (docs/wire-format.md).
const MEDIA_MAGIC: [u8; 2] = *b"WV";
const MEDIA_VERSION: u8 = 1;
const LI_MAGIC: [u8; 2] = *b"X3";

/// Bytes that could not be encoded or decoded.
///
/// Decoding errors blame whoever produced the bytes (the peer, or the path that corrupted them);
/// encoding errors blame the caller, who handed in a field longer than the format can carry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input does not match the format at `offset` (the producer of the bytes is at fault).
    #[error("at byte {offset} (field `{field}`): expected {expected}, found {found}")]
    Malformed {
        /// Byte offset, from the start of the decoded buffer, where the problem starts.
        offset: usize,
        /// The field of the format being read.
        field: &'static str,
        /// What the format requires there.
        expected: &'static str,
        /// What was there instead.
        found: String,
    },
    /// A field is too long for its length prefix (the caller of `encode` is at fault).
    #[error("field `{field}` is {len} bytes, more than the {max} its length prefix can express")]
    TooLong {
        /// The field that does not fit.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length the format allows.
        max: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A UDP payload on [`FRAME_PORT`]: one frame of the hop-by-hop reliable layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A numbered application PDU (an encoded [`AppPdu`]).
    Data {
        /// Per-peer sequence number, from 0.
        seq: u32,
        /// The PDU carried, at most 65 535 bytes.
        payload: Vec<u8>,
    },
    /// An acknowledgement of one DATA frame.
    Ack {
        /// Cumulative: every `seq < next_expected` was received.
        next_expected: u32,
        /// Selective: the DATA frame this ACK answers.
        seq: u32,
    },
}

/// Whether an SMS PDU goes from a handset to the SMS centre or the other way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SmsKind {
    /// Mobile-originated: handset to SMS centre (wire value 0).
    Submit,
    /// Mobile-terminated: SMS centre to handset (wire value 1).
    Deliver,
}

/// An SMS, in clear, as the carrier's SMS centre handles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsPdu {
    /// Submit or deliver.
    pub kind: SmsKind,
    /// Message reference chosen by the sender.
    pub msg_ref: u32,
    /// Sender MSISDN (at most 255 bytes).
    pub from: String,
    /// Recipient MSISDN (at most 255 bytes).
    pub to: String,
    /// Virtual time at the sender when it was sent.
    pub sent_at: Timestamp,
    /// The message text (at most 65 535 bytes of UTF-8).
    pub text: String,
}

/// Whether a Noise message belongs to the handshake or to the transport phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoiseKind {
    /// A handshake message (wire value 0).
    Handshake,
    /// A transport message (wire value 1).
    Transport,
}

/// A Noise_NK message to or from a carrier packet gateway or an OTT server; its plaintext is
/// itself an encoded [`AppPdu`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelPdu {
    /// Handshake or transport.
    pub kind: NoiseKind,
    /// The Noise message exactly as snow wrote it (at most 65 535 bytes).
    pub noise: Vec<u8>,
}

/// An end-to-end encrypted app message, relayed by an OTT server by `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OttEnvelope {
    /// Sender account (its MSISDN, at most 255 bytes).
    pub from: String,
    /// Recipient account (at most 255 bytes).
    pub to: String,
    /// End-to-end session id, chosen by the initiator.
    pub session: u64,
    /// Handshake or transport.
    pub kind: NoiseKind,
    /// Handshake: message number from 1; transport: 0.
    pub index: u8,
    /// Handshake: the full Noise protocol name; transport: empty (at most 255 bytes).
    pub protocol: String,
    /// The Noise message exactly as snow wrote it (at most 65 535 bytes).
    pub body: Vec<u8>,
}

impl OttEnvelope {
    /// Whether this envelope belongs to a Signal-style session: such envelopes carry a protocol
    /// name starting with `signal` on every message (Noise envelopes name their protocol only
    /// in handshake messages). The one place that convention is read.
    pub fn is_signal(&self) -> bool {
        is_signal_protocol(&self.protocol)
    }
}

fn is_signal_protocol(protocol: &str) -> bool {
    protocol.starts_with("signal")
}

/// A call-signalling message (SIP-like, much simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallKind {
    /// The caller asks for a call (wire value 1).
    Invite,
    /// The callee's phone is ringing (wire value 2).
    Ringing,
    /// The callee answered (wire value 3).
    Answer,
    /// Either party hung up, or a radio link was lost (wire value 4).
    Bye,
    /// The callee is busy or declined (wire value 5).
    Busy,
    /// The caller gave up before an answer (wire value 6).
    Cancel,
    /// OTT calls only: a later Noise handshake message of the call's end-to-end session
    /// (wire value 7).
    Key,
}

/// Which network carries a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallNetwork {
    /// Carrier voice, through the carriers' switching centres; media in clear (wire value 0).
    Carrier,
    /// An OTT app's call, through the OTT server; media end-to-end encrypted (wire value 1).
    Ott,
}

/// Why a call ended (in a BYE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ByeCause {
    /// Hung up (wire value 0); also the value in every non-BYE message.
    Normal,
    /// The sender's radio link was lost (wire value 1).
    RadioLoss,
}

/// Call signalling between a handset and its switching centre (carrier voice) or the OTT
/// server (OTT calls), and between switching centres.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallPdu {
    /// The message.
    pub kind: CallKind,
    /// Carrier voice or OTT call.
    pub network: CallNetwork,
    /// The call id, chosen by the caller; the same in every message and record of the call.
    pub call_id: u64,
    /// Caller MSISDN (at most 255 bytes).
    pub from: String,
    /// Callee MSISDN (at most 255 bytes).
    pub to: String,
    /// BYE: why; otherwise [`ByeCause::Normal`].
    pub cause: ByeCause,
    /// OTT calls: a Noise handshake message of the call's end-to-end session (INVITE: message
    /// 1; KEY: later ones); otherwise empty (at most 65 535 bytes).
    pub body: Vec<u8>,
}

/// A UDP payload on [`MEDIA_PORT`]: one voice media packet (RTP-like).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPdu {
    /// The call it belongs to.
    pub call_id: u64,
    /// Frame number in this direction, from 0.
    pub seq: u32,
    /// Whether `payload` is end-to-end encrypted (ChaCha20-Poly1305, explicit nonce `seq`).
    pub encrypted: bool,
    /// The codec frame in clear, or its ciphertext and tag (at most 65 535 bytes).
    pub payload: Vec<u8>,
}

/// An application PDU: the payload of a DATA [`Frame`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppPdu {
    /// An SMS in clear (tag 0x10).
    Sms(SmsPdu),
    /// A carrier or server tunnel message (tag 0x20).
    Tunnel(TunnelPdu),
    /// An end-to-end app envelope (tag 0x30).
    Ott(OttEnvelope),
    /// Call signalling (tag 0x40).
    Call(CallPdu),
}

// ---------------------------------------------------------------------------------------------
// Borrowed views: the same values, their strings and byte fields pointing into the decoded buffer
// ---------------------------------------------------------------------------------------------

/// A [`Frame`] whose DATA payload points into the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameRef<'a> {
    /// A numbered application PDU (an encoded [`AppPdu`]).
    Data {
        /// Per-peer sequence number, from 0.
        seq: u32,
        /// The PDU carried.
        payload: &'a [u8],
    },
    /// An acknowledgement of one DATA frame.
    Ack {
        /// Cumulative: every `seq < next_expected` was received.
        next_expected: u32,
        /// Selective: the DATA frame this ACK answers.
        seq: u32,
    },
}

/// An [`SmsPdu`] borrowed from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmsPduRef<'a> {
    /// Submit or deliver.
    pub kind: SmsKind,
    /// Message reference chosen by the sender.
    pub msg_ref: u32,
    /// Sender MSISDN.
    pub from: &'a str,
    /// Recipient MSISDN.
    pub to: &'a str,
    /// Virtual time at the sender when it was sent.
    pub sent_at: Timestamp,
    /// The message text.
    pub text: &'a str,
}

/// A [`TunnelPdu`] borrowed from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelPduRef<'a> {
    /// Handshake or transport.
    pub kind: NoiseKind,
    /// The Noise message exactly as snow wrote it.
    pub noise: &'a [u8],
}

/// An [`OttEnvelope`] borrowed from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OttEnvelopeRef<'a> {
    /// Sender account (empty with sealed sender).
    pub from: &'a str,
    /// Recipient account.
    pub to: &'a str,
    /// End-to-end session id, chosen by the initiator.
    pub session: u64,
    /// Handshake or transport.
    pub kind: NoiseKind,
    /// Handshake: message number from 1; transport: 0.
    pub index: u8,
    /// Handshake: the full Noise protocol name; transport: empty.
    pub protocol: &'a str,
    /// The Noise message exactly as snow wrote it.
    pub body: &'a [u8],
}

impl OttEnvelopeRef<'_> {
    /// Whether this envelope belongs to a Signal-style session ([`OttEnvelope::is_signal`]).
    pub fn is_signal(&self) -> bool {
        is_signal_protocol(self.protocol)
    }
}

/// A [`CallPdu`] borrowed from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallPduRef<'a> {
    /// The message.
    pub kind: CallKind,
    /// Carrier voice or OTT call.
    pub network: CallNetwork,
    /// The call id.
    pub call_id: u64,
    /// Caller MSISDN.
    pub from: &'a str,
    /// Callee MSISDN.
    pub to: &'a str,
    /// BYE: why; otherwise [`ByeCause::Normal`].
    pub cause: ByeCause,
    /// OTT calls: a Noise handshake message; otherwise empty.
    pub body: &'a [u8],
}

/// An [`AppPdu`] borrowed from the bytes it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppPduRef<'a> {
    /// An SMS in clear (tag 0x10).
    Sms(SmsPduRef<'a>),
    /// A carrier or server tunnel message (tag 0x20).
    Tunnel(TunnelPduRef<'a>),
    /// An end-to-end app envelope (tag 0x30).
    Ott(OttEnvelopeRef<'a>),
    /// Call signalling (tag 0x40).
    Call(CallPduRef<'a>),
}

/// An [`LiRecord`] borrowed from the bytes it was decoded from: a CC record's intercepted
/// packet is the end of those bytes (a record has no trailing bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiRecordRef<'a> {
    /// IRI or CC.
    pub kind: LiKind,
    /// Lawful-interception identifier of the warrant.
    pub liid: &'a str,
    /// Links CC to the IRI of the same communication.
    pub correlation: u64,
    /// Virtual time at the point of interception.
    pub timestamp: Timestamp,
    /// From or to the target.
    pub direction: LiDirection,
    /// IRI: an encoded [`Iri`]; CC: the intercepted IPv4 packet.
    pub payload: &'a [u8],
}

/// Intercept-related information or content of communication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LiKind {
    /// Intercept-related information: metadata, payload is an [`Iri`] (wire value 1).
    Iri,
    /// Content of communication: payload is the intercepted IPv4 packet (wire value 2).
    Cc,
}

/// Which way an intercepted communication went, relative to the warrant target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LiDirection {
    /// Sent by the target (wire value 0).
    FromTarget,
    /// Sent to the target (wire value 1).
    ToTarget,
}

/// A UDP payload on [`LI_PORT`]: one lawful-intercept record (X2/X3 style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiRecord {
    /// IRI or CC.
    pub kind: LiKind,
    /// Lawful-interception identifier of the warrant (at most 255 bytes).
    pub liid: String,
    /// Links CC to the IRI of the same communication.
    pub correlation: u64,
    /// Virtual time at the point of interception.
    pub timestamp: Timestamp,
    /// From or to the target.
    pub direction: LiDirection,
    /// IRI: an encoded [`Iri`]; CC: the intercepted IPv4 packet (at most 65 535 bytes).
    pub payload: Vec<u8>,
}

/// The event an IRI record reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IriEvent {
    /// A communication began (wire value 1).
    Begin,
    /// A communication continues (wire value 2).
    Continue,
    /// A communication ended (wire value 3).
    End,
    /// A one-shot event such as an SMS (wire value 4).
    Report,
}

/// The service an IRI record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IriService {
    /// Short messages (wire value 1).
    Sms,
    /// Packet data (wire value 2).
    Data,
    /// Carrier voice calls (wire value 3).
    Voice,
}

/// Intercept-related information: who talked to whom, when, where and how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iri {
    /// The event reported.
    pub event: IriEvent,
    /// The warrant target's MSISDN (at most 255 bytes).
    pub target: String,
    /// The other party as the carrier sees it: MSISDN or IPv4 address (at most 255 bytes).
    pub other: String,
    /// SMS, data or voice.
    pub service: IriService,
    /// Serving cell of the target.
    pub cell: u32,
    /// Bytes of the communication.
    pub size: u32,
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Appends to a caller's buffer; on error the buffer is rolled back to where it started.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        Writer { out, start }
    }

    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn raw(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    fn str8(&mut self, field: &'static str, v: &str) -> Result<(), WireError> {
        let len = u8::try_from(v.len()).map_err(|_| WireError::TooLong {
            field,
            len: v.len(),
            max: MAX_STR8,
        })?;
        self.u8(len);
        self.raw(v.as_bytes());
        Ok(())
    }

    fn bytes16(&mut self, field: &'static str, v: &[u8]) -> Result<(), WireError> {
        let len = u16::try_from(v.len()).map_err(|_| WireError::TooLong {
            field,
            len: v.len(),
            max: MAX_BYTES16,
        })?;
        self.u16(len);
        self.raw(v);
        Ok(())
    }

    /// Runs `body`; on error, truncates the buffer back to where this writer started.
    fn run(
        out: &'a mut Vec<u8>,
        body: impl FnOnce(&mut Writer<'a>) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let mut w = Writer::new(out);
        let r = body(&mut w);
        if r.is_err() {
            let start = w.start;
            w.out.truncate(start);
        }
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// A cursor over the input that turns every shortfall into a [`WireError`] naming the field.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn err(
        &self,
        offset: usize,
        field: &'static str,
        expected: &'static str,
        found: String,
    ) -> WireError {
        WireError::Malformed {
            offset,
            field,
            expected,
            found,
        }
    }

    fn take(
        &mut self,
        n: usize,
        field: &'static str,
        expected: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let left = self.buf.len().saturating_sub(self.pos);
        if left < n {
            return Err(self.err(
                self.pos,
                field,
                expected,
                format!("end of input ({n} bytes needed, {left} left)"),
            ));
        }
        let s = self.buf.get(self.pos..self.pos + n).unwrap_or_default();
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(
        &mut self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<[u8; N], WireError> {
        let s = self.take(N, field, expected)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field, "a u8")?[0])
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field, "a big-endian u32")?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field, "a big-endian u64")?))
    }

    /// Reads a one-byte code and maps it through `decode`, naming the allowed values on failure.
    fn code<T>(
        &mut self,
        field: &'static str,
        expected: &'static str,
        decode: impl FnOnce(u8) -> Option<T>,
    ) -> Result<T, WireError> {
        let at = self.pos;
        let v = self.array::<1>(field, expected)?[0];
        decode(v).ok_or_else(|| self.err(at, field, expected, format!("{v:#04x}")))
    }

    fn magic(&mut self, magic: [u8; 2], expected: &'static str) -> Result<(), WireError> {
        let got: [u8; 2] = self.array("magic", expected)?;
        if got != magic {
            return Err(self.err(
                0,
                "magic",
                expected,
                format!("{:#04x} {:#04x}", got[0], got[1]),
            ));
        }
        Ok(())
    }

    fn str8(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        const EXPECTED: &str = "a length-prefixed UTF-8 string";
        let at = self.pos;
        let len = self.array::<1>(field, EXPECTED)?[0];
        let bytes = self.take(usize::from(len), field, EXPECTED)?;
        utf8(bytes, at, field, EXPECTED)
    }

    fn bytes16(
        &mut self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<&'a [u8], WireError> {
        let len = u16::from_be_bytes(self.array(field, expected)?);
        self.take(usize::from(len), field, expected)
    }

    fn text16(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        const EXPECTED: &str = "length-prefixed (u16) UTF-8 text";
        let at = self.pos;
        let bytes = self.bytes16(field, EXPECTED)?;
        utf8(bytes, at, field, EXPECTED)
    }

    fn finish(self) -> Result<(), WireError> {
        let left = self.buf.len().saturating_sub(self.pos);
        if left != 0 {
            return Err(self.err(
                self.pos,
                "end",
                "end of input",
                format!("{left} trailing byte{}", if left == 1 { "" } else { "s" }),
            ));
        }
        Ok(())
    }
}

fn utf8<'a>(
    bytes: &'a [u8],
    at: usize,
    field: &'static str,
    expected: &'static str,
) -> Result<&'a str, WireError> {
    core::str::from_utf8(bytes).map_err(|_| WireError::Malformed {
        offset: at,
        field,
        expected,
        found: "invalid UTF-8".to_owned(),
    })
}

/// Implements `to_bytes` and `decode` on top of `encode_into` / `decode_from` for a type.
macro_rules! wire_type {
    ($t:ty) => {
        impl $t {
            /// Appends the encoding of `self` to `out`; on error `out` is left unchanged.
            ///
            /// # Errors
            /// [`WireError::TooLong`] if a string exceeds 255 bytes or a byte field 65 535 bytes.
            pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
                Writer::run(out, |w| self.encode_into(w))
            }

            /// The encoding of `self` in a fresh vector.
            ///
            /// # Errors
            /// [`WireError::TooLong`] if a string exceeds 255 bytes or a byte field 65 535 bytes.
            pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
                let mut out = Vec::new();
                self.encode(&mut out)?;
                Ok(out)
            }

            /// Parses exactly one value from all of `bytes`.
            ///
            /// # Errors
            /// [`WireError::Malformed`] naming the offset, field and expectation of the first
            /// problem: short input, unknown tag, invalid UTF-8 or trailing bytes.
            pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
                let mut r = Reader::new(bytes);
                let v = Self::decode_from(&mut r)?;
                r.finish()?;
                Ok(v)
            }
        }
    };
}

/// Implements `decode` for a borrowed view on top of its `decode_from`.
macro_rules! borrowed_wire_type {
    ($t:ident, $owned:ident) => {
        impl<'a> $t<'a> {
            /// Parses exactly one value from all of `bytes`, its strings and byte fields
            /// pointing into `bytes` (nothing is allocated).
            ///
            /// # Errors
            #[doc = concat!("Exactly those of [`", stringify!($owned), "::decode`] on the same bytes.")]
            pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
                let mut r = Reader::new(bytes);
                let v = Self::decode_from(&mut r)?;
                r.finish()?;
                Ok(v)
            }
        }
    };
}

borrowed_wire_type!(FrameRef, Frame);
borrowed_wire_type!(AppPduRef, AppPdu);
borrowed_wire_type!(SmsPduRef, SmsPdu);
borrowed_wire_type!(TunnelPduRef, TunnelPdu);
borrowed_wire_type!(OttEnvelopeRef, OttEnvelope);
borrowed_wire_type!(CallPduRef, CallPdu);
borrowed_wire_type!(LiRecordRef, LiRecord);

wire_type!(Frame);
wire_type!(AppPdu);
wire_type!(SmsPdu);
wire_type!(TunnelPdu);
wire_type!(OttEnvelope);
wire_type!(LiRecord);
wire_type!(Iri);
wire_type!(CallPdu);
wire_type!(MediaPdu);

impl Frame {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.raw(&FRAME_MAGIC);
        w.u8(FRAME_VERSION);
        match self {
            Frame::Data { seq, payload } => {
                w.u8(FRAME_DATA);
                w.u32(*seq);
                w.bytes16("payload", payload)
            }
            Frame::Ack { next_expected, seq } => {
                w.u8(FRAME_ACK);
                w.u32(*next_expected);
                w.u32(*seq);
                Ok(())
            }
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(FrameRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its payload.
    pub fn borrowed(&self) -> FrameRef<'_> {
        match self {
            Frame::Data { seq, payload } => FrameRef::Data { seq: *seq, payload },
            Frame::Ack { next_expected, seq } => FrameRef::Ack {
                next_expected: *next_expected,
                seq: *seq,
            },
        }
    }
}

impl<'a> FrameRef<'a> {
    /// The owned [`Frame`] with the same fields.
    pub fn into_owned(self) -> Frame {
        match self {
            FrameRef::Data { seq, payload } => Frame::Data {
                seq,
                payload: payload.to_vec(),
            },
            FrameRef::Ack { next_expected, seq } => Frame::Ack { next_expected, seq },
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        r.magic(FRAME_MAGIC, "the frame magic \"WT\"")?;
        r.code("version", "frame version 1", |v| {
            (v == FRAME_VERSION).then_some(())
        })?;
        let ty = r.code(
            "type",
            "frame type 0x01 (DATA) or 0x02 (ACK)",
            |v| match v {
                FRAME_DATA | FRAME_ACK => Some(v),
                _ => None,
            },
        )?;
        if ty == FRAME_DATA {
            let seq = r.u32("seq")?;
            let payload = r.bytes16("payload", "a length-prefixed (u16) payload")?;
            Ok(FrameRef::Data { seq, payload })
        } else {
            let next_expected = r.u32("next_expected")?;
            let seq = r.u32("seq")?;
            Ok(FrameRef::Ack { next_expected, seq })
        }
    }
}

impl SmsKind {
    fn code(self) -> u8 {
        match self {
            SmsKind::Submit => 0,
            SmsKind::Deliver => 1,
        }
    }
    fn from_code(v: u8) -> Option<Self> {
        match v {
            0 => Some(SmsKind::Submit),
            1 => Some(SmsKind::Deliver),
            _ => None,
        }
    }
}

impl NoiseKind {
    fn code(self) -> u8 {
        match self {
            NoiseKind::Handshake => 0,
            NoiseKind::Transport => 1,
        }
    }
    fn from_code(v: u8) -> Option<Self> {
        match v {
            0 => Some(NoiseKind::Handshake),
            1 => Some(NoiseKind::Transport),
            _ => None,
        }
    }
}

impl fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoiseKind::Handshake => "handshake",
            NoiseKind::Transport => "transport",
        })
    }
}

const NOISE_KIND: &str = "0 (handshake) or 1 (transport)";

impl SmsPdu {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u8(self.kind.code());
        w.u32(self.msg_ref);
        w.str8("from", &self.from)?;
        w.str8("to", &self.to)?;
        w.u64(self.sent_at.as_nanos());
        w.bytes16("text", self.text.as_bytes())
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(SmsPduRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its strings.
    pub fn borrowed(&self) -> SmsPduRef<'_> {
        SmsPduRef {
            kind: self.kind,
            msg_ref: self.msg_ref,
            from: &self.from,
            to: &self.to,
            sent_at: self.sent_at,
            text: &self.text,
        }
    }
}

impl<'a> SmsPduRef<'a> {
    /// The owned [`SmsPdu`] with the same fields.
    pub fn into_owned(self) -> SmsPdu {
        SmsPdu {
            kind: self.kind,
            msg_ref: self.msg_ref,
            from: self.from.to_owned(),
            to: self.to.to_owned(),
            sent_at: self.sent_at,
            text: self.text.to_owned(),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        Ok(SmsPduRef {
            kind: r.code("kind", "0 (submit) or 1 (deliver)", SmsKind::from_code)?,
            msg_ref: r.u32("msg_ref")?,
            from: r.str8("from")?,
            to: r.str8("to")?,
            sent_at: Timestamp::from_nanos(r.u64("sent_at")?),
            text: r.text16("text")?,
        })
    }
}

impl TunnelPdu {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u8(self.kind.code());
        w.bytes16("noise", &self.noise)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(TunnelPduRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its Noise message.
    pub fn borrowed(&self) -> TunnelPduRef<'_> {
        TunnelPduRef {
            kind: self.kind,
            noise: &self.noise,
        }
    }
}

impl<'a> TunnelPduRef<'a> {
    /// The owned [`TunnelPdu`] with the same fields.
    pub fn into_owned(self) -> TunnelPdu {
        TunnelPdu {
            kind: self.kind,
            noise: self.noise.to_vec(),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        Ok(TunnelPduRef {
            kind: r.code("kind", NOISE_KIND, NoiseKind::from_code)?,
            noise: r.bytes16("noise", "a length-prefixed (u16) Noise message")?,
        })
    }
}

impl OttEnvelope {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.str8("from", &self.from)?;
        w.str8("to", &self.to)?;
        w.u64(self.session);
        w.u8(self.kind.code());
        w.u8(self.index);
        w.str8("protocol", &self.protocol)?;
        w.bytes16("body", &self.body)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(OttEnvelopeRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its strings and body.
    pub fn borrowed(&self) -> OttEnvelopeRef<'_> {
        OttEnvelopeRef {
            from: &self.from,
            to: &self.to,
            session: self.session,
            kind: self.kind,
            index: self.index,
            protocol: &self.protocol,
            body: &self.body,
        }
    }
}

impl<'a> OttEnvelopeRef<'a> {
    /// The owned [`OttEnvelope`] with the same fields.
    pub fn into_owned(self) -> OttEnvelope {
        OttEnvelope {
            from: self.from.to_owned(),
            to: self.to.to_owned(),
            session: self.session,
            kind: self.kind,
            index: self.index,
            protocol: self.protocol.to_owned(),
            body: self.body.to_vec(),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        Ok(OttEnvelopeRef {
            from: r.str8("from")?,
            to: r.str8("to")?,
            session: r.u64("session")?,
            kind: r.code("kind", NOISE_KIND, NoiseKind::from_code)?,
            index: r.u8("index")?,
            protocol: r.str8("protocol")?,
            body: r.bytes16("body", "a length-prefixed (u16) Noise message")?,
        })
    }
}

impl AppPdu {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        match self {
            AppPdu::Sms(p) => {
                w.u8(PDU_SMS);
                p.encode_into(w)
            }
            AppPdu::Tunnel(p) => {
                w.u8(PDU_TUNNEL);
                p.encode_into(w)
            }
            AppPdu::Ott(p) => {
                w.u8(PDU_OTT);
                p.encode_into(w)
            }
            AppPdu::Call(p) => {
                w.u8(PDU_CALL);
                p.encode_into(w)
            }
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(AppPduRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its strings and byte fields.
    pub fn borrowed(&self) -> AppPduRef<'_> {
        match self {
            AppPdu::Sms(p) => AppPduRef::Sms(p.borrowed()),
            AppPdu::Tunnel(p) => AppPduRef::Tunnel(p.borrowed()),
            AppPdu::Ott(p) => AppPduRef::Ott(p.borrowed()),
            AppPdu::Call(p) => AppPduRef::Call(p.borrowed()),
        }
    }
}

impl<'a> AppPduRef<'a> {
    /// The owned [`AppPdu`] with the same fields.
    pub fn into_owned(self) -> AppPdu {
        match self {
            AppPduRef::Sms(p) => AppPdu::Sms(p.into_owned()),
            AppPduRef::Tunnel(p) => AppPdu::Tunnel(p.into_owned()),
            AppPduRef::Ott(p) => AppPdu::Ott(p.into_owned()),
            AppPduRef::Call(p) => AppPdu::Call(p.into_owned()),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        let tag = r.code(
            "tag",
            "PDU tag 0x10 (SMS), 0x20 (tunnel), 0x30 (OTT) or 0x40 (call)",
            |v| matches!(v, PDU_SMS | PDU_TUNNEL | PDU_OTT | PDU_CALL).then_some(v),
        )?;
        Ok(match tag {
            PDU_SMS => AppPduRef::Sms(SmsPduRef::decode_from(r)?),
            PDU_TUNNEL => AppPduRef::Tunnel(TunnelPduRef::decode_from(r)?),
            PDU_CALL => AppPduRef::Call(CallPduRef::decode_from(r)?),
            _ => AppPduRef::Ott(OttEnvelopeRef::decode_from(r)?),
        })
    }
}

impl CallKind {
    fn code(self) -> u8 {
        match self {
            CallKind::Invite => 1,
            CallKind::Ringing => 2,
            CallKind::Answer => 3,
            CallKind::Bye => 4,
            CallKind::Busy => 5,
            CallKind::Cancel => 6,
            CallKind::Key => 7,
        }
    }
    fn from_code(v: u8) -> Option<Self> {
        Some(match v {
            1 => CallKind::Invite,
            2 => CallKind::Ringing,
            3 => CallKind::Answer,
            4 => CallKind::Bye,
            5 => CallKind::Busy,
            6 => CallKind::Cancel,
            7 => CallKind::Key,
            _ => return None,
        })
    }

    /// The message's name in capitals, e.g. `"INVITE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Invite => "INVITE",
            CallKind::Ringing => "RINGING",
            CallKind::Answer => "ANSWER",
            CallKind::Bye => "BYE",
            CallKind::Busy => "BUSY",
            CallKind::Cancel => "CANCEL",
            CallKind::Key => "KEY",
        }
    }
}

impl CallPdu {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u8(self.kind.code());
        w.u8(match self.network {
            CallNetwork::Carrier => 0,
            CallNetwork::Ott => 1,
        });
        w.u64(self.call_id);
        w.str8("from", &self.from)?;
        w.str8("to", &self.to)?;
        w.u8(match self.cause {
            ByeCause::Normal => 0,
            ByeCause::RadioLoss => 1,
        });
        w.bytes16("body", &self.body)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(CallPduRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its strings and body.
    pub fn borrowed(&self) -> CallPduRef<'_> {
        CallPduRef {
            kind: self.kind,
            network: self.network,
            call_id: self.call_id,
            from: &self.from,
            to: &self.to,
            cause: self.cause,
            body: &self.body,
        }
    }
}

impl<'a> CallPduRef<'a> {
    /// The owned [`CallPdu`] with the same fields.
    pub fn into_owned(self) -> CallPdu {
        CallPdu {
            kind: self.kind,
            network: self.network,
            call_id: self.call_id,
            from: self.from.to_owned(),
            to: self.to.to_owned(),
            cause: self.cause,
            body: self.body.to_vec(),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        Ok(CallPduRef {
            kind: r.code(
                "kind",
                "a call message 1 (INVITE) to 7 (KEY)",
                CallKind::from_code,
            )?,
            network: r.code("network", "0 (carrier) or 1 (OTT)", |v| match v {
                0 => Some(CallNetwork::Carrier),
                1 => Some(CallNetwork::Ott),
                _ => None,
            })?,
            call_id: r.u64("call_id")?,
            from: r.str8("from")?,
            to: r.str8("to")?,
            cause: r.code("cause", "0 (normal) or 1 (radio loss)", |v| match v {
                0 => Some(ByeCause::Normal),
                1 => Some(ByeCause::RadioLoss),
                _ => None,
            })?,
            body: r.bytes16("body", "a length-prefixed (u16) Noise message")?,
        })
    }
}

impl MediaPdu {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.raw(&MEDIA_MAGIC);
        w.u8(MEDIA_VERSION);
        w.u64(self.call_id);
        w.u32(self.seq);
        w.u8(u8::from(self.encrypted));
        w.bytes16("payload", &self.payload)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        r.magic(MEDIA_MAGIC, "the media magic \"WV\"")?;
        r.code("version", "media version 1", |v| {
            (v == MEDIA_VERSION).then_some(())
        })?;
        Ok(MediaPdu {
            call_id: r.u64("call_id")?,
            seq: r.u32("seq")?,
            encrypted: r.code("encrypted", "0 (clear) or 1 (encrypted)", |v| match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            })?,
            payload: r
                .bytes16("payload", "a length-prefixed (u16) media payload")?
                .to_vec(),
        })
    }
}

impl LiRecord {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.raw(&LI_MAGIC);
        w.u8(match self.kind {
            LiKind::Iri => 1,
            LiKind::Cc => 2,
        });
        w.str8("liid", &self.liid)?;
        w.u64(self.correlation);
        w.u64(self.timestamp.as_nanos());
        w.u8(match self.direction {
            LiDirection::FromTarget => 0,
            LiDirection::ToTarget => 1,
        });
        w.bytes16("payload", &self.payload)
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(LiRecordRef::decode_from(r)?.into_owned())
    }

    /// A view of `self` borrowing its LIID and payload.
    pub fn borrowed(&self) -> LiRecordRef<'_> {
        LiRecordRef {
            kind: self.kind,
            liid: &self.liid,
            correlation: self.correlation,
            timestamp: self.timestamp,
            direction: self.direction,
            payload: &self.payload,
        }
    }
}

impl<'a> LiRecordRef<'a> {
    /// The owned [`LiRecord`] with the same fields.
    pub fn into_owned(self) -> LiRecord {
        LiRecord {
            kind: self.kind,
            liid: self.liid.to_owned(),
            correlation: self.correlation,
            timestamp: self.timestamp,
            direction: self.direction,
            payload: self.payload.to_vec(),
        }
    }

    fn decode_from(r: &mut Reader<'a>) -> Result<Self, WireError> {
        r.magic(LI_MAGIC, "the LI record magic \"X3\"")?;
        Ok(LiRecordRef {
            kind: r.code("kind", "1 (IRI) or 2 (CC)", |v| match v {
                1 => Some(LiKind::Iri),
                2 => Some(LiKind::Cc),
                _ => None,
            })?,
            liid: r.str8("liid")?,
            correlation: r.u64("correlation")?,
            timestamp: Timestamp::from_nanos(r.u64("timestamp")?),
            direction: r.code(
                "direction",
                "0 (from target) or 1 (to target)",
                |v| match v {
                    0 => Some(LiDirection::FromTarget),
                    1 => Some(LiDirection::ToTarget),
                    _ => None,
                },
            )?,
            payload: r.bytes16("payload", "a length-prefixed (u16) payload")?,
        })
    }
}

impl Iri {
    fn encode_into(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u8(match self.event {
            IriEvent::Begin => 1,
            IriEvent::Continue => 2,
            IriEvent::End => 3,
            IriEvent::Report => 4,
        });
        w.str8("target", &self.target)?;
        w.str8("other", &self.other)?;
        w.u8(match self.service {
            IriService::Sms => 1,
            IriService::Data => 2,
            IriService::Voice => 3,
        });
        w.u32(self.cell);
        w.u32(self.size);
        Ok(())
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Iri {
            event: r.code(
                "event",
                "1 (BEGIN), 2 (CONTINUE), 3 (END) or 4 (REPORT)",
                |v| match v {
                    1 => Some(IriEvent::Begin),
                    2 => Some(IriEvent::Continue),
                    3 => Some(IriEvent::End),
                    4 => Some(IriEvent::Report),
                    _ => None,
                },
            )?,
            target: r.str8("target")?.to_owned(),
            other: r.str8("other")?.to_owned(),
            service: r.code("service", "1 (SMS), 2 (data) or 3 (voice)", |v| match v {
                1 => Some(IriService::Sms),
                2 => Some(IriService::Data),
                3 => Some(IriService::Voice),
                _ => None,
            })?,
            cell: r.u32("cell")?,
            size: r.u32("size")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sms() -> SmsPdu {
        SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: 7,
            from: "+15550001".into(),
            to: "15550002".into(),
            sent_at: Timestamp::from_millis(1500),
            text: "meet at noon ☕".into(),
        }
    }

    #[test]
    fn frame_layout_matches_the_spec_byte_for_byte() {
        let data = Frame::Data {
            seq: 0x0102_0304,
            payload: vec![0xAA, 0xBB],
        };
        assert_eq!(
            data.to_bytes().unwrap(),
            [b'W', b'T', 1, 1, 1, 2, 3, 4, 0, 2, 0xAA, 0xBB]
        );
        let ack = Frame::Ack {
            next_expected: 5,
            seq: 9,
        };
        assert_eq!(
            ack.to_bytes().unwrap(),
            [b'W', b'T', 1, 2, 0, 0, 0, 5, 0, 0, 0, 9]
        );
    }

    #[test]
    fn sms_layout_matches_the_spec_byte_for_byte() {
        let pdu = AppPdu::Sms(SmsPdu {
            kind: SmsKind::Deliver,
            msg_ref: 1,
            from: "1".into(),
            to: "+2".into(),
            sent_at: Timestamp::from_nanos(3),
            text: "hi".into(),
        });
        let mut want = vec![0x10, 1, 0, 0, 0, 1, 1, b'1', 2, b'+', b'2'];
        want.extend_from_slice(&3u64.to_be_bytes());
        want.extend_from_slice(&[0, 2, b'h', b'i']);
        assert_eq!(pdu.to_bytes().unwrap(), want);
        assert_eq!(AppPdu::decode(&want).unwrap(), pdu);
    }

    #[test]
    fn call_and_media_layouts_match_the_spec_byte_for_byte() {
        let pdu = AppPdu::Call(CallPdu {
            kind: CallKind::Bye,
            network: CallNetwork::Ott,
            call_id: 0x0102,
            from: "1".into(),
            to: "2".into(),
            cause: ByeCause::RadioLoss,
            body: vec![0xEE],
        });
        let mut want = vec![0x40, 4, 1];
        want.extend_from_slice(&0x0102u64.to_be_bytes());
        want.extend_from_slice(&[1, b'1', 1, b'2', 1, 0, 1, 0xEE]);
        assert_eq!(pdu.to_bytes().unwrap(), want);
        assert_eq!(AppPdu::decode(&want).unwrap(), pdu);
        let m = MediaPdu {
            call_id: 9,
            seq: 3,
            encrypted: false,
            payload: vec![0xAB, 0xCD],
        };
        let mut want = vec![b'W', b'V', 1];
        want.extend_from_slice(&9u64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 3, 0, 0, 2, 0xAB, 0xCD]);
        assert_eq!(m.to_bytes().unwrap(), want);
        assert_eq!(MediaPdu::decode(&want).unwrap(), m);
        let err = MediaPdu::decode(&[b'W', b'V', 2]).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    field: "version",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_names_offset_and_field() {
        let mut bytes = AppPdu::Sms(sms()).to_bytes().unwrap();
        // tag(1) kind(1) msg_ref(4) from: len(1) + 9 bytes → `to` starts at byte 16.
        bytes[17] = 0xFF;
        let err = AppPdu::decode(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 16 (field `to`): expected a length-prefixed UTF-8 string, found invalid UTF-8"
        );
    }

    #[test]
    fn unknown_tag_trailing_bytes_and_short_input_are_rejected_with_their_offsets() {
        let err = AppPdu::decode(&[0x50]).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    offset: 0,
                    field: "tag",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("found 0x50"), "{err}");

        let mut bytes = Frame::Ack {
            next_expected: 1,
            seq: 0,
        }
        .to_bytes()
        .unwrap();
        bytes.push(0);
        let err = Frame::decode(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    offset: 12,
                    field: "end",
                    ..
                }
            ),
            "{err}"
        );

        let err = Frame::decode(b"WT\x01\x01\x00\x00").unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    offset: 4,
                    field: "seq",
                    ..
                }
            ),
            "{err}"
        );

        let err = Frame::decode(b"XX\x01\x02").unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    offset: 0,
                    field: "magic",
                    ..
                }
            ),
            "{err}"
        );
        let err = LiRecord::decode(b"WT").unwrap_err();
        assert!(
            matches!(err, WireError::Malformed { field: "magic", .. }),
            "{err}"
        );
        let err = Frame::decode(b"WT\x02\x02").unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed {
                    offset: 2,
                    field: "version",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn overlong_fields_are_refused_and_the_buffer_is_left_untouched() {
        let mut long = sms();
        long.to = "9".repeat(256);
        let mut out = vec![1, 2, 3];
        assert_eq!(
            AppPdu::Sms(long).encode(&mut out),
            Err(WireError::TooLong {
                field: "to",
                len: 256,
                max: 255
            })
        );
        assert_eq!(out, [1, 2, 3]);

        let big = Frame::Data {
            seq: 0,
            payload: vec![0; 65_536],
        };
        assert!(matches!(
            big.to_bytes(),
            Err(WireError::TooLong {
                field: "payload",
                ..
            })
        ));
        let fits = Frame::Data {
            seq: 0,
            payload: vec![0; 65_535],
        };
        assert_eq!(Frame::decode(&fits.to_bytes().unwrap()).unwrap(), fits);
    }

    // ---- property tests ---------------------------------------------------------------------

    fn any_str8() -> impl Strategy<Value = String> {
        prop_oneof![
            "[+]?[0-9]{0,15}",
            any::<String>().prop_filter("fits str8", |s| s.len() <= MAX_STR8),
        ]
    }
    fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..300)
    }
    fn any_noise_kind() -> impl Strategy<Value = NoiseKind> {
        prop_oneof![Just(NoiseKind::Handshake), Just(NoiseKind::Transport)]
    }
    fn any_sms() -> impl Strategy<Value = SmsPdu> {
        (
            prop_oneof![Just(SmsKind::Submit), Just(SmsKind::Deliver)],
            any::<u32>(),
            any_str8(),
            any_str8(),
            any::<u64>(),
            any::<String>(),
        )
            .prop_map(|(kind, msg_ref, from, to, t, text)| SmsPdu {
                kind,
                msg_ref,
                from,
                to,
                sent_at: Timestamp::from_nanos(t),
                text,
            })
    }
    fn any_tunnel() -> impl Strategy<Value = TunnelPdu> {
        (any_noise_kind(), any_bytes()).prop_map(|(kind, noise)| TunnelPdu { kind, noise })
    }
    fn any_ott() -> impl Strategy<Value = OttEnvelope> {
        (
            any_str8(),
            any_str8(),
            any::<u64>(),
            any_noise_kind(),
            any::<u8>(),
            any_str8(),
            any_bytes(),
        )
            .prop_map(
                |(from, to, session, kind, index, protocol, body)| OttEnvelope {
                    from,
                    to,
                    session,
                    kind,
                    index,
                    protocol,
                    body,
                },
            )
    }
    fn any_call() -> impl Strategy<Value = CallPdu> {
        (
            1u8..=7,
            any::<bool>(),
            any::<u64>(),
            any_str8(),
            any_str8(),
            any::<bool>(),
            any_bytes(),
        )
            .prop_map(|(k, ott, call_id, from, to, lost, body)| CallPdu {
                kind: CallKind::from_code(k).unwrap_or(CallKind::Invite),
                network: if ott {
                    CallNetwork::Ott
                } else {
                    CallNetwork::Carrier
                },
                call_id,
                from,
                to,
                cause: if lost {
                    ByeCause::RadioLoss
                } else {
                    ByeCause::Normal
                },
                body,
            })
    }
    fn any_media() -> impl Strategy<Value = MediaPdu> {
        (any::<u64>(), any::<u32>(), any::<bool>(), any_bytes()).prop_map(
            |(call_id, seq, encrypted, payload)| MediaPdu {
                call_id,
                seq,
                encrypted,
                payload,
            },
        )
    }
    fn any_app() -> impl Strategy<Value = AppPdu> {
        prop_oneof![
            any_sms().prop_map(AppPdu::Sms),
            any_tunnel().prop_map(AppPdu::Tunnel),
            any_ott().prop_map(AppPdu::Ott),
            any_call().prop_map(AppPdu::Call),
        ]
    }
    fn any_frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            (any::<u32>(), any_bytes()).prop_map(|(seq, payload)| Frame::Data { seq, payload }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(next_expected, seq)| Frame::Ack { next_expected, seq }),
        ]
    }
    fn any_iri() -> impl Strategy<Value = Iri> {
        (
            prop_oneof![
                Just(IriEvent::Begin),
                Just(IriEvent::Continue),
                Just(IriEvent::End),
                Just(IriEvent::Report)
            ],
            any_str8(),
            any_str8(),
            prop_oneof![
                Just(IriService::Sms),
                Just(IriService::Data),
                Just(IriService::Voice)
            ],
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(event, target, other, service, cell, size)| Iri {
                event,
                target,
                other,
                service,
                cell,
                size,
            })
    }
    fn any_li() -> impl Strategy<Value = LiRecord> {
        (
            prop_oneof![Just(LiKind::Iri), Just(LiKind::Cc)],
            any_str8(),
            any::<u64>(),
            any::<u64>(),
            prop_oneof![Just(LiDirection::FromTarget), Just(LiDirection::ToTarget)],
            any_bytes(),
        )
            .prop_map(
                |(kind, liid, correlation, t, direction, payload)| LiRecord {
                    kind,
                    liid,
                    correlation,
                    timestamp: Timestamp::from_nanos(t),
                    direction,
                    payload,
                },
            )
    }

    /// Encodes, checks the bytes decode back to the value, and that every strict prefix fails.
    fn round_trip<T: PartialEq + fmt::Debug>(
        v: &T,
        enc: impl Fn(&T) -> Result<Vec<u8>, WireError>,
        dec: impl Fn(&[u8]) -> Result<T, WireError>,
    ) -> Result<(), TestCaseError> {
        let bytes = enc(v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            &dec(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?,
            v
        );
        let cut = bytes.len() / 2;
        prop_assert!(dec(&bytes[..cut]).is_err());
        Ok(())
    }

    /// The borrowed decoder of a type and its owned one agree on `bytes`: both accept (with
    /// equal values, and the borrowed value viewed from the owned one) or both refuse with the
    /// same error.
    fn same_as_owned<'a, R, O>(
        bytes: &'a [u8],
        borrowed: impl Fn(&'a [u8]) -> Result<R, WireError>,
        owned: impl Fn(&[u8]) -> Result<O, WireError>,
        into_owned: impl Fn(R) -> O,
    ) -> Result<(), TestCaseError>
    where
        R: Copy + fmt::Debug,
        O: PartialEq + fmt::Debug,
    {
        match (borrowed(bytes), owned(bytes)) {
            (Ok(r), Ok(o)) => prop_assert_eq!(into_owned(r), o),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (r, o) => prop_assert!(false, "borrowed {:?}, owned {:?}", r, o),
        }
        Ok(())
    }

    /// Every borrowed decoder against its owned twin on `bytes`.
    fn all_same_as_owned(bytes: &[u8]) -> Result<(), TestCaseError> {
        same_as_owned(bytes, FrameRef::decode, Frame::decode, FrameRef::into_owned)?;
        same_as_owned(
            bytes,
            AppPduRef::decode,
            AppPdu::decode,
            AppPduRef::into_owned,
        )?;
        same_as_owned(
            bytes,
            SmsPduRef::decode,
            SmsPdu::decode,
            SmsPduRef::into_owned,
        )?;
        same_as_owned(
            bytes,
            TunnelPduRef::decode,
            TunnelPdu::decode,
            TunnelPduRef::into_owned,
        )?;
        same_as_owned(
            bytes,
            OttEnvelopeRef::decode,
            OttEnvelope::decode,
            OttEnvelopeRef::into_owned,
        )?;
        same_as_owned(
            bytes,
            CallPduRef::decode,
            CallPdu::decode,
            CallPduRef::into_owned,
        )?;
        same_as_owned(
            bytes,
            LiRecordRef::decode,
            LiRecord::decode,
            LiRecordRef::into_owned,
        )?;
        Ok(())
    }

    /// Whether `part` lies inside `whole` (a view into it, not a copy).
    fn inside(part: &[u8], whole: &[u8]) -> bool {
        let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
        w.start <= p.start && p.end <= w.end
    }

    #[test]
    fn a_borrowed_pdu_points_into_the_bytes_it_was_decoded_from() {
        let bytes = AppPdu::Sms(sms()).to_bytes().unwrap();
        let AppPduRef::Sms(s) = AppPduRef::decode(&bytes).unwrap() else {
            panic!("an SMS")
        };
        for field in [s.from, s.to, s.text] {
            assert!(inside(field.as_bytes(), &bytes), "{field:?} is a copy");
        }
        assert_eq!(s.text, "meet at noon ☕");
        // The text is the end of the PDU (the frame's payload ends there too).
        assert_eq!(
            s.text.as_bytes().as_ptr_range().end,
            bytes.as_ptr_range().end
        );
        let env = OttEnvelope {
            from: "+1".into(),
            to: "+2".into(),
            session: 3,
            kind: NoiseKind::Handshake,
            index: 1,
            protocol: "Noise_NN_25519_ChaChaPoly_BLAKE2s".into(),
            body: vec![9; 40],
        };
        let bytes = AppPdu::Ott(env.clone()).to_bytes().unwrap();
        let AppPduRef::Ott(e) = AppPduRef::decode(&bytes).unwrap() else {
            panic!("an envelope")
        };
        assert!(inside(e.body, &bytes) && inside(e.protocol.as_bytes(), &bytes));
        assert_eq!(e, env.borrowed());
        assert_eq!(e.into_owned(), env);
        let frame = Frame::Data {
            seq: 1,
            payload: bytes.clone(),
        }
        .to_bytes()
        .unwrap();
        let Ok(FrameRef::Data { payload, .. }) = FrameRef::decode(&frame) else {
            panic!("a DATA frame")
        };
        assert!(inside(payload, &frame) && payload == bytes.as_slice());
        let rec = LiRecord {
            kind: LiKind::Cc,
            liid: "LI-1".into(),
            correlation: 1,
            timestamp: Timestamp::from_nanos(2),
            direction: LiDirection::ToTarget,
            payload: frame.clone(),
        };
        let bytes = rec.to_bytes().unwrap();
        let r = LiRecordRef::decode(&bytes).unwrap();
        assert!(inside(r.payload, &bytes) && inside(r.liid.as_bytes(), &bytes));
        assert_eq!(r.payload.as_ptr_range().end, bytes.as_ptr_range().end);
        assert_eq!(r, rec.borrowed());
    }

    proptest! {
        #[test]
        fn borrowed_decoders_agree_with_owned_ones_on_arbitrary_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..200)
        ) {
            all_same_as_owned(&bytes)?;
        }

        #[test]
        fn borrowed_decoders_agree_with_owned_ones_on_encodings(
            pdu in any_app(), li in any_li(), frame in any_frame(), cut in any::<usize>(),
            pos in any::<usize>(), val in any::<u8>()
        ) {
            let encoded = pdu.to_bytes().unwrap();
            prop_assert_eq!(AppPduRef::decode(&encoded).unwrap(), pdu.borrowed());
            prop_assert_eq!(AppPduRef::decode(&encoded).unwrap().into_owned(), pdu.clone());
            let framed = Frame::Data { seq: 7, payload: encoded.clone() }.to_bytes().unwrap();
            for bytes in [encoded, li.to_bytes().unwrap(), frame.to_bytes().unwrap(), framed] {
                // Whole, without its first byte (a PDU without its tag), cut short, and with one
                // byte changed.
                all_same_as_owned(&bytes)?;
                all_same_as_owned(bytes.get(1..).unwrap_or_default())?;
                all_same_as_owned(&bytes[..cut % (bytes.len() + 1)])?;
                let mut mutated = bytes.clone();
                if !mutated.is_empty() {
                    let i = pos % mutated.len();
                    mutated[i] = val;
                }
                all_same_as_owned(&mutated)?;
            }
        }

        #[test]
        fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::decode(&bytes);
            let _ = AppPdu::decode(&bytes);
            let _ = SmsPdu::decode(&bytes);
            let _ = TunnelPdu::decode(&bytes);
            let _ = OttEnvelope::decode(&bytes);
            let _ = LiRecord::decode(&bytes);
            let _ = Iri::decode(&bytes);
            let _ = CallPdu::decode(&bytes);
            let _ = MediaPdu::decode(&bytes);
        }

        #[test]
        fn decoders_never_panic_on_mutated_valid_encodings(
            pdu in any_app(), li in any_li(), pos in any::<usize>(), val in any::<u8>()
        ) {
            for mut bytes in [pdu.to_bytes().unwrap(), li.to_bytes().unwrap()] {
                if !bytes.is_empty() {
                    let i = pos % bytes.len();
                    bytes[i] = val;
                }
                let _ = AppPdu::decode(&bytes);
                let _ = LiRecord::decode(&bytes);
                let _ = Frame::decode(&bytes);
            }
        }

        #[test]
        fn frames_round_trip(v in any_frame()) { round_trip(&v, Frame::to_bytes, Frame::decode)?; }
        #[test]
        fn app_pdus_round_trip(v in any_app()) { round_trip(&v, AppPdu::to_bytes, AppPdu::decode)?; }
        #[test]
        fn sms_round_trip(v in any_sms()) { round_trip(&v, SmsPdu::to_bytes, SmsPdu::decode)?; }
        #[test]
        fn tunnels_round_trip(v in any_tunnel()) { round_trip(&v, TunnelPdu::to_bytes, TunnelPdu::decode)?; }
        #[test]
        fn envelopes_round_trip(v in any_ott()) { round_trip(&v, OttEnvelope::to_bytes, OttEnvelope::decode)?; }
        #[test]
        fn li_records_round_trip(v in any_li()) { round_trip(&v, LiRecord::to_bytes, LiRecord::decode)?; }
        #[test]
        fn iris_round_trip(v in any_iri()) { round_trip(&v, Iri::to_bytes, Iri::decode)?; }
        #[test]
        fn calls_round_trip(v in any_call()) { round_trip(&v, CallPdu::to_bytes, CallPdu::decode)?; }
        #[test]
        fn media_round_trip(v in any_media()) { round_trip(&v, MediaPdu::to_bytes, MediaPdu::decode)?; }
    }
}
