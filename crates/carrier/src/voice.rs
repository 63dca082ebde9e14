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

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use netsim::Packet;
use proto::noise::{NoiseKind, NoiseMessage, NoiseSession, SessionEvent};
use proto::wire::{AppPdu, ByeCause, CallKind, CallNetwork, CallPdu, MediaPdu, MEDIA_PORT};
use rand_core::RngCore;
use scenario::VoiceMode;
use serde::Serialize;
use simcore::{Duration, SeedTree, Timestamp};
use zeroize::Zeroizing;

use crate::io::NodeEvent;
use crate::nodes::SubNode;
use crate::timer::{CallAct, Timer};
use crate::topology::{smsc_addr, OTT_ADDR};
use crate::traffic::{exp, social_graph, unit, TrafficParams};
use crate::world::World;

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
            } else if u < c.busy + (1.0 - c.busy) * c.answer {
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
    fn seal(&self, call_id: u64, seq: u32, frame: &[u8]) -> Option<Vec<u8>> {
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

    fn open(&self, call_id: u64, seq: u32, ct: &[u8]) -> Option<Vec<u8>> {
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

/// One party's end of a call.
#[derive(Default)]
pub(crate) struct Leg {
    pub seq: u32,
    pub media_on: bool,
    pub ended: bool,
}

/// A call in progress, driven by the world.
pub(crate) struct CallState {
    pub plan: PlannedCall,
    pub call_id: u64,
    /// `None`: carrier voice; `Some(mode)`: over the OTT app.
    pub ott: Option<VoiceMode>,
    pub caller: Leg,
    pub callee: Leg,
    pub noise_caller: Option<NoiseSession>,
    pub noise_callee: Option<NoiseSession>,
    pub keys_caller: Option<MediaKeys>,
    pub keys_callee: Option<MediaKeys>,
    pub truth: usize,
    pub answered: bool,
    pub over: bool,
}

impl World<'_> {
    /// Sets up every planned call: a state, a truth entry and the start timer.
    pub(crate) fn schedule_calls(&mut self, calls: Vec<PlannedCall>) {
        for (i, plan) in calls.into_iter().enumerate() {
            let (a, b) = (&self.dir.subs[plan.caller], &self.dir.subs[plan.callee]);
            let app = &self.dir.apps[a.app];
            let mode = self.sc.apps[a.app].voice;
            let ott = (a.app == b.app
                && app.protocol().is_some()
                && !app.one_way
                && mode != VoiceMode::Off)
                .then_some(mode);
            let call_id = ((plan.caller as u64) << 32) | (i as u64 + 1);
            self.truth.calls.push(TruthCall {
                call_id,
                caller: plan.caller,
                callee: plan.callee,
                kind: match ott {
                    None => "carrier".into(),
                    Some(VoiceMode::P2p) => "ott-p2p".into(),
                    Some(_) => "ott-relay".into(),
                },
                app: if ott.is_some() {
                    app.name.clone()
                } else {
                    String::new()
                },
                start: plan.at,
                answer: None,
                end: None,
                cause: String::new(),
                caller_packets: 0,
                caller_bytes: 0,
                callee_packets: 0,
                callee_bytes: 0,
                packets_received: 0,
                media_errors: 0,
            });
            let node = self.sub_node[plan.caller];
            self.io
                .set_timer(node, plan.at, call_token(i, CallAct::Start));
            self.calls.push(CallState {
                plan,
                call_id,
                ott,
                caller: Leg::default(),
                callee: Leg::default(),
                noise_caller: None,
                noise_callee: None,
                keys_caller: None,
                keys_callee: None,
                truth: self.truth.calls.len() - 1,
                answered: false,
                over: false,
            });
        }
    }

    fn call_pdu(&self, i: usize, kind: CallKind, cause: ByeCause, body: Vec<u8>) -> CallPdu {
        let c = &self.calls[i];
        CallPdu {
            kind,
            network: if c.ott.is_some() {
                CallNetwork::Ott
            } else {
                CallNetwork::Carrier
            },
            call_id: c.call_id,
            from: self.dir.subs[c.plan.caller].msisdn.clone(),
            to: self.dir.subs[c.plan.callee].msisdn.clone(),
            cause,
            body,
        }
    }

    /// Sends call signalling from a handset: to its MSC (carrier voice) or the OTT server.
    fn sub_signal(&mut self, sn: &mut SubNode, i: usize, pdu: CallPdu) {
        let Ok(bytes) = AppPdu::Call(pdu).to_bytes() else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        if self.calls[i].ott.is_some() {
            self.ott_send(sn, bytes);
        } else {
            sn.ep.send(
                &mut self.io,
                smsc_addr(self.dir.subs[sn.sub].carrier),
                bytes,
            );
        }
    }

    /// A call timer at handset `sn`.
    pub(crate) fn call_timer(&mut self, sn: &mut SubNode, i: usize, act: CallAct) {
        if i >= self.calls.len() {
            return;
        }
        let now = self.io.now();
        match act {
            CallAct::Start => {
                let mut body = Vec::new();
                if self.calls[i].ott.is_some() {
                    let cfg = self.session_config(
                        self.calls[i].plan.caller,
                        self.calls[i].plan.callee,
                        true,
                        self.calls[i].call_id,
                    );
                    if let Ok(mut s) = NoiseSession::new(cfg) {
                        let _ = s.start(now);
                        if let Some(m) = s.poll_transmit() {
                            body = m.bytes;
                        }
                        self.calls[i].noise_caller = Some(s);
                    }
                }
                let pdu = self.call_pdu(i, CallKind::Invite, ByeCause::Normal, body);
                self.sub_signal(sn, i, pdu);
                let give_up = now + RING_TIMEOUT;
                self.io
                    .set_timer(sn.ep.node(), give_up, call_token(i, CallAct::Cancel));
            }
            CallAct::Cancel if !self.calls[i].answered && !self.calls[i].over => {
                self.calls[i].over = true;
                let t = self.calls[i].truth;
                self.truth.calls[t].end = Some(now);
                self.truth.calls[t].cause = "no-answer".into();
                let pdu = self.call_pdu(i, CallKind::Cancel, ByeCause::Normal, Vec::new());
                self.sub_signal(sn, i, pdu);
            }
            CallAct::Cancel => {}
            CallAct::Answer => {
                if self.calls[i].over {
                    return;
                }
                self.calls[i].answered = true;
                let t = self.calls[i].truth;
                self.truth.calls[t].answer = Some(now);
                let pdu = self.call_pdu(i, CallKind::Answer, ByeCause::Normal, Vec::new());
                self.sub_signal(sn, i, pdu);
                self.start_media(i, false);
                if let Outcome::Answered {
                    talk,
                    caller_hangs_up,
                    ..
                } = self.calls[i].plan.outcome
                {
                    let who = if caller_hangs_up {
                        self.calls[i].plan.caller
                    } else {
                        self.calls[i].plan.callee
                    };
                    self.io.set_timer(
                        self.sub_node[who],
                        now + talk,
                        call_token(i, CallAct::Hangup),
                    );
                }
            }
            CallAct::Hangup => {
                if self.calls[i].over {
                    return;
                }
                self.calls[i].over = true;
                let radio = matches!(
                    self.calls[i].plan.outcome,
                    Outcome::Answered {
                        radio_loss: true,
                        ..
                    }
                );
                let t = self.calls[i].truth;
                self.truth.calls[t].end = Some(now);
                self.truth.calls[t].cause = if radio { "radio-loss" } else { "normal" }.into();
                let caller = sn.sub == self.calls[i].plan.caller;
                self.leg(i, caller).ended = true;
                self.leg(i, caller).media_on = false;
                let cause = if radio {
                    ByeCause::RadioLoss
                } else {
                    ByeCause::Normal
                };
                let pdu = self.call_pdu(i, CallKind::Bye, cause, Vec::new());
                self.sub_signal(sn, i, pdu);
            }
            CallAct::MediaCaller | CallAct::MediaCallee => {
                self.media_tick(i, act == CallAct::MediaCaller);
            }
        }
    }

    fn leg(&mut self, i: usize, caller: bool) -> &mut Leg {
        if caller {
            &mut self.calls[i].caller
        } else {
            &mut self.calls[i].callee
        }
    }

    fn start_media(&mut self, i: usize, caller: bool) {
        let leg = self.leg(i, caller);
        if leg.media_on || leg.ended {
            return;
        }
        leg.media_on = true;
        let party = if caller {
            self.calls[i].plan.caller
        } else {
            self.calls[i].plan.callee
        };
        let act = if caller {
            CallAct::MediaCaller
        } else {
            CallAct::MediaCallee
        };
        let now = self.io.now();
        self.io
            .set_timer(self.sub_node[party], now, call_token(i, act));
    }

    /// Sends one media packet from one party and schedules the next.
    fn media_tick(&mut self, i: usize, caller: bool) {
        let now = self.io.now();
        if !self.leg(i, caller).media_on {
            return;
        }
        let c = &self.calls[i];
        let (me, peer) = if caller {
            (c.plan.caller, c.plan.callee)
        } else {
            (c.plan.callee, c.plan.caller)
        };
        let seq = if caller { c.caller.seq } else { c.callee.seq };
        let frame = clear_frame(
            c.call_id,
            caller,
            seq,
            self.sc.traffic.media_payload as usize,
        );
        let keys = if caller {
            c.keys_caller.as_ref()
        } else {
            c.keys_callee.as_ref()
        };
        let (payload, encrypted, dst) = match c.ott {
            None => (Some(frame), false, smsc_addr(self.dir.subs[me].carrier)),
            Some(mode) => (
                keys.and_then(|k| k.seal(c.call_id, seq, &frame)),
                true,
                if mode == VoiceMode::P2p {
                    self.dir.subs[peer].ip
                } else {
                    OTT_ADDR
                },
            ),
        };
        let call_id = c.call_id;
        let t = c.truth;
        if let Some(payload) = payload {
            let pdu = MediaPdu {
                call_id,
                seq,
                encrypted,
                payload,
            };
            if let Ok(bytes) = pdu.to_bytes() {
                let src = SocketAddrV4::new(self.dir.subs[me].ip, MEDIA_PORT);
                if let Ok(p) = Packet::udp(src, SocketAddrV4::new(dst, MEDIA_PORT), &bytes) {
                    let len = p.len() as u64;
                    self.io.transmit(self.sub_node[me], p);
                    let tc = &mut self.truth.calls[t];
                    if caller {
                        tc.caller_packets += 1;
                        tc.caller_bytes += len;
                    } else {
                        tc.callee_packets += 1;
                        tc.callee_bytes += len;
                    }
                }
            }
            let leg = self.leg(i, caller);
            leg.seq = leg.seq.wrapping_add(1);
        }
        let act = if caller {
            CallAct::MediaCaller
        } else {
            CallAct::MediaCallee
        };
        let next = now + self.sc.traffic.media_interval;
        self.io
            .set_timer(self.sub_node[me], next, call_token(i, act));
    }

    fn call_index(&self, call_id: u64) -> Option<usize> {
        let i = (call_id & 0xFFFF_FFFF) as usize;
        (i >= 1 && i <= self.calls.len() && self.calls[i - 1].call_id == call_id).then(|| i - 1)
    }

    /// Call signalling delivered to a handset.
    pub(crate) fn sub_call(&mut self, sn: &mut SubNode, pdu: CallPdu) {
        let Some(i) = self.call_index(pdu.call_id) else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        let now = self.io.now();
        let caller = sn.sub == self.calls[i].plan.caller;
        match (pdu.kind, caller) {
            (CallKind::Invite, false) => {
                if self.calls[i].ott.is_some() {
                    let cfg = self.session_config(
                        self.calls[i].plan.callee,
                        self.calls[i].plan.caller,
                        false,
                        self.calls[i].call_id,
                    );
                    if let Ok(s) = NoiseSession::new(cfg) {
                        self.calls[i].noise_callee = Some(s);
                    }
                    self.handshake(sn, i, false, pdu.body, 1);
                }
                match self.calls[i].plan.outcome {
                    Outcome::Busy => {
                        self.calls[i].over = true;
                        let t = self.calls[i].truth;
                        self.truth.calls[t].end = Some(now);
                        self.truth.calls[t].cause = "busy".into();
                        let p = self.call_pdu(i, CallKind::Busy, ByeCause::Normal, Vec::new());
                        self.sub_signal(sn, i, p);
                    }
                    outcome => {
                        let p = self.call_pdu(i, CallKind::Ringing, ByeCause::Normal, Vec::new());
                        self.sub_signal(sn, i, p);
                        if let Outcome::Answered { ring, .. } = outcome {
                            self.io.set_timer(
                                sn.ep.node(),
                                now + ring,
                                call_token(i, CallAct::Answer),
                            );
                        }
                    }
                }
            }
            (CallKind::Key, _) => {
                let index = if caller { 2 } else { 3 };
                self.handshake(sn, i, caller, pdu.body, index);
            }
            (CallKind::Answer, true) => self.start_media(i, true),
            (CallKind::Bye, _) => {
                let leg = self.leg(i, caller);
                leg.media_on = false;
                leg.ended = true;
            }
            _ => {}
        }
    }

    /// Feeds an end-to-end handshake message to a party's call session; sends what it
    /// answers as KEY messages and derives the media keys once established.
    fn handshake(&mut self, sn: &mut SubNode, i: usize, caller: bool, body: Vec<u8>, index: u8) {
        let now = self.io.now();
        let mut out = Vec::new();
        let mut keys = None;
        {
            let c = &mut self.calls[i];
            let s = if caller {
                c.noise_caller.as_mut()
            } else {
                c.noise_callee.as_mut()
            };
            let Some(s) = s else { return };
            let msg = NoiseMessage {
                kind: NoiseKind::Handshake,
                index,
                bytes: body,
            };
            let _ = s.handle_message(now, &msg);
            while let Some(m) = s.poll_transmit() {
                out.push(m.bytes);
            }
            while let Some(ev) = s.poll_event() {
                if let SessionEvent::Failed(e) = ev {
                    tracing::debug!(call = c.call_id, "call handshake failed: {e}");
                }
            }
            if s.is_established() {
                if let Some(k) = s.transport_keys() {
                    let (i2r, r2i) = (k.initiator_to_responder, k.responder_to_initiator);
                    if let Some(r2i) = r2i {
                        keys = Some(if caller {
                            MediaKeys {
                                send: i2r,
                                recv: r2i,
                            }
                        } else {
                            MediaKeys {
                                send: r2i,
                                recv: i2r,
                            }
                        });
                    }
                }
            }
        }
        if let Some(k) = keys {
            if caller {
                self.calls[i].keys_caller = Some(k);
            } else {
                self.calls[i].keys_callee = Some(k);
            }
        }
        for b in out {
            let p = self.call_pdu(i, CallKind::Key, ByeCause::Normal, b);
            self.sub_signal(sn, i, p);
        }
    }

    /// A media packet delivered to a handset.
    pub(crate) fn sub_media(&mut self, sub: usize, packet: &Packet) {
        let Ok(m) = MediaPdu::decode(packet.udp_payload()) else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        let Some(i) = self.call_index(m.call_id) else {
            return;
        };
        let c = &self.calls[i];
        let caller = sub == c.plan.caller;
        let ok = if m.encrypted {
            let keys = if caller {
                c.keys_caller.as_ref()
            } else {
                c.keys_callee.as_ref()
            };
            keys.and_then(|k| k.open(c.call_id, m.seq, &m.payload))
                .is_some_and(|f| f.starts_with(FRAME_MARKER))
        } else {
            m.payload.starts_with(FRAME_MARKER)
        };
        let t = c.truth;
        if ok {
            self.truth.calls[t].packets_received += 1;
        } else {
            self.truth.calls[t].media_errors += 1;
        }
    }
}

fn call_token(call: usize, act: CallAct) -> Timer {
    Timer::Call { call, act }
}
