//! The engine against real snow sessions, for every pattern snow supports (38 base patterns,
//! the 21 psk patterns of spec §9.4, hfs patterns with Kyber1024), every cipher and hash:
//! with every private key it reads 100% of the payloads; with none it reads exactly the
//! cleartext payloads and blocks at the pattern's first DH.

use adversary::engine::{Blocked, Engine, Keyring, Premessages, Role};
use adversary::noise::patterns::{self, Token};
use proto::crypto::{resolver, KemKeypair};
use proto::keys::StaticKeypair;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const PSK: [u8; 32] = [0x42; 32];

const PSK_PATTERNS: [&str; 21] = [
    "Npsk0", "Kpsk0", "Xpsk1", "NNpsk0", "NNpsk2", "NKpsk0", "NKpsk2", "NXpsk2", "XNpsk3",
    "XKpsk3", "XXpsk3", "KNpsk0", "KNpsk2", "KKpsk0", "KKpsk2", "KXpsk2", "INpsk1", "INpsk2",
    "IKpsk1", "IKpsk2", "IXpsk2",
];
const HFS_PATTERNS: [&str; 5] = ["NNhfs", "XXhfs", "IKhfs", "NKhfs", "XXhfs+psk3"];

/// Everything observed in one honest snow session.
struct Session {
    name: String,
    /// (sender, bytes, plaintext, payload encrypted per snow)
    messages: Vec<(Role, Vec<u8>, Vec<u8>, bool)>,
    i_static: StaticKeypair,
    r_static: StaticKeypair,
    i_eph: [u8; 32],
    r_eph: [u8; 32],
    kem: Option<KemKeypair>,
    handshake_hash: Vec<u8>,
    initiator_pre: bool,
    responder_pre: bool,
}

fn first_32(seed: [u8; 32]) -> (ChaCha20Rng, [u8; 32]) {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut e = [0u8; 32];
    rng.fill_bytes(&mut e);
    (rng, e)
}

fn build<'a>(
    params: &snow::params::NoiseParams,
    seed: [u8; 32],
    local: &'a StaticKeypair,
    remote: Option<&'a [u8; 32]>,
) -> snow::Builder<'a> {
    let mut b = snow::Builder::with_resolver(params.clone(), resolver(seed))
        .prologue(b"cross-check")
        .expect("prologue")
        .local_private_key(&local.private[..])
        .expect("static");
    if let Some(r) = remote {
        b = b.remote_public_key(r).expect("remote");
    }
    for m in &params.handshake.modifiers.list {
        if let snow::params::HandshakeModifier::Psk(n) = m {
            b = b.psk(*n, &PSK).expect("psk");
        }
    }
    b
}

fn run_snow(pattern: &str, cipher: &str, hash: &str, n: u8) -> Session {
    let hfs = pattern.contains("hfs");
    let dh = if hfs { "25519+Kyber1024" } else { "25519" };
    let name = format!("Noise_{pattern}_{dh}_{cipher}_{hash}");
    let params: snow::params::NoiseParams = name.parse().expect("snow parses");
    let base_name: String = pattern
        .chars()
        .take_while(|c| !c.is_ascii_lowercase())
        .collect();
    let base = patterns::base(&base_name).expect("base pattern");
    let (initiator_pre, responder_pre) = (
        !base.initiator_pre.is_empty(),
        !base.responder_pre.is_empty(),
    );
    let i_static = StaticKeypair::from_private([n; 32]);
    let r_static = StaticKeypair::from_private([n.wrapping_add(100); 32]);
    let (i_seed, r_seed) = ([n; 32], [n ^ 0xff; 32]);
    let mut ini = build(
        &params,
        i_seed,
        &i_static,
        responder_pre.then_some(&r_static.public),
    )
    .build_initiator()
    .expect("initiator");
    let mut res = build(
        &params,
        r_seed,
        &r_static,
        initiator_pre.then_some(&i_static.public),
    )
    .build_responder()
    .expect("responder");
    let mut messages = Vec::new();
    let (mut buf, mut out) = (vec![0u8; 65535], vec![0u8; 65535]);
    let mut i = 0;
    while !ini.is_handshake_finished() {
        let plaintext = format!("handshake payload {i} of {name}").into_bytes();
        let (w, r, from) = if i % 2 == 0 {
            (&mut ini, &mut res, Role::Initiator)
        } else {
            (&mut res, &mut ini, Role::Responder)
        };
        let len = w.write_message(&plaintext, &mut buf).expect("snow writes");
        let encrypted = w.was_write_payload_encrypted();
        let got = r.read_message(&buf[..len], &mut out).expect("snow reads");
        assert_eq!(&out[..got], &plaintext[..]);
        messages.push((from, buf[..len].to_vec(), plaintext, encrypted));
        i += 1;
    }
    let handshake_hash = ini.get_handshake_hash().to_vec();
    let one_way = base.messages.len() == 1;
    let mut ini = ini.into_transport_mode().expect("transport");
    let mut res = res.into_transport_mode().expect("transport");
    for t in 0..2 {
        let plaintext = format!("transport {t}").into_bytes();
        let (w, r, from) = if t == 0 || one_way {
            (&mut ini, &mut res, Role::Initiator)
        } else {
            (&mut res, &mut ini, Role::Responder)
        };
        let len = w.write_message(&plaintext, &mut buf).expect("write");
        let got = r.read_message(&buf[..len], &mut out).expect("read");
        assert_eq!(&out[..got], &plaintext[..]);
        messages.push((from, buf[..len].to_vec(), plaintext, true));
    }
    // Learn the ephemerals by replaying the seeded streams: each party's first 32 bytes; the
    // initiator's KEM key is the next 64.
    let (mut i_rng, i_eph) = first_32(i_seed);
    let (_, r_eph) = first_32(r_seed);
    let kem = hfs.then(|| KemKeypair::generate(&mut i_rng));
    Session {
        name,
        messages,
        i_static,
        r_static,
        i_eph,
        r_eph,
        kem,
        handshake_hash,
        initiator_pre,
        responder_pre,
    }
}

fn premessages(s: &Session) -> Premessages {
    Premessages {
        initiator_static: s.initiator_pre.then_some(s.i_static.public),
        responder_static: s.responder_pre.then_some(s.r_static.public),
    }
}

/// The first DH token of the pattern and its 1-based message.
fn first_dh(pattern: &str) -> (usize, Token) {
    let base: String = pattern
        .chars()
        .take_while(|c| !c.is_ascii_lowercase())
        .collect();
    let p = patterns::base(&base).expect("base");
    for (i, m) in p.messages.iter().enumerate() {
        if let Some(t) = m.iter().find(|t| t.is_dh()) {
            return (i + 1, *t);
        }
    }
    unreachable!("every pattern has a DH")
}

fn check_all_keys(s: &Session) {
    let mut keys = Keyring::new();
    for k in [*s.i_static.private, *s.r_static.private, s.i_eph, s.r_eph] {
        keys.add_private(k);
    }
    if let Some(kem) = &s.kem {
        keys.add_kem_secret(kem.public.clone(), kem.secret.to_vec());
    }
    let mut e = Engine::new(&s.name, b"cross-check", &premessages(s), Some(PSK)).expect("engine");
    for (i, (from, bytes, plaintext, _)) in s.messages.iter().enumerate() {
        let out = e
            .read(*from, bytes, &keys)
            .unwrap_or_else(|err| panic!("{} message {}: {err}", s.name, i + 1));
        assert_eq!(
            out.payload.as_deref(),
            Some(&plaintext[..]),
            "{} message {}",
            s.name,
            i + 1
        );
    }
    assert_eq!(
        e.handshake_hash(),
        Some(s.handshake_hash.clone()),
        "{}",
        s.name
    );
    assert_eq!(
        e.remote_statics().0,
        Some(s.i_static.public).filter(|_| has_initiator_static(&s.name))
    );
    let (ie, re) = (keys_pub(s.i_eph), keys_pub(s.r_eph));
    let expected = if e.is_one_way() {
        (Some(ie), None)
    } else {
        (Some(ie), Some(re))
    };
    assert_eq!(e.ephemerals(), expected, "{}", s.name);
    assert!(e.blocked().is_none(), "{}", s.name);
}

fn keys_pub(private: [u8; 32]) -> [u8; 32] {
    Keyring::new().add_private(private)
}

fn has_initiator_static(name: &str) -> bool {
    // Every pattern but N* (one-way N and the NN/NK/NX families) gives the initiator a static.
    let pattern = name.split('_').nth(1).unwrap_or("");
    !pattern.starts_with('N')
}

fn check_no_keys(s: &Session, pattern: &str, psk: Option<[u8; 32]>) {
    let keys = Keyring::new();
    let mut e = Engine::new(&s.name, b"cross-check", &premessages(s), psk).expect("engine");
    let (dh_message, dh) = first_dh(pattern);
    let psk_mode = pattern.contains("psk");
    let first_psk = patterns::modified(&pattern.replace("hfs+", "").replace("hfs", ""))
        .expect("pattern")
        .messages
        .iter()
        .position(|m| m.contains(&Token::Psk))
        .map_or(usize::MAX, |i| i + 1);
    for (i, (from, bytes, plaintext, encrypted)) in s.messages.iter().enumerate() {
        let out = e
            .read(*from, bytes, &keys)
            .unwrap_or_else(|err| panic!("{} message {}: {err}", s.name, i + 1));
        // Readable: every message before the first secret the attacker lacks (a DH, or a psk
        // token without the psk). That includes payloads snow encrypts with keys derived from
        // public values only (psk mode mixes each `e` into the key).
        let stop = dh_message.min(if psk.is_some() { usize::MAX } else { first_psk });
        let expect_read = i + 1 < stop;
        if !encrypted {
            assert!(
                expect_read,
                "{} message {}: cleartext must be read",
                s.name,
                i + 1
            );
        }
        let expected = expect_read.then_some(&plaintext[..]);
        assert_eq!(
            out.payload.as_deref(),
            expected,
            "{} message {} (psk {})",
            s.name,
            i + 1,
            psk.is_some()
        );
        assert_eq!(
            out.blocked.is_some(),
            !expect_read,
            "{} message {}",
            s.name,
            i + 1
        );
    }
    let blocked = e.blocked().cloned().expect("blocked");
    if psk.is_none() && psk_mode && matches!(blocked, Blocked::MissingPsk { .. }) {
        // The psk token came before the first DH: that is where derivation stops.
        return;
    }
    let (ie, re) = (keys_pub(s.i_eph), keys_pub(s.r_eph));
    let publics = match dh {
        Token::Ee => (ie, re),
        Token::Es => (ie, s.r_static.public),
        Token::Se => (s.i_static.public, re),
        _ => (s.i_static.public, s.r_static.public),
    };
    assert_eq!(
        blocked,
        Blocked::MissingDh {
            message: dh_message,
            token: dh.as_str(),
            publics
        },
        "{}",
        s.name
    );
    assert!(blocked.to_string().contains(&format!(
        "message {dh_message}: no private key for either side of {}",
        dh.as_str()
    )));
    if !psk_mode {
        // h depends on no secret: the passive attacker still knows the handshake hash.
        assert_eq!(
            e.handshake_hash(),
            Some(s.handshake_hash.clone()),
            "{}",
            s.name
        );
    }
}

#[test]
fn engine_agrees_with_snow_on_every_pattern_cipher_and_hash() {
    let mut patterns_run: Vec<String> = patterns::PATTERNS
        .iter()
        .map(|p| p.name.to_owned())
        .collect();
    patterns_run.extend(PSK_PATTERNS.iter().map(|s| s.to_string()));
    patterns_run.extend(HFS_PATTERNS.iter().map(|s| s.to_string()));
    let mut sessions = 0;
    let mut n = 1u8;
    for pattern in &patterns_run {
        for cipher in ["ChaChaPoly", "AESGCM"] {
            for hash in ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"] {
                let s = run_snow(pattern, cipher, hash, n);
                n = n.wrapping_add(1).max(1);
                check_all_keys(&s);
                check_no_keys(&s, pattern, None);
                if pattern.contains("psk") {
                    check_no_keys(&s, pattern, Some(PSK));
                }
                sessions += 1;
            }
        }
    }
    println!(
        "{} patterns, {sessions} snow sessions cross-checked",
        patterns_run.len()
    );
    assert_eq!(patterns_run.len(), 38 + 21 + 5);
    assert_eq!(sessions, 64 * 8);
}
