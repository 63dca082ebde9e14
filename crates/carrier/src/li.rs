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

use capture::{CallRecord, RecordKind, WarrantKind};
use netsim::{HookCtx, OnPathHook, Packet, Verdict};
use proto::wire::{
    AppPdu, Frame, Iri, IriEvent, IriService, LiDirection, LiKind, LiRecord, FRAME_PORT, LI_PORT,
};
use simcore::{Duration, Timestamp};

use crate::topology::{is_infra_of, is_subscriber};

/// A data session ends after this much silence (IRI END, call record closed).
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// A warrant as the POI holds it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub liid: String,
    pub msisdn: String,
    pub ip: Ipv4Addr,
    pub cell: u32,
    pub kind: WarrantKind,
}

/// The SMS PDU inside a DATA frame, if the datagram carries one in the clear.
pub(crate) fn clear_sms(packet: &Packet) -> Option<proto::wire::SmsPdu> {
    if packet.dst().port() != FRAME_PORT {
        return None;
    }
    match Frame::decode(packet.udp_payload()).ok()? {
        Frame::Data { payload, .. } => match AppPdu::decode(&payload).ok()? {
            AppPdu::Sms(s) => Some(s),
            _ => None,
        },
        Frame::Ack { .. } => None,
    }
}

/// The point of interception in a carrier's core router.
pub(crate) struct Poi {
    targets: Vec<Target>,
    by_ip: BTreeMap<Ipv4Addr, usize>,
    by_msisdn: BTreeMap<String, usize>,
    from: SocketAddrV4,
    to: SocketAddrV4,
    correlation: u64,
    /// Open data sessions per (target, remote): (correlation, last packet time).
    flows: BTreeMap<(usize, Ipv4Addr), (u64, Timestamp)>,
    /// SMS already reported, by (sender, msg_ref): retransmissions are copied but not re-reported.
    reported: BTreeSet<(String, u32)>,
    /// Records sent to the mediation node.
    pub records: Arc<Mutex<u64>>,
}

impl Poi {
    pub(crate) fn new(
        targets: Vec<Target>,
        core: Ipv4Addr,
        mediation: Ipv4Addr,
        records: Arc<Mutex<u64>>,
    ) -> Self {
        let by_ip = targets.iter().enumerate().map(|(i, t)| (t.ip, i)).collect();
        let by_msisdn = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.msisdn.clone(), i))
            .collect();
        Poi {
            targets,
            by_ip,
            by_msisdn,
            from: SocketAddrV4::new(core, LI_PORT),
            to: SocketAddrV4::new(mediation, LI_PORT),
            correlation: 0,
            flows: BTreeMap::new(),
            reported: BTreeSet::new(),
            records,
        }
    }

    fn deliver(&mut self, ctx: &mut HookCtx<'_>, rec: LiRecord) {
        match rec.to_bytes().map(|b| Packet::udp(self.from, self.to, &b)) {
            Ok(Ok(p)) => {
                ctx.inject(p);
                if let Ok(mut n) = self.records.lock() {
                    *n += 1;
                }
            }
            _ => tracing::warn!("an LI record did not fit a datagram"),
        }
    }

    fn iri(&mut self, ctx: &mut HookCtx<'_>, t: usize, dir: LiDirection, corr: u64, iri: Iri) {
        let mut payload = Vec::new();
        if iri.encode(&mut payload).is_err() {
            return;
        }
        let rec = LiRecord {
            kind: LiKind::Iri,
            liid: self.targets[t].liid.clone(),
            correlation: corr,
            timestamp: ctx.now(),
            direction: dir,
            payload,
        };
        self.deliver(ctx, rec);
    }
}

impl OnPathHook for Poi {
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict {
        if packet.dst().port() == LI_PORT {
            return Verdict::Pass;
        }
        let (src, dst) = (*packet.src().ip(), *packet.dst().ip());
        let sms = clear_sms(packet);
        let hit = if let Some(&t) = self.by_ip.get(&src) {
            Some((t, LiDirection::FromTarget, dst))
        } else if let Some(&t) = self.by_ip.get(&dst) {
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
            return Verdict::Pass;
        };
        let now = ctx.now();
        let corr;
        if let Some(s) = sms {
            let key = (s.from.clone(), s.msg_ref);
            if self.reported.insert(key) {
                self.correlation += 1;
                corr = self.correlation;
                let other = if dir == LiDirection::FromTarget {
                    s.to.clone()
                } else {
                    s.from.clone()
                };
                let iri = Iri {
                    event: IriEvent::Report,
                    target: self.targets[t].msisdn.clone(),
                    other,
                    service: IriService::Sms,
                    cell: self.targets[t].cell,
                    size: s.text.len() as u32,
                };
                self.iri(ctx, t, dir, corr, iri);
            } else {
                corr = self.correlation;
            }
        } else {
            let entry = self.flows.get(&(t, remote)).copied();
            corr = match entry {
                Some((c, last)) if now.saturating_duration_since(last) < IDLE => c,
                _ => {
                    self.correlation += 1;
                    let c = self.correlation;
                    let iri = Iri {
                        event: IriEvent::Begin,
                        target: self.targets[t].msisdn.clone(),
                        other: remote.to_string(),
                        service: IriService::Data,
                        cell: self.targets[t].cell,
                        size: packet.bytes().len() as u32,
                    };
                    self.iri(ctx, t, dir, c, iri);
                    c
                }
            };
            self.flows.insert((t, remote), (corr, now));
        }
        if self.targets[t].kind == WarrantKind::IriAndContent {
            let rec = LiRecord {
                kind: LiKind::Cc,
                liid: self.targets[t].liid.clone(),
                correlation: corr,
                timestamp: now,
                direction: dir,
                payload: packet.bytes().to_vec(),
            };
            self.deliver(ctx, rec);
        }
        Verdict::Pass
    }
}

/// A subscriber as the charging function knows it.
#[derive(Clone, Debug)]
pub(crate) struct Charged {
    pub imsi: String,
    pub imei: String,
    pub msisdn: String,
    pub cell: u32,
}

struct OpenSession {
    start: Timestamp,
    last: Timestamp,
    up: u64,
    down: u64,
}

/// The carrier's call-record store, shared by its SMS centre and its charging function.
#[derive(Default)]
pub(crate) struct RecordStore {
    pub records: Vec<CallRecord>,
    open: BTreeMap<(Ipv4Addr, Ipv4Addr), OpenSession>,
}

impl RecordStore {
    /// Appends a record, numbering it.
    pub(crate) fn push(&mut self, mut r: CallRecord) {
        r.record_id = self.records.len() as u64 + 1;
        self.records.push(r);
    }

    fn close(
        &mut self,
        key: (Ipv4Addr, Ipv4Addr),
        s: OpenSession,
        who: &Charged,
        cause: capture::Cause,
    ) {
        self.push(CallRecord {
            record_id: 0,
            kind: RecordKind::Data,
            imsi: who.imsi.clone(),
            imei: who.imei.clone(),
            msisdn: who.msisdn.clone(),
            other_party: key.1.to_string(),
            start: s.start,
            end: s.last,
            cell: who.cell,
            bytes_up: s.up,
            bytes_down: s.down,
            end_cell: who.cell,
            answer: None,
            duration_ns: s.last.saturating_duration_since(s.start).as_nanos() as u64,
            cause,
            call_ref: 0,
        });
    }
}

/// The charging function in a packet gateway: data sessions between subscribers and hosts
/// outside the carrier, closed after [`IDLE`].
pub(crate) struct Charging {
    carrier: usize,
    subscribers: Arc<BTreeMap<Ipv4Addr, Charged>>,
    store: Arc<Mutex<RecordStore>>,
}

impl Charging {
    pub(crate) fn new(
        carrier: usize,
        subscribers: Arc<BTreeMap<Ipv4Addr, Charged>>,
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
pub(crate) fn close_all(store: &Mutex<RecordStore>, subscribers: &BTreeMap<Ipv4Addr, Charged>) {
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
        if let Some(s) = store.open.remove(&key) {
            if now.saturating_duration_since(s.last) >= IDLE {
                store.close(key, s, who, capture::Cause::IdleTimeout);
            } else {
                store.open.insert(key, s);
            }
        }
        let s = store.open.entry(key).or_insert(OpenSession {
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
