//! The passive analysis: read what can be read in the observation table.
//!
//! Decoding and role inference happen once, in [`crate::observe`]: every captured packet is
//! already dissected into an [`Observation`](crate::observe::Observation) (CC records at a
//! mediation vantage unwrapped recursively), and [`Roles`] already says which addresses are
//! servers (OTT relays and tunnel responders), who initiated each tunnel, which servers speak
//! clear SMS, and which protocol each end-to-end session uses. This module walks the table once,
//! in table order, with a [`Reader`]: it recovers plaintexts, summarises what is sealed and why,
//! and collects metadata, so its result does not depend on the order in which vantage points or
//! packets are visited beyond what is documented.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use capture::RecordKind;
use proto::wire::{AppPduRef, IriService, NoiseKind, OttEnvelopeRef};
use simcore::{FixedMap, FixedSet, Timestamp};

use crate::findings::Names;
use crate::findings::{
    Channel, DataSessionObservation, Findings, FlowObservation, LearnedWarrant, Recovered,
    StaticKeySighting,
};
use crate::noise::{patterns::Token, token_list, Payload as Reveals, Protocol};
use crate::observe::{pair, Observations, Roles};
use crate::sealed::Sealed;

/// The reason reported for every tunnel PDU.
pub const TUNNEL_REASON: &str = "Noise_NK tunnel: payload encrypted under a key agreed with the \
     tunnel endpoint's static key; no private key held";

/// Where and when a PDU was seen: the packet it came in.
struct At {
    vantage: usize,
    time: Timestamp,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// IPv4 bytes of the packet.
    len: usize,
}

#[derive(Default)]
struct FlowAcc {
    packets: usize,
    bytes: u64,
    first: Option<Timestamp>,
    last: Timestamp,
}

/// A recovered text as the reading accumulates it: its strings borrowed from the observation
/// table and the captures (copied once, into [`Recovered`], at the end), its channel and method
/// numbered in the reader's tables, the vantages that saw it as bits. 72 bytes: a million
/// recovered texts are read with no allocation each (a map entry of a `Channel`, a method
/// `String` and a vector of vantage names held 136 bytes and two or three allocations).
struct RecoveredAcc<'t> {
    text: &'t str,
    from: Option<&'t str>,
    to: Option<&'t str>,
    first_seen: Timestamp,
    /// Bit v: seen at vantage v, for v < 64 (higher vantages in [`Recovering::seen_high`]).
    seen: u64,
    /// Number in [`Recovering::channels`].
    channel: u32,
    /// Number in [`Recovering::methods`].
    method: u32,
}

/// The recovered texts as the reading finds them: each text once, in a dense vector found by
/// hash, with the channels and methods their sightings name, each once.
#[derive(Default)]
struct Recovering<'t> {
    /// Each text's place in `accs`.
    index: FixedMap<Text<'t>, u32>,
    accs: Vec<RecoveredAcc<'t>>,
    channels: Numbered<Channel>,
    methods: Numbered<String>,
    /// Vantages numbered 64 and up that saw a text, by the text's place in `accs` (a scenario
    /// with that many vantage points is rare; their bits would not fit).
    seen_high: BTreeMap<u32, BTreeSet<usize>>,
}

/// Distinct values, numbered in the order first given.
struct Numbered<T> {
    values: Vec<T>,
    numbers: FixedMap<T, u32>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Self {
        Numbered {
            values: Vec::new(),
            numbers: FixedMap::default(),
        }
    }
}

impl<T: Clone + Eq + core::hash::Hash> Numbered<T> {
    fn number(&mut self, value: T) -> u32 {
        if let Some(&n) = self.numbers.get(&value) {
            return n;
        }
        let n = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(value.clone());
        self.numbers.insert(value, n);
        n
    }
}

struct DataAcc {
    records: usize,
    bytes: u64,
    first: Timestamp,
    last: Timestamp,
}

/// What the reading accumulates.
#[derive(Default)]
///
/// The large tables are found by hash and borrow their keys from the observation table; each is
/// sorted by its (unique) key when the findings are written, so no hash order reaches them.
struct Reader<'t> {
    recovered: Recovering<'t>,
    unreadable: Sealed<'t>,
    contacts: FixedSet<(&'t str, &'t str)>,
    flows: FixedMap<(usize, Ipv4Addr, Ipv4Addr, Channel), FlowAcc>,
    data: FixedMap<DataKey<'t>, DataAcc>,
    statics: BTreeSet<StaticKeySighting>,
}

/// Whether `s` looks like an MSISDN: an optional `+` and 3 to 15 digits.
pub fn looks_like_msisdn(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (3..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A recovered text as a hash-table key that carries its hash: growing the table re-files
/// every key by the hash it holds instead of reading its text again (at 100,000 subscribers
/// re-reading a million texts scattered over the captures was a tenth of the analysis).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Text<'t> {
    hash: u64,
    text: &'t str,
}

impl<'t> Text<'t> {
    fn new(text: &'t str) -> Self {
        Text {
            hash: simcore::fixed_hash(text),
            text,
        }
    }
}

impl core::hash::Hash for Text<'_> {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// The items in order (a hash table's contents, made deterministic).
fn sorted<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.into_iter().collect();
    v.sort_unstable();
    v
}

/// A map's entries in key order (a hash map's contents, made deterministic; keys are unique).
fn by_key<K: Ord, V>(entries: impl IntoIterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut v: Vec<(K, V)> = entries.into_iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    v
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

impl<'t> Reader<'t> {
    fn contact(&mut self, a: &'t str, b: &'t str) {
        self.contacts.insert(pair(a, b));
    }

    /// A sighting of `text` at vantage number `vantage`; `method` says how it was read (made
    /// only for the first sighting and for an earlier one found later).
    #[allow(clippy::too_many_arguments)]
    fn recover(
        &mut self,
        text: &'t str,
        from: Option<&'t str>,
        to: Option<&'t str>,
        channel: Channel,
        time: Timestamp,
        vantage: usize,
        method: impl Fn() -> String,
    ) {
        let rec = &mut self.recovered;
        let next = u32::try_from(rec.accs.len()).expect("fewer than 2^32 recovered texts");
        let i = *rec.index.entry(Text::new(text)).or_insert(next);
        if i == next {
            let acc = RecoveredAcc {
                text,
                from,
                to,
                first_seen: time,
                seen: 0,
                channel: rec.channels.number(channel),
                method: rec.methods.number(method()),
            };
            rec.accs.push(acc);
        } else if time < rec.accs[i as usize].first_seen {
            let channel = rec.channels.number(channel);
            let method = rec.methods.number(method());
            let acc = &mut rec.accs[i as usize];
            acc.from = from;
            acc.to = to;
            acc.first_seen = time;
            acc.channel = channel;
            acc.method = method;
        }
        match u32::try_from(vantage) {
            Ok(v) if v < 64 => rec.accs[i as usize].seen |= 1 << v,
            _ => {
                rec.seen_high.entry(i).or_default().insert(vantage);
            }
        }
    }

    fn unreadable(
        &mut self,
        channel: Channel,
        reason: String,
        ciphertext: &'t [u8],
        time: Timestamp,
    ) {
        self.unreadable.add(channel, reason, ciphertext, time);
    }

    fn flow(&mut self, o: &At, roles: &Roles, channel: Channel) {
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
        vantage: &'t str,
        source: &'static str,
        msisdn: &'t str,
        server: &'t str,
        bytes: u64,
        start: Timestamp,
        end: Timestamp,
    ) {
        let key = (vantage, source, msisdn, server);
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
    fn signal(&mut self, o: &At, env: OttEnvelopeRef<'t>, roles: &Roles) {
        if !env.from.is_empty() {
            self.contact(env.from, env.to);
        }
        let channel = Channel::Ott {
            protocol: env.protocol.to_owned(),
        };
        let reason = if env.from.is_empty() {
            "Signal envelope with sealed sender: Double Ratchet message, sender hidden; no \
             device state held"
        } else {
            "Signal envelope: Double Ratchet message; no device state held"
        };
        self.unreadable(channel.clone(), reason.to_owned(), env.body, o.time);
        self.flow(o, roles, channel);
    }

    fn ott(&mut self, o: &At, env: OttEnvelopeRef<'t>, roles: &Roles, vantage: &'t str) {
        if env.is_signal() {
            return self.signal(o, env, roles);
        }
        self.contact(env.from, env.to);
        match env.kind {
            NoiseKind::Handshake => {
                let channel = Channel::Ott {
                    protocol: env.protocol.to_owned(),
                };
                let protocol = match Protocol::parse(env.protocol) {
                    Ok(p) => p,
                    Err(e) => {
                        self.unreadable(channel.clone(), e.to_string(), env.body, o.time);
                        return self.flow(o, roles, channel);
                    }
                };
                let index = usize::from(env.index);
                let reading = match protocol.read_message(index, env.body) {
                    Ok(r) => r,
                    Err(e) => {
                        self.unreadable(channel.clone(), e.to_string(), env.body, o.time);
                        return self.flow(o, roles, channel);
                    }
                };
                for s in reading.clear_statics {
                    self.statics.insert(StaticKeySighting {
                        account: env.from.to_owned(),
                        public_hex: hex(s),
                        vantage: vantage.to_owned(),
                    });
                }
                match reading.payload {
                    Reveals::Clear([]) => {}
                    Reveals::Clear(b) => match core::str::from_utf8(b) {
                        Ok(text) => self.recover(
                            text,
                            Some(env.from),
                            Some(env.to),
                            channel,
                            o.time,
                            o.vantage,
                            || {
                                format!(
                                    "Noise {} handshake message {index}: payload sent before any \
                                     DH, in the clear",
                                    protocol.pattern.name
                                )
                            },
                        ),
                        Err(_) => {
                            let reason = format!(
                                "handshake message {index}: payload in the clear but not UTF-8 text"
                            );
                            self.unreadable(channel.clone(), reason, env.body, o.time);
                            self.flow(o, roles, channel);
                        }
                    },
                    Reveals::Encrypted { after } => {
                        let reason = format!(
                            "handshake message {index}: payload encrypted after {}; the adversary \
                             holds none of the private keys (or PSK) involved",
                            mixed_list(&after, protocol.pattern.psk_mode)
                        );
                        self.unreadable(channel.clone(), reason, env.body, o.time);
                        self.flow(o, roles, channel);
                    }
                }
            }
            NoiseKind::Transport => {
                let known = roles.session_protocol(env.from, env.to, env.session);
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
                                protocol: name.to_owned(),
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
                            protocol: name.to_owned(),
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
                self.unreadable(channel.clone(), reason, env.body, o.time);
                self.flow(o, roles, channel);
            }
        }
    }
}

/// A data session's (vantage, source, MSISDN, server), in [`DataSessionObservation`] order.
type DataKey<'t> = (&'t str, &'static str, &'t str, &'t str);

/// A warrant's fields in [`LearnedWarrant`] order, for deduplication across vantages.
type WarrantKey = (
    String,
    String,
    String,
    capture::WarrantKind,
    String,
    Timestamp,
);

/// Runs the passive analysis over the observation table.
/// Reads `obs` passively. [`Findings::unreadable`] is left empty: what stayed sealed is
/// returned as a [`Sealed`] table for the readers with capabilities to amend (the caller writes
/// its summaries last).
pub(crate) fn analyze<'t>(adversary: &str, obs: &'t Observations<'_>) -> (Findings, Sealed<'t>) {
    let captures = obs.captures();
    let names: Vec<String> = captures.vantages.iter().map(|v| v.name.clone()).collect();
    let roles = obs.roles();

    // Read, in table order: the observations with a DATA frame or an LI record (ACKs, media and
    // damaged packets carry nothing to read).
    let mut r = Reader::default();
    for o in obs.with_content() {
        let Some((src, dst)) = o.addrs() else {
            continue;
        };
        let vantage = obs.vantage_name(o.vantage());
        let at = At {
            vantage: o.vantage(),
            time: o.time,
            src,
            dst,
            len: o.len(),
        };
        if let Some((_, pdu)) = o.data() {
            match pdu {
                AppPduRef::Sms(s) => {
                    r.contact(s.from, s.to);
                    r.recover(
                        s.text,
                        Some(s.from),
                        Some(s.to),
                        Channel::Sms,
                        o.time,
                        o.vantage(),
                        || "plaintext SMS PDU".to_owned(),
                    );
                }
                AppPduRef::Tunnel(t) => {
                    let (_, server) = roles.orient(at.src, at.dst);
                    let channel = roles.tunnel_channel(server);
                    r.unreadable(channel.clone(), TUNNEL_REASON.to_owned(), t.noise, o.time);
                    r.flow(&at, roles, channel);
                }
                AppPduRef::Ott(env) => r.ott(&at, env, roles, vantage),
                // Call signalling is read by the metadata analyses.
                AppPduRef::Call(_) => {}
            }
        } else if let Some((record, iri)) = obs.iri_of(o) {
            match iri.service {
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
                            record.timestamp,
                            record.timestamp,
                        );
                    }
                }
            }
        }
        // A CC record's packet is the next observation, read in its turn.
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
        for c in v.call_records.iter() {
            match c.kind {
                RecordKind::SmsMo
                | RecordKind::SmsMt
                | RecordKind::VoiceMo
                | RecordKind::VoiceMt => {
                    if looks_like_msisdn(c.msisdn) && looks_like_msisdn(c.other_party) {
                        r.contact(c.msisdn, c.other_party);
                    }
                }
                RecordKind::Data => r.data_session(
                    &v.name,
                    "call-records",
                    c.msisdn,
                    c.other_party,
                    c.bytes_up.saturating_add(c.bytes_down),
                    c.start,
                    c.end,
                ),
            }
        }
    }

    let mut shared = Names::default();
    let Recovering {
        index,
        accs,
        channels,
        methods,
        seen_high,
    } = r.recovered;
    // The index is not read again: freed before the findings' copies are made.
    drop(index);
    let channels = channels.values;
    let methods: Vec<Arc<str>> = methods.values.iter().map(|m| shared.name(m)).collect();
    let mut recovered: Vec<Recovered> = Vec::with_capacity(accs.len());
    for (i, a) in (0u32..).zip(accs) {
        let mut seen_at: Vec<&str> = (0..64)
            .filter(|v| a.seen & (1 << v) != 0)
            .chain(seen_high.get(&i).into_iter().flatten().copied())
            .map(|v| obs.vantage_name(v))
            .collect();
        seen_at.sort_unstable();
        seen_at.dedup();
        recovered.push(Recovered {
            text: a.text.to_owned(),
            from: a.from.map(|n| shared.name(n)),
            to: a.to.map(|n| shared.name(n)),
            channel: channels[a.channel as usize].clone(),
            first_seen: a.first_seen,
            seen_at: shared.list(seen_at),
            method: methods[a.method as usize].clone(),
        });
    }
    recovered.sort_by(|a, b| (a.first_seen, &a.text).cmp(&(b.first_seen, &b.text)));

    let counts = obs.counts();
    let findings = Findings {
        key_theft: Vec::new(),
        sealed_messages: Vec::new(),
        metadata: Default::default(),
        adversary: adversary.to_owned(),
        vantage_points: names.clone(),
        recovered,
        unreadable: Vec::new(),
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
        contact_pairs: sorted(
            r.contacts
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned())),
        ),
        flows: by_key(r.flows)
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
        data_sessions: by_key(r.data)
            .into_iter()
            .map(
                |((vantage, source, msisdn, server), a)| DataSessionObservation {
                    vantage: vantage.to_owned(),
                    source: source.to_owned(),
                    msisdn: msisdn.to_owned(),
                    server: server.to_owned(),
                    records: a.records,
                    bytes: a.bytes,
                    first_seen: a.first,
                    last_seen: a.last,
                },
            )
            .collect(),
        static_keys_seen: r.statics.into_iter().collect(),
        iri_events: counts.iri_events,
        cc_packets: counts.cc_packets,
        packets_parsed: counts.packets_parsed,
        packets_ignored: counts.packets_ignored,
        parse_errors: counts.parse_errors,
    };
    (findings, r.unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_keeps_its_earliest_sighting_and_every_vantage_that_saw_it() {
        let mut r = Reader::default();
        let at = Timestamp::from_secs;
        r.recover("hi", Some("a"), Some("b"), Channel::Sms, at(5), 3, || {
            "late".to_owned()
        });
        // Later: only the vantage is added, past bit 63 too.
        r.recover("hi", None, None, Channel::Tunnel, at(9), 70, || {
            unreachable!("a later sighting makes no method")
        });
        r.recover("hi", Some("c"), None, Channel::Sms, at(5), 3, || {
            unreachable!("neither does an equal one")
        });
        // Earlier: its sender, channel and method replace the first's.
        r.recover(
            "hi",
            Some("c"),
            Some("d"),
            Channel::Tunnel,
            at(1),
            0,
            || "early".to_owned(),
        );
        r.recover("other", None, None, Channel::Sms, at(2), 64, || {
            "early".to_owned()
        });
        let rec = &r.recovered;
        assert_eq!(rec.accs.len(), 2);
        let a = &rec.accs[0];
        assert_eq!((a.text, a.from, a.to), ("hi", Some("c"), Some("d")));
        assert_eq!(a.first_seen, at(1));
        assert_eq!(a.seen, 1 << 3 | 1);
        assert_eq!(rec.channels.values[a.channel as usize], Channel::Tunnel);
        assert_eq!(rec.methods.values[a.method as usize], "early");
        assert_eq!(rec.methods.values.len(), 2, "each method held once");
        let b = &rec.accs[1];
        assert_eq!(b.seen, 0, "vantage 64 has no bit");
        let high: Vec<(u32, Vec<usize>)> = rec
            .seen_high
            .iter()
            .map(|(i, v)| (*i, v.iter().copied().collect()))
            .collect();
        assert_eq!(high, vec![(0, vec![70]), (1, vec![64])]);
    }
}
