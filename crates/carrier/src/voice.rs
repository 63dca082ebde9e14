//! Voice calls as sessions: planning, call signalling and media.
//!
//! Two kinds of call:
//!
//! - **Carrier voice.** Handset ↔ its switching centre (MSC, the SMS-centre node) ↔ (the
//!   other carrier's MSC over the interconnect) ↔ the callee's handset. Signalling is
//!   [`CallPdu`]s in reliable frames; media is one [`MediaPdu`] per `media_interval` in each
//!   direction, a codec frame in clear, not retransmitted. The MSCs write the voice records;
//!   the point of interception sees the signalling and copies the media of content targets.
//! - **End-to-end voice over the OTT app** (both parties on the same noise app with
//!   `voice = "relay"` or `"p2p"`, and an interactive pattern). Signalling goes through the OTT
//!   server (inside the server tunnel if the app has one); the INVITE and KEY messages carry a
//!   fresh Noise handshake of the app's pattern (a [`NoiseSession`] per call, keys from the key
//!   directory, pinned as for messages). Media is encrypted with ChaCha20-Poly1305 under the
//!   handshake's transport keys with an explicit nonce `"MEDA" ‖ seq ‖ 0000` (Noise's own
//!   transport nonces start with four zero bytes, so the two never meet), relayed by the OTT
//!   server or sent straight to the peer's address. The carrier sees data sessions to the
//!   OTT server (or the peer).
//!
//! Calls follow a plan drawn with the seed ([`plan_calls`]): per contact pair a Poisson
//! process of `calls_per_contact_per_day`; an outcome (busy, no answer, answered after a ring,
//! then hung up by either side or dropped by radio loss) and an exponential talk time of mean
//! `call_duration` clamped to `[1 s, 10 × mean]`.
//!
//! Each party runs its own leg of the call in its handset ([`crate::handset::voice`]); the
//! driver sets the legs up from the plan and turns what they report into [`TruthCall`]s.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand_core::RngCore;
use serde::Serialize;
use simcore::{Duration, SeedTree, Timestamp};
use zeroize::Zeroizing;

use crate::traffic::{exp, social_graph, unit, TrafficParams};

/// How long a caller lets a phone ring before giving up.
pub(crate) const RING_TIMEOUT: Duration = Duration::from_secs(30);
/// The marker that starts every clear codec frame: what "readable voice" looks like.
pub const FRAME_MARKER: &[u8; 4] = b"VOX:";

/// How a planned call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The callee's line is busy.
    Busy,
    /// Nobody answers; the caller gives up after [`RING_TIMEOUT`].
    NoAnswer,
    /// Answered after `ring`, talked for `talk`; who ends it and how.
    Answered {
        ring: Duration,
        talk: Duration,
        caller_hangs_up: bool,
        radio_loss: bool,
    },
}

/// One call the traffic generator plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedCall {
    pub at: Timestamp,
    pub caller: usize,
    pub callee: usize,
    pub outcome: Outcome,
}

/// The call knobs of `[traffic]`.
#[derive(Clone, Debug)]
pub(crate) struct CallParams {
    pub calls_per_contact_per_day: f64,
    pub mean: Duration,
    pub answer: f64,
    pub busy: f64,
    pub drop: f64,
}

/// Plans every call of the run, sorted by time. A caller already in a call does not call; a
/// callee already in one is busy.
pub(crate) fn plan_calls(
    carrier_of: &[usize],
    carriers: usize,
    p: &TrafficParams,
    c: &CallParams,
    seeds: &SeedTree,
) -> Vec<PlannedCall> {
    if c.calls_per_contact_per_day <= 0.0 {
        return Vec::new();
    }
    // The same graph the messages use: the same stream, drawn again.
    let edges = social_graph(carrier_of, carriers, p, &mut seeds.stream("graph"));
    let mut rng = seeds.stream("calls");
    let rate = c.calls_per_contact_per_day / 86_400.0;
    let horizon = p.duration.as_secs_f64();
    let mean = c.mean.as_secs_f64();
    let mut raw = Vec::new();
    for &(a, b) in &edges {
        let mut t = exp(&mut rng, 1.0 / rate);
        while t < horizon {
            let (caller, callee) = if rng.next_u32() & 1 == 0 {
                (a, b)
            } else {
                (b, a)
            };
            let u = unit(&mut rng);
            let ring = 2.0 + unit(&mut rng) * 13.0;
            let talk = exp(&mut rng, mean).clamp(1.0, 10.0 * mean);
            let caller_hangs_up = rng.next_u32() & 1 == 0;
            let radio_loss = unit(&mut rng) < c.drop;
            let outcome = if u < c.busy {
                Outcome::Busy
            } else if u < c.busy + scenario::planner::answered_share(c.busy, c.answer) {
                Outcome::Answered {
                    ring: Duration::from_millis((ring * 1000.0) as u64),
                    talk: Duration::from_millis((talk * 1000.0) as u64),
                    caller_hangs_up,
                    radio_loss,
                }
            } else {
                Outcome::NoAnswer
            };
            raw.push(PlannedCall {
                at: Timestamp::from_nanos((t * 1e9) as u64),
                caller,
                callee,
                outcome,
            });
            t += exp(&mut rng, 1.0 / rate);
        }
    }
    raw.sort_by_key(|x| (x.at, x.caller, x.callee));
    // One call at a time per subscriber (with a minute of margin for signalling).
    let mut busy_until: BTreeMap<usize, Timestamp> = BTreeMap::new();
    let margin = Duration::from_secs(60);
    let mut out = Vec::new();
    for mut call in raw {
        let free =
            |s: usize, m: &BTreeMap<usize, Timestamp>| m.get(&s).is_none_or(|&u| u <= call.at);
        if !free(call.caller, &busy_until) {
            continue;
        }
        if !free(call.callee, &busy_until) {
            call.outcome = Outcome::Busy;
        }
        let until = call.at
            + match call.outcome {
                Outcome::Busy => margin,
                Outcome::NoAnswer => RING_TIMEOUT + margin,
                Outcome::Answered { ring, talk, .. } => ring + talk + margin,
            };
        busy_until.insert(call.caller, until);
        if call.outcome != Outcome::Busy {
            busy_until.insert(call.callee, until);
        }
        out.push(call);
    }
    out
}

/// One call as it really went (ground truth).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TruthCall {
    /// The call id, as in every signalling message and record of the call.
    pub call_id: u64,
    /// Caller's subscriber index.
    pub caller: usize,
    /// Callee's subscriber index.
    pub callee: usize,
    /// `carrier` (carrier voice), `ott-relay` or `ott-p2p` (end-to-end over the OTT app).
    pub kind: String,
    /// The app for OTT calls; empty for carrier voice.
    pub app: String,
    /// When the caller sent the INVITE.
    pub start: Timestamp,
    /// When the callee answered, if it did.
    pub answer: Option<Timestamp>,
    /// When the call ended (hang-up, radio loss, busy, or the caller giving up), at the party
    /// that ended it.
    pub end: Option<Timestamp>,
    /// `normal`, `no-answer`, `busy` or `radio-loss`.
    pub cause: String,
    /// Media packets and IPv4 bytes the caller sent.
    pub caller_packets: u64,
    /// Media IPv4 bytes the caller sent.
    pub caller_bytes: u64,
    /// Media packets the callee sent.
    pub callee_packets: u64,
    /// Media IPv4 bytes the callee sent.
    pub callee_bytes: u64,
    /// Media packets received intact (and, end to end, authenticated) by the other party.
    pub packets_received: u64,
    /// Media packets that failed authentication (must stay 0 without an attacker).
    pub media_errors: u64,
}

/// Per-direction media keys of an end-to-end call; wiped on drop.
pub(crate) struct MediaKeys {
    send: Zeroizing<[u8; 32]>,
    recv: Zeroizing<[u8; 32]>,
}

fn nonce(seq: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(b"MEDA");
    n[4..8].copy_from_slice(&seq.to_be_bytes());
    Nonce::from(n)
}

fn aad(call_id: u64, seq: u32) -> [u8; 12] {
    let mut a = [0u8; 12];
    a[..8].copy_from_slice(&call_id.to_be_bytes());
    a[8..].copy_from_slice(&seq.to_be_bytes());
    a
}

impl MediaKeys {
    /// Keys for sending and receiving.
    pub(crate) fn new(send: Zeroizing<[u8; 32]>, recv: Zeroizing<[u8; 32]>) -> Self {
        MediaKeys { send, recv }
    }

    /// Encrypts media frame `seq` of call `call_id`.
    pub(crate) fn seal(&self, call_id: u64, seq: u32, frame: &[u8]) -> Option<Vec<u8>> {
        let c = ChaCha20Poly1305::new((&*self.send).into());
        c.encrypt(
            &nonce(seq),
            Payload {
                msg: frame,
                aad: &aad(call_id, seq),
            },
        )
        .ok()
    }

    /// Decrypts media frame `seq` of call `call_id`.
    pub(crate) fn open(&self, call_id: u64, seq: u32, ct: &[u8]) -> Option<Vec<u8>> {
        let c = ChaCha20Poly1305::new((&*self.recv).into());
        c.decrypt(
            &nonce(seq),
            Payload {
                msg: ct,
                aad: &aad(call_id, seq),
            },
        )
        .ok()
    }
}

/// A clear codec frame: [`FRAME_MARKER`], the call id, the direction and the frame number,
/// then filler to `size` bytes.
pub fn clear_frame(call_id: u64, from_caller: bool, seq: u32, size: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(size.max(17));
    f.extend_from_slice(FRAME_MARKER);
    f.extend_from_slice(&call_id.to_be_bytes());
    f.push(u8::from(from_caller));
    f.extend_from_slice(&seq.to_be_bytes());
    let mut x = (call_id as u32) ^ seq;
    while f.len() < size {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f.push((x >> 24) as u8);
    }
    f
}
