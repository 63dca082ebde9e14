//! Signal-style apps (`kind = "signal"`) in the world: one [`signal::Device`] per subscriber,
//! the OTT server's key server ([`signal::PreKeyStore`]) and mailbox, offline periods, and the
//! compromise hooks (device state and identity keys copied out as [`capture::SignalState`]).
//!
//! - **Addresses.** A device's address is its MSISDN's digits as a `u64` (`+15551234567` →
//!   `15551234567`); the adversary uses the same public convention.
//! - **Keys.** At start every device uploads its bundle (identity key, signed prekey, PQ
//!   prekeys with `post_quantum`) and `one_time_prekeys` one-time prekeys to the server's store.
//!   A sender without a session fetches the recipient's bundle from the store (modelled as an
//!   instant request: the fetch itself is not simulated on the network) and starts X3DH or
//!   PQXDH; when the recipient has fewer than a quarter of its batch left, it uploads a new
//!   batch. The store hands each one-time prekey out once; with `one_time_prekeys = 0` every
//!   session is set up without one.
//! - **Wire.** Each envelope the device emits travels as an [`OttEnvelope`] with `protocol` the
//!   app's label (`"signal"` or `"signal+pq"`), session 0, transport kind, `to` the recipient's
//!   MSISDN and `from` the sender's — empty under sealed sender (the upload is unauthenticated,
//!   as in Signal). With `server_tunnel` the hop to the server is inside the NK tunnel and the
//!   core sees only tunnel records.
//! - **Offline periods and the mailbox.** A seeded share (`offline_share`) of the app's
//!   subscribers alternate offline and online intervals of `offline_period` each, with a
//!   seeded phase. The server delivers an envelope at once when the recipient is online and
//!   nothing is queued for it, and otherwise stores it in the recipient's mailbox, delivered in
//!   order when the recipient is next online. A subscriber who is offline at a planned send
//!   composes the message when it comes back online. A first message to a peer whose own
//!   first message (starting a session) is still on its way waits for it, so that the two
//!   never start two sessions at once (a device keeps one session per peer).
//! - **Ground truth.** Each message's sender ratchet key is recorded in
//!   [`GroundTruth::signal_ratchet_keys`](crate::GroundTruth) (never given to the adversary).

use std::collections::BTreeMap;

use capture::{Owner, Secret, SignalDirectoryEntry, SignalSession, SignalState};
use proto::wire::{AppPdu, NoiseKind, OttEnvelope};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use scenario::{AppKind, SignalOptions};
use signal::{Device, DeviceConfig, Event, PreKeyStore, StateSnapshot};
use simcore::Timestamp;

use crate::directory::Offline;
use crate::io::NodeEvent;
use crate::nodes::{Outgoing, SubNode};
use crate::timer::Timer;
use crate::world::World;

/// A device's address: the MSISDN's digits.
pub(crate) fn address(msisdn: &str) -> u64 {
    msisdn
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u64, |a, d| {
            a.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        })
}

/// The Signal part of the world.
#[derive(Default)]
pub(crate) struct SignalApps {
    /// Devices by subscriber index.
    devices: BTreeMap<usize, Device>,
    /// Options of the subscriber's app.
    options: BTreeMap<usize, SignalOptions>,
    /// The OTT server's key server.
    store: PreKeyStore,
    /// Published one-time prekeys per subscriber (public).
    published: BTreeMap<usize, Vec<(u32, [u8; 32])>>,
    /// Subscriber by device address.
    by_address: BTreeMap<u64, usize>,
    /// Messages `(sender, recipient) -> ids` deferred until the sender's device has the
    /// session the recipient started (both starting a session at once would leave two
    /// sessions that cannot read each other: the device keeps one session per peer).
    waiting: BTreeMap<(usize, usize), Vec<usize>>,
    /// Every envelope a device rejected: (subscriber, when, failure kind).
    pub(crate) failures: Vec<(usize, Timestamp, String)>,
}

/// A device's snapshot as the capture type the adversary receives (`device_state: false`
/// keeps only the identity key and signed prekey).
pub(crate) fn stolen_state(s: &StateSnapshot, device_state: bool) -> SignalState {
    SignalState {
        address: s.address,
        device_state,
        identity_private: s.identity_private.clone(),
        signed_prekey: (s.signed_prekey.id, s.signed_prekey.private.clone()),
        one_time_prekeys: if device_state {
            s.one_time_prekeys
                .iter()
                .map(|k| (k.id, k.private.clone()))
                .collect()
        } else {
            Vec::new()
        },
        pq_prekeys: if device_state {
            s.pq_last_resort
                .iter()
                .chain(&s.pq_one_time_prekeys)
                .map(|k| (k.id, k.secret.clone()))
                .collect()
        } else {
            Vec::new()
        },
        sessions: if device_state {
            s.sessions
                .iter()
                .map(|x| SignalSession {
                    peer: x.peer,
                    associated_data: x.associated_data.clone(),
                    root_key: x.root_key.clone(),
                    initiator: x.initiator,
                    ratchet_private: x.ratchet_private.clone(),
                    ratchet_public: x.ratchet_public,
                    remote_ratchet: x.remote_ratchet,
                    sending_chain: x.sending_chain.clone(),
                    receiving_chain: x.receiving_chain.clone(),
                    ns: x.ns,
                    nr: x.nr,
                    pn: x.pn,
                    header_encryption: x.header_encryption,
                    hks: x.hks.clone(),
                    hkr: x.hkr.clone(),
                    nhks: x.nhks.clone(),
                    nhkr: x.nhkr.clone(),
                    skipped: x
                        .skipped
                        .iter()
                        .map(|k| (k.index_key, k.n, k.message_key.clone()))
                        .collect(),
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

impl World<'_> {
    /// Creates a device for every subscriber of a signal app, uploads its keys, and draws the
    /// offline schedules.
    pub(crate) fn signal_start(&mut self) {
        for (a, app) in self.sc.apps.iter().enumerate() {
            let AppKind::Signal(opts) = &app.kind else {
                continue;
            };
            let users: Vec<usize> = self
                .dir
                .subs
                .iter()
                .filter(|s| s.app == a)
                .map(|s| s.index)
                .collect();
            let mut rng = self.seeds.child("signal-offline").stream(&app.name);
            let period = opts.offline_period.as_nanos().max(1) as u64;
            let want =
                ((opts.offline_share * users.len() as f64).round() as usize).min(users.len());
            let mut pool = users.clone();
            for i in 0..want {
                let j = i + (rng.next_u64() % (pool.len() - i) as u64) as usize;
                pool.swap(i, j);
                let phase = rng.next_u64() % (2 * period);
                self.dir
                    .presence
                    .offline
                    .insert(pool[i], Offline { period, phase });
            }
            for i in users {
                let msisdn = self.dir.subs[i].msisdn.clone();
                let mut cfg = DeviceConfig::new(address(&msisdn));
                cfg.sealed_sender = opts.sealed_sender;
                cfg.receipts = opts.receipts;
                cfg.header_encryption = opts.header_encryption;
                cfg.post_quantum = opts.post_quantum;
                let seed = self.seeds.child("signal-device").child(&msisdn).key();
                let mut dev = Device::new(cfg, ChaCha20Rng::from_seed(seed));
                let upload = dev.prekey_upload(opts.one_time_prekeys);
                self.signal
                    .published
                    .entry(i)
                    .or_default()
                    .extend(upload.one_time_prekeys.iter().copied());
                if self.signal.store.upload(upload).is_err() {
                    self.io.emit(NodeEvent::Undecodable);
                }
                self.signal.by_address.insert(dev.address(), i);
                self.signal.options.insert(i, opts.clone());
                self.signal_learn(&dev.export_state());
                self.signal.devices.insert(i, dev);
            }
        }
    }

    /// With a quantum adversary, tells the oracle every X25519 private key the device holds.
    fn signal_learn(&mut self, s: &StateSnapshot) {
        if !self.caps.wants_keys() {
            return;
        }
        let mut keys: Vec<&[u8; 32]> = vec![&s.identity_private, &s.signed_prekey.private];
        keys.extend(s.one_time_prekeys.iter().map(|k| &*k.private));
        keys.extend(s.sessions.iter().map(|x| &*x.ratchet_private));
        self.caps.learn_privates(keys);
    }

    /// Planned message `id` from `sn`'s subscriber, now (or when it is next online).
    pub(crate) fn signal_send(&mut self, sn: &mut SubNode, id: usize) {
        let me = sn.sub;
        let now = self.io.now();
        if !self.dir.presence.online(me, now) {
            let at = self.dir.presence.next_online(me, now);
            tracing::debug!(
                message_id = id,
                until_ns = at.as_nanos(),
                "held: device offline"
            );
            self.io.set_timer(self.sub_node[me], at, Timer::Send(id));
            return;
        }
        let Some(Outgoing { to, text, .. }) = sn.outbox.get(&id).cloned() else {
            return;
        };
        let peer = address(&self.dir.subs[to].msisdn);
        let Some(mut dev) = self.signal.devices.remove(&me) else {
            self.io.emit(NodeEvent::Failed {
                text,
                why: "signal: no device".into(),
            });
            return;
        };
        let my_address = dev.address();
        let peer_started = self
            .signal
            .devices
            .get(&to)
            .is_some_and(|d| d.has_session(my_address));
        if !dev.has_session(peer) && peer_started {
            self.signal.waiting.entry((me, to)).or_default().push(id);
            self.signal.devices.insert(me, dev);
            return;
        }
        if !dev.has_session(peer) {
            let started = self
                .signal
                .store
                .fetch(peer)
                .and_then(|bundle| dev.start_session(&bundle));
            if let Err(e) = started {
                self.io.emit(NodeEvent::Failed {
                    text,
                    why: format!("signal session setup: {e}"),
                });
                self.signal.devices.insert(me, dev);
                return;
            }
            self.io.emit(NodeEvent::SessionOpened {
                label: self.dir.apps[self.dir.subs[me].app].label.clone(),
            });
            self.signal_refill(to);
        }
        let plain = self.cm.seal(self.dir.subs[me].app, text.as_bytes(), 0);
        match dev.send(now, peer, &plain) {
            Ok(_) => {
                let snap = dev.export_state();
                if let Some(s) = snap.sessions.iter().find(|s| s.peer == peer) {
                    self.io.emit(NodeEvent::SignalRatchetKey {
                        message: id,
                        key: s.ratchet_public,
                    });
                }
                self.signal_learn(&snap);
            }
            Err(e) => self.io.emit(NodeEvent::Failed {
                text,
                why: format!("signal send: {e}"),
            }),
        }
        self.signal_flush_device(sn, &mut dev);
        self.signal.devices.insert(me, dev);
    }

    /// Tops up the recipient's one-time prekeys when fewer than a quarter are left.
    fn signal_refill(&mut self, sub: usize) {
        let Some(batch) = self.signal.options.get(&sub).map(|o| o.one_time_prekeys) else {
            return;
        };
        let Some(dev) = self.signal.devices.get_mut(&sub) else {
            return;
        };
        if batch == 0 || self.signal.store.one_time_remaining(dev.address()) * 4 >= batch as usize {
            return;
        }
        let upload = dev.prekey_upload(batch);
        self.signal
            .published
            .entry(sub)
            .or_default()
            .extend(upload.one_time_prekeys.iter().copied());
        if self.signal.store.upload(upload).is_err() {
            self.io.emit(NodeEvent::Undecodable);
        }
        if let Some(snap) = self.signal.devices.get(&sub).map(Device::export_state) {
            self.signal_learn(&snap);
        }
    }

    /// One transmit of subscriber `me`'s device as the bytes of the OTT envelope it travels in
    /// (the sender left empty under sealed sender); `None` for an unknown recipient address or
    /// an envelope the wire format cannot carry.
    pub(crate) fn signal_envelope(
        &self,
        me: usize,
        t: signal::Transmit,
        sealed: bool,
        label: &str,
    ) -> Option<Vec<u8>> {
        let to = *self.signal.by_address.get(&t.recipient)?;
        let env = OttEnvelope {
            from: if sealed {
                String::new()
            } else {
                self.dir.subs[me].msisdn.clone()
            },
            to: self.dir.subs[to].msisdn.clone(),
            session: 0,
            kind: NoiseKind::Transport,
            index: 0,
            protocol: label.to_owned(),
            body: t.bytes,
        };
        AppPdu::Ott(env).to_bytes().ok()
    }

    /// Sends what the device queued, as OTT envelopes to the server.
    fn signal_flush_device(&mut self, sn: &mut SubNode, dev: &mut Device) {
        let me = sn.sub;
        let label = self.dir.apps[self.dir.subs[me].app].label.clone();
        let sealed = dev.config().sealed_sender;
        while let Some(t) = dev.poll_transmit() {
            match self.signal_envelope(me, t, sealed, &label) {
                Some(b) => self.ott_send(sn, b),
                None => self.io.emit(NodeEvent::Undecodable),
            }
        }
    }

    /// An envelope from the server at `sn`'s device.
    pub(crate) fn signal_receive(&mut self, sn: &mut SubNode, env: OttEnvelope) {
        let me = sn.sub;
        let now = self.io.now();
        let Some(mut dev) = self.signal.devices.remove(&me) else {
            self.io.emit(NodeEvent::Undecodable);
            return;
        };
        // Errors also come out as an Event::Failed.
        let _ = dev.handle_envelope(now, &env.body);
        while let Some(ev) = dev.poll_event() {
            match ev {
                Event::Received { plaintext, .. } => {
                    match self.cm.open(self.dir.subs[me].app, plaintext) {
                        crate::countermeasures::Opened::Text(p) => match String::from_utf8(p) {
                            Ok(text) => self.io.emit(NodeEvent::Delivered { to: me, text }),
                            Err(_) => self.io.emit(NodeEvent::IntegrityError),
                        },
                        crate::countermeasures::Opened::Receipt => {}
                        crate::countermeasures::Opened::Bad => {
                            self.io.emit(NodeEvent::IntegrityError);
                        }
                    }
                }
                Event::Failed { kind, .. } => {
                    self.signal
                        .failures
                        .push((me, now, kind.as_str().to_string()));
                    *self
                        .stats
                        .session_failures
                        .entry(format!("signal {}", kind.as_str()))
                        .or_default() += 1;
                }
                Event::ReceiptReceived { .. } => {}
            }
        }
        if self.caps.wants_keys() {
            let snap = dev.export_state();
            self.signal_learn(&snap);
        }
        if !self.cm_hold_signal(sn, &mut dev) {
            self.signal_flush_device(sn, &mut dev);
        }
        // Messages deferred until this session arrived go out now, in order.
        let ready: Vec<(usize, usize)> = self
            .signal
            .waiting
            .keys()
            .filter(|(a, b)| *a == me && dev.has_session(address(&self.dir.subs[*b].msisdn)))
            .copied()
            .collect();
        self.signal.devices.insert(me, dev);
        for k in ready {
            for id in self.signal.waiting.remove(&k).unwrap_or_default() {
                self.signal_send(sn, id);
            }
        }
    }

    /// Device-state theft at `at` from the targeted subscribers of signal apps.
    pub(crate) fn signal_steal_devices(&mut self, at: Timestamp) {
        let targets: Vec<usize> = self
            .signal
            .devices
            .keys()
            .copied()
            .filter(|&i| self.caps.steals_sessions_of(at, i))
            .collect();
        for i in targets {
            if let Some(dev) = self.signal.devices.get(&i) {
                let snap = dev.export_state();
                let stolen = capture::StolenSecret {
                    at,
                    owner: Owner::Subscriber(self.dir.subs[i].msisdn.clone()),
                    secret: Secret::SignalState(Box::new(stolen_state(&snap, true))),
                };
                // The adversary's on-path components get their loot too (signal takeovers).
                for attacker in &self.attackers {
                    attacker.give(&stolen);
                }
                self.caps
                    .steal_signal(stolen.at, stolen.owner, stolen.secret);
            }
        }
    }

    /// Ground truth of a signal takeover (an attack with a victim/peer pair): the messages
    /// between the two sent from the attack on, and the first envelope either rejected from
    /// then on (its failure kind), if any. `None` for other attacks.
    pub(crate) fn signal_attack_facts(
        &self,
        a: &capture::active::AttackFacts,
    ) -> Option<(Vec<usize>, Option<String>)> {
        let (v, p) = a.pair.as_ref()?;
        let (v, p) = (*self.dir.by_msisdn.get(v)?, *self.dir.by_msisdn.get(p)?);
        let ids = self
            .truth
            .messages
            .iter()
            .filter(|m| m.sent_at >= a.at && ((m.from, m.to) == (v, p) || (m.from, m.to) == (p, v)))
            .map(|m| m.id)
            .collect();
        let detected = self
            .signal
            .failures
            .iter()
            .find(|(s, t, _)| (*s == v || *s == p) && *t >= a.at)
            .map(|(_, _, k)| format!("signal {k}"));
        Some((ids, detected))
    }

    /// At the end: `static` thefts from signal apps (identity key and signed prekey, which
    /// never change in a run) and the published prekeys.
    pub(crate) fn signal_finish(&mut self) {
        for (at, i) in self.caps.signal_static_targets() {
            if let Some(dev) = self.signal.devices.get(&i) {
                let state = stolen_state(&dev.export_state(), false);
                self.caps.steal_signal(
                    at,
                    Owner::Subscriber(self.dir.subs[i].msisdn.clone()),
                    Secret::SignalState(Box::new(state)),
                );
            }
        }
        let mut directory = Vec::new();
        for (i, dev) in &self.signal.devices {
            let snap = dev.export_state();
            directory.push(SignalDirectoryEntry {
                owner: Owner::Subscriber(self.dir.subs[*i].msisdn.clone()),
                address: dev.address(),
                identity: snap.identity_public,
                signed_prekeys: vec![(snap.signed_prekey.id, snap.signed_prekey.public)],
                one_time_prekeys: self.signal.published.get(i).cloned().unwrap_or_default(),
            });
        }
        self.caps.set_signal_directory(directory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_msisdn_digits() {
        assert_eq!(address("+15551234567"), 15_551_234_567);
    }
}
