//! Known-answer tests. The expected hex values were computed independently of this crate by
//! `tests/kat/kat.py` with Python's `cryptography` package (HKDF, HMAC, AES-GCM, X25519 from
//! OpenSSL); they are hard-coded so the test runs without Python.

use signal::crypto::{encrypt, kdf_ck, kdf_rk, kdf_rk_he, x3dh_kdf, X3DH_INFO};
use signal::wire::PreKeyHeader;
use signal::x3dh::respond;
use signal::IdentityKeyPair;
use x25519_dalek::{PublicKey, StaticSecret};

fn seq(start: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| start.wrapping_add(i as u8)).collect()
}

fn arr(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn kdf_rk_known_answer() {
    let (rk, ck) = kdf_rk(&arr(&seq(0x00, 32)), &arr(&seq(0x20, 32)));
    assert_eq!(
        hex(&rk[..]),
        "5d7065d3555fcaed21d6ce7a8d811ac12908fb84b444400b3e99b67859a0be8f"
    );
    assert_eq!(
        hex(&ck[..]),
        "a5c8e558f6a972385007fda734cf412a8df0af0153c0a0b0e197158836dbad42"
    );
    let (rk2, ck2, nhk) = kdf_rk_he(&arr(&seq(0x00, 32)), &arr(&seq(0x20, 32)));
    assert_eq!(rk2, rk);
    assert_eq!(ck2, ck);
    assert_eq!(
        hex(&nhk[..]),
        "1e8b135fd7f3a057e4a91f00609bb2d4b2645159764185b6010090515f7c4f77"
    );
}

#[test]
fn kdf_ck_known_answer() {
    let (ck, mk) = kdf_ck(&arr(&seq(0x40, 32)));
    assert_eq!(
        hex(&ck[..]),
        "f0bdefbbad3cf097dccb03f2c87159f7608e2480543eef7741c8f2e7f226e78f"
    );
    assert_eq!(
        hex(&mk[..]),
        "01156abd78ef59f755f1e6945e5d1e2d7ddd1f1e5fe0a164b2f5fa8ad500bfba"
    );
}

#[test]
fn x3dh_kdf_known_answer() {
    let sk = x3dh_kdf(&seq(0x60, 128), X3DH_INFO);
    assert_eq!(
        hex(&sk[..]),
        "48143da64d80a41af5552f9b33a76677055ab15450c2523f8afa15332bf3e9d8"
    );
}

#[test]
fn message_encryption_known_answer() {
    let ct = encrypt(
        &arr(&seq(0xA0, 32)),
        b"wiretap known answer",
        &seq(0xC0, 66),
    );
    assert_eq!(
        hex(&ct),
        "43b3907680e386d1b9e9c03effd5c013dc0c6a9cc8b1338e28b3ae3abcfea1284af1b021"
    );
}

#[test]
fn x3dh_from_fixed_keys_known_answer() {
    let key = |b: u8| StaticSecret::from([b; 32]);
    let ik_a = PublicKey::from(&key(1)).to_bytes();
    let ek_a = PublicKey::from(&key(2)).to_bytes();
    let ik_b = IdentityKeyPair::from_secret(key(3));
    let header = |opk: Option<u32>| PreKeyHeader {
        identity: ik_a,
        ephemeral: ek_a,
        signed_prekey_id: 1,
        one_time_prekey_id: opk,
        pq: None,
    };
    let (sk, ad) = respond(&ik_b, &key(4), Some(&key(5)), None, &header(Some(7))).unwrap();
    assert_eq!(
        hex(&sk[..]),
        "52f2b49a6d4445e2f815dca046859594fbd963702b488c371ad65c09b96d6cf1"
    );
    assert_eq!(
        hex(&ad),
        "05a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209\
         055dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22"
    );
    let (sk, _) = respond(&ik_b, &key(4), None, None, &header(None)).unwrap();
    assert_eq!(
        hex(&sk[..]),
        "1eaaf5985fd9caf23ea76e3fa010e78b11f5d7fbaa9d9087dbe1f060d105ff35"
    );
}
