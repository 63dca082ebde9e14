//! [`Device`]: one user's device as a sans-IO state machine: its keys, its sessions with
//! other devices, and the queues its driver drains.
//!
//! Calling order, for the driver:
//!
//! 1. [`Device::prekey_upload`] → [`crate::PreKeyStore::upload`] publishes keys;
//!    [`crate::PreKeyStore::fetch`] → [`Device::start_session`] starts a session (X3DH, or
//!    PQXDH when the config asks for it and the bundle has a PQ prekey).
//! 2. [`Device::send`] queues an envelope; [`Device::handle_envelope`] feeds one from the
//!    server.
//! 3. Drain [`Device::poll_transmit`] (envelopes to hand to the server, with their recipient)
//!    and [`Device::poll_event`] (plaintexts, receipts, failures).
//!
//! Rules:
//!
//! * The initiator sends prekey messages (X3DH data + ratchet message) until it decrypts a
//!   first message from the responder. The responder accepts any of them, in any order: a
//!   prekey message with the base key of an existing session goes to that session; one with a
//!   new base key starts a new session, replacing the old one.
//! * **An error discards the envelope, not the session** (Double Ratchet spec, 3.5): the state
//!   is as before the call, the error is returned and reported once as [`Event::Failed`].
//! * **Receipts** (`receipts: true` in the receiver's config): decrypting a data message
//!   queues a receipt for its id back to the sender, automatically. Receipts are not receipted.
//! * **Sealed sender** (`sealed_sender: true` in the sender's config): envelopes carry no
//!   sender address; see [`crate::sealed`].

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore};
use simcore::Timestamp;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{encode_ec, encode_kem, initial_header_keys, KemKeyPair};
use crate::error::{FailureKind, Result, SignalError};
use crate::keys::{IdentityKeyPair, PqPreKey, PreKeyBundle, PreKeyUpload, SignedPreKey};
use crate::ratchet::{RatchetState, DEFAULT_MAX_SKIP};
use crate::sealed::{seal, unseal};
use crate::snapshot::{KemSecret, PreKeySecret, StateSnapshot};
use crate::wire::{Content, Envelope, Frame, PreKeyHeader};
use crate::x3dh;

/// The largest application plaintext [`Device::send`] accepts.
pub const MAX_PLAINTEXT: usize = 60_000;

/// What the session appends to the X3DH `AD` (the spec allows appending identifying
/// information): initiator address || responder address, both u64 big-endian, so that an
/// altered clear sender address makes the message fail authentication.
pub fn address_binding(initiator: u64, responder: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&initiator.to_be_bytes());
    out[8..].copy_from_slice(&responder.to_be_bytes());
    out
}

/// A device's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The device's address (account/device id at the server).
    pub address: u64,
    /// Send envelopes with sealed sender.
    pub sealed_sender: bool,
    /// Send a delivery receipt for every data message decrypted.
    pub receipts: bool,
    /// Encrypt Double Ratchet headers (in sessions this device initiates; the responder
    /// follows the initiator).
    pub header_encryption: bool,
    /// Have PQ prekeys, and use PQXDH when the peer's bundle offers a PQ prekey.
    pub post_quantum: bool,
    /// `MAX_SKIP`.
    pub max_skip: u32,
}

impl DeviceConfig {
    /// Defaults: no sealed sender, no receipts, clear headers, PQXDH, `MAX_SKIP` 1000.
    pub fn new(address: u64) -> Self {
        DeviceConfig {
            address,
            sealed_sender: false,
            receipts: false,
            header_encryption: false,
            post_quantum: true,
            max_skip: DEFAULT_MAX_SKIP,
        }
    }
}

/// An envelope for the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The recipient device.
    pub recipient: u64,
    /// The encoded [`Envelope`].
    pub bytes: Vec<u8>,
}

/// Something the device tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An application message, decrypted and authenticated.
    Received {
        /// When it was handled.
        at: Timestamp,
        /// The sender's address.
        from: u64,
        /// The sender's message id.
        id: u64,
        /// Whether it came with sealed sender.
        sealed: bool,
        /// The plaintext.
        plaintext: Vec<u8>,
    },
    /// A delivery receipt for a message this device sent.
    ReceiptReceived {
        /// When it was handled.
        at: Timestamp,
        /// The peer that received the message.
        from: u64,
        /// The id [`Device::send`] returned.
        id: u64,
    },
    /// An envelope was rejected (and discarded).
    Failed {
        /// When.
        at: Timestamp,
        /// How it was noticed.
        kind: FailureKind,
        /// The error.
        error: SignalError,
    },
}

#[derive(Clone)]
struct Session {
    peer_identity: [u8; 32],
    ratchet: RatchetState,
    initiator: bool,
    /// Initiator: the X3DH data to repeat until the responder answers.
    pending_prekey: Option<PreKeyHeader>,
    /// Responder: `EK_A` of the initial message.
    base_key: Option<[u8; 32]>,
}

#[derive(Clone)]
struct SignedPreKeyPair {
    id: u32,
    secret: StaticSecret,
    public: SignedPreKey,
}

#[derive(Clone)]
struct PqKey {
    id: u32,
    pair: KemKeyPair,
    signature: [u8; 64],
}

/// One device: identity, prekeys, sessions, queues. See the module docs.
///
/// `Clone` forks the whole device, secrets included (each copy wipes its keys on drop): the
/// fuzz target starts every input from one fork of a device set up once, instead of paying for
/// its key generation each time.
#[derive(Clone)]
pub struct Device<R: RngCore + CryptoRng = ChaCha20Rng> {
    config: DeviceConfig,
    rng: R,
    identity: IdentityKeyPair,
    signed_prekey: SignedPreKeyPair,
    one_time: BTreeMap<u32, StaticSecret>,
    pq_last_resort: Option<PqKey>,
    pq_one_time: BTreeMap<u32, PqKey>,
    next_prekey_id: u32,
    sessions: BTreeMap<u64, Session>,
    next_message_id: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl<R: RngCore + CryptoRng> core::fmt::Debug for Device<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("config", &self.config)
            .field("identity", &self.identity)
            .field("sessions", &self.sessions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<R: RngCore + CryptoRng> Device<R> {
    /// A new device: identity key, signed prekey (id 1), and with `post_quantum` a signed
    /// last-resort PQ prekey, all drawn from `rng`, its only source of randomness.
    pub fn new(config: DeviceConfig, mut rng: R) -> Self {
        let identity = IdentityKeyPair::generate(&mut rng);
        let spk = StaticSecret::random_from_rng(&mut rng);
        let spk_pub = PublicKey::from(&spk).to_bytes();
        let signature = identity.sign(&mut rng, &encode_ec(&spk_pub));
        let mut device = Device {
            config,
            rng,
            identity,
            signed_prekey: SignedPreKeyPair {
                id: 1,
                secret: spk,
                public: SignedPreKey {
                    id: 1,
                    public: spk_pub,
                    signature,
                },
            },
            one_time: BTreeMap::new(),
            pq_last_resort: None,
            pq_one_time: BTreeMap::new(),
            next_prekey_id: 2,
            sessions: BTreeMap::new(),
            next_message_id: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        if device.config.post_quantum {
            device.pq_last_resort = Some(device.new_pq_key());
        }
        device
    }

    fn new_pq_key(&mut self) -> PqKey {
        let mut d_z = Zeroizing::new([0u8; 64]);
        self.rng.fill_bytes(&mut d_z[..]);
        let pair = KemKeyPair::from_seed(&d_z);
        let signature = self.identity.sign(&mut self.rng, &encode_kem(&pair.public));
        let id = self.next_prekey_id;
        self.next_prekey_id += 1;
        PqKey {
            id,
            pair,
            signature,
        }
    }

    /// The device's address.
    pub fn address(&self) -> u64 {
        self.config.address
    }

    /// The device's config.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// The identity public key.
    pub fn identity_public(&self) -> [u8; 32] {
        self.identity.public()
    }

    /// Whether the device has a session with `peer`.
    pub fn has_session(&self, peer: u64) -> bool {
        self.sessions.contains_key(&peer)
    }

    /// The session with `peer`'s current sending ratchet public key and the number of messages
    /// (data and receipts) sent on that chain so far; `None` without a session. Cheap (no
    /// snapshot): the simulator's ground truth of ratchet chains reads it after each transmit.
    pub fn sending_chain(&self, peer: u64) -> Option<([u8; 32], u32)> {
        self.sessions.get(&peer).map(|s| s.ratchet.sending_chain())
    }

    /// Generates `count` new one-time prekeys (and as many one-time PQ prekeys with
    /// `post_quantum`) and returns the upload for the server.
    pub fn prekey_upload(&mut self, count: u32) -> PreKeyUpload {
        let mut one_time_prekeys = Vec::new();
        let mut pq_one_time_prekeys = Vec::new();
        for _ in 0..count {
            let secret = StaticSecret::random_from_rng(&mut self.rng);
            let id = self.next_prekey_id;
            self.next_prekey_id += 1;
            one_time_prekeys.push((id, PublicKey::from(&secret).to_bytes()));
            self.one_time.insert(id, secret);
            if self.config.post_quantum {
                let pq = self.new_pq_key();
                pq_one_time_prekeys.push(PqPreKey {
                    id: pq.id,
                    public: pq.pair.public.clone(),
                    signature: pq.signature,
                });
                self.pq_one_time.insert(pq.id, pq);
            }
        }
        PreKeyUpload {
            device: self.config.address,
            identity: self.identity.public(),
            signed_prekey: self.signed_prekey.public.clone(),
            one_time_prekeys,
            pq_last_resort: self.pq_last_resort.as_ref().map(|pq| PqPreKey {
                id: pq.id,
                public: pq.pair.public.clone(),
                signature: pq.signature,
            }),
            pq_one_time_prekeys,
        }
    }

    /// Starts a session with the bundle's device (X3DH, or PQXDH when `post_quantum` and the
    /// bundle has a PQ prekey), replacing any session with it. Fails with
    /// [`SignalError::BadSignature`] if the bundle's signatures do not verify.
    pub fn start_session(&mut self, bundle: &PreKeyBundle) -> Result<()> {
        let mut init = x3dh::initiate(
            &mut self.rng,
            &self.identity,
            bundle,
            self.config.post_quantum,
        )?;
        init.ad
            .extend_from_slice(&address_binding(self.config.address, bundle.device));
        let header_keys = self
            .config
            .header_encryption
            .then(|| initial_header_keys(&init.sk));
        let ratchet = RatchetState::init_alice(
            &mut self.rng,
            &init.sk,
            bundle.signed_prekey.public,
            header_keys,
            init.ad,
            self.config.max_skip,
        );
        self.sessions.insert(
            bundle.device,
            Session {
                peer_identity: bundle.identity,
                ratchet,
                initiator: true,
                pending_prekey: Some(init.header),
                base_key: None,
            },
        );
        Ok(())
    }

    /// Encrypts `plaintext` for `peer` and queues the envelope. Returns the message id that
    /// a receipt will name.
    pub fn send(&mut self, _now: Timestamp, peer: u64, plaintext: &[u8]) -> Result<u64> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(SignalError::PlaintextTooLarge(plaintext.len()));
        }
        let id = self.next_message_id;
        self.send_frame(
            peer,
            &Frame::Data {
                id,
                body: plaintext.to_vec(),
            },
        )?;
        self.next_message_id += 1;
        Ok(id)
    }

    fn send_frame(&mut self, peer: u64, frame: &Frame) -> Result<()> {
        let session = self
            .sessions
            .get_mut(&peer)
            .ok_or(SignalError::NotStarted(peer))?;
        let frame = Zeroizing::new(frame.encode());
        let message = session
            .ratchet
            .encrypt(&mut self.rng, &frame)
            .ok_or(SignalError::NotStarted(peer))?;
        let content = match &session.pending_prekey {
            Some(prekey) => Content::PreKey {
                prekey: prekey.clone(),
                message,
            },
            None => Content::Ratchet(message),
        };
        let content = content.encode();
        let envelope = if self.config.sealed_sender {
            Envelope {
                recipient: peer,
                sender: None,
                body: seal(
                    &mut self.rng,
                    self.config.address,
                    &self.identity,
                    &session.peer_identity,
                    &content,
                ),
            }
        } else {
            Envelope {
                recipient: peer,
                sender: Some(self.config.address),
                body: content,
            }
        };
        self.transmits.push_back(Transmit {
            recipient: peer,
            bytes: envelope.encode(),
        });
        Ok(())
    }

    /// Handles an envelope from the server. On error the envelope is discarded, the state is
    /// unchanged, and the error is also reported as [`Event::Failed`].
    pub fn handle_envelope(&mut self, now: Timestamp, bytes: &[u8]) -> Result<()> {
        match self.handle_inner(now, bytes) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.events.push_back(Event::Failed {
                    at: now,
                    kind: error.failure_kind(),
                    error: error.clone(),
                });
                Err(error)
            }
        }
    }

    fn handle_inner(&mut self, now: Timestamp, bytes: &[u8]) -> Result<()> {
        let envelope = Envelope::decode(bytes)?;
        if envelope.recipient != self.config.address {
            return Err(SignalError::WrongRecipient {
                recipient: envelope.recipient,
                local: self.config.address,
            });
        }
        let (sender, sealed_identity, content) = match envelope.sender {
            Some(sender) => (sender, None, Zeroizing::new(envelope.body)),
            None => {
                let u = unseal(&self.identity, &envelope.body)?;
                (u.sender, Some(u.sender_identity), u.content)
            }
        };
        let content = Content::decode(&content)?;
        let plaintext = match content {
            Content::PreKey { prekey, message } => {
                if sealed_identity.is_some_and(|ik| ik != prekey.identity) {
                    return Err(SignalError::IdentityMismatch(sender));
                }
                let existing = self.sessions.get_mut(&sender).filter(|s| {
                    s.base_key == Some(prekey.ephemeral) && s.peer_identity == prekey.identity
                });
                match existing {
                    Some(session) => session.ratchet.decrypt(&mut self.rng, &message)?,
                    None => self.accept_prekey_message(sender, &prekey, &message)?,
                }
            }
            Content::Ratchet(message) => {
                let session = self
                    .sessions
                    .get_mut(&sender)
                    .ok_or(SignalError::NoSession(sender))?;
                if sealed_identity.is_some_and(|ik| ik != session.peer_identity) {
                    return Err(SignalError::IdentityMismatch(sender));
                }
                let pt = session.ratchet.decrypt(&mut self.rng, &message)?;
                session.pending_prekey = None;
                pt
            }
        };
        match Frame::decode(&plaintext)? {
            Frame::Data { id, body } => {
                self.events.push_back(Event::Received {
                    at: now,
                    from: sender,
                    id,
                    sealed: sealed_identity.is_some(),
                    plaintext: body,
                });
                if self.config.receipts {
                    self.send_frame(sender, &Frame::Receipt { id })?;
                }
            }
            Frame::Receipt { id } => self.events.push_back(Event::ReceiptReceived {
                at: now,
                from: sender,
                id,
            }),
        }
        Ok(())
    }

    /// X3DH/PQXDH as responder, then the first ratchet message on a new session; prekeys are
    /// consumed only if the message authenticates.
    fn accept_prekey_message(
        &mut self,
        sender: u64,
        prekey: &PreKeyHeader,
        message: &crate::wire::RatchetMessage,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if prekey.signed_prekey_id != self.signed_prekey.id {
            return Err(SignalError::UnknownSignedPreKey(prekey.signed_prekey_id));
        }
        let opk = match prekey.one_time_prekey_id {
            Some(id) => Some(
                self.one_time
                    .get(&id)
                    .ok_or(SignalError::UnknownOneTimePreKey(id))?,
            ),
            None => None,
        };
        let kem_secret = match &prekey.pq {
            Some((id, _)) => {
                let key = match &self.pq_last_resort {
                    Some(pq) if pq.id == *id => pq,
                    _ => self
                        .pq_one_time
                        .get(id)
                        .ok_or(SignalError::UnknownPqPreKey(*id))?,
                };
                Some(&key.pair.secret[..])
            }
            None => None,
        };
        let (sk, mut ad) = x3dh::respond(
            &self.identity,
            &self.signed_prekey.secret,
            opk,
            kem_secret,
            prekey,
        )?;
        ad.extend_from_slice(&address_binding(sender, self.config.address));
        let header_keys = matches!(message, crate::wire::RatchetMessage::HeaderEncrypted { .. })
            .then(|| initial_header_keys(&sk));
        let mut ratchet = RatchetState::init_bob(
            &sk,
            self.signed_prekey.secret.clone(),
            header_keys,
            ad,
            self.config.max_skip,
        );
        let pt = ratchet.decrypt(&mut self.rng, message)?;
        if let Some(id) = prekey.one_time_prekey_id {
            self.one_time.remove(&id);
        }
        if let Some((id, _)) = &prekey.pq {
            self.pq_one_time.remove(id);
        }
        self.sessions.insert(
            sender,
            Session {
                peer_identity: prekey.identity,
                ratchet,
                initiator: false,
                pending_prekey: None,
                base_key: Some(prekey.ephemeral),
            },
        );
        Ok(pt)
    }

    /// The next envelope to hand to the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Compromise hook: everything the device holds right now (see [`StateSnapshot`]).
    pub fn export_state(&self) -> StateSnapshot {
        let pq_secret = |pq: &PqKey| KemSecret {
            id: pq.id,
            secret: pq.pair.secret.clone(),
            public: pq.pair.public.clone(),
        };
        StateSnapshot {
            address: self.config.address,
            identity_private: Zeroizing::new(self.identity.secret().to_bytes()),
            identity_public: self.identity.public(),
            signed_prekey: PreKeySecret {
                id: self.signed_prekey.id,
                private: Zeroizing::new(self.signed_prekey.secret.to_bytes()),
                public: self.signed_prekey.public.public,
            },
            one_time_prekeys: self
                .one_time
                .iter()
                .map(|(id, s)| PreKeySecret {
                    id: *id,
                    private: Zeroizing::new(s.to_bytes()),
                    public: PublicKey::from(s).to_bytes(),
                })
                .collect(),
            pq_last_resort: self.pq_last_resort.as_ref().map(pq_secret),
            pq_one_time_prekeys: self.pq_one_time.values().map(pq_secret).collect(),
            sessions: self
                .sessions
                .iter()
                .map(|(peer, s)| {
                    let mut snap = s.ratchet.snapshot();
                    snap.peer = *peer;
                    snap.peer_identity = s.peer_identity;
                    snap.initiator = s.initiator;
                    snap.base_key = s.base_key;
                    snap
                })
                .collect(),
        }
    }
}
