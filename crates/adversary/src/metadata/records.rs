//! Stolen call records and IRI: the contact graph and per-subscriber location traces.
//!
//! [`RecordTable`] interns every MSISDN and server address once and keeps each call record or
//! IRI record as a 24-byte [`CompactRecord`]: 10 million records take 240 MB instead of the
//! gigabytes their strings would.
//!
//! - **Contact graph** ([`contact_graph`]): every person-to-person record (SMS sent or received,
//!   and any other record kind whose other party is an MSISDN, such as a voice call) is an edge
//!   between the subscriber and the other party. One end's record suffices: an SMS between a
//!   held carrier's subscriber and anyone is an edge, so the SMS (and voice) edges equal the
//!   true pairs with at least one end on a carrier whose records are held. Each call record
//!   also gives the cell where the call ended (`end_cell`), a second location point. Data records and IRI about
//!   data name a server address, not a person: over-the-top messaging shows only as a
//!   subscriber ↔ server edge ([`ServerEdge`]). A data record whose other party is an address
//!   the packet captures show on the *subscriber* side of relay traffic
//!   ([`Traffic::subscriber_addrs`]) is a peer-to-peer session between two subscribers (an
//!   end-to-end call whose media goes handset to handset): it becomes a contact edge of kind
//!   `p2p` to that subscriber (named by MSISDN when the captures tie the address to one).
//!   Cost: O(r log r) (one sort).
//! - **Location traces** ([`location_traces`]): every record carries the subscriber's serving
//!   cell, so sorting by (subscriber, time) gives a trace of (time, cell) points, kept once per
//!   cell change and per hour. The home cell is the most frequent cell between 22:00 and 06:00,
//!   the work cell the most frequent between 09:00 and 17:00 (time 0 is midnight). Cost:
//!   O(r log r).

use std::collections::BTreeMap;
use std::sync::Arc;

use capture::{Captures, RecordKind};
use proto::wire::IriService;
use serde::Serialize;
use simcore::{FixedMap, Timestamp};

use super::packets::Traffic;
use super::{hour_of_day, HOUR_NS};
use crate::findings::{Channel, FlowObservation};
use crate::passive::looks_like_msisdn;

/// Evidence bit: a call record.
pub const SRC_RECORDS: u8 = 1;
/// Evidence bit: an IRI record.
pub const SRC_IRI: u8 = 2;
/// Evidence bit: a clear SMS PDU or OTT envelope naming both ends.
pub const SRC_CLEAR: u8 = 4;
/// Evidence bit: timing/size correlation of encrypted traffic.
pub const SRC_TIMING: u8 = 8;

/// Kind of a compact record: an SMS.
pub const KIND_SMS: u8 = 1;
/// Kind of a compact record: a person-to-person record other than SMS (a voice call).
pub const KIND_VOICE: u8 = 2;
/// Kind of a compact record: a data session (the other party is a server).
pub const KIND_DATA: u8 = 4;
/// Kind of a compact record: a location only (where a call or session ended), no edge.
pub const KIND_LOCATION: u8 = 32;
/// Kind of a compact record and edge: a data session whose other party is another
/// subscriber's address (a peer-to-peer end-to-end call), not a server.
pub const KIND_PEER: u8 = 64;
/// Kind bit of an edge: end-to-end (over-the-top) messaging, from correlation.
pub const KIND_OTT: u8 = 8;
/// Kind bit of an edge: seen in clear, kind not told apart.
pub const KIND_CLEAR: u8 = 16;

/// No serving cell known.
pub const NO_CELL: u32 = u32::MAX;

/// One call record or IRI record, interned. 24 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompactRecord {
    /// Start time, nanoseconds.
    pub time: u64,
    /// The subscriber (interned MSISDN).
    pub subscriber: u32,
    /// The other party (interned MSISDN or server address).
    pub other: u32,
    /// The subscriber's serving cell, or [`NO_CELL`].
    pub cell: u32,
    /// [`KIND_SMS`], [`KIND_VOICE`] or [`KIND_DATA`].
    pub kind: u8,
    /// [`SRC_RECORDS`] or [`SRC_IRI`].
    pub source: u8,
}

/// Interned records.
#[derive(Clone, Debug, Default)]
pub struct RecordTable {
    /// Interned names (MSISDNs and addresses), by id.
    pub names: Vec<String>,
    /// Lookups only (never iterated).
    ids: FixedMap<String, u32>,
    /// The records, in input order.
    pub records: Vec<CompactRecord>,
}

impl RecordTable {
    /// The id of `name`, interning it: one hash lookup.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// A table of pre-interned records (benches, tests): names are `n0, n1, ...`.
    pub fn from_ids(names: usize, records: Vec<CompactRecord>) -> RecordTable {
        RecordTable {
            names: (0..names).map(|i| format!("n{i}")).collect(),
            ids: FixedMap::default(),
            records,
        }
    }

    /// The name of id `i`.
    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("", String::as_str)
    }

    /// Every call record of every vantage, then every IRI record of `traffic`.
    pub fn from_captures(captures: &Captures, traffic: &Traffic) -> RecordTable {
        let mut t = RecordTable::default();
        for v in &captures.vantages {
            for c in v.call_records.iter() {
                let person = looks_like_msisdn(c.other_party);
                let kind = if matches!(c.kind, RecordKind::SmsMo | RecordKind::SmsMt) {
                    KIND_SMS
                } else if c.kind.is_voice() || person {
                    KIND_VOICE
                } else {
                    KIND_DATA
                };
                if kind != KIND_DATA && !person {
                    continue;
                }
                // A data session to another subscriber's address: a peer-to-peer edge (no
                // location point of its own: the data record below gives it).
                let peer = (kind == KIND_DATA)
                    .then(|| c.other_party.parse::<std::net::Ipv4Addr>().ok())
                    .flatten()
                    .and_then(|a| traffic.subscriber_addrs.get(&a));
                if let Some(peer) = peer {
                    let rec = CompactRecord {
                        time: c.start.as_nanos(),
                        subscriber: t.intern(c.msisdn),
                        other: t.intern(peer),
                        cell: NO_CELL,
                        kind: KIND_PEER,
                        source: SRC_RECORDS,
                    };
                    t.records.push(rec);
                }
                let rec = CompactRecord {
                    time: c.start.as_nanos(),
                    subscriber: t.intern(c.msisdn),
                    other: t.intern(c.other_party),
                    cell: c.cell,
                    kind,
                    source: SRC_RECORDS,
                };
                t.records.push(rec);
                // Where it ended: a second location point (calls and data sessions).
                if c.end > c.start && c.end_cell != NO_CELL {
                    t.records.push(CompactRecord {
                        time: c.end.as_nanos(),
                        cell: c.end_cell,
                        kind: KIND_LOCATION,
                        ..rec
                    });
                }
            }
        }
        for i in &traffic.iri {
            let person = looks_like_msisdn(&i.other);
            let kind = match i.service {
                IriService::Sms if person => KIND_SMS,
                IriService::Sms => continue,
                _ if person => KIND_VOICE,
                _ => KIND_DATA,
            };
            let rec = CompactRecord {
                time: i.time.as_nanos(),
                subscriber: t.intern(&i.target),
                other: t.intern(&i.other),
                cell: i.cell,
                kind,
                source: SRC_IRI,
            };
            t.records.push(rec);
        }
        t
    }
}

/// A contact edge over interned ids (`a < b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdEdge {
    /// Lower id.
    pub a: u32,
    /// Higher id.
    pub b: u32,
    /// Evidence bits.
    pub sources: u8,
    /// Kind bits.
    pub kinds: u8,
    /// Records supporting it.
    pub records: u32,
}

/// Person-to-person edges from the records. O(r log r).
pub fn contact_graph(t: &RecordTable) -> Vec<IdEdge> {
    let mut v: Vec<IdEdge> = t
        .records
        .iter()
        .filter(|r| r.kind & (KIND_SMS | KIND_VOICE | KIND_PEER) != 0 && r.subscriber != r.other)
        .map(|r| IdEdge {
            a: r.subscriber.min(r.other),
            b: r.subscriber.max(r.other),
            sources: r.source,
            kinds: r.kind,
            records: 1,
        })
        .collect();
    v.sort_unstable_by_key(|e| (e.a, e.b));
    let mut out: Vec<IdEdge> = Vec::with_capacity(v.len() / 2);
    for e in v {
        match out.last_mut() {
            Some(last) if (last.a, last.b) == (e.a, e.b) => {
                last.sources |= e.sources;
                last.kinds |= e.kinds;
                last.records = last.records.saturating_add(1);
            }
            _ => out.push(e),
        }
    }
    out
}

/// An edge of the consolidated contact graph. One per pair of parties, so kept small: the
/// names are shared (one copy per party however many edges it has) and the labels are
/// static.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactEdge {
    /// One end (MSISDN or address), the lower.
    pub a: Arc<str>,
    /// The other end.
    pub b: Arc<str>,
    /// Evidence: `"call-records"`, `"iri"`, `"clear"`, `"timing"`.
    pub sources: Vec<&'static str>,
    /// What kind of communication: `"sms"`, `"voice"`, `"ott"`, `"clear"`, `"p2p"` (a data
    /// session between two subscribers' addresses: a peer-to-peer end-to-end call).
    pub kinds: Vec<&'static str>,
    /// Records or claims supporting it.
    pub evidence: u32,
}

/// The labels of the bits set in `bits`, in table order, in a vector of exactly their number (a
/// collected filter starts at four: most edges have one label).
fn names(bits: u8, table: &[(u8, &'static str)]) -> Vec<&'static str> {
    let mut out = Vec::with_capacity(table.iter().filter(|(b, _)| bits & b != 0).count());
    out.extend(table.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n));
    out
}

/// Edges given by name, with the evidence bit and the kind bit they all share.
pub type ExtraEdges<'a> = (&'a [(String, String)], u8, u8);

/// The consolidated graph: record edges plus `extra` edges given by name, each with its
/// evidence bit and kind bit. O(e log e).
pub fn consolidate<'t>(
    t: &'t RecordTable,
    edges: &[IdEdge],
    extra: &[ExtraEdges<'t>],
) -> Vec<ContactEdge> {
    // Keyed by the names as borrowed from the table and `extra`: no copy per claim.
    let mut m: BTreeMap<(&'t str, &'t str), (u8, u8, u32)> = BTreeMap::new();
    let mut add = |a: &'t str, b: &'t str, src: u8, kind: u8, n: u32| {
        // A sealed-sender envelope names no sender: no edge to an empty name.
        if a == b || a.is_empty() || b.is_empty() {
            return;
        }
        let key = if a <= b { (a, b) } else { (b, a) };
        let e = m.entry(key).or_insert((0, 0, 0));
        e.0 |= src;
        e.1 |= kind;
        e.2 = e.2.saturating_add(n);
    };
    for e in edges {
        add(t.name(e.a), t.name(e.b), e.sources, e.kinds, e.records);
    }
    for (pairs, src, kind) in extra {
        for (a, b) in pairs.iter() {
            add(a, b, *src, *kind, 1);
        }
    }
    const SRC: [(u8, &str); 4] = [
        (SRC_RECORDS, "call-records"),
        (SRC_IRI, "iri"),
        (SRC_CLEAR, "clear"),
        (SRC_TIMING, "timing"),
    ];
    const KIND: [(u8, &str); 5] = [
        (KIND_SMS, "sms"),
        (KIND_VOICE, "voice"),
        (KIND_OTT, "ott"),
        (KIND_CLEAR, "clear"),
        (KIND_PEER, "p2p"),
    ];
    // One shared copy of each name.
    let mut shared: FixedMap<&'t str, Arc<str>> = FixedMap::default();
    let mut name = |x: &'t str| -> Arc<str> { shared.entry(x).or_insert_with(|| x.into()).clone() };
    m.into_iter()
        .map(|((a, b), (s, k, n))| ContactEdge {
            a: name(a),
            b: name(b),
            sources: names(s, &SRC),
            kinds: names(k, &KIND),
            evidence: n,
        })
        .collect()
}

/// A subscriber seen talking to a server rather than a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerEdge {
    /// The subscriber (MSISDN from records/IRI, address from packets).
    pub subscriber: String,
    /// The server address.
    pub server: String,
    /// Evidence: `"call-records"`, `"iri"`, `"packets"`.
    pub sources: Vec<&'static str>,
}

/// Subscriber ↔ server edges from data records, IRI and encrypted flows. O(r log r + f log f).
pub fn server_edges(t: &RecordTable, flows: &[FlowObservation]) -> Vec<ServerEdge> {
    let mut m: BTreeMap<(String, String), u8> = BTreeMap::new();
    for r in t.records.iter().filter(|r| r.kind == KIND_DATA) {
        *m.entry((t.name(r.subscriber).to_owned(), t.name(r.other).to_owned()))
            .or_default() |= r.source;
    }
    for f in flows {
        if matches!(
            f.channel,
            Channel::OttTunnel | Channel::Tunnel | Channel::Ott { .. }
        ) {
            *m.entry((f.subscriber.to_string(), f.server.to_string()))
                .or_default() |= 32;
        }
    }
    m.into_iter()
        .map(|((subscriber, server), bits)| ServerEdge {
            subscriber,
            server,
            sources: names(
                bits,
                &[
                    (SRC_RECORDS, "call-records"),
                    (SRC_IRI, "iri"),
                    (32, "packets"),
                ],
            ),
        })
        .collect()
}

/// A location trace over ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTrace {
    /// The subscriber id.
    pub subscriber: u32,
    /// `(time ns, cell)`, time-ordered: one point per cell change and per hour.
    pub points: Vec<(u64, u32)>,
    /// Most frequent night cell.
    pub home: Option<u32>,
    /// Most frequent working-hours cell.
    pub work: Option<u32>,
}

fn mode(cells: &mut [u32]) -> Option<u32> {
    cells.sort_unstable();
    let mut best: Option<(usize, u32)> = None;
    let mut i = 0;
    while i < cells.len() {
        let mut j = i;
        while j < cells.len() && cells[j] == cells[i] {
            j += 1;
        }
        if best.is_none_or(|(n, _)| j - i > n) {
            best = Some((j - i, cells[i]));
        }
        i = j;
    }
    best.map(|(_, c)| c)
}

/// Per-subscriber traces over ids, sorted by id. O(r log r).
pub fn location_traces(t: &RecordTable) -> Vec<IdTrace> {
    let mut v: Vec<(u32, u64, u32)> = t
        .records
        .iter()
        .filter(|r| r.cell != NO_CELL)
        .map(|r| (r.subscriber, r.time, r.cell))
        .collect();
    v.sort_unstable();
    let mut out = Vec::new();
    let (mut night, mut day) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < v.len() {
        let sub = v[i].0;
        let mut points: Vec<(u64, u32)> = Vec::new();
        night.clear();
        day.clear();
        while i < v.len() && v[i].0 == sub {
            let (_, time, cell) = v[i];
            let keep = points
                .last()
                .is_none_or(|&(t0, c0)| c0 != cell || t0 / HOUR_NS != time / HOUR_NS);
            if keep {
                points.push((time, cell));
            }
            match hour_of_day(Timestamp::from_nanos(time)) {
                0..6 | 22..24 => night.push(cell),
                9..17 => day.push(cell),
                _ => {}
            }
            i += 1;
        }
        out.push(IdTrace {
            subscriber: sub,
            points,
            home: mode(&mut night),
            work: mode(&mut day),
        });
    }
    out
}

/// One point of a location trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TracePoint {
    /// When a record placed the subscriber there.
    pub time: Timestamp,
    /// The serving cell.
    pub cell: u32,
}

/// Where a subscriber was, from the cells in its records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationTrace {
    /// The subscriber's MSISDN.
    pub msisdn: String,
    /// Time-ordered points: one per cell change and per hour.
    pub points: Vec<TracePoint>,
    /// Inferred home cell (most frequent 22:00–06:00).
    pub home_cell: Option<u32>,
    /// Inferred work cell (most frequent 09:00–17:00).
    pub work_cell: Option<u32>,
}

/// Names the traces, sorted by MSISDN.
pub fn name_traces(t: &RecordTable, traces: Vec<IdTrace>) -> Vec<LocationTrace> {
    let mut out: Vec<LocationTrace> = traces
        .into_iter()
        .map(|x| LocationTrace {
            msisdn: t.name(x.subscriber).to_owned(),
            points: x
                .points
                .into_iter()
                .map(|(time, cell)| TracePoint {
                    time: Timestamp::from_nanos(time),
                    cell,
                })
                .collect(),
            home_cell: x.home,
            work_cell: x.work,
        })
        .collect();
    out.sort_by(|a, b| a.msisdn.cmp(&b.msisdn));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(time_h: u64, sub: u32, other: u32, cell: u32, kind: u8) -> CompactRecord {
        CompactRecord {
            time: time_h * HOUR_NS,
            subscriber: sub,
            other,
            cell,
            kind,
            source: SRC_RECORDS,
        }
    }

    #[test]
    fn edges_merge_both_ends_and_skip_data() {
        let t = RecordTable::from_ids(
            4,
            vec![
                rec(1, 0, 1, 5, KIND_SMS),
                rec(1, 1, 0, 6, KIND_SMS),
                rec(2, 2, 0, 5, KIND_VOICE),
                rec(3, 3, 1, 5, KIND_DATA),
            ],
        );
        let g = contact_graph(&t);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[0].a, g[0].b, g[0].records, g[0].kinds),
            (0, 1, 2, KIND_SMS)
        );
        assert_eq!((g[1].a, g[1].b, g[1].kinds), (0, 2, KIND_VOICE));
    }

    #[test]
    fn a_peer_to_peer_data_session_is_a_contact_edge_and_a_server_is_not() {
        let record = |msisdn: &str, other: &str| capture::CallRecord {
            record_id: 1,
            kind: RecordKind::Data,
            imsi: "001010000000001".into(),
            imei: "3500000000000001".into(),
            msisdn: msisdn.into(),
            other_party: other.into(),
            start: Timestamp::from_secs(10),
            end: Timestamp::from_secs(70),
            cell: 3,
            bytes_up: 1000,
            bytes_down: 1000,
            end_cell: 3,
            answer: None,
            duration_ns: 60_000_000_000,
            cause: capture::Cause::default(),
            call_ref: 7,
        };
        let captures = Captures {
            vantages: vec![capture::VantagePoint {
                name: "lab.records".into(),
                carrier: "lab".into(),
                kind: capture::VantageKind::CallRecords,
                packets: None,
                warrants: Vec::new(),
                call_records: std::sync::Arc::new(
                    vec![
                        record("+15550000001", "10.0.0.7"),
                        record("+15550000001", "203.0.113.10"),
                    ]
                    .into(),
                ),
            }],
        };
        let mut traffic = Traffic::default();
        // 10.0.0.7 talks to the relay as a subscriber, named by its MSISDN; the relay does not.
        traffic
            .subscriber_addrs
            .insert("10.0.0.7".parse().unwrap(), "+15550000007".into());
        let t = RecordTable::from_captures(&captures, &traffic);
        let edges = consolidate(&t, &contact_graph(&t), &[]);
        assert_eq!(edges.len(), 1, "{edges:?}");
        assert_eq!(
            (&*edges[0].a, &*edges[0].b),
            ("+15550000001", "+15550000007")
        );
        assert_eq!(edges[0].kinds, vec!["p2p".to_owned()]);
        assert_eq!(edges[0].sources, vec!["call-records".to_owned()]);
        // Both data sessions stay server/peer edges of the records as before.
        assert_eq!(server_edges(&t, &[]).len(), 2);
    }

    #[test]
    fn traces_keep_changes_and_hours_and_infer_home_and_work() {
        let t = RecordTable::from_ids(
            1,
            vec![
                rec(1, 0, 0, 7, KIND_SMS),
                rec(2, 0, 0, 7, KIND_SMS),
                rec(10, 0, 0, 3, KIND_SMS),
                rec(11, 0, 0, 3, KIND_SMS),
                rec(23, 0, 0, 7, KIND_SMS),
            ],
        );
        let tr = location_traces(&t);
        assert_eq!(tr.len(), 1);
        assert_eq!(tr[0].points.len(), 5);
        assert_eq!(tr[0].home, Some(7));
        assert_eq!(tr[0].work, Some(3));
    }
}
