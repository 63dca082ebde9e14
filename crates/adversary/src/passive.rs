//! The passive analysis: decode every captured byte, then read what can be read.
//!
//! It runs in three passes so that its result does not depend on the order in which vantage
//! points or packets are visited beyond what is documented:
//!
//! 1. **Decode** ([`Decoder`]): every captured packet through `capture::ip` and `proto::wire`
//!    into [`Obs`] records; CC records at a mediation vantage are unwrapped recursively.
//! 2. **Roles** ([`Roles`]): which addresses are servers, learned from clear traffic only:
//!    OTT relays (an address that sends envelopes from two or more accounts, or receives
//!    envelopes for two or more accounts), SMS speakers (addresses that send or receive clear SMS
//!    PDUs), tunnel responders (the receiver of the earliest tunnel handshake between a pair), and
//!    the protocol name of each end-to-end session (from its handshake envelopes).
//! 3. **Read** ([`Reader`]): recover plaintexts, summarise what is sealed and why, and collect
//!    metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use capture::{ip, Captures, RecordKind, VantageKind};
use proto::wire::{
    AppPdu, Frame, Iri, IriService, LiKind, LiRecord, NoiseKind, OttEnvelope, SmsPdu, TunnelPdu,
    FRAME_PORT, LI_PORT,
};
use simcore::Timestamp;

use crate::findings::{
    Channel, DataSessionObservation, Findings, FlowObservation, LearnedWarrant, Recovered,
    StaticKeySighting, UnreadableSummary,
};
use crate::noise::{patterns::Token, token_list, Payload, Protocol};

/// The reason reported for every tunnel PDU.
pub const TUNNEL_REASON: &str = "Noise_NK tunnel: payload encrypted under a key agreed with the \
     tunnel endpoint's static key; no private key held";

/// How deep CC records may nest (a CC wrapping an LI packet wrapping a CC ...).
const MAX_CC_DEPTH: usize = 4;

/// One decoded packet.
struct Obs {
    vantage: usize,
    time: Timestamp,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// IPv4 bytes of the packet.
    len: usize,
    event: Event,
}

enum Event {
    Sms(SmsPdu),
    Tunnel(TunnelPdu),
    Ott(OttEnvelope),
    Iri(Iri),
}

/// Pass 1: bytes to observations.
#[derive(Default)]
struct Decoder {
    obs: Vec<Obs>,
    iri_events: usize,
    cc_packets: usize,
    packets_parsed: usize,
    packets_ignored: usize,
    parse_errors: usize,
}

impl Decoder {
    fn error(&mut self, vantage: &str, time: Timestamp, what: &str, err: &dyn std::fmt::Display) {
        self.parse_errors += 1;
        tracing::debug!(vantage, %time, what, %err, "unparseable capture");
    }

    fn packet(
        &mut self,
        v: usize,
        name: &str,
        mediation: bool,
        time: Timestamp,
        bytes: &[u8],
        depth: usize,
    ) {
        let udp = match ip::parse_udp(bytes) {
            Ok(u) => u,
            Err(e) => return self.error(name, time, "IPv4/UDP", &e),
        };
        let (src, dst) = (*udp.src.ip(), *udp.dst.ip());
        let ports = [udp.src.port(), udp.dst.port()];
        if ports.contains(&FRAME_PORT) {
            let frame = match Frame::decode(udp.payload) {
                Ok(f) => f,
                Err(e) => return self.error(name, time, "Frame", &e),
            };
            let Frame::Data { payload, .. } = frame else {
                // ACK: sequence numbers only.
                self.packets_parsed += 1;
                return;
            };
            let event = match AppPdu::decode(&payload) {
                Ok(AppPdu::Sms(s)) => Event::Sms(s),
                Ok(AppPdu::Tunnel(t)) => Event::Tunnel(t),
                Ok(AppPdu::Ott(o)) => Event::Ott(o),
                Ok(AppPdu::Call(_)) => {
                    // Call signalling: not read by this pass (metadata analyses read it).
                    self.packets_parsed += 1;
                    return;
                }
                Err(e) => return self.error(name, time, "AppPdu", &e),
            };
            self.packets_parsed += 1;
            self.obs.push(Obs {
                vantage: v,
                time,
                src,
                dst,
                len: bytes.len(),
                event,
            });
        } else if mediation && ports.contains(&LI_PORT) {
            let rec = match LiRecord::decode(udp.payload) {
                Ok(r) => r,
                Err(e) => return self.error(name, time, "LiRecord", &e),
            };
            self.packets_parsed += 1;
            match rec.kind {
                LiKind::Cc => {
                    self.cc_packets += 1;
                    if depth >= MAX_CC_DEPTH {
                        return self.error(name, time, "CC", &"CC records nested too deep");
                    }
                    self.packet(v, name, mediation, rec.timestamp, &rec.payload, depth + 1);
                }
                LiKind::Iri => match Iri::decode(&rec.payload) {
                    Ok(iri) => {
                        self.iri_events += 1;
                        self.obs.push(Obs {
                            vantage: v,
                            time: rec.timestamp,
                            src,
                            dst,
                            len: bytes.len(),
                            event: Event::Iri(iri),
                        });
                    }
                    Err(e) => self.error(name, time, "Iri", &e),
                },
            }
        } else {
            self.packets_ignored += 1;
        }
    }
}

/// Pass 2: what the clear traffic says about who is a server.
#[derive(Default)]
struct Roles {
    ott_from_by_sender: BTreeMap<Ipv4Addr, BTreeSet<String>>,
    ott_to_by_receiver: BTreeMap<Ipv4Addr, BTreeSet<String>>,
    ott_relays: BTreeSet<Ipv4Addr>,
    sms_speakers: BTreeSet<Ipv4Addr>,
    /// Per unordered pair: (time, initiator) of the earliest tunnel handshake.
    tunnel_initiators: BTreeMap<(Ipv4Addr, Ipv4Addr), (Timestamp, Ipv4Addr)>,
    /// The other end of every pair in `tunnel_initiators`.
    tunnel_responders: BTreeSet<Ipv4Addr>,
    /// Per (account, account, session id) with accounts ordered: the protocol name.
    sessions: BTreeMap<(String, String, u64), String>,
}

fn pair<T: Ord>(a: T, b: T) -> (T, T) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn session_key(env: &OttEnvelope) -> (String, String, u64) {
    let (a, b) = pair(env.from.clone(), env.to.clone());
    (a, b, env.session)
}

impl Roles {
    fn learn(obs: &[Obs]) -> Roles {
        let mut r = Roles::default();
        for o in obs {
            match &o.event {
                Event::Sms(_) => {
                    r.sms_speakers.insert(o.src);
                    r.sms_speakers.insert(o.dst);
                }
                Event::Ott(env) => {
                    r.ott_from_by_sender
                        .entry(o.src)
                        .or_default()
                        .insert(env.from.clone());
                    r.ott_to_by_receiver
                        .entry(o.dst)
                        .or_default()
                        .insert(env.to.clone());
                    if env.kind == NoiseKind::Handshake {
                        r.sessions
                            .entry(session_key(env))
                            .or_insert_with(|| env.protocol.clone());
                    }
                }
                Event::Tunnel(t) if t.kind == NoiseKind::Handshake => {
                    let e = r
                        .tunnel_initiators
                        .entry(pair(o.src, o.dst))
                        .or_insert((o.time, o.src));
                    if o.time < e.0 {
                        *e = (o.time, o.src);
                    }
                }
                _ => {}
            }
        }
        let many = |m: &BTreeMap<Ipv4Addr, BTreeSet<String>>| -> Vec<Ipv4Addr> {
            m.iter()
                .filter(|(_, accounts)| accounts.len() >= 2)
                .map(|(a, _)| *a)
                .collect()
        };
        r.ott_relays.extend(many(&r.ott_from_by_sender));
        r.ott_relays.extend(many(&r.ott_to_by_receiver));
        let responders: Vec<Ipv4Addr> = r
            .tunnel_initiators
            .iter()
            .map(|(&(x, y), &(_, init))| if init == x { y } else { x })
            .collect();
        r.tunnel_responders.extend(responders);
        r
    }

    fn is_server(&self, a: Ipv4Addr) -> bool {
        self.ott_relays.contains(&a) || self.tunnel_responders.contains(&a)
    }

    /// `(subscriber, server)` for a packet between `src` and `dst`: the tunnel initiator is the
    /// subscriber if a handshake between them was seen; else a known server (OTT relay or tunnel
    /// responder) is the server side; else the lower address is taken as the subscriber.
    fn orient(&self, src: Ipv4Addr, dst: Ipv4Addr) -> (Ipv4Addr, Ipv4Addr) {
        let (lo, hi) = pair(src, dst);
        if let Some(&(_, init)) = self.tunnel_initiators.get(&(lo, hi)) {
            return if init == lo { (lo, hi) } else { (hi, lo) };
        }
        match (self.is_server(lo), self.is_server(hi)) {
            (true, false) => (hi, lo),
            _ => (lo, hi),
        }
    }

    fn tunnel_channel(&self, server: Ipv4Addr) -> Channel {
        if self.ott_relays.contains(&server) {
            Channel::OttTunnel
        } else if self.sms_speakers.contains(&server) {
            Channel::CarrierTunnel
        } else {
            Channel::Tunnel
        }
    }
}

#[derive(Default)]
struct FlowAcc {
    packets: usize,
    bytes: u64,
    first: Option<Timestamp>,
    last: Timestamp,
}

struct RecoveredAcc {
    from: Option<String>,
    to: Option<String>,
    channel: Channel,
    first_seen: Timestamp,
    seen_at: BTreeSet<String>,
    method: String,
}

struct UnreadableAcc {
    ciphertexts: BTreeSet<Vec<u8>>,
    first_seen: Timestamp,
}

struct DataAcc {
    records: usize,
    bytes: u64,
    first: Timestamp,
    last: Timestamp,
}

/// Pass 3 accumulators.
#[derive(Default)]
struct Reader {
    recovered: BTreeMap<String, RecoveredAcc>,
    unreadable: BTreeMap<(Channel, String), UnreadableAcc>,
    contacts: BTreeSet<(String, String)>,
    flows: BTreeMap<(usize, Ipv4Addr, Ipv4Addr, Channel), FlowAcc>,
    data: BTreeMap<(String, String, String, String), DataAcc>,
    statics: BTreeSet<StaticKeySighting>,
}

/// Whether `s` looks like an MSISDN: an optional `+` and 3 to 15 digits.
pub fn looks_like_msisdn(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (3..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How the key-mixing tokens before a sealed payload are named in a reason.
fn mixed_list(after: &[Token], psk_mode: bool) -> String {
    let words: Vec<String> = after
        .iter()
        .map(|t| match t {
            Token::E if psk_mode => "e (psk-mode MixKey)".to_owned(),
            Token::Psk => "psk".to_owned(),
            t => format!("DH {}", t.as_str()),
        })
        .collect();
    words.join(", ")
}

impl Reader {
    fn contact(&mut self, a: &str, b: &str) {
        self.contacts.insert(pair(a.to_owned(), b.to_owned()));
    }

    #[allow(clippy::too_many_arguments)]
    fn recover(
        &mut self,
        text: &str,
        from: Option<&str>,
        to: Option<&str>,
        channel: Channel,
        time: Timestamp,
        vantage: &str,
        method: String,
    ) {
        let fresh = || RecoveredAcc {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            channel: channel.clone(),
            first_seen: time,
            seen_at: BTreeSet::new(),
            method: method.clone(),
        };
        let acc = self.recovered.entry(text.to_owned()).or_insert_with(fresh);
        if time < acc.first_seen {
            let seen_at = core::mem::take(&mut acc.seen_at);
            *acc = fresh();
            acc.seen_at = seen_at;
        }
        acc.seen_at.insert(vantage.to_owned());
    }

    fn unreadable(&mut self, channel: Channel, reason: String, ciphertext: &[u8], time: Timestamp) {
        let acc = self
            .unreadable
            .entry((channel, reason))
            .or_insert_with(|| UnreadableAcc {
                ciphertexts: BTreeSet::new(),
                first_seen: time,
            });
        acc.first_seen = acc.first_seen.min(time);
        acc.ciphertexts.insert(ciphertext.to_vec());
    }

    fn flow(&mut self, o: &Obs, roles: &Roles, channel: Channel) {
        let (sub, server) = roles.orient(o.src, o.dst);
        let f = self
            .flows
            .entry((o.vantage, sub, server, channel))
            .or_default();
        f.packets += 1;
        f.bytes += o.len as u64;
        f.first = Some(f.first.map_or(o.time, |t| t.min(o.time)));
        f.last = f.last.max(o.time);
    }

    #[allow(clippy::too_many_arguments)]
    fn data_session(
        &mut self,
        vantage: &str,
        source: &str,
        msisdn: &str,
        server: &str,
        bytes: u64,
        start: Timestamp,
        end: Timestamp,
    ) {
        let key = (
            vantage.to_owned(),
            source.to_owned(),
            msisdn.to_owned(),
            server.to_owned(),
        );
        let acc = self.data.entry(key).or_insert(DataAcc {
            records: 0,
            bytes: 0,
            first: start,
            last: end,
        });
        acc.records += 1;
        acc.bytes = acc.bytes.saturating_add(bytes);
        acc.first = acc.first.min(start);
        acc.last = acc.last.max(end);
    }

    /// A Signal-style envelope (`protocol` = the app's label): the recipient is always
    /// visible, the sender only without sealed sender (empty `from`); the content is a Double
    /// Ratchet message, unreadable without device state (`crate::signal_read`).
    fn signal(&mut self, o: &Obs, env: &OttEnvelope, roles: &Roles) {
        if !env.from.is_empty() {
            self.contact(&env.from, &env.to);
        }
        let channel = Channel::Ott {
            protocol: env.protocol.clone(),
        };
        let reason = if env.from.is_empty() {
            "Signal envelope with sealed sender: Double Ratchet message, sender hidden; no \
             device state held"
        } else {
            "Signal envelope: Double Ratchet message; no device state held"
        };
        self.unreadable(channel.clone(), reason.to_owned(), &env.body, o.time);
        self.flow(o, roles, channel);
    }

    fn ott(&mut self, o: &Obs, env: &OttEnvelope, roles: &Roles, vantage: &str) {
        if env.protocol.starts_with("signal") {
            return self.signal(o, env, roles);
        }
        self.contact(&env.from, &env.to);
        match env.kind {
            NoiseKind::Handshake => {
                let channel = Channel::Ott {
                    protocol: env.protocol.clone(),
                };
                let protocol = match Protocol::parse(&env.protocol) {
                    Ok(p) => p,
                    Err(e) => {
                        self.unreadable(channel.clone(), e.to_string(), &env.body, o.time);
                        return self.flow(o, roles, channel);
                    }
                };
                let index = usize::from(env.index);
                let reading = match protocol.read_message(index, &env.body) {
                    Ok(r) => r,
                    Err(e) => {
                        self.unreadable(channel.clone(), e.to_string(), &env.body, o.time);
                        return self.flow(o, roles, channel);
                    }
                };
                for s in reading.clear_statics {
                    self.statics.insert(StaticKeySighting {
                        account: env.from.clone(),
                        public_hex: hex(s),
                        vantage: vantage.to_owned(),
                    });
                }
                match reading.payload {
                    Payload::Clear([]) => {}
                    Payload::Clear(b) => match core::str::from_utf8(b) {
                        Ok(text) => self.recover(
                            text,
                            Some(&env.from),
                            Some(&env.to),
                            channel,
                            o.time,
                            vantage,
                            format!(
                                "Noise {} handshake message {index}: payload sent before any DH, \
                                 in the clear",
                                protocol.pattern.name
                            ),
                        ),
                        Err(_) => {
                            let reason = format!(
                                "handshake message {index}: payload in the clear but not UTF-8 text"
                            );
                            self.unreadable(channel.clone(), reason, &env.body, o.time);
                            self.flow(o, roles, channel);
                        }
                    },
                    Payload::Encrypted { after } => {
                        let reason = format!(
                            "handshake message {index}: payload encrypted after {}; the adversary \
                             holds none of the private keys (or PSK) involved",
                            mixed_list(&after, protocol.pattern.psk_mode)
                        );
                        self.unreadable(channel.clone(), reason, &env.body, o.time);
                        self.flow(o, roles, channel);
                    }
                }
            }
            NoiseKind::Transport => {
                let known = roles.sessions.get(&session_key(env));
                let (channel, reason) = match known.map(|name| (name, Protocol::parse(name))) {
                    Some((name, Ok(p))) => {
                        let deps = p.transport_dependencies();
                        let dhs: Vec<Token> = deps.iter().copied().filter(|t| t.is_dh()).collect();
                        let psk = if deps.contains(&Token::Psk) {
                            "; psk"
                        } else {
                            ""
                        };
                        (
                            Channel::Ott {
                                protocol: name.clone(),
                            },
                            format!(
                                "transport message under keys from the completed handshake \
                                 (DHs: {}{psk}); no private key held",
                                token_list(&dhs)
                            ),
                        )
                    }
                    Some((name, Err(e))) => (
                        Channel::Ott {
                            protocol: name.clone(),
                        },
                        format!("transport message of a session using {e}"),
                    ),
                    None => (
                        Channel::Ott {
                            protocol: "unknown".to_owned(),
                        },
                        "transport message of a session whose handshake was not captured; no \
                         private key held"
                            .to_owned(),
                    ),
                };
                self.unreadable(channel.clone(), reason, &env.body, o.time);
                self.flow(o, roles, channel);
            }
        }
    }
}

/// A warrant's fields in [`LearnedWarrant`] order, for deduplication across vantages.
type WarrantKey = (
    String,
    String,
    String,
    capture::WarrantKind,
    String,
    Timestamp,
);

/// Every end-to-end OTT envelope seen in clear, as `(time, vantage name, envelope)` in capture
/// order (copies included): the transcripts the key-holding analysis (`keys`) reads.
pub(crate) fn ott_envelopes(captures: &Captures) -> Vec<(Timestamp, String, OttEnvelope)> {
    let mut dec = Decoder::default();
    for (i, v) in captures.vantages.iter().enumerate() {
        let mediation = v.kind == VantageKind::Mediation;
        if let Some(pc) = &v.packets {
            for p in &pc.packets {
                dec.packet(i, &v.name, mediation, p.time, &p.bytes, 0);
            }
        }
    }
    dec.obs
        .into_iter()
        .filter_map(|o| match o.event {
            Event::Ott(env) => Some((o.time, captures.vantages[o.vantage].name.clone(), env)),
            _ => None,
        })
        .collect()
}

/// Runs the passive analysis over `captures`.
pub(crate) fn analyze(adversary: &str, captures: &Captures) -> Findings {
    let names: Vec<String> = captures.vantages.iter().map(|v| v.name.clone()).collect();

    // Pass 1: decode.
    let mut dec = Decoder::default();
    for (i, v) in captures.vantages.iter().enumerate() {
        let mediation = v.kind == VantageKind::Mediation;
        if let Some(pc) = &v.packets {
            for p in &pc.packets {
                dec.packet(i, &v.name, mediation, p.time, &p.bytes, 0);
            }
        }
    }

    // Pass 2: roles.
    let roles = Roles::learn(&dec.obs);

    // Pass 3: read.
    let mut r = Reader::default();
    for o in &dec.obs {
        let vantage = names.get(o.vantage).map(String::as_str).unwrap_or("");
        match &o.event {
            Event::Sms(s) => {
                r.contact(&s.from, &s.to);
                r.recover(
                    &s.text,
                    Some(&s.from),
                    Some(&s.to),
                    Channel::Sms,
                    o.time,
                    vantage,
                    "plaintext SMS PDU".to_owned(),
                );
            }
            Event::Tunnel(t) => {
                let (_, server) = roles.orient(o.src, o.dst);
                let channel = roles.tunnel_channel(server);
                r.unreadable(channel.clone(), TUNNEL_REASON.to_owned(), &t.noise, o.time);
                r.flow(o, &roles, channel);
            }
            Event::Ott(env) => r.ott(o, env, &roles, vantage),
            Event::Iri(iri) => match iri.service {
                IriService::Sms | IriService::Voice => {
                    if looks_like_msisdn(&iri.other) {
                        r.contact(&iri.target, &iri.other);
                    }
                }
                IriService::Data => {
                    if looks_like_msisdn(&iri.other) {
                        r.contact(&iri.target, &iri.other);
                    } else {
                        r.data_session(
                            vantage,
                            "iri",
                            &iri.target,
                            &iri.other,
                            u64::from(iri.size),
                            o.time,
                            o.time,
                        );
                    }
                }
            },
        }
    }

    // Warrant lists and call records.
    let mut warrants: BTreeMap<WarrantKey, BTreeSet<String>> = BTreeMap::new();
    for v in &captures.vantages {
        for w in &v.warrants {
            warrants
                .entry((
                    w.liid.clone(),
                    w.target_msisdn.clone(),
                    w.target_imsi.clone(),
                    w.kind,
                    w.agency.clone(),
                    w.since,
                ))
                .or_default()
                .insert(v.name.clone());
        }
        for c in &v.call_records {
            match c.kind {
                RecordKind::SmsMo
                | RecordKind::SmsMt
                | RecordKind::VoiceMo
                | RecordKind::VoiceMt => {
                    if looks_like_msisdn(&c.msisdn) && looks_like_msisdn(&c.other_party) {
                        r.contact(&c.msisdn, &c.other_party);
                    }
                }
                RecordKind::Data => r.data_session(
                    &v.name,
                    "call-records",
                    &c.msisdn,
                    &c.other_party,
                    c.bytes_up.saturating_add(c.bytes_down),
                    c.start,
                    c.end,
                ),
            }
        }
    }

    let mut recovered: Vec<Recovered> = r
        .recovered
        .into_iter()
        .map(|(text, a)| Recovered {
            text,
            from: a.from,
            to: a.to,
            channel: a.channel,
            first_seen: a.first_seen,
            seen_at: a.seen_at.into_iter().collect(),
            method: a.method,
        })
        .collect();
    recovered.sort_by(|a, b| (a.first_seen, &a.text).cmp(&(b.first_seen, &b.text)));

    Findings {
        key_theft: Vec::new(),
        metadata: Default::default(),
        adversary: adversary.to_owned(),
        vantage_points: names.clone(),
        recovered,
        unreadable: r
            .unreadable
            .into_iter()
            .map(|((channel, reason), a)| UnreadableSummary {
                channel,
                reason,
                count: a.ciphertexts.len(),
                first_seen: a.first_seen,
            })
            .collect(),
        warrant_targets_learned: warrants
            .into_iter()
            .map(
                |((liid, target_msisdn, target_imsi, kind, agency, since), seen)| LearnedWarrant {
                    liid,
                    target_msisdn,
                    target_imsi,
                    kind,
                    agency,
                    since,
                    seen_at: seen.into_iter().collect(),
                },
            )
            .collect(),
        contact_pairs: r.contacts.into_iter().collect(),
        flows: r
            .flows
            .into_iter()
            .map(|((v, subscriber, server, channel), f)| FlowObservation {
                vantage: names.get(v).cloned().unwrap_or_default(),
                subscriber,
                server,
                channel,
                packets: f.packets,
                bytes: f.bytes,
                first_seen: f.first.unwrap_or(Timestamp::ZERO),
                last_seen: f.last,
            })
            .collect(),
        data_sessions: r
            .data
            .into_iter()
            .map(
                |((vantage, source, msisdn, server), a)| DataSessionObservation {
                    vantage,
                    source,
                    msisdn,
                    server,
                    records: a.records,
                    bytes: a.bytes,
                    first_seen: a.first,
                    last_seen: a.last,
                },
            )
            .collect(),
        static_keys_seen: r.statics.into_iter().collect(),
        iri_events: dec.iri_events,
        cc_packets: dec.cc_packets,
        packets_parsed: dec.packets_parsed,
        packets_ignored: dec.packets_ignored,
        parse_errors: dec.parse_errors,
    }
}
