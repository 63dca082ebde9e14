//! The adversary's Noise engine against snow, on the same work: decrypting one whole
//! `Noise_XX_25519_ChaChaPoly_BLAKE2s` transcript (3 handshake messages with 200-byte payloads,
//! then one 200-byte transport message each way), every private key known.
//!
//! - `engine/xx_transcript`: a fresh `adversary::engine::Engine` reads all 5 messages with a
//!   keyring holding both statics and both ephemerals (checks every payload).
//! - `engine/snow_xx_transcript`: the snow floor: snow can only decrypt as one of the parties,
//!   so an initiator and a responder with the same fixed keys re-run the handshake (each writes
//!   its own messages, byte-identical to the transcript, and reads the other's), then each reads
//!   the transport message addressed to it.
//!
//! One element = one transcript, so criterion's throughput is transcripts/s.
//!
//! Run: `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use adversary::engine::{Engine, Keyring, Premessages, Role};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proto::keys::StaticKeypair;
use proto::snow;

const PROTOCOL: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const PAYLOAD: [u8; 200] = [0x61; 200];

struct Fixture {
    i_static: StaticKeypair,
    r_static: StaticKeypair,
    i_e: [u8; 32],
    r_e: [u8; 32],
    messages: Vec<(Role, Vec<u8>)>,
}

fn pair(f: &Fixture) -> (snow::HandshakeState, snow::HandshakeState) {
    let params: snow::params::NoiseParams = PROTOCOL.parse().expect("protocol");
    let i = snow::Builder::new(params.clone())
        .local_private_key(&f.i_static.private[..])
        .expect("key")
        .fixed_ephemeral_key_for_testing_only(&f.i_e)
        .build_initiator()
        .expect("initiator");
    let r = snow::Builder::new(params)
        .local_private_key(&f.r_static.private[..])
        .expect("key")
        .fixed_ephemeral_key_for_testing_only(&f.r_e)
        .build_responder()
        .expect("responder");
    (i, r)
}

/// Runs the session with snow. With `check`, every handshake message written must equal the
/// fixture's and each party reads the fixture's transport message to it; without, the transport
/// messages are written. Returns the messages written.
fn snow_run(f: &Fixture, check: bool) -> Vec<(Role, Vec<u8>)> {
    let (mut i, mut r) = pair(f);
    let (mut buf, mut out) = ([0u8; 1024], [0u8; 1024]);
    let mut messages = Vec::with_capacity(5);
    for k in 0..3 {
        let (w, rd, from) = if k % 2 == 0 {
            (&mut i, &mut r, Role::Initiator)
        } else {
            (&mut r, &mut i, Role::Responder)
        };
        let n = w.write_message(&PAYLOAD, &mut buf).expect("write");
        if check {
            assert_eq!(&buf[..n], &f.messages[k].1[..]);
        }
        let m = rd.read_message(&buf[..n], &mut out).expect("read");
        assert_eq!(&out[..m], &PAYLOAD[..]);
        messages.push((from, buf[..n].to_vec()));
    }
    let mut i = i.into_transport_mode().expect("transport");
    let mut r = r.into_transport_mode().expect("transport");
    if check {
        let m = r.read_message(&f.messages[3].1, &mut out).expect("read");
        assert_eq!(&out[..m], &PAYLOAD[..]);
        let m = i.read_message(&f.messages[4].1, &mut out).expect("read");
        assert_eq!(&out[..m], &PAYLOAD[..]);
    } else {
        let n = i.write_message(&PAYLOAD, &mut buf).expect("write");
        messages.push((Role::Initiator, buf[..n].to_vec()));
        let n = r.write_message(&PAYLOAD, &mut buf).expect("write");
        messages.push((Role::Responder, buf[..n].to_vec()));
    }
    messages
}

fn bench(c: &mut Criterion) {
    let mut f = Fixture {
        i_static: StaticKeypair::from_private([1; 32]),
        r_static: StaticKeypair::from_private([2; 32]),
        i_e: [3; 32],
        r_e: [4; 32],
        messages: Vec::new(),
    };
    f.messages = snow_run(&f, false);
    let mut keys = Keyring::new();
    for k in [*f.i_static.private, *f.r_static.private, f.i_e, f.r_e] {
        keys.add_private(k);
    }
    let fresh = Engine::new(PROTOCOL, b"", &Premessages::default(), None).expect("engine");

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("xx_transcript", |b| {
        b.iter(|| {
            let mut e = fresh.clone();
            for (from, m) in &f.messages {
                let out = e.read(*from, black_box(m), &keys).expect("read");
                assert_eq!(out.payload.as_deref(), Some(&PAYLOAD[..]));
            }
        })
    });
    g.bench_function("snow_xx_transcript", |b| {
        b.iter(|| black_box(snow_run(&f, true)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
