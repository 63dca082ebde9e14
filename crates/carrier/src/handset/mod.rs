//! The handset: a sans-IO machine, like the SMS centre ([`crate::smsc`]) and the OTT server
//! ([`crate::ott`]).
//!
//! A [`Handset`] is handed one input at a time, a datagram ([`Handset::handle_datagram`]) or one
//! of its typed timers ([`Handset::handle_timer`]), and answers through an [`Io`]: transmits,
//! timers and [`crate::io::NodeEvent`]s (delivered, failed and why, sessions, call facts). It
//! never sees the network or the ground truth. What it may read or call beyond its own state
//! is its [`Env`]: the read-only directory, the key directory of published static keys, the
//! scenario's settings, the Signal key server (an instant request, as documented in
//! [`crate::signal_app`]) and the [`Exposure`] the world subjects its secrets to.
//!
//! Its parts, one module each:
//! - [`messaging`]: the user's outbox, SMS through the radio path (plain or inside the carrier's
//!   NK tunnel), and the link to the OTT server;
//! - [`app`]: the trait an end-to-end protocol implements at the handset ([`app::E2eApp`]),
//!   with [`noise`] (Noise sessions) and [`signal`] (the Signal-style device: X3DH/PQXDH, the
//!   Double Ratchet, sealed sender);
//! - [`voice`]: this party's leg of each voice call (signalling, the call's Noise handshake,
//!   media);
//! - [`cm`]: the handset's countermeasures (framing and padding, receipts, cover traffic).

pub(crate) mod app;
pub(crate) mod cm;
pub(crate) mod messaging;
pub(crate) mod noise;
pub(crate) mod signal;
pub(crate) mod voice;

use std::collections::BTreeMap;

use netsim::Packet;
use proto::keys::StaticKeypair;
use scenario::Scenario;
use simcore::SeedTree;

use crate::directory::Directory;
use crate::endpoint::Endpoint;
use crate::io::Io;
use crate::nodes::{OttClient, Outgoing, RadioPath};
use crate::signal_app::KeyServer;
use crate::timer::Timer;

/// What the world does to a handset's secrets beyond the network: how good its randomness is,
/// and which private keys a quantum oracle learns. The driver passes the adversary's declared
/// capabilities made real ([`crate::capability::Capable`]); a handset never reads them otherwise.
pub(crate) trait Exposure {
    /// The randomness seed of a new session, given what a good RNG would have drawn (`strong`):
    /// `strong` itself on a sound handset, a guessable seed on a weak one.
    fn session_seed(&self, sub: usize, strong: [u8; 32]) -> [u8; 32];
    /// Whether a quantum oracle wants the X25519 private keys of Signal devices.
    fn wants_keys(&self) -> bool;
    /// Gives the oracle private keys.
    fn learn_privates(&self, privates: Vec<&[u8; 32]>);
}

/// Everything a handset may read or call while it handles one input, besides its own state.
pub(crate) struct Env<'a> {
    /// Subscribers, numbering plan, apps, presence.
    pub dir: &'a Directory,
    /// The scenario's settings (traffic, voice and early-data knobs).
    pub sc: &'a Scenario,
    /// The run's seed tree (pre-shared keys and session randomness are derived from it).
    pub seeds: &'a SeedTree,
    /// The key directory: every subscriber's published static public key, if any.
    pub keys: &'a [Option<[u8; 32]>],
    /// The OTT server's Signal key server.
    pub key_server: &'a mut KeyServer,
    /// What the world does to the handset's secrets.
    pub exposure: &'a dyn Exposure,
}

/// A subscriber's phone.
pub(crate) struct Handset {
    /// The subscriber's index.
    pub(crate) sub: usize,
    /// Reliable links to the SMS centre, packet gateway and OTT server.
    pub(crate) ep: Endpoint,
    /// How carrier messaging leaves the phone.
    pub(crate) radio: RadioPath,
    /// The OTT messaging client, for subscribers of an end-to-end app.
    pub(crate) ott: Option<OttClient>,
    /// The handset's own static key pair (Noise apps).
    static_key: Option<StaticKeypair>,
    /// The SMS message reference counter.
    msg_ref: u32,
    /// What the user will send and has not sent yet, by message id (the [`Timer::Send`]
    /// payload); a message leaves it when it is sent.
    outbox: BTreeMap<usize, Outgoing>,
    /// The end-to-end app, for subscribers of one.
    pub(crate) app: Option<Box<dyn app::E2eApp>>,
    /// This party's leg of each planned call, by the call's index in the plan.
    calls: BTreeMap<usize, voice::Leg>,
    /// Countermeasure state.
    pub(crate) cm: cm::State,
}

impl Handset {
    pub(crate) fn new(
        sub: usize,
        ep: Endpoint,
        radio: RadioPath,
        ott: Option<OttClient>,
        static_key: Option<StaticKeypair>,
        cm: cm::State,
    ) -> Self {
        Handset {
            sub,
            ep,
            radio,
            ott,
            static_key,
            msg_ref: 0,
            outbox: BTreeMap::new(),
            app: None,
            calls: BTreeMap::new(),
            cm,
        }
    }

    /// The user plans to send `message` (id `id`) at `at`.
    pub(crate) fn plan_message(
        &mut self,
        io: &mut Io,
        id: usize,
        at: simcore::Timestamp,
        message: Outgoing,
    ) {
        self.outbox.insert(id, message);
        io.set_timer(self.ep.node(), at, Timer::Send(id));
    }

    /// Starts the handset: its tunnels' handshakes go out and its first cover message is
    /// scheduled.
    pub(crate) fn start(&mut self, env: &mut Env<'_>, io: &mut Io) {
        if let RadioPath::Tunnel { pgw, tunnel } = &mut self.radio {
            self.ep.pump(io, *pgw, tunnel);
        }
        if let Some(t) = self.ott.as_mut().and_then(|o| o.tunnel.as_mut()) {
            self.ep.pump(io, crate::topology::OTT_ADDR, t);
        }
        self.cm_start(env, io);
    }

    /// One of the handset's timers fired.
    pub(crate) fn handle_timer(&mut self, env: &mut Env<'_>, io: &mut Io, timer: Timer) {
        match timer {
            Timer::Send(id) => self.send_planned(env, io, id),
            Timer::Link(i) => self.ep.on_timer(io, i),
            Timer::Call { call, act } => self.call_timer(env, io, call, act),
            Timer::Cover(_) => self.cm_cover(env, io),
            Timer::Release(id) => self.cm_release(env, io, id),
            Timer::Mix(_) | Timer::Mailbox(_) => {}
        }
    }

    /// A datagram addressed to the handset arrived.
    pub(crate) fn handle_datagram(&mut self, env: &mut Env<'_>, io: &mut Io, packet: &Packet) {
        if packet.dst().port() == proto::wire::MEDIA_PORT {
            return self.receive_media(io, packet);
        }
        let (remote, pdus) = self.ep.receive(io, packet);
        for pdu in pdus {
            self.receive_pdu(env, io, remote, &pdu);
        }
    }
}

#[cfg(test)]
mod tests;
