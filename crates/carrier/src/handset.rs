//! What a handset does, written as driver methods for now: sending its planned messages
//! (SMS through the radio path, Noise sessions through the OTT server), receiving PDUs, and
//! running its end-to-end sessions. It reads its own outbox and reports through `NodeEvent`s;
//! moving it into a machine of its own (like `smsc.rs`) is the next step of the redesign.

use std::net::Ipv4Addr;

use netsim::Packet;
use proto::keys::Psk;
use proto::noise::{NoiseConfig, NoiseSession, SessionEvent};
use proto::wire::{AppPdu, NoiseKind, OttEnvelope, SmsKind, SmsPdu};

use crate::attack::OTT_PROLOGUE;
use crate::countermeasures;
use crate::io::NodeEvent;
use crate::nodes::{E2e, Outgoing, RadioPath, SubNode, Via};
use crate::topology::*;
use crate::truth::SessionFailure;
use crate::world::World;

impl World<'_> {
    pub(crate) fn sub_send(&mut self, sn: &mut SubNode, id: usize) {
        let Some(Outgoing { to, text, via }) = sn.outbox.get(&id).cloned() else {
            return;
        };
        tracing::debug!(
            message_id = id,
            from = %self.dir.subs[sn.sub].msisdn,
            to = %self.dir.subs[to].msisdn,
            via = ?via,
            "sent"
        );
        match via {
            Via::Signal => return self.signal_send(sn, id),
            Via::Noise => return self.e2e_send(sn, to, text),
            Via::Carrier => {}
        }
        sn.msg_ref = sn.msg_ref.wrapping_add(1);
        let pdu = AppPdu::Sms(SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: sn.msg_ref,
            from: self.dir.subs[sn.sub].msisdn.clone(),
            to: self.dir.subs[to].msisdn.clone(),
            sent_at: self.io.now(),
            text,
        });
        match pdu.to_bytes() {
            Ok(b) => self.radio_send(sn, b),
            Err(_) => self.io.emit(NodeEvent::Undecodable),
        }
    }

    fn radio_send(&mut self, sn: &mut SubNode, pdu: Vec<u8>) {
        let now = self.io.now();
        match &mut sn.radio {
            RadioPath::Sms { smsc } => sn.ep.send(&mut self.io, *smsc, pdu),
            RadioPath::Tunnel { pgw, tunnel } => {
                if tunnel.send(now, pdu).is_ok() {
                    sn.ep.pump(&mut self.io, *pgw, tunnel);
                }
            }
        }
    }

    pub(crate) fn ott_send(&mut self, sn: &mut SubNode, pdu: Vec<u8>) {
        let now = self.io.now();
        let Some(ott) = sn.ott.as_mut() else { return };
        match ott.tunnel.as_mut() {
            Some(t) => {
                if t.send(now, pdu).is_ok() {
                    sn.ep.pump(&mut self.io, OTT_ADDR, t);
                }
            }
            None => sn.ep.send(&mut self.io, OTT_ADDR, pdu),
        }
    }

    pub(crate) fn session_config(
        &self,
        me: usize,
        peer: usize,
        initiator: bool,
        sid: u64,
    ) -> NoiseConfig {
        let app = &self.dir.apps[self.dir.subs[me].app];
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
        let dir_key = |i: usize| self.statics[i].as_ref().map(|k| k.public);
        let (a, b) = (me.min(peer), me.max(peer));
        NoiseConfig {
            protocol: app.protocol().unwrap_or_default().to_string(),
            initiator,
            local_static: if needs_s {
                self.statics[me].clone()
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
                .then(|| Psk::new(self.seeds.child("psk").child(&format!("{a}-{b}")).key())),
            prologue: OTT_PROLOGUE.to_vec(),
            early_data: self.sc.early_data,
            rng_seed: self.caps.session_seed(
                me,
                self.seeds
                    .child("session")
                    .child(&format!("{me}/{}{sid}", if initiator { "i" } else { "r" }))
                    .key(),
            ),
        }
    }

    fn e2e_send(&mut self, sn: &mut SubNode, to: usize, text: String) {
        let me = sn.sub;
        let existing = sn.ott.as_ref().and_then(|o| {
            o.outgoing
                .get(&to)
                .copied()
                .filter(|sid| o.sessions.get(sid).is_some_and(|s| !s.session.is_dead()))
        });
        let sid = match existing {
            Some(sid) => sid,
            None => {
                let Some(ott) = sn.ott.as_mut() else { return };
                let sid = ((me as u64) << 32) | u64::from(ott.next_session);
                ott.next_session += 1;
                let cfg = self.session_config(me, to, true, sid);
                match NoiseSession::new(cfg) {
                    Ok(session) => {
                        let label = self.dir.apps[ott.app].label.clone();
                        self.io.emit(NodeEvent::SessionOpened { label });
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
                        self.io.emit(NodeEvent::Failed {
                            text: text.clone(),
                            why: format!("session setup: {e}"),
                        });
                        return;
                    }
                }
            }
        };
        let now = self.io.now();
        if let Some(e) = sn.ott.as_mut().and_then(|o| o.sessions.get_mut(&sid)) {
            e.texts.push(text.clone());
            let plain = self.cm.seal(self.dir.subs[me].app, text.as_bytes(), 16);
            if let Err(err) = e.session.send(now, plain) {
                self.io.emit(NodeEvent::Failed {
                    text: text.clone(),
                    why: format!("send: {err}"),
                });
            }
        }
        self.pump_session(sn, sid);
    }

    pub(crate) fn pump_session(&mut self, sn: &mut SubNode, sid: u64) {
        let me = sn.sub;
        let mut out = Vec::new();
        let mut failed = None;
        let mut kind = None;
        let mut receipts = Vec::new();
        {
            let Some(ott) = sn.ott.as_mut() else { return };
            let protocol = self.dir.apps[ott.app]
                .protocol()
                .unwrap_or_default()
                .to_string();
            let Some(e) = ott.sessions.get_mut(&sid) else {
                return;
            };
            while let Some(m) = e.session.poll_transmit() {
                let env = OttEnvelope {
                    from: self.dir.subs[me].msisdn.clone(),
                    to: self.dir.subs[e.peer].msisdn.clone(),
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
                out.push(AppPdu::Ott(env));
            }
            while let Some(ev) = e.session.poll_event() {
                match ev {
                    SessionEvent::Received(bytes) => {
                        let bytes = match self.cm.open(ott.app, bytes) {
                            countermeasures::Opened::Text(b) => b,
                            countermeasures::Opened::Receipt => continue,
                            countermeasures::Opened::Bad => {
                                self.io.emit(NodeEvent::IntegrityError);
                                continue;
                            }
                        };
                        match String::from_utf8(bytes) {
                            Ok(text) => {
                                self.io.emit(NodeEvent::Delivered {
                                    to: me,
                                    text: text.clone(),
                                });
                                receipts.push(text.into_bytes());
                            }
                            Err(_) => self.io.emit(NodeEvent::IntegrityError),
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
                    self.io.emit(NodeEvent::Failed {
                        text: t.clone(),
                        why: why.clone(),
                    });
                }
                self.io.emit(NodeEvent::SessionFailed {
                    session: sid,
                    failure: SessionFailure {
                        subscriber: me,
                        kind: kind
                            .unwrap_or(proto::noise::FailureKind::Other)
                            .as_str()
                            .to_string(),
                        reason: why,
                        at: self.io.now(),
                    },
                });
            }
        }
        for pdu in out {
            match pdu.to_bytes() {
                Ok(b) => self.ott_send(sn, b),
                Err(_) => self.io.emit(NodeEvent::Undecodable),
            }
        }
        for r in receipts {
            self.cm_receipt(sn, sid, &r);
        }
    }

    pub(crate) fn sub_receive(&mut self, sn: &mut SubNode, packet: &Packet) {
        let (remote, pdus) = sn.ep.receive(&mut self.io, packet);
        for pdu in pdus {
            self.sub_pdu(sn, remote, &pdu);
        }
    }

    fn sub_pdu(&mut self, sn: &mut SubNode, remote: Ipv4Addr, pdu: &[u8]) {
        let now = self.io.now();
        let Ok(pdu) = AppPdu::decode(pdu) else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        match pdu {
            AppPdu::Sms(s) if s.kind == SmsKind::Deliver => {
                self.io.emit(NodeEvent::Delivered {
                    to: sn.sub,
                    text: s.text,
                });
            }
            AppPdu::Sms(_) => self.io.emit(NodeEvent::Undecodable),
            AppPdu::Tunnel(t) => {
                let mut inner = Vec::new();
                if remote == OTT_ADDR {
                    if let Some(tun) = sn.ott.as_mut().and_then(|o| o.tunnel.as_mut()) {
                        if tun.handle_pdu(now, &t).is_ok() {
                            while let Some(p) = tun.poll_received() {
                                inner.push(p);
                            }
                        }
                        sn.ep.pump(&mut self.io, OTT_ADDR, tun);
                    }
                } else if let RadioPath::Tunnel { pgw, tunnel } = &mut sn.radio {
                    if tunnel.handle_pdu(now, &t).is_ok() {
                        while let Some(p) = tunnel.poll_received() {
                            inner.push(p);
                        }
                    }
                    sn.ep.pump(&mut self.io, *pgw, tunnel);
                }
                for p in inner {
                    self.sub_pdu(sn, remote, &p);
                }
            }
            AppPdu::Ott(env) if env.is_signal() => self.signal_receive(sn, env),
            AppPdu::Ott(env) => self.sub_envelope(sn, env),
            AppPdu::Call(c) => self.sub_call(sn, c),
        }
    }

    fn sub_envelope(&mut self, sn: &mut SubNode, env: OttEnvelope) {
        let me = sn.sub;
        let Some(&peer) = self.dir.by_msisdn.get(&env.from) else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        let sid = env.session;
        let known = sn
            .ott
            .as_ref()
            .is_some_and(|o| o.sessions.contains_key(&sid));
        if !known {
            if env.kind != NoiseKind::Handshake || env.index != 1 {
                return;
            }
            let cfg = self.session_config(me, peer, false, sid);
            let Some(ott) = sn.ott.as_mut() else { return };
            if self.dir.apps[ott.app].protocol() != Some(env.protocol.as_str()) {
                *self
                    .stats
                    .session_failures
                    .entry("protocol mismatch".into())
                    .or_default() += 1;
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
                    if !self.dir.apps[ott.app].one_way {
                        ott.outgoing.entry(peer).or_insert(sid);
                    }
                }
                Err(_) => return,
            }
        }
        let now = self.io.now();
        if let Some(e) = sn.ott.as_mut().and_then(|o| o.sessions.get_mut(&sid)) {
            let msg = proto::noise::NoiseMessage {
                kind: env.kind,
                index: env.index,
                bytes: env.body,
            };
            // Errors surface as a Failed event, handled by pump_session.
            let _ = e.session.handle_message(now, &msg);
        }
        self.pump_session(sn, sid);
    }
}
