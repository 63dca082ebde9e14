//! The handset's Signal-style device (`kind = "signal"`; the model is described in
//! [`crate::signal_app`]): sending through X3DH/PQXDH sessions and the Double Ratchet, receiving
//! envelopes from the server, and the prekey top-ups the key server asks for.

use std::collections::BTreeMap;

use proto::wire::{AppPdu, NoiseKind, OttEnvelope};
use rand_chacha::ChaCha20Rng;
use scenario::SignalOptions;
use signal::{Device, Event, StateSnapshot};

use capture::Secret;

use super::app::E2eApp;
use super::{cm, Env, Handset};
use crate::io::{Io, NodeEvent};
use crate::nodes::Outgoing;
use crate::signal_app::{address, stolen_state};
use crate::timer::Timer;

/// A subscriber's Signal-style app.
pub(crate) struct Client {
    /// The device (its keys, sessions and ratchets).
    device: Device<ChaCha20Rng>,
    /// The app's options.
    options: SignalOptions,
    /// Messages deferred per peer until the device has the session the peer started (both
    /// starting a session at once would leave two sessions that cannot read each other: the
    /// device keeps one session per peer).
    waiting: BTreeMap<usize, Vec<usize>>,
}

impl Client {
    pub(crate) fn new(device: Device<ChaCha20Rng>, options: SignalOptions) -> Self {
        Client {
            device,
            options,
            waiting: BTreeMap::new(),
        }
    }
}

/// With a quantum adversary, tells the oracle every X25519 private key the device holds.
pub(crate) fn learn(env: &Env<'_>, s: &StateSnapshot) {
    if !env.exposure.wants_keys() {
        return;
    }
    let mut keys: Vec<&[u8; 32]> = vec![&s.identity_private, &s.signed_prekey.private];
    keys.extend(s.one_time_prekeys.iter().map(|k| &*k.private));
    keys.extend(s.sessions.iter().map(|x| &*x.ratchet_private));
    env.exposure.learn_privates(keys);
}

impl E2eApp for Client {
    fn send(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, id: usize, m: Outgoing) {
        let me = h.sub;
        let now = io.now();
        if !env.dir.presence.online(me, now) {
            let at = env.dir.presence.next_online(me, now);
            tracing::debug!(
                message_id = id,
                until_ns = at.as_nanos(),
                "held: device offline"
            );
            h.keep_outgoing(id, m);
            io.set_timer(h.ep.node(), at, Timer::Send(id));
            return;
        }
        let to = m.to;
        let peer = address(&env.dir.subs[to].msisdn);
        let dev = &mut self.device;
        let my_address = dev.address();
        // The server knows whose bundle was fetched: a peer that fetched ours has started a
        // session with us, and its first message is on its way.
        let peer_started = env.key_server.fetched(peer, my_address);
        if !dev.has_session(peer) && peer_started {
            self.waiting.entry(to).or_default().push(id);
            h.keep_outgoing(id, m);
            return;
        }
        let Outgoing { text, .. } = m;
        if !dev.has_session(peer) {
            let started = env
                .key_server
                .fetch(my_address, peer)
                .and_then(|bundle| dev.start_session(&bundle));
            if let Err(e) = started {
                io.emit(NodeEvent::Failed {
                    text: text.to_string(),
                    why: format!("signal session setup: {e}"),
                });
                return;
            }
            io.emit(NodeEvent::SessionOpened {
                label: env.dir.apps[env.dir.subs[me].app].label.clone(),
            });
            // The server asks the recipient's device for more prekeys if it runs low.
            io.emit(NodeEvent::PrekeysTaken { sub: to });
        }
        let plain = h.cm.seal(text.as_bytes(), 0);
        match dev.send(now, peer, &plain) {
            Ok(_) => {
                let snap = dev.export_state();
                if let Some(s) = snap.sessions.iter().find(|s| s.peer == peer) {
                    io.emit(NodeEvent::SignalRatchetKey {
                        message: id,
                        key: s.ratchet_public,
                    });
                }
                learn(env, &snap);
            }
            Err(e) => io.emit(NodeEvent::Failed {
                text: text.to_string(),
                why: format!("signal send: {e}"),
            }),
        }
        let pdus = self.transmits(h.sub, env, io);
        send_all(h, io, pdus);
    }

    fn receive(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, envelope: OttEnvelope) {
        let now = io.now();
        let dev = &mut self.device;
        // Errors also come out as an Event::Failed.
        let _ = dev.handle_envelope(now, &envelope.body);
        while let Some(ev) = dev.poll_event() {
            match ev {
                Event::Received { plaintext, .. } => match h.cm.open(plaintext) {
                    cm::Opened::Text(p) => match String::from_utf8(p) {
                        Ok(text) => io.emit(NodeEvent::Delivered { to: h.sub, text }),
                        Err(_) => io.emit(NodeEvent::IntegrityError),
                    },
                    cm::Opened::Receipt => {}
                    cm::Opened::Bad => io.emit(NodeEvent::IntegrityError),
                },
                Event::Failed { kind, .. } => io.emit(NodeEvent::SignalRejected {
                    sub: h.sub,
                    kind: kind.as_str().to_string(),
                }),
                Event::ReceiptReceived { .. } => {}
            }
        }
        if env.exposure.wants_keys() {
            learn(env, &dev.export_state());
        }
        let pdus = self.transmits(h.sub, env, io);
        if h.cm.holds_receipts() {
            let pdus = pdus.into_iter().flatten().collect();
            h.cm_hold_signal(io, pdus);
        } else {
            send_all(h, io, pdus);
        }
        // Messages deferred until this session arrived go out now, in order.
        let ready: Vec<usize> = self
            .waiting
            .keys()
            .filter(|b| self.device.has_session(address(&env.dir.subs[**b].msisdn)))
            .copied()
            .collect();
        let mut ids = Vec::new();
        for k in ready {
            ids.extend(self.waiting.remove(&k).unwrap_or_default());
        }
        for id in ids {
            if let Some(m) = h.take_outgoing(id) {
                self.send(h, env, io, id, m);
            }
        }
    }

    /// The key server handed out some of this device's one-time prekeys: tops them up when
    /// fewer than a quarter of the batch is left.
    fn prekeys_taken(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io) {
        let batch = self.options.one_time_prekeys;
        let dev = &mut self.device;
        if batch == 0 || env.key_server.one_time_remaining(dev.address()) * 4 >= batch as usize {
            return;
        }
        let upload = dev.prekey_upload(batch);
        if env.key_server.upload(h.sub, upload).is_err() {
            io.emit(NodeEvent::Undecodable);
        }
        learn(env, &dev.export_state());
    }

    fn secrets(&self, full: bool) -> Vec<Secret> {
        let snap = self.device.export_state();
        vec![Secret::SignalState(Box::new(stolen_state(&snap, full)))]
    }
}

impl Client {
    /// What the device queued, each as the bytes of the OTT envelope it travels in (`None` for
    /// an unknown recipient or an envelope the wire format cannot carry). Reports each sending
    /// chain it went out on to the ground truth ([`NodeEvent::SignalChain`]).
    fn transmits(&mut self, me: usize, env: &Env<'_>, io: &mut Io) -> Vec<Option<Vec<u8>>> {
        let label = &env.dir.apps[env.dir.subs[me].app].label;
        let dev = &mut self.device;
        let sealed = dev.config().sealed_sender;
        let mut out = Vec::new();
        while let Some(t) = dev.poll_transmit() {
            if let (Some(to), Some((key, sent))) = (
                env.key_server.subscriber(t.recipient),
                dev.sending_chain(t.recipient),
            ) {
                io.emit(NodeEvent::SignalChain {
                    from: me,
                    to,
                    key,
                    sent,
                });
            }
            let envelope = env
                .key_server
                .subscriber(t.recipient)
                .map(|to| OttEnvelope {
                    from: if sealed {
                        String::new()
                    } else {
                        env.dir.subs[me].msisdn.clone()
                    },
                    to: env.dir.subs[to].msisdn.clone(),
                    session: 0,
                    kind: NoiseKind::Transport,
                    index: 0,
                    protocol: label.clone(),
                    body: t.bytes,
                });
            out.push(envelope.and_then(|e| AppPdu::Ott(e).to_bytes().ok()));
        }
        out
    }
}

fn send_all(h: &mut Handset, io: &mut Io, pdus: Vec<Option<Vec<u8>>>) {
    for p in pdus {
        match p {
            Some(b) => h.ott_send(io, b),
            None => io.emit(NodeEvent::Undecodable),
        }
    }
}
