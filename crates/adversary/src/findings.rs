//! What the adversary reports: everything it recovered or learned, and what it could not read.
//!
//! Every list is sorted and free of duplicates, so two analyses of the same captures serialize
//! to the same bytes. Recovered messages are plaintext strings extracted from captured bytes,
//! never identifiers of ground-truth messages: a separate scorer compares them with the truth.

use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

use capture::WarrantKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use simcore::{FixedMap, FixedSet, Timestamp};
use std::sync::Arc;

/// The kind of channel a message travelled on, as the adversary could tell from the bytes.
///
/// Serialized as its [`Display`](fmt::Display) string: `"sms"`, `"carrier-tunnel"`,
/// `"ott-tunnel"`, `"tunnel"`, or `"ott:<Noise protocol name>"`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// A plaintext SMS PDU.
    Sms,
    /// A Noise_NK tunnel whose far end also exchanges clear SMS PDUs: a carrier packet gateway.
    CarrierTunnel,
    /// A Noise_NK tunnel whose far end relays clear OTT envelopes between accounts: an OTT server.
    OttTunnel,
    /// A Noise_NK tunnel whose far end the captures do not identify.
    Tunnel,
    /// An end-to-end OTT session; `protocol` is the Noise protocol name from the handshake
    /// envelopes (`"unknown"` for a transport message whose handshake was not captured).
    Ott {
        /// The full Noise protocol name.
        protocol: String,
    },
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Sms => f.write_str("sms"),
            Channel::CarrierTunnel => f.write_str("carrier-tunnel"),
            Channel::OttTunnel => f.write_str("ott-tunnel"),
            Channel::Tunnel => f.write_str("tunnel"),
            Channel::Ott { protocol } => write!(f, "ott:{protocol}"),
        }
    }
}

/// A string that is not a [`Channel`]'s display form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a channel name: {0:?}")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "sms" => Channel::Sms,
            "carrier-tunnel" => Channel::CarrierTunnel,
            "ott-tunnel" => Channel::OttTunnel,
            "tunnel" => Channel::Tunnel,
            _ => match s.strip_prefix("ott:") {
                Some(p) => Channel::Ott {
                    protocol: p.to_owned(),
                },
                None => return Err(UnknownChannel(s.to_owned())),
            },
        })
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A message whose exact plaintext the adversary extracted from captured bytes.
///
/// A large run reads millions of these, so everything but the text is shared: an account, a
/// list of vantage points or a method is made once and pointed at by every message that names
/// it ([`Names`]). The shared fields serialize as the plain strings and lists they hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovered {
    /// The plaintext.
    pub text: String,
    /// Sender as the bytes named it (MSISDN or account), if they did.
    pub from: Option<Arc<str>>,
    /// Recipient as the bytes named it, if they did.
    pub to: Option<Arc<str>>,
    /// The channel of its earliest sighting.
    pub channel: Channel,
    /// Earliest capture time over all sightings.
    pub first_seen: Timestamp,
    /// Vantage points where it was seen, sorted.
    pub seen_at: Arc<[Arc<str>]>,
    /// How it was read, e.g. `"plaintext SMS PDU"`.
    pub method: Arc<str>,
}

impl Findings {
    /// Adds `more` recovered messages, keeping [`Findings::recovered`] in (first seen, text)
    /// order; sorts only when there is something to add.
    pub(crate) fn add_recovered(&mut self, more: Vec<Recovered>) {
        if more.is_empty() {
            return;
        }
        self.recovered.extend(more);
        self.recovered
            .sort_by(|a, b| (a.first_seen, &a.text).cmp(&(b.first_seen, &b.text)));
    }
}

/// The texts a reader with capabilities must not credit again: those recovered before it ran,
/// borrowed from the findings (a large run recovers millions; copying and sorting them was a
/// tenth of the analysis), and those it read itself so far. Lookups only.
#[derive(Default)]
pub(crate) struct TextsRead<'k> {
    known: FixedSet<&'k str>,
    read: FixedSet<String>,
}

impl<'k> TextsRead<'k> {
    /// The texts of `before`, already read.
    pub(crate) fn new(before: &'k [Recovered]) -> Self {
        TextsRead {
            known: before.iter().map(|r| r.text.as_str()).collect(),
            read: FixedSet::default(),
        }
    }

    /// Notes `text` as read; `false` if it was read before.
    pub(crate) fn first_read(&mut self, text: &str) -> bool {
        !self.known.contains(text) && self.read.insert(text.to_owned())
    }
}

/// One shared copy of each name and each list of names the findings hold (accounts, vantage
/// points, methods): [`Recovered`] points at them instead of owning copies. Lookups only.
#[derive(Default)]
pub(crate) struct Names {
    names: FixedMap<Box<str>, Arc<str>>,
    lists: FixedMap<Box<[Arc<str>]>, NameList>,
}

/// A shared list of shared names.
type NameList = Arc<[Arc<str>]>;

impl Names {
    /// The shared copy of `name`.
    pub(crate) fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(Box::from(name), n.clone());
        n
    }

    /// The shared copy of the list of `names`, in the order given.
    pub(crate) fn list<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> NameList {
        let list: Vec<Arc<str>> = names.into_iter().map(|n| self.name(n)).collect();
        if let Some(l) = self.lists.get(list.as_slice()) {
            return l.clone();
        }
        let l: NameList = Arc::from(list.as_slice());
        self.lists.insert(list.into_boxed_slice(), l.clone());
        l
    }
}

/// Messages the adversary saw but could not read, aggregated by channel and reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnreadableSummary {
    /// The channel.
    pub channel: Channel,
    /// Why it could not be read.
    pub reason: String,
    /// Distinct ciphertexts (retransmissions and copies at several vantages count once).
    pub count: usize,
    /// Earliest sighting.
    pub first_seen: Timestamp,
}

/// An end-to-end message a capability bore on (a stolen key of one of its parties, a stolen
/// session state, a quantum computer, a weak RNG) that stayed sealed, with what is still
/// missing: the per-message form of the reasons in [`Findings::unreadable`], for the scorer
/// to explain the messages it counts as unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SealedMessage {
    /// The sender's account, as the envelope named it.
    pub from: String,
    /// The recipient's account.
    pub to: String,
    /// First capture.
    pub first_seen: Timestamp,
    /// What the adversary still lacks, e.g. "... needs the ephemeral keys of the session ...".
    pub reason: String,
}

/// A warrant read from a mediation function's warrant list: who is being wiretapped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LearnedWarrant {
    /// Lawful-interception identifier.
    pub liid: String,
    /// Target MSISDN.
    pub target_msisdn: String,
    /// Target IMSI.
    pub target_imsi: String,
    /// IRI only or IRI and content.
    pub kind: WarrantKind,
    /// Requesting agency.
    pub agency: String,
    /// When the intercept was provisioned.
    pub since: Timestamp,
    /// Vantage points whose warrant list held it, sorted.
    pub seen_at: Vec<String>,
}

/// Traffic the adversary could not read, as metadata: who talked to which server, when, how much.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowObservation {
    /// The vantage point that saw it.
    pub vantage: String,
    /// The subscriber-side address (see the crate docs for how the sides are told apart).
    pub subscriber: Ipv4Addr,
    /// The server or peer address.
    pub server: Ipv4Addr,
    /// The channel.
    pub channel: Channel,
    /// Packets, both directions, retransmissions included.
    pub packets: usize,
    /// IPv4 bytes, both directions.
    pub bytes: u64,
    /// First packet.
    pub first_seen: Timestamp,
    /// Last packet.
    pub last_seen: Timestamp,
}

/// Data sessions known by MSISDN rather than address: from call records and IRI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataSessionObservation {
    /// The vantage point that recorded it.
    pub vantage: String,
    /// `"call-records"` or `"iri"`.
    pub source: String,
    /// The subscriber.
    pub msisdn: String,
    /// The server address as the carrier recorded it.
    pub server: String,
    /// Records or IRI events aggregated.
    pub records: usize,
    /// Bytes, both directions.
    pub bytes: u64,
    /// Earliest start.
    pub first_seen: Timestamp,
    /// Latest end.
    pub last_seen: Timestamp,
}

/// A Noise static public key seen in clear: the sender's long-term identity is exposed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StaticKeySighting {
    /// The account (envelope `from`) that sent it.
    pub account: String,
    /// The public key, lowercase hex.
    pub public_hex: String,
    /// The vantage point that saw it.
    pub vantage: String,
}

/// Everything one analysis produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Findings {
    /// The adversary's name.
    pub adversary: String,
    /// Vantage point names, in capture order.
    pub vantage_points: Vec<String>,
    /// Plaintexts recovered, unique by text, sorted by first sighting then text.
    pub recovered: Vec<Recovered>,
    /// What could not be read, by (channel, reason).
    pub unreadable: Vec<UnreadableSummary>,
    /// Warrants learned from mediation warrant lists, sorted by LIID.
    pub warrant_targets_learned: Vec<LearnedWarrant>,
    /// Unordered MSISDN pairs seen communicating, each `(min, max)`, sorted, unique.
    pub contact_pairs: Vec<(String, String)>,
    /// Metadata of unreadable traffic, per (vantage, subscriber, server, channel).
    pub flows: Vec<FlowObservation>,
    /// Data sessions by MSISDN, from call records and IRI, per (vantage, source, msisdn, server).
    pub data_sessions: Vec<DataSessionObservation>,
    /// Static keys seen in clear in handshakes.
    pub static_keys_seen: Vec<StaticKeySighting>,
    /// IRI records read.
    pub iri_events: usize,
    /// CC records read (each wraps one intercepted packet).
    pub cc_packets: usize,
    /// Packets (captured or inside CC) decoded as a frame or an LI record.
    pub packets_parsed: usize,
    /// Well-formed UDP packets on ports this adversary does not interpret (including LI delivery
    /// seen outside a mediation vantage).
    pub packets_ignored: usize,
    /// Packets or records that did not parse.
    pub parse_errors: usize,
    /// What each declared capability (stolen key, weak RNG, quantum computer) made readable,
    /// in time order; empty for a passive adversary.
    pub key_theft: Vec<TheftExposure>,
    /// What encryption did not hide: the metadata analyses ([`crate::metadata`]).
    pub metadata: crate::metadata::MetadataFindings,
    /// End-to-end messages a capability bore on that stayed sealed, in capture order: Noise
    /// transport messages and handshake messages with a payload ([`crate::keys`]), and Signal
    /// envelopes other than receipts ([`crate::signal_read`]; `from` empty under sealed sender).
    pub sealed_messages: Vec<SealedMessage>,
}

/// What one capability made readable that was not readable before it: the messages decrypted
/// from captured end-to-end transcripts once the adversary held it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TheftExposure {
    /// When the adversary obtained it (time 0 for a weak RNG or a quantum computer).
    pub at: Timestamp,
    /// `"static"`, `"psk"`, `"session-state"`, `"weak-rng"` or `"quantum"`.
    pub kind: String,
    /// Whose secret (`None` for weak RNG and quantum, which are not one party's).
    pub owner: Option<capture::Owner>,
    /// End-to-end sessions with at least one message newly read.
    pub sessions: usize,
    /// The messages newly read, `(Noise protocol name, plaintext)`, sorted.
    pub messages: Vec<(String, String)>,
    /// Signal apps: what the stolen device state or keys did (`None` for other capabilities
    /// that opened no Signal session).
    pub signal: Option<crate::signal_read::SignalExposure>,
}
