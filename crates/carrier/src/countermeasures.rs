//! Countermeasures against traffic analysis, each with its measured cost
//! (`docs/countermeasures.md`):
//!
//! - **Padding** (`padding`), inside the end-to-end encryption. When an app pads or sends Noise
//!   receipts, every end-to-end plaintext is *framed*: `kind (1 byte) ‖ content ‖ 0x80 ‖ 0x00…`
//!   (ISO/IEC 7816-4 padding), kind 1 a text, 2 a receipt. Noise apps pad so that the
//!   transport ciphertext (plaintext + 16-byte tag), the envelope `body` on the wire, is a
//!   multiple of `padding_block` bytes (`block`, 160 by default) or a Padmé length (`padme`); Signal apps pad the plaintext
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
//! All draws come from the seed's `countermeasures` streams. Costs: per app, the IPv4 bytes its
//! handsets exchanged with the OTT server on their radio links ([`AppCosts`]), and, when any
//! countermeasure is on, the same run without countermeasures as the baseline ([`Baseline`]).

use std::collections::BTreeMap;

use proto::wire::{AppPdu, NoiseKind, OttEnvelope};
use rand_core::RngCore;
use scenario::{AppKind, CoverTraffic, Padding, Scenario};
use serde::Serialize;
use simcore::{Duration, SeedTree, SimRng, Timestamp};

use crate::nodes::{Logic, SubNode};
use crate::timer::Timer;
use crate::topology::OTT_ADDR;
use crate::traffic::{draw_length, exp, unit};
use crate::world::World;

/// The session id of cover envelopes (no real session has it: ids are `sender << 32 | n`).
pub const COVER_SESSION: u64 = u64::MAX;

/// Frame kind of a text.
const KIND_TEXT: u8 = 1;
/// Frame kind of a receipt.
const KIND_RECEIPT: u8 = 2;
/// AEAD tag bytes of a Noise transport message.
const TAG: usize = 16;
/// Signal apps' cover bodies: padded length plus this (an estimate of the envelope's header).
const SIGNAL_OVERHEAD: usize = 120;
/// Signal's padding block, the default of `padding_block`.
pub const BLOCK: usize = scenario::DEFAULT_PADDING_BLOCK as usize;

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

/// `len` padded under `p` (`block`: the block of [`Padding::Block`]).
pub fn padded_len(p: Padding, block: usize, len: usize) -> usize {
    let block = block.max(1);
    match p {
        Padding::None => len,
        Padding::Block => len.div_ceil(block).max(1) * block,
        Padding::Padme => padme(len),
    }
}

/// Frames `content` as `kind` and pads it so that the frame plus `overhead` bytes is a padded
/// length under `p`.
pub(crate) fn frame(
    kind: u8,
    content: &[u8],
    p: Padding,
    block: usize,
    overhead: usize,
) -> Vec<u8> {
    let base = content.len() + 2;
    let target = padded_len(p, block, base + overhead) - overhead;
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

/// What a received end-to-end plaintext turned out to be.
pub(crate) enum Opened {
    /// A text for the user.
    Text(Vec<u8>),
    /// A receipt (no user-visible content).
    Receipt,
    /// Not a valid frame.
    Bad,
}

/// Something held for later.
enum Held {
    /// A Noise receipt to send in session `sid`.
    Receipt { sid: u64, content: Vec<u8> },
    /// Signal envelopes (receipts) to send, encoded.
    Signal { pdus: Vec<Vec<u8>> },
}

/// Countermeasure state of a run.
pub(crate) struct Cm {
    /// Per app index: its countermeasures, and whether plaintexts are framed.
    apps: Vec<(scenario::Countermeasures, bool)>,
    cover_rng: SimRng,
    receipt_rng: SimRng,
    held: BTreeMap<u64, Held>,
    next: u64,
    /// Per app: cover envelopes sent, receipts sent.
    pub(crate) counts: BTreeMap<usize, (u64, u64)>,
}

impl Cm {
    pub(crate) fn new(sc: &Scenario, seeds: &SeedTree) -> Cm {
        let s = seeds.child("countermeasures");
        Cm {
            apps: sc
                .apps
                .iter()
                .map(|a| {
                    let c = a.countermeasures.clone();
                    let framed = match a.kind {
                        AppKind::Noise { .. } => c.padding != Padding::None || c.noise_receipts,
                        AppKind::Signal(_) => c.padding != Padding::None,
                        _ => false,
                    };
                    (c, framed)
                })
                .collect(),
            cover_rng: s.stream("cover"),
            receipt_rng: s.stream("receipts"),
            held: BTreeMap::new(),
            next: 0,
            counts: BTreeMap::new(),
        }
    }

    fn hold(&mut self, h: Held) -> u64 {
        let id = crate::timer::hold_id(self.next);
        self.next += 1;
        self.held.insert(id, h);
        id
    }

    /// The plaintext to encrypt for `text` in app `app` (`overhead`: bytes the encryption
    /// adds that padding should account for).
    pub(crate) fn seal(&self, app: usize, text: &[u8], overhead: usize) -> Vec<u8> {
        match self.apps.get(app) {
            Some((c, true)) => frame(
                KIND_TEXT,
                text,
                c.padding,
                c.padding_block as usize,
                overhead,
            ),
            _ => text.to_vec(),
        }
    }

    /// What a decrypted plaintext of app `app` is.
    pub(crate) fn open(&self, app: usize, bytes: Vec<u8>) -> Opened {
        match self.apps.get(app) {
            Some((_, true)) => match unframe(bytes) {
                Some((KIND_TEXT, t)) => Opened::Text(t),
                Some((KIND_RECEIPT, _)) => Opened::Receipt,
                _ => Opened::Bad,
            },
            _ => Opened::Text(bytes),
        }
    }

    fn config(&self, app: usize) -> Option<&scenario::Countermeasures> {
        self.apps.get(app).map(|a| &a.0)
    }
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

impl World<'_> {
    /// Schedules every handset's first cover envelope.
    pub(crate) fn cm_start(&mut self) {
        for i in 0..self.dir.subs.len() {
            let app = self.dir.subs[i].app;
            let Some(c) = self.cm.config(app).cloned() else {
                continue;
            };
            let mean = c.cover_interval.as_secs_f64();
            let first = match c.cover_traffic {
                CoverTraffic::None => continue,
                CoverTraffic::Constant => unit(&mut self.cm.cover_rng) * mean,
                CoverTraffic::Poisson => exp(&mut self.cm.cover_rng, mean),
            };
            let at = Timestamp::ZERO + Duration::from_nanos((first * 1e9) as u64);
            if at < Timestamp::ZERO + self.sc.duration {
                self.io.set_timer(self.sub_node[i], at, Timer::Cover(i));
            }
        }
    }

    /// A countermeasure timer at a handset.
    pub(crate) fn cm_sub_timer(&mut self, sn: &mut SubNode, timer: Timer) {
        match timer {
            Timer::Cover(_) => self.cm_cover(sn),
            Timer::Release(id) => match self.cm.held.remove(&id) {
                Some(Held::Receipt { sid, content }) => self.cm_send_receipt(sn, sid, &content),
                Some(Held::Signal { pdus }) => {
                    for p in pdus {
                        self.ott_send(sn, p);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Sends one cover envelope from `sn` and schedules the next.
    fn cm_cover(&mut self, sn: &mut SubNode) {
        let me = sn.sub;
        let app = self.dir.subs[me].app;
        let Some(c) = self.cm.config(app).cloned() else {
            return;
        };
        let framed = self.cm.apps.get(app).is_some_and(|a| a.1);
        let tl = &self.sc.traffic.message_length;
        let len = draw_length(
            &mut self.cm.cover_rng,
            tl.median,
            tl.sigma,
            tl.min as usize,
            tl.max as usize,
        );
        let (body_len, protocol, from) = match &self.dir.apps[app].kind {
            AppKind::Signal(o) => (
                padded_len(
                    c.padding,
                    c.padding_block as usize,
                    if framed { len + 2 } else { len },
                ) + SIGNAL_OVERHEAD,
                self.dir.apps[app].label.clone(),
                if o.sealed_sender {
                    String::new()
                } else {
                    self.dir.subs[me].msisdn.clone()
                },
            ),
            _ => (
                if framed {
                    padded_len(c.padding, c.padding_block as usize, len + 2 + TAG)
                } else {
                    len + TAG
                },
                String::new(),
                self.dir.subs[me].msisdn.clone(),
            ),
        };
        let mut body = vec![0u8; body_len];
        for b in body.chunks_mut(8) {
            let r = self.cm.cover_rng.next_u64().to_le_bytes();
            b.copy_from_slice(&r[..b.len()]);
        }
        let env = OttEnvelope {
            from,
            to: self.dir.subs[me].msisdn.clone(),
            session: COVER_SESSION,
            kind: NoiseKind::Transport,
            index: 0,
            protocol,
            body,
        };
        if let Ok(b) = AppPdu::Ott(env).to_bytes() {
            self.ott_send(sn, b);
            self.cm.counts.entry(app).or_default().0 += 1;
        }
        let mean = c.cover_interval.as_secs_f64();
        let gap = match c.cover_traffic {
            CoverTraffic::Poisson => exp(&mut self.cm.cover_rng, mean),
            _ => mean,
        };
        let at = self.io.now() + Duration::from_nanos((gap.max(1e-3) * 1e9) as u64);
        if at < Timestamp::ZERO + self.sc.duration {
            self.io.set_timer(self.sub_node[me], at, Timer::Cover(me));
        }
    }

    /// Noise: after `me` received a text in session `sid`, its receipt goes out now or later.
    pub(crate) fn cm_receipt(&mut self, sn: &mut SubNode, sid: u64, text: &[u8]) {
        let app = self.dir.subs[sn.sub].app;
        let Some(c) = self.cm.config(app) else { return };
        if !c.noise_receipts {
            return;
        }
        let mean = c.receipts_delay.as_secs_f64();
        // The receipt names the message by a hash of it (8 bytes, like a timestamp would).
        let content = fnv(text).to_le_bytes().to_vec();
        if mean <= 0.0 {
            return self.cm_send_receipt(sn, sid, &content);
        }
        let d = exp(&mut self.cm.receipt_rng, mean);
        let id = self.cm.hold(Held::Receipt { sid, content });
        let at = self.io.now() + Duration::from_nanos((d * 1e9) as u64);
        self.io
            .set_timer(self.sub_node[sn.sub], at, Timer::Release(id));
    }

    fn cm_send_receipt(&mut self, sn: &mut SubNode, sid: u64, content: &[u8]) {
        let app = self.dir.subs[sn.sub].app;
        let plain = match self.cm.config(app) {
            Some(c) => frame(
                KIND_RECEIPT,
                content,
                c.padding,
                c.padding_block as usize,
                TAG,
            ),
            None => return,
        };
        let now = self.io.now();
        let Some(e) = sn.ott.as_mut().and_then(|o| o.sessions.get_mut(&sid)) else {
            return;
        };
        if e.session.is_dead() || e.session.send(now, plain).is_err() {
            return;
        }
        self.cm.counts.entry(app).or_default().1 += 1;
        self.pump_session(sn, sid);
    }

    /// Signal: holds the device's queued envelopes (its receipts) for `receipts_delay`;
    /// `false` when the app sends them at once.
    pub(crate) fn cm_hold_signal(&mut self, sn: &mut SubNode, dev: &mut signal::Device) -> bool {
        let me = sn.sub;
        let app = self.dir.subs[me].app;
        let mean = self
            .cm
            .config(app)
            .map_or(0.0, |c| c.receipts_delay.as_secs_f64());
        if mean <= 0.0 {
            return false;
        }
        let label = self.dir.apps[app].label.clone();
        let sealed = dev.config().sealed_sender;
        let mut pdus = Vec::new();
        while let Some(t) = dev.poll_transmit() {
            if let Some(b) = self.signal_envelope(me, t, sealed, &label) {
                pdus.push(b);
            }
        }
        if pdus.is_empty() {
            return true;
        }
        let d = exp(&mut self.cm.receipt_rng, mean);
        let id = self.cm.hold(Held::Signal { pdus });
        let at = self.io.now() + Duration::from_nanos((d * 1e9) as u64);
        self.io.set_timer(self.sub_node[me], at, Timer::Release(id));
        true
    }

    /// Per end-to-end app: the bytes its handsets exchanged with the OTT server and what the
    /// countermeasures sent.
    pub(crate) fn cm_costs(&self) -> Costs {
        let mut apps: Vec<AppCosts> = Vec::new();
        let mut settings = Vec::new();
        for (a, app) in self.sc.apps.iter().enumerate() {
            if !matches!(app.kind, AppKind::Noise { .. } | AppKind::Signal(_)) {
                continue;
            }
            let (cover, receipts) = self.cm.counts.get(&a).copied().unwrap_or_default();
            let mixed = match self.logic.get(self.ott_node.0 as usize) {
                Some(Logic::Ott(o)) => o.mixed.get(&a).copied().unwrap_or(0),
                _ => 0,
            };
            let mut c = AppCosts {
                app: app.name.clone(),
                protocol: app.kind.label(),
                cover_messages: cover,
                receipts,
                mixed,
                ..AppCosts::default()
            };
            for s in self.dir.subs.iter().filter(|s| s.app == a) {
                if let Some(crate::nodes::Logic::Sub(sn)) =
                    self.logic.get(self.sub_node[s.index].0 as usize)
                {
                    let (up, down) = sn.ep.bytes_with(OTT_ADDR);
                    c.wire_bytes_up += up;
                    c.wire_bytes_down += down;
                }
            }
            for m in self.truth.messages.iter().filter(|m| m.app == app.name) {
                if m.protocol.label() == c.protocol {
                    c.payload_bytes += m.text.len() as u64;
                    c.messages += 1;
                }
            }
            apps.push(c);
            settings.push((app.name.clone(), app.countermeasures.clone()));
        }
        Costs {
            apps,
            settings,
            baseline: None,
        }
    }
}

/// FNV-1a, 64 bits.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
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
                let f = frame(KIND_TEXT, &text, p, BLOCK, TAG);
                assert_eq!(
                    padded_len(p, BLOCK, f.len() + TAG),
                    f.len() + TAG,
                    "{p:?} {n}"
                );
                assert_eq!(unframe(f), Some((KIND_TEXT, text)));
            }
        }
        assert_eq!(
            frame(KIND_TEXT, b"x", Padding::Block, BLOCK, TAG).len() + TAG,
            160
        );
        assert_eq!(
            frame(KIND_TEXT, b"x", Padding::Block, 64, TAG).len() + TAG,
            64
        );
        assert_eq!(unframe(vec![1, 2, 3]), None);
    }
}
