//! The handset's messaging: sending its planned messages (SMS through the radio path, Noise
//! sessions through the OTT server), receiving PDUs, and running its end-to-end sessions.

use std::net::Ipv4Addr;

use proto::keys::Psk;
use proto::noise::{NoiseConfig, NoiseSession, SessionEvent};
use proto::wire::{AppPdu, NoiseKind, OttEnvelope, SmsKind, SmsPdu};

use super::{cm, Env, Handset};
use crate::attack::OTT_PROLOGUE;
use crate::io::{Io, NodeEvent};
use crate::nodes::{E2e, Outgoing, RadioPath, Via};
use crate::topology::*;
use crate::truth::SessionFailure;

impl Handset {
    /// The user's planned message `id` is due.
    pub(super) fn send_planned(&mut self, env: &mut Env<'_>, io: &mut Io, id: usize) {
        let Some(Outgoing { to, text, via }) = self.outbox.get(&id).cloned() else {
            return;
        };
        tracing::debug!(
            message_id = id,
            from = %env.dir.subs[self.sub].msisdn,
            to = %env.dir.subs[to].msisdn,
            via = ?via,
            "sent"
        );
        match via {
            Via::Signal => return self.signal_send(env, io, id),
            Via::Noise => return self.e2e_send(env, io, to, text),
            Via::Carrier => {}
        }
        self.msg_ref = self.msg_ref.wrapping_add(1);
        let pdu = AppPdu::Sms(SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: self.msg_ref,
            from: env.dir.subs[self.sub].msisdn.clone(),
            to: env.dir.subs[to].msisdn.clone(),
            sent_at: io.now(),
            text,
        });
        match pdu.to_bytes() {
            Ok(b) => self.radio_send(io, b),
            Err(_) => io.emit(NodeEvent::Undecodable),
        }
    }

    /// The text of planned message `id`, if it is in the outbox.
    pub(super) fn outgoing(&self, id: usize) -> Option<&Outgoing> {
        self.outbox.get(&id)
    }

    fn radio_send(&mut self, io: &mut Io, pdu: Vec<u8>) {
        let now = io.now();
        match &mut self.radio {
            RadioPath::Sms { smsc } => self.ep.send(io, *smsc, pdu),
            RadioPath::Tunnel { pgw, tunnel } => {
                if tunnel.send(now, pdu).is_ok() {
                    self.ep.pump(io, *pgw, tunnel);
                }
            }
        }
    }

    /// Sends `pdu` to the OTT server (inside the server tunnel, if the app has one).
    pub(super) fn ott_send(&mut self, io: &mut Io, pdu: Vec<u8>) {
        let now = io.now();
        let Some(ott) = self.ott.as_mut() else { return };
        match ott.tunnel.as_mut() {
            Some(t) => {
                if t.send(now, pdu).is_ok() {
                    self.ep.pump(io, OTT_ADDR, t);
                }
            }
            None => self.ep.send(io, OTT_ADDR, pdu),
        }
    }

    /// The configuration of a Noise session (session id `sid`) with `peer`.
    pub(super) fn session_config(
        &self,
        env: &Env<'_>,
        peer: usize,
        initiator: bool,
        sid: u64,
    ) -> NoiseConfig {
        let me = self.sub;
        let app = &env.dir.apps[env.dir.subs[me].app];
        let (needs_s, needs_rs) = if initiator {
            (app.init_needs_s, app.init_needs_rs)
        } else {
            (app.resp_needs_s, app.resp_needs_rs)
        };
        let peer_has_s = if initiator {
            app.resp_needs_s
        } else {
            app.init_needs_s
        };
        let dir_key = |i: usize| env.keys.get(i).copied().flatten();
        let (a, b) = (me.min(peer), me.max(peer));
        NoiseConfig {
            protocol: app.protocol().unwrap_or_default().to_string(),
            initiator,
            local_static: if needs_s {
                self.static_key.clone()
            } else {
                None
            },
            remote_static: if needs_rs { dir_key(peer) } else { None },
            // Pin the peer's static against the directory whenever the peer has one.
            expected_remote_static: if app.pin() && peer_has_s {
                dir_key(peer)
            } else {
                None
            },
            psk: app
                .psk
                .then(|| Psk::new(env.seeds.child("psk").child(&format!("{a}-{b}")).key())),
            prologue: OTT_PROLOGUE.to_vec(),
            early_data: env.sc.early_data,
            rng_seed: env.exposure.session_seed(
                me,
                env.seeds
                    .child("session")
                    .child(&format!("{me}/{}{sid}", if initiator { "i" } else { "r" }))
                    .key(),
            ),
        }
    }

    fn e2e_send(&mut self, env: &mut Env<'_>, io: &mut Io, to: usize, text: String) {
        let me = self.sub;
        let existing = self.ott.as_ref().and_then(|o| {
            o.outgoing
                .get(&to)
                .copied()
                .filter(|sid| o.sessions.get(sid).is_some_and(|s| !s.session.is_dead()))
        });
        let sid = match existing {
            Some(sid) => sid,
            None => {
                let Some(next) = self.ott.as_ref().map(|o| o.next_session) else {
                    return;
                };
                let sid = ((me as u64) << 32) | u64::from(next);
                let cfg = self.session_config(env, to, true, sid);
                let Some(ott) = self.ott.as_mut() else { return };
                ott.next_session += 1;
                match NoiseSession::new(cfg) {
                    Ok(session) => {
                        let label = env.dir.apps[ott.app].label.clone();
                        io.emit(NodeEvent::SessionOpened { label });
                        ott.sessions.insert(
                            sid,
                            E2e {
                                peer: to,
                                session,
                                texts: Vec::new(),
                                failed: false,
                            },
                        );
                        ott.outgoing.insert(to, sid);
                        sid
                    }
                    Err(e) => {
                        io.emit(NodeEvent::Failed {
                            text: text.clone(),
                            why: format!("session setup: {e}"),
                        });
                        return;
                    }
                }
            }
        };
        let now = io.now();
        let plain = self.cm.seal(text.as_bytes(), cm::TAG);
        if let Some(e) = self.ott.as_mut().and_then(|o| o.sessions.get_mut(&sid)) {
            e.texts.push(text.clone());
            if let Err(err) = e.session.send(now, plain) {
                io.emit(NodeEvent::Failed {
                    text: text.clone(),
                    why: format!("send: {err}"),
                });
            }
        }
        self.pump_session(env, io, sid);
    }

    /// Sends what session `sid` has ready and handles what it reports.
    pub(super) fn pump_session(&mut self, env: &mut Env<'_>, io: &mut Io, sid: u64) {
        let me = self.sub;
        let mut out = Vec::new();
        let mut failed = None;
        let mut kind = None;
        let mut receipts = Vec::new();
        {
            let Some(ott) = self.ott.as_mut() else { return };
            let protocol = env.dir.apps[ott.app]
                .protocol()
                .unwrap_or_default()
                .to_string();
            let Some(e) = ott.sessions.get_mut(&sid) else {
                return;
            };
            while let Some(m) = e.session.poll_transmit() {
                let envelope = OttEnvelope {
                    from: env.dir.subs[me].msisdn.clone(),
                    to: env.dir.subs[e.peer].msisdn.clone(),
                    session: sid,
                    kind: m.kind,
                    index: m.index,
                    protocol: if m.kind == NoiseKind::Handshake {
                        protocol.clone()
                    } else {
                        String::new()
                    },
                    body: m.bytes,
                };
                out.push(AppPdu::Ott(envelope));
            }
            while let Some(ev) = e.session.poll_event() {
                match ev {
                    SessionEvent::Received(bytes) => {
                        let bytes = match self.cm.open(bytes) {
                            cm::Opened::Text(b) => b,
                            cm::Opened::Receipt => continue,
                            cm::Opened::Bad => {
                                io.emit(NodeEvent::IntegrityError);
                                continue;
                            }
                        };
                        match String::from_utf8(bytes) {
                            Ok(text) => {
                                io.emit(NodeEvent::Delivered {
                                    to: me,
                                    text: text.clone(),
                                });
                                receipts.push(text.into_bytes());
                            }
                            Err(_) => io.emit(NodeEvent::IntegrityError),
                        }
                    }
                    SessionEvent::Failed(err) => {
                        kind = Some(err.failure_kind());
                        failed = Some(err.to_string());
                    }
                    SessionEvent::HandshakeComplete { .. } => {}
                }
            }
            if e.session.is_dead() && !e.failed {
                e.failed = true;
                let why = failed.clone().unwrap_or_else(|| "session died".into());
                for t in &e.texts {
                    io.emit(NodeEvent::Failed {
                        text: t.clone(),
                        why: why.clone(),
                    });
                }
                io.emit(NodeEvent::SessionFailed {
                    session: sid,
                    failure: SessionFailure {
                        subscriber: me,
                        kind: kind
                            .unwrap_or(proto::noise::FailureKind::Other)
                            .as_str()
                            .to_string(),
                        reason: why,
                        at: io.now(),
                    },
                });
            }
        }
        for pdu in out {
            match pdu.to_bytes() {
                Ok(b) => self.ott_send(io, b),
                Err(_) => io.emit(NodeEvent::Undecodable),
            }
        }
        for r in receipts {
            self.cm_receipt(env, io, sid, &r);
        }
    }

    /// One PDU delivered by a reliable link (or decrypted from a tunnel) from `remote`.
    pub(super) fn receive_pdu(
        &mut self,
        env: &mut Env<'_>,
        io: &mut Io,
        remote: Ipv4Addr,
        pdu: &[u8],
    ) {
        let now = io.now();
        let Ok(pdu) = AppPdu::decode(pdu) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        match pdu {
            AppPdu::Sms(s) if s.kind == SmsKind::Deliver => {
                io.emit(NodeEvent::Delivered {
                    to: self.sub,
                    text: s.text,
                });
            }
            AppPdu::Sms(_) => io.emit(NodeEvent::Undecodable),
            AppPdu::Tunnel(t) => {
                let mut inner = Vec::new();
                if remote == OTT_ADDR {
                    if let Some(tun) = self.ott.as_mut().and_then(|o| o.tunnel.as_mut()) {
                        if tun.handle_pdu(now, &t).is_ok() {
                            while let Some(p) = tun.poll_received() {
                                inner.push(p);
                            }
                        }
                        self.ep.pump(io, OTT_ADDR, tun);
                    }
                } else if let RadioPath::Tunnel { pgw, tunnel } = &mut self.radio {
                    if tunnel.handle_pdu(now, &t).is_ok() {
                        while let Some(p) = tunnel.poll_received() {
                            inner.push(p);
                        }
                    }
                    self.ep.pump(io, *pgw, tunnel);
                }
                for p in inner {
                    self.receive_pdu(env, io, remote, &p);
                }
            }
            AppPdu::Ott(e) if e.is_signal() => self.signal_receive(env, io, e),
            AppPdu::Ott(e) => self.receive_envelope(env, io, e),
            AppPdu::Call(c) => self.receive_call(env, io, c),
        }
    }

    fn receive_envelope(&mut self, env: &mut Env<'_>, io: &mut Io, envelope: OttEnvelope) {
        let Some(&peer) = env.dir.by_msisdn.get(&envelope.from) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let sid = envelope.session;
        let known = self
            .ott
            .as_ref()
            .is_some_and(|o| o.sessions.contains_key(&sid));
        if !known {
            if envelope.kind != NoiseKind::Handshake || envelope.index != 1 {
                return;
            }
            let cfg = self.session_config(env, peer, false, sid);
            let Some(ott) = self.ott.as_mut() else { return };
            if env.dir.apps[ott.app].protocol() != Some(envelope.protocol.as_str()) {
                io.emit(NodeEvent::SessionRefused {
                    reason: "protocol mismatch".into(),
                });
                return;
            }
            match NoiseSession::new(cfg) {
                Ok(session) => {
                    ott.sessions.insert(
                        sid,
                        E2e {
                            peer,
                            session,
                            texts: Vec::new(),
                            failed: false,
                        },
                    );
                    if !env.dir.apps[ott.app].one_way {
                        ott.outgoing.entry(peer).or_insert(sid);
                    }
                }
                Err(_) => return,
            }
        }
        let now = io.now();
        if let Some(e) = self.ott.as_mut().and_then(|o| o.sessions.get_mut(&sid)) {
            let msg = proto::noise::NoiseMessage {
                kind: envelope.kind,
                index: envelope.index,
                bytes: envelope.body,
            };
            // Errors surface as a Failed event, handled by pump_session.
            let _ = e.session.handle_message(now, &msg);
        }
        self.pump_session(env, io, sid);
    }
}
