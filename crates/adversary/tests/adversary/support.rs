//! Builders for hand-made captures. Nothing here uses `netsim` or `carrier`: the bytes are built
//! from the wire-format document, so the tests check the adversary against the format itself.

use std::net::Ipv4Addr;

use capture::{
    CallRecord, CapturedPacket, Captures, PacketCapture, VantageKind, VantagePoint, Warrant,
};
use proto::wire::{
    AppPdu, Frame, Iri, IriEvent, IriService, LiDirection, LiKind, LiRecord, NoiseKind,
    OttEnvelope, SmsKind, SmsPdu, TunnelPdu, FRAME_PORT, LI_PORT,
};
use simcore::Timestamp;

pub const SUB_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const SUB_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const SUB_C: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
pub const PGW: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
pub const SMSC: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 3);
pub const POI: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 2);
pub const MEDIATION: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 4);
pub const OTT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

pub const ALICE: &str = "+15550001";
pub const BOB: &str = "+15550002";
pub const CAROL: &str = "+15550003";

/// An IPv4 datagram carrying UDP with valid checksums, as a host sends it (the adversary reads
/// only what a receiving host would accept: a packet whose checksums fail is counted, not read).
pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    capture::ip::build_udp(
        std::net::SocketAddrV4::new(src, sport),
        std::net::SocketAddrV4::new(dst, dport),
        payload,
    )
    .expect("test payloads are small")
}

/// A DATA frame carrying `pdu` from `src` to `dst` on `FRAME_PORT`.
pub fn data(src: Ipv4Addr, dst: Ipv4Addr, seq: u32, pdu: &AppPdu) -> Vec<u8> {
    let frame = Frame::Data {
        seq,
        payload: pdu.to_bytes().expect("encodable"),
    };
    udp(
        src,
        FRAME_PORT,
        dst,
        FRAME_PORT,
        &frame.to_bytes().expect("encodable"),
    )
}

/// An ACK frame.
pub fn ack(src: Ipv4Addr, dst: Ipv4Addr, seq: u32) -> Vec<u8> {
    let frame = Frame::Ack {
        next_expected: seq + 1,
        seq,
    };
    udp(
        src,
        FRAME_PORT,
        dst,
        FRAME_PORT,
        &frame.to_bytes().expect("encodable"),
    )
}

pub fn sms(kind: SmsKind, from: &str, to: &str, text: &str) -> AppPdu {
    AppPdu::Sms(SmsPdu {
        kind,
        msg_ref: 1,
        from: from.into(),
        to: to.into(),
        sent_at: Timestamp::from_secs(1),
        text: text.into(),
    })
}

pub fn tunnel(kind: NoiseKind, noise: Vec<u8>) -> AppPdu {
    AppPdu::Tunnel(TunnelPdu { kind, noise })
}

pub fn ott(
    from: &str,
    to: &str,
    session: u64,
    kind: NoiseKind,
    index: u8,
    protocol: &str,
    body: Vec<u8>,
) -> AppPdu {
    AppPdu::Ott(OttEnvelope {
        from: from.into(),
        to: to.into(),
        session,
        kind,
        index,
        protocol: protocol.into(),
        body,
    })
}

/// An LI record packet from the point of interception to the mediation node.
pub fn li(kind: LiKind, liid: &str, at: Timestamp, payload: Vec<u8>) -> Vec<u8> {
    let rec = LiRecord {
        kind,
        liid: liid.into(),
        correlation: 9,
        timestamp: at,
        direction: LiDirection::FromTarget,
        payload,
    };
    udp(
        POI,
        LI_PORT,
        MEDIATION,
        LI_PORT,
        &rec.to_bytes().expect("encodable"),
    )
}

pub fn iri(service: IriService, target: &str, other: &str, size: u32) -> Vec<u8> {
    Iri {
        event: IriEvent::Report,
        target: target.into(),
        other: other.into(),
        service,
        cell: 3,
        size,
    }
    .to_bytes()
    .expect("encodable")
}

pub fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A vantage point with packets (given as `(ms, bytes)`), warrants and call records.
pub fn vantage(
    name: &str,
    kind: VantageKind,
    packets: Vec<(u64, Vec<u8>)>,
    warrants: Vec<Warrant>,
    call_records: Vec<CallRecord>,
) -> VantagePoint {
    VantagePoint {
        name: name.into(),
        carrier: "atlantic".into(),
        kind,
        packets: Some(PacketCapture {
            name: name.into(),
            packets: packets
                .into_iter()
                .map(|(ms, bytes)| CapturedPacket {
                    time: at(ms),
                    bytes,
                })
                .collect(),
        }),
        warrants,
        call_records: std::sync::Arc::new(call_records.into()),
    }
}

pub fn captures(vantages: Vec<VantagePoint>) -> Captures {
    Captures { vantages }
}

/// Snow handshake states for `protocol`, with every key the pattern needs, and the statics'
/// public halves (initiator, responder) when they exist.
pub struct Pair {
    pub initiator: snow::HandshakeState,
    pub responder: snow::HandshakeState,
    pub initiator_static: Option<Vec<u8>>,
    pub responder_static: Option<Vec<u8>>,
}

pub const PSK: [u8; 32] = [7; 32];

pub fn snow_pair(protocol: &str) -> Pair {
    let params: snow::params::NoiseParams = protocol.parse().expect("snow parses the name");
    let pattern = params.handshake.pattern;
    let psk_positions: Vec<u8> = params
        .handshake
        .modifiers
        .list
        .iter()
        .filter_map(|m| match m {
            snow::params::HandshakeModifier::Psk(n) => Some(*n),
            _ => None,
        })
        .collect();
    // Key material: lengths do not depend on it, so snow's own generator is fine here.
    let keypair = || {
        snow::Builder::new(params.clone())
            .generate_keypair()
            .expect("keypair")
    };
    let ikey = keypair();
    let rkey = keypair();
    let mut ib = snow::Builder::new(params.clone());
    let mut rb = snow::Builder::new(params.clone());
    let needs_i = pattern.needs_local_static_key(true);
    let needs_r = pattern.needs_local_static_key(false);
    if needs_i {
        ib = ib.local_private_key(&ikey.private).expect("key");
    }
    if needs_r {
        rb = rb.local_private_key(&rkey.private).expect("key");
    }
    if pattern.need_known_remote_pubkey(true) {
        ib = ib.remote_public_key(&rkey.public).expect("key");
    }
    if pattern.need_known_remote_pubkey(false) {
        rb = rb.remote_public_key(&ikey.public).expect("key");
    }
    for &n in &psk_positions {
        ib = ib.psk(n, &PSK).expect("psk");
        rb = rb.psk(n, &PSK).expect("psk");
    }
    Pair {
        initiator: ib.build_initiator().expect("initiator"),
        responder: rb.build_responder().expect("responder"),
        initiator_static: needs_i.then(|| ikey.public.clone()),
        responder_static: needs_r.then(|| rkey.public.clone()),
    }
}

/// Runs the whole handshake of `protocol` with `payloads[i]` in message `i + 1` (empty where
/// absent), returning the messages as snow wrote them and the finished pair in transport mode.
pub fn handshake(
    protocol: &str,
    payloads: &[&[u8]],
) -> (Vec<Vec<u8>>, snow::TransportState, snow::TransportState) {
    let Pair {
        mut initiator,
        mut responder,
        ..
    } = snow_pair(protocol);
    let mut messages = Vec::new();
    let mut i = 0;
    while !(initiator.is_handshake_finished() && responder.is_handshake_finished()) {
        let (w, r) = if i % 2 == 0 {
            (&mut initiator, &mut responder)
        } else {
            (&mut responder, &mut initiator)
        };
        let mut buf = vec![0u8; 65535];
        let payload = payloads.get(i).copied().unwrap_or(b"");
        let n = w.write_message(payload, &mut buf).expect("write");
        buf.truncate(n);
        let mut out = vec![0u8; 65535];
        r.read_message(&buf, &mut out).expect("read");
        messages.push(buf);
        i += 1;
    }
    (
        messages,
        initiator.into_transport_mode().expect("transport"),
        responder.into_transport_mode().expect("transport"),
    )
}
