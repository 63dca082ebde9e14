//! Packet metadata for the traffic analyses: who sent how many bytes to an OTT relay, when.
//!
//! [`Traffic::from_captures`] decodes every captured packet (taps of any kind except the
//! mediation function's LI delivery link, whose CC records are unwrapped instead and dated by the
//! record's timestamp) into compact [`Sighting`]s of encrypted tunnel traffic:
//!
//! - a **relay** is an address that answered Noise tunnel handshakes from two or more addresses,
//!   or that sends or receives clear OTT envelopes of two or more accounts, and never exchanges
//!   clear SMS PDUs (that would make it a carrier gateway);
//! - an **uplink** is a DATA frame carrying a tunnel transport message from a subscriber to a
//!   relay, a **downlink** one from a relay to a subscriber; ACK frames and tunnel handshakes are
//!   not messages. A frame seen several times (retransmission, several vantages) counts once, at
//!   its earliest sighting: the key is (source, destination, frame sequence number, size);
//! - **parties** are named by MSISDN when clear evidence ties the address to exactly one number
//!   (a clear SMS PDU it submitted or received, a clear OTT envelope, a CC copy by the
//!   direction field and the held warrant list), else by the dotted address.
//!
//! IRI records are collected for the location and warrant analyses, and the caller and callee
//! of every clear call-signalling INVITE for the contact graph.
//!
//! Cost: O(p log p) for p captured packets (ordered maps keyed by address and frame).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use capture::{ip, Captures, VantageKind};
use proto::wire::{
    AppPdu, CallKind, Frame, Iri, IriService, LiDirection, LiKind, LiRecord, NoiseKind, SmsKind,
    FRAME_PORT, LI_PORT,
};
use simcore::Timestamp;

/// How deep CC records may nest.
const MAX_CC_DEPTH: usize = 4;

/// One encrypted message-carrying frame between a subscriber and a relay. 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sighting {
    /// Earliest capture time, nanoseconds.
    pub time: u64,
    /// The subscriber side, an index into [`Traffic::parties`].
    pub party: u32,
    /// IPv4 datagram length in bytes.
    pub size: u32,
}

/// An IRI record as the mediation function received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IriSighting {
    /// The record's timestamp (time at the point of interception).
    pub time: Timestamp,
    /// The warrant's LIID.
    pub liid: String,
    /// The target MSISDN.
    pub target: String,
    /// The other party: an MSISDN or an address.
    pub other: String,
    /// SMS or data.
    pub service: IriService,
    /// The target's serving cell.
    pub cell: u32,
}

/// Encrypted traffic through relays, and IRI, as the captures show them.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Party names: an MSISDN or a dotted IPv4 address.
    pub parties: Vec<String>,
    /// Subscriber → relay messages, sorted by (time, party, size).
    pub ups: Vec<Sighting>,
    /// Relay → subscriber messages, sorted by (time, party, size).
    pub downs: Vec<Sighting>,
    /// Relay addresses, sorted.
    pub relays: Vec<Ipv4Addr>,
    /// Every IRI record, in capture order.
    pub iri: Vec<IriSighting>,
    /// `(caller, callee)` of every call INVITE seen in clear signalling, sorted.
    pub calls: Vec<(String, String)>,
    /// The most common MSISDN length (bytes) in clear traffic; 12 if none was seen.
    pub msisdn_len: usize,
    /// Packets or records that did not parse.
    pub parse_errors: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    TunnelHandshake,
    TunnelTransport,
    Other,
}

struct Frm {
    time: Timestamp,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    seq: u32,
    len: u32,
    kind: Kind,
}

#[derive(Default)]
struct Dec {
    frames: Vec<Frm>,
    bind: BTreeMap<Ipv4Addr, BTreeSet<String>>,
    sms_speakers: BTreeSet<Ipv4Addr>,
    ott_from: BTreeMap<Ipv4Addr, BTreeSet<String>>,
    ott_to: BTreeMap<Ipv4Addr, BTreeSet<String>>,
    iri: Vec<IriSighting>,
    calls: BTreeSet<(String, String)>,
    msisdn_lens: BTreeMap<usize, usize>,
    errors: usize,
}

impl Dec {
    fn bind(&mut self, a: Ipv4Addr, msisdn: &str) {
        *self.msisdn_lens.entry(msisdn.len()).or_default() += 1;
        self.bind.entry(a).or_default().insert(msisdn.to_owned());
    }

    fn packet(
        &mut self,
        time: Timestamp,
        bytes: &[u8],
        mediation: bool,
        liids: &BTreeMap<String, String>,
        depth: usize,
    ) {
        let Ok(udp) = ip::parse_udp(bytes) else {
            self.errors += 1;
            return;
        };
        let (src, dst) = (*udp.src.ip(), *udp.dst.ip());
        let ports = [udp.src.port(), udp.dst.port()];
        if ports.contains(&FRAME_PORT) {
            let Ok(Frame::Data { seq, payload }) = Frame::decode(udp.payload) else {
                return;
            };
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            let kind = match AppPdu::decode(&payload) {
                Ok(AppPdu::Sms(s)) => {
                    self.sms_speakers.insert(src);
                    self.sms_speakers.insert(dst);
                    match s.kind {
                        SmsKind::Submit => self.bind(src, &s.from),
                        SmsKind::Deliver => self.bind(dst, &s.to),
                    }
                    Kind::Other
                }
                Ok(AppPdu::Ott(env)) => {
                    self.ott_from.entry(src).or_default().insert(env.from);
                    self.ott_to.entry(dst).or_default().insert(env.to);
                    Kind::Other
                }
                Ok(AppPdu::Tunnel(t)) => match t.kind {
                    NoiseKind::Handshake => Kind::TunnelHandshake,
                    NoiseKind::Transport => Kind::TunnelTransport,
                },
                Ok(AppPdu::Call(c)) => {
                    if c.kind == CallKind::Invite {
                        self.calls.insert((c.from, c.to));
                    }
                    Kind::Other
                }
                Err(_) => {
                    self.errors += 1;
                    return;
                }
            };
            self.frames.push(Frm {
                time,
                src,
                dst,
                seq,
                len,
                kind,
            });
        } else if mediation && ports.contains(&LI_PORT) {
            let Ok(rec) = LiRecord::decode(udp.payload) else {
                self.errors += 1;
                return;
            };
            match rec.kind {
                LiKind::Iri => match Iri::decode(&rec.payload) {
                    Ok(iri) => self.iri.push(IriSighting {
                        time: rec.timestamp,
                        liid: rec.liid,
                        target: iri.target,
                        other: iri.other,
                        service: iri.service,
                        cell: iri.cell,
                    }),
                    Err(_) => self.errors += 1,
                },
                LiKind::Cc => {
                    if depth >= MAX_CC_DEPTH {
                        self.errors += 1;
                        return;
                    }
                    // A data packet copied by address: its target side is the target's handset.
                    if let (Some(target), Ok(inner)) =
                        (liids.get(&rec.liid), ip::parse_udp(&rec.payload))
                    {
                        let is_sms = inner.dst.port() == FRAME_PORT
                            && matches!(
                                Frame::decode(inner.payload),
                                Ok(Frame::Data { ref payload, .. })
                                    if matches!(AppPdu::decode(payload), Ok(AppPdu::Sms(_)))
                            );
                        if !is_sms {
                            let a = match rec.direction {
                                LiDirection::FromTarget => *inner.src.ip(),
                                LiDirection::ToTarget => *inner.dst.ip(),
                            };
                            let target = target.clone();
                            self.bind(a, &target);
                        }
                    }
                    self.packet(rec.timestamp, &rec.payload, mediation, liids, depth + 1);
                }
            }
        }
    }
}

impl Traffic {
    /// Decodes `captures`. Never panics on malformed bytes (they are counted).
    pub fn from_captures(captures: &Captures) -> Traffic {
        let mut dec = Dec::default();
        for v in &captures.vantages {
            let mediation = v.kind == VantageKind::Mediation;
            let liids: BTreeMap<String, String> = v
                .warrants
                .iter()
                .map(|w| (w.liid.clone(), w.target_msisdn.clone()))
                .collect();
            if let Some(pc) = &v.packets {
                for p in &pc.packets {
                    dec.packet(p.time, &p.bytes, mediation, &liids, 0);
                }
            }
        }
        Traffic::build(dec)
    }

    fn build(dec: Dec) -> Traffic {
        // Relays: tunnel responders with two or more initiators, and clear OTT relays.
        let mut first_hs: BTreeMap<(Ipv4Addr, Ipv4Addr), (Timestamp, Ipv4Addr)> = BTreeMap::new();
        for f in dec
            .frames
            .iter()
            .filter(|f| f.kind == Kind::TunnelHandshake)
        {
            let key = (f.src.min(f.dst), f.src.max(f.dst));
            let e = first_hs.entry(key).or_insert((f.time, f.src));
            if f.time < e.0 {
                *e = (f.time, f.src);
            }
        }
        let mut initiators: BTreeMap<Ipv4Addr, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        for (&(x, y), &(_, init)) in &first_hs {
            let resp = if init == x { y } else { x };
            initiators.entry(resp).or_default().insert(init);
        }
        let mut relays: BTreeSet<Ipv4Addr> = initiators
            .iter()
            .filter(|(_, i)| i.len() >= 2)
            .map(|(a, _)| *a)
            .collect();
        for m in [&dec.ott_from, &dec.ott_to] {
            relays.extend(m.iter().filter(|(_, s)| s.len() >= 2).map(|(a, _)| *a));
        }
        relays.retain(|a| !dec.sms_speakers.contains(a));

        // Bindings: one address ↔ one number, both ways unique.
        let mut bind = dec.bind;
        for (a, s) in dec.ott_from.iter().chain(dec.ott_to.iter()) {
            if !relays.contains(a) {
                bind.entry(*a).or_default().extend(s.iter().cloned());
            }
        }
        let mut owners: BTreeMap<String, usize> = BTreeMap::new();
        for s in bind.values().filter(|s| s.len() == 1) {
            for m in s {
                *owners.entry(m.clone()).or_default() += 1;
            }
        }
        let name_of: BTreeMap<Ipv4Addr, String> = bind
            .into_iter()
            .filter(|(_, s)| s.len() == 1)
            .filter_map(|(a, s)| s.into_iter().next().map(|m| (a, m)))
            .filter(|(_, m)| owners.get(m) == Some(&1))
            .collect();

        // Messages, deduplicated by frame, earliest sighting.
        let mut seen: BTreeMap<(Ipv4Addr, Ipv4Addr, u32, u32), Timestamp> = BTreeMap::new();
        for f in dec
            .frames
            .iter()
            .filter(|f| f.kind == Kind::TunnelTransport)
        {
            let up = relays.contains(&f.dst) && !relays.contains(&f.src);
            let down = relays.contains(&f.src) && !relays.contains(&f.dst);
            if !(up || down) {
                continue;
            }
            let e = seen.entry((f.src, f.dst, f.seq, f.len)).or_insert(f.time);
            *e = (*e).min(f.time);
        }
        let mut party_ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut parties = Vec::new();
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for ((src, dst, _, len), time) in seen {
            let up = relays.contains(&dst);
            let addr = if up { src } else { dst };
            let name = name_of
                .get(&addr)
                .cloned()
                .unwrap_or_else(|| addr.to_string());
            let next = parties.len() as u32;
            let party = *party_ids.entry(name.clone()).or_insert_with(|| {
                parties.push(name);
                next
            });
            let s = Sighting {
                time: time.as_nanos(),
                party,
                size: len,
            };
            if up {
                ups.push(s);
            } else {
                downs.push(s);
            }
        }
        ups.sort_unstable();
        downs.sort_unstable();
        let msisdn_len = dec
            .msisdn_lens
            .iter()
            .max_by_key(|(len, n)| (**n, core::cmp::Reverse(**len)))
            .map_or(12, |(len, _)| *len);
        Traffic {
            parties,
            ups,
            downs,
            relays: relays.into_iter().collect(),
            iri: dec.iri,
            calls: dec.calls.into_iter().collect(),
            msisdn_len,
            parse_errors: dec.errors,
        }
    }

    /// A synthetic trace (for tests and benches): `parties` named `p0, p1, ...`.
    pub fn synthetic(parties: usize, mut ups: Vec<Sighting>, mut downs: Vec<Sighting>) -> Traffic {
        ups.sort_unstable();
        downs.sort_unstable();
        Traffic {
            parties: (0..parties).map(|i| format!("p{i}")).collect(),
            ups,
            downs,
            msisdn_len: 12,
            ..Traffic::default()
        }
    }

    /// The name of party `p` (empty if out of range).
    pub fn name(&self, p: u32) -> &str {
        self.parties.get(p as usize).map_or("", String::as_str)
    }
}
