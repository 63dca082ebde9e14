//! The handset's messaging: sending its planned messages (SMS through the radio path, or
//! through its end-to-end app), receiving PDUs and handing the app's envelopes to it, the link
//! to the OTT server, and the configuration of Noise sessions (the app's and the calls').

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use proto::keys::Psk;
use proto::noise::NoiseConfig;
use proto::wire::{AppPdu, SmsKind, SmsPdu};

use super::{Env, Handset};
use crate::attack::OTT_PROLOGUE;
use crate::io::{Io, NodeEvent};
use crate::nodes::{Outgoing, RadioPath, Via};
use crate::topology::*;

impl Handset {
    /// The user's planned message `id` is due.
    pub(super) fn send_planned(&mut self, env: &mut Env<'_>, io: &mut Io, id: usize) {
        // Out of the outbox: a sent message is the truth's and the session's business now (an
        // app that holds it back puts it back with `keep_outgoing`).
        let Some(Outgoing { to, text, via }) = self.take_outgoing(id) else {
            return;
        };
        tracing::debug!(
            message_id = id,
            from = %env.dir.subs[self.sub].msisdn,
            to = %env.dir.subs[to].msisdn,
            via = ?via,
            "sent"
        );
        if via == Via::App {
            if self.app.is_none() {
                io.emit(NodeEvent::Failed {
                    text: text.to_string(),
                    why: "no end-to-end app on the handset".into(),
                });
                return;
            }
            let message = Outgoing { to, text, via };
            self.with_app(|app, h| app.send(h, env, io, id, message));
            return;
        }
        self.msg_ref = self.msg_ref.wrapping_add(1);
        let pdu = AppPdu::Sms(SmsPdu {
            kind: SmsKind::Submit,
            msg_ref: self.msg_ref,
            from: env.dir.subs[self.sub].msisdn.clone(),
            to: env.dir.subs[to].msisdn.clone(),
            sent_at: io.now(),
            text: text.to_string(),
        });
        match pdu.to_bytes() {
            Ok(b) => self.radio_send(io, b),
            Err(_) => io.emit(NodeEvent::Undecodable),
        }
    }

    /// Planned message `id`, if it is in the outbox (planned and not sent yet).
    #[cfg(test)]
    pub(crate) fn outgoing(&self, id: usize) -> Option<&Outgoing> {
        self.outbox.get(&id)
    }

    /// Takes planned message `id` out of the outbox to send it.
    pub(super) fn take_outgoing(&mut self, id: usize) -> Option<Outgoing> {
        let m = self.outbox.remove(&id);
        if self.outbox.is_empty() {
            // A B-tree keeps its last, empty leaf (about 500 bytes): a handset whose day's
            // messages are sent holds none (0.4 GB at a million subscribers).
            self.outbox = BTreeMap::new();
        }
        m
    }

    /// Puts message `id` back in the outbox: the app holds it back and sends it later.
    pub(super) fn keep_outgoing(&mut self, id: usize, m: Outgoing) {
        self.outbox.insert(id, m);
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
            early_data: match env.sc.early_data {
                scenario::EarlyData::Off => proto::noise::EarlyData::Off,
                scenario::EarlyData::First => proto::noise::EarlyData::First,
                scenario::EarlyData::Last => proto::noise::EarlyData::Last,
            },
            rng_seed: env.exposure.session_seed(
                me,
                env.seeds
                    .child("session")
                    .child(&format!("{me}/{}{sid}", if initiator { "i" } else { "r" }))
                    .key(),
            ),
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
            AppPdu::Ott(e) => {
                if self.app.is_none() {
                    io.emit(NodeEvent::Undecodable);
                }
                self.with_app(|app, h| app.receive(h, env, io, e));
            }
            AppPdu::Call(c) => self.receive_call(env, io, c),
        }
    }
}
