//! The decoders of `signal::wire` and the sealed-sender layers, on arbitrary bytes. The input is
//! cut into up to four byte strings (`wiretap_fuzz::chunks`); each is decoded as an `Envelope`,
//! a `Content` (ratchet message or prekey message), an inner `Frame` and a ratchet `Header`,
//! opened with `sealed::unseal`, and then handed, in order, to one device (Bob, seeded, PQXDH,
//! sealed sender and receipts on) through `Device::handle_envelope`, which unseals, runs
//! X3DH/PQXDH and the Double Ratchet on what it decodes. Nothing panics; every value decoded
//! re-encodes to exactly its input (the formats are canonical).
//!
//! Bob and the stranger are set up once and forked (`Device: Clone`) for each input: key
//! generation (ML-KEM prekeys included) would otherwise dominate every execution.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use signal::wire::{Content, Envelope, Frame, Header};
use simcore::Timestamp;

/// The stranger's identity, generated once.
fn stranger() -> &'static signal::IdentityKeyPair {
    static S: OnceLock<signal::IdentityKeyPair> = OnceLock::new();
    S.get_or_init(|| signal::IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(7)))
}

/// Bob as `wiretap_fuzz::bob` sets him up, generated once; each input gets a fork.
fn bob() -> signal::Device {
    static B: OnceLock<signal::Device> = OnceLock::new();
    B.get_or_init(|| wiretap_fuzz::bob().0).clone()
}

fuzz_target!(|data: &[u8]| {
    let parts = wiretap_fuzz::chunks(data, 4);
    let stranger = stranger();
    for bytes in &parts {
        if let Ok(env) = Envelope::decode(bytes) {
            assert_eq!(
                env.encode(),
                *bytes,
                "Envelope: the encoding is not the input"
            );
            if env.sender.is_none() {
                let _ = signal::sealed::unseal(stranger, &env.body);
            }
        }
        if let Ok(content) = Content::decode(bytes) {
            assert_eq!(
                content.encode(),
                *bytes,
                "Content: the encoding is not the input"
            );
        }
        if let Ok(frame) = Frame::decode(bytes) {
            assert_eq!(
                frame.encode(),
                *bytes,
                "Frame: the encoding is not the input"
            );
        }
        if let Ok(header) = Header::decode(bytes) {
            assert_eq!(
                header.encode(),
                *bytes,
                "Header: the encoding is not the input"
            );
        }
        let _ = signal::sealed::unseal(stranger, bytes);
    }

    let mut bob = bob();
    for (i, bytes) in parts.iter().enumerate() {
        let now = Timestamp::from_millis(i as u64);
        if let Err(e) = bob.handle_envelope(now, bytes) {
            let _ = e.to_string();
        }
    }
    while bob.poll_event().is_some() {}
    while bob.poll_transmit().is_some() {}
});
