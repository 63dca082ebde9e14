//! Cross-check of the adversary's independent ratchet and X3DH readers
//! (`adversary::ratchet`) against real sessions of this crate.

use adversary::ratchet::{
    parse_content, parse_envelope, read_x3dh, CapturedContent, HeaderKeys, RatchetReader, Reading,
    ResponderPublic, StolenSession, StolenState,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use signal::{Device, DeviceConfig, Event, PreKeyStore, StateSnapshot};
use simcore::Timestamp;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

const NOW: Timestamp = Timestamp::ZERO;

/// The conversion a later engineer does: signal's snapshot → the adversary's stolen state.
fn stolen(s: &StateSnapshot) -> StolenState {
    StolenState {
        address: s.address,
        identity_private: Some(s.identity_private.clone()),
        signed_prekey: Some((s.signed_prekey.id, s.signed_prekey.private.clone())),
        one_time_prekeys: s
            .one_time_prekeys
            .iter()
            .map(|k| (k.id, k.private.clone()))
            .collect(),
        pq_prekeys: s
            .pq_last_resort
            .iter()
            .chain(&s.pq_one_time_prekeys)
            .map(|k| (k.id, k.secret.clone()))
            .collect(),
        sessions: s
            .sessions
            .iter()
            .map(|x| StolenSession {
                peer: x.peer,
                associated_data: x.associated_data.clone(),
                root_key: x.root_key.clone(),
                ratchet_private: x.ratchet_private.clone(),
                remote_ratchet: x.remote_ratchet,
                sending_chain: x.sending_chain.clone(),
                receiving_chain: x.receiving_chain.clone(),
                ns: x.ns,
                nr: x.nr,
                header_encryption: x.header_encryption,
                header_keys: HeaderKeys {
                    hks: x.hks.clone(),
                    hkr: x.hkr.clone(),
                    nhks: x.nhks.clone(),
                    nhkr: x.nhkr.clone(),
                },
                skipped: x
                    .skipped
                    .iter()
                    .map(|k| (k.index_key, k.n, k.message_key.clone()))
                    .collect(),
            })
            .collect(),
    }
}

fn device(address: u64, seed: u64, sealed: bool, pq: bool) -> Device {
    let mut c = DeviceConfig::new(address);
    c.sealed_sender = sealed;
    c.post_quantum = pq;
    Device::new(c, ChaCha20Rng::seed_from_u64(seed))
}

fn texts(d: &mut Device) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(e) = d.poll_event() {
        if let Event::Received { plaintext, .. } = e {
            out.push(plaintext);
        }
    }
    out
}

#[test]
fn with_every_key_the_adversary_reads_a_long_random_conversation() {
    for sealed in [false, true] {
        let mut alice = device(1, 1, sealed, true);
        let mut bob = device(2, 2, sealed, true);
        let mut store = PreKeyStore::new();
        store.upload(bob.prekey_upload(1)).unwrap();
        alice.start_session(&store.fetch(2).unwrap()).unwrap();
        let alice_start = alice.export_state();
        let mut ratchet_privates = Vec::new();
        let mut captured: Vec<Vec<u8>> = Vec::new();
        let mut truth: Vec<Vec<u8>> = Vec::new();
        let mut in_flight: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let mut delivered = 0usize;
        for step in 0..400u32 {
            let r = rng.next_u32();
            let side = (r % 2) as usize;
            let (dev, peer) = if side == 0 {
                (&mut alice, 2)
            } else {
                (&mut bob, 1)
            };
            // Bob cannot send before he has heard from Alice.
            if r % 5 < 3 && dev.has_session(peer) {
                let msg = format!("m{step} from {side}").into_bytes();
                dev.send(NOW, peer, &msg).unwrap();
                let t = dev.poll_transmit().unwrap();
                captured.push(t.bytes.clone());
                truth.push(msg);
                in_flight[side].push(t.bytes);
            } else if !in_flight[1 - side].is_empty() {
                // Deliver one of the first 4 in flight towards `dev`: out of order, < MAX_SKIP.
                let q = &mut in_flight[1 - side];
                let i = (r as usize / 7) % q.len().min(4);
                let env = q.remove(i);
                dev.handle_envelope(NOW, &env).unwrap();
                delivered += texts(dev).len();
            }
            for d in [&alice, &bob] {
                for s in d.export_state().sessions {
                    ratchet_privates.push(s.ratchet_private.clone());
                }
            }
        }
        assert!(captured.len() > 150 && delivered > 100);
        let a = stolen(&alice_start);
        let b = stolen(&bob.export_state());
        let mut reader = RatchetReader::new(1, a.identity_private.as_ref(), &a.sessions[0]);
        reader.add_peer_identity(b.identity_private.as_ref().unwrap());
        for k in &ratchet_privates {
            reader.add_ratchet_private(k);
        }
        for (i, env) in captured.iter().enumerate() {
            match reader.read(env) {
                Reading::Plaintext { body, .. } => {
                    assert_eq!(body.as_ref(), Some(&truth[i]), "message {i}")
                }
                other => panic!("message {i} unread: {other:?}"),
            }
        }
        assert!(
            reader.steps() >= 10,
            "only {} ratchet steps",
            reader.steps()
        );
    }
}

/// Rounds of 3 messages from Alice then 2 from Bob, each delivered at once; Bob's state is
/// stolen after envelope `k - 1` was handled. Returns what the adversary read per envelope
/// from index `k` on, the ground truth, and the ratchet key of every envelope.
#[allow(clippy::type_complexity)]
fn stolen_at(k: usize) -> (Vec<Reading>, Vec<Vec<u8>>, Vec<[u8; 32]>, [u8; 32]) {
    let mut alice = device(1, 3, false, false);
    let mut bob = device(2, 4, false, false);
    let mut store = PreKeyStore::new();
    store.upload(bob.prekey_upload(1)).unwrap();
    alice.start_session(&store.fetch(2).unwrap()).unwrap();
    let mut captured = Vec::new();
    let mut truth = Vec::new();
    let mut theft = None;
    for round in 0..6 {
        for (n, from_alice) in [(3, true), (2, false)] {
            for i in 0..n {
                if captured.len() == k {
                    theft = Some(bob.export_state());
                }
                let msg = format!("r{round} {i} {from_alice}").into_bytes();
                let (s, r, peer) = if from_alice {
                    (&mut alice, &mut bob, 2)
                } else {
                    (&mut bob, &mut alice, 1)
                };
                s.send(NOW, peer, &msg).unwrap();
                let env = s.poll_transmit().unwrap().bytes;
                r.handle_envelope(NOW, &env).unwrap();
                assert_eq!(texts(r), vec![msg.clone()]);
                captured.push(env);
                truth.push(msg);
            }
        }
    }
    let theft = theft.expect("k within the conversation");
    let victim_key = theft.sessions[0].ratchet_public;
    let st = stolen(&theft);
    let mut reader = RatchetReader::new(2, st.identity_private.as_ref(), &st.sessions[0]);
    let readings = captured[k..].iter().map(|e| reader.read(e)).collect();
    let keys = captured
        .iter()
        .map(|e| {
            let env = parse_envelope(e).unwrap();
            match parse_content(&env.body).unwrap() {
                CapturedContent::Clear(_, m) => m.dh,
                CapturedContent::EncryptedHeader(..) => unreachable!(),
            }
        })
        .collect();
    (readings, truth, keys, victim_key)
}

#[test]
fn state_stolen_at_k_reads_until_the_victims_next_ratchet_step_then_heals() {
    // The documented case: k = 8. Bob's state after Alice's 3 messages of round 1 (he holds
    // his fresh ratchet key B2): his own 2 messages (8, 9) are read, Alice's next chain (10-12,
    // new key A3, stepped with B2's private key) is read, and Bob's next key B3 (envelope 13)
    // needs DH(B3, A3) with neither private key: access is lost there for good.
    let (readings, truth, _, _) = stolen_at(8);
    for (j, r) in readings.iter().enumerate() {
        let i = 8 + j;
        if i < 13 {
            assert!(
                matches!(r, Reading::Plaintext { body: Some(b), .. } if *b == truth[i]),
                "{i}: {r:?}"
            );
        } else {
            assert!(matches!(r, Reading::Unreadable { .. }), "{i}: {r:?}");
        }
    }
    match &readings[13 - 8] {
        Reading::Unreadable { reason, .. } => assert_eq!(
            reason,
            "new ratchet key from the victim: no private key for ratchet step 2"
        ),
        other => panic!("{other:?}"),
    }
    // Every theft moment: the first unreadable envelope is the first one whose ratchet key K_i
    // needs DH(K_i, K_{i-1}) with neither key being the victim's key at the theft.
    for k in 1..30 {
        let (readings, truth, keys, victim_key) = stolen_at(k);
        let mut sequence: Vec<[u8; 32]> = Vec::new();
        for key in &keys[..k] {
            if sequence.last() != Some(key) {
                sequence.push(*key);
            }
        }
        // Bob's key at the theft may not have been used in an envelope yet.
        if sequence.last() != Some(&victim_key) {
            sequence.push(victim_key);
        }
        let mut expected_loss = keys.len();
        for (i, key) in keys.iter().enumerate().skip(k) {
            if sequence.last() != Some(key) {
                let prev = *sequence.last().unwrap();
                if *key != victim_key && prev != victim_key {
                    expected_loss = i;
                    break;
                }
                sequence.push(*key);
            }
        }
        if k <= 20 {
            assert!(expected_loss < keys.len(), "k = {k}: the session heals");
        }
        for (j, r) in readings.iter().enumerate() {
            let i = k + j;
            let read = matches!(r, Reading::Plaintext { body: Some(b), .. } if *b == truth[i]);
            assert_eq!(read, i < expected_loss, "k = {k}, envelope {i}: {r:?}");
        }
    }
}

/// Bob with one one-time prekey; Alice 1 gets it, Alice 3 does not. Returns the captured
/// initial envelopes, Bob's snapshots before and after, and their bundles' public keys.
#[allow(clippy::type_complexity)]
fn x3dh_world(
    pq: bool,
) -> (
    Vec<(u64, Vec<u8>, ResponderPublic)>,
    StateSnapshot,
    StateSnapshot,
) {
    let mut bob = device(2, 5, false, pq);
    let mut store = PreKeyStore::new();
    store.upload(bob.prekey_upload(1)).unwrap();
    let before = bob.export_state();
    let mut out = Vec::new();
    for addr in [1u64, 3] {
        let bundle = store.fetch(2).unwrap();
        let mut a = device(addr, addr + 10, false, pq);
        a.start_session(&bundle).unwrap();
        a.send(NOW, 2, format!("hello from {addr}").as_bytes())
            .unwrap();
        let env = a.poll_transmit().unwrap().bytes;
        bob.handle_envelope(NOW, &env).unwrap();
        out.push((
            addr,
            env,
            ResponderPublic {
                identity: bundle.identity,
                signed_prekey: bundle.signed_prekey.public,
                one_time_prekey: bundle.one_time_prekey.map(|(_, k)| k),
            },
        ));
    }
    (out, before, bob.export_state())
}

fn initial(env: &[u8]) -> (adversary::ratchet::InitialData, Vec<u8>) {
    let e = parse_envelope(env).unwrap();
    match parse_content(&e.body).unwrap() {
        CapturedContent::Clear(Some(i), _) => (i, env.to_vec()),
        _ => panic!("not an initial message"),
    }
}

fn read_first(
    addr: u64,
    reading: &adversary::ratchet::X3dhReading,
    public: &ResponderPublic,
    spk: Option<&Zeroizing<[u8; 32]>>,
    env: &[u8],
    oracle: Option<adversary::ratchet::DhOracle<'_>>,
) -> Reading {
    let mut r = RatchetReader::from_x3dh(2, addr, reading, public.signed_prekey, spk);
    if let Some(o) = oracle {
        r = r.with_oracle(o);
    }
    r.read(env)
}

#[test]
fn x3dh_keys_stolen_later_open_sessions_without_one_time_prekey_only() {
    let (sessions, _, after) = x3dh_world(false);
    let st = stolen(&after);
    assert!(
        st.one_time_prekeys.is_empty(),
        "the OPK was deleted after use"
    );
    let spk = st.signed_prekey.as_ref().map(|(_, k)| k);
    for (addr, env, public) in &sessions {
        let (init, env) = initial(env);
        let result = read_x3dh(&st, public, *addr, &init, None);
        if init.one_time_prekey_id.is_some() {
            let err = result.expect_err("OPK session must stay closed");
            assert!(err.contains("DH4"), "{err}");
        } else {
            let reading = result.unwrap();
            let r = read_first(*addr, &reading, public, spk, &env, None);
            assert!(
                matches!(&r, Reading::Plaintext { body: Some(b), .. } if *b == format!("hello from {addr}").into_bytes()),
                "{r:?}"
            );
        }
    }
}

#[test]
fn quantum_oracle_opens_x3dh_but_not_pqxdh() {
    for pq in [false, true] {
        let (sessions, before, _) = x3dh_world(pq);
        // The quantum computer, emulated: it answers any DH whose discrete log it "computed";
        // here from a table of Bob's private keys (identity, signed and one-time prekeys).
        let mut table: Vec<([u8; 32], [u8; 32])> = vec![
            (before.identity_public, *before.identity_private),
            (before.signed_prekey.public, *before.signed_prekey.private),
        ];
        table.extend(
            before
                .one_time_prekeys
                .iter()
                .map(|k| (k.public, *k.private)),
        );
        let oracle = move |a: &[u8; 32], b: &[u8; 32]| {
            table.iter().find_map(|(p, s)| {
                let other = if p == a {
                    b
                } else if p == b {
                    a
                } else {
                    return None;
                };
                Some(
                    StaticSecret::from(*s)
                        .diffie_hellman(&PublicKey::from(*other))
                        .to_bytes(),
                )
            })
        };
        // Ratchet steps need the oracle too: Alice's ratchet key and Bob's SPK.
        let nothing = StolenState {
            address: 2,
            ..StolenState::default()
        };
        for (addr, env, public) in &sessions {
            let (init, env) = initial(env);
            let result = read_x3dh(&nothing, public, *addr, &init, Some(&oracle));
            if pq {
                let err = result.expect_err("PQXDH must stay closed");
                assert!(err.contains("ML-KEM"), "{err}");
            } else {
                let reading = result.unwrap();
                let r = read_first(*addr, &reading, public, None, &env, Some(&oracle));
                assert!(
                    matches!(&r, Reading::Plaintext { body: Some(b), .. } if *b == format!("hello from {addr}").into_bytes()),
                    "{r:?}"
                );
            }
        }
    }
}
