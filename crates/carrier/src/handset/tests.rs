//! One handset alone, with no network: timers and datagrams in, transmits, timers and events
//! out (as quinn-proto tests a connection).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use netsim::{NodeId, Packet};
use proto::reliable::{ReliableConfig, ReliableLink};
use proto::wire::{AppPdu, ByeCause, CallKind, CallNetwork, CallPdu, SmsKind, SmsPdu, FRAME_PORT};
use scenario::AppKind;
use simcore::{Duration, SeedTree, Timestamp};

use super::*;
use crate::directory::AppInfo;
use crate::ids::Subscriber;
use crate::io::{CallFact, NodeEvent, Output};
use crate::mobility::{LocationTrace, Mobility};
use crate::timer::CallAct;
use crate::topology::smsc_addr;
use crate::voice::{Outcome, PlannedCall};

/// A handset whose randomness is sound and whose keys nobody learns.
struct Sound;

impl Exposure for Sound {
    fn session_seed(&self, _sub: usize, strong: [u8; 32]) -> [u8; 32] {
        strong
    }
    fn wants_keys(&self) -> bool {
        false
    }
    fn learn_privates(&self, _privates: Vec<&[u8; 32]>) {}
}

fn sub(index: usize, msisdn: &str, ip: [u8; 4]) -> Subscriber {
    Subscriber {
        index,
        carrier: 0,
        imsi: format!("31041000000000{index}"),
        msisdn: msisdn.into(),
        imei: format!("35000000000000{index}"),
        cell: 0,
        app: 0,
        ip: Ipv4Addr::from(ip),
    }
}

/// Alice and Bob on carrier 0, both on plain SMS.
fn directory() -> Directory {
    let subs = vec![
        sub(0, "+12025550001", [10, 0, 0, 1]),
        sub(1, "+12025550002", [10, 0, 0, 2]),
    ];
    let by_msisdn = subs.iter().map(|s| (s.msisdn.clone(), s.index)).collect();
    let traces = (0..2)
        .map(|subscriber| LocationTrace {
            subscriber,
            changes: vec![(Timestamp::ZERO, 0)],
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

fn scenario() -> scenario::Scenario {
    let text = scenario::builtin("small-lab").expect("small-lab is built in");
    scenario::parse("sim/small-lab.toml", text).expect("small-lab parses")
}

/// Everything a handset needs around it, owned by the test.
struct Bench {
    dir: Directory,
    sc: scenario::Scenario,
    seeds: SeedTree,
    key_server: KeyServer,
}

impl Bench {
    fn new() -> Self {
        let seeds = SeedTree::new(1);
        Bench {
            dir: directory(),
            sc: scenario(),
            seeds,
            key_server: KeyServer::default(),
        }
    }

    fn env(&mut self) -> Env<'_> {
        Env {
            dir: &self.dir,
            sc: &self.sc,
            seeds: &self.seeds,
            keys: &[],
            key_server: &mut self.key_server,
            exposure: &Sound,
        }
    }
}

fn handset(sub: usize, sc: &scenario::Scenario) -> Handset {
    let ip = Ipv4Addr::new(10, 0, 0, sub as u8 + 1);
    Handset::new(
        sub,
        Endpoint::new(NodeId(sub as u32 + 10), ip),
        RadioPath::Sms { smsc: smsc_addr(0) },
        None,
        None,
        cm::State::new(
            sc,
            0,
            cm::Streams {
                cover: SeedTree::new(1).stream("cover"),
                receipts: SeedTree::new(1).stream("receipts"),
            },
        ),
    )
}

/// The application PDUs among the transmits, with their destinations (a fresh reliable link
/// reads each frame; ACKs carry none).
fn pdus(io: &mut Io) -> Vec<(Ipv4Addr, AppPdu)> {
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
                out.push((*packet.dst().ip(), AppPdu::decode(&pdu).expect("decodes")));
            }
        }
    }
    out
}

/// A PDU from the SMS centre to handset `to_ip`, as one reliable DATA frame.
fn from_smsc(to_ip: Ipv4Addr, pdu: AppPdu) -> Packet {
    let mut link = ReliableLink::new(ReliableConfig::default());
    link.send(Timestamp::ZERO, pdu.to_bytes().expect("encodes"))
        .expect("queued");
    let frame = link.poll_transmit(Timestamp::ZERO).expect("a frame");
    Packet::udp(
        SocketAddrV4::new(smsc_addr(0), FRAME_PORT),
        SocketAddrV4::new(to_ip, FRAME_PORT),
        &frame,
    )
    .expect("fits")
}

#[test]
fn a_planned_sms_goes_to_the_sms_centre_when_due() {
    let mut b = Bench::new();
    let mut alice = handset(0, &b.sc);
    let mut io = Io::default();
    let at = Timestamp::ZERO + Duration::from_secs(5);
    alice.plan_message(
        &mut io,
        3,
        at,
        Outgoing {
            to: 1,
            text: "meet at noon".into(),
            via: crate::nodes::Via::Carrier,
        },
    );
    let timers: Vec<_> = io
        .take()
        .filter_map(|o| match o {
            Output::Timer { at, timer, .. } => Some((at, timer)),
            Output::Transmit { .. } => None,
        })
        .collect();
    assert_eq!(timers, vec![(at, Timer::Send(3))]);

    io.begin(at);
    alice.handle_timer(&mut b.env(), &mut io, Timer::Send(3));
    let sent = pdus(&mut io);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (dst, AppPdu::Sms(sms)) = &sent[0] else {
        panic!("not an SMS: {sent:?}");
    };
    assert_eq!(*dst, smsc_addr(0));
    assert_eq!(sms.kind, SmsKind::Submit);
    assert_eq!(
        (sms.from.as_str(), sms.to.as_str()),
        ("+12025550001", "+12025550002")
    );
    assert_eq!(sms.text, "meet at noon");
    assert_eq!(io.take_events().count(), 0, "sending is not a delivery");
    assert!(
        alice.outgoing(3).is_none(),
        "a sent message leaves the outbox"
    );
}

#[test]
fn a_delivered_sms_is_shown_to_the_user() {
    let mut b = Bench::new();
    let mut bob = handset(1, &b.sc);
    let mut io = Io::default();
    io.begin(Timestamp::ZERO + Duration::from_secs(9));
    let deliver = AppPdu::Sms(SmsPdu {
        kind: SmsKind::Deliver,
        msg_ref: 1,
        from: "+12025550001".into(),
        to: "+12025550002".into(),
        sent_at: Timestamp::ZERO,
        text: "meet at noon".into(),
    });
    bob.handle_datagram(
        &mut b.env(),
        &mut io,
        &from_smsc(Ipv4Addr::new(10, 0, 0, 2), deliver),
    );
    let events: Vec<_> = io.take_events().collect();
    assert!(
        matches!(&events[..], [NodeEvent::Delivered { to: 1, text }] if text == "meet at noon"),
        "{events:?}"
    );
    // The handset acknowledges the frame to the SMS centre.
    assert!(io.take().any(
        |o| matches!(o, Output::Transmit { packet, .. } if *packet.dst().ip() == smsc_addr(0))
    ));
}

#[test]
fn the_callee_leg_rings_answers_and_starts_media_on_its_own() {
    let mut b = Bench::new();
    let mut bob = handset(1, &b.sc);
    let ring = Duration::from_secs(3);
    let plan = PlannedCall {
        at: Timestamp::ZERO,
        caller: 0,
        callee: 1,
        outcome: Outcome::Answered {
            ring,
            talk: Duration::from_secs(20),
            caller_hangs_up: false,
            radio_loss: false,
        },
    };
    let call_id = 1u64;
    bob.plan_call(0, voice::Leg::new(plan, call_id, None, false));
    let mut io = Io::default();
    let t0 = Timestamp::ZERO + Duration::from_secs(1);
    io.begin(t0);
    let invite = AppPdu::Call(CallPdu {
        kind: CallKind::Invite,
        network: CallNetwork::Carrier,
        call_id,
        from: "+12025550001".into(),
        to: "+12025550002".into(),
        cause: ByeCause::Normal,
        body: Vec::new(),
    });
    bob.handle_datagram(
        &mut b.env(),
        &mut io,
        &from_smsc(Ipv4Addr::new(10, 0, 0, 2), invite),
    );
    let outputs: Vec<Output> = io.take().collect();
    let answer_at = outputs.iter().find_map(|o| match o {
        Output::Timer {
            at,
            timer:
                Timer::Call {
                    act: CallAct::Answer,
                    ..
                },
            ..
        } => Some(*at),
        _ => None,
    });
    assert_eq!(
        answer_at,
        Some(t0 + ring),
        "the answer is the callee's own timer"
    );
    assert_eq!(io.take_events().count(), 0);

    io.begin(t0 + ring);
    bob.handle_timer(
        &mut b.env(),
        &mut io,
        Timer::Call {
            call: 0,
            act: CallAct::Answer,
        },
    );
    let events: Vec<_> = io.take_events().collect();
    assert!(
        matches!(
            &events[..],
            [NodeEvent::Call {
                call: 0,
                fact: CallFact::Answered
            }]
        ),
        "{events:?}"
    );
    let outputs: Vec<Output> = io.take().collect();
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Timer { node, timer: Timer::Call { act: CallAct::MediaCallee, .. }, .. } if *node == NodeId(11)
    )));
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Timer { node, timer: Timer::Call { act: CallAct::Hangup, .. }, .. } if *node == NodeId(11)
    )), "the callee hangs up this call: its own timer");
}
