//! The observation table: every captured packet dissected once, into layers every analysis reads.
//!
//! Like a protocol analyser's dissectors, [`Observations::decode`] walks the captures once and
//! turns each captured packet, and each packet found inside a CC record, into one
//! [`Observation`]: vantage, time, depth of CC nesting, its bytes (borrowed from the captures'
//! arenas; a packet from a CC record borrows the record's payload inside the captured datagram,
//! so the table copies no packet) and its layers:
//!
//! - **IPv4/UDP** ([`capture::ip`]): source and destination ([`Observation::sockets`]);
//! - on `FRAME_PORT` (either port): the **reliable-layer frame**, an ACK or a DATA frame with its
//!   **application PDU** (SMS, tunnel, OTT envelope or call signalling), see
//!   [`Observation::data`];
//! - at a mediation vantage, on `LI_PORT`: the **LI record** ([`Observations::li`],
//!   [`LiHeader`]) with its **IRI**, or
//!   the **CC**-wrapped packet: that packet is the next observation of the table, dissected the
//!   same way (at most [`MAX_CC_DEPTH`] records deep) and dated by the record's timestamp, the
//!   time at the point of interception;
//! - on `MEDIA_PORT`: a **media** packet, recognised by its port and decoded only on demand
//!   ([`Observation::media`]): no analysis reads media, and voice calls make it the bulk of a
//!   capture;
//! - any other UDP payload (including LI delivery outside a mediation vantage): not dissected.
//!
//! Bytes that do not dissect at some layer are marked [`Damage`]d at that layer
//! ([`Observations::damage`]): they are counted
//! ([`Counts`], the same counts the passive analysis always reported) and no analysis reads
//! them. Observations are in capture order, vantage by vantage, a CC record immediately followed
//! by the packet it wraps (depth first); analyses that keep "the first" of something rely on that
//! order.
//!
//! Then one **role inference** over the whole table ([`Roles`]): which addresses are servers,
//! who initiated each tunnel, which protocol each end-to-end session uses, which addresses are
//! relays and which address belongs to which MSISDN. Every analysis (`passive`,
//! [`crate::metadata`], `keys`, `signal_read`, `active`) reads this table, so they agree on who
//! is who, and none parses captured bytes again.
//!
//! Cost: one decode per packet, O(p log p) for p packets (ordered maps keyed by address). The
//! table keeps 40 bytes per packet and nothing else for all but LI records and damaged
//! packets: what can be read again from the captured bytes is read there when asked for. A
//! DATA frame's application PDU is checked whole when the table is built, and the table keeps
//! only where it starts and its kind ([`PduAt`]); an analysis reading it gets an [`AppPduRef`]
//! decoded again from the captured bytes, which allocates nothing, and whose strings and byte
//! fields point into the captures, so what an analysis borrows from a PDU lives as long as the
//! captures, not the table. (An owned, boxed `AppPdu` per DATA frame held about 190 bytes of
//! heap each.) The addresses are read from the headers the same way. LI records and damage go
//! to side lists, numbered from the observation. The observations that carry a DATA frame or
//! an LI record are indexed ([`Observations::with_content`]) so that analyses do not walk the
//! (often far more numerous) ACK and media packets.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use capture::{ip, CaptureError, Captures, VantageKind};
use proto::wire::{
    AppPduRef, FrameRef, Iri, LiDirection, LiKind, LiRecordRef, MediaPdu, NoiseKind,
    OttEnvelopeRef, SmsKind, WireError, FRAME_PORT, LI_PORT, MEDIA_PORT,
};
use simcore::Timestamp;

use crate::findings::Channel;

/// How deep CC records may nest (a CC wrapping an LI packet wrapping a CC ...).
pub const MAX_CC_DEPTH: usize = 4;

/// Why bytes were not dissected, and at which layer.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// The IPv4 or UDP header did not parse.
    #[error("IPv4/UDP: {0}")]
    Ip(CaptureError),
    /// The headers parse, but the IPv4 header or UDP checksum does not verify: the packet was
    /// damaged in transit, and what it says cannot be trusted (a receiving host drops it too).
    #[error("IPv4/UDP: checksum does not verify")]
    Checksum,
    /// A UDP payload on `FRAME_PORT` that is not a frame.
    #[error("Frame: {0}")]
    Frame(WireError),
    /// A DATA frame whose payload is not an application PDU.
    #[error("AppPdu: {0}")]
    AppPdu(WireError),
    /// A UDP payload on `LI_PORT` (at a mediation vantage) that is not an LI record.
    #[error("LiRecord: {0}")]
    LiRecord(WireError),
    /// An IRI record whose payload is not an IRI.
    #[error("Iri: {0}")]
    Iri(WireError),
    /// A UDP payload on `MEDIA_PORT` that is not a media PDU (found by [`Observation::media`]).
    #[error("MediaPdu: {0}")]
    Media(WireError),
    /// A packet inside more than [`MAX_CC_DEPTH`] nested CC records: not dissected.
    #[error("CC: CC records nested too deep")]
    TooDeep,
}

/// An LI record's header: everything but its payload, which is dissected as [`LiContent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiHeader {
    /// Lawful-interception identifier of the warrant.
    pub liid: String,
    /// Links CC to the IRI of the same communication.
    pub correlation: u64,
    /// Virtual time at the point of interception.
    pub timestamp: Timestamp,
    /// From or to the target.
    pub direction: LiDirection,
}

/// What an LI record carries.
#[derive(Debug)]
pub enum LiContent {
    /// Intercept-related information.
    Iri(Iri),
    /// A content copy: the intercepted packet is observation `inner` of the table (always the
    /// one right after the record's own).
    Cc {
        /// Index of the wrapped packet in [`Observations::packets`].
        inner: usize,
    },
    /// An IRI record whose IRI did not decode.
    Damaged(Damage),
}

/// An LI record: its header and what it carries.
#[derive(Debug)]
pub struct LiLayer {
    /// The record's header.
    pub record: LiHeader,
    /// Its IRI or CC.
    pub content: LiContent,
}

/// Which application PDU a DATA frame carries (its tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PduKind {
    /// An SMS in clear.
    Sms,
    /// A carrier or server tunnel message.
    Tunnel,
    /// An end-to-end app envelope.
    Ott,
    /// Call signalling.
    Call,
}

impl PduKind {
    fn of(pdu: &AppPduRef<'_>) -> PduKind {
        match pdu {
            AppPduRef::Sms(_) => PduKind::Sms,
            AppPduRef::Tunnel(_) => PduKind::Tunnel,
            AppPduRef::Ott(_) => PduKind::Ott,
            AppPduRef::Call(_) => PduKind::Call,
        }
    }
}

/// Where a DATA frame's application PDU is in its observation's bytes, and which kind it is:
/// the PDU runs from `start` to the end of the datagram (a UDP payload ends the datagram, and
/// a DATA frame's payload ends the frame). It decoded when the table was built; read it with
/// [`Observation::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PduAt {
    start: u16,
    kind: PduKind,
}

impl PduAt {
    /// The PDU's kind.
    pub fn kind(self) -> PduKind {
        self.kind
    }
}

/// What a UDP datagram carried, as the dissector found it (kept in the table as a [`Layer`],
/// its rare large parts in the table's side lists).
#[derive(Debug)]
enum Found {
    /// Not dissected: the IPv4/UDP headers did not parse, or CC records nest too deep.
    NotUdp(Damage),
    Ack,
    Data {
        seq: u32,
        pdu: PduAt,
    },
    Li(LiLayer),
    Media,
    Other,
    /// The UDP payload did not decode.
    Damaged(Damage),
}

impl Found {
    fn damage(&self) -> Option<&Damage> {
        match self {
            Found::NotUdp(d) | Found::Damaged(d) => Some(d),
            Found::Li(LiLayer {
                content: LiContent::Damaged(d),
                ..
            }) => Some(d),
            _ => None,
        }
    }
}

/// The layers of an observation, in 8 bytes: what a packet carries, with an LI record or a
/// damage as its number in the table's side lists ([`Observations::li`],
/// [`Observations::damage`]).
#[derive(Clone, Copy, Debug)]
enum Layer {
    /// Not a UDP datagram (damage number).
    NotUdp(u32),
    /// A reliable-layer acknowledgement (its sequence numbers are in the bytes; no analysis
    /// reads them).
    Ack,
    /// A DATA frame: its sequence number and where its PDU is.
    Data { seq: u32, pdu: PduAt },
    /// An LI record (mediation vantages only): its number in the LI list.
    Li(u32),
    /// A voice media packet: see [`Observation::media`].
    Media,
    /// A port this adversary does not dissect (or LI delivery outside a mediation vantage).
    Other,
    /// The UDP payload did not decode (damage number).
    Damaged(u32),
}

/// One packet, captured or found inside a CC record, dissected. One per packet, so kept small:
/// 40 bytes and no heap of its own. Vantage and depth are narrow, the bytes are borrowed, the
/// addresses are read from the bytes' headers when asked for, a DATA frame's PDU is decoded
/// from the bytes when read, and the rare large layers (LI records, damage) are kept in the
/// table's side lists ([`Observations::li`], [`Observations::damage`]).
#[derive(Debug)]
pub struct Observation<'c> {
    /// When the tap saw it; for a packet inside a CC record, the record's timestamp.
    pub time: Timestamp,
    /// The IPv4 datagram, borrowed from the captures (for a packet inside a CC record: the
    /// record's payload, inside the captured datagram that carried it).
    pub bytes: &'c [u8],
    /// Its layers.
    layer: Layer,
    /// Index of the vantage in [`Captures::vantages`] (see [`Observation::vantage`]).
    vantage: u32,
    /// CC nesting depth (see [`Observation::depth`]).
    depth: u8,
}

impl<'c> Observation<'c> {
    /// Index of the vantage in [`Captures::vantages`].
    pub fn vantage(&self) -> usize {
        self.vantage as usize
    }

    /// 0 for a captured packet, n for a packet inside n nested CC records.
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// Bytes of the IPv4 datagram.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the datagram is empty (a zero-length capture).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether the IPv4/UDP headers parsed (and verified), so that the addresses can be read.
    pub fn is_udp(&self) -> bool {
        !matches!(self.layer, Layer::NotUdp(_))
    }

    /// Source and destination, read from the headers, if they parsed (they were checked when
    /// the table was built: the bytes are an IPv4 datagram with a UDP header after its IPv4
    /// header).
    pub fn sockets(&self) -> Option<(SocketAddrV4, SocketAddrV4)> {
        if !self.is_udp() {
            return None;
        }
        let b = self.bytes;
        let ip = |at: usize| -> Option<Ipv4Addr> {
            let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            Some(Ipv4Addr::from(a))
        };
        let udp = usize::from(b.first()? & 0x0f) * 4;
        let port = |at: usize| -> Option<u16> {
            let p: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
            Some(u16::from_be_bytes(p))
        };
        Some((
            SocketAddrV4::new(ip(12)?, port(udp)?),
            SocketAddrV4::new(ip(16)?, port(udp + 2)?),
        ))
    }

    /// Source and destination addresses, if the headers parsed.
    pub fn addrs(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        self.sockets().map(|(s, d)| (*s.ip(), *d.ip()))
    }

    /// The media PDU of a media packet, decoded now (media is not decoded with the table: no
    /// analysis reads it). `None` if this is not a media packet.
    pub fn media(&self) -> Option<Result<MediaPdu, Damage>> {
        if !matches!(self.layer, Layer::Media) {
            return None;
        }
        Some(match ip::parse_udp(self.bytes) {
            Ok(udp) => MediaPdu::decode(udp.payload).map_err(Damage::Media),
            Err(e) => Err(Damage::Ip(e)),
        })
    }

    /// The DATA frame's sequence number and application PDU, if this is one. The PDU is decoded
    /// now from the captured bytes (nothing is allocated; it decoded when the table was built,
    /// and decoding is pure), its fields pointing into the captures.
    pub fn data(&self) -> Option<(u32, AppPduRef<'c>)> {
        let (seq, at) = self.data_at()?;
        let pdu = AppPduRef::decode(self.bytes.get(usize::from(at.start)..)?);
        debug_assert!(pdu.is_ok(), "a PDU that decoded once decodes again");
        Some((seq, pdu.ok()?))
    }

    /// The DATA frame's sequence number and where its PDU is, if this is one (nothing decoded).
    pub fn data_at(&self) -> Option<(u32, PduAt)> {
        match self.layer {
            Layer::Data { seq, pdu } => Some((seq, pdu)),
            _ => None,
        }
    }

    /// Whether this observation carries a DATA frame or an LI record.
    fn has_content(&self) -> bool {
        matches!(self.layer, Layer::Data { .. } | Layer::Li(_))
    }
}

/// What the dissection counted: the counters of [`crate::Findings`], and `frames_damaged` for
/// the traffic analyses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets (captured or inside CC) decoded as a frame or an LI record.
    pub packets_parsed: usize,
    /// Well-formed UDP packets on ports the passive analysis does not read: other ports, LI
    /// delivery outside a mediation vantage, and media.
    pub packets_ignored: usize,
    /// Packets or records that did not parse.
    pub parse_errors: usize,
    /// Of those, UDP payloads on `FRAME_PORT` that are not frames.
    pub frames_damaged: usize,
    /// CC records (each wraps one intercepted packet).
    pub cc_packets: usize,
    /// IRI records decoded.
    pub iri_events: usize,
}

impl Counts {
    fn add(&mut self, found: &Found) {
        match found {
            Found::NotUdp(_) => self.parse_errors += 1,
            Found::Ack | Found::Data { .. } => self.packets_parsed += 1,
            Found::Li(li) => {
                self.packets_parsed += 1;
                match li.content {
                    LiContent::Iri(_) => self.iri_events += 1,
                    LiContent::Cc { .. } => self.cc_packets += 1,
                    LiContent::Damaged(_) => self.parse_errors += 1,
                }
            }
            Found::Media | Found::Other => self.packets_ignored += 1,
            Found::Damaged(d) => {
                self.parse_errors += 1;
                if matches!(d, Damage::Frame(_)) {
                    self.frames_damaged += 1;
                }
            }
        }
    }
}

/// `(a, b)` in order: the key of an unordered pair.
pub(crate) fn pair<T: Ord>(a: T, b: T) -> (T, T) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Who is who, learned once from the clear traffic of the whole table.
///
/// - **OTT relays**: an address that sends clear OTT envelopes from two or more accounts, or
///   receives envelopes for two or more accounts.
/// - **SMS speakers**: addresses that send or receive clear SMS PDUs.
/// - **Tunnel initiators**: per address pair, the sender of the earliest tunnel handshake message
///   (the first in table order among equally early ones); the other end is a **tunnel
///   responder**.
/// - **Servers** (for orienting flows): OTT relays and tunnel responders.
/// - **Relays** (for the traffic analyses): tunnel responders that answered two or more
///   initiators, and OTT relays, except SMS speakers (those are carrier gateways).
/// - **Sessions**: the protocol name of each end-to-end session, from its first handshake
///   envelope.
/// - **Names**: an address is named by an MSISDN when clear evidence ties it to exactly one
///   number and the number to exactly one address: an SMS it submitted (sender) or received
///   (recipient), a CC copy (the target side, by the record's direction, of a packet that is not
///   an SMS, under a warrant on the vantage's list), and the accounts of clear OTT envelopes it
///   sent or received unless it is a relay.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    ott_relays: BTreeSet<Ipv4Addr>,
    sms_speakers: BTreeSet<Ipv4Addr>,
    tunnel_initiators: BTreeMap<(Ipv4Addr, Ipv4Addr), (Timestamp, Ipv4Addr)>,
    tunnel_responders: BTreeSet<Ipv4Addr>,
    relays: BTreeSet<Ipv4Addr>,
    /// Lower account → higher account → session id → protocol name.
    sessions: BTreeMap<String, BTreeMap<String, BTreeMap<u64, String>>>,
    names: BTreeMap<Ipv4Addr, String>,
    msisdn_len: usize,
}

/// Clear evidence tying addresses to MSISDNs (SMS PDUs and CC copies), and how often each
/// MSISDN length occurred in it.
#[derive(Default)]
struct Bindings<'a> {
    by_addr: BTreeMap<Ipv4Addr, BTreeSet<&'a str>>,
    lens: BTreeMap<usize, usize>,
}

impl<'a> Bindings<'a> {
    fn add(&mut self, a: Ipv4Addr, msisdn: &'a str) {
        *self.lens.entry(msisdn.len()).or_default() += 1;
        self.by_addr.entry(a).or_default().insert(msisdn);
    }
}

/// Whether `o` is an SMS DATA frame sent to `FRAME_PORT`.
fn is_sms_to_frame_port(o: &Observation<'_>) -> bool {
    o.sockets().is_some_and(|(_, dst)| dst.port() == FRAME_PORT)
        && o.data_at().is_some_and(|(_, at)| at.kind() == PduKind::Sms)
}

impl Roles {
    /// Learns the roles from the observations of `packets` listed in `content` (those with a
    /// DATA frame or an LI record, in table order); `lis` is the table's LI list.
    fn learn(
        packets: &[Observation<'_>],
        content: &[u32],
        lis: &[LiLayer],
        captures: &Captures,
    ) -> Roles {
        // Warrant list of each vantage: LIID → target MSISDN.
        let liids: Vec<BTreeMap<&str, &str>> = captures
            .vantages
            .iter()
            .map(|v| {
                v.warrants
                    .iter()
                    .map(|w| (w.liid.as_str(), w.target_msisdn.as_str()))
                    .collect()
            })
            .collect();
        let mut r = Roles::default();
        let mut ott_from: BTreeMap<Ipv4Addr, BTreeSet<&str>> = BTreeMap::new();
        let mut ott_to: BTreeMap<Ipv4Addr, BTreeSet<&str>> = BTreeMap::new();
        let mut bind = Bindings::default();
        for o in content.iter().filter_map(|&i| packets.get(i as usize)) {
            let Some((src, dst)) = o.addrs() else {
                continue;
            };
            match o.layer {
                Layer::Data { .. } => match o.data().map(|(_, pdu)| pdu) {
                    Some(AppPduRef::Sms(s)) => {
                        r.sms_speakers.insert(src);
                        r.sms_speakers.insert(dst);
                        let (a, m) = match s.kind {
                            SmsKind::Submit => (src, s.from),
                            SmsKind::Deliver => (dst, s.to),
                        };
                        bind.add(a, m);
                    }
                    Some(AppPduRef::Ott(env)) => {
                        ott_from.entry(src).or_default().insert(env.from);
                        ott_to.entry(dst).or_default().insert(env.to);
                        if env.kind == NoiseKind::Handshake {
                            let (lo, hi) = pair(env.from, env.to);
                            r.sessions
                                .entry(lo.to_owned())
                                .or_default()
                                .entry(hi.to_owned())
                                .or_default()
                                .entry(env.session)
                                .or_insert_with(|| env.protocol.to_owned());
                        }
                    }
                    Some(AppPduRef::Tunnel(t)) if t.kind == NoiseKind::Handshake => {
                        let e = r
                            .tunnel_initiators
                            .entry(pair(src, dst))
                            .or_insert((o.time, src));
                        if o.time < e.0 {
                            *e = (o.time, src);
                        }
                    }
                    Some(AppPduRef::Tunnel(_) | AppPduRef::Call(_)) | None => {}
                },
                Layer::Li(n) => {
                    let Some(LiLayer {
                        record,
                        content: LiContent::Cc { inner },
                    }) = lis.get(n as usize)
                    else {
                        continue;
                    };
                    // A data packet copied by address: its target side is the target's handset.
                    let target = liids
                        .get(o.vantage())
                        .and_then(|l| l.get(record.liid.as_str()));
                    let copied = packets.get(*inner);
                    if let (Some(&target), Some(c)) = (target, copied) {
                        if let Some((src, dst)) = c.addrs().filter(|_| !is_sms_to_frame_port(c)) {
                            let a = match record.direction {
                                LiDirection::FromTarget => src,
                                LiDirection::ToTarget => dst,
                            };
                            bind.add(a, target);
                        }
                    }
                }
                _ => {}
            }
        }

        // Servers and relays.
        let many = |m: &BTreeMap<Ipv4Addr, BTreeSet<&str>>| -> Vec<Ipv4Addr> {
            m.iter()
                .filter(|(_, accounts)| accounts.len() >= 2)
                .map(|(a, _)| *a)
                .collect()
        };
        r.ott_relays.extend(many(&ott_from));
        r.ott_relays.extend(many(&ott_to));
        let mut initiators: BTreeMap<Ipv4Addr, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        for (&(x, y), &(_, init)) in &r.tunnel_initiators {
            let resp = if init == x { y } else { x };
            r.tunnel_responders.insert(resp);
            initiators.entry(resp).or_default().insert(init);
        }
        r.relays = initiators
            .iter()
            .filter(|(_, i)| i.len() >= 2)
            .map(|(a, _)| *a)
            .chain(r.ott_relays.iter().copied())
            .filter(|a| !r.sms_speakers.contains(a))
            .collect();

        // Names: one address ↔ one number, both ways unique.
        let Bindings {
            by_addr: mut bind,
            lens,
        } = bind;
        for (a, s) in ott_from.iter().chain(ott_to.iter()) {
            if !r.relays.contains(a) {
                bind.entry(*a).or_default().extend(s.iter().copied());
            }
        }
        let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
        for s in bind.values().filter(|s| s.len() == 1) {
            for m in s {
                *owners.entry(m).or_default() += 1;
            }
        }
        r.names = bind
            .into_iter()
            .filter(|(_, s)| s.len() == 1)
            .filter_map(|(a, s)| s.into_iter().next().map(|m| (a, m)))
            .filter(|(_, m)| owners.get(m) == Some(&1))
            .map(|(a, m)| (a, m.to_owned()))
            .collect();
        r.msisdn_len = lens
            .iter()
            .max_by_key(|(len, n)| (**n, core::cmp::Reverse(**len)))
            .map_or(12, |(len, _)| *len);
        r
    }

    /// Whether `a` is known as a server: an OTT relay or a tunnel responder.
    pub fn is_server(&self, a: Ipv4Addr) -> bool {
        self.ott_relays.contains(&a) || self.tunnel_responders.contains(&a)
    }

    /// `(subscriber, server)` for a packet between `src` and `dst`: the tunnel initiator is the
    /// subscriber if a handshake between them was seen; else a known server (OTT relay or tunnel
    /// responder) is the server side; else the lower address is taken as the subscriber.
    pub fn orient(&self, src: Ipv4Addr, dst: Ipv4Addr) -> (Ipv4Addr, Ipv4Addr) {
        let (lo, hi) = pair(src, dst);
        if let Some(&(_, init)) = self.tunnel_initiators.get(&(lo, hi)) {
            return if init == lo { (lo, hi) } else { (hi, lo) };
        }
        match (self.is_server(lo), self.is_server(hi)) {
            (true, false) => (hi, lo),
            _ => (lo, hi),
        }
    }

    /// The channel of a tunnel to `server`: an OTT server if it relays clear envelopes, a carrier
    /// gateway if it exchanges clear SMS, else unknown.
    pub fn tunnel_channel(&self, server: Ipv4Addr) -> Channel {
        if self.ott_relays.contains(&server) {
            Channel::OttTunnel
        } else if self.sms_speakers.contains(&server) {
            Channel::CarrierTunnel
        } else {
            Channel::Tunnel
        }
    }

    /// The protocol name of session `session` between accounts `a` and `b` (either order), from
    /// its first handshake envelope.
    pub fn session_protocol(&self, a: &str, b: &str, session: u64) -> Option<&str> {
        let (lo, hi) = pair(a, b);
        self.sessions
            .get(lo)?
            .get(hi)?
            .get(&session)
            .map(String::as_str)
    }

    /// The relays of the traffic analyses, sorted.
    pub fn relays(&self) -> &BTreeSet<Ipv4Addr> {
        &self.relays
    }

    /// The MSISDN address `a` is tied to, if the evidence is unambiguous.
    pub fn name(&self, a: Ipv4Addr) -> Option<&str> {
        self.names.get(&a).map(String::as_str)
    }

    /// The most common MSISDN length (bytes) in the clear evidence for names (SMS PDUs and CC
    /// copies); 12 if none was seen.
    pub fn msisdn_len(&self) -> usize {
        self.msisdn_len
    }
}

/// A DATA frame of the table, with its packet.
#[derive(Clone, Copy, Debug)]
pub struct DataFrame<'a, 'c> {
    /// The packet it came in.
    pub obs: &'a Observation<'c>,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// The frame's sequence number.
    pub seq: u32,
    /// The application PDU, its fields pointing into the captures.
    pub pdu: AppPduRef<'c>,
}

/// Every captured packet dissected once, what the dissection counted, and the roles learned
/// from it.
#[derive(Debug)]
pub struct Observations<'c> {
    captures: &'c Captures,
    packets: Vec<Observation<'c>>,
    /// Indices of the observations with a DATA frame or an LI record, ascending (`u32`, and
    /// sized exactly: one per DATA frame, half the table).
    content: Vec<u32>,
    /// The LI records, in table order ([`Layer::Li`] numbers).
    lis: Vec<LiLayer>,
    /// The damage of every damaged observation, in table order ([`Layer::NotUdp`] and
    /// [`Layer::Damaged`] numbers).
    damages: Vec<Damage>,
    counts: Counts,
    roles: Roles,
}

/// Pass 1: bytes to observations.
struct Dissector<'c> {
    captures: &'c Captures,
    packets: Vec<Observation<'c>>,
    content: Vec<u32>,
    lis: Vec<LiLayer>,
    damages: Vec<Damage>,
    counts: Counts,
}

/// A position in one of the table's lists. 2^32 entries would be a table of 160 GiB: out of
/// any run's reach.
fn number(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl<'c> Dissector<'c> {
    fn push(
        &mut self,
        vantage: usize,
        time: Timestamp,
        depth: usize,
        bytes: &'c [u8],
        found: Found,
    ) {
        if let Some(err) = found.damage() {
            let name = self
                .captures
                .vantages
                .get(vantage)
                .map_or("", |v| v.name.as_str());
            tracing::debug!(vantage = name, %time, %err, "unparseable capture");
        }
        self.counts.add(&found);
        let layer = match found {
            Found::NotUdp(d) => {
                self.damages.push(d);
                Layer::NotUdp(number(self.damages.len() - 1))
            }
            Found::Ack => Layer::Ack,
            Found::Data { seq, pdu } => Layer::Data { seq, pdu },
            Found::Li(li) => {
                self.lis.push(li);
                Layer::Li(number(self.lis.len() - 1))
            }
            Found::Media => Layer::Media,
            Found::Other => Layer::Other,
            Found::Damaged(d) => {
                self.damages.push(d);
                Layer::Damaged(number(self.damages.len() - 1))
            }
        };
        let o = Observation {
            time,
            bytes,
            layer,
            // Vantages are counted in the scenario, nesting stops at MAX_CC_DEPTH + 1.
            vantage: u32::try_from(vantage).unwrap_or(u32::MAX),
            depth: u8::try_from(depth).unwrap_or(u8::MAX),
        };
        if o.has_content() {
            self.content.push(number(self.packets.len()));
        }
        self.packets.push(o);
    }

    fn packet(
        &mut self,
        vantage: usize,
        mediation: bool,
        time: Timestamp,
        bytes: &'c [u8],
        depth: usize,
    ) {
        let (found, cc) = match ip::parse_udp(bytes) {
            // Read only what a receiving host would accept: a damaged packet is counted, never
            // read (it would make false recoveries of flipped texts).
            Ok(_) if !ip::checksums_ok(bytes) => (Found::NotUdp(Damage::Checksum), None),
            Ok(udp) => {
                debug_assert_eq!(
                    Observation {
                        time,
                        bytes,
                        layer: Layer::Other,
                        vantage: 0,
                        depth: 0
                    }
                    .sockets(),
                    Some((udp.src, udp.dst)),
                    "the addresses are read back from the headers"
                );
                self.payload(bytes, &udp, mediation)
            }
            Err(e) => (Found::NotUdp(Damage::Ip(e)), None),
        };
        self.push(vantage, time, depth, bytes, found);
        if let Some((at, inner)) = cc {
            if depth >= MAX_CC_DEPTH {
                self.push(
                    vantage,
                    at,
                    depth + 1,
                    inner,
                    Found::NotUdp(Damage::TooDeep),
                );
            } else {
                self.packet(vantage, mediation, at, inner, depth + 1);
            }
        }
    }

    /// Dissects a UDP payload (of the packet about to be pushed); for a CC record, also returns
    /// the record's timestamp and the packet it wraps.
    fn payload(
        &self,
        bytes: &'c [u8],
        udp: &ip::UdpView<'c>,
        mediation: bool,
    ) -> (Found, Option<(Timestamp, &'c [u8])>) {
        let ports = [udp.src.port(), udp.dst.port()];
        if ports.contains(&FRAME_PORT) {
            let payload = match FrameRef::decode(udp.payload) {
                Ok(FrameRef::Ack { .. }) => Found::Ack,
                Ok(FrameRef::Data { seq, payload }) => match AppPduRef::decode(payload) {
                    Ok(pdu) => {
                        // The frame's payload ends the frame, which ends the datagram
                        // (`ip::parse_udp` checked both lengths), whose length is a u16.
                        let start = bytes.len().saturating_sub(payload.len());
                        debug_assert_eq!(bytes.get(start..), Some(payload));
                        Found::Data {
                            seq,
                            pdu: PduAt {
                                start: u16::try_from(start).unwrap_or(u16::MAX),
                                kind: PduKind::of(&pdu),
                            },
                        }
                    }
                    Err(e) => Found::Damaged(Damage::AppPdu(e)),
                },
                Err(e) => Found::Damaged(Damage::Frame(e)),
            };
            (payload, None)
        } else if mediation && ports.contains(&LI_PORT) {
            let rec = match LiRecordRef::decode(udp.payload) {
                Ok(rec) => rec,
                Err(e) => return (Found::Damaged(Damage::LiRecord(e)), None),
            };
            let record = LiHeader {
                liid: rec.liid.to_owned(),
                correlation: rec.correlation,
                timestamp: rec.timestamp,
                direction: rec.direction,
            };
            let (content, cc) = match rec.kind {
                LiKind::Iri => match Iri::decode(rec.payload) {
                    Ok(iri) => (LiContent::Iri(iri), None),
                    Err(e) => (LiContent::Damaged(Damage::Iri(e)), None),
                },
                // The wrapped packet is borrowed where the record carries it, not copied.
                LiKind::Cc => (
                    LiContent::Cc {
                        inner: self.packets.len() + 1,
                    },
                    Some((rec.timestamp, rec.payload)),
                ),
            };
            (Found::Li(LiLayer { record, content }), cc)
        } else if ports.contains(&MEDIA_PORT) {
            (Found::Media, None)
        } else {
            (Found::Other, None)
        }
    }
}

impl<'c> Observations<'c> {
    /// Dissects every packet of `captures` once and learns the roles. Never panics on malformed
    /// bytes: they are [`Damage`]d observations, counted in [`Observations::counts`].
    pub fn decode(captures: &'c Captures) -> Observations<'c> {
        let mut d = Dissector {
            captures,
            packets: Vec::with_capacity(captures.packet_count()),
            content: Vec::new(),
            lis: Vec::new(),
            damages: Vec::new(),
            counts: Counts::default(),
        };
        for (i, v) in captures.vantages.iter().enumerate() {
            let mediation = v.kind == VantageKind::Mediation;
            if let Some(pc) = &v.packets {
                for p in &pc.packets {
                    d.packet(i, mediation, p.time, p.bytes, 0);
                }
            }
        }
        // Packets found inside CC records come on top of the captured ones the table was
        // sized for, and the vector doubled for them: give the untouched half back.
        d.packets.shrink_to_fit();
        d.content.shrink_to_fit();
        let roles = Roles::learn(&d.packets, &d.content, &d.lis, captures);
        Observations {
            captures,
            packets: d.packets,
            content: d.content,
            lis: d.lis,
            damages: d.damages,
            counts: d.counts,
            roles,
        }
    }

    /// The captures the table was built from (warrant lists and call records are read there).
    pub fn captures(&self) -> &'c Captures {
        self.captures
    }

    /// Every observation, in table order.
    pub fn packets(&self) -> &[Observation<'c>] {
        &self.packets
    }

    /// What the dissection counted.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The roles learned from the whole table.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// The name of vantage `v` (empty if out of range).
    pub fn vantage_name(&self, v: usize) -> &'c str {
        self.captures
            .vantages
            .get(v)
            .map_or("", |v| v.name.as_str())
    }

    /// The observations that carry a DATA frame or an LI record, in table order: everything
    /// an analysis reads (ACKs, media, other ports and damaged packets are only counted).
    pub fn with_content(&self) -> impl Iterator<Item = &Observation<'c>> {
        self.content
            .iter()
            .filter_map(|&i| self.packets.get(i as usize))
    }

    /// Every DATA frame with its application PDU, in table order.
    pub fn data_frames(&self) -> impl Iterator<Item = DataFrame<'_, 'c>> {
        self.data_frames_of(|_| true)
    }

    /// The DATA frames whose PDU is of a kind `want` accepts (the others are not decoded).
    pub fn data_frames_of(
        &self,
        want: impl Fn(PduKind) -> bool,
    ) -> impl Iterator<Item = DataFrame<'_, 'c>> {
        self.with_content().filter_map(move |obs| {
            if !want(obs.data_at()?.1.kind()) {
                return None;
            }
            let (src, dst) = obs.sockets()?;
            let (seq, pdu) = obs.data()?;
            Some(DataFrame {
                obs,
                src,
                dst,
                seq,
                pdu,
            })
        })
    }

    /// Every OTT envelope seen in clear (copies included), with its packet, in table order.
    pub fn ott_envelopes(&self) -> impl Iterator<Item = (&Observation<'c>, OttEnvelopeRef<'c>)> {
        self.data_frames_of(|k| k == PduKind::Ott)
            .filter_map(|f| match f.pdu {
                AppPduRef::Ott(env) => Some((f.obs, env)),
                _ => None,
            })
    }

    /// Every IRI record with its LI header and packet, in table order.
    pub fn iri(&self) -> impl Iterator<Item = (&Observation<'c>, &LiHeader, &Iri)> {
        self.with_content().filter_map(|o| {
            let (record, iri) = self.iri_of(o)?;
            Some((o, record, iri))
        })
    }

    /// The LI record observation `o` carries, if it is one.
    pub fn li(&self, o: &Observation<'_>) -> Option<&LiLayer> {
        match o.layer {
            Layer::Li(n) => self.lis.get(n as usize),
            _ => None,
        }
    }

    /// The header and IRI of the IRI record observation `o` carries, if it is one.
    pub fn iri_of(&self, o: &Observation<'_>) -> Option<(&LiHeader, &Iri)> {
        let li = self.li(o)?;
        match &li.content {
            LiContent::Iri(iri) => Some((&li.record, iri)),
            _ => None,
        }
    }

    /// The damage that stopped the dissection of `o`, at whichever layer.
    pub fn damage(&self, o: &Observation<'_>) -> Option<&Damage> {
        match o.layer {
            Layer::NotUdp(n) | Layer::Damaged(n) => self.damages.get(n as usize),
            Layer::Li(_) => match &self.li(o)?.content {
                LiContent::Damaged(d) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture::{CapturedPacket, PacketCapture, VantagePoint, Warrant, WarrantKind};
    use proto::wire::{AppPdu, Frame, LiRecord, SmsPdu, TunnelPdu};

    const SUB_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const SUB_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const SMSC: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 3);
    const POI: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 2);
    const MEDIATION: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 4);
    const OTT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

    fn udp(src: Ipv4Addr, dst: Ipv4Addr, port: u16, payload: &[u8]) -> Vec<u8> {
        ip::build_udp(
            SocketAddrV4::new(src, port),
            SocketAddrV4::new(dst, port),
            payload,
        )
        .expect("small payload")
    }

    fn data(src: Ipv4Addr, dst: Ipv4Addr, seq: u32, pdu: &AppPdu) -> Vec<u8> {
        let payload = pdu.to_bytes().expect("encodable");
        let frame = Frame::Data { seq, payload };
        udp(src, dst, FRAME_PORT, &frame.to_bytes().expect("encodable"))
    }

    fn sms(kind: SmsKind, from: &str, to: &str, text: &str) -> AppPdu {
        AppPdu::Sms(SmsPdu {
            kind,
            msg_ref: 7,
            from: from.into(),
            to: to.into(),
            sent_at: Timestamp::from_secs(1),
            text: text.into(),
        })
    }

    fn tunnel(kind: NoiseKind) -> AppPdu {
        AppPdu::Tunnel(TunnelPdu {
            kind,
            noise: vec![0xaa; 48],
        })
    }

    fn li(kind: LiKind, liid: &str, ms: u64, direction: LiDirection, payload: Vec<u8>) -> Vec<u8> {
        let rec = LiRecord {
            kind,
            liid: liid.into(),
            correlation: 9,
            timestamp: Timestamp::from_millis(ms),
            direction,
            payload,
        };
        udp(POI, MEDIATION, LI_PORT, &rec.to_bytes().expect("encodable"))
    }

    fn vantage(name: &str, kind: VantageKind, packets: Vec<(u64, Vec<u8>)>) -> VantagePoint {
        VantagePoint {
            name: name.into(),
            carrier: "atlantic".into(),
            kind,
            packets: Some(PacketCapture {
                name: name.into(),
                packets: packets
                    .into_iter()
                    .map(|(ms, bytes)| CapturedPacket {
                        time: Timestamp::from_millis(ms),
                        bytes,
                    })
                    .collect(),
            }),
            warrants: vec![],
            call_records: Default::default(),
        }
    }

    fn one(v: VantagePoint) -> Captures {
        Captures { vantages: vec![v] }
    }

    #[test]
    fn a_captured_packet_is_dissected_into_its_layers() {
        let text = "meet at noon";
        let caps = one(vantage(
            "core",
            VantageKind::CoreTap,
            vec![(
                5,
                data(
                    SUB_A,
                    SMSC,
                    3,
                    &sms(SmsKind::Submit, "+1555", "+1666", text),
                ),
            )],
        ));
        let obs = Observations::decode(&caps);
        let [o] = obs.packets() else {
            panic!("one observation: {:?}", obs.packets())
        };
        assert_eq!(
            (o.vantage(), o.time, o.depth()),
            (0, Timestamp::from_millis(5), 0)
        );
        let captured = caps.vantages[0].packets.as_ref().unwrap().packets.get(0);
        let captured = captured.expect("one packet").bytes;
        assert_eq!(o.len(), captured.len());
        assert!(
            core::ptr::eq(o.bytes, captured),
            "a captured packet's bytes are borrowed, not copied"
        );
        assert_eq!(o.addrs(), Some((SUB_A, SMSC)));
        let Some((3, AppPduRef::Sms(s))) = o.data() else {
            panic!("an SMS DATA frame: {o:?}")
        };
        assert_eq!(s.text, text);
        let inside = |field: &str| {
            let (f, c) = (field.as_bytes().as_ptr_range(), captured.as_ptr_range());
            c.start <= f.start && f.end <= c.end
        };
        assert!(
            [s.from, s.to, s.text].into_iter().all(inside),
            "the PDU's strings point into the captured packet, not into copies"
        );
        assert_eq!(o.data_at().map(|(_, at)| at.kind()), Some(PduKind::Sms));
        assert!(obs.damage(o).is_none());
        assert_eq!(
            obs.counts(),
            Counts {
                packets_parsed: 1,
                ..Counts::default()
            }
        );
        assert_eq!(obs.vantage_name(o.vantage()), "core");
        assert_eq!(obs.data_frames().count(), 1);
    }

    #[test]
    fn an_observation_stays_small() {
        // One per captured packet: 80 bytes when it held a `Cow` and two `usize`s, 64 with its
        // addresses and a boxed owned PDU.
        assert!(core::mem::size_of::<Observation<'_>>() <= 40);
        // A DATA frame's PDU is a position in the packet, not a pointer to a decoded copy.
        assert!(core::mem::size_of::<PduAt>() <= 4);
    }

    #[test]
    fn the_content_index_is_four_bytes_an_entry_without_spare_capacity() {
        let packet = |n: u32| data(SUB_A, SMSC, n, &sms(SmsKind::Submit, "+1", "+2", "hi"));
        let caps = one(vantage(
            "core",
            VantageKind::CoreTap,
            (0..1000).map(|n| (u64::from(n), packet(n))).collect(),
        ));
        let obs = Observations::decode(&caps);
        assert_eq!(obs.content.len(), 1000);
        assert_eq!(obs.content.capacity(), obs.content.len());
        assert_eq!(core::mem::size_of_val(&obs.content[0]), 4);
        assert_eq!(obs.packets.capacity(), obs.packets.len());
    }

    #[test]
    fn a_cc_records_packet_is_the_next_observation_dated_by_the_record() {
        let inner = data(SUB_A, OTT, 0, &tunnel(NoiseKind::Transport));
        let inner_len = inner.len();
        let caps = one(vantage(
            "mediation",
            VantageKind::Mediation,
            vec![(
                100,
                li(LiKind::Cc, "LI-1", 90, LiDirection::FromTarget, inner),
            )],
        ));
        let obs = Observations::decode(&caps);
        let [outer, copied] = obs.packets() else {
            panic!("the record and its packet: {:?}", obs.packets())
        };
        let Some(LiLayer {
            record,
            content: LiContent::Cc { inner: 1 },
        }) = obs.li(outer)
        else {
            panic!("a CC record pointing at the next observation: {outer:?}")
        };
        assert_eq!(record.liid, "LI-1");
        assert_eq!(record.timestamp, Timestamp::from_millis(90));
        assert_eq!(outer.time, Timestamp::from_millis(100));
        assert_eq!(copied.depth(), 1);
        assert_eq!(
            copied.time,
            Timestamp::from_millis(90),
            "the record's timestamp"
        );
        assert_eq!(copied.len(), inner_len);
        let record = caps.vantages[0].packets.as_ref().unwrap().packets.get(0);
        let record = record.expect("one packet").bytes;
        assert_eq!(
            copied.bytes.as_ptr_range().end,
            record.as_ptr_range().end,
            "the wrapped packet is borrowed at the end of the captured record, not copied"
        );
        assert_eq!(copied.addrs(), Some((SUB_A, OTT)));
        let Some((0, AppPduRef::Tunnel(t))) = copied.data() else {
            panic!("a tunnel DATA frame: {copied:?}")
        };
        assert_eq!(
            t.noise.as_ptr_range().end,
            record.as_ptr_range().end,
            "the wrapped PDU is read from the captured record"
        );
        let c = obs.counts();
        assert_eq!((c.packets_parsed, c.cc_packets, c.parse_errors), (2, 1, 0));
    }

    #[test]
    fn cc_records_nested_too_deep_are_counted_not_dissected() {
        let mut bytes = data(SUB_A, OTT, 0, &tunnel(NoiseKind::Transport));
        for _ in 0..=MAX_CC_DEPTH {
            bytes = li(LiKind::Cc, "LI-1", 1, LiDirection::FromTarget, bytes);
        }
        let caps = one(vantage(
            "mediation",
            VantageKind::Mediation,
            vec![(1, bytes)],
        ));
        let obs = Observations::decode(&caps);
        let last = obs.packets().last().expect("observations");
        assert_eq!(last.depth(), MAX_CC_DEPTH + 1);
        assert!(matches!(obs.damage(last), Some(Damage::TooDeep)));
        assert_eq!(
            obs.data_frames().count(),
            0,
            "the innermost frame is not read"
        );
        let c = obs.counts();
        assert_eq!(c.cc_packets, MAX_CC_DEPTH + 1);
        assert_eq!(c.parse_errors, 1);
    }

    #[test]
    fn damaged_packets_are_counted_once_and_never_read() {
        // A DATA frame whose PDU does not decode (invalid UTF-8 in the text), with valid
        // checksums: damage at the application layer, not in transit.
        let mut pdu = sms(SmsKind::Submit, "+1", "+2", "hi")
            .to_bytes()
            .expect("encodable");
        let n = pdu.len();
        pdu[n - 1] = 0xff;
        let frame = Frame::Data {
            seq: 0,
            payload: pdu,
        };
        let bad_pdu = udp(
            SUB_A,
            SMSC,
            FRAME_PORT,
            &frame.to_bytes().expect("encodable"),
        );
        // A good SMS damaged in transit: one bit of its text flipped after the checksums were
        // computed (a frame-check miss). A host drops it; the adversary must not read it.
        let mut flipped = data(SUB_A, SMSC, 1, &sms(SmsKind::Submit, "+1", "+2", "hello"));
        let n = flipped.len();
        flipped[n - 1] ^= 0x01;
        let caps = one(vantage(
            "mediation",
            VantageKind::Mediation,
            vec![
                (1, vec![0xde, 0xad]),
                (2, udp(SUB_A, SMSC, FRAME_PORT, b"WT\x01\x01\x00")),
                (3, bad_pdu),
                (4, udp(POI, MEDIATION, LI_PORT, b"X3")),
                (
                    5,
                    li(LiKind::Iri, "LI-1", 5, LiDirection::ToTarget, vec![9, 9]),
                ),
                (6, udp(SUB_A, SUB_B, MEDIA_PORT, b"??")),
                (7, udp(SUB_A, OTT, 53, b"dns?")),
                (8, flipped),
            ],
        ));
        let obs = Observations::decode(&caps);
        assert_eq!(obs.packets().len(), 8);
        let layers: Vec<&str> = obs
            .packets()
            .iter()
            .map(|o| match obs.damage(o) {
                Some(Damage::Ip(_)) => "ip",
                Some(Damage::Checksum) => "checksum",
                Some(Damage::Frame(_)) => "frame",
                Some(Damage::AppPdu(_)) => "app",
                Some(Damage::LiRecord(_)) => "li",
                Some(Damage::Iri(_)) => "iri",
                Some(Damage::Media(_)) => "media",
                Some(Damage::TooDeep) => "deep",
                None => "-",
            })
            .collect();
        assert_eq!(
            layers,
            ["ip", "frame", "app", "li", "iri", "-", "-", "checksum"],
            "each packet is damaged at the layer that refused it"
        );
        assert!(
            matches!(obs.packets()[5].media(), Some(Err(Damage::Media(_)))),
            "media is decoded on demand, and its damage found then"
        );
        assert_eq!(
            obs.counts(),
            Counts {
                packets_parsed: 1, // the IRI record's LI layer
                packets_ignored: 2,
                parse_errors: 6,
                frames_damaged: 1,
                cc_packets: 0,
                iri_events: 0,
            },
            "media is not read by the passive analysis: ignored"
        );
        assert_eq!(obs.data_frames().count(), 0);
        assert_eq!(obs.iri().count(), 0);
        assert_eq!(
            obs.with_content().count(),
            1,
            "only the IRI record's LI layer"
        );
        let f = crate::passive::analyze("t", &obs).0;
        assert!(f.recovered.is_empty() && f.flows.is_empty() && f.contact_pairs.is_empty());
        assert_eq!((f.parse_errors, f.packets_ignored), (6, 2));
    }

    #[test]
    fn a_media_packet_is_decoded_on_demand_and_counted_as_ignored() {
        let pdu = MediaPdu {
            call_id: 42,
            seq: 7,
            encrypted: true,
            payload: vec![0x5a; 33],
        };
        let bytes = udp(
            SUB_A,
            SUB_B,
            MEDIA_PORT,
            &pdu.to_bytes().expect("encodable"),
        );
        let caps = one(vantage("core", VantageKind::CoreTap, vec![(1, bytes)]));
        let obs = Observations::decode(&caps);
        let [o] = obs.packets() else {
            panic!("one observation")
        };
        assert!(matches!(o.layer, Layer::Media));
        assert_eq!(o.addrs(), Some((SUB_A, SUB_B)));
        let Some(Ok(m)) = o.media() else {
            panic!("a media PDU: {o:?}")
        };
        assert_eq!(m, pdu);
        assert_eq!(obs.counts().packets_ignored, 1);
        assert_eq!(obs.with_content().count(), 0);
    }

    #[test]
    fn li_delivery_outside_a_mediation_vantage_is_not_dissected() {
        let inner = data(SUB_A, OTT, 0, &tunnel(NoiseKind::Transport));
        let caps = one(vantage(
            "core",
            VantageKind::CoreTap,
            vec![(1, li(LiKind::Cc, "LI-1", 1, LiDirection::FromTarget, inner))],
        ));
        let obs = Observations::decode(&caps);
        let [o] = obs.packets() else {
            panic!("one observation")
        };
        assert!(matches!(o.layer, Layer::Other));
        assert_eq!(
            o.sockets(),
            Some((
                SocketAddrV4::new(POI, LI_PORT),
                SocketAddrV4::new(MEDIATION, LI_PORT)
            ))
        );
        assert_eq!(obs.counts().packets_ignored, 1);
    }

    #[test]
    fn roles_come_from_the_whole_table() {
        let hs = tunnel(NoiseKind::Handshake);
        let mut v = vantage(
            "mediation",
            VantageKind::Mediation,
            vec![
                // The server answers first in capture order, but A's handshake is earlier.
                (20, data(OTT, SUB_A, 0, &hs)),
                (10, data(SUB_A, OTT, 0, &hs)),
                (30, data(SUB_B, OTT, 0, &hs)),
                (40, data(OTT, SUB_B, 0, &hs)),
                // A CC copy of a tunnel packet from B, under a warrant on this vantage's list.
                (
                    50,
                    li(
                        LiKind::Cc,
                        "LI-9",
                        45,
                        LiDirection::FromTarget,
                        data(SUB_B, OTT, 1, &tunnel(NoiseKind::Transport)),
                    ),
                ),
                (
                    60,
                    data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, "+1555", "+1666", "x")),
                ),
            ],
        );
        v.warrants.push(Warrant {
            liid: "LI-9".into(),
            target_msisdn: "+1777".into(),
            target_imsi: "001".into(),
            kind: WarrantKind::IriAndContent,
            agency: "FBI".into(),
            since: Timestamp::ZERO,
        });
        let caps = one(v);
        let obs = Observations::decode(&caps);
        let roles = obs.roles();
        assert_eq!(
            roles.orient(OTT, SUB_A),
            (SUB_A, OTT),
            "the initiator subscribes"
        );
        assert_eq!(roles.orient(SUB_B, OTT), (SUB_B, OTT));
        assert!(roles.is_server(OTT) && !roles.is_server(SUB_A));
        assert_eq!(roles.tunnel_channel(OTT), Channel::Tunnel);
        assert_eq!(roles.tunnel_channel(SMSC), Channel::CarrierTunnel);
        assert_eq!(roles.relays().iter().copied().collect::<Vec<_>>(), [OTT]);
        assert_eq!(
            roles.name(SUB_B),
            Some("+1777"),
            "the CC copy's target side"
        );
        assert_eq!(roles.name(SUB_A), Some("+1555"), "the SMS sender");
        assert_eq!(roles.name(OTT), None);
        assert_eq!(roles.msisdn_len(), 5);
    }

    #[test]
    fn passive_and_metadata_read_the_same_roles() {
        let hs = tunnel(NoiseKind::Handshake);
        let tr = tunnel(NoiseKind::Transport);
        let caps = one(vantage(
            "core",
            VantageKind::CoreTap,
            vec![
                (1, data(SUB_A, OTT, 0, &hs)),
                (2, data(OTT, SUB_A, 0, &hs)),
                (3, data(SUB_B, OTT, 0, &hs)),
                (4, data(OTT, SUB_B, 0, &hs)),
                (5, data(SUB_A, OTT, 1, &tr)),
                (6, data(OTT, SUB_B, 1, &tr)),
                (
                    7,
                    data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, "+1555", "+1666", "x")),
                ),
            ],
        ));
        let obs = Observations::decode(&caps);
        let roles = obs.roles();

        // Passive: flows oriented by the roles, the channel from the roles.
        let f = crate::passive::analyze("t", &obs).0;
        let tunnel_flows: Vec<(Ipv4Addr, Ipv4Addr)> = f
            .flows
            .iter()
            .map(|fl| (fl.subscriber, fl.server))
            .collect();
        assert_eq!(tunnel_flows, [(SUB_A, OTT), (SUB_B, OTT)]);
        for (sub, server) in &tunnel_flows {
            assert_eq!(roles.orient(*server, *sub), (*sub, *server));
        }
        assert!(f.flows.iter().all(|fl| fl.channel == Channel::Tunnel));

        // Metadata: the same relays, parties named by the same bindings.
        let t = crate::metadata::packets::Traffic::from_observations(&obs);
        assert_eq!(t.relays, roles.relays().iter().copied().collect::<Vec<_>>());
        assert_eq!(t.relays, [OTT]);
        assert_eq!(t.ups.len(), 1);
        assert_eq!(t.downs.len(), 1);
        assert_eq!(t.name(t.ups[0].party), "+1555", "named by the SMS it sent");
        assert_eq!(roles.name(SUB_A), Some("+1555"));
        assert_eq!(
            t.name(t.downs[0].party),
            "10.0.0.2",
            "no clear evidence: the address"
        );
        assert_eq!(roles.name(SUB_B), None);
    }
}
