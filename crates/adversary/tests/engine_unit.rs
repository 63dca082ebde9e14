//! Unit tests of the engine: tampering, partial keyrings, low-order points, the oracle,
//! impersonation interop with snow, and robustness on arbitrary bytes.

mod common;

use std::sync::Arc;

use adversary::engine::{
    transport_decrypt, Blocked, DhOracle, Engine, EngineError, Keyring, Premessages, Role,
};
use common::FixedRng;
use proptest::prelude::*;
use proto::keys::StaticKeypair;

/// An honest snow session of `name`, every party with a fixed ephemeral; returns the messages.
fn snow_session(
    name: &str,
    i_static: &StaticKeypair,
    r_static: &StaticKeypair,
    i_e: [u8; 32],
    r_e: [u8; 32],
) -> Vec<(Role, Vec<u8>)> {
    let params: snow::params::NoiseParams = name.parse().expect("name");
    let mut i = snow::Builder::new(params.clone())
        .local_private_key(&i_static.private[..])
        .and_then(|b| b.remote_public_key(&r_static.public))
        .expect("keys")
        .fixed_ephemeral_key_for_testing_only(&i_e)
        .build_initiator()
        .expect("initiator");
    let mut r = snow::Builder::new(params)
        .local_private_key(&r_static.private[..])
        .expect("key")
        .fixed_ephemeral_key_for_testing_only(&r_e)
        .build_responder()
        .expect("responder");
    let (mut buf, mut out) = (vec![0u8; 65535], vec![0u8; 65535]);
    let mut msgs = Vec::new();
    let mut k = 0;
    while !i.is_handshake_finished() {
        let (w, rd, from) = if k % 2 == 0 {
            (&mut i, &mut r, Role::Initiator)
        } else {
            (&mut r, &mut i, Role::Responder)
        };
        let n = w.write_message(b"secret", &mut buf).expect("write");
        rd.read_message(&buf[..n], &mut out).expect("read");
        msgs.push((from, buf[..n].to_vec()));
        k += 1;
    }
    msgs
}

fn keypair(b: u8) -> StaticKeypair {
    StaticKeypair::from_private([b; 32])
}

fn public(private: [u8; 32]) -> [u8; 32] {
    Keyring::new().add_private(private)
}

#[test]
fn a_flipped_ciphertext_byte_is_bad_tag_and_kills_the_engine() {
    let (is, rs) = (keypair(1), keypair(2));
    let msgs = snow_session(
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        &is,
        &rs,
        [3; 32],
        [4; 32],
    );
    let mut keys = Keyring::new();
    keys.add_private([3; 32]);
    let mut e = Engine::new(
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        b"",
        &Premessages::default(),
        None,
    )
    .expect("engine");
    e.read(Role::Initiator, &msgs[0].1, &keys)
        .expect("message 1");
    let mut tampered = msgs[1].1.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        e.read(Role::Responder, &tampered, &keys),
        Err(EngineError::BadTag {
            message: 2,
            what: "payload"
        })
    );
    assert_eq!(
        e.read(Role::Responder, &msgs[1].1, &keys),
        Err(EngineError::Unusable)
    );
    // A flipped static-key byte is blamed on the static.
    let mut e = Engine::new(
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        b"",
        &Premessages::default(),
        None,
    )
    .expect("engine");
    e.read(Role::Initiator, &msgs[0].1, &keys)
        .expect("message 1");
    let mut tampered = msgs[1].1.clone();
    tampered[40] ^= 1;
    assert_eq!(
        e.read(Role::Responder, &tampered, &keys),
        Err(EngineError::BadTag {
            message: 2,
            what: "static"
        })
    );
}

#[test]
fn the_responders_static_alone_reads_n() {
    let rs = keypair(9);
    let name = "Noise_N_25519_AESGCM_SHA256";
    let msgs = snow_session(name, &keypair(1), &rs, [5; 32], [6; 32]);
    let pre = Premessages {
        initiator_static: None,
        responder_static: Some(rs.public),
    };
    let mut keys = Keyring::new();
    keys.add_private(*rs.private);
    assert!(keys.has_private(&rs.public) && !keys.has_private(&public([5; 32])));
    let mut e = Engine::new(name, b"", &pre, None).expect("engine");
    let out = e.read(Role::Initiator, &msgs[0].1, &keys).expect("read");
    assert_eq!(out.payload.as_deref(), Some(&b"secret"[..]));
    assert!(e.handshake_finished() && e.is_one_way());
    // Without it: blocked at es, with a sentence naming both keys.
    let mut e = Engine::new(name, b"", &pre, None).expect("engine");
    let out = e
        .read(Role::Initiator, &msgs[0].1, &Keyring::new())
        .expect("read");
    assert_eq!(out.payload, None);
    let b = out.blocked.expect("blocked");
    assert_eq!(
        b,
        Blocked::MissingDh {
            message: 1,
            token: "es",
            publics: (public([5; 32]), rs.public)
        }
    );
    let text = b.to_string();
    assert!(
        text.starts_with("message 1: no private key for either side of es (initiator ephemeral "),
        "{text}"
    );
    assert!(text.contains(", responder static "), "{text}");
    // A missing pre-message is the caller's error.
    assert_eq!(
        Engine::new(name, b"", &Premessages::default(), None).err(),
        Some(EngineError::MissingPremessage(Role::Responder))
    );
}

#[test]
fn a_low_order_ephemeral_is_an_error_not_a_zero_key() {
    let name = "Noise_NN_25519_ChaChaPoly_SHA256";
    let mut keys = Keyring::new();
    let r_e = [7u8; 32];
    keys.add_private(r_e);
    let mut e = Engine::new(name, b"", &Premessages::default(), None).expect("engine");
    // Message 1: the all-zero point (order 1) as the initiator's ephemeral.
    let out = e
        .read(Role::Initiator, &[0u8; 32], &keys)
        .expect("message 1 is clear");
    assert_eq!(out.payload.as_deref(), Some(&[][..]));
    let mut m2 = public(r_e).to_vec();
    m2.extend_from_slice(&[0u8; 16]);
    assert_eq!(
        e.read(Role::Responder, &m2, &keys),
        Err(EngineError::LowOrderPoint { message: 2 })
    );
}

/// A "quantum" oracle: here it simply knows one private key the keyring does not hold.
struct Oracle(x25519_dalek::StaticSecret);

impl DhOracle for Oracle {
    fn dh(&self, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
        let mine = x25519_dalek::PublicKey::from(&self.0).to_bytes();
        let other = if *a == mine {
            b
        } else if *b == mine {
            a
        } else {
            return None;
        };
        Some(
            self.0
                .diffie_hellman(&x25519_dalek::PublicKey::from(*other))
                .to_bytes(),
        )
    }
}

#[test]
fn an_oracle_breaks_nn_but_a_keyring_debug_prints_no_secret() {
    let name = "Noise_NN_25519_ChaChaPoly_SHA256";
    let msgs = snow_session(name, &keypair(1), &keypair(2), [3; 32], [4; 32]);
    let mut e = Engine::new(name, b"", &Premessages::default(), None).expect("engine");
    e.read(msgs[0].0, &msgs[0].1, &Keyring::new())
        .expect("message 1");
    let out = e
        .read(msgs[1].0, &msgs[1].1, &Keyring::new())
        .expect("message 2");
    assert!(matches!(
        out.blocked,
        Some(Blocked::MissingDh { token: "ee", .. })
    ));
    let mut keys = Keyring::new();
    keys.set_oracle(Arc::new(Oracle(x25519_dalek::StaticSecret::from(
        [3u8; 32],
    ))));
    let mut e = Engine::new(name, b"", &Premessages::default(), None).expect("engine");
    for (from, m) in &msgs {
        let out = e.read(*from, m, &keys).expect("read");
        assert_eq!(out.payload.as_deref(), Some(&b"secret"[..]));
    }
    let mut ring = Keyring::new();
    ring.add_private([0xab; 32]);
    let debug = format!("{ring:?}");
    assert!(
        !debug.contains("abab") && !debug.contains("171, 171"),
        "{debug}"
    );
}

#[test]
fn the_engine_impersonates_an_nn_initiator_to_honest_snow() {
    let name = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
    let mut keys = Keyring::new();
    let mut rng = FixedRng::new(&[0x5a; 32]);
    let mut e = Engine::new(name, b"p", &Premessages::default(), None).expect("engine");
    let m1 = e
        .write(Role::Initiator, b"hello", None, &mut keys, &mut rng)
        .expect("write");
    assert!(keys.has_private(&public([0x5a; 32])));
    let mut r = snow::Builder::new(name.parse().expect("name"))
        .prologue(b"p")
        .expect("prologue")
        .build_responder()
        .expect("responder");
    let mut buf = vec![0u8; 1024];
    let n = r
        .read_message(&m1, &mut buf)
        .expect("snow reads the engine");
    assert_eq!(&buf[..n], b"hello");
    let mut out = vec![0u8; 1024];
    let n = r.write_message(b"welcome", &mut out).expect("snow answers");
    let got = e
        .read(Role::Responder, &out[..n], &keys)
        .expect("engine reads");
    assert_eq!(got.payload.as_deref(), Some(&b"welcome"[..]));
    let mut r = r.into_transport_mode().expect("transport");
    let t = e
        .write(Role::Initiator, b"transport", None, &mut keys, &mut rng)
        .expect("write transport");
    let n = r.read_message(&t, &mut buf).expect("snow reads transport");
    assert_eq!(&buf[..n], b"transport");
    // transport_decrypt with the stolen c1 key reads the same message.
    let [c1, _] = e.transport_keys().expect("keys");
    assert_eq!(
        transport_decrypt("ChaChaPoly", &c1, 0, &t).expect("decrypt"),
        b"transport"
    );
    assert!(matches!(
        transport_decrypt("ChaChaPoly", &c1, 1, &t),
        Err(EngineError::BadTag { .. })
    ));
    assert!(matches!(
        transport_decrypt("Rot13", &c1, 0, &t),
        Err(EngineError::Protocol(_))
    ));
    // Writing out of turn is refused without harm.
    let mut f = Engine::new(name, b"", &Premessages::default(), None).expect("engine");
    assert!(matches!(
        f.write(Role::Responder, b"", None, &mut keys, &mut rng),
        Err(EngineError::WrongTurn { .. })
    ));
    assert!(f
        .write(Role::Initiator, b"", None, &mut keys, &mut rng)
        .is_ok());
}

#[test]
fn bad_names_and_psk_counts_are_errors() {
    let pre = Premessages::default();
    for bad in [
        "Noise_XX_448_ChaChaPoly_BLAKE2s",
        "Noise_XXfallback_25519_ChaChaPoly_BLAKE2s",
        "Noise_XXhfs_25519_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519+Kyber1024_ChaChaPoly_BLAKE2s",
        "Noise_Nhfs_25519+Kyber1024_ChaChaPoly_BLAKE2s",
        "Noise_XXhfs+hfs_25519+Kyber1024_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519_ChaChaPoly",
        "",
    ] {
        assert!(
            matches!(
                Engine::new(bad, b"", &pre, None),
                Err(EngineError::Protocol(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(
        Engine::with_psks(
            "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256",
            b"",
            &pre,
            &[None]
        )
        .err(),
        Some(EngineError::PskCount {
            expected: 2,
            got: 1
        })
    );
    let e = Engine::new(
        "Noise_XXhfs+psk3_25519+Kyber1024_AESGCM_SHA512",
        b"",
        &pre,
        None,
    )
    .expect("hfs with psk");
    assert_eq!(e.next_handshake_sender(), Some(Role::Initiator));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn read_never_panics_on_arbitrary_bytes(
        pattern in prop::sample::select(vec!["NN", "XX", "IK", "Npsk0", "XXpsk3", "NNhfs", "KK1"]),
        messages in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..2000)), 1..6),
        with_keys in any::<bool>(),
    ) {
        let dh = if pattern.contains("hfs") { "25519+Kyber1024" } else { "25519" };
        let name = format!("Noise_{pattern}_{dh}_ChaChaPoly_SHA256");
        let pre = Premessages { initiator_static: Some([9; 32]), responder_static: Some([9; 32]) };
        let mut keys = Keyring::new();
        if with_keys {
            keys.add_private([1; 32]);
        }
        let mut e = Engine::new(&name, b"", &pre, Some([2; 32])).expect("engine");
        for (responder, bytes) in messages {
            let from = if responder { Role::Responder } else { Role::Initiator };
            let _ = e.read(from, &bytes, &keys);
        }
    }
}
