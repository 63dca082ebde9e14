//! Message-size fingerprinting: what the length of an encrypted message says about its text.
//!
//! The adversary reads sizes with the protocols' public formats only (`proto::wire`, the
//! Noise patterns, the Signal-style envelope of `docs/signal.md` and the apps' plaintext framing
//! of `docs/countermeasures.md`) and what it observes:
//!
//! 1. **Payload length Q.** A tunnelled message to or from a relay is an OTT envelope inside a
//!    Noise transport message: `Q = size − (envelope and tunnel overhead)`, computed from the
//!    wire format with MSISDNs of the length most common in clear traffic; Q is the end-to-end
//!    Noise ciphertext. An envelope seen in the clear gives Q from its body: a Noise transport
//!    body is the ciphertext; a Signal-style envelope is parsed down to its ratchet ciphertext
//!    (plain envelopes by their content type, including prekey messages; sealed ones as a
//!    ratchet message with a clear header), and Q is the data frame's body (ciphertext − tag −
//!    9-byte frame header). A Signal frame of exactly a receipt's length is a receipt (*other*).
//! 2. **Handshakes.** Every handshake-message size of the common Noise patterns (X25519;
//!    ChaChaPoly or AESGCM; SHA256, SHA512, BLAKE2s or BLAKE2b; empty payloads) that occurs
//!    at least 3 times. Tunnelled messages are handshakes only as a *whole handshake*: a party's
//!    message of a pattern's message-1 size, then each next message of that pattern in the
//!    other direction within [`HANDSHAKE_GAP_NS`] of the previous (other traffic may come
//!    between). Only patterns *in use* count: at least 3 whole handshakes, and at least 3 times
//!    (plus 3) as many as the same sizes make in the *same* direction (which no real handshake
//!    does, and texts of those sizes do about as often as alternating). A text whose length happens to equal a
//!    handshake size has no such sequence and stays a text. Under block padding, a pattern all of whose sizes are also padded text
//!    sizes is not told apart from texts by size, and its matches count as texts (texts are far
//!    more common). Clear envelopes say their kind.
//! 3. **Encoding**, per protocol family (Noise, Signal), from the Q of its texts: *block
//!    padding* of B bytes when at least 95 % of them are multiples of B ≥ 32 (B = the greatest
//!    common divisor of the most common lengths making up 95 % of the texts), or else 80 % of
//!    all its messages (texts may have been taken for handshakes of a pattern whose sizes are
//!    padded sizes); *Padmé* when at least 98 % of them are Padmé lengths; *framing* (one kind byte
//!    and one 0x80 byte around the text) whenever there is padding, and for Noise without
//!    padding when the framed receipt's Q (8 bytes of content + 2 + 16) recurs.
//! 4. **Length interval** of each text: exact without padding (`Q − 16`, `− 18` framed, for
//!    Noise; `Q`, `Q − 2` framed, for Signal); under padding every length that pads to Q.
//! 5. **Prior and estimate.** The adversary's prior over text lengths is the maximum-likelihood
//!    distribution of the observed intervals (EM over interval-censored data, Turnbull 1976),
//!    from sizes alone. Each text's length estimate is the most probable length of its
//!    interval under the prior, its bucket estimate the most probable bucket (of the
//!    configurable width) of its interval; where the prior cannot tell candidates apart (inside
//!    one padding block it is flat) the median of the tied ones. Without padding the interval
//!    is one length, so the estimate is exact; under padding the estimate is what the sizes and
//!    the learnt prior support, and no more: the scorer prints the base rate beside it.
//!
//! Cost: O(n log n) for n messages, plus O(I · w) per EM iteration for I distinct intervals of
//! width w (intervals are shared by all messages of one size).

use std::collections::BTreeMap;

use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, OttEnvelopeRef, TunnelPdu};
use serde::Serialize;
use simcore::Timestamp;

use super::packets::Traffic;
use crate::noise::Protocol;

/// The AEAD tag length.
const TAG: u32 = 16;
/// IPv4 and UDP headers.
const IP_UDP: usize = 28;
/// Default width of a length bucket, bytes.
pub const BUCKET: u32 = 20;
/// A handshake message's neighbour (message i ± 1) must be within this of it, nanoseconds.
pub const HANDSHAKE_GAP_NS: u64 = 10_000_000_000;
/// Bytes of a Signal data frame's header (type and message id).
const SIGNAL_FRAME: u32 = 9;
/// Bytes of a framed receipt's content in a Noise app (a hash of the message).
const RECEIPT_CONTENT: u32 = 8;
/// EM iterations of the length prior.
const EM_ROUNDS: usize = 50;

/// What an encrypted message is, judged by its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeClass {
    /// A handshake message of a common Noise pattern.
    Handshake,
    /// A message carrying text.
    Text,
    /// Smaller than any text, or a receipt: not a text.
    Other,
}

/// The protocol family whose format a payload length was read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Noise transport messages (tunnelled or clear).
    Noise,
    /// Signal-style ratchet messages (clear envelopes).
    Signal,
}

/// A clear envelope read with the public formats (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClearPayload {
    /// A Noise handshake message (the envelope's kind).
    Handshake,
    /// A Noise transport message with body (ciphertext) length `q`.
    Noise {
        /// The ciphertext length.
        q: u32,
    },
    /// A Signal data frame whose body (the app's plaintext) is `q` bytes.
    Signal {
        /// The frame body length.
        q: u32,
    },
    /// A Signal receipt, or nothing the formats explain.
    Other,
}

/// The label of one encrypted message.
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
    /// Texts: the most probable text length.
    pub length: Option<u32>,
    /// Texts: the lower bound of the most probable length bucket.
    pub bucket: Option<u32>,
    /// Texts: the lengths consistent with the size, `(lowest, highest)`.
    pub interval: Option<(u32, u32)>,
}

/// The encoding the adversary inferred for a protocol family.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Encoding {
    /// Texts seen.
    pub texts: usize,
    /// Plaintexts framed (kind byte and 0x80 terminator).
    pub framed: bool,
    /// Block padding of this many bytes, if detected.
    pub block: Option<u32>,
    /// Padmé padding detected.
    pub padme: bool,
}

/// What the sizes revealed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SizeFindings {
    /// The size of a tunnelled transport message with an empty payload.
    pub transport_overhead: u32,
    /// Distinct handshake sizes known.
    pub handshake_sizes: usize,
    /// Width of the length buckets, bytes.
    pub bucket_width: u32,
    /// The encoding inferred per family (`"noise"`, `"signal"`).
    pub encodings: BTreeMap<String, Encoding>,
    /// Messages per class.
    pub by_class: BTreeMap<String, usize>,
    /// Texts per estimated length bucket, keyed by the bucket's lower bound.
    pub text_lengths: BTreeMap<u32, usize>,
    /// One label per message: tunnelled uplinks, tunnelled downlinks, then clear envelopes,
    /// each in time order.
    pub labels: Vec<SizeLabel>,
}

/// The lower bound of the bucket of width `width` holding `len`.
pub fn bucket_of(len: u32, width: u32) -> u32 {
    let w = width.max(1);
    len / w * w
}

/// The lower bound of the default-width bucket of a plaintext length.
pub fn bucket(len: u32) -> u32 {
    bucket_of(len, BUCKET)
}

fn framed(env: OttEnvelope) -> Option<usize> {
    let inner = AppPdu::Ott(env).to_bytes().ok()?;
    let tunnel = AppPdu::Tunnel(TunnelPdu {
        kind: NoiseKind::Transport,
        noise: vec![0; inner.len() + TAG as usize],
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
    framed(envelope(
        msisdn_len,
        NoiseKind::Transport,
        0,
        "",
        TAG as usize,
    ))
    .unwrap_or(0)
}

/// One handshake message of a common pattern: `(tunnelled size, pattern id, message index)`.
pub type HandshakeSize = (u32, u32, u8);

/// Every tunnelled handshake message of the common patterns with empty payloads, sorted.
pub fn handshake_table(msisdn_len: usize) -> Vec<HandshakeSize> {
    const PATTERNS: [&str; 12] = [
        "NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX",
    ];
    let mut out = Vec::new();
    let mut id = 0u32;
    for p in PATTERNS {
        for c in ["ChaChaPoly", "AESGCM"] {
            for h in ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"] {
                let name = format!("Noise_{p}_25519_{c}_{h}");
                let Ok(proto) = Protocol::parse(&name) else {
                    continue;
                };
                id += 1;
                for i in 1..=proto.message_count() {
                    let Some(body) = proto.message_len(i, 0) else {
                        continue;
                    };
                    let index = u8::try_from(i).unwrap_or(u8::MAX);
                    let env = envelope(msisdn_len, NoiseKind::Handshake, index, &name, body);
                    if let Some(n) = framed(env) {
                        out.push((u32::try_from(n).unwrap_or(u32::MAX), id, index));
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Every distinct tunnelled handshake size of the common patterns with empty payloads.
pub fn handshake_sizes(msisdn_len: usize) -> Vec<u32> {
    let mut v: Vec<u32> = handshake_table(msisdn_len).iter().map(|h| h.0).collect();
    v.dedup();
    v
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

/// Reads a clear envelope with the public formats. Never panics.
pub fn clear_payload(env: &OttEnvelopeRef<'_>) -> ClearPayload {
    if !env.is_signal() {
        return match env.kind {
            NoiseKind::Handshake => ClearPayload::Handshake,
            NoiseKind::Transport => u32::try_from(env.body.len())
                .map_or(ClearPayload::Other, |q| ClearPayload::Noise { q }),
        };
    }
    signal_ciphertext(env.body)
        .and_then(|ct| ct.checked_sub(TAG + SIGNAL_FRAME))
        // An empty frame body is a receipt's length (`2 | id`): not a text.
        .filter(|&q| q > 0)
        .map_or(ClearPayload::Other, |q| ClearPayload::Signal { q })
}

/// The ratchet ciphertext length of a Signal-style envelope (`docs/signal.md`): a plain
/// envelope's content is parsed (prekey prefix, clear or encrypted header); a sealed one is
/// read as a ratchet message with a clear header inside the sealed ciphertext.
fn signal_ciphertext(b: &[u8]) -> Option<u32> {
    const CLEAR_HEADER: usize = 1 + 40;
    const ENC_HEADER: usize = 1 + 12 + 40 + 16;
    if *b.first()? != 0x31 {
        return None;
    }
    let kind = *b.get(1)?;
    let head = match kind {
        1 => 2 + 8 + 8 + 4,
        2 => 2 + 8 + 4,
        _ => return None,
    };
    let content = b.get(head..)?;
    let ct = if kind == 2 {
        // E (32) | enc_static (48) | AEAD(content)
        let inner = content.len().checked_sub(32 + 48 + TAG as usize)?;
        inner.checked_sub(CLEAR_HEADER)?
    } else {
        let mut pos = 0usize;
        if *content.first()? == 1 {
            pos = 1 + 32 + 32 + 4;
            pos += match *content.get(pos)? {
                0 => 1,
                1 => 5,
                _ => return None,
            };
            pos += match *content.get(pos)? {
                0 => 1,
                1 => 1 + 4 + 1568,
                _ => return None,
            };
        }
        let header = match *content.get(pos)? {
            2 => CLEAR_HEADER,
            3 => ENC_HEADER,
            _ => return None,
        };
        content.len().checked_sub(pos + header)?
    };
    u32::try_from(ct).ok()
}

/// The Padmé length of `len` (Nikitin et al., PETS 2019).
fn padme(len: u32) -> u32 {
    if len < 2 {
        return len;
    }
    let e = u32::BITS - 1 - len.leading_zeros();
    let s = u32::BITS - 1 - e.leading_zeros();
    let last_bits = e.saturating_sub(s + 1);
    let mask = (1u32 << last_bits) - 1;
    len.saturating_add(mask) & !mask
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The padding block of payload lengths `qs`: the greatest common divisor of the most common
/// lengths that make up a `share` of them, if it is at least 32 and that share of all lengths
/// are its multiples (a few other messages must not hide it).
fn block_of(qs: &[u32], share: f64) -> Option<u32> {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for &q in qs {
        *counts.entry(q).or_default() += 1;
    }
    let mut by_count: Vec<(u32, usize)> = counts.into_iter().collect();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let need = share * qs.len() as f64;
    let (mut g, mut covered) = (0, 0usize);
    for (q, n) in by_count {
        if covered as f64 >= need {
            break;
        }
        g = gcd(g, q);
        covered += n;
    }
    let multiples = qs.iter().filter(|&&q| g > 0 && q % g == 0).count();
    (g >= 32 && multiples as f64 >= need).then_some(g)
}

impl Encoding {
    /// Infers the encoding of a family from the payload lengths of its texts.
    fn infer(family: Family, qs: &[u32]) -> Encoding {
        let mut e = Encoding {
            texts: qs.len(),
            ..Encoding::default()
        };
        if qs.len() < 5 {
            return e;
        }
        if let Some(b) = block_of(qs, 0.95) {
            e.block = Some(b);
        } else if qs.iter().filter(|&&q| padme(q) == q).count() * 50 >= qs.len() * 49 {
            e.padme = true;
        }
        e.framed = e.block.is_some() || e.padme;
        if !e.framed && family == Family::Noise {
            // Receipts of a Noise app are framed: 8 bytes of content, 2 of framing, the tag.
            let receipt = RECEIPT_CONTENT + 2 + TAG;
            e.framed = !recurring(&[receipt], qs).is_empty();
        }
        e
    }

    /// The text lengths whose encoding has payload length `q`, `(lowest, highest)`.
    fn interval(&self, family: Family, q: u32) -> Option<(u32, u32)> {
        // The quantity padding pads is the text plus `pad_extra`; Q minus `fixed` is the text.
        let (fixed, pad_extra) = match (family, self.framed) {
            (Family::Noise, false) => (TAG, TAG),
            (Family::Noise, true) => (TAG + 2, TAG + 2),
            (Family::Signal, false) => (0, 0),
            (Family::Signal, true) => (2, 2),
        };
        let hi = q.checked_sub(fixed)?;
        let lo = if let Some(b) = self.block {
            // padded = ceil((L + extra) / B) · B, at least B: L + extra in (Q − B, Q].
            (q.saturating_sub(b) + 1).saturating_sub(pad_extra)
        } else if self.padme {
            let mut x = q;
            while x > 1 && padme(x - 1) == q {
                x -= 1;
            }
            x.saturating_sub(pad_extra)
        } else {
            hi
        };
        Some((lo.min(hi), hi))
    }
}

/// The maximum-likelihood distribution of lengths given interval observations `(interval,
/// count)` (EM, Turnbull 1976), over `0..=max`.
fn length_prior(intervals: &BTreeMap<(u32, u32), usize>) -> Vec<f64> {
    let max = intervals.keys().map(|k| k.1).max().unwrap_or(0) as usize;
    let mut prior = vec![1.0 / (max + 1) as f64; max + 1];
    let exact = intervals.keys().all(|k| k.0 == k.1);
    let rounds = if exact { 1 } else { EM_ROUNDS };
    for _ in 0..rounds {
        let mut next = vec![0.0; max + 1];
        for (&(lo, hi), &n) in intervals {
            let (lo, hi) = (lo as usize, hi as usize);
            let mass: f64 = prior[lo..=hi].iter().sum();
            if mass <= 0.0 {
                continue;
            }
            for x in lo..=hi {
                next[x] += n as f64 * prior[x] / mass;
            }
        }
        let total: f64 = next.iter().sum();
        if total <= 0.0 {
            break;
        }
        for v in &mut next {
            *v /= total;
        }
        prior = next;
    }
    prior
}

/// The middle of the candidates whose mass is (within rounding) the largest: the most probable
/// one, and among equally probable ones the median (the Bayes choice under absolute error when
/// the prior cannot tell them apart, as within one padding block).
fn most_probable(cands: &[(u32, f64)]) -> Option<u32> {
    let max = cands.iter().map(|c| c.1).fold(f64::MIN, f64::max);
    let tol = max.abs() * 1e-9;
    let tied: Vec<u32> = cands
        .iter()
        .filter(|c| c.1 >= max - tol)
        .map(|c| c.0)
        .collect();
    tied.get(tied.len().checked_sub(1)? / 2).copied()
}

/// The most probable length and bucket (lower bound) of `(lo, hi)` under `prior`.
fn estimate(prior: &[f64], (lo, hi): (u32, u32), width: u32) -> (u32, u32) {
    let p = |x: u32| prior.get(x as usize).copied().unwrap_or(0.0);
    let lengths: Vec<(u32, f64)> = (lo..=hi).map(|x| (x, p(x))).collect();
    let w = width.max(1);
    let mut buckets: Vec<(u32, f64)> = Vec::new();
    let mut b = bucket_of(lo, w);
    loop {
        let from = b.max(lo);
        let to = b.saturating_add(w - 1).min(hi);
        // Mass per byte of the bucket inside the interval would favour cut buckets; the mass
        // itself is the probability that the text is in that bucket.
        buckets.push((b, (from..=to).map(p).sum()));
        match b.checked_add(w) {
            Some(n) if n <= hi => b = n,
            _ => break,
        }
    }
    (
        most_probable(&lengths).unwrap_or(lo),
        most_probable(&buckets).unwrap_or(bucket_of(lo, w)),
    )
}

/// One message before its class and length are decided.
struct Message {
    time: u64,
    party: u32,
    uplink: bool,
    size: u32,
    class: SizeClass,
    family: Family,
    q: Option<u32>,
}

/// Labels every message of `t` with buckets of `width` bytes.
pub fn analyze(t: &Traffic, width: u32) -> SizeFindings {
    let width = width.max(1);
    let overhead = u32::try_from(transport_overhead(t.msisdn_len)).unwrap_or(u32::MAX);
    let all: Vec<u32> = t.ups.iter().chain(&t.downs).map(|s| s.size).collect();
    let table = handshake_table(t.msisdn_len);
    let candidates: Vec<u32> = {
        let mut v: Vec<u32> = table.iter().map(|h| h.0).collect();
        v.dedup();
        v
    };
    // Handshake sizes seen at least 3 times (whole handshakes are then required of them).
    let hs: Vec<u32> = {
        let mut sorted = all.clone();
        sorted.sort_unstable();
        candidates
            .iter()
            .copied()
            .filter(|&c| {
                sorted.partition_point(|&x| x <= c) - sorted.partition_point(|&x| x < c) >= 3
            })
            .collect()
    };
    let table: Vec<HandshakeSize> = table
        .into_iter()
        .filter(|h| hs.binary_search(&h.0).is_ok())
        .collect();

    // Tunnelled messages: Q from the size; handshake by size and a neighbour.
    let mut msgs: Vec<Message> = Vec::with_capacity(all.len() + t.clear.len());
    for (uplink, list) in [(true, &t.ups), (false, &t.downs)] {
        for s in list {
            let q = (s.size + TAG).checked_sub(overhead).filter(|&q| q >= TAG);
            msgs.push(Message {
                time: s.time,
                party: s.party,
                uplink,
                size: s.size,
                class: if q.is_some() {
                    SizeClass::Text
                } else {
                    SizeClass::Other
                },
                family: Family::Noise,
                q,
            });
        }
    }
    let trial = mark_handshakes(&msgs, &table, true);
    let control = mark_handshakes(&msgs, &table, false);
    let in_use = patterns_in_use(&table, &trial, &control);
    let table: Vec<HandshakeSize> = table
        .into_iter()
        .filter(|h| in_use.contains(&h.1))
        .collect();
    let pattern_of = mark_handshakes(&msgs, &table, true);
    for (m, h) in msgs.iter_mut().zip(&pattern_of) {
        if h.is_some() {
            m.class = SizeClass::Handshake;
        }
    }
    for c in &t.clear {
        let (class, family, q) = match c.payload {
            ClearPayload::Handshake => (SizeClass::Handshake, Family::Noise, None),
            ClearPayload::Noise { q } if q >= TAG => (SizeClass::Text, Family::Noise, Some(q)),
            ClearPayload::Signal { q } => (SizeClass::Text, Family::Signal, Some(q)),
            ClearPayload::Noise { .. } => (SizeClass::Other, Family::Noise, None),
            ClearPayload::Other => (SizeClass::Other, Family::Signal, None),
        };
        msgs.push(Message {
            time: c.time,
            party: c.party,
            uplink: c.uplink,
            size: c.size,
            class,
            family,
            q,
        });
    }

    // Encodings, intervals, the prior, the estimates.
    let mut f = SizeFindings {
        transport_overhead: overhead,
        handshake_sizes: hs.len(),
        bucket_width: width,
        ..SizeFindings::default()
    };
    let mut encodings: BTreeMap<Family, Encoding> = BTreeMap::new();
    for fam in [Family::Noise, Family::Signal] {
        let texts: Vec<u32> = msgs
            .iter()
            .filter(|m| m.family == fam && m.class == SizeClass::Text)
            .filter_map(|m| m.q)
            .collect();
        // The block from every message with a payload length (a handshake pattern whose sizes
        // are padded text sizes may have claimed texts), the rest from the texts.
        let every: Vec<u32> = msgs
            .iter()
            .filter(|m| m.family == fam)
            .filter_map(|m| m.q)
            .collect();
        if !texts.is_empty() {
            let mut e = Encoding::infer(fam, &texts);
            // The finer block wins when the texts' block is a multiple of it (texts of one
            // size only, the others taken for handshakes).
            if let Some(b) = block_of(&every, 0.8) {
                if e.block.is_none_or(|t| t % b == 0) {
                    e = Encoding {
                        block: Some(b),
                        padme: false,
                        framed: true,
                        ..e
                    };
                }
            }
            encodings.insert(fam, e);
        }
    }
    // Under block padding, a "handshake" whose every message size is also a padded text size
    // is told apart from texts by nothing but its order: texts are far more common, so those
    // are texts.
    if let Some(b) = encodings.get(&Family::Noise).and_then(|e| e.block) {
        let padded = |size: u32| {
            (size + TAG)
                .checked_sub(overhead)
                .is_some_and(|q| q % b == 0)
        };
        let ambiguous: Vec<u32> = table
            .iter()
            .map(|h| h.1)
            .filter(|&p| table.iter().filter(|h| h.1 == p).all(|h| padded(h.0)))
            .collect();
        for (m, p) in msgs.iter_mut().zip(&pattern_of) {
            if p.is_some_and(|p| ambiguous.contains(&p)) {
                m.class = SizeClass::Text;
            }
        }
    }
    let intervals: Vec<Option<(u32, u32)>> = msgs
        .iter()
        .map(|m| {
            let e = encodings.get(&m.family)?;
            (m.class == SizeClass::Text)
                .then(|| m.q.and_then(|q| e.interval(m.family, q)))
                .flatten()
        })
        .collect();
    let mut counts: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for i in intervals.iter().flatten() {
        *counts.entry(*i).or_default() += 1;
    }
    let prior = length_prior(&counts);
    let estimates: BTreeMap<(u32, u32), (u32, u32)> = counts
        .keys()
        .map(|&i| (i, estimate(&prior, i, width)))
        .collect();
    for (m, interval) in msgs.iter().zip(&intervals) {
        // A text whose size no encoding explains is not a text.
        let class = match (m.class, interval) {
            (SizeClass::Text, None) => SizeClass::Other,
            (c, _) => c,
        };
        let est = interval.and_then(|i| estimates.get(&i).copied());
        let name = match class {
            SizeClass::Handshake => "handshake",
            SizeClass::Text => "text",
            SizeClass::Other => "other",
        };
        *f.by_class.entry(name.to_owned()).or_default() += 1;
        if let Some((_, b)) = est {
            *f.text_lengths.entry(b).or_default() += 1;
        }
        f.labels.push(SizeLabel {
            time: Timestamp::from_nanos(m.time),
            party: t.name(m.party).to_owned(),
            uplink: m.uplink,
            size: m.size,
            class,
            length: est.map(|e| e.0),
            bucket: est.map(|e| e.1),
            interval: *interval,
        });
    }
    f.encodings = encodings
        .into_iter()
        .map(|(fam, e)| {
            let k = match fam {
                Family::Noise => "noise",
                Family::Signal => "signal",
            };
            (k.to_owned(), e)
        })
        .collect();
    f
}

/// Marks tunnelled messages as handshakes where a party's messages hold a whole handshake of
/// a known pattern: message 1 of its sizes, then each next message of the pattern in the other
/// direction within [`HANDSHAKE_GAP_NS`] of the previous one (other traffic may come between).
/// Returns the pattern id of each message marked. O(n log n + n·P·m·c) for P patterns of m
/// messages and c messages of the party within the gap.
fn mark_handshakes(msgs: &[Message], table: &[HandshakeSize], alternate: bool) -> Vec<Option<u32>> {
    let mut size_of: BTreeMap<(u32, u8), u32> = BTreeMap::new();
    let mut len_of: BTreeMap<u32, u8> = BTreeMap::new();
    for &(size, p, i) in table {
        size_of.insert((p, i), size);
        let e = len_of.entry(p).or_default();
        *e = (*e).max(i);
    }
    // Patterns whose message 1 has each size.
    let mut starts: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(size, p, i) in table {
        if i == 1 {
            starts.entry(size).or_default().push(p);
        }
    }
    // Longer patterns first: a shorter one must not take the first messages of a longer one.
    for v in starts.values_mut() {
        v.sort_unstable_by_key(|p| (core::cmp::Reverse(len_of.get(p).copied()), *p));
    }
    let mut by_party: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, m) in msgs.iter().enumerate() {
        by_party.entry(m.party).or_default().push(i);
    }
    let mut marked: Vec<Option<u32>> = vec![None; msgs.len()];
    for list in by_party.values_mut() {
        list.sort_unstable_by_key(|&i| (msgs[i].time, i));
        for k in 0..list.len() {
            let first = list[k];
            if marked[first].is_some() {
                continue;
            }
            let Some(patterns) = starts.get(&msgs[first].size) else {
                continue;
            };
            'pattern: for &p in patterns {
                let m = len_of.get(&p).copied().unwrap_or(1);
                let mut seq = vec![first];
                let mut at = k;
                for i in 2..=m {
                    let Some(&want) = size_of.get(&(p, i)) else {
                        continue 'pattern;
                    };
                    let prev = list[at];
                    let next = list[at + 1..]
                        .iter()
                        .enumerate()
                        .take_while(|(_, &j)| {
                            msgs[j].time.abs_diff(msgs[prev].time) <= HANDSHAKE_GAP_NS
                        })
                        .find(|(_, &j)| {
                            marked[j].is_none()
                                && (msgs[j].uplink != msgs[prev].uplink) == alternate
                                && msgs[j].size == want
                        });
                    let Some((off, &j)) = next else {
                        continue 'pattern;
                    };
                    seq.push(j);
                    at += 1 + off;
                }
                for j in seq {
                    marked[j] = Some(p);
                }
                break;
            }
        }
    }
    marked
}

/// The patterns in use: those with at least 3 whole handshakes in the trial marking and at
/// least three times as many as (plus 3) in a control marking that asks the same sizes in the
/// *same* direction, which no real handshake does: texts that happen to have a pattern's sizes
/// match both about equally often.
fn patterns_in_use(
    table: &[HandshakeSize],
    trial: &[Option<u32>],
    control: &[Option<u32>],
) -> Vec<u32> {
    let count = |marks: &[Option<u32>]| {
        let mut m: BTreeMap<u32, usize> = BTreeMap::new();
        for p in marks.iter().flatten() {
            *m.entry(*p).or_default() += 1;
        }
        m
    };
    let (real, chance) = (count(trial), count(control));
    real.into_iter()
        .filter(|&(p, n)| {
            let len = table.iter().filter(|h| h.1 == p).count().max(1);
            let whole = n / len;
            let by_chance = chance.get(&p).copied().unwrap_or(0) / len;
            whole >= 3 && whole >= 3 * by_chance + 3
        })
        .map(|(p, _)| p)
        .collect()
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
        assert_eq!(bucket(39), 20);
        assert_eq!(bucket_of(39, 32), 32);
        // 150 recurs, 160 does not stand out from its neighbours.
        let mut sizes = vec![150; 10];
        sizes.extend(155..175);
        assert_eq!(recurring(&[150, 160], &sizes), vec![150]);
    }

    #[test]
    fn encodings_are_inferred_from_payload_lengths() {
        // Unpadded, unframed Noise texts: exact lengths.
        let qs: Vec<u32> = (0..40).map(|i| 16 + 5 + i * 7 % 90).collect();
        let e = Encoding::infer(Family::Noise, &qs);
        assert_eq!((e.block, e.padme, e.framed), (None, false, false));
        assert_eq!(e.interval(Family::Noise, 60), Some((44, 44)));
        // With receipts: the framed receipt's Q (26) recurs, so texts are framed (−18).
        let mut with_receipts = qs.clone();
        with_receipts.extend([26; 30]);
        let e = Encoding::infer(Family::Noise, &with_receipts);
        assert!(e.framed);
        assert_eq!(e.interval(Family::Noise, 60), Some((42, 42)));
        // Block padding of 64: every Q a multiple of 64.
        let e = Encoding::infer(Family::Noise, &[64, 128, 64, 64, 192, 64]);
        assert_eq!(e.block, Some(64));
        // One mislabelled message among forty does not hide the block.
        let mut qs: Vec<u32> = (0..39).map(|i| 64 * (1 + i % 3)).collect();
        qs.push(77);
        assert_eq!(Encoding::infer(Family::Noise, &qs).block, Some(64));
        // Q = 128: L + 18 in (64, 128] → L in [47, 110].
        assert_eq!(e.interval(Family::Noise, 128), Some((47, 110)));
        assert_eq!(e.interval(Family::Noise, 64), Some((0, 46)));
        // Signal, padded to 160 inside the frame: L + 2 in (0, 160].
        let e = Encoding::infer(Family::Signal, &[160; 6]);
        assert_eq!(e.interval(Family::Signal, 160), Some((0, 158)));
    }

    #[test]
    fn the_estimate_follows_the_prior_learnt_from_sizes() {
        // Exact observations of 30 (five times) and 50: an interval [20, 60] is most likely 30.
        let mut obs = BTreeMap::new();
        obs.insert((30, 30), 5);
        obs.insert((50, 50), 1);
        obs.insert((20, 60), 3);
        let prior = length_prior(&obs);
        assert_eq!(estimate(&prior, (20, 60), 20), (30, 20));
        assert_eq!(estimate(&prior, (50, 50), 20), (50, 40));
        // One padding block and nothing else: the prior is flat inside it, and the estimate is
        // the median length and the middle bucket.
        let mut obs = BTreeMap::new();
        obs.insert((0, 142), 10);
        let prior = length_prior(&obs);
        assert_eq!(estimate(&prior, (0, 142), 20), (71, 60));
    }

    #[test]
    fn signal_envelopes_are_read_down_to_the_frame() {
        // A plain envelope of a ratchet message with a clear header whose frame body is 37
        // bytes: content = 2 | header (40) | ct (9 + 37 + 16).
        let ct = 9 + 37 + 16;
        let mut content = vec![2u8];
        content.extend([0u8; 40]);
        content.extend(vec![0u8; ct]);
        let mut body = vec![0x31, 1];
        body.extend([0u8; 16]);
        body.extend((content.len() as u32).to_be_bytes());
        body.extend(&content);
        let env = OttEnvelope {
            from: "+15550000001".into(),
            to: "+15550000002".into(),
            session: 0,
            kind: NoiseKind::Transport,
            index: 0,
            protocol: "signal".into(),
            body,
        };
        assert_eq!(
            clear_payload(&env.borrowed()),
            ClearPayload::Signal { q: 37 }
        );
    }
}
