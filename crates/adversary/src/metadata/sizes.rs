//! Message-size fingerprinting: what the length of an encrypted packet says.
//!
//! Noise transport messages and the tunnels around them add fixed overheads and no padding, so
//! a packet's IPv4 size minus a constant is the end-to-end ciphertext's length, and that minus
//! the 16-byte tag is the plaintext's length. The adversary computes the overheads from the
//! public wire format (`proto::wire`) with MSISDNs of the length most common in clear traffic,
//! and every handshake message size of the common Noise patterns (X25519; ChaChaPoly or AESGCM;
//! SHA256, SHA512, BLAKE2s or BLAKE2b; empty payloads) from its own pattern table.
//!
//! Of those handshake sizes it keeps the ones that *recur* in the capture (every session of a
//! protocol sends the same sizes; texts spread over many), see [`recurring`]. Each tunnelled
//! uplink and downlink is labelled: **handshake** if its size is one of the recurring handshake
//! sizes, **text** with an inferred length (bucketed by 20 bytes) if it is at least a
//! transport message with an empty payload, **other** otherwise (such as receipts or control
//! messages smaller than any text).
//!
//! Cost: O(n log n) for n packets (a sort of the sizes, then a binary search per packet).

use std::collections::BTreeMap;

use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, TunnelPdu};
use serde::Serialize;
use simcore::Timestamp;

use super::packets::Traffic;
use crate::noise::Protocol;

/// The AEAD tag length.
const TAG: usize = 16;
/// IPv4 and UDP headers.
const IP_UDP: usize = 28;
/// Width of a length bucket, bytes.
pub const BUCKET: u32 = 20;

/// What an encrypted packet is, judged by its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeClass {
    /// A handshake message of a common Noise pattern.
    Handshake,
    /// A transport message carrying text of the inferred length.
    Text,
    /// Smaller than any text: a control message or a receipt.
    Other,
}

/// The label of one encrypted packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeLabel {
    /// First sighting.
    pub time: Timestamp,
    /// The subscriber side (MSISDN or address).
    pub party: String,
    /// Whether it went to the relay (`true`) or came from it.
    pub uplink: bool,
    /// IPv4 size.
    pub size: u32,
    /// The inferred class.
    pub class: SizeClass,
    /// Inferred plaintext length (text only).
    pub length: Option<u32>,
}

/// What the sizes revealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SizeFindings {
    /// The size of a tunnelled transport message with an empty payload.
    pub transport_overhead: u32,
    /// Distinct handshake sizes known.
    pub handshake_sizes: usize,
    /// Packets per class.
    pub by_class: BTreeMap<String, usize>,
    /// Text packets per length bucket, keyed by the bucket's lower bound.
    pub text_lengths: BTreeMap<u32, usize>,
    /// One label per tunnelled message, uplinks then downlinks, each in time order.
    pub labels: Vec<SizeLabel>,
}

/// The lower bound of the bucket of a plaintext length.
pub fn bucket(len: u32) -> u32 {
    len / BUCKET * BUCKET
}

fn framed(env: OttEnvelope) -> Option<usize> {
    let inner = AppPdu::Ott(env).to_bytes().ok()?;
    let tunnel = AppPdu::Tunnel(TunnelPdu {
        kind: NoiseKind::Transport,
        noise: vec![0; inner.len() + TAG],
    })
    .to_bytes()
    .ok()?;
    let frame = Frame::Data {
        seq: 0,
        payload: tunnel,
    }
    .to_bytes()
    .ok()?;
    Some(frame.len() + IP_UDP)
}

fn envelope(
    msisdn_len: usize,
    kind: NoiseKind,
    index: u8,
    protocol: &str,
    body: usize,
) -> OttEnvelope {
    let m = "0".repeat(msisdn_len.clamp(1, 255));
    OttEnvelope {
        from: m.clone(),
        to: m,
        session: 0,
        kind,
        index,
        protocol: protocol.to_owned(),
        body: vec![0; body],
    }
}

/// The IPv4 size of a tunnelled transport message whose plaintext is empty.
pub fn transport_overhead(msisdn_len: usize) -> usize {
    framed(envelope(msisdn_len, NoiseKind::Transport, 0, "", TAG)).unwrap_or(0)
}

/// Every tunnelled handshake size of the common patterns with empty payloads.
pub fn handshake_sizes(msisdn_len: usize) -> Vec<u32> {
    const PATTERNS: [&str; 12] = [
        "NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX",
    ];
    let mut out = Vec::new();
    for p in PATTERNS {
        for c in ["ChaChaPoly", "AESGCM"] {
            for h in ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"] {
                let name = format!("Noise_{p}_25519_{c}_{h}");
                let Ok(proto) = Protocol::parse(&name) else {
                    continue;
                };
                for i in 1..=proto.message_count() {
                    let Some(body) = proto.message_len(i, 0) else {
                        continue;
                    };
                    let index = u8::try_from(i).unwrap_or(u8::MAX);
                    let env = envelope(msisdn_len, NoiseKind::Handshake, index, &name, body);
                    if let Some(n) = framed(env) {
                        out.push(u32::try_from(n).unwrap_or(u32::MAX));
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Labels one size.
pub fn classify(size: u32, overhead: u32, handshakes: &[u32]) -> (SizeClass, Option<u32>) {
    if handshakes.binary_search(&size).is_ok() {
        (SizeClass::Handshake, None)
    } else if size >= overhead {
        (SizeClass::Text, Some(size - overhead))
    } else {
        (SizeClass::Other, None)
    }
}

/// The handshake sizes that recur in `sizes` far more often than their neighbours.
///
/// Every session of one protocol sends handshake message i at exactly one size, while text
/// lengths spread: a candidate size is kept when it occurs at least three times as often as
/// the mean of the 20 sizes around it, and at least 3 times. O(n log n + h log n).
pub fn recurring(candidates: &[u32], sizes: &[u32]) -> Vec<u32> {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    let count = |lo: u32, hi: u32| -> usize {
        sorted.partition_point(|&x| x <= hi) - sorted.partition_point(|&x| x < lo)
    };
    candidates
        .iter()
        .copied()
        .filter(|&c| {
            let here = count(c, c);
            let around = count(c.saturating_sub(10), c.saturating_add(10)) - here;
            here >= 3 && here as f64 >= 3.0 * (around as f64 / 20.0)
        })
        .collect()
}

/// Labels every tunnelled message of `t`.
pub fn analyze(t: &Traffic) -> SizeFindings {
    let overhead = u32::try_from(transport_overhead(t.msisdn_len)).unwrap_or(u32::MAX);
    let all: Vec<u32> = t.ups.iter().chain(&t.downs).map(|s| s.size).collect();
    let hs = recurring(&handshake_sizes(t.msisdn_len), &all);
    let mut f = SizeFindings {
        transport_overhead: overhead,
        handshake_sizes: hs.len(),
        ..SizeFindings::default()
    };
    for (uplink, list) in [(true, &t.ups), (false, &t.downs)] {
        for s in list {
            let (class, length) = classify(s.size, overhead, &hs);
            let name = match class {
                SizeClass::Handshake => "handshake",
                SizeClass::Text => "text",
                SizeClass::Other => "other",
            };
            *f.by_class.entry(name.to_owned()).or_default() += 1;
            if let Some(l) = length {
                *f.text_lengths.entry(bucket(l)).or_default() += 1;
            }
            f.labels.push(SizeLabel {
                time: Timestamp::from_nanos(s.time),
                party: t.name(s.party).to_owned(),
                uplink,
                size: s.size,
                class,
                length,
            });
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_and_handshakes_are_consistent() {
        let o = transport_overhead(12) as u32;
        assert!(o > 60, "{o}");
        let hs = handshake_sizes(12);
        assert!(!hs.is_empty());
        assert_eq!(classify(o + 40, o, &[]), (SizeClass::Text, Some(40)));
        assert_eq!(classify(o - 1, o, &[]), (SizeClass::Other, None));
        assert_eq!(classify(hs[0], o, &hs).0, SizeClass::Handshake);
        assert_eq!(bucket(39), 20);
        // 150 recurs, 160 does not stand out from its neighbours.
        let mut sizes = vec![150; 10];
        sizes.extend(155..175);
        assert_eq!(recurring(&[150, 160], &sizes), vec![150]);
    }
}
