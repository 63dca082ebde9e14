//! Unit tests of the adversary's ratchet code: its KDFs against the same independently
//! computed values as the `signal` crate's KATs (crates/signal/tests/kat/kat.py, Python
//! `cryptography`), and its parsers on arbitrary bytes. The cross-check against the `signal`
//! crate lives in crates/signal/tests/adversary.rs.

use super::kdf;
use super::wire::{parse_content, parse_envelope};

fn seq(start: u8) -> [u8; 32] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn ratchet_kdfs_match_the_independent_values() {
    let (rk, ck) = kdf::kdf_rk(&seq(0), &seq(0x20));
    assert_eq!(
        hex(&rk[..]),
        "5d7065d3555fcaed21d6ce7a8d811ac12908fb84b444400b3e99b67859a0be8f"
    );
    assert_eq!(
        hex(&ck[..]),
        "a5c8e558f6a972385007fda734cf412a8df0af0153c0a0b0e197158836dbad42"
    );
    let (ck, mk) = kdf::kdf_ck(&seq(0x40));
    assert_eq!(
        hex(&ck[..]),
        "f0bdefbbad3cf097dccb03f2c87159f7608e2480543eef7741c8f2e7f226e78f"
    );
    assert_eq!(
        hex(&mk[..]),
        "01156abd78ef59f755f1e6945e5d1e2d7ddd1f1e5fe0a164b2f5fa8ad500bfba"
    );
    let km: Vec<u8> = (0..128u8).map(|i| 0x60u8.wrapping_add(i)).collect();
    assert_eq!(
        hex(&kdf::x3dh_kdf(&km, b"Wiretap_X3DH_CURVE25519_SHA-256")[..]),
        "48143da64d80a41af5552f9b33a76677055ab15450c2523f8afa15332bf3e9d8"
    );
    let ct =
        hex::decode_hex("43b3907680e386d1b9e9c03effd5c013dc0c6a9cc8b1338e28b3ae3abcfea1284af1b021");
    let ad: Vec<u8> = (0..66u8).map(|i| 0xC0u8.wrapping_add(i)).collect();
    let pt = kdf::decrypt(&seq(0xA0), &ct, &ad).unwrap();
    assert_eq!(&pt[..], b"wiretap known answer");
}

mod hex {
    pub fn decode_hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}

proptest::proptest! {
    #[test]
    fn ratchet_parsers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
        let _ = parse_envelope(&bytes);
        let _ = parse_content(&bytes);
        let _ = kdf::unseal(&[7; 32], &bytes);
    }
}
