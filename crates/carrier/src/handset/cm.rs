//! The handset's countermeasures against traffic analysis (`docs/countermeasures.md`; the
//! framing and padding functions are in [`crate::countermeasures`]): framing and padding of
//! end-to-end plaintexts, Noise receipts and delayed receipts, and cover traffic.

use std::collections::BTreeMap;

use proto::wire::{AppPdu, NoiseKind, OttEnvelope};
use rand_core::RngCore;
use scenario::{AppKind, CoverTraffic, Padding, Scenario};
use simcore::{Duration, SimRng, Timestamp};

use super::{Env, Handset};
use crate::countermeasures::{frame, padded_len, unframe, COVER_SESSION};
use crate::io::Io;
use crate::timer::Timer;
use crate::traffic::{draw_length, exp, unit};

/// Frame kind of a text.
const KIND_TEXT: u8 = 1;
/// Frame kind of a receipt.
const KIND_RECEIPT: u8 = 2;
/// AEAD tag bytes of a Noise transport message.
pub(crate) const TAG: usize = 16;
/// Signal apps' cover bodies: padded length plus this (an estimate of the envelope's header).
const SIGNAL_OVERHEAD: usize = 120;

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

/// The handset's own random streams for countermeasures: cover traffic and receipt delays.
pub(crate) struct Streams {
    pub cover: SimRng,
    pub receipts: SimRng,
}

/// One handset's countermeasure state.
pub(crate) struct State {
    /// The app's countermeasures.
    config: scenario::Countermeasures,
    /// Whether end-to-end plaintexts are framed (padding or Noise receipts on).
    framed: bool,
    held: BTreeMap<u64, Held>,
    next: u64,
    streams: Streams,
    /// Cover envelopes sent.
    pub(crate) cover_sent: u64,
    /// Noise receipts sent.
    pub(crate) receipts_sent: u64,
}

impl State {
    /// The state of a handset of app `app` of `sc`, drawing from `streams`.
    pub(crate) fn new(sc: &Scenario, app: usize, streams: Streams) -> State {
        let config = sc
            .apps
            .get(app)
            .map(|a| a.countermeasures.clone())
            .unwrap_or_default();
        let framed = match sc.apps.get(app).map(|a| &a.kind) {
            Some(AppKind::Noise { .. }) => config.padding != Padding::None || config.noise_receipts,
            Some(AppKind::Signal(_)) => config.padding != Padding::None,
            _ => false,
        };
        State {
            config,
            framed,
            held: BTreeMap::new(),
            next: 0,
            streams,
            cover_sent: 0,
            receipts_sent: 0,
        }
    }

    fn hold(&mut self, h: Held) -> u64 {
        let id = crate::timer::hold_id(self.next);
        self.next += 1;
        self.held.insert(id, h);
        id
    }

    /// The plaintext to encrypt for `text` (`overhead`: bytes the encryption adds that padding
    /// should account for).
    pub(crate) fn seal(&self, text: &[u8], overhead: usize) -> Vec<u8> {
        if self.framed {
            frame(KIND_TEXT, text, self.config.padding, overhead)
        } else {
            text.to_vec()
        }
    }

    /// The plaintext of a receipt with `content`, framed and padded.
    pub(crate) fn receipt_frame(&self, content: &[u8]) -> Vec<u8> {
        frame(KIND_RECEIPT, content, self.config.padding, TAG)
    }

    /// Whether Signal receipts are held for a delay before they are sent.
    pub(crate) fn holds_receipts(&self) -> bool {
        self.config.receipts_delay.as_secs_f64() > 0.0
    }

    /// What a decrypted plaintext is.
    pub(crate) fn open(&self, bytes: Vec<u8>) -> Opened {
        if !self.framed {
            return Opened::Text(bytes);
        }
        match unframe(bytes) {
            Some((KIND_TEXT, t)) => Opened::Text(t),
            Some((KIND_RECEIPT, _)) => Opened::Receipt,
            _ => Opened::Bad,
        }
    }
}

impl Handset {
    /// Schedules the handset's first cover envelope.
    pub(super) fn cm_start(&mut self, env: &mut Env<'_>, io: &mut Io) {
        let c = &self.cm.config;
        let mean = c.cover_interval.as_secs_f64();
        let first = match c.cover_traffic {
            CoverTraffic::None => return,
            CoverTraffic::Constant => unit(&mut self.cm.streams.cover) * mean,
            CoverTraffic::Poisson => exp(&mut self.cm.streams.cover, mean),
        };
        let at = Timestamp::ZERO + Duration::from_nanos((first * 1e9) as u64);
        if at < Timestamp::ZERO + env.sc.duration {
            io.set_timer(self.ep.node(), at, Timer::Cover(self.sub));
        }
    }

    /// A held receipt (or held Signal envelopes) is due.
    pub(super) fn cm_release(&mut self, env: &mut Env<'_>, io: &mut Io, id: u64) {
        match self.cm.held.remove(&id) {
            Some(Held::Receipt { sid, content }) => {
                self.with_app(|app, h| app.receipt_due(h, env, io, sid, content));
            }
            Some(Held::Signal { pdus }) => {
                for p in pdus {
                    self.ott_send(io, p);
                }
            }
            None => {}
        }
    }

    /// Sends one cover envelope and schedules the next.
    pub(super) fn cm_cover(&mut self, env: &mut Env<'_>, io: &mut Io) {
        let me = self.sub;
        let app = env.dir.subs[me].app;
        let c = self.cm.config.clone();
        let tl = &env.sc.traffic.message_length;
        let rng = &mut self.cm.streams.cover;
        let len = draw_length(rng, tl.median, tl.sigma, tl.min as usize, tl.max as usize);
        let framed = self.cm.framed;
        let (body_len, protocol, from) = match &env.dir.apps[app].kind {
            AppKind::Signal(o) => (
                padded_len(c.padding, if framed { len + 2 } else { len }) + SIGNAL_OVERHEAD,
                env.dir.apps[app].label.clone(),
                if o.sealed_sender {
                    String::new()
                } else {
                    env.dir.subs[me].msisdn.clone()
                },
            ),
            _ => (
                if framed {
                    padded_len(c.padding, len + 2 + TAG)
                } else {
                    len + TAG
                },
                String::new(),
                env.dir.subs[me].msisdn.clone(),
            ),
        };
        let mut body = vec![0u8; body_len];
        for b in body.chunks_mut(8) {
            let r = rng.next_u64().to_le_bytes();
            b.copy_from_slice(&r[..b.len()]);
        }
        let envelope = OttEnvelope {
            from,
            to: env.dir.subs[me].msisdn.clone(),
            session: COVER_SESSION,
            kind: NoiseKind::Transport,
            index: 0,
            protocol,
            body,
        };
        let mean = c.cover_interval.as_secs_f64();
        let gap = match c.cover_traffic {
            CoverTraffic::Poisson => Some(exp(rng, mean)),
            _ => None,
        };
        if let Ok(b) = AppPdu::Ott(envelope).to_bytes() {
            self.ott_send(io, b);
            self.cm.cover_sent += 1;
        }
        let gap = gap.unwrap_or(mean);
        let at = io.now() + Duration::from_nanos((gap.max(1e-3) * 1e9) as u64);
        if at < Timestamp::ZERO + env.sc.duration {
            io.set_timer(self.ep.node(), at, Timer::Cover(me));
        }
    }

    /// Noise: after receiving a text in session `sid`, its receipt goes out now (the content
    /// to send is returned) or is held for `receipts_delay`; `None` without receipts.
    pub(super) fn cm_receipt(&mut self, io: &mut Io, sid: u64, text: &[u8]) -> Option<Vec<u8>> {
        if !self.cm.config.noise_receipts {
            return None;
        }
        let mean = self.cm.config.receipts_delay.as_secs_f64();
        // The receipt names the message by a hash of it (8 bytes, like a timestamp would).
        let content = fnv(text).to_le_bytes().to_vec();
        if mean <= 0.0 {
            return Some(content);
        }
        let d = exp(&mut self.cm.streams.receipts, mean);
        let id = self.cm.hold(Held::Receipt { sid, content });
        let at = io.now() + Duration::from_nanos((d * 1e9) as u64);
        io.set_timer(self.ep.node(), at, Timer::Release(id));
        None
    }

    /// Signal: holds `pdus` (the device's receipts) for an exponential delay of mean
    /// `receipts_delay` (see [`State::holds_receipts`]).
    pub(super) fn cm_hold_signal(&mut self, io: &mut Io, pdus: Vec<Vec<u8>>) {
        if pdus.is_empty() {
            return;
        }
        let mean = self.cm.config.receipts_delay.as_secs_f64();
        let d = exp(&mut self.cm.streams.receipts, mean);
        let id = self.cm.hold(Held::Signal { pdus });
        let at = io.now() + Duration::from_nanos((d * 1e9) as u64);
        io.set_timer(self.ep.node(), at, Timer::Release(id));
    }
}

/// FNV-1a, 64 bits.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}
