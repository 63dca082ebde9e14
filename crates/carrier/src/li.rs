//! Carrier functions that sit on the path as [`netsim::OnPathHook`]s: the lawful-intercept point
//! of interception (POI) in the core router, and the charging function in the packet gateway
//! that writes data-session call records.
//!
//! The POI matches warrant targets by address (data) and by MSISDN inside SMS PDUs (which it can
//! read in the core), and delivers to the mediation node: an IRI record per SMS and per data
//! session start, and — for IRI+content warrants — a content copy (CC) of every target packet,
//! byte for byte, correlated with its IRI. This is exactly the stream a compromised mediation
//! node hands the adversary.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};

use capture::{
    CallRecord, InterceptKind, InterceptRecord, IriEventKind, IriServiceKind, RecordKind,
    WarrantKind,
};
use netsim::{HookCtx, OnPathHook, Packet, Verdict};
use proto::wire::{
    AppPdu, CallKind, CallNetwork, CallPdu, Frame, Iri, IriEvent, IriService, LiDirection, LiKind,
    LiRecord, MediaPdu, FRAME_PORT, LI_PORT, MEDIA_PORT,
};
use simcore::{Blocks, Duration, FixedMap, FixedSet, Timestamp};

use crate::ids::Identity;
use crate::mobility::Mobility;

use crate::topology::{is_infra_of, is_subscriber};

/// A data session ends after this much silence (IRI END, call record closed).
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// A warrant as the POI holds it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub liid: String,
    pub msisdn: String,
    pub ip: Ipv4Addr,
    /// The target's subscriber index (for its location).
    pub sub: usize,
    pub kind: WarrantKind,
}

/// The application PDU inside a DATA frame, if the datagram carries one in the clear.
fn clear_pdu(packet: &Packet) -> Option<AppPdu> {
    if packet.dst().port() != FRAME_PORT {
        return None;
    }
    match Frame::decode(packet.udp_payload()).ok()? {
        Frame::Data { payload, .. } => AppPdu::decode(&payload).ok(),
        Frame::Ack { .. } => None,
    }
}

/// An open data session of a target, as the POI follows it.
struct Flow {
    correlation: u64,
    last: Timestamp,
    bytes: u64,
    direction: LiDirection,
}

/// A carrier voice call of a target, as the POI follows it.
struct VoiceTap {
    correlation: u64,
    direction: LiDirection,
    other: String,
    cell: u32,
    bytes: u64,
    begun: bool,
}

/// The point of interception in a carrier's core router.
///
/// IRI per target: SMS → REPORT; data session (per remote address) → BEGIN at the first
/// packet, END after [`IDLE`] of silence (or at the end of the run) with the session's bytes;
/// carrier voice call → BEGIN at ANSWER, CONTINUE whenever the target's serving cell changes
/// during the call, END at BYE with the media bytes; an unanswered call attempt (busy, no
/// answer) → REPORT. Content warrants also get a CC copy of every target packet, correlated
/// with the IRI of its communication.
pub(crate) struct Poi {
    carrier: Arc<str>,
    targets: Vec<Target>,
    /// Each target's (LIID, MSISDN), one copy shared by all its records in `log`.
    names: Vec<(Arc<str>, Arc<str>)>,
    /// Every other party `log` names, one copy each.
    others: FixedSet<Arc<str>>,
    /// Target by address, keyed as a `u32` (integer comparisons on every packet).
    by_ip: BTreeMap<u32, usize>,
    by_msisdn: BTreeMap<String, usize>,
    from: SocketAddrV4,
    to: SocketAddrV4,
    correlation: u64,
    flows: BTreeMap<(usize, Ipv4Addr), Flow>,
    /// No open flow was last active before this (a lower bound, exact after each scan of
    /// `flows`): until `now` is [`IDLE`] past it, no flow can be idle and none is scanned.
    flows_since: Timestamp,
    /// SMS already reported, by (sender, msg_ref): retransmissions are copied but not re-reported.
    reported: BTreeSet<(String, u32)>,
    /// Calls of targets, by (target, call id).
    calls: BTreeMap<(usize, u64), VoiceTap>,
    /// Call messages already handled, by (target, call id, message).
    call_seen: BTreeSet<(usize, u64, u8)>,
    mobility: Arc<Mobility>,
    /// Records sent to the mediation node.
    pub records: Arc<Mutex<u64>>,
    /// Every record produced, decoded, in order: the carrier's own log (in blocks: it grows
    /// all day without copying).
    pub log: Blocks<InterceptRecord>,
}

impl Poi {
    pub(crate) fn new(
        carrier: String,
        targets: Vec<Target>,
        core: Ipv4Addr,
        mediation: Ipv4Addr,
        mobility: Arc<Mobility>,
        records: Arc<Mutex<u64>>,
    ) -> Self {
        let by_ip = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (u32::from(t.ip), i))
            .collect();
        let by_msisdn = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.msisdn.clone(), i))
            .collect();
        let names = targets
            .iter()
            .map(|t| (Arc::from(t.liid.as_str()), Arc::from(t.msisdn.as_str())))
            .collect();
        Poi {
            carrier: carrier.into(),
            targets,
            names,
            others: FixedSet::default(),
            by_ip,
            by_msisdn,
            from: SocketAddrV4::new(core, LI_PORT),
            to: SocketAddrV4::new(mediation, LI_PORT),
            correlation: 0,
            flows: BTreeMap::new(),
            flows_since: Timestamp::ZERO,
            reported: BTreeSet::new(),
            calls: BTreeMap::new(),
            call_seen: BTreeSet::new(),
            mobility,
            records,
            log: Blocks::new(),
        }
    }

    fn cell(&self, t: usize, now: Timestamp) -> u32 {
        self.mobility.cell_at(self.targets[t].sub, now)
    }

    fn next_correlation(&mut self) -> u64 {
        self.correlation += 1;
        self.correlation
    }

    /// Encodes `rec`, a record about target `t`, as a datagram to the mediation node and logs
    /// it.
    fn emit(&mut self, rec: LiRecord, t: usize, out: &mut Vec<Packet>) {
        let iri = (rec.kind == LiKind::Iri)
            .then(|| Iri::decode(&rec.payload).ok())
            .flatten();
        match rec.to_bytes().map(|b| Packet::udp(self.from, self.to, &b)) {
            Ok(Ok(p)) => {
                out.push(p);
                if let Ok(mut n) = self.records.lock() {
                    *n += 1;
                }
            }
            _ => {
                tracing::warn!("an LI record did not fit a datagram");
                return;
            }
        }
        let other = self.other(iri.as_ref().map_or("", |i| i.other.as_str()));
        self.log.push(InterceptRecord {
            carrier: self.carrier.clone(),
            liid: self.names[t].0.clone(),
            kind: match rec.kind {
                LiKind::Iri => InterceptKind::Iri,
                LiKind::Cc => InterceptKind::Cc,
            },
            correlation: rec.correlation,
            timestamp: rec.timestamp,
            from_target: rec.direction == LiDirection::FromTarget,
            target: self.names[t].1.clone(),
            event: iri.as_ref().map(|i| match i.event {
                IriEvent::Begin => IriEventKind::Begin,
                IriEvent::Continue => IriEventKind::Continue,
                IriEvent::End => IriEventKind::End,
                IriEvent::Report => IriEventKind::Report,
            }),
            service: iri.as_ref().map(|i| match i.service {
                IriService::Sms => IriServiceKind::Sms,
                IriService::Data => IriServiceKind::Data,
                IriService::Voice => IriServiceKind::Voice,
            }),
            other,
            cell: iri.as_ref().map(|i| i.cell),
            size: iri
                .as_ref()
                .map_or(rec.payload.len() as u64, |i| u64::from(i.size)),
        });
    }

    /// The shared copy of `other`.
    fn other(&mut self, other: &str) -> Arc<str> {
        if let Some(o) = self.others.get(other) {
            return o.clone();
        }
        let o: Arc<str> = other.into();
        self.others.insert(o.clone());
        o
    }

    #[allow(clippy::too_many_arguments)]
    fn iri(
        &mut self,
        now: Timestamp,
        t: usize,
        dir: LiDirection,
        corr: u64,
        event: IriEvent,
        service: IriService,
        other: String,
        size: u64,
        out: &mut Vec<Packet>,
    ) {
        let iri = Iri {
            event,
            target: self.targets[t].msisdn.clone(),
            other,
            service,
            cell: self.cell(t, now),
            size: u32::try_from(size).unwrap_or(u32::MAX),
        };
        let mut payload = Vec::new();
        if iri.encode(&mut payload).is_err() {
            return;
        }
        let rec = LiRecord {
            kind: LiKind::Iri,
            liid: self.targets[t].liid.clone(),
            correlation: corr,
            timestamp: now,
            direction: dir,
            payload,
        };
        self.emit(rec, t, out);
    }

    fn cc(
        &mut self,
        now: Timestamp,
        t: usize,
        dir: LiDirection,
        corr: u64,
        packet: &Packet,
        out: &mut Vec<Packet>,
    ) {
        if self.targets[t].kind != WarrantKind::IriAndContent {
            return;
        }
        let rec = LiRecord {
            kind: LiKind::Cc,
            liid: self.targets[t].liid.clone(),
            correlation: corr,
            timestamp: now,
            direction: dir,
            payload: packet.bytes().to_vec(),
        };
        self.emit(rec, t, out);
    }

    /// Ends the data sessions idle for [`IDLE`] at `now` (all of them with `all`).
    fn close_flows(&mut self, now: Timestamp, all: bool, out: &mut Vec<Packet>) {
        if !all && now.saturating_duration_since(self.flows_since) < IDLE {
            return;
        }
        let idle: Vec<(usize, Ipv4Addr)> = self
            .flows
            .iter()
            .filter(|(_, f)| all || now.saturating_duration_since(f.last) >= IDLE)
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            if let Some(f) = self.flows.remove(&key) {
                self.iri(
                    now,
                    key.0,
                    f.direction,
                    f.correlation,
                    IriEvent::End,
                    IriService::Data,
                    key.1.to_string(),
                    f.bytes,
                    out,
                );
            }
        }
        self.flows_since = self.flows.values().map(|f| f.last).min().unwrap_or(now);
    }

    /// The END records of every session still open at the end of the run.
    pub(crate) fn flush(&mut self, now: Timestamp) -> Vec<Packet> {
        let mut out = Vec::new();
        self.close_flows(now, true, &mut out);
        out
    }

    /// A carrier call message about target `t`.
    fn call_event(
        &mut self,
        now: Timestamp,
        t: usize,
        c: &CallPdu,
        packet: &Packet,
        out: &mut Vec<Packet>,
    ) {
        let caller = self.targets[t].msisdn == c.from;
        let dir = if caller {
            LiDirection::FromTarget
        } else {
            LiDirection::ToTarget
        };
        let other = if caller { c.to.clone() } else { c.from.clone() };
        let code = c.kind as u8;
        let first = self.call_seen.insert((t, c.call_id, code));
        let key = (t, c.call_id);
        if !self.calls.contains_key(&key) {
            let correlation = self.next_correlation();
            let cell = self.cell(t, now);
            self.calls.insert(
                key,
                VoiceTap {
                    correlation,
                    direction: dir,
                    other: other.clone(),
                    cell,
                    bytes: 0,
                    begun: false,
                },
            );
        }
        let Some(v) = self.calls.get(&key) else {
            return;
        };
        let (corr, begun, bytes) = (v.correlation, v.begun, v.bytes);
        if first {
            match c.kind {
                CallKind::Answer if !begun => {
                    self.iri(
                        now,
                        t,
                        dir,
                        corr,
                        IriEvent::Begin,
                        IriService::Voice,
                        other,
                        0,
                        out,
                    );
                    if let Some(v) = self.calls.get_mut(&key) {
                        v.begun = true;
                        v.cell = self.mobility.cell_at(self.targets[t].sub, now);
                    }
                }
                CallKind::Bye if begun => {
                    self.iri(
                        now,
                        t,
                        dir,
                        corr,
                        IriEvent::End,
                        IriService::Voice,
                        other,
                        bytes,
                        out,
                    );
                }
                CallKind::Busy | CallKind::Cancel if !begun => {
                    self.iri(
                        now,
                        t,
                        dir,
                        corr,
                        IriEvent::Report,
                        IriService::Voice,
                        other,
                        0,
                        out,
                    );
                }
                _ => {}
            }
        }
        let pdir = if self.targets[t].ip == *packet.src().ip() {
            LiDirection::FromTarget
        } else {
            LiDirection::ToTarget
        };
        if *packet.src().ip() == self.targets[t].ip || *packet.dst().ip() == self.targets[t].ip {
            self.cc(now, t, pdir, corr, packet, out);
        }
    }

    /// A carrier media packet of target `t` (on the target's own access leg).
    fn media(
        &mut self,
        now: Timestamp,
        t: usize,
        m: &MediaPdu,
        dir: LiDirection,
        packet: &Packet,
        out: &mut Vec<Packet>,
    ) {
        let key = (t, m.call_id);
        let cell = self.cell(t, now);
        let Some(v) = self.calls.get_mut(&key) else {
            return;
        };
        v.bytes += packet.len() as u64;
        let (corr, begun, moved, other, d) = (
            v.correlation,
            v.begun,
            v.cell != cell,
            v.other.clone(),
            v.direction,
        );
        if begun && moved {
            v.cell = cell;
            self.iri(
                now,
                t,
                d,
                corr,
                IriEvent::Continue,
                IriService::Voice,
                other,
                0,
                out,
            );
        }
        self.cc(now, t, dir, corr, packet, out);
    }

    fn on_packet(&mut self, now: Timestamp, packet: &Packet, out: &mut Vec<Packet>) {
        if packet.dst().port() == LI_PORT {
            return;
        }
        self.close_flows(now, false, out);
        let (src, dst) = (*packet.src().ip(), *packet.dst().ip());
        let pdu = clear_pdu(packet);
        // Carrier call signalling: matched by MSISDN, both parties.
        if let Some(AppPdu::Call(c)) = &pdu {
            if c.network == CallNetwork::Carrier {
                for who in [&c.from, &c.to] {
                    if let Some(&t) = self.by_msisdn.get(who) {
                        self.call_event(now, t, c, packet, out);
                    }
                }
                return;
            }
        }
        // Carrier media on a target's access leg: matched by address and call id.
        if packet.dst().port() == MEDIA_PORT || packet.src().port() == MEDIA_PORT {
            if let Ok(m) = MediaPdu::decode(packet.udp_payload()) {
                if !m.encrypted {
                    let hit = match (
                        self.by_ip.get(&u32::from(src)),
                        self.by_ip.get(&u32::from(dst)),
                    ) {
                        (Some(&t), _) => Some((t, LiDirection::FromTarget)),
                        (_, Some(&t)) => Some((t, LiDirection::ToTarget)),
                        _ => None,
                    };
                    if let Some((t, dir)) = hit {
                        self.media(now, t, &m, dir, packet, out);
                    }
                    return;
                }
            }
        }
        let sms = match pdu {
            Some(AppPdu::Sms(s)) => Some(s),
            _ => None,
        };
        let hit = if let Some(&t) = self.by_ip.get(&u32::from(src)) {
            Some((t, LiDirection::FromTarget, dst))
        } else if let Some(&t) = self.by_ip.get(&u32::from(dst)) {
            Some((t, LiDirection::ToTarget, src))
        } else {
            sms.as_ref().and_then(|s| {
                if let Some(&t) = self.by_msisdn.get(&s.from) {
                    Some((t, LiDirection::FromTarget, dst))
                } else {
                    self.by_msisdn
                        .get(&s.to)
                        .map(|&t| (t, LiDirection::ToTarget, src))
                }
            })
        };
        let Some((t, dir, remote)) = hit else {
            return;
        };
        let corr;
        if let Some(s) = sms {
            let key = (s.from.clone(), s.msg_ref);
            if self.reported.insert(key) {
                corr = self.next_correlation();
                let other = if dir == LiDirection::FromTarget {
                    s.to.clone()
                } else {
                    s.from.clone()
                };
                self.iri(
                    now,
                    t,
                    dir,
                    corr,
                    IriEvent::Report,
                    IriService::Sms,
                    other,
                    s.text.len() as u64,
                    out,
                );
            } else {
                corr = self.correlation;
            }
        } else {
            let size = packet.len() as u64;
            corr = match self.flows.get_mut(&(t, remote)) {
                Some(f) => {
                    f.last = now;
                    f.bytes += size;
                    f.correlation
                }
                None => {
                    let c = self.next_correlation();
                    self.iri(
                        now,
                        t,
                        dir,
                        c,
                        IriEvent::Begin,
                        IriService::Data,
                        remote.to_string(),
                        size,
                        out,
                    );
                    self.flows.insert(
                        (t, remote),
                        Flow {
                            correlation: c,
                            last: now,
                            bytes: size,
                            direction: dir,
                        },
                    );
                    c
                }
            };
        }
        self.cc(now, t, dir, corr, packet, out);
    }
}

/// The POI as an on-path hook at the core router; the world keeps a handle for the final flush.
pub(crate) struct PoiHook(pub Arc<Mutex<Poi>>);

impl OnPathHook for PoiHook {
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict {
        let mut out = Vec::new();
        if let Ok(mut poi) = self.0.lock() {
            poi.on_packet(ctx.now(), packet, &mut out);
        }
        for p in out {
            ctx.inject(p);
        }
        Verdict::Pass
    }
}

/// A subscriber as the charging function knows it.
#[derive(Clone, Debug)]
pub(crate) struct Charged {
    /// Subscriber index (for its location).
    pub index: usize,
    /// Its identities, shared with its other records.
    pub id: Identity,
}

struct OpenSession {
    charging_id: u64,
    start: Timestamp,
    last: Timestamp,
    up: u64,
    down: u64,
}

/// The carrier's call-record store, shared by its SMS centre and its charging function.
pub(crate) struct RecordStore {
    /// The records, encoded as they are made (`capture::RecordLog`: about 30 bytes a record
    /// instead of a 152-byte `CallRecord`, in blocks that never move, its strings shared):
    /// `take_records` moves the log out whole.
    records: capture::RecordLog,
    open: BTreeMap<(Ipv4Addr, Ipv4Addr), OpenSession>,
    /// The remote address of data records as text, made once per address and shared.
    remotes: BTreeMap<Ipv4Addr, Arc<str>>,
    /// Where subscribers are, for the cells of data records.
    pub mobility: Arc<Mobility>,
    charging_ids: u64,
}

impl RecordStore {
    /// Appends a record, numbering it.
    pub(crate) fn push(&mut self, mut r: CallRecord) {
        r.record_id = self.records.len() as u64 + 1;
        self.records.push(&r);
    }

    /// How many records the store holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Moves the log out, with its spare room and its string index freed.
    pub(crate) fn take_records(&mut self) -> capture::RecordLog {
        let mut log = std::mem::take(&mut self.records);
        log.shrink_to_fit();
        log
    }

    pub(crate) fn new(mobility: Arc<Mobility>) -> Self {
        RecordStore {
            records: capture::RecordLog::new(),
            open: BTreeMap::new(),
            remotes: BTreeMap::new(),
            mobility,
            charging_ids: 0,
        }
    }

    fn close(
        &mut self,
        key: (Ipv4Addr, Ipv4Addr),
        s: OpenSession,
        who: &Charged,
        cause: capture::Cause,
    ) {
        let other_party = self
            .remotes
            .entry(key.1)
            .or_insert_with(|| key.1.to_string().into())
            .clone();
        self.push(CallRecord {
            record_id: 0,
            kind: RecordKind::Data,
            imsi: who.id.imsi.clone(),
            imei: who.id.imei.clone(),
            msisdn: who.id.msisdn.clone(),
            other_party,
            start: s.start,
            end: s.last,
            cell: self.mobility.cell_at(who.index, s.start),
            bytes_up: s.up,
            bytes_down: s.down,
            end_cell: self.mobility.cell_at(who.index, s.last),
            answer: None,
            duration_ns: s.last.saturating_duration_since(s.start).as_nanos() as u64,
            cause,
            call_ref: s.charging_id,
        });
    }
}

/// The charging function in a packet gateway: data sessions between subscribers and hosts
/// outside the carrier, closed after [`IDLE`].
pub(crate) struct Charging {
    carrier: usize,
    subscribers: Arc<FixedMap<Ipv4Addr, Charged>>,
    store: Arc<Mutex<RecordStore>>,
}

impl Charging {
    pub(crate) fn new(
        carrier: usize,
        subscribers: Arc<FixedMap<Ipv4Addr, Charged>>,
        store: Arc<Mutex<RecordStore>>,
    ) -> Self {
        Charging {
            carrier,
            subscribers,
            store,
        }
    }
}

/// Closes every open data session (at the end of a run), in key order.
pub(crate) fn close_all(store: &Mutex<RecordStore>, subscribers: &FixedMap<Ipv4Addr, Charged>) {
    if let Ok(mut s) = store.lock() {
        let open = std::mem::take(&mut s.open);
        for (key, sess) in open {
            if let Some(who) = subscribers.get(&key.0) {
                s.close(key, sess, who, capture::Cause::EndOfRun);
            }
        }
    }
}

impl OnPathHook for Charging {
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict {
        let (src, dst) = (*packet.src().ip(), *packet.dst().ip());
        let (sub, remote, up) = if is_subscriber(src) && !is_infra_of(dst, self.carrier) {
            (src, dst, true)
        } else if is_subscriber(dst) && !is_infra_of(src, self.carrier) {
            (dst, src, false)
        } else {
            return Verdict::Pass;
        };
        let Some(who) = self.subscribers.get(&sub) else {
            return Verdict::Pass;
        };
        let now = ctx.now();
        let size = packet.bytes().len() as u64;
        let Ok(mut store) = self.store.lock() else {
            return Verdict::Pass;
        };
        let key = (sub, remote);
        // A session idle for IDLE is closed; a live one is updated in place below.
        let idle = store
            .open
            .get(&key)
            .is_some_and(|s| now.saturating_duration_since(s.last) >= IDLE);
        if idle {
            if let Some(s) = store.open.remove(&key) {
                store.close(key, s, who, capture::Cause::IdleTimeout);
            }
        }
        if !store.open.contains_key(&key) {
            store.charging_ids += 1;
        }
        let charging_id = store.charging_ids;
        let s = store.open.entry(key).or_insert(OpenSession {
            charging_id,
            start: now,
            last: now,
            up: 0,
            down: 0,
        });
        s.last = now;
        if up {
            s.up += size;
        } else {
            s.down += size;
        }
        Verdict::Pass
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    fn record(n: u64) -> CallRecord {
        let id: Arc<str> = Arc::from(format!("{n}").as_str());
        CallRecord {
            record_id: 0,
            kind: RecordKind::SmsMo,
            imsi: id.clone(),
            imei: id.clone(),
            msisdn: id.clone(),
            other_party: id,
            start: Timestamp::from_nanos(n),
            end: Timestamp::from_nanos(n),
            cell: 0,
            bytes_up: n,
            bytes_down: 0,
            end_cell: 0,
            answer: None,
            duration_ns: 0,
            cause: capture::Cause::default(),
            call_ref: 0,
        }
    }

    #[test]
    fn the_store_numbers_records_and_hands_them_out_in_order() {
        let mut store =
            RecordStore::new(Arc::new(crate::mobility::Mobility { traces: Vec::new() }));
        let n = 2 * 16_384 + 5;
        for i in 0..n as u64 {
            store.push(record(i));
        }
        assert_eq!(store.len(), n);
        let records = store.take_records();
        assert_eq!(records.len(), n);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(
                r.record_id,
                i as u64 + 1,
                "numbered 1, 2, ... in push order"
            );
            assert_eq!(r.bytes_up, i as u64, "in push order");
        }
        assert_eq!(store.len(), 0);
        assert!(store.take_records().is_empty(), "taken once");
    }
}
