//! Packet metadata for the traffic analyses: who sent how many bytes to an OTT relay, when.
//!
//! [`Traffic::from_observations`] reads the observation table ([`crate::observe`]: every captured
//! packet dissected once, CC records at the mediation function unwrapped and dated by the
//! record's timestamp) into compact [`Sighting`]s of encrypted tunnel traffic. Relays and party
//! names are the table's [`Roles`](crate::observe::Roles), learned once for every analysis:
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
//! Cost: O(p log p) for p observations (ordered maps keyed by address and frame).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use proto::wire::{AppPduRef, CallKind, IriService, NoiseKind};
use simcore::Timestamp;

use crate::observe::Observations;

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

/// An end-to-end envelope seen in the clear between a subscriber and a relay (an app without a
/// server tunnel): what its fields and body length say, for the size analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearSighting {
    /// Earliest capture time, nanoseconds.
    pub time: u64,
    /// The subscriber side, an index into [`Traffic::parties`].
    pub party: u32,
    /// Subscriber → relay.
    pub uplink: bool,
    /// IPv4 datagram length in bytes.
    pub size: u32,
    /// The envelope read with the protocols' public formats.
    pub payload: super::sizes::ClearPayload,
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
    /// End-to-end envelopes in the clear to or from a relay, sorted by time.
    pub clear: Vec<ClearSighting>,
    /// Relay addresses, sorted.
    pub relays: Vec<Ipv4Addr>,
    /// Every IRI record, in capture order.
    pub iri: Vec<IriSighting>,
    /// `(caller, callee)` of every call INVITE seen in clear signalling, sorted.
    pub calls: Vec<(String, String)>,
    /// The most common MSISDN length (bytes) in clear traffic; 12 if none was seen.
    pub msisdn_len: usize,
    /// Subscriber addresses: the subscriber side of every encrypted frame to or from a relay,
    /// with the party's name (an MSISDN or the dotted address). A data record whose other
    /// party is one of these is a peer-to-peer session between two subscribers.
    pub subscriber_addrs: BTreeMap<Ipv4Addr, String>,
    /// Packets or records that did not parse, except UDP payloads on `FRAME_PORT` that are not
    /// frames (the traffic analyses never counted those).
    pub parse_errors: usize,
}

impl Traffic {
    /// Reads the encrypted tunnel traffic, IRI and call signalling of the observation table,
    /// with the relays and party names of its [`Roles`](crate::observe::Roles).
    pub fn from_observations(obs: &Observations<'_>) -> Traffic {
        let roles = obs.roles();
        let relays = roles.relays();

        // Messages, deduplicated by frame, earliest sighting.
        let mut seen: BTreeMap<(Ipv4Addr, Ipv4Addr, u32, u32), Timestamp> = BTreeMap::new();
        let mut calls: BTreeSet<(&str, &str)> = BTreeSet::new();
        let mut clear: BTreeMap<(Ipv4Addr, Ipv4Addr, u32, u32), (Timestamp, _)> = BTreeMap::new();
        for f in obs.data_frames() {
            match f.pdu {
                AppPduRef::Ott(env) => {
                    let (src, dst) = (*f.src.ip(), *f.dst.ip());
                    let up = relays.contains(&dst) && !relays.contains(&src);
                    let down = relays.contains(&src) && !relays.contains(&dst);
                    if !(up || down) {
                        continue;
                    }
                    let len = u32::try_from(f.obs.len()).unwrap_or(u32::MAX);
                    let e = clear
                        .entry((src, dst, f.seq, len))
                        .or_insert_with(|| (f.obs.time, super::sizes::clear_payload(&env)));
                    e.0 = e.0.min(f.obs.time);
                }
                AppPduRef::Tunnel(t) if t.kind == NoiseKind::Transport => {
                    let (src, dst) = (*f.src.ip(), *f.dst.ip());
                    let up = relays.contains(&dst) && !relays.contains(&src);
                    let down = relays.contains(&src) && !relays.contains(&dst);
                    if !(up || down) {
                        continue;
                    }
                    let len = u32::try_from(f.obs.len()).unwrap_or(u32::MAX);
                    let e = seen.entry((src, dst, f.seq, len)).or_insert(f.obs.time);
                    *e = (*e).min(f.obs.time);
                }
                AppPduRef::Call(c) if c.kind == CallKind::Invite => {
                    calls.insert((c.from, c.to));
                }
                _ => {}
            }
        }
        let mut party_ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut parties = Vec::new();
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        let mut subscriber_addrs = BTreeMap::new();
        for ((src, dst, _, len), time) in seen {
            let up = relays.contains(&dst);
            let addr = if up { src } else { dst };
            let name = roles
                .name(addr)
                .map_or_else(|| addr.to_string(), str::to_owned);
            subscriber_addrs.entry(addr).or_insert_with(|| name.clone());
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
        let mut clear_sightings = Vec::with_capacity(clear.len());
        for ((src, dst, _, len), (time, payload)) in clear {
            let uplink = relays.contains(&dst);
            let addr = if uplink { src } else { dst };
            let name = roles
                .name(addr)
                .map_or_else(|| addr.to_string(), str::to_owned);
            let next = parties.len() as u32;
            let party = *party_ids.entry(name.clone()).or_insert_with(|| {
                parties.push(name);
                next
            });
            clear_sightings.push(ClearSighting {
                time: time.as_nanos(),
                party,
                uplink,
                size: len,
                payload,
            });
        }
        clear_sightings.sort_unstable_by_key(|c| (c.time, c.party, c.size, c.uplink));
        let iri = obs
            .iri()
            .map(|(_, record, iri)| IriSighting {
                time: record.timestamp,
                liid: record.liid.clone(),
                target: iri.target.clone(),
                other: iri.other.clone(),
                service: iri.service,
                cell: iri.cell,
            })
            .collect();
        // Damaged packets, except frames that did not decode (never counted here).
        let counts = obs.counts();
        let parse_errors = counts.parse_errors.saturating_sub(counts.frames_damaged);
        Traffic {
            parties,
            ups,
            downs,
            clear: clear_sightings,
            relays: relays.iter().copied().collect(),
            iri,
            calls: calls
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            msisdn_len: roles.msisdn_len(),
            subscriber_addrs,
            parse_errors,
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
