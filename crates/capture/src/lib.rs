//! What a vantage point inside a carrier records: the adversary's only input.
//!
//! A [`Captures`] is everything an intruder in a carrier's lawful-intercept (CALEA) systems could
//! have copied out: raw IPv4 packets seen at a tap ([`PacketCapture`]), the warrant list of a
//! mediation function ([`Warrant`]) and call-detail records ([`CallRecord`]). It holds bytes and
//! records as the carrier stored them, never the simulator's ground truth; the `adversary` crate
//! reads nothing else.
//!
//! This crate refuses to interpret payloads beyond IPv4 and UDP (that is `proto::wire`'s job) and
//! never reads a clock: every time is a virtual [`Timestamp`].
//!
//! - [`ip`]: a strict IPv4 + UDP parser (and a builder for tests and tools).
//! - [`pcap`]: classic pcap export and import, deterministic byte for byte.
//! - [`capability`]: what the adversary holds beyond its taps (stolen keys, weak devices, a
//!   quantum oracle, the key directory, its on-path components' log).
//! - [`active`]: the interface of the adversary's on-path components (sans-IO interceptors)
//!   that the simulator drives without depending on the adversary.
//! - [`protocol`]: the typed id of a messaging protocol ([`ProtocolId`]), shared by simulator,
//!   adversary and scorer.
//! - [`records`]: call records held compactly ([`RecordLog`]), read back as [`CallRecordRef`]s.
//! - [`csv`]: call records as a CSV file that pandas loads without cleanup.
#![warn(missing_docs)]

use core::fmt;

use serde::{Deserialize, Serialize};
pub use simcore::{PacketLog, PacketRef, Timestamp};
use std::sync::Arc;

pub mod active;
pub mod capability;
pub mod csv;
mod error;
pub mod export;
pub mod ip;
pub mod pcap;
pub mod protocol;
pub mod records;

pub use active::OnPathMode;
pub use capability::{
    ActiveRecord, Capabilities, DirectoryEntry, Owner, Secret, SignalDirectoryEntry, SignalSession,
    SignalState, StolenSecret, WeakRng, X25519Oracle,
};
pub use error::CaptureError;
pub use protocol::{Family, ProtocolId};
pub use records::{CallRecordRef, RecordLog};

/// One packet as a tap saw it, owning its bytes: what [`pcap::read_pcap`] returns, and a
/// convenient way to build a [`PacketLog`] (`collect()` a vector of them into one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedPacket {
    /// When the tap saw it, in virtual time.
    pub time: Timestamp,
    /// The full IPv4 datagram, header included, byte for byte.
    pub bytes: Vec<u8>,
}

impl CapturedPacket {
    /// The packet as a [`PacketRef`], borrowing its bytes.
    pub fn as_ref(&self) -> PacketRef<'_> {
        PacketRef {
            time: self.time,
            bytes: &self.bytes,
        }
    }
}

impl FromIterator<CapturedPacket> for PacketLog {
    fn from_iter<I: IntoIterator<Item = CapturedPacket>>(iter: I) -> PacketLog {
        let mut log = PacketLog::new();
        for p in iter {
            log.push(p.time, &p.bytes);
        }
        log
    }
}

/// The packets recorded at one tap, in the order they were seen.
///
/// The packets are one [`PacketLog`]: every datagram's bytes back to back in one arena with a
/// `(time, end)` index, read as [`PacketRef`]s (`for p in &capture.packets { p.time, p.bytes }`);
/// no allocation per packet. It serializes as the sequence of `{time, bytes}` objects a vector
/// of [`CapturedPacket`]s gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketCapture {
    /// The tap's name, e.g. `"atlantic.core"`.
    pub name: String,
    /// The packets, in capture order (non-decreasing time).
    pub packets: PacketLog,
}

/// What a warrant lets the agency receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WarrantKind {
    /// Intercept-related information only: who, when, where, how much (a pen register).
    #[serde(rename = "iri")]
    Iri,
    /// IRI plus the content of communications (a full intercept).
    #[serde(rename = "iri+content")]
    IriAndContent,
}

impl WarrantKind {
    /// The name used in serialized form: `"iri"` or `"iri+content"`.
    pub fn as_str(self) -> &'static str {
        match self {
            WarrantKind::Iri => "iri",
            WarrantKind::IriAndContent => "iri+content",
        }
    }
}

impl fmt::Display for WarrantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a mediation function's warrant list: who is being wiretapped, by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warrant {
    /// Lawful-interception identifier, as carried in every `LiRecord` of this warrant.
    pub liid: String,
    /// The target's MSISDN.
    pub target_msisdn: String,
    /// The target's IMSI.
    pub target_imsi: String,
    /// Whether content is delivered or only IRI.
    pub kind: WarrantKind,
    /// The requesting agency.
    pub agency: String,
    /// When the intercept was provisioned.
    pub since: Timestamp,
}

/// What a call-detail record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    /// A mobile-originated SMS (the subscriber sent it).
    #[serde(rename = "sms-mo")]
    SmsMo,
    /// A mobile-terminated SMS (the subscriber received it).
    #[serde(rename = "sms-mt")]
    SmsMt,
    /// A data session; `other_party` is the server's IPv4 address.
    #[serde(rename = "data")]
    Data,
    /// A mobile-originated voice call (the subscriber called), carrier voice through the
    /// switching centre; `other_party` is the callee's MSISDN.
    #[serde(rename = "voice-mo")]
    VoiceMo,
    /// A mobile-terminated voice call (the subscriber was called); `other_party` is the caller's
    /// MSISDN.
    #[serde(rename = "voice-mt")]
    VoiceMt,
}

impl RecordKind {
    /// The name used in serialized form and in CSV: `"sms-mo"`, `"sms-mt"`, `"data"`,
    /// `"voice-mo"` or `"voice-mt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::SmsMo => "sms-mo",
            RecordKind::SmsMt => "sms-mt",
            RecordKind::Data => "data",
            RecordKind::VoiceMo => "voice-mo",
            RecordKind::VoiceMt => "voice-mt",
        }
    }

    /// Whether this is a voice-call record.
    pub fn is_voice(self) -> bool {
        matches!(self, RecordKind::VoiceMo | RecordKind::VoiceMt)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a communication ended, as the record's "cause for record closing" / release cause.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Cause {
    /// Completed normally: an SMS stored, a call hung up by either party.
    #[default]
    #[serde(rename = "normal")]
    Normal,
    /// A call the callee did not answer before the caller gave up.
    #[serde(rename = "no-answer")]
    NoAnswer,
    /// A call the callee rejected as busy (already in a call, or declined).
    #[serde(rename = "busy")]
    Busy,
    /// A call dropped because a radio link was lost mid-call.
    #[serde(rename = "radio-loss")]
    RadioLoss,
    /// A data session closed after a period without packets.
    #[serde(rename = "idle-timeout")]
    IdleTimeout,
    /// A data session still open when the run ended (a partial record).
    #[serde(rename = "end-of-run")]
    EndOfRun,
}

impl Cause {
    /// The name used in serialized form and in CSV: `"normal"`, `"no-answer"`, `"busy"`,
    /// `"radio-loss"`, `"idle-timeout"` or `"end-of-run"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Normal => "normal",
            Cause::NoAnswer => "no-answer",
            Cause::Busy => "busy",
            Cause::RadioLoss => "radio-loss",
            Cause::IdleTimeout => "idle-timeout",
            Cause::EndOfRun => "end-of-run",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call-detail record as the carrier makes it: one per SMS (sent or received), per voice
/// call leg, and per data session. `docs/records.md` documents every field and how the carrier
/// fills it. The store keeps it encoded in a [`RecordLog`], which gives it back as a
/// [`CallRecordRef`].
///
/// The identity fields are shared strings: a carrier makes each subscriber's IMSI, IMEI and
/// MSISDN once and every record of that subscriber (and every record naming it as the other
/// party) points at the same text, so a record holds no heap memory of its own. They serialize
/// as plain strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The store's record number.
    pub record_id: u64,
    /// SMS sent, SMS received, or data session.
    pub kind: RecordKind,
    /// The subscriber's IMSI.
    pub imsi: Arc<str>,
    /// The subscriber's handset IMEI.
    pub imei: Arc<str>,
    /// The subscriber's MSISDN.
    pub msisdn: Arc<str>,
    /// The other party: an MSISDN for SMS and calls, an IPv4 address for data.
    pub other_party: Arc<str>,
    /// Start of the communication.
    pub start: Timestamp,
    /// End of the communication (equal to `start` for an SMS).
    pub end: Timestamp,
    /// Serving cell id.
    pub cell: u32,
    /// Bytes sent by the subscriber.
    pub bytes_up: u64,
    /// Bytes received by the subscriber.
    pub bytes_down: u64,
    /// Serving cell id when the communication ended (calls and data sessions: the cell at
    /// hang-up or at the last packet; SMS: equal to `cell`).
    #[serde(default)]
    pub end_cell: u32,
    /// Calls: when the callee answered (`None` for an unanswered call and for SMS and data).
    #[serde(default)]
    pub answer: Option<Timestamp>,
    /// Chargeable duration in nanoseconds: calls from answer to end (0 if unanswered), data
    /// sessions from first to last packet, SMS 0.
    #[serde(default)]
    pub duration_ns: u64,
    /// Why it ended.
    #[serde(default)]
    pub cause: Cause,
    /// The carrier's reference for the communication: the call id of a voice call (equal in
    /// the caller's and callee's records, also across carriers, as the signalling carries it),
    /// the charging id of a data session, 0 for SMS.
    #[serde(default)]
    pub call_ref: u64,
}

/// Where in a carrier a vantage point sits, which decides what it can record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VantageKind {
    /// The lawful-intercept mediation function: receives `LiRecord`s and holds the warrant list.
    #[serde(rename = "mediation")]
    Mediation,
    /// A passive tap on the packet core: sees every packet crossing it.
    #[serde(rename = "core-tap")]
    CoreTap,
    /// Read access to the call-detail record store.
    #[serde(rename = "call-records")]
    CallRecords,
    /// Compromised customer-premises / edge routers (a botnet): every packet to and from the
    /// subscribers behind them, at their access link.
    #[serde(rename = "edge-router")]
    EdgeRouter,
    /// The over-the-top messaging provider's own server, compromised: every application PDU it
    /// accepts from or sends to a client, after its end of any server tunnel is removed (the
    /// end-to-end layer stays sealed), each logged as a UDP datagram between the client's
    /// address and the server's; media it relays for calls, as relayed. Belongs to no carrier.
    #[serde(rename = "ott-server")]
    OttServer,
}

impl VantageKind {
    /// The name used in serialized form: `"mediation"`, `"core-tap"`, `"call-records"`,
    /// `"edge-router"` or `"ott-server"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VantageKind::Mediation => "mediation",
            VantageKind::CoreTap => "core-tap",
            VantageKind::CallRecords => "call-records",
            VantageKind::EdgeRouter => "edge-router",
            VantageKind::OttServer => "ott-server",
        }
    }
}

impl fmt::Display for VantageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an intercept record is intercept-related information or a content copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InterceptKind {
    /// Intercept-related information: an event with parties, time and location.
    #[serde(rename = "iri")]
    Iri,
    /// A content copy: one intercepted packet, byte for byte, correlated with its IRI.
    #[serde(rename = "cc")]
    Cc,
}

/// The event of an IRI record (ETSI TS 102 232 / 3GPP TS 33.108 style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IriEventKind {
    /// A communication began (a call answered, a data session's first packet).
    #[serde(rename = "begin")]
    Begin,
    /// A communication in progress changed (a call handed over to another cell).
    #[serde(rename = "continue")]
    Continue,
    /// A communication ended (hang-up, data session idle).
    #[serde(rename = "end")]
    End,
    /// A one-shot event: an SMS, an unanswered call attempt.
    #[serde(rename = "report")]
    Report,
}

/// The service an IRI record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IriServiceKind {
    /// Short messages.
    #[serde(rename = "sms")]
    Sms,
    /// Packet data (including OTT apps and their calls, which the carrier sees only as data).
    #[serde(rename = "data")]
    Data,
    /// Carrier voice calls through the switching centre.
    #[serde(rename = "voice")]
    Voice,
}

/// One lawful-intercept record a point of interception delivered to a mediation node, decoded
/// into a flat row: the carrier's own log of its intercept output (exported as `iri.csv`).
/// Its strings are shared: the carrier's name, a warrant's LIID and target and each other
/// party are one copy each however many records name them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterceptRecord {
    /// The carrier whose point of interception produced it.
    pub carrier: Arc<str>,
    /// Lawful-interception identifier of the warrant.
    pub liid: Arc<str>,
    /// IRI or CC.
    pub kind: InterceptKind,
    /// Links CC records to the IRI of the same communication.
    pub correlation: u64,
    /// When the point of interception produced it.
    pub timestamp: Timestamp,
    /// Whether the communication (or copied packet) went from the target (`true`) or to it.
    pub from_target: bool,
    /// The warrant target's MSISDN.
    pub target: Arc<str>,
    /// IRI: the event; CC: `None`.
    pub event: Option<IriEventKind>,
    /// IRI: the service; CC: `None`.
    pub service: Option<IriServiceKind>,
    /// IRI: the other party as the carrier sees it (MSISDN or IPv4 address); CC: empty.
    pub other: Arc<str>,
    /// IRI: the target's serving cell; CC: `None`.
    pub cell: Option<u32>,
    /// IRI: bytes of the communication (BEGIN: the first packet; END: the whole communication;
    /// REPORT of an SMS: its text); CC: length of the copied IPv4 packet.
    pub size: u64,
}

/// Everything recorded at one vantage point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantagePoint {
    /// The vantage point's name, e.g. `"atlantic.mediation"`.
    pub name: String,
    /// The carrier it is inside (empty for the OTT server, which is no carrier's).
    pub carrier: String,
    /// What kind of system it is.
    pub kind: VantageKind,
    /// Packets recorded there, if it records packets.
    pub packets: Option<PacketCapture>,
    /// The warrant list, if it holds one (a mediation function does).
    pub warrants: Vec<Warrant>,
    /// Call-detail records, if it can read them: the carrier's own store, shared (the run's
    /// output holds the same records for `records.csv`; one copy in memory, not two).
    pub call_records: Arc<RecordLog>,
}

/// Everything the adversary captured, from all its vantage points, in the order they were
/// compromised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captures {
    /// One entry per vantage point.
    pub vantages: Vec<VantagePoint>,
}

impl Captures {
    /// The vantage point called `name`, if any.
    pub fn vantage(&self, name: &str) -> Option<&VantagePoint> {
        self.vantages.iter().find(|v| v.name == name)
    }

    /// Total number of packets over all vantage points.
    pub fn packet_count(&self) -> usize {
        self.vantages
            .iter()
            .filter_map(|v| v.packets.as_ref())
            .map(|p| p.packets.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_serialize_to_their_documented_names() {
        let s = serde_json::to_string(&(
            WarrantKind::IriAndContent,
            RecordKind::SmsMt,
            VantageKind::CoreTap,
        ))
        .expect("serializes");
        assert_eq!(s, r#"["iri+content","sms-mt","core-tap"]"#);
        let back: (WarrantKind, RecordKind, VantageKind) =
            serde_json::from_str(r#"["iri","data","call-records"]"#).expect("deserializes");
        assert_eq!(
            back,
            (WarrantKind::Iri, RecordKind::Data, VantageKind::CallRecords)
        );
        assert_eq!(WarrantKind::Iri.to_string(), "iri");
        assert_eq!(RecordKind::SmsMo.to_string(), "sms-mo");
        assert_eq!(VantageKind::Mediation.to_string(), "mediation");
        assert_eq!(
            serde_json::to_string(&VantageKind::OttServer).expect("serializes"),
            r#""ott-server""#
        );
        assert_eq!(VantageKind::OttServer.to_string(), "ott-server");
    }

    #[test]
    fn a_capture_serializes_as_the_vector_of_packets_it_replaced() {
        let owned = vec![
            CapturedPacket {
                time: Timestamp::from_nanos(7),
                bytes: vec![0x45, 0, 1],
            },
            CapturedPacket {
                time: Timestamp::from_nanos(9),
                bytes: vec![],
            },
        ];
        let capture = PacketCapture {
            name: "x.core".into(),
            packets: owned.iter().cloned().collect(),
        };
        let json = serde_json::to_string(&capture).expect("serializes");
        // The type it replaced: a vector of owned packets.
        #[derive(Serialize)]
        struct VecCapture {
            name: String,
            packets: Vec<CapturedPacket>,
        }
        let vec_form = serde_json::to_string(&VecCapture {
            name: "x.core".into(),
            packets: owned.clone(),
        })
        .expect("serializes");
        assert_eq!(json, vec_form);
        assert_eq!(
            json,
            r#"{"name":"x.core","packets":[{"time":7,"bytes":[69,0,1]},{"time":9,"bytes":[]}]}"#
        );
        let back: PacketCapture = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, capture);
        let read: Vec<CapturedPacket> = back
            .packets
            .iter()
            .map(|p| CapturedPacket {
                time: p.time,
                bytes: p.bytes.to_vec(),
            })
            .collect();
        assert_eq!(read, owned);
    }

    #[test]
    fn a_capture_holds_its_packets_in_one_arena() {
        // 1,000 datagrams of 91 bytes: the bytes and a 16-byte index entry each, plus at most
        // a block of each reserved ahead; a vector per packet would cost 24 bytes more each,
        // and an allocation.
        let mut packets: PacketLog = (0..1000u64)
            .map(|t| CapturedPacket {
                time: Timestamp::from_nanos(t),
                bytes: vec![0x45; 91],
            })
            .collect();
        assert_eq!(packets.len(), 1000);
        assert_eq!(packets.total_bytes(), 91_000);
        assert!(packets.heap_bytes() <= 1000 * (91 + 16) + 64 * 1024);
        packets.shrink_to_fit();
        assert!(packets.heap_bytes() <= 1000 * (91 + 16) + 1024);
    }
}
