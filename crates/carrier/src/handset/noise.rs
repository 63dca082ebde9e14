//! The Noise app at the handset (`kind = "noise"`): one [`NoiseSession`] per peer and
//! direction, set up with the app's pattern and the key directory, its messages carried in
//! [`OttEnvelope`]s through the OTT server. Receipts (`receipts = true`) answer every text in the
//! same session, at once or after a held delay.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use capture::Secret;
use proto::noise::{NoiseSession, SessionEvent};
use proto::wire::{AppPdu, NoiseKind, OttEnvelope};

use super::app::E2eApp;
use super::{cm, Env, Handset};
use crate::io::{Io, NodeEvent};
use crate::nodes::Outgoing;
use crate::truth::SessionFailure;

/// One end-to-end session.
pub(crate) struct E2e {
    peer: usize,
    session: NoiseSession,
    /// Texts handed to this session, for failure accounting.
    texts: Vec<std::sync::Arc<str>>,
    /// Set once the session died and its texts were accounted for.
    failed: bool,
}

/// A handset's Noise app: its sessions.
#[derive(Default)]
pub(crate) struct NoiseApp {
    sessions: BTreeMap<u64, E2e>,
    /// The session used to send to each peer.
    outgoing: BTreeMap<usize, u64>,
    next_session: u32,
}

impl E2eApp for NoiseApp {
    fn send(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, _id: usize, m: Outgoing) {
        let me = h.sub;
        let to = m.to;
        let text = m.text;
        let existing = self
            .outgoing
            .get(&to)
            .copied()
            .filter(|sid| self.sessions.get(sid).is_some_and(|s| !s.session.is_dead()));
        let sid = match existing {
            Some(sid) => sid,
            None => {
                let sid = ((me as u64) << 32) | u64::from(self.next_session);
                let cfg = h.session_config(env, to, true, sid);
                self.next_session += 1;
                match NoiseSession::new(cfg) {
                    Ok(session) => {
                        let label = env.dir.apps[env.dir.subs[me].app].label.clone();
                        io.emit(NodeEvent::SessionOpened { label });
                        self.sessions.insert(
                            sid,
                            E2e {
                                peer: to,
                                session,
                                texts: Vec::new(),
                                failed: false,
                            },
                        );
                        self.outgoing.insert(to, sid);
                        sid
                    }
                    Err(e) => {
                        io.emit(NodeEvent::Failed {
                            text: text.to_string(),
                            why: format!("session setup: {e}"),
                        });
                        return;
                    }
                }
            }
        };
        let now = io.now();
        let plain = h.cm.seal(text.as_bytes(), cm::TAG);
        if let Some(e) = self.sessions.get_mut(&sid) {
            e.texts.push(text.clone());
            io.emit(NodeEvent::SessionText {
                session: sid,
                text: text.clone(),
            });
            if let Err(err) = e.session.send(now, plain) {
                io.emit(NodeEvent::Failed {
                    text: text.to_string(),
                    why: format!("send: {err}"),
                });
            }
        }
        self.pump(h, env, io, sid);
    }

    fn receive(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, envelope: OttEnvelope) {
        let Some(&peer) = env.dir.by_msisdn.get(&envelope.from) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let sid = envelope.session;
        if let Entry::Vacant(slot) = self.sessions.entry(sid) {
            if envelope.kind != NoiseKind::Handshake || envelope.index != 1 {
                return;
            }
            let cfg = h.session_config(env, peer, false, sid);
            let app = &env.dir.apps[env.dir.subs[h.sub].app];
            if app.protocol() != Some(envelope.protocol.as_str()) {
                io.emit(NodeEvent::SessionRefused {
                    reason: "protocol mismatch".into(),
                });
                return;
            }
            let Ok(session) = NoiseSession::new(cfg) else {
                return;
            };
            slot.insert(E2e {
                peer,
                session,
                texts: Vec::new(),
                failed: false,
            });
            if !app.one_way {
                self.outgoing.entry(peer).or_insert(sid);
            }
        }
        let now = io.now();
        if let Some(e) = self.sessions.get_mut(&sid) {
            let msg = proto::noise::NoiseMessage {
                kind: envelope.kind,
                index: envelope.index,
                bytes: envelope.body,
            };
            // Errors surface as a Failed event, handled by pump.
            let _ = e.session.handle_message(now, &msg);
        }
        self.pump(h, env, io, sid);
    }

    fn receipt_due(
        &mut self,
        h: &mut Handset,
        env: &mut Env<'_>,
        io: &mut Io,
        session: u64,
        content: Vec<u8>,
    ) {
        self.send_receipt(h, env, io, session, &content);
    }

    fn secrets(&self, full: bool) -> Vec<Secret> {
        if !full {
            return Vec::new();
        }
        self.sessions
            .iter()
            .filter(|(_, e)| !e.session.is_dead())
            .filter_map(|(sid, e)| {
                let keys = e.session.transport_keys()?;
                Some(Secret::SessionState {
                    session: *sid,
                    protocol: e.session.protocol().to_owned(),
                    initiator: e.session.is_initiator(),
                    initiator_to_responder: keys.initiator_to_responder.clone(),
                    responder_to_initiator: keys.responder_to_initiator.clone(),
                })
            })
            .collect()
    }
}

impl NoiseApp {
    /// Sends a receipt in session `sid`.
    fn send_receipt(
        &mut self,
        h: &mut Handset,
        env: &mut Env<'_>,
        io: &mut Io,
        sid: u64,
        content: &[u8],
    ) {
        let plain = h.cm.receipt_frame(content);
        let now = io.now();
        let Some(e) = self.sessions.get_mut(&sid) else {
            return;
        };
        if e.session.is_dead() || e.session.send(now, plain).is_err() {
            return;
        }
        h.cm.receipts_sent += 1;
        self.pump(h, env, io, sid);
    }

    /// Sends what session `sid` has ready and handles what it reports.
    fn pump(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, sid: u64) {
        let me = h.sub;
        let mut out = Vec::new();
        let mut failed = None;
        let mut kind = None;
        let mut receipts = Vec::new();
        {
            let app = &env.dir.apps[env.dir.subs[me].app];
            let protocol = app.protocol().unwrap_or_default().to_string();
            let Some(e) = self.sessions.get_mut(&sid) else {
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
                        let bytes = match h.cm.open(bytes) {
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
                        text: t.to_string(),
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
                Ok(b) => h.ott_send(io, b),
                Err(_) => io.emit(NodeEvent::Undecodable),
            }
        }
        for r in receipts {
            if let Some(content) = h.cm_receipt(io, sid, &r) {
                self.send_receipt(h, env, io, sid, &content);
            }
        }
    }
}
