//! What runs at each node ([`Logic`]), and state shared by several node kinds: the handset's
//! radio path and OTT client, its outbox entries, and the responder side of NK tunnels.

use simcore::FixedMap;
use std::net::Ipv4Addr;

use proto::keys::StaticKeypair;
use proto::tunnel::NkTunnel;

use proto::wire::TunnelPdu;

use crate::endpoint::Endpoint;
use crate::io::Io;

/// How a subscriber's carrier messaging reaches the SMS centre.
// One per handset, never moved around in bulk: boxing the tunnel would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RadioPath {
    /// Plain SMS PDUs to the SMS centre.
    Sms { smsc: Ipv4Addr },
    /// SMS PDUs inside an NK tunnel to the packet gateway.
    Tunnel { pgw: Ipv4Addr, tunnel: NkTunnel },
}

/// A subscriber's link to the OTT server (for its end-to-end app).
pub(crate) struct OttClient {
    /// The NK tunnel to the server, if the app has one.
    pub tunnel: Option<NkTunnel>,
}

/// How a handset sends one of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// The carrier's messaging (plain SMS, or inside the carrier-encrypted radio tunnel).
    Carrier,
    /// The handset's end-to-end app, through the OTT server.
    App,
}

/// A message a handset's user will send: its own outbox, not the ground truth.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub to: usize,
    /// The text, shared with the ground truth's record of the message.
    pub text: std::sync::Arc<str>,
    pub via: Via,
}

/// The responder side of NK tunnels: a packet gateway's or the OTT server's.
pub(crate) struct TunnelServer {
    pub key: StaticKeypair,
    /// Tunnels by client address as a `u32`; lookups only (one per subscriber at a gateway).
    tunnels: FixedMap<u32, NkTunnel>,
    /// PDUs waiting for a handset's tunnel to come up; lookups only.
    pending: FixedMap<u32, Vec<Vec<u8>>>,
}

impl TunnelServer {
    pub(crate) fn new(key: StaticKeypair) -> Self {
        TunnelServer {
            key,
            tunnels: FixedMap::default(),
            pending: FixedMap::default(),
        }
    }

    /// Feeds a tunnel PDU from `remote` to its tunnel (created on first contact, with
    /// randomness `seed`), sends what the tunnel answers and what was queued for `remote`
    /// while it was down, and returns the PDUs it decrypted.
    pub(crate) fn accept(
        &mut self,
        ep: &mut Endpoint,
        io: &mut Io,
        seed: [u8; 32],
        remote: Ipv4Addr,
        t: &TunnelPdu,
    ) -> Vec<Vec<u8>> {
        let now = io.now();
        if !self.tunnels.contains_key(&u32::from(remote)) {
            match NkTunnel::responder(&self.key, seed) {
                Ok(tun) => {
                    self.tunnels.insert(u32::from(remote), tun);
                }
                Err(_) => return Vec::new(),
            }
        }
        let mut inner = Vec::new();
        if let Some(tun) = self.tunnels.get_mut(&u32::from(remote)) {
            if tun.handle_pdu(now, t).is_ok() {
                while let Some(x) = tun.poll_received() {
                    inner.push(x);
                }
            }
            for x in self.pending.remove(&u32::from(remote)).unwrap_or_default() {
                let _ = tun.send(now, x);
            }
            ep.pump(io, remote, tun);
        }
        inner
    }

    /// Sends `pdu` to `remote` through its tunnel, or queues it until the tunnel is up.
    pub(crate) fn send(&mut self, ep: &mut Endpoint, io: &mut Io, remote: Ipv4Addr, pdu: Vec<u8>) {
        match self.tunnels.get_mut(&u32::from(remote)) {
            Some(tun) if tun.is_established() => {
                let _ = tun.send(io.now(), pdu);
                ep.pump(io, remote, tun);
            }
            _ => self.pending.entry(u32::from(remote)).or_default().push(pdu),
        }
    }
}

/// What runs at a node.
pub(crate) enum Logic {
    /// Forwards only (cells, core, edge, ix); nothing is addressed to it.
    Router,
    /// A handset.
    Sub(Box<crate::handset::Handset>),
    /// A packet gateway.
    Pgw(Box<crate::gateway::PgwNode>),
    /// An SMS centre.
    Smsc(Box<crate::smsc::SmscNode>),
    /// The OTT server.
    Ott(Box<crate::ott::OttNode>),
    /// A mediation node: forwards LI records to its law-enforcement agency.
    Mediation(crate::mediation::MediationNode),
    /// A law-enforcement collection function: a sink.
    Lea(crate::mediation::LeaNode),
}

/// What a node is handed: a datagram or one of its typed timers.
pub(crate) enum Input {
    /// A datagram addressed to the node.
    Datagram(netsim::Packet),
    /// One of the node's timers came due.
    Timer(crate::timer::Timer),
}

impl Logic {
    /// Hands `input` to the node: the one implementation of what each kind of node does, which
    /// every driver (the simulator's world, the live driver) calls. What the node asks for goes
    /// into `io`.
    pub(crate) fn handle(&mut self, env: &mut crate::handset::Env<'_>, io: &mut Io, input: Input) {
        match &input {
            Input::Timer(t) => tracing::trace!(timer = ?t, "timer"),
            Input::Datagram(packet) => tracing::trace!(
                src = %packet.src(),
                dst = %packet.dst(),
                bytes = packet.len(),
                "packet received"
            ),
        }
        match (self, input) {
            (Logic::Sub(h), Input::Timer(t)) => h.handle_timer(env, io, t),
            (Logic::Sub(h), Input::Datagram(packet)) => h.handle_datagram(env, io, &packet),
            (Logic::Pgw(p), Input::Timer(t)) => p.handle_timer(io, t),
            (Logic::Pgw(p), Input::Datagram(packet)) => p.handle_datagram(env.dir, io, &packet),
            (Logic::Smsc(s), Input::Timer(t)) => s.handle_timer(io, t),
            (Logic::Smsc(s), Input::Datagram(packet)) => s.handle_datagram(env.dir, io, &packet),
            (Logic::Ott(o), Input::Timer(t)) => o.handle_timer(env.dir, io, t),
            (Logic::Ott(o), Input::Datagram(packet)) => o.handle_datagram(env.dir, io, &packet),
            (Logic::Mediation(m), Input::Datagram(packet)) => m.handle_datagram(io, &packet),
            (Logic::Lea(l), Input::Datagram(packet)) => l.handle_datagram(&packet),
            _ => {}
        }
    }
}
