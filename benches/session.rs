//! Cost of the session layer, against the floor of the cryptography it has to do.
//!
//! - `session/xx_handshake`: a full `Noise_XX_25519_ChaChaPoly_BLAKE2s` handshake between two
//!   `NoiseSession`s in memory (3 messages, 5 X25519 operations per side), started by one
//!   200-byte send and ending with its delivery.
//! - `session/transport_200B`: one 200-byte message through the session layer on an
//!   established XX pair: `send` → `poll_transmit` → `handle_message` → `poll_event`.
//! - `session/raw_snow_transport_200B`: the floor: the same encrypt + decrypt with raw snow
//!   `TransportState`s (same protocol, same resolver), no queues, no events.
//! - `session/reliable_200B`: `ReliableLink` send of a 200-byte PDU, delivery at the peer, and
//!   the ACK back until the sender is idle.
//!
//! - `x25519/{dh,public}/{aws-lc,dalek}`: one X25519 Diffie-Hellman, and one public key from a
//!   private key, through snow's `Dh` as `proto::crypto`'s resolver gives it (AWS-LC) and as
//!   snow's default resolver does (curve25519-dalek's portable ladder).
//!
//! Every iteration checks its result (bytes delivered, sender idle), so the throughput figures
//! count work actually done.
//!
//! Run: `cargo bench --bench session -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proto::keys::StaticKeypair;
use proto::noise::{NoiseConfig, NoiseSession, SessionEvent};
use proto::reliable::{ReliableConfig, ReliableLink};
use proto::snow;
use simcore::Timestamp;

const PROTOCOL: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const LEN: usize = 200;
const NOW: Timestamp = Timestamp::ZERO;

fn config(initiator: bool, seed: u8) -> NoiseConfig {
    NoiseConfig {
        protocol: PROTOCOL.to_owned(),
        initiator,
        local_static: Some(StaticKeypair::generate([seed; 32])),
        remote_static: None,
        expected_remote_static: None,
        psk: None,
        prologue: Vec::new(),
        early_data: proto::noise::EarlyData::Off,
        rng_seed: [seed.wrapping_add(100); 32],
    }
}

/// Moves messages both ways until quiet; returns the plaintext bytes delivered.
fn drive(a: &mut NoiseSession, b: &mut NoiseSession) -> usize {
    let mut delivered = 0;
    loop {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            moved = true;
            b.handle_message(NOW, &m).expect("valid message");
        }
        while let Some(m) = b.poll_transmit() {
            moved = true;
            a.handle_message(NOW, &m).expect("valid message");
        }
        for s in [&mut *a, &mut *b] {
            while let Some(e) = s.poll_event() {
                if let SessionEvent::Received(p) = e {
                    delivered += p.len();
                }
            }
        }
        if !moved {
            return delivered;
        }
    }
}

fn established() -> (NoiseSession, NoiseSession) {
    let mut a = NoiseSession::new(config(true, 1)).expect("builds");
    let mut b = NoiseSession::new(config(false, 2)).expect("builds");
    a.send(NOW, vec![0; LEN]).expect("send");
    assert_eq!(drive(&mut a, &mut b), LEN);
    assert!(a.is_established() && b.is_established());
    (a, b)
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Elements(1));
    g.bench_function("xx_handshake", |bench| {
        bench.iter_batched(
            || {
                (
                    NoiseSession::new(config(true, 1)).expect("builds"),
                    NoiseSession::new(config(false, 2)).expect("builds"),
                )
            },
            |(mut a, mut b)| {
                a.send(NOW, vec![0; LEN]).expect("send");
                assert_eq!(drive(&mut a, &mut b), LEN);
                black_box((a, b))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn transport(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Bytes(LEN as u64));
    let payload = vec![0x5A; LEN];

    let (mut a, mut b) = established();
    g.bench_function("transport_200B", |bench| {
        bench.iter(|| {
            a.send(NOW, black_box(payload.clone())).expect("send");
            let m = a.poll_transmit().expect("one message");
            b.handle_message(NOW, &m).expect("valid");
            match b.poll_event() {
                Some(SessionEvent::Received(p)) => assert_eq!(p.len(), LEN),
                other => panic!("expected a plaintext, got {other:?}"),
            }
        })
    });

    // The floor: raw snow, same protocol and resolver.
    let params: snow::params::NoiseParams = PROTOCOL.parse().expect("parses");
    let ka = StaticKeypair::generate([1; 32]);
    let kb = StaticKeypair::generate([2; 32]);
    let mut ia = snow::Builder::with_resolver(params.clone(), proto::crypto::resolver([101; 32]))
        .local_private_key(&ka.private[..])
        .and_then(|b| b.build_initiator())
        .expect("builds");
    let mut rb = snow::Builder::with_resolver(params, proto::crypto::resolver([102; 32]))
        .local_private_key(&kb.private[..])
        .and_then(|b| b.build_responder())
        .expect("builds");
    let (mut buf, mut out) = (vec![0u8; 1024], vec![0u8; 1024]);
    for turn in 0..3 {
        let (w, r) = if turn % 2 == 0 {
            (&mut ia, &mut rb)
        } else {
            (&mut rb, &mut ia)
        };
        let n = w.write_message(&[], &mut buf).expect("write");
        r.read_message(&buf[..n], &mut out).expect("read");
    }
    let mut ta = ia.into_transport_mode().expect("done");
    let mut tb = rb.into_transport_mode().expect("done");
    g.bench_function("raw_snow_transport_200B", |bench| {
        bench.iter(|| {
            let n = ta
                .write_message(black_box(&payload), &mut buf)
                .expect("write");
            let m = tb.read_message(&buf[..n], &mut out).expect("read");
            assert_eq!(m, LEN);
        })
    });

    let mut la = ReliableLink::new(ReliableConfig::default());
    let mut lb = ReliableLink::new(ReliableConfig::default());
    g.bench_function("reliable_200B", |bench| {
        bench.iter(|| {
            la.send(NOW, black_box(payload.clone())).expect("fits");
            let data = la.poll_transmit(NOW).expect("DATA");
            lb.handle_datagram(NOW, &data).expect("valid");
            assert_eq!(lb.poll_delivered().map(|p| p.len()), Some(LEN));
            let ack = lb.poll_transmit(NOW).expect("ACK");
            la.handle_datagram(NOW, &ack).expect("valid");
            assert!(la.is_idle());
        })
    });
    g.finish();
}

fn x25519(c: &mut Criterion) {
    use proto::crypto::SeededResolver;
    use proto::snow::params::DHChoice;
    use proto::snow::resolvers::{CryptoResolver, DefaultResolver};
    let mut g = c.benchmark_group("x25519");
    let peer = StaticKeypair::generate([2; 32]).public;
    let providers: [(&str, Box<dyn proto::snow::types::Dh>); 2] = [
        (
            "aws-lc",
            SeededResolver::new([1; 32])
                .resolve_dh(&DHChoice::Curve25519)
                .expect("X25519"),
        ),
        (
            "dalek",
            DefaultResolver
                .resolve_dh(&DHChoice::Curve25519)
                .expect("X25519"),
        ),
    ];
    for (name, mut dh) in providers {
        dh.set(&[7; 32]);
        g.bench_function(format!("dh/{name}"), |bench| {
            let mut out = [0u8; 32];
            bench.iter(|| {
                dh.dh(black_box(&peer), &mut out).expect("dh");
                assert_ne!(out, [0; 32]);
            });
        });
        let mut key = [7u8; 32];
        g.bench_function(format!("public/{name}"), |bench| {
            bench.iter(|| {
                key[0] = key[0].wrapping_add(1);
                dh.set(black_box(&key));
                assert_ne!(dh.pubkey(), &[0; 32]);
            });
        });
    }
    g.finish();
}

criterion_group!(benches, handshake, transport, x25519);
criterion_main!(benches);
