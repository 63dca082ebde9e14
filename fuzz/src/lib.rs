//! Helpers shared by the fuzz targets and by the seed generator (`examples/seeds.rs`): how a
//! fuzz input is cut into several byte strings, the Signal device that receives envelopes, and
//! how an input becomes the captures of one or two vantage points.
//!
//! Everything here is deterministic: the generator builds seeds against the same device and
//! the same framing the targets use, so a seed is a valid input for its target.

use capture::{Captures, PacketCapture, VantageKind, VantagePoint, Warrant, WarrantKind};
use proto::wire::{LiKind, LiRecord};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use simcore::Timestamp;

/// Cuts `data` into byte strings, each a big-endian `u16` length and that many bytes; the last
/// one may be short (it takes what is left). At most `max` strings.
pub fn chunks(data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < max {
        let [a, b, tail @ ..] = rest else { break };
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (chunk, after) = tail.split_at(len);
        out.push(chunk);
        rest = after;
    }
    out
}

/// The inverse of [`chunks`], for the seed generator.
///
/// # Panics
/// If a part is longer than 65,535 bytes (seeds are small).
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let len = u16::try_from(p.len()).expect("a seed part fits a u16 length");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Signal

/// Alice's address.
pub const ALICE: u64 = 1;
/// Bob's address: the device `signal_wire` hands envelopes to.
pub const BOB: u64 = 2;

/// A device's config: PQXDH, receipts, sealed sender as asked.
pub fn signal_config(address: u64, sealed: bool, header_encryption: bool) -> signal::DeviceConfig {
    let mut c = signal::DeviceConfig::new(address);
    c.sealed_sender = sealed;
    c.receipts = true;
    c.header_encryption = header_encryption;
    c.post_quantum = true;
    c
}

/// Bob as `signal_wire` builds him for every input: seeded, sealed sender and receipts on,
/// with two one-time prekeys (and two PQ one-time prekeys) uploaded in `upload`.
pub fn bob() -> (signal::Device, signal::PreKeyUpload) {
    let mut bob = signal::Device::new(
        signal_config(BOB, true, false),
        ChaCha20Rng::seed_from_u64(22),
    );
    let upload = bob.prekey_upload(2);
    (bob, upload)
}

// ---------------------------------------------------------------------------------------------
// Captures

/// The LIID of the warrant on the mediation vantage's list.
pub const LIID: &str = "L1";
/// The target of that warrant.
pub const TARGET: &str = "+15550001";

/// Flag of the input's first byte: a second vantage point.
pub const TWO_VANTAGES: u8 = 0x01;
/// Flag of the input's first byte: vantage 0 is the core tap, vantage 1 the mediation node
/// (else the other way round).
pub const CORE_FIRST: u8 = 0x02;
/// Flag of a packet's control byte: the packet goes to vantage 1.
pub const TO_VANTAGE_1: u8 = 0x01;
/// Flag of a packet's control byte: fill in its IPv4 and UDP checksums (and those of the
/// packets inside CC records), so that the adversary reads it instead of counting it damaged.
pub const REPAIR: u8 = 0x02;

/// Captures from a fuzz input: byte 0 is flags ([`TWO_VANTAGES`], [`CORE_FIRST`]); then
/// [`chunks`], each a control byte ([`TO_VANTAGE_1`], [`REPAIR`], and in its top six bits
/// the milliseconds since the vantage's previous packet) and the packet's bytes.
pub fn captures(data: &[u8], max_packets: usize) -> Captures {
    let Some((&flags, rest)) = data.split_first() else {
        return Captures::default();
    };
    let count = if flags & TWO_VANTAGES != 0 { 2 } else { 1 };
    let kinds = if flags & CORE_FIRST != 0 {
        [VantageKind::CoreTap, VantageKind::Mediation]
    } else {
        [VantageKind::Mediation, VantageKind::CoreTap]
    };
    let mut vantages: Vec<VantagePoint> = kinds[..count]
        .iter()
        .map(|&kind| {
            let mediation = kind == VantageKind::Mediation;
            VantagePoint {
                name: format!("f.{kind}"),
                carrier: "f".into(),
                kind,
                packets: Some(PacketCapture {
                    name: format!("f.{kind}"),
                    packets: Default::default(),
                }),
                warrants: if mediation {
                    vec![Warrant {
                        liid: LIID.into(),
                        target_msisdn: TARGET.into(),
                        target_imsi: "001010000000001".into(),
                        kind: WarrantKind::IriAndContent,
                        agency: "fuzz".into(),
                        since: Timestamp::ZERO,
                    }]
                } else {
                    Vec::new()
                },
                call_records: Default::default(),
            }
        })
        .collect();
    let mut clocks = [0u64; 2];
    for chunk in chunks(rest, max_packets) {
        let Some((&ctl, bytes)) = chunk.split_first() else {
            continue;
        };
        let v = usize::from(ctl & TO_VANTAGE_1) % count;
        clocks[v] += u64::from(ctl >> 2);
        let mut bytes = bytes.to_vec();
        if ctl & REPAIR != 0 {
            repair(&mut bytes, 0);
        }
        if let Some(pc) = vantages.get_mut(v).and_then(|v| v.packets.as_mut()) {
            pc.packets.push(Timestamp::from_millis(clocks[v]), &bytes);
        }
    }
    Captures { vantages }
}

/// If `bytes` is an IPv4/UDP datagram, fills in both checksums, after repairing the packet
/// inside it if it carries an LI CC record (as deep as the adversary dissects, and one more).
pub fn repair(bytes: &mut [u8], depth: usize) {
    let Ok(udp) = capture::ip::parse_udp(bytes) else {
        return;
    };
    let payload_len = udp.payload.len();
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    let payload_at = header_len + 8;
    if depth <= adversary::observe::MAX_CC_DEPTH {
        if let Ok(mut rec) = LiRecord::decode(&bytes[payload_at..]) {
            if rec.kind == LiKind::Cc {
                repair(&mut rec.payload, depth + 1);
                if let Ok(enc) = rec.to_bytes() {
                    if enc.len() == payload_len {
                        bytes[payload_at..].copy_from_slice(&enc);
                    }
                }
            }
        }
    }
    capture::ip::fill_checksums(bytes);
}
