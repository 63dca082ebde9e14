//! The adversary's pattern table against snow: if the table is wrong, these fail.

use adversary::noise::{Payload, Protocol};
use snow::params::SUPPORTED_HANDSHAKE_PATTERNS;

use crate::support::snow_pair;

/// psk variants checked on top of every base pattern.
const PSK_VARIANTS: &[&str] = &[
    "Npsk0",
    "Kpsk0",
    "Xpsk1",
    "NNpsk0",
    "NNpsk2",
    "NNpsk0+psk2",
    "NKpsk0",
    "NXpsk2",
    "XXpsk3",
    "XXpsk0+psk3",
    "IKpsk1",
    "IKpsk2",
    "KKpsk0",
    "IXpsk2",
    "X1X1psk1",
    "NK1psk0",
];

fn protocol_names() -> Vec<String> {
    let mut names: Vec<String> = SUPPORTED_HANDSHAKE_PATTERNS
        .iter()
        .map(|p| p.as_str().to_owned())
        .chain(PSK_VARIANTS.iter().map(|s| (*s).to_owned()))
        .map(|p| format!("Noise_{p}_25519_ChaChaPoly_BLAKE2s"))
        .collect();
    names.push("Noise_XX_25519_AESGCM_SHA256".to_owned());
    names
}

/// For one protocol and payload size: drives snow through the whole handshake and checks every
/// message against the table. Returns the number of messages checked.
fn check(protocol: &str, payload_len: usize) -> usize {
    let table = Protocol::parse(protocol).unwrap_or_else(|e| panic!("{protocol}: {e}"));
    let pair = snow_pair(protocol);
    let statics = [pair.initiator_static.clone(), pair.responder_static.clone()];
    let (mut initiator, mut responder) = (pair.initiator, pair.responder);
    let payload: Vec<u8> = (0..payload_len).map(|i| b'a' + (i % 26) as u8).collect();
    let mut index = 0;
    while !(initiator.is_handshake_finished() && responder.is_handshake_finished()) {
        index += 1;
        let sender = (index + 1) % 2; // 0: initiator, 1: responder
        let (w, r) = if sender == 0 {
            (&mut initiator, &mut responder)
        } else {
            (&mut responder, &mut initiator)
        };
        let mut buf = vec![0u8; 65535];
        let n = w
            .write_message(&payload, &mut buf)
            .unwrap_or_else(|e| panic!("{protocol} message {index}: {e}"));
        buf.truncate(n);
        let encrypted = w.was_write_payload_encrypted();
        let mut out = vec![0u8; 65535];
        r.read_message(&buf, &mut out)
            .unwrap_or_else(|e| panic!("{protocol} read {index}: {e}"));

        assert_eq!(
            table.message_len(index, payload_len),
            Some(n),
            "{protocol}: length of message {index} with a {payload_len}-byte payload"
        );
        assert_eq!(
            table.payload_encrypted(index),
            Some(encrypted),
            "{protocol}: is the payload of message {index} encrypted"
        );
        let reading = table
            .read_message(index, &buf)
            .unwrap_or_else(|e| panic!("{protocol} passive read of {index}: {e}"));
        match reading.payload {
            Payload::Clear(p) => {
                assert!(!encrypted, "{protocol} {index}");
                assert_eq!(p, &payload[..], "{protocol} {index}: clear payload bytes");
            }
            Payload::Encrypted { after } => {
                assert!(encrypted, "{protocol} {index}");
                assert!(!after.is_empty(), "{protocol} {index}");
            }
        }
        // Every static the table says is in clear must be the sender's real public key.
        for s in &reading.clear_statics {
            assert_eq!(
                Some(s.to_vec()),
                statics[sender],
                "{protocol} {index}: clear static is the sender's"
            );
        }
    }
    assert_eq!(
        table.message_len(index + 1, 0),
        None,
        "{protocol}: table has more messages than snow sent"
    );
    index
}

#[test]
fn table_predicts_snow_message_lengths_and_payload_encryption_for_every_supported_pattern() {
    let names = protocol_names();
    assert!(names.len() >= 38 + PSK_VARIANTS.len());
    let mut messages = 0;
    for name in &names {
        for payload_len in [0, 10] {
            messages += check(name, payload_len);
        }
    }
    // 38 patterns hold 3*1 + 12 (2 or 3) + 23 (2 to 4) messages; psk variants add more.
    assert!(messages > 200, "checked {messages} messages");
}

#[test]
fn snow_supports_exactly_the_38_base_patterns_in_the_table() {
    let snow: Vec<&str> = SUPPORTED_HANDSHAKE_PATTERNS
        .iter()
        .map(|p| p.as_str())
        .collect();
    let ours: Vec<&str> = adversary::noise::patterns::PATTERNS
        .iter()
        .map(|p| p.name)
        .collect();
    let mut a = snow.clone();
    let mut b = ours.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

#[test]
fn clear_statics_are_found_where_the_spec_sends_them_unencrypted() {
    // IX message 1 sends the initiator's static before any DH; XX never does.
    let ix = Protocol::parse("Noise_IX_25519_ChaChaPoly_BLAKE2s").expect("valid");
    let xx = Protocol::parse("Noise_XX_25519_ChaChaPoly_BLAKE2s").expect("valid");
    let body = vec![0u8; 64];
    assert_eq!(
        ix.read_message(1, &body).expect("ok").clear_statics.len(),
        1
    );
    let body = vec![0u8; 96];
    assert!(xx
        .read_message(2, &body)
        .expect("ok")
        .clear_statics
        .is_empty());
}
