//! Noise sessions and tunnels, driven in memory through the public API.
//!
//! Contents:
//! * `support`: key material per pattern, a two-party driver that records the transcript.
//! * `suite!`: the per-protocol suite (handshake + ordered delivery, early data, determinism,
//!   tampering, replay, pinning), instantiated once per protocol name in `protocols`.
//! * `every_snow_pattern_is_in_the_suite`: fails when snow gains a pattern the table lacks.
//! * `misuse`: configuration and API errors that blame the caller.
//! * `tunnel`: the NK tunnel carries PDUs and never shows them on the wire.

use proto::keys::{Psk, StaticKeypair};
use proto::noise::{NoiseConfig, NoiseKind, NoiseMessage, NoiseSession, SessionEvent};
use proto::ProtoError;
use simcore::Timestamp;
use snow::params::NoiseParams;

mod support {
    use super::*;

    pub const NOW: Timestamp = Timestamp::ZERO;

    /// Long-term keys of both parties.
    pub struct Keys {
        pub initiator: StaticKeypair,
        pub responder: StaticKeypair,
        pub psk: [u8; 32],
    }

    impl Keys {
        pub fn new() -> Self {
            Keys {
                initiator: StaticKeypair::generate([0x11; 32]),
                responder: StaticKeypair::generate([0x22; 32]),
                psk: [0x33; 32],
            }
        }
    }

    /// Options of one test run.
    #[derive(Clone, Copy, Default)]
    pub struct Opts {
        pub early_data: proto::noise::EarlyData,
        /// Seeds of (initiator, responder).
        pub seeds: ([u8; 32], [u8; 32]),
        /// Pin this key on the initiator (checked against the responder's transmitted static).
        pub initiator_pin: Option<[u8; 32]>,
        /// Pin this key on the responder.
        pub responder_pin: Option<[u8; 32]>,
    }

    pub fn opts() -> Opts {
        Opts {
            seeds: ([1; 32], [2; 32]),
            ..Opts::default()
        }
    }

    pub fn params(protocol: &str) -> NoiseParams {
        protocol.parse().expect("test protocol names parse")
    }

    /// A config for one party with exactly the keys the pattern needs.
    pub fn config(protocol: &str, initiator: bool, keys: &Keys, o: &Opts) -> NoiseConfig {
        let p = params(protocol);
        let (me, peer) = if initiator {
            (&keys.initiator, &keys.responder)
        } else {
            (&keys.responder, &keys.initiator)
        };
        NoiseConfig {
            protocol: protocol.to_owned(),
            initiator,
            local_static: Some(me.clone()),
            remote_static: p
                .handshake
                .pattern
                .need_known_remote_pubkey(initiator)
                .then_some(peer.public),
            expected_remote_static: if initiator {
                o.initiator_pin
            } else {
                o.responder_pin
            },
            psk: p.handshake.is_psk().then(|| Psk::new(keys.psk)),
            prologue: b"wiretap test".to_vec(),
            early_data: o.early_data,
            rng_seed: if initiator { o.seeds.0 } else { o.seeds.1 },
        }
    }

    /// Two parties and everything that passed between them.
    pub struct Pair {
        pub a: NoiseSession,
        pub b: NoiseSession,
        /// Every message, in the order sent: (from the initiator?, message).
        pub transcript: Vec<(bool, NoiseMessage)>,
        /// Events of the initiator and the responder.
        pub a_events: Vec<SessionEvent>,
        pub b_events: Vec<SessionEvent>,
        /// Errors returned by `handle_message`: (at the initiator?, error).
        pub errors: Vec<(bool, ProtoError)>,
    }

    impl Pair {
        pub fn new(protocol: &str, o: &Opts) -> Pair {
            let keys = Keys::new();
            Pair {
                a: NoiseSession::new(config(protocol, true, &keys, o)).expect("initiator builds"),
                b: NoiseSession::new(config(protocol, false, &keys, o)).expect("responder builds"),
                transcript: Vec::new(),
                a_events: Vec::new(),
                b_events: Vec::new(),
                errors: Vec::new(),
            }
        }

        /// Moves messages both ways until neither side has anything to send.
        pub fn run(&mut self) {
            self.run_with(|_, _| {});
        }

        /// As `run`, letting `tamper` edit each message in flight.
        pub fn run_with(&mut self, mut tamper: impl FnMut(bool, &mut NoiseMessage)) {
            loop {
                let mut moved = false;
                while let Some(mut m) = self.a.poll_transmit() {
                    moved = true;
                    self.transcript.push((true, m.clone()));
                    tamper(true, &mut m);
                    if let Err(e) = self.b.handle_message(NOW, &m) {
                        self.errors.push((false, e));
                    }
                }
                while let Some(mut m) = self.b.poll_transmit() {
                    moved = true;
                    self.transcript.push((false, m.clone()));
                    tamper(false, &mut m);
                    if let Err(e) = self.a.handle_message(NOW, &m) {
                        self.errors.push((true, e));
                    }
                }
                self.a_events
                    .extend(std::iter::from_fn(|| self.a.poll_event()));
                self.b_events
                    .extend(std::iter::from_fn(|| self.b.poll_event()));
                if !moved {
                    return;
                }
            }
        }
    }

    pub fn received(events: &[SessionEvent]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Received(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn completed(events: &[SessionEvent]) -> Option<Option<[u8; 32]>> {
        events.iter().find_map(|e| match e {
            SessionEvent::HandshakeComplete { remote_static } => Some(*remote_static),
            _ => None,
        })
    }

    pub fn failures(events: &[SessionEvent]) -> Vec<ProtoError> {
        events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Failed(err) => Some(err.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn msgs(tag: &str) -> Vec<Vec<u8>> {
        (1..=3)
            .map(|i| format!("{tag} message {i}").into_bytes())
            .collect()
    }

    /// The static-key letters (initiator, responder) of the pattern, ignoring `1` deferrals.
    pub fn letters(protocol: &str) -> (char, char) {
        let p = params(protocol).handshake.pattern;
        let mut c = p.as_str().chars().filter(|c| *c != '1');
        let i = c.next().unwrap();
        (
            i,
            if p.is_oneway() {
                'K'
            } else {
                c.next().unwrap()
            },
        )
    }

    pub fn reveals(letter: char) -> bool {
        matches!(letter, 'X' | 'I')
    }
}

use support::*;

/// Handshake, then three messages each way (one-way: initiator only), all received in order.
fn handshake_and_ordered_delivery(protocol: &str) {
    let mut p = Pair::new(protocol, &opts());
    let one_way = p.a.is_one_way();
    assert_eq!(one_way, params(protocol).handshake.pattern.is_oneway());
    for m in msgs("alice") {
        p.a.send(NOW, m).unwrap();
    }
    if !one_way {
        for m in msgs("bob") {
            p.b.send(NOW, m).unwrap();
        }
    }
    p.run();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(p.a.is_established() && p.b.is_established());
    let keys = Keys::new();
    let (il, rl) = letters(protocol);
    // What each side learned of the other's static key.
    let a_rs = completed(&p.a_events).expect("initiator completed");
    let b_rs = completed(&p.b_events).expect("responder completed");
    assert_eq!(
        a_rs,
        (rl != 'N').then_some(keys.responder.public),
        "initiator's view"
    );
    assert_eq!(
        b_rs,
        (il != 'N').then_some(keys.initiator.public),
        "responder's view"
    );
    assert_eq!(received(&p.b_events), msgs("alice"));
    if one_way {
        assert!(matches!(
            p.b.send(NOW, b"reply".to_vec()),
            Err(ProtoError::ApiMisuse(_))
        ));
        assert!(received(&p.a_events).is_empty());
    } else {
        assert_eq!(received(&p.a_events), msgs("bob"));
    }
    // Handshake messages are numbered 1.. and alternate, starting with the initiator.
    let hs: Vec<_> = p
        .transcript
        .iter()
        .filter(|(_, m)| m.kind == NoiseKind::Handshake)
        .collect();
    for (i, (from_a, m)) in hs.iter().enumerate() {
        assert_eq!(usize::from(m.index), i + 1);
        assert_eq!(*from_a, i % 2 == 0);
    }
    assert!(p
        .transcript
        .iter()
        .filter(|(_, m)| m.kind == NoiseKind::Transport)
        .all(|(_, m)| m.index == 0));
    // Nothing plaintext leaks into transport messages.
    for (_, m) in &p.transcript {
        assert!(!m.bytes.windows(7).any(|w| w == b"message"));
    }
}

/// With early data the first plaintext rides in handshake message 1 and is delivered on it.
fn early_data_rides_in_message_1(protocol: &str) {
    let mut p = Pair::new(
        protocol,
        &Opts {
            early_data: proto::noise::EarlyData::First,
            ..opts()
        },
    );
    for m in msgs("alice") {
        p.a.send(NOW, m).unwrap();
    }
    let first =
        p.a.poll_transmit()
            .expect("message 1 written on first send");
    assert_eq!((first.kind, first.index), (NoiseKind::Handshake, 1));
    p.b.handle_message(NOW, &first).unwrap();
    let on_first: Vec<_> = std::iter::from_fn(|| p.b.poll_event()).collect();
    assert_eq!(received(&on_first), [msgs("alice")[0].clone()]);
    p.transcript.push((true, first));
    p.b_events.extend(on_first);
    p.run();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(received(&p.b_events), msgs("alice"));
    assert!(p.a.is_established() && p.b.is_established());
}

/// Same seeds give byte-identical transcripts; another initiator seed changes the ephemeral.
fn transcripts_are_deterministic(protocol: &str) {
    let run = |o: &Opts| {
        let mut p = Pair::new(protocol, o);
        for m in msgs("alice") {
            p.a.send(NOW, m).unwrap();
        }
        p.run();
        p.transcript
    };
    let t1 = run(&opts());
    assert_eq!(t1, run(&opts()));
    let t2 = run(&Opts {
        seeds: ([9; 32], [2; 32]),
        ..opts()
    });
    // Message 1 of every pattern starts with the initiator's ephemeral public key.
    assert_ne!(t1[0].1.bytes[..32], t2[0].1.bytes[..32]);
}

/// Establishes a pair (initiator → responder direction only) and returns it with one transport
/// message from the initiator held back, undelivered.
fn established_with_held_message(protocol: &str) -> (Pair, NoiseMessage) {
    let mut p = Pair::new(protocol, &opts());
    p.a.send(NOW, b"first".to_vec()).unwrap();
    p.run();
    assert_eq!(received(&p.b_events), [b"first".to_vec()]);
    p.a.send(NOW, b"second".to_vec()).unwrap();
    let m = p.a.poll_transmit().unwrap();
    assert_eq!(m.kind, NoiseKind::Transport);
    (p, m)
}

/// A flipped byte in a transport message fails the tag and kills the session.
fn flipped_byte_is_bad_tag(protocol: &str) {
    let (mut p, mut m) = established_with_held_message(protocol);
    let mid = m.bytes.len() / 2;
    m.bytes[mid] ^= 0x01;
    assert_eq!(p.b.handle_message(NOW, &m), Err(ProtoError::BadTag));
    assert!(p.b.is_dead() && !p.b.is_established());
    assert_eq!(
        failures(&std::iter::from_fn(|| p.b.poll_event()).collect::<Vec<_>>()),
        [ProtoError::BadTag]
    );
    m.bytes[mid] ^= 0x01;
    assert_eq!(p.b.handle_message(NOW, &m), Err(ProtoError::SessionDead));
    assert_eq!(p.b.poll_event(), None, "nothing delivered after death");
}

/// A replayed transport message is rejected (its implicit nonce has passed), and reported as a
/// replay: the session recognises bytes it already accepted.
fn replay_is_rejected(protocol: &str) {
    let (mut p, m) = established_with_held_message(protocol);
    p.b.handle_message(NOW, &m).unwrap();
    assert_eq!(
        p.b.poll_event(),
        Some(SessionEvent::Received(b"second".to_vec()))
    );
    assert_eq!(p.b.handle_message(NOW, &m), Err(ProtoError::Replayed));
    assert!(p.b.is_dead());
}

/// A transmitted static that differs from the pinned one kills the pinning side before it
/// delivers or writes anything more; patterns that never reveal a static refuse the pin.
fn pinning(protocol: &str) {
    let wrong = StaticKeypair::generate([0x99; 32]).public;
    let (il, rl) = letters(protocol);
    let one_way = params(protocol).handshake.pattern.is_oneway();
    let pin_initiator = reveals(rl);
    let pin_responder = reveals(il);
    if !pin_initiator && !pin_responder {
        let keys = Keys::new();
        let o = Opts {
            initiator_pin: Some(wrong),
            responder_pin: Some(wrong),
            ..opts()
        };
        assert!(matches!(
            NoiseSession::new(config(protocol, true, &keys, &o)),
            Err(ProtoError::ApiMisuse(_))
        ));
        assert!(matches!(
            NoiseSession::new(config(protocol, false, &keys, &o)),
            Err(ProtoError::ApiMisuse(_))
        ));
        return;
    }
    // The right pin passes.
    let keys = Keys::new();
    let right = Opts {
        initiator_pin: pin_initiator.then_some(keys.responder.public),
        responder_pin: pin_responder.then_some(keys.initiator.public),
        ..opts()
    };
    let mut p = Pair::new(protocol, &right);
    p.a.send(NOW, b"hello".to_vec()).unwrap();
    p.run();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(received(&p.b_events), [b"hello".to_vec()]);

    // The wrong pin kills the pinning side.
    let o = Opts {
        initiator_pin: pin_initiator.then_some(wrong),
        responder_pin: (!pin_initiator).then_some(wrong),
        ..opts()
    };
    let mut p = Pair::new(protocol, &o);
    for m in msgs("alice") {
        p.a.send(NOW, m).unwrap();
    }
    if !one_way {
        for m in msgs("bob") {
            p.b.send(NOW, m).unwrap();
        }
    }
    p.run();
    let (victim_events, victim, at_initiator, got) = if pin_initiator {
        (&p.a_events, &p.a, true, keys.responder.public)
    } else {
        (&p.b_events, &p.b, false, keys.initiator.public)
    };
    let err = ProtoError::UnexpectedRemoteStatic {
        expected: wrong,
        got,
    };
    assert!(victim.is_dead());
    assert!(
        p.errors.contains(&(at_initiator, err.clone())),
        "{:?}",
        p.errors
    );
    assert_eq!(failures(victim_events), [err]);
    assert!(received(victim_events).is_empty(), "nothing delivered");
    assert_eq!(completed(victim_events), None);
    if pin_initiator {
        // The initiator revealed nothing more: the responder never completed or received.
        assert!(received(&p.b_events).is_empty());
    }
}

macro_rules! suite {
    ($($name:ident => $protocol:expr,)*) => {
        /// The protocol names the suite runs over.
        const PROTOCOLS: &[&str] = &[$($protocol),*];
        $(
            mod $name {
                const P: &str = $protocol;
                #[test] fn handshake_and_ordered_delivery() { super::handshake_and_ordered_delivery(P) }
                #[test] fn early_data_rides_in_message_1() { super::early_data_rides_in_message_1(P) }
                #[test] fn transcripts_are_deterministic() { super::transcripts_are_deterministic(P) }
                #[test] fn flipped_byte_is_bad_tag() { super::flipped_byte_is_bad_tag(P) }
                #[test] fn replay_is_rejected() { super::replay_is_rejected(P) }
                #[test] fn pinning() { super::pinning(P) }
            }
        )*
    };
}

suite! {
    // One-way.
    n => "Noise_N_25519_ChaChaPoly_BLAKE2s",
    k => "Noise_K_25519_ChaChaPoly_BLAKE2s",
    x => "Noise_X_25519_ChaChaPoly_BLAKE2s",
    // Fundamental.
    nn => "Noise_NN_25519_ChaChaPoly_BLAKE2s",
    nk => "Noise_NK_25519_ChaChaPoly_BLAKE2s",
    nx => "Noise_NX_25519_ChaChaPoly_BLAKE2s",
    xn => "Noise_XN_25519_ChaChaPoly_BLAKE2s",
    xk => "Noise_XK_25519_ChaChaPoly_BLAKE2s",
    xx => "Noise_XX_25519_ChaChaPoly_BLAKE2s",
    kn => "Noise_KN_25519_ChaChaPoly_BLAKE2s",
    kk => "Noise_KK_25519_ChaChaPoly_BLAKE2s",
    kx => "Noise_KX_25519_ChaChaPoly_BLAKE2s",
    in_ => "Noise_IN_25519_ChaChaPoly_BLAKE2s",
    ik => "Noise_IK_25519_ChaChaPoly_BLAKE2s",
    ix => "Noise_IX_25519_ChaChaPoly_BLAKE2s",
    // Deferred.
    nk1 => "Noise_NK1_25519_ChaChaPoly_BLAKE2s",
    nx1 => "Noise_NX1_25519_ChaChaPoly_BLAKE2s",
    x1n => "Noise_X1N_25519_ChaChaPoly_BLAKE2s",
    x1k => "Noise_X1K_25519_ChaChaPoly_BLAKE2s",
    xk1 => "Noise_XK1_25519_ChaChaPoly_BLAKE2s",
    x1k1 => "Noise_X1K1_25519_ChaChaPoly_BLAKE2s",
    x1x => "Noise_X1X_25519_ChaChaPoly_BLAKE2s",
    xx1 => "Noise_XX1_25519_ChaChaPoly_BLAKE2s",
    x1x1 => "Noise_X1X1_25519_ChaChaPoly_BLAKE2s",
    k1n => "Noise_K1N_25519_ChaChaPoly_BLAKE2s",
    k1k => "Noise_K1K_25519_ChaChaPoly_BLAKE2s",
    kk1 => "Noise_KK1_25519_ChaChaPoly_BLAKE2s",
    k1k1 => "Noise_K1K1_25519_ChaChaPoly_BLAKE2s",
    k1x => "Noise_K1X_25519_ChaChaPoly_BLAKE2s",
    kx1 => "Noise_KX1_25519_ChaChaPoly_BLAKE2s",
    k1x1 => "Noise_K1X1_25519_ChaChaPoly_BLAKE2s",
    i1n => "Noise_I1N_25519_ChaChaPoly_BLAKE2s",
    i1k => "Noise_I1K_25519_ChaChaPoly_BLAKE2s",
    ik1 => "Noise_IK1_25519_ChaChaPoly_BLAKE2s",
    i1k1 => "Noise_I1K1_25519_ChaChaPoly_BLAKE2s",
    i1x => "Noise_I1X_25519_ChaChaPoly_BLAKE2s",
    ix1 => "Noise_IX1_25519_ChaChaPoly_BLAKE2s",
    i1x1 => "Noise_I1X1_25519_ChaChaPoly_BLAKE2s",
    // PSK modifiers.
    nnpsk0 => "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s",
    xxpsk3 => "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s",
    ikpsk2 => "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s",
    nnpsk0_psk2 => "Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2s",
    kpsk0 => "Noise_Kpsk0_25519_ChaChaPoly_SHA256",
    // Other primitives.
    xx_aesgcm_sha256 => "Noise_XX_25519_AESGCM_SHA256",
    xx_chachapoly_blake2b => "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    ik_aesgcm_sha512 => "Noise_IK_25519_AESGCM_SHA512",
    nk_chachapoly_sha512 => "Noise_NK_25519_ChaChaPoly_SHA512",
}

/// `EarlyData::Last` puts the first plaintext into the last handshake message the initiator
/// writes, for every pattern snow supports: this checks `initiator_last_message` against snow's
/// own pattern table, and that the responder delivers the text on that message and only once.
#[test]
fn early_data_last_rides_in_the_initiators_last_handshake_message() {
    use proto::noise::{initiator_last_message, EarlyData};
    for pat in snow::params::SUPPORTED_HANDSHAKE_PATTERNS {
        let protocol = format!("Noise_{}_25519_ChaChaPoly_BLAKE2s", pat.as_str());
        let mut p = Pair::new(
            &protocol,
            &Opts {
                early_data: EarlyData::Last,
                ..opts()
            },
        );
        p.a.send(NOW, b"EARLY-LAST".to_vec()).unwrap();
        p.run();
        assert!(p.errors.is_empty(), "{protocol}: {:?}", p.errors);
        let last = p
            .transcript
            .iter()
            .filter(|(from_a, m)| *from_a && m.kind == NoiseKind::Handshake)
            .map(|(_, m)| m.index)
            .max()
            .unwrap();
        assert_eq!(initiator_last_message(*pat), last, "{protocol}");
        assert_eq!(
            received(&p.b_events),
            [b"EARLY-LAST".to_vec()],
            "{protocol}"
        );
        // The text rode in the handshake: no transport message from the initiator.
        assert!(
            !p.transcript
                .iter()
                .any(|(from_a, m)| *from_a && m.kind == NoiseKind::Transport),
            "{protocol}"
        );
        // In XX it is encrypted (message 3 follows ee, es, se).
        if pat.as_str() == "XX" {
            assert_eq!(last, 3);
            let carrier = &p
                .transcript
                .iter()
                .find(|(a, m)| *a && m.index == 3)
                .unwrap()
                .1;
            assert!(!carrier.bytes.windows(10).any(|w| w == b"EARLY-LAST"));
        }
    }
}

#[test]
fn every_snow_pattern_is_in_the_suite() {
    for p in snow::params::SUPPORTED_HANDSHAKE_PATTERNS {
        let name = format!("Noise_{}_25519_ChaChaPoly_BLAKE2s", p.as_str());
        assert!(
            PROTOCOLS.contains(&name.as_str()),
            "{name} is missing from suite!"
        );
    }
}

mod misuse {
    use super::*;

    fn base(protocol: &str, initiator: bool) -> NoiseConfig {
        config(protocol, initiator, &Keys::new(), &opts())
    }

    #[test]
    fn unknown_protocols_say_what() {
        for name in [
            "Noise_QQ_25519_ChaChaPoly_BLAKE2s",
            "Noise_XX_448_ChaChaPoly_BLAKE2s",
            "Noise_XX_25519_ChaChaPoly",
            "Noise_XXfallback_25519_ChaChaPoly_BLAKE2s",
            "Noise_NNpsk9_25519_ChaChaPoly_BLAKE2s",
        ] {
            let mut cfg = base("Noise_NN_25519_ChaChaPoly_BLAKE2s", true);
            cfg.protocol = name.to_owned();
            if name.contains("psk") {
                cfg.psk = Some(Psk::new([0; 32]));
            }
            match NoiseSession::new(cfg) {
                Err(ProtoError::UnknownProtocol(why)) => assert!(why.contains(name), "{why}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn keys_must_fit_the_pattern() {
        let mut cfg = base("Noise_XX_25519_ChaChaPoly_BLAKE2s", true);
        cfg.local_static = None;
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
        let mut cfg = base("Noise_NK_25519_ChaChaPoly_BLAKE2s", true);
        cfg.remote_static = None;
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
        let mut cfg = base("Noise_XX_25519_ChaChaPoly_BLAKE2s", true);
        cfg.remote_static = Some([7; 32]);
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
        let mut cfg = base("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s", true);
        cfg.psk = None;
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
        let mut cfg = base("Noise_XX_25519_ChaChaPoly_BLAKE2s", true);
        cfg.psk = Some(Psk::new([1; 32]));
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
        let mut cfg = base("Noise_IK_25519_ChaChaPoly_BLAKE2s", true);
        cfg.expected_remote_static = Some([7; 32]);
        assert!(matches!(
            NoiseSession::new(cfg),
            Err(ProtoError::ApiMisuse(_))
        ));
    }

    #[test]
    fn wrong_psk_fails_authentication() {
        let keys = Keys::new();
        let protocol = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s";
        let a = NoiseSession::new(config(protocol, true, &keys, &opts())).unwrap();
        let mut cfg = config(protocol, false, &keys, &opts());
        cfg.psk = Some(Psk::new([0x44; 32]));
        let b = NoiseSession::new(cfg).unwrap();
        let mut p = Pair {
            a,
            b,
            transcript: vec![],
            a_events: vec![],
            b_events: vec![],
            errors: vec![],
        };
        p.a.send(NOW, b"x".to_vec()).unwrap();
        p.run();
        // psk3 is mixed in message 3: the responder detects it, and is dead for what follows.
        assert_eq!(p.errors[0], (false, ProtoError::BadTag));
        assert!(p.b.is_dead());
        assert!(received(&p.b_events).is_empty());
    }

    #[test]
    fn out_of_order_handshake_and_early_transport_are_fatal() {
        let protocol = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
        let mut p = Pair::new(protocol, &opts());
        p.a.send(NOW, b"x".to_vec()).unwrap();
        let mut m1 = p.a.poll_transmit().unwrap();
        m1.index = 2;
        assert_eq!(
            p.b.handle_message(NOW, &m1),
            Err(ProtoError::HandshakeOutOfOrder {
                expected: 1,
                got: 2
            })
        );
        assert!(p.b.is_dead());

        let mut p = Pair::new(protocol, &opts());
        let early = NoiseMessage {
            kind: NoiseKind::Transport,
            index: 0,
            bytes: vec![0; 32],
        };
        assert_eq!(
            p.b.handle_message(NOW, &early),
            Err(ProtoError::TransportBeforeHandshake)
        );
        assert_eq!(p.b.send(NOW, vec![1]), Err(ProtoError::SessionDead));

        // A handshake message once established: message 1 again is a replay.
        let mut p = Pair::new(protocol, &opts());
        p.a.send(NOW, b"x".to_vec()).unwrap();
        p.run();
        let first = p.transcript[0].1.clone();
        assert_eq!(p.b.handle_message(NOW, &first), Err(ProtoError::Replayed));
        // A handshake message never seen, once established.
        let mut p = Pair::new(protocol, &opts());
        p.a.send(NOW, b"x".to_vec()).unwrap();
        p.run();
        let mut fresh = p.transcript[0].1.clone();
        fresh.bytes[0] ^= 1;
        assert_eq!(
            p.b.handle_message(NOW, &fresh),
            Err(ProtoError::HandshakeOutOfOrder {
                expected: 0,
                got: 1
            })
        );
    }

    #[test]
    fn unexpected_handshake_payload_is_fatal() {
        // The initiator uses early data, the responder does not expect it.
        let keys = Keys::new();
        let protocol = "Noise_NK_25519_ChaChaPoly_BLAKE2s";
        let early = Opts {
            early_data: proto::noise::EarlyData::First,
            ..opts()
        };
        let mut a = NoiseSession::new(config(protocol, true, &keys, &early)).unwrap();
        let mut b = NoiseSession::new(config(protocol, false, &keys, &opts())).unwrap();
        a.send(NOW, b"secret".to_vec()).unwrap();
        let m = a.poll_transmit().unwrap();
        assert!(matches!(
            b.handle_message(NOW, &m),
            Err(ProtoError::MalformedNoise(_))
        ));
        assert!(b.is_dead());
    }

    #[test]
    fn early_data_is_in_clear_exactly_when_message_1_has_no_key() {
        let first_message = |protocol: &str| {
            let mut p = Pair::new(
                protocol,
                &Opts {
                    early_data: proto::noise::EarlyData::First,
                    ..opts()
                },
            );
            p.a.send(NOW, b"EARLY-PLAINTEXT".to_vec()).unwrap();
            p.a.poll_transmit().unwrap().bytes
        };
        let shows = |b: Vec<u8>| b.windows(15).any(|w| w == b"EARLY-PLAINTEXT");
        assert!(shows(first_message("Noise_XX_25519_ChaChaPoly_BLAKE2s")));
        assert!(shows(first_message("Noise_NN_25519_ChaChaPoly_BLAKE2s")));
        assert!(!shows(first_message("Noise_NK_25519_ChaChaPoly_BLAKE2s")));
        assert!(!shows(first_message("Noise_IK_25519_ChaChaPoly_BLAKE2s")));
        assert!(!shows(first_message(
            "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s"
        )));
    }

    #[test]
    fn truncated_message_is_blamed_on_the_peer() {
        let mut p = Pair::new("Noise_NN_25519_ChaChaPoly_BLAKE2s", &opts());
        p.a.send(NOW, b"x".to_vec()).unwrap();
        let mut m = p.a.poll_transmit().unwrap();
        m.bytes.truncate(10);
        assert!(matches!(
            p.b.handle_message(NOW, &m),
            Err(ProtoError::MalformedNoise(_))
        ));
    }
}

mod tunnel {
    use super::*;
    use proto::tunnel::NkTunnel;
    use proto::wire::{AppPdu, SmsKind, SmsPdu, TunnelPdu};

    fn sms(i: u32) -> Vec<u8> {
        AppPdu::Sms(SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: i,
            from: "+15550001".into(),
            to: "+15550002".into(),
            sent_at: Timestamp::from_secs(u64::from(i)),
            text: format!("TOP-SECRET-{i}"),
        })
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn carries_pdus_both_ways_and_never_shows_them_on_the_wire() {
        let gw = StaticKeypair::generate([5; 32]);
        let mut ue = NkTunnel::initiator(gw.public, [6; 32]).unwrap();
        let mut core = NkTunnel::responder(&gw, [7; 32]).unwrap();
        // Message 1 is ready before any data.
        let m1 = ue.poll_transmit().expect("handshake message 1 on creation");
        assert_eq!(m1.kind, NoiseKind::Handshake);
        for i in 0..3 {
            ue.send(NOW, sms(i)).unwrap();
        }
        let mut wire: Vec<TunnelPdu> = vec![m1.clone()];
        core.handle_pdu(NOW, &m1).unwrap();
        assert!(core.is_established());
        for i in 10..12 {
            core.send(NOW, sms(i)).unwrap();
        }
        let mut up = Vec::new();
        let mut down = Vec::new();
        loop {
            let mut moved = false;
            while let Some(pdu) = core.poll_transmit() {
                moved = true;
                wire.push(pdu.clone());
                ue.handle_pdu(NOW, &pdu).unwrap();
            }
            while let Some(pdu) = ue.poll_transmit() {
                moved = true;
                wire.push(pdu.clone());
                core.handle_pdu(NOW, &pdu).unwrap();
            }
            up.extend(std::iter::from_fn(|| core.poll_received()));
            down.extend(std::iter::from_fn(|| ue.poll_received()));
            if !moved {
                break;
            }
        }
        assert!(ue.is_established());
        assert_eq!(up, (0..3).map(sms).collect::<Vec<_>>());
        assert_eq!(down, (10..12).map(sms).collect::<Vec<_>>());
        for pdu in &wire {
            let bytes = AppPdu::Tunnel(pdu.clone()).to_bytes().unwrap();
            assert!(!bytes.windows(10).any(|w| w == b"TOP-SECRET"));
            assert!(!bytes.windows(9).any(|w| w == b"+15550002"));
        }
        assert_eq!(wire.len(), 2 + 3 + 2);
    }

    #[test]
    fn a_gateway_with_another_key_cannot_open_the_tunnel() {
        let gw = StaticKeypair::generate([5; 32]);
        let fake = StaticKeypair::generate([8; 32]);
        let mut ue = NkTunnel::initiator(gw.public, [6; 32]).unwrap();
        let mut mitm = NkTunnel::responder(&fake, [7; 32]).unwrap();
        let m1 = ue.poll_transmit().unwrap();
        assert_eq!(mitm.handle_pdu(NOW, &m1), Err(ProtoError::BadTag));
        assert!(mitm.is_dead() && !mitm.is_established());
    }
}
