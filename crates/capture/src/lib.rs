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
//! - [`csv`]: call records as a CSV file that pandas loads without cleanup.
#![warn(missing_docs)]

use core::fmt;

use serde::{Deserialize, Serialize};
pub use simcore::Timestamp;

pub mod capability;
pub mod csv;
mod error;
pub mod ip;
pub mod pcap;

pub use capability::{
    ActiveRecord, Capabilities, DirectoryEntry, Owner, Secret, StolenSecret, WeakRng, X25519Oracle,
};
pub use error::CaptureError;

/// One packet as a tap saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedPacket {
    /// When the tap saw it, in virtual time.
    pub time: Timestamp,
    /// The full IPv4 datagram, header included, byte for byte.
    pub bytes: Vec<u8>,
}

/// The packets recorded at one tap, in the order they were seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketCapture {
    /// The tap's name, e.g. `"atlantic.core"`.
    pub name: String,
    /// The packets, in capture order (non-decreasing time).
    pub packets: Vec<CapturedPacket>,
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
}

impl RecordKind {
    /// The name used in serialized form and in CSV: `"sms-mo"`, `"sms-mt"` or `"data"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::SmsMo => "sms-mo",
            RecordKind::SmsMt => "sms-mt",
            RecordKind::Data => "data",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call-detail record as the carrier's billing store keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The store's record number.
    pub record_id: u64,
    /// SMS sent, SMS received, or data session.
    pub kind: RecordKind,
    /// The subscriber's IMSI.
    pub imsi: String,
    /// The subscriber's handset IMEI.
    pub imei: String,
    /// The subscriber's MSISDN.
    pub msisdn: String,
    /// The other party: an MSISDN for SMS, an IPv4 address for data.
    pub other_party: String,
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
}

impl VantageKind {
    /// The name used in serialized form: `"mediation"`, `"core-tap"` or `"call-records"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VantageKind::Mediation => "mediation",
            VantageKind::CoreTap => "core-tap",
            VantageKind::CallRecords => "call-records",
        }
    }
}

impl fmt::Display for VantageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything recorded at one vantage point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantagePoint {
    /// The vantage point's name, e.g. `"atlantic.mediation"`.
    pub name: String,
    /// The carrier it is inside.
    pub carrier: String,
    /// What kind of system it is.
    pub kind: VantageKind,
    /// Packets recorded there, if it records packets.
    pub packets: Option<PacketCapture>,
    /// The warrant list, if it holds one (a mediation function does).
    pub warrants: Vec<Warrant>,
    /// Call-detail records, if it can read them.
    pub call_records: Vec<CallRecord>,
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
    }
}
