//! One interceptor alone, with no network: datagrams in, verdicts and datagrams out (as
//! quinn-proto tests a connection).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use capture::active::{Interceptor as _, OnPathBrief, OnPathOrder, Verdict};
use capture::OnPathMode;
use onpath::Interceptor;
use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, FRAME_PORT};
use simcore::{SeedTree, Timestamp};

const OTT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const ALICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ALICE: &str = "+12025550001";
const BOB: &str = "+13105550002";

fn brief(mode: OnPathMode) -> OnPathBrief {
    OnPathBrief {
        node: "east.core".into(),
        msisdn_prefix: "+1202".into(),
        subscriber_nets: vec![(Ipv4Addr::new(10, 0, 0, 0), 16)],
        ott_addr: OTT,
        ott_public: [9; 32],
        prologue: b"wiretap-ott-v1".to_vec(),
        directory: BTreeMap::new(),
        orders: vec![OnPathOrder {
            entry: 0,
            mode,
            app: "xx".into(),
            msisdns: BTreeSet::from([ALICE.to_string()]),
            addrs: BTreeSet::new(),
            share: 1.0,
            from: Timestamp::ZERO,
            own_static: true,
            drop: Default::default(),
        }],
        seeds: SeedTree::new(7),
    }
}

/// A DATA frame `seq` from `src` to the OTT server carrying a transport envelope of session 42.
fn uplink(src: Ipv4Addr, from: &str, seq: u32) -> Vec<u8> {
    let env = OttEnvelope {
        from: from.into(),
        to: BOB.into(),
        session: 42,
        kind: NoiseKind::Transport,
        index: 0,
        protocol: String::new(),
        body: vec![0xab; 40],
    };
    let payload = AppPdu::Ott(env).to_bytes().expect("encodes");
    let frame = Frame::Data { seq, payload }.to_bytes().expect("encodes");
    capture::ip::build_udp(
        SocketAddrV4::new(src, FRAME_PORT),
        SocketAddrV4::new(OTT, FRAME_PORT),
        &frame,
    )
    .expect("fits")
}

fn at(ms: u64) -> Timestamp {
    Timestamp::ZERO + simcore::Duration::from_millis(ms)
}

#[test]
fn drop_mode_deletes_the_frame_and_acknowledges_it_to_the_sender() {
    let mut m = Interceptor::new(brief(OnPathMode::Drop));
    assert_eq!(
        m.handle_datagram(at(1), &uplink(ALICE_IP, ALICE, 0)),
        Verdict::Drop
    );
    // The forged ACK goes back to Alice so her reliable layer stops resending.
    let ack = m.poll_transmit().expect("a forged acknowledgement");
    let udp = capture::ip::parse_udp(&ack).expect("a UDP datagram");
    assert_eq!((*udp.src.ip(), *udp.dst.ip()), (OTT, ALICE_IP));
    assert!(matches!(
        Frame::decode(udp.payload),
        Ok(Frame::Ack { seq: 0, .. })
    ));
    assert!(m.poll_transmit().is_none());
    let facts = m.facts();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        (facts[0].session, facts[0].acted, facts[0].dropped),
        (Some(42), true, 1)
    );
    assert_eq!(m.records()[0].node, "east.core");
}

#[test]
fn a_corrupted_datagram_is_passed_on_untouched() {
    let mut m = Interceptor::new(brief(OnPathMode::Drop));
    let mut bad = uplink(ALICE_IP, ALICE, 0);
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert_eq!(m.handle_datagram(at(1), &bad), Verdict::Pass);
    assert!(m.poll_transmit().is_none());
    assert!(m.facts().is_empty());
}

#[test]
fn traffic_of_subscribers_outside_the_carrier_is_not_touched() {
    let mut m = Interceptor::new(brief(OnPathMode::Drop));
    // From another carrier's block: not on this core's uplinks.
    let d = uplink(Ipv4Addr::new(10, 1, 0, 5), ALICE, 0);
    assert_eq!(m.handle_datagram(at(1), &d), Verdict::Pass);
    assert!(m.facts().is_empty());
}

#[test]
fn sessions_of_subscribers_not_targeted_pass() {
    let mut m = Interceptor::new(brief(OnPathMode::Drop));
    let d = uplink(Ipv4Addr::new(10, 0, 0, 9), "+12025550009", 0);
    assert_eq!(m.handle_datagram(at(1), &d), Verdict::Pass);
    assert!(m.facts().is_empty());
}

/// A DATA frame `seq` from Alice to the OTT server carrying envelope `(kind, index)` of session
/// 42 with `body`.
fn alice_frame(seq: u32, kind: NoiseKind, index: u8, body: Vec<u8>) -> Vec<u8> {
    let env = OttEnvelope {
        from: ALICE.into(),
        to: BOB.into(),
        session: 42,
        kind,
        index,
        protocol: if kind == NoiseKind::Handshake {
            "Noise_IK_25519_ChaChaPoly_BLAKE2s".into()
        } else {
            String::new()
        },
        body,
    };
    let payload = AppPdu::Ott(env).to_bytes().expect("encodes");
    let frame = Frame::Data { seq, payload }.to_bytes().expect("encodes");
    capture::ip::build_udp(
        SocketAddrV4::new(ALICE_IP, FRAME_PORT),
        SocketAddrV4::new(OTT, FRAME_PORT),
        &frame,
    )
    .expect("fits")
}

fn with_drop(every: u32, how: capture::active::DropHow) -> OnPathBrief {
    let mut b = brief(OnPathMode::Drop);
    b.orders[0].drop = capture::active::DropPlan { every, how };
    b
}

#[test]
fn drop_every_second_once_holds_the_frame_back_and_lets_its_retransmission_through() {
    use capture::active::DropHow;
    let mut m = Interceptor::new(with_drop(2, DropHow::Once));
    assert_eq!(
        m.handle_datagram(at(1), &uplink(ALICE_IP, ALICE, 0)),
        Verdict::Pass
    );
    // The second envelope is dropped, and nothing is acknowledged in its place.
    assert_eq!(
        m.handle_datagram(at(2), &uplink(ALICE_IP, ALICE, 1)),
        Verdict::Drop
    );
    assert!(m.poll_transmit().is_none(), "no forged ACK");
    // A later frame waits behind the gap (the hop stays in order).
    assert_eq!(
        m.handle_datagram(at(3), &uplink(ALICE_IP, ALICE, 2)),
        Verdict::Drop
    );
    // The retransmission passes; the next one counts as the session's third envelope.
    assert_eq!(
        m.handle_datagram(at(1000), &uplink(ALICE_IP, ALICE, 1)),
        Verdict::Pass
    );
    assert_eq!(
        m.handle_datagram(at(1001), &uplink(ALICE_IP, ALICE, 2)),
        Verdict::Pass
    );
    let f = &m.facts()[0];
    assert_eq!(
        (f.dropped, f.transmissions_dropped, f.passed_after_drop),
        (1, 1, 1)
    );
    // The fourth envelope is dropped again.
    assert_eq!(
        m.handle_datagram(at(1002), &uplink(ALICE_IP, ALICE, 3)),
        Verdict::Drop
    );
}

#[test]
fn drop_always_drops_every_retransmission() {
    use capture::active::DropHow;
    let mut m = Interceptor::new(with_drop(1, DropHow::Always));
    for t in [1, 1000, 3000, 7000] {
        assert_eq!(
            m.handle_datagram(at(t), &uplink(ALICE_IP, ALICE, 0)),
            Verdict::Drop
        );
        assert!(m.poll_transmit().is_none());
    }
    let f = &m.facts()[0];
    assert_eq!(
        (f.dropped, f.transmissions_dropped, f.passed_after_drop),
        (1, 4, 0)
    );
}

#[test]
fn replay_0rtt_sends_message_1_again_as_a_fresh_session() {
    let mut m = Interceptor::new(brief(OnPathMode::Replay0Rtt));
    let first = alice_frame(0, NoiseKind::Handshake, 1, vec![0x5a; 96]);
    assert_eq!(m.handle_datagram(at(1), &first), Verdict::Pass);
    let copy = m.poll_transmit().expect("the replayed message 1");
    let udp = capture::ip::parse_udp(&copy).expect("a UDP datagram");
    assert_eq!((*udp.src.ip(), *udp.dst.ip()), (ALICE_IP, OTT));
    let Ok(Frame::Data { seq, payload }) = Frame::decode(udp.payload) else {
        panic!("a DATA frame");
    };
    assert_eq!(seq, 1, "the next sequence number of the hop");
    let Ok(AppPdu::Ott(env)) = AppPdu::decode(&payload) else {
        panic!("an envelope");
    };
    assert_eq!((env.kind, env.index), (NoiseKind::Handshake, 1));
    assert_eq!(env.body, vec![0x5a; 96], "the same bytes");
    assert_ne!(env.session, 42, "a fresh session id");
    let f = &m.facts()[0];
    assert_eq!(f.replayed_session, Some(env.session));
    assert!(f.acted);
    // Transport messages of the session pass (renumbered after the injected frame).
    let t = alice_frame(1, NoiseKind::Transport, 0, vec![1; 40]);
    assert!(matches!(m.handle_datagram(at(2), &t), Verdict::Replace(_)));
    assert!(m.poll_transmit().is_none());
}
