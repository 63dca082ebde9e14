//! The SMS centre, which is also the carrier's mobile switching centre (MSC): a sans-IO machine.
//!
//! **SMS.** A `Submit` from a handset (or its packet gateway) is written to the call-record
//! store as `SmsMo` when the sender is this carrier's, and then either delivered (`SmsMt` record,
//! the PDU turned into a `Deliver`, sent to the handset or to the gateway of a carrier-encrypted
//! subscriber) or handed over the interconnect to the recipient's home SMS centre.
//!
//! **Calls.** Call signalling is relayed toward the other party (its handset when it is ours,
//! else its MSC); media is counted per leg and forwarded. When a call closes, one voice record
//! per leg of this carrier is written.
//!
//! Inputs: [`SmscNode::handle_datagram`] and [`SmscNode::handle_timer`], with the time and an
//! output buffer in [`Io`] and the read-only [`Directory`]. Outputs: transmits and timers in the
//! [`Io`], records and undecodable PDUs as [`NodeEvent`]s. It never sees the network or the
//! ground truth.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use capture::{CallRecord, RecordKind};
use netsim::Packet;
use proto::wire::{AppPdu, ByeCause, CallKind, CallPdu, MediaPdu, SmsKind, MEDIA_PORT};
use simcore::Timestamp;

use crate::directory::Directory;
use crate::endpoint::Endpoint;
use crate::io::{Io, NodeEvent};
use crate::timer::Timer;
use crate::topology::{pgw_addr, smsc_addr};

/// One of this carrier's parties in a call, as the switching centre meters it.
pub(crate) struct MscLeg {
    pub sub: usize,
    pub caller_side: bool,
    pub start: Timestamp,
    pub answer: Option<Timestamp>,
    pub up: u64,
    pub down: u64,
}

/// A switching centre's view of a call.
pub(crate) struct MscCall {
    pub caller: usize,
    pub callee: usize,
    pub legs: Vec<MscLeg>,
}

/// An SMS centre and switching centre.
pub(crate) struct SmscNode {
    pub carrier: usize,
    pub ep: Endpoint,
    /// Calls in progress, by call id.
    pub calls: BTreeMap<u64, MscCall>,
}

impl SmscNode {
    /// A datagram addressed to the node.
    pub(crate) fn handle_datagram(&mut self, dir: &Directory, io: &mut Io, packet: &Packet) {
        if packet.dst().port() == MEDIA_PORT {
            return self.media(dir, io, packet);
        }
        let (remote, pdus) = self.ep.receive(io, packet);
        for raw in pdus {
            let mut sms = match AppPdu::decode(&raw) {
                Ok(AppPdu::Sms(sms)) => sms,
                Ok(AppPdu::Call(c)) => {
                    self.call(dir, io, remote, c, raw);
                    continue;
                }
                _ => {
                    io.emit(NodeEvent::Undecodable);
                    continue;
                }
            };
            let (Some(from), Some(to)) = (dir.lookup(&sms.from), dir.lookup(&sms.to)) else {
                io.emit(NodeEvent::Undecodable);
                continue;
            };
            let c = self.carrier;
            if dir.subs[from].carrier == c && sms.kind == SmsKind::Submit {
                sms_record(dir, io, c, from, to, RecordKind::SmsMo, sms.text.len());
            }
            if dir.subs[to].carrier == c {
                tracing::debug!(from = %sms.from, to = %sms.to, "SMS delivered toward the handset");
                sms_record(dir, io, c, to, from, RecordKind::SmsMt, sms.text.len());
                sms.kind = SmsKind::Deliver;
                let Ok(bytes) = AppPdu::Sms(sms).to_bytes() else {
                    continue;
                };
                // Subscribers provisioned for carrier-encrypted messaging get it through the
                // packet gateway's tunnel; the others over the signalling path.
                let dest = if dir.uses_carrier_encryption(to) {
                    pgw_addr(c)
                } else {
                    dir.ip(to)
                };
                self.ep.send(io, dest, bytes);
            } else {
                // Interconnect: hand over to the recipient's home SMS centre.
                tracing::debug!(from = %sms.from, to = %sms.to, "SMS handed over the interconnect");
                self.ep.send(io, smsc_addr(dir.subs[to].carrier), raw);
            }
        }
    }

    /// A timer of the node.
    pub(crate) fn handle_timer(&mut self, io: &mut Io, timer: Timer) {
        if let Timer::Link(i) = timer {
            self.ep.on_timer(io, i);
        }
    }

    /// Where the switching centre sends a call's messages and media next, toward `party`.
    fn next_hop(&self, dir: &Directory, party: usize) -> Ipv4Addr {
        if dir.subs[party].carrier == self.carrier {
            dir.ip(party)
        } else {
            smsc_addr(dir.subs[party].carrier)
        }
    }

    /// Call signalling: relay it toward the other party; on the call's end, write the voice
    /// records of this carrier's legs.
    fn call(&mut self, dir: &Directory, io: &mut Io, remote: Ipv4Addr, pdu: CallPdu, raw: Vec<u8>) {
        let (Some(caller), Some(callee)) = (dir.lookup(&pdu.from), dir.lookup(&pdu.to)) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let c = self.carrier;
        let now = io.now();
        let call = self.calls.entry(pdu.call_id).or_insert_with(|| MscCall {
            caller,
            callee,
            legs: Vec::new(),
        });
        if pdu.kind == CallKind::Invite && call.legs.is_empty() {
            for (sub, caller_side) in [(caller, true), (callee, false)] {
                if dir.subs[sub].carrier == c {
                    call.legs.push(MscLeg {
                        sub,
                        caller_side,
                        start: now,
                        answer: None,
                        up: 0,
                        down: 0,
                    });
                }
            }
        }
        if pdu.kind == CallKind::Answer {
            for l in &mut call.legs {
                l.answer.get_or_insert(now);
            }
        }
        // From the caller's side (its handset or its MSC) toward the callee, or back.
        let from_caller_side = if remote == dir.ip(caller) {
            true
        } else if remote == dir.ip(callee) {
            false
        } else {
            // Another MSC: toward whichever party is here.
            dir.subs[callee].carrier == c
        };
        let toward = if from_caller_side { callee } else { caller };
        let hop = self.next_hop(dir, toward);
        self.ep.send(io, hop, raw);
        if !matches!(pdu.kind, CallKind::Bye | CallKind::Busy | CallKind::Cancel) {
            return;
        }
        let Some(call) = self.calls.remove(&pdu.call_id) else {
            return;
        };
        let cause = match (pdu.kind, pdu.cause) {
            (CallKind::Busy, _) => capture::Cause::Busy,
            (CallKind::Cancel, _) => capture::Cause::NoAnswer,
            (_, ByeCause::RadioLoss) => capture::Cause::RadioLoss,
            _ => capture::Cause::Normal,
        };
        for l in call.legs {
            let other = if l.caller_side {
                call.callee
            } else {
                call.caller
            };
            voice_record(dir, io, c, other, l, pdu.call_id, cause);
        }
    }

    /// A media packet: count it for this carrier's party and forward it.
    fn media(&mut self, dir: &Directory, io: &mut Io, packet: &Packet) {
        let Ok(m) = MediaPdu::decode(packet.udp_payload()) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let c = self.carrier;
        let Some(call) = self.calls.get(&m.call_id) else {
            return;
        };
        let src = *packet.src().ip();
        let (caller, callee) = (call.caller, call.callee);
        let from_caller = if src == dir.ip(caller) {
            true
        } else if src == dir.ip(callee) {
            false
        } else {
            // From the other carrier's MSC: toward our own party.
            dir.subs[callee].carrier == c
        };
        let toward = if from_caller { callee } else { caller };
        let hop = self.next_hop(dir, toward);
        let Some(call) = self.calls.get_mut(&m.call_id) else {
            return;
        };
        let len = packet.len() as u64;
        for l in &mut call.legs {
            if dir.ip(l.sub) == src {
                l.up += len;
            }
        }
        let dst = SocketAddrV4::new(hop, MEDIA_PORT);
        let me = SocketAddrV4::new(smsc_addr(c), MEDIA_PORT);
        if let Ok(p) = Packet::udp(me, dst, packet.udp_payload()) {
            if hop == dir.ip(toward) {
                if let Some(l) = call.legs.iter_mut().find(|l| l.sub == toward) {
                    l.down += p.len() as u64;
                }
            }
            io.transmit(self.ep.node(), p);
        }
    }
}

/// The record of one SMS for subscriber `who` of carrier `c` (`other`: the other party).
fn sms_record(
    dir: &Directory,
    io: &mut Io,
    c: usize,
    who: usize,
    other: usize,
    kind: RecordKind,
    size: usize,
) {
    let now = io.now();
    let s = &dir.ids[who];
    let cell = dir.mobility.cell_at(who, now);
    let record = CallRecord {
        record_id: 0,
        kind,
        imsi: s.imsi.clone(),
        imei: s.imei.clone(),
        msisdn: s.msisdn.clone(),
        other_party: dir.ids[other].msisdn.clone(),
        start: now,
        end: now,
        cell,
        bytes_up: if kind == RecordKind::SmsMo {
            size as u64
        } else {
            0
        },
        bytes_down: if kind == RecordKind::SmsMt {
            size as u64
        } else {
            0
        },
        end_cell: cell,
        answer: None,
        duration_ns: 0,
        cause: capture::Cause::Normal,
        call_ref: 0,
    };
    io.emit(NodeEvent::Record { carrier: c, record });
}

/// The voice record of one leg that ended now.
fn voice_record(
    dir: &Directory,
    io: &mut Io,
    c: usize,
    other: usize,
    l: MscLeg,
    call_id: u64,
    cause: capture::Cause,
) {
    let end = io.now();
    let s = &dir.ids[l.sub];
    let record = CallRecord {
        record_id: 0,
        kind: if l.caller_side {
            RecordKind::VoiceMo
        } else {
            RecordKind::VoiceMt
        },
        imsi: s.imsi.clone(),
        imei: s.imei.clone(),
        msisdn: s.msisdn.clone(),
        other_party: dir.ids[other].msisdn.clone(),
        start: l.start,
        end,
        cell: dir.mobility.cell_at(l.sub, l.start),
        bytes_up: l.up,
        bytes_down: l.down,
        end_cell: dir.mobility.cell_at(l.sub, end),
        answer: l.answer,
        duration_ns: l
            .answer
            .map_or(0, |a| end.saturating_duration_since(a).as_nanos() as u64),
        cause,
        call_ref: call_id,
    };
    io.emit(NodeEvent::Record { carrier: c, record });
}

#[cfg(test)]
mod tests {
    //! The SMS centre alone, with no network: datagrams in, transmits and records out.

    use std::sync::Arc;

    use netsim::NodeId;
    use proto::reliable::{ReliableConfig, ReliableLink};
    use proto::wire::{SmsPdu, FRAME_PORT};
    use scenario::AppKind;

    use super::*;
    use crate::directory::AppInfo;
    use crate::ids::Subscriber;
    use crate::io::Output;
    use crate::mobility::{LocationTrace, Mobility};

    fn sub(index: usize, carrier: usize, msisdn: &str, ip: [u8; 4]) -> Subscriber {
        Subscriber {
            index,
            carrier,
            imsi: format!("31041000000000{index}"),
            msisdn: msisdn.into(),
            imei: format!("35000000000000{index}"),
            cell: 3,
            app: 0,
            ip: Ipv4Addr::from(ip),
        }
    }

    /// Alice and Bob on carrier 0, Carol on carrier 1; everyone uses plain SMS.
    fn directory() -> Directory {
        let subs = vec![
            sub(0, 0, "+12025550001", [10, 0, 0, 1]),
            sub(1, 0, "+12025550002", [10, 0, 0, 2]),
            sub(2, 1, "+13105550003", [10, 1, 0, 1]),
        ];
        let by_msisdn = subs.iter().map(|s| (s.msisdn.clone(), s.index)).collect();
        let traces = (0..3)
            .map(|subscriber| LocationTrace {
                subscriber,
                changes: vec![(Timestamp::ZERO, 3)],
            })
            .collect();
        Directory {
            ids: subs.iter().map(crate::ids::Identity::of).collect(),
            subs,
            by_msisdn,
            apps: vec![AppInfo {
                name: "sms".into(),
                label: "sms".into(),
                kind: AppKind::Sms,
                init_needs_rs: false,
                resp_needs_rs: false,
                init_needs_s: false,
                resp_needs_s: false,
                psk: false,
                one_way: false,
            }],
            mobility: Arc::new(Mobility { traces }),
            presence: Default::default(),
        }
    }

    fn smsc() -> SmscNode {
        SmscNode {
            carrier: 0,
            ep: Endpoint::new(NodeId(7), smsc_addr(0)),
            calls: BTreeMap::new(),
        }
    }

    /// What Alice's handset sends: one reliable-layer DATA frame carrying an SMS submit.
    fn submit(to: &str, text: &str) -> Packet {
        let pdu = AppPdu::Sms(SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: 1,
            from: "+12025550001".into(),
            to: to.into(),
            sent_at: Timestamp::ZERO,
            text: text.into(),
        })
        .to_bytes()
        .expect("encodes");
        let mut link = ReliableLink::new(ReliableConfig::default());
        link.send(Timestamp::ZERO, pdu).expect("queued");
        let frame = link.poll_transmit(Timestamp::ZERO).expect("a frame");
        Packet::udp(
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), FRAME_PORT),
            SocketAddrV4::new(smsc_addr(0), FRAME_PORT),
            &frame,
        )
        .expect("fits")
    }

    /// The SMS PDUs among the transmits, with their destinations (ACKs and timers skipped).
    fn sms_sent(io: &mut Io) -> Vec<(Ipv4Addr, SmsPdu)> {
        let mut out = Vec::new();
        for o in io.take() {
            let Output::Transmit { packet, .. } = o else {
                continue;
            };
            let mut rx = ReliableLink::new(ReliableConfig::default());
            if rx
                .handle_datagram(Timestamp::ZERO, packet.udp_payload())
                .is_ok()
            {
                while let Some(pdu) = rx.poll_delivered() {
                    if let Ok(AppPdu::Sms(s)) = AppPdu::decode(&pdu) {
                        out.push((*packet.dst().ip(), s));
                    }
                }
            }
        }
        out
    }

    fn records(io: &mut Io) -> Vec<(usize, RecordKind, String)> {
        io.take_events()
            .filter_map(|e| match e {
                NodeEvent::Record { carrier, record } => {
                    Some((carrier, record.kind, record.msisdn.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_local_sms_is_recorded_twice_and_delivered_to_the_handset() {
        let (dir, mut s, mut io) = (directory(), smsc(), Io::default());
        io.begin(Timestamp::ZERO + simcore::Duration::from_secs(5));
        s.handle_datagram(&dir, &mut io, &submit("+12025550002", "see you at six"));
        let sent = sms_sent(&mut io);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].0, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(sent[0].1.kind, SmsKind::Deliver);
        assert_eq!(sent[0].1.text, "see you at six");
        assert_eq!(
            records(&mut io),
            [
                (0, RecordKind::SmsMo, "+12025550001".to_string()),
                (0, RecordKind::SmsMt, "+12025550002".to_string()),
            ]
        );
    }

    #[test]
    fn records_point_at_the_directorys_identities_instead_of_copying_them() {
        let (dir, mut s, mut io) = (directory(), smsc(), Io::default());
        io.begin(Timestamp::ZERO);
        s.handle_datagram(&dir, &mut io, &submit("+12025550002", "one"));
        let recs: Vec<CallRecord> = io
            .take_events()
            .filter_map(|e| match e {
                NodeEvent::Record { record, .. } => Some(record),
                _ => None,
            })
            .collect();
        assert_eq!(recs.len(), 2, "{recs:?}");
        let (alice, bob) = (&dir.ids[0], &dir.ids[1]);
        for r in &recs {
            let (me, other) = if r.kind == RecordKind::SmsMo {
                (alice, bob)
            } else {
                (bob, alice)
            };
            assert!(Arc::ptr_eq(&r.imsi, &me.imsi), "{r:?}");
            assert!(Arc::ptr_eq(&r.imei, &me.imei), "{r:?}");
            assert!(Arc::ptr_eq(&r.msisdn, &me.msisdn), "{r:?}");
            assert!(Arc::ptr_eq(&r.other_party, &other.msisdn), "{r:?}");
        }
    }

    #[test]
    fn an_sms_to_another_carrier_goes_over_the_interconnect_unchanged() {
        let (dir, mut s, mut io) = (directory(), smsc(), Io::default());
        io.begin(Timestamp::ZERO);
        s.handle_datagram(&dir, &mut io, &submit("+13105550003", "hello west"));
        let sent = sms_sent(&mut io);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, smsc_addr(1));
        assert_eq!(sent[0].1.kind, SmsKind::Submit);
        // Only the sender's record here; the recipient's carrier writes its own.
        assert_eq!(
            records(&mut io),
            [(0, RecordKind::SmsMo, "+12025550001".to_string())]
        );
    }

    #[test]
    fn an_sms_to_an_unknown_number_is_reported_not_routed() {
        let (dir, mut s, mut io) = (directory(), smsc(), Io::default());
        io.begin(Timestamp::ZERO);
        s.handle_datagram(&dir, &mut io, &submit("+19995550000", "lost?"));
        assert!(sms_sent(&mut io).is_empty());
        let events: Vec<_> = io.take_events().collect();
        assert!(matches!(events[..], [NodeEvent::Undecodable]), "{events:?}");
    }
}
