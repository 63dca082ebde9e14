//! Device-level tests: sessions over X3DH and PQXDH, clear and encrypted headers, sealed
//! sender, receipts, the key server, and properties (any order within MAX_SKIP, replay, tamper,
//! loss, decoding arbitrary bytes).

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use signal::wire::{Content, Envelope, Frame};
use signal::{Device, DeviceConfig, Event, FailureKind, PreKeyStore, SignalError};
use simcore::Timestamp;

const NOW: Timestamp = Timestamp::ZERO;

#[derive(Clone, Copy, Debug)]
struct Opts {
    sealed: bool,
    receipts: bool,
    he: bool,
    pq: bool,
    max_skip: u32,
}

const PLAIN: Opts = Opts {
    sealed: false,
    receipts: false,
    he: false,
    pq: false,
    max_skip: 1000,
};

fn device(address: u64, seed: u64, o: Opts) -> Device {
    let mut c = DeviceConfig::new(address);
    c.sealed_sender = o.sealed;
    c.receipts = o.receipts;
    c.header_encryption = o.he;
    c.post_quantum = o.pq;
    c.max_skip = o.max_skip;
    Device::new(c, ChaCha20Rng::seed_from_u64(seed))
}

/// Alice (1) and Bob (2), Bob's keys on the server, Alice's session started.
fn pair(o: Opts) -> (Device, Device, PreKeyStore) {
    let mut alice = device(1, 11, o);
    let mut bob = device(2, 22, o);
    let mut store = PreKeyStore::new();
    store.upload(alice.prekey_upload(2)).unwrap();
    store.upload(bob.prekey_upload(2)).unwrap();
    let bundle = store.fetch(2).unwrap();
    alice.start_session(&bundle).unwrap();
    (alice, bob, store)
}

fn drain(d: &mut Device) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| d.poll_transmit().map(|t| t.bytes)).collect()
}

fn received(d: &mut Device) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(e) = d.poll_event() {
        if let Event::Received { plaintext, .. } = e {
            out.push(plaintext);
        }
    }
    out
}

fn conversation(o: Opts) {
    let (mut alice, mut bob, _) = pair(o);
    for round in 0..4u8 {
        for i in 0..3u8 {
            alice.send(NOW, 2, &[round, i, 0xA]).unwrap();
        }
        for env in drain(&mut alice) {
            bob.handle_envelope(NOW, &env).unwrap();
        }
        let got = received(&mut bob);
        assert_eq!(got, (0..3).map(|i| vec![round, i, 0xA]).collect::<Vec<_>>());
        bob.send(NOW, 1, &[round, 0xB]).unwrap();
        for env in drain(&mut bob) {
            alice.handle_envelope(NOW, &env).unwrap();
        }
        let mut receipts = 0;
        let mut texts = Vec::new();
        while let Some(e) = alice.poll_event() {
            match e {
                Event::ReceiptReceived { from: 2, .. } => receipts += 1,
                Event::Received {
                    plaintext, sealed, ..
                } => {
                    assert_eq!(sealed, o.sealed);
                    texts.push(plaintext)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(texts, vec![vec![round, 0xB]]);
        assert_eq!(receipts, if o.receipts { 3 } else { 0 });
        // Alice does not send receipts for receipts; with receipts on she receipts Bob's text.
        for env in drain(&mut alice) {
            bob.handle_envelope(NOW, &env).unwrap();
        }
        while let Some(e) = bob.poll_event() {
            assert!(matches!(e, Event::ReceiptReceived { from: 1, .. }));
        }
    }
}

#[test]
fn conversations_in_every_mode() {
    for sealed in [false, true] {
        for receipts in [false, true] {
            for he in [false, true] {
                for pq in [false, true] {
                    conversation(Opts {
                        sealed,
                        receipts,
                        he,
                        pq,
                        max_skip: 1000,
                    });
                }
            }
        }
    }
}

#[test]
fn sealed_envelopes_hide_the_sender_and_plain_ones_do_not() {
    for sealed in [false, true] {
        let (mut alice, _bob, _) = pair(Opts { sealed, ..PLAIN });
        alice.send(NOW, 2, b"hi").unwrap();
        let env = Envelope::decode(&drain(&mut alice)[0]).unwrap();
        assert_eq!(env.recipient, 2);
        assert_eq!(env.sender, if sealed { None } else { Some(1) });
        assert_eq!(Content::decode(&env.body).is_ok(), !sealed);
    }
}

#[test]
fn key_server_hands_out_each_one_time_prekey_once() {
    let mut bob = device(2, 22, Opts { pq: true, ..PLAIN });
    let mut store = PreKeyStore::new();
    store.upload(bob.prekey_upload(2)).unwrap();
    assert_eq!(store.one_time_remaining(2), 2);
    let a = store.fetch(2).unwrap();
    let b = store.fetch(2).unwrap();
    let c = store.fetch(2).unwrap();
    assert_ne!(a.one_time_prekey, b.one_time_prekey);
    assert!(a.one_time_prekey.is_some() && b.one_time_prekey.is_some());
    assert_eq!(c.one_time_prekey, None);
    assert_eq!(store.one_time_remaining(2), 0);
    assert_eq!(store.pq_one_time_remaining(2), 0);
    // The last-resort PQ prekey is handed out once the one-time ones are gone.
    assert!(c.pq_prekey.is_some());
    assert_ne!(c.pq_prekey, a.pq_prekey);
    assert_eq!(store.fetch(9), Err(SignalError::UnknownDevice(9)));
    let mut bad = a.clone();
    bad.signed_prekey.signature[5] ^= 1;
    assert_eq!(bad.verify(), Err(SignalError::BadSignature));
    let mut alice = device(1, 11, PLAIN);
    assert_eq!(alice.start_session(&bad), Err(SignalError::BadSignature));
}

#[test]
fn sessions_with_and_without_one_time_prekey_work_and_opk_is_used_once() {
    let mut bob = device(2, 22, PLAIN);
    let mut store = PreKeyStore::new();
    store.upload(bob.prekey_upload(1)).unwrap();
    let with = store.fetch(2).unwrap();
    let without = store.fetch(2).unwrap();
    assert!(with.one_time_prekey.is_some() && without.one_time_prekey.is_none());
    for (addr, bundle) in [(1u64, &with), (3u64, &without)] {
        let mut a = device(addr, addr, PLAIN);
        a.start_session(bundle).unwrap();
        a.send(NOW, 2, b"x").unwrap();
        bob.handle_envelope(NOW, &drain(&mut a)[0]).unwrap();
    }
    assert_eq!(bob.export_state().one_time_prekeys.len(), 0);
    // A second initiator given the same (already used) one-time prekey is refused.
    let mut eve = device(4, 4, PLAIN);
    eve.start_session(&with).unwrap();
    eve.send(NOW, 2, b"x").unwrap();
    let err = bob.handle_envelope(NOW, &drain(&mut eve)[0]).unwrap_err();
    assert!(matches!(err, SignalError::UnknownOneTimePreKey(_)));
    assert_eq!(err.failure_kind(), FailureKind::Replay);
}

#[test]
fn beyond_max_skip_is_a_clear_error_and_within_is_fine() {
    for he in [false, true] {
        let o = Opts {
            max_skip: 5,
            he,
            ..PLAIN
        };
        let (mut alice, mut bob, _) = pair(o);
        for i in 0..8u8 {
            alice.send(NOW, 2, &[i]).unwrap();
        }
        let envs = drain(&mut alice);
        let err = bob.handle_envelope(NOW, &envs[7]).unwrap_err();
        assert!(
            matches!(err, SignalError::TooManySkipped { n: 7, max: 5, .. }),
            "{err:?}"
        );
        assert!(matches!(
            bob.poll_event(),
            Some(Event::Failed {
                kind: FailureKind::TooManySkipped,
                ..
            })
        ));
        bob.handle_envelope(NOW, &envs[5]).unwrap();
        bob.handle_envelope(NOW, &envs[7]).unwrap();
        assert_eq!(received(&mut bob), vec![vec![5], vec![7]]);
    }
}

#[test]
fn every_single_byte_flip_of_initial_and_later_messages_is_rejected() {
    for sealed in [false, true] {
        for he in [false, true] {
            let o = Opts {
                sealed,
                he,
                ..PLAIN
            };
            let (mut alice, mut bob, _) = pair(o);
            alice.send(NOW, 2, b"first").unwrap();
            let first = drain(&mut alice).remove(0);
            for i in 0..first.len() {
                let mut bad = first.clone();
                bad[i] ^= 0x01;
                assert!(
                    bob.handle_envelope(NOW, &bad).is_err(),
                    "byte {i} sealed {sealed} he {he}"
                );
            }
            bob.handle_envelope(NOW, &first).unwrap();
            bob.send(NOW, 1, b"reply").unwrap();
            let reply = drain(&mut bob).remove(0);
            for i in 0..reply.len() {
                let mut bad = reply.clone();
                bad[i] ^= 0x80;
                assert!(alice.handle_envelope(NOW, &bad).is_err(), "reply byte {i}");
            }
            alice.handle_envelope(NOW, &reply).unwrap();
            assert_eq!(received(&mut bob), vec![b"first".to_vec()]);
            assert_eq!(received(&mut alice), vec![b"reply".to_vec()]);
        }
    }
}

#[test]
fn export_state_debug_is_redacted() {
    let (alice, _, _) = pair(PLAIN);
    let snap = alice.export_state();
    assert_eq!(format!("{snap:?}"), "StateSnapshot { <redacted> }");
    assert_eq!(snap.sessions.len(), 1);
    assert!(snap.sessions[0].sending_chain.is_some());
    let dbg = format!("{alice:?}");
    assert!(dbg.contains("<redacted>"));
}

/// Delivers `order` (indices into `envs`) to `to`; returns the plaintexts in delivery order.
fn deliver(to: &mut Device, envs: &[Vec<u8>], order: &[usize]) -> Vec<Vec<u8>> {
    for &i in order {
        to.handle_envelope(NOW, &envs[i]).unwrap();
    }
    received(to)
}

fn opts_strategy() -> impl Strategy<Value = Opts> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(sealed, he, pq)| Opts {
        sealed,
        he,
        pq,
        ..PLAIN
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_order_within_max_skip_decrypts_each_message_once(
        o in opts_strategy(),
        rounds in proptest::collection::vec((1usize..8, any::<u64>()), 1..5),
    ) {
        let (mut alice, mut bob, _) = pair(o);
        for (r, (n, shuffle)) in rounds.iter().enumerate() {
            let (from, to, addr) = if r % 2 == 0 { (&mut alice, &mut bob, 2) } else { (&mut bob, &mut alice, 1) };
            let sent: Vec<Vec<u8>> = (0..*n).map(|i| vec![r as u8, i as u8]).collect();
            for m in &sent {
                from.send(NOW, addr, m).unwrap();
            }
            let envs = drain(from);
            let mut order: Vec<usize> = (0..envs.len()).collect();
            let mut rng = ChaCha20Rng::seed_from_u64(*shuffle);
            for i in (1..order.len()).rev() {
                let j = (rand_chacha::rand_core::RngCore::next_u64(&mut rng) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let got = deliver(to, &envs, &order);
            let expected: Vec<Vec<u8>> = order.iter().map(|&i| sent[i].clone()).collect();
            prop_assert_eq!(got, expected);
            // Every replay is rejected, and reported.
            for env in &envs {
                let err = to.handle_envelope(NOW, env).unwrap_err();
                prop_assert!(matches!(err.failure_kind(), FailureKind::Replay | FailureKind::BadTag), "{:?}", err);
            }
            prop_assert!(received(to).is_empty());
        }
    }

    #[test]
    fn any_tampered_byte_is_rejected_and_the_genuine_message_still_decrypts(
        o in opts_strategy(),
        pos in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        second in any::<bool>(),
    ) {
        let (mut alice, mut bob, _) = pair(o);
        alice.send(NOW, 2, b"first").unwrap();
        let first = drain(&mut alice).remove(0);
        if second {
            bob.handle_envelope(NOW, &first).unwrap();
            received(&mut bob);
            bob.send(NOW, 1, b"reply").unwrap();
            alice.handle_envelope(NOW, &drain(&mut bob)[0]).unwrap();
            alice.send(NOW, 2, b"second").unwrap();
        }
        let genuine = if second { drain(&mut alice).remove(0) } else { first };
        let mut bad = genuine.clone();
        let i = pos.index(bad.len());
        bad[i] ^= flip;
        prop_assert!(bob.handle_envelope(NOW, &bad).is_err());
        prop_assert!(received(&mut bob).is_empty());
        bob.handle_envelope(NOW, &genuine).unwrap();
        let want = if second { b"second".to_vec() } else { b"first".to_vec() };
        prop_assert_eq!(received(&mut bob), vec![want]);
    }

    #[test]
    fn loss_is_tolerated(o in opts_strategy(), keep in proptest::collection::vec(any::<bool>(), 12)) {
        let (mut alice, mut bob, _) = pair(o);
        for i in 0..12u8 {
            alice.send(NOW, 2, &[i]).unwrap();
        }
        let envs = drain(&mut alice);
        let order: Vec<usize> = (0..12).filter(|&i| keep[i]).collect();
        let got = deliver(&mut bob, &envs, &order);
        prop_assert_eq!(got, order.iter().map(|&i| vec![i as u8]).collect::<Vec<_>>());
        if !order.is_empty() {
            bob.send(NOW, 1, b"ok").unwrap();
            alice.handle_envelope(NOW, &drain(&mut bob)[0]).unwrap();
            prop_assert_eq!(received(&mut alice), vec![b"ok".to_vec()]);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = Envelope::decode(&bytes);
        let _ = Content::decode(&bytes);
        let _ = Frame::decode(&bytes);
        let (_, mut bob, _) = pair(PLAIN);
        prop_assert!(bob.handle_envelope(NOW, &bytes).is_err());
        let mut framed = vec![0x31, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1];
        framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        framed.extend_from_slice(&bytes);
        prop_assert!(bob.handle_envelope(NOW, &framed).is_err());
    }
}
