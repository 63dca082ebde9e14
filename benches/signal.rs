//! Cost of the Signal-style protocol core (`signal` crate), against the floor of the public-key
//! operations it has to do, measured in the same run:
//!
//! - `floor/x25519`: one X25519 scalar multiplication (a DH).
//! - `floor/mlkem1024_encap+decap`: one ML-KEM-1024 encapsulation and decapsulation.
//! - `signal/x3dh`: both sides of X3DH with a one-time prekey, bundle signature check
//!   included (floor: 9 X25519: EK generation, DH1-4 on each side; plus an XEdDSA verify).
//! - `signal/pqxdh`: the same plus ML-KEM-1024 encapsulation and decapsulation.
//! - `signal/dh_ratchet_round_trip`: A encrypts to B, B decrypts (a DH ratchet step: 3
//!   X25519), B encrypts to A, A decrypts (another): floor 6 X25519.
//! - `signal/symmetric_step`: one `KDF_CK` (two HMAC-SHA-256).
//! - `signal/message_200B`: a 200-byte message through two `Device`s on an established
//!   session (same chain, no DH step): `send` → `poll_transmit` → `handle_envelope` →
//!   `poll_event`.
//!
//! Run: `cargo bench --bench signal -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use signal::crypto::{kdf_ck, kem_decapsulate, kem_encapsulate, KemKeyPair};
use signal::ratchet::RatchetState;
use signal::{Device, DeviceConfig, Event, PreKeyStore};
use simcore::Timestamp;

const NOW: Timestamp = Timestamp::ZERO;

fn device(address: u64, seed: u64, pq: bool) -> Device {
    let mut c = DeviceConfig::new(address);
    c.post_quantum = pq;
    Device::new(c, ChaCha20Rng::seed_from_u64(seed))
}

fn floors(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let a = x25519_dalek::StaticSecret::from([7u8; 32]);
    let b = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([9u8; 32]));
    g.bench_function("x25519", |bench| {
        bench.iter(|| black_box(a.diffie_hellman(black_box(&b))))
    });
    let kp = KemKeyPair::from_seed(&[3; 64]);
    g.bench_function("mlkem1024_encap+decap", |bench| {
        bench.iter(|| {
            let (ct, ss) = kem_encapsulate(&kp.public, &[5; 32]).unwrap();
            assert_eq!(kem_decapsulate(&kp.secret, &ct).unwrap(), ss);
        })
    });
    g.finish();
}

fn handshakes(c: &mut Criterion) {
    let mut g = c.benchmark_group("signal");
    for (name, pq) in [("x3dh", false), ("pqxdh", true)] {
        let mut bob = device(2, 2, pq);
        let mut store = PreKeyStore::new();
        store.upload(bob.prekey_upload(1)).unwrap();
        let bundle = store.fetch(2).unwrap();
        let identity = signal::IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let snap = bob.export_state();
        let bob_identity = signal::IdentityKeyPair::from_secret(x25519_dalek::StaticSecret::from(
            *snap.identity_private,
        ));
        let spk = x25519_dalek::StaticSecret::from(*snap.signed_prekey.private);
        let opk = x25519_dalek::StaticSecret::from(*snap.one_time_prekeys[0].private);
        let kem = snap.pq_one_time_prekeys.first().map(|k| k.secret.to_vec());
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let init = signal::x3dh::initiate(&mut rng, &identity, &bundle, pq).unwrap();
                let (sk, _) = signal::x3dh::respond(
                    &bob_identity,
                    &spk,
                    Some(&opk),
                    kem.as_deref(),
                    &init.header,
                )
                .unwrap();
                assert_eq!(sk, init.sk);
            })
        });
    }
    g.finish();
}

fn ratchet(c: &mut Criterion) {
    let mut g = c.benchmark_group("signal");
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let bob_spk = x25519_dalek::StaticSecret::from([4u8; 32]);
    let bob_pub = x25519_dalek::PublicKey::from(&bob_spk).to_bytes();
    let sk = [6u8; 32];
    let mut alice = RatchetState::init_alice(&mut rng, &sk, bob_pub, None, vec![1; 82], 1000);
    let mut bob = RatchetState::init_bob(&sk, bob_spk, None, vec![1; 82], 1000);
    let m = alice.encrypt(&mut rng, b"x").unwrap();
    bob.decrypt(&mut rng, &m).unwrap();
    g.bench_function("dh_ratchet_round_trip", |bench| {
        bench.iter(|| {
            let m = bob.encrypt(&mut rng, b"ping").unwrap();
            alice.decrypt(&mut rng, &m).unwrap();
            let m = alice.encrypt(&mut rng, b"pong").unwrap();
            bob.decrypt(&mut rng, &m).unwrap();
        })
    });
    let mut ck = zeroize::Zeroizing::new([1u8; 32]);
    g.bench_function("symmetric_step", |bench| {
        bench.iter(|| {
            let (next, mk) = kdf_ck(&ck);
            ck = next;
            black_box(mk);
        })
    });

    let mut alice = device(1, 1, true);
    let mut bob = device(2, 2, true);
    let mut store = PreKeyStore::new();
    store.upload(bob.prekey_upload(1)).unwrap();
    alice.start_session(&store.fetch(2).unwrap()).unwrap();
    alice.send(NOW, 2, b"hi").unwrap();
    bob.handle_envelope(NOW, &alice.poll_transmit().unwrap().bytes)
        .unwrap();
    bob.send(NOW, 1, b"hi").unwrap();
    alice
        .handle_envelope(NOW, &bob.poll_transmit().unwrap().bytes)
        .unwrap();
    while bob.poll_event().is_some() || alice.poll_event().is_some() {}
    let payload = [0x42u8; 200];
    g.throughput(Throughput::Bytes(200));
    g.bench_function("message_200B", |bench| {
        bench.iter(|| {
            alice.send(NOW, 2, &payload).unwrap();
            let t = alice.poll_transmit().unwrap();
            bob.handle_envelope(NOW, &t.bytes).unwrap();
            match bob.poll_event() {
                Some(Event::Received { plaintext, .. }) => assert_eq!(plaintext.len(), 200),
                other => panic!("{other:?}"),
            }
        })
    });
    g.finish();
}

criterion_group!(benches, floors, handshakes, ratchet);
criterion_main!(benches);
