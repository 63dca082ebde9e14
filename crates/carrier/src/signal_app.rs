//! Signal-style apps (`kind = "signal"`) in the world: one [`signal::Device`] per subscriber
//! (run by its handset, [`crate::handset::signal`]), the OTT server's key server
//! ([`KeyServer`]) and mailbox, offline periods, and the compromise hooks (device state and
//! identity keys copied out as [`capture::SignalState`]).
//!
//! - **Addresses.** A device's address is its MSISDN's digits as a `u64` (`+15551234567` →
//!   `15551234567`); the adversary uses the same public convention.
//! - **Keys.** At start every device uploads its bundle (identity key, signed prekey, PQ
//!   prekeys with `post_quantum`) and `one_time_prekeys` one-time prekeys to the server's store.
//!   A sender without a session fetches the recipient's bundle from the store (modelled as an
//!   instant request: the fetch itself is not simulated on the network) and starts X3DH or
//!   PQXDH; the server then tells the recipient's device, which uploads a new batch when it has
//!   fewer than a quarter of its batch left. The store hands each one-time prekey out once; with `one_time_prekeys = 0` every
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
//!   composes the message when it comes back online. A first message to a peer that has
//!   fetched the sender's bundle (the server knows: its first message, starting a session, is
//!   on its way) waits for that session, so that the two never start two sessions at once (a
//!   device keeps one session per peer).
//! - **Ground truth.** Each message's sender ratchet key is recorded in
//!   [`GroundTruth::signal_ratchet_keys`](crate::GroundTruth) (never given to the adversary).

use std::collections::{BTreeMap, BTreeSet};

use capture::{Owner, SignalDirectoryEntry, SignalSession, SignalState};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use scenario::AppKind;
use signal::{Device, DeviceConfig, PreKeyBundle, PreKeyStore, PreKeyUpload, StateSnapshot};

use crate::directory::Offline;
use crate::handset::signal::Client;
use crate::io::NodeEvent;
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

/// The OTT server's key server: the prekey store, every one-time prekey ever published (for
/// the public key directory), device addresses, and who fetched whose bundle.
#[derive(Default)]
pub(crate) struct KeyServer {
    store: PreKeyStore,
    /// Published one-time prekeys per subscriber (public).
    published: BTreeMap<usize, Vec<(u32, [u8; 32])>>,
    /// Subscriber by device address.
    by_address: BTreeMap<u64, usize>,
    /// `(fetcher, owner)` device addresses of every bundle handed out.
    fetched: BTreeSet<(u64, u64)>,
    /// Per subscriber, its device's public identity as last uploaded.
    identities: BTreeMap<usize, Identity>,
}

/// A device's public identity at the key server.
#[derive(Clone, Copy)]
struct Identity {
    address: u64,
    identity: [u8; 32],
    /// The signed prekey's `(id, public)`.
    signed_prekey: (u32, [u8; 32]),
}

impl KeyServer {
    /// Registers subscriber `sub`'s device address.
    pub(crate) fn register(&mut self, sub: usize, address: u64) {
        self.by_address.insert(address, sub);
    }

    /// The subscriber of a device address.
    pub(crate) fn subscriber(&self, address: u64) -> Option<usize> {
        self.by_address.get(&address).copied()
    }

    /// Stores subscriber `sub`'s upload.
    pub(crate) fn upload(&mut self, sub: usize, upload: PreKeyUpload) -> signal::Result<()> {
        self.identities.insert(
            sub,
            Identity {
                address: upload.device,
                identity: upload.identity,
                signed_prekey: (upload.signed_prekey.id, upload.signed_prekey.public),
            },
        );
        self.published
            .entry(sub)
            .or_default()
            .extend(upload.one_time_prekeys.iter().copied());
        self.store.upload(upload)
    }

    /// Hands device `by` the bundle of device `of` (consuming a one-time prekey).
    pub(crate) fn fetch(&mut self, by: u64, of: u64) -> signal::Result<PreKeyBundle> {
        let bundle = self.store.fetch(of)?;
        self.fetched.insert((by, of));
        Ok(bundle)
    }

    /// Whether device `by` has fetched the bundle of device `of`.
    pub(crate) fn fetched(&self, by: u64, of: u64) -> bool {
        self.fetched.contains(&(by, of))
    }

    /// One-time prekeys of `device` still in store.
    pub(crate) fn one_time_remaining(&self, device: u64) -> usize {
        self.store.one_time_remaining(device)
    }
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
                if self.key_server.upload(i, upload).is_err() {
                    self.io.emit(NodeEvent::Undecodable);
                }
                self.key_server.register(i, dev.address());
                if self.caps.wants_keys() {
                    let snap = dev.export_state();
                    let mut keys: Vec<&[u8; 32]> =
                        vec![&snap.identity_private, &snap.signed_prekey.private];
                    keys.extend(snap.one_time_prekeys.iter().map(|k| &*k.private));
                    self.caps.learn_privates(keys);
                }
                if let Some(h) = self.handset_mut(i) {
                    h.app = Some(Box::new(Client::new(dev, opts.clone())));
                }
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
            .signal_failures
            .iter()
            .find(|(s, t, _)| (*s == v || *s == p) && *t >= a.at)
            .map(|(_, _, k)| format!("signal {k}"));
        Some((ids, detected))
    }

    /// At the end: `static` thefts from signal apps (identity key and signed prekey, which
    /// never change in a run) and the key directory of published prekeys.
    pub(crate) fn signal_finish(&mut self) {
        for (at, i) in self.caps.signal_static_targets() {
            let secrets = self
                .handset(i)
                .map(|h| h.app_secrets(false))
                .unwrap_or_default();
            for secret in secrets {
                let owner = Owner::Subscriber(self.dir.subs[i].msisdn.clone());
                self.caps.steal(at, owner, secret);
            }
        }
        let mut directory = Vec::new();
        for (&i, id) in &self.key_server.identities {
            directory.push(SignalDirectoryEntry {
                owner: Owner::Subscriber(self.dir.subs[i].msisdn.clone()),
                address: id.address,
                identity: id.identity,
                signed_prekeys: vec![id.signed_prekey],
                one_time_prekeys: self
                    .key_server
                    .published
                    .get(&i)
                    .cloned()
                    .unwrap_or_default(),
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
