//! Writes the seed corpora of `fuzz/corpus/<target>/`: valid inputs for each target, built with
//! the workspace's own encoders (and, for `signal_wire`, against the same seeded device the
//! target uses), so the fuzzer starts from inputs that reach deep into the code.
//!
//! Run from `fuzz/`: `cargo run --release --example seeds` (it overwrites the files it writes and
//! leaves other files alone). Keep each corpus to a few KB.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use capture::{ip, pcap, CapturedPacket};
use proto::wire::{
    AppPdu, ByeCause, CallKind, CallNetwork, CallPdu, Frame, Iri, IriEvent, IriService,
    LiDirection, LiKind, LiRecord, MediaPdu, NoiseKind, OttEnvelope, SmsKind, SmsPdu, TunnelPdu,
    FRAME_PORT, LI_PORT, MEDIA_PORT,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use simcore::Timestamp;
use wiretap_fuzz::{join, REPAIR, TO_VANTAGE_1, TWO_VANTAGES};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("seed written");
}

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PGW: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
const POI: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 2);
const MEDIATION: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 4);
const OTT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

fn udp(src: Ipv4Addr, dst: Ipv4Addr, port: u16, payload: &[u8]) -> Vec<u8> {
    ip::build_udp(
        SocketAddrV4::new(src, port),
        SocketAddrV4::new(dst, port),
        payload,
    )
    .expect("small payload")
}

fn sms() -> AppPdu {
    AppPdu::Sms(SmsPdu {
        kind: SmsKind::Submit,
        msg_ref: 7,
        from: wiretap_fuzz::TARGET.into(),
        to: "+15550002".into(),
        sent_at: Timestamp::from_millis(1500),
        text: "meet at noon".into(),
    })
}

fn ott(kind: NoiseKind, index: u8, protocol: &str, body: Vec<u8>) -> AppPdu {
    AppPdu::Ott(OttEnvelope {
        from: wiretap_fuzz::TARGET.into(),
        to: "+15550002".into(),
        session: 42,
        kind,
        index,
        protocol: protocol.into(),
        body,
    })
}

fn data(pdu: &AppPdu) -> Vec<u8> {
    Frame::Data {
        seq: 3,
        payload: pdu.to_bytes().expect("encodable"),
    }
    .to_bytes()
    .expect("encodable")
}

fn iri() -> Iri {
    Iri {
        event: IriEvent::Report,
        target: wiretap_fuzz::TARGET.into(),
        other: "+15550002".into(),
        service: IriService::Sms,
        cell: 3,
        size: 12,
    }
}

fn li(kind: LiKind, payload: Vec<u8>) -> LiRecord {
    LiRecord {
        kind,
        liid: wiretap_fuzz::LIID.into(),
        correlation: 9,
        timestamp: Timestamp::from_millis(2000),
        direction: LiDirection::FromTarget,
        payload,
    }
}

fn proto_wire() {
    // Noise_XX message 1: an ephemeral key, no payload.
    let e = vec![0x11; 32];
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("frame-data-sms", data(&sms())),
        (
            "frame-ack",
            Frame::Ack {
                next_expected: 4,
                seq: 3,
            }
            .to_bytes()
            .expect("encodable"),
        ),
        ("app-sms", sms().to_bytes().expect("encodable")),
        (
            "app-tunnel",
            AppPdu::Tunnel(TunnelPdu {
                kind: NoiseKind::Handshake,
                noise: e.clone(),
            })
            .to_bytes()
            .expect("encodable"),
        ),
        (
            "app-ott",
            ott(
                NoiseKind::Handshake,
                1,
                "Noise_XX_25519_ChaChaPoly_BLAKE2s",
                e,
            )
            .to_bytes()
            .expect("encodable"),
        ),
        (
            "app-call",
            AppPdu::Call(CallPdu {
                kind: CallKind::Bye,
                network: CallNetwork::Carrier,
                call_id: 5,
                from: wiretap_fuzz::TARGET.into(),
                to: "+15550002".into(),
                cause: ByeCause::RadioLoss,
                body: Vec::new(),
            })
            .to_bytes()
            .expect("encodable"),
        ),
        (
            "media",
            MediaPdu {
                call_id: 5,
                seq: 1,
                encrypted: false,
                payload: vec![0xAB; 20],
            }
            .to_bytes()
            .expect("encodable"),
        ),
        (
            "li-iri",
            li(LiKind::Iri, iri().to_bytes().expect("encodable"))
                .to_bytes()
                .expect("encodable"),
        ),
        ("iri", iri().to_bytes().expect("encodable")),
    ];
    for (name, bytes) in seeds {
        write("proto_wire", name, &bytes);
    }
}

fn pcap_read() {
    let packets = vec![
        CapturedPacket {
            time: Timestamp::from_millis(1),
            bytes: udp(A, PGW, FRAME_PORT, &data(&sms())),
        },
        CapturedPacket {
            time: Timestamp::from_millis(2),
            bytes: udp(B, A, MEDIA_PORT, &[1, 2, 3]),
        },
    ];
    let mut out = Vec::new();
    pcap::write_pcap(&mut out, packets.iter().map(CapturedPacket::as_ref))
        .expect("writes to a Vec");
    write("pcap_read", "two-udp-packets", &out);
    write("pcap_read", "udp-datagram", &packets[0].bytes);
}

fn adversary_observe() {
    let repaired = |vantage: u8, delta_ms: u8, bytes: Vec<u8>| -> Vec<u8> {
        let mut c = vec![REPAIR | vantage | (delta_ms << 2)];
        c.extend_from_slice(&bytes);
        c
    };
    // Mediation (vantage 0): an IRI record and a CC record wrapping an SMS DATA frame.
    let iri_rec = udp(
        POI,
        MEDIATION,
        LI_PORT,
        &li(LiKind::Iri, iri().to_bytes().expect("encodable"))
            .to_bytes()
            .expect("encodable"),
    );
    let cc_rec = udp(
        POI,
        MEDIATION,
        LI_PORT,
        &li(LiKind::Cc, udp(A, PGW, FRAME_PORT, &data(&sms())))
            .to_bytes()
            .expect("encodable"),
    );
    // Core tap (vantage 1): an OTT handshake through the server, a tunnel handshake, an ACK.
    let hs = udp(
        A,
        OTT,
        FRAME_PORT,
        &data(&ott(
            NoiseKind::Handshake,
            1,
            "Noise_NN_25519_ChaChaPoly_BLAKE2s",
            [vec![0x22; 32], b"hello".to_vec()].concat(),
        )),
    );
    let tunnel = udp(
        B,
        PGW,
        FRAME_PORT,
        &data(&AppPdu::Tunnel(TunnelPdu {
            kind: NoiseKind::Handshake,
            noise: vec![0x33; 48],
        })),
    );
    let ack = udp(
        OTT,
        A,
        FRAME_PORT,
        &Frame::Ack {
            next_expected: 4,
            seq: 3,
        }
        .to_bytes()
        .expect("encodable"),
    );
    let parts = [
        repaired(0, 1, iri_rec),
        repaired(0, 1, cc_rec),
        repaired(TO_VANTAGE_1, 2, hs),
        repaired(TO_VANTAGE_1, 1, tunnel),
        repaired(TO_VANTAGE_1, 1, ack),
    ];
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let mut input = vec![TWO_VANTAGES];
    input.extend_from_slice(&join(&refs));
    write("adversary_observe", "mediation-and-core", &input);
}

fn signal_wire() {
    for (name, sealed, he) in [
        ("prekey-then-ratchet", false, false),
        ("sealed-header-encrypted", true, true),
    ] {
        // The same Bob the target builds for every input.
        let (mut bob, upload) = wiretap_fuzz::bob();
        let mut alice = signal::Device::new(
            wiretap_fuzz::signal_config(wiretap_fuzz::ALICE, sealed, he),
            ChaCha20Rng::seed_from_u64(11),
        );
        let mut store = signal::PreKeyStore::new();
        store.upload(upload).expect("bob's upload");
        let bundle = store.fetch(wiretap_fuzz::BOB).expect("bob's bundle");
        alice.start_session(&bundle).expect("bundle verifies");
        let now = Timestamp::ZERO;
        let mut envelopes = Vec::new();
        alice.send(now, wiretap_fuzz::BOB, b"first").expect("sends");
        let first = alice.poll_transmit().expect("an envelope").bytes;
        bob.handle_envelope(now, &first).expect("bob reads it");
        envelopes.push(first);
        // Bob's receipt ends Alice's prekey phase: her next message is a plain ratchet one.
        while let Some(t) = bob.poll_transmit() {
            alice
                .handle_envelope(now, &t.bytes)
                .expect("alice reads the receipt");
        }
        alice
            .send(now, wiretap_fuzz::BOB, b"second")
            .expect("sends");
        let second = alice.poll_transmit().expect("an envelope").bytes;
        bob.handle_envelope(now, &second).expect("bob reads it");
        envelopes.push(second);
        let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
        write("signal_wire", name, &join(&refs));
    }
}

fn texts() {
    for name in [
        "small-lab",
        "lossy-radio",
        "signal-quantum",
        "countermeasures",
    ] {
        let text = scenario::builtin(name).expect("a built-in scenario");
        write("scenario_parse", &format!("{name}.toml"), text.as_bytes());
    }
    // A bare duration: the target also checks parse_duration against format_duration.
    write("scenario_parse", "duration", b"86400.000000001s");
    for (name, text) in [
        (
            "sweep-example.toml",
            include_str!("../../sim/sweeps/sweep-example.toml"),
        ),
        (
            "countermeasures-sweep.toml",
            include_str!("../../sim/sweeps/countermeasures-sweep.toml"),
        ),
        (
            "vantage-sweep.toml",
            include_str!("../../sim/sweeps/vantage-sweep.toml"),
        ),
    ] {
        write("sweep_file", name, text.as_bytes());
    }
}

/// Two shards of a tiny sweep (two grid points, one seed, two metrics), run for real.
fn merge() {
    let text = "[sweep]\nname = \"m\"\nscenario = \"small-lab\"\nseeds = [1]\n\
                metrics = [\"adversary.messages_read\", \"protocols.sms.messages\"]\n\n\
                [grid]\n\"traffic.mean_degree\" = [2.0, 3.0]\n";
    let read = |_: &str| -> sweep::ScenarioFile { Ok(None) };
    let plan = sweep::plan("m.toml", text, &read).expect("a valid sweep");
    let mut parts = Vec::new();
    for index in 0..2 {
        let shard = sweep::Shard { index, count: 2 };
        let out = sweep::execute(&plan, Some(shard), 1, &|_, _| {}).expect("runs");
        parts.push(out.files.sweep_json);
        parts.push(out.files.runs_csv);
    }
    write("merge", "two-shards", parts.join("\0").as_bytes());
    write("merge", "one-shard", parts[..2].join("\0").as_bytes());
}

fn main() {
    proto_wire();
    pcap_read();
    adversary_observe();
    signal_wire();
    texts();
    merge();
}
