//! Countermeasures against traffic analysis, each with its measured cost
//! (`docs/countermeasures.md`):
//!
//! - **Padding** (`padding`), inside the end-to-end encryption. When an app pads or sends Noise
//!   receipts, every end-to-end plaintext is *framed*: `kind (1 byte) ‖ content ‖ 0x80 ‖ 0x00…`
//!   (ISO/IEC 7816-4 padding), kind 1 a text, 2 a receipt. Noise apps pad so that the
//!   transport ciphertext (plaintext + 16-byte tag), the envelope `body` on the wire, is a
//!   multiple of 160 bytes (`block`) or a Padmé length (`padme`); Signal apps pad the plaintext
//!   itself to that length (the Signal envelope adds its own header). The receiver strips it.
//! - **Receipts**: Noise apps with `receipts = true` answer every text with a receipt message
//!   in the same session; `receipts_delay` holds a receipt (Noise or Signal) for an exponential
//!   delay of that mean before it is sent.
//! - **Cover traffic**: each handset of the app sends dummy envelopes to the OTT server,
//!   `constant`ly (one per `cover_interval`, seeded phase) or as a Poisson process, until the
//!   traffic `duration` ends. A dummy is an [`OttEnvelope`] with session [`COVER_SESSION`],
//!   `to` the sender's own number (so the envelope is as long as a real one) and a random body
//!   as long as a padded message of a length drawn from the scenario's distribution; it rides
//!   the server tunnel like a real one, and the server drops it. Without a server tunnel the
//!   core reads the envelope and recognises the dummy.
//! - **Mixing**: the OTT server holds each envelope of an app with `mixing_delay` for an
//!   exponential delay of that mean (Loopix-style Poisson mixing) before it forwards it. To
//!   keep Noise's implicit nonces in order, Noise envelopes from one sender address to one
//!   recipient leave in arrival order (a release time is never before the previous one of that
//!   pair); Signal envelopes may overtake each other (the Double Ratchet's skipped message keys
//!   absorb it).
//!
//! A handset's side of these is in [`crate::handset::cm`], the server's in [`crate::ott`].
//! All draws come from the seed's `countermeasures` streams. Costs: per app, the IPv4 bytes its
//! handsets exchanged with the OTT server on their radio links ([`AppCosts`]), and, when any
//! countermeasure is on, the same run without countermeasures as the baseline ([`Baseline`]).

use std::collections::BTreeMap;

use scenario::{Padding, Scenario};
use serde::Serialize;

/// The session id of cover envelopes (no real session has it: ids are `sender << 32 | n`).
pub const COVER_SESSION: u64 = u64::MAX;

/// Signal's padding block.
pub const BLOCK: usize = 160;

/// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication
/// with PURBs", PETS 2019): `len` rounded up to a multiple of 2^(E − ⌊log2 E⌋ − 1), E = ⌊log2
/// len⌋.
pub fn padme(len: usize) -> usize {
    if len < 2 {
        return len;
    }
    let e = usize::BITS - 1 - len.leading_zeros();
    let s = u32::BITS - 1 - e.leading_zeros();
    let last_bits = e.saturating_sub(s + 1);
    let mask = (1usize << last_bits) - 1;
    (len + mask) & !mask
}

/// `len` padded under `p`.
pub fn padded_len(p: Padding, len: usize) -> usize {
    match p {
        Padding::None => len,
        Padding::Block => len.div_ceil(BLOCK).max(1) * BLOCK,
        Padding::Padme => padme(len),
    }
}

/// Frames `content` as `kind` and pads it so that the frame plus `overhead` bytes is a padded
/// length under `p`.
pub(crate) fn frame(kind: u8, content: &[u8], p: Padding, overhead: usize) -> Vec<u8> {
    let base = content.len() + 2;
    let target = padded_len(p, base + overhead) - overhead;
    let mut out = Vec::with_capacity(target);
    out.push(kind);
    out.extend_from_slice(content);
    out.push(0x80);
    out.resize(target.max(base), 0);
    out
}

/// The kind and content of a frame, if it is one.
pub(crate) fn unframe(mut bytes: Vec<u8>) -> Option<(u8, Vec<u8>)> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    if bytes.pop() != Some(0x80) || bytes.is_empty() {
        return None;
    }
    let kind = bytes.remove(0);
    Some((kind, bytes))
}

/// One app's traffic costs in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AppCosts {
    /// The app's name.
    pub app: String,
    /// Its protocol label.
    pub protocol: String,
    /// IPv4 bytes its handsets sent to the OTT server (radio uplink, every frame, ACKs and
    /// retransmissions included).
    pub wire_bytes_up: u64,
    /// IPv4 bytes its handsets received from the OTT server.
    pub wire_bytes_down: u64,
    /// Bytes of the texts its users sent end to end (ground truth).
    pub payload_bytes: u64,
    /// End-to-end messages sent.
    pub messages: u64,
    /// Cover envelopes its handsets sent.
    pub cover_messages: u64,
    /// Noise receipts its handsets sent (Signal receipts are counted by the device).
    pub receipts: u64,
    /// Envelopes the OTT server held for mixing.
    pub mixed: u64,
}

/// The same run (scenario and seed) with every countermeasure off.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Baseline {
    /// Per app, as in [`Costs::apps`].
    pub apps: Vec<AppCosts>,
    /// Per protocol label: delivery latencies (sent → delivered) in nanoseconds, sorted.
    pub latency_ns: BTreeMap<String, Vec<u64>>,
}

/// What countermeasures cost in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Costs {
    /// End-to-end apps, in scenario order.
    pub apps: Vec<AppCosts>,
    /// Per app, the countermeasures (scenario order, end-to-end apps only).
    pub settings: Vec<(String, scenario::Countermeasures)>,
    /// The run without countermeasures; `None` when none is on (this run is its own baseline).
    pub baseline: Option<Baseline>,
}

/// `sc` with every countermeasure off (sealed sender and Signal receipts are kept: they are
/// part of the app, not of this comparison).
pub fn strip(sc: &Scenario) -> Scenario {
    let mut s = sc.clone();
    for a in &mut s.apps {
        a.countermeasures = scenario::Countermeasures::default();
    }
    s
}

/// Latencies per protocol label of a truth, sorted.
pub fn latencies(t: &crate::GroundTruth) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for m in &t.messages {
        if let Some(d) = m.delivered_at {
            out.entry(m.protocol.label())
                .or_default()
                .push(d.as_nanos().saturating_sub(m.sent_at.as_nanos()));
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_paper() {
        // E = 6, S = 3: multiples of 8 between 64 and 128.
        assert_eq!(padme(100), 104);
        assert_eq!(padme(64), 64);
        assert_eq!(padme(65), 72);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10);
        for l in 2..5000 {
            let p = padme(l);
            assert!(p >= l && padme(p) == p, "{l} -> {p}");
            assert!((p - l) as f64 <= 0.12 * l as f64 + 1.0, "{l} -> {p}");
        }
    }

    #[test]
    fn frames_round_trip_at_padded_lengths() {
        for p in [Padding::None, Padding::Block, Padding::Padme] {
            for n in [0usize, 1, 17, 140, 141, 142, 159, 160, 500] {
                let text: Vec<u8> = (0..n).map(|i| (i % 251) as u8 + 1).collect();
                let f = frame(1, &text, p, 16);
                assert_eq!(padded_len(p, f.len() + 16), f.len() + 16, "{p:?} {n}");
                assert_eq!(unframe(f), Some((1, text)));
            }
        }
        assert_eq!(frame(1, b"x", Padding::Block, 16).len() + 16, 160);
        assert_eq!(unframe(vec![1, 2, 3]), None);
    }
}
