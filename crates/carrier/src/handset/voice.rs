//! This handset's leg of each voice call (the model is described in [`crate::voice`]): call
//! signalling to its MSC or the OTT server, the call's Noise handshake for end-to-end calls, and
//! one media frame per `media_interval` while the call is up. What really happened to a call
//! goes to the driver as [`CallFact`]s.

use std::net::SocketAddrV4;

use netsim::Packet;
use proto::noise::{NoiseKind, NoiseMessage, NoiseSession, SessionEvent};
use proto::wire::{AppPdu, ByeCause, CallKind, CallNetwork, CallPdu, MediaPdu, MEDIA_PORT};
use scenario::VoiceMode;

use super::{Env, Handset};
use crate::io::{CallFact, Io, NodeEvent};
use crate::timer::{CallAct, Timer};
use crate::topology::{smsc_addr, OTT_ADDR};
use crate::voice::{clear_frame, MediaKeys, Outcome, PlannedCall, FRAME_MARKER, RING_TIMEOUT};

/// One party's end of a call.
pub(crate) struct Leg {
    /// The call as planned: what the users will do (answer, hang up, and when).
    plan: PlannedCall,
    call_id: u64,
    /// `None`: carrier voice; `Some(mode)`: over the OTT app.
    ott: Option<VoiceMode>,
    /// Whether this party is the caller.
    caller: bool,
    seq: u32,
    media_on: bool,
    ended: bool,
    answered: bool,
    over: bool,
    /// The call's Noise session (end-to-end calls).
    noise: Option<NoiseSession>,
    /// The media keys, once the handshake is done.
    keys: Option<MediaKeys>,
}

impl Leg {
    pub(crate) fn new(
        plan: PlannedCall,
        call_id: u64,
        ott: Option<VoiceMode>,
        caller: bool,
    ) -> Self {
        Leg {
            plan,
            call_id,
            ott,
            caller,
            seq: 0,
            media_on: false,
            ended: false,
            answered: false,
            over: false,
            noise: None,
            keys: None,
        }
    }
}

fn call_token(call: usize, act: CallAct) -> Timer {
    Timer::Call { call, act }
}

/// The plan index of a call id (`caller << 32 | index + 1`).
fn call_index(call_id: u64) -> Option<usize> {
    ((call_id & 0xFFFF_FFFF) as usize).checked_sub(1)
}

impl Handset {
    /// This party's leg of call `i` of the plan.
    pub(crate) fn plan_call(&mut self, i: usize, leg: Leg) {
        self.calls.insert(i, leg);
    }

    fn leg_of(&self, call_id: u64) -> Option<usize> {
        let i = call_index(call_id)?;
        self.calls
            .get(&i)
            .is_some_and(|l| l.call_id == call_id)
            .then_some(i)
    }

    fn call_pdu(
        &self,
        env: &Env<'_>,
        i: usize,
        kind: CallKind,
        cause: ByeCause,
        body: Vec<u8>,
    ) -> Option<CallPdu> {
        let c = self.calls.get(&i)?;
        Some(CallPdu {
            kind,
            network: if c.ott.is_some() {
                CallNetwork::Ott
            } else {
                CallNetwork::Carrier
            },
            call_id: c.call_id,
            from: env.dir.subs[c.plan.caller].msisdn.clone(),
            to: env.dir.subs[c.plan.callee].msisdn.clone(),
            cause,
            body,
        })
    }

    /// Sends call signalling: to the MSC (carrier voice) or the OTT server.
    fn signal_call(
        &mut self,
        env: &Env<'_>,
        io: &mut Io,
        i: usize,
        kind: CallKind,
        cause: ByeCause,
        body: Vec<u8>,
    ) {
        let Some(pdu) = self.call_pdu(env, i, kind, cause, body) else {
            return;
        };
        let Ok(bytes) = AppPdu::Call(pdu).to_bytes() else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        if self.calls.get(&i).is_some_and(|c| c.ott.is_some()) {
            self.ott_send(io, bytes);
        } else {
            let smsc = smsc_addr(env.dir.subs[self.sub].carrier);
            self.ep.send(io, smsc, bytes);
        }
    }

    /// A call timer.
    pub(super) fn call_timer(&mut self, env: &mut Env<'_>, io: &mut Io, i: usize, act: CallAct) {
        let Some(c) = self.calls.get(&i) else { return };
        let now = io.now();
        match act {
            CallAct::Start => {
                let mut body = Vec::new();
                if c.ott.is_some() {
                    let cfg = self.session_config(env, c.plan.callee, true, c.call_id);
                    if let Ok(mut s) = NoiseSession::new(cfg) {
                        let _ = s.start(now);
                        if let Some(m) = s.poll_transmit() {
                            body = m.bytes;
                        }
                        if let Some(c) = self.calls.get_mut(&i) {
                            c.noise = Some(s);
                        }
                    }
                }
                self.signal_call(env, io, i, CallKind::Invite, ByeCause::Normal, body);
                io.set_timer(
                    self.ep.node(),
                    now + RING_TIMEOUT,
                    call_token(i, CallAct::Cancel),
                );
            }
            CallAct::Cancel if !c.answered && !c.over => {
                if let Some(c) = self.calls.get_mut(&i) {
                    c.over = true;
                }
                io.emit(NodeEvent::Call {
                    call: i,
                    fact: CallFact::Ended { cause: "no-answer" },
                });
                self.signal_call(env, io, i, CallKind::Cancel, ByeCause::Normal, Vec::new());
            }
            CallAct::Cancel => {}
            CallAct::Answer => {
                if c.over {
                    return;
                }
                let outcome = c.plan.outcome;
                if let Some(c) = self.calls.get_mut(&i) {
                    c.answered = true;
                }
                io.emit(NodeEvent::Call {
                    call: i,
                    fact: CallFact::Answered,
                });
                self.signal_call(env, io, i, CallKind::Answer, ByeCause::Normal, Vec::new());
                self.start_media(io, i);
                self.schedule_hangup(io, i, outcome, false);
            }
            CallAct::Hangup => {
                if c.over {
                    return;
                }
                let radio = matches!(
                    c.plan.outcome,
                    Outcome::Answered {
                        radio_loss: true,
                        ..
                    }
                );
                if let Some(c) = self.calls.get_mut(&i) {
                    c.over = true;
                    c.ended = true;
                    c.media_on = false;
                }
                io.emit(NodeEvent::Call {
                    call: i,
                    fact: CallFact::Ended {
                        cause: if radio { "radio-loss" } else { "normal" },
                    },
                });
                let cause = if radio {
                    ByeCause::RadioLoss
                } else {
                    ByeCause::Normal
                };
                self.signal_call(env, io, i, CallKind::Bye, cause, Vec::new());
            }
            CallAct::MediaCaller | CallAct::MediaCallee => self.media_tick(env, io, i),
        }
    }

    /// Once call `i` is answered (for the caller: once it hears so), the party that ends it
    /// sets its own hang-up timer for the planned talk time.
    fn schedule_hangup(&mut self, io: &mut Io, i: usize, outcome: Outcome, caller: bool) {
        if let Outcome::Answered {
            talk,
            caller_hangs_up,
            ..
        } = outcome
        {
            if caller_hangs_up == caller {
                io.set_timer(
                    self.ep.node(),
                    io.now() + talk,
                    call_token(i, CallAct::Hangup),
                );
            }
        }
    }

    fn start_media(&mut self, io: &mut Io, i: usize) {
        let node = self.ep.node();
        let Some(c) = self.calls.get_mut(&i) else {
            return;
        };
        if c.media_on || c.ended {
            return;
        }
        c.media_on = true;
        let act = if c.caller {
            CallAct::MediaCaller
        } else {
            CallAct::MediaCallee
        };
        io.set_timer(node, io.now(), call_token(i, act));
    }

    /// Sends one media packet and schedules the next.
    fn media_tick(&mut self, env: &Env<'_>, io: &mut Io, i: usize) {
        let now = io.now();
        let node = self.ep.node();
        let me = self.sub;
        let Some(c) = self.calls.get_mut(&i) else {
            return;
        };
        if !c.media_on {
            return;
        }
        let peer = if c.caller {
            c.plan.callee
        } else {
            c.plan.caller
        };
        let frame = clear_frame(
            c.call_id,
            c.caller,
            c.seq,
            env.sc.traffic.media_payload as usize,
        );
        let (payload, encrypted, dst) = match c.ott {
            None => (Some(frame), false, smsc_addr(env.dir.subs[me].carrier)),
            Some(mode) => (
                c.keys
                    .as_ref()
                    .and_then(|k| k.seal(c.call_id, c.seq, &frame)),
                true,
                if mode == VoiceMode::P2p {
                    env.dir.subs[peer].ip
                } else {
                    OTT_ADDR
                },
            ),
        };
        if let Some(payload) = payload {
            let pdu = MediaPdu {
                call_id: c.call_id,
                seq: c.seq,
                encrypted,
                payload,
            };
            if let Ok(bytes) = pdu.to_bytes() {
                let src = SocketAddrV4::new(env.dir.subs[me].ip, MEDIA_PORT);
                if let Ok(p) = Packet::udp(src, SocketAddrV4::new(dst, MEDIA_PORT), &bytes) {
                    let bytes = p.len() as u64;
                    io.transmit(node, p);
                    io.emit(NodeEvent::Call {
                        call: i,
                        fact: CallFact::MediaSent {
                            caller: c.caller,
                            bytes,
                        },
                    });
                }
            }
            c.seq = c.seq.wrapping_add(1);
        }
        let act = if c.caller {
            CallAct::MediaCaller
        } else {
            CallAct::MediaCallee
        };
        io.set_timer(
            node,
            now + env.sc.traffic.media_interval,
            call_token(i, act),
        );
    }

    /// Call signalling delivered to the handset.
    pub(super) fn receive_call(&mut self, env: &mut Env<'_>, io: &mut Io, pdu: CallPdu) {
        let Some(i) = self.leg_of(pdu.call_id) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let now = io.now();
        let Some(c) = self.calls.get(&i) else { return };
        let caller = c.caller;
        match (pdu.kind, caller) {
            (CallKind::Invite, false) => {
                if c.ott.is_some() {
                    let cfg = self.session_config(env, c.plan.caller, false, c.call_id);
                    if let (Ok(s), Some(c)) = (NoiseSession::new(cfg), self.calls.get_mut(&i)) {
                        c.noise = Some(s);
                    }
                    self.handshake(env, io, i, pdu.body, 1);
                }
                let Some(c) = self.calls.get_mut(&i) else {
                    return;
                };
                match c.plan.outcome {
                    Outcome::Busy => {
                        c.over = true;
                        io.emit(NodeEvent::Call {
                            call: i,
                            fact: CallFact::Ended { cause: "busy" },
                        });
                        self.signal_call(env, io, i, CallKind::Busy, ByeCause::Normal, Vec::new());
                    }
                    outcome => {
                        self.signal_call(
                            env,
                            io,
                            i,
                            CallKind::Ringing,
                            ByeCause::Normal,
                            Vec::new(),
                        );
                        if let Outcome::Answered { ring, .. } = outcome {
                            io.set_timer(
                                self.ep.node(),
                                now + ring,
                                call_token(i, CallAct::Answer),
                            );
                        }
                    }
                }
            }
            (CallKind::Key, _) => {
                let index = if caller { 2 } else { 3 };
                self.handshake(env, io, i, pdu.body, index);
            }
            (CallKind::Answer, true) => {
                let outcome = c.plan.outcome;
                if let Some(c) = self.calls.get_mut(&i) {
                    c.answered = true;
                }
                self.start_media(io, i);
                self.schedule_hangup(io, i, outcome, true);
            }
            (CallKind::Busy, true) | (CallKind::Cancel, false) => {
                if let Some(c) = self.calls.get_mut(&i) {
                    c.over = true;
                }
            }
            (CallKind::Bye, _) => {
                if let Some(c) = self.calls.get_mut(&i) {
                    c.media_on = false;
                    c.ended = true;
                }
            }
            _ => {}
        }
    }

    /// Feeds an end-to-end handshake message to the call's session; sends what it answers as
    /// KEY messages and derives the media keys once established.
    fn handshake(&mut self, env: &Env<'_>, io: &mut Io, i: usize, body: Vec<u8>, index: u8) {
        let now = io.now();
        let mut out = Vec::new();
        {
            let Some(c) = self.calls.get_mut(&i) else {
                return;
            };
            let caller = c.caller;
            let Some(s) = c.noise.as_mut() else { return };
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
                        c.keys = Some(if caller {
                            MediaKeys::new(i2r, r2i)
                        } else {
                            MediaKeys::new(r2i, i2r)
                        });
                    }
                }
            }
        }
        for b in out {
            self.signal_call(env, io, i, CallKind::Key, ByeCause::Normal, b);
        }
    }

    /// A media packet delivered to the handset.
    pub(super) fn receive_media(&mut self, io: &mut Io, packet: &Packet) {
        let Ok(m) = MediaPdu::decode(packet.udp_payload()) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let Some(i) = self.leg_of(m.call_id) else {
            return;
        };
        let Some(c) = self.calls.get(&i) else { return };
        let ok = if m.encrypted {
            c.keys
                .as_ref()
                .and_then(|k| k.open(c.call_id, m.seq, &m.payload))
                .is_some_and(|f| f.starts_with(FRAME_MARKER))
        } else {
            m.payload.starts_with(FRAME_MARKER)
        };
        io.emit(NodeEvent::Call {
            call: i,
            fact: if ok {
                CallFact::MediaReceived
            } else {
                CallFact::MediaError
            },
        });
    }
}
