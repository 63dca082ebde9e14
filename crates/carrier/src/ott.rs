//! The over-the-top messaging server, as a sans-IO machine.
//!
//! It relays end-to-end envelopes between accounts: it reads only the envelope's clear header
//! (sender and recipient accounts, session id), never the body. What it does with one:
//!
//! - a **cover** envelope (session [`COVER_SESSION`]) is dropped: it only existed to be seen;
//! - with a **mixing delay** configured for the recipient's app, it is held for an exponential
//!   delay (Poisson mixing) and released by a [`Timer::Mix`]; Noise envelopes of one pair leave
//!   in order, because their transport nonces are implicit;
//! - a **Signal** envelope for a recipient that is offline (or that has older envelopes waiting)
//!   goes to its mailbox, delivered when it comes back ([`Timer::Mailbox`]);
//! - otherwise it is sent on to the recipient, inside its server tunnel when its app uses one.
//!
//! It also relays end-to-end call signalling and media between the two parties of a call.
//!
//! When the adversary holds the server (an `ott-server` vantage), the server keeps a [`ServerLog`]:
//! every application PDU it accepted from a client and every one it sent to a client, after its
//! own end of the server tunnel (each PDU exactly as it handled it: the end-to-end layer inside
//! stays sealed), and every media packet it relayed. The driver hands the log to the capture.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use netsim::{NodeId, Packet};
use proto::wire::{AppPdu, CallPdu, Frame, MediaPdu, FRAME_PORT, MEDIA_PORT};
use simcore::{Duration, SeedTree, SimRng, Timestamp};

use crate::countermeasures::COVER_SESSION;
use crate::directory::Directory;
use crate::endpoint::Endpoint;
use crate::io::{Io, NodeEvent};
use crate::nodes::TunnelServer;
use crate::timer::Timer;
use crate::topology::OTT_ADDR;
use crate::traffic::exp;

/// What a compromised server records: each PDU it handled as a UDP datagram between the
/// client's address and its own, carrying one DATA frame (numbered per direction and client),
/// and each media packet it relayed as it was. In handling order, so in time order.
#[derive(Default)]
pub(crate) struct ServerLog {
    /// The records.
    pub packets: capture::PacketLog,
    /// Next frame number per (source, destination).
    seq: BTreeMap<(Ipv4Addr, Ipv4Addr), u32>,
}

impl ServerLog {
    /// Records `pdu` from `src` to `dst` at `now`.
    fn pdu(&mut self, now: Timestamp, src: Ipv4Addr, dst: Ipv4Addr, pdu: &[u8]) {
        let next = self.seq.entry((src, dst)).or_default();
        let frame = Frame::Data {
            seq: *next,
            payload: pdu.to_vec(),
        };
        *next = next.wrapping_add(1);
        let bytes = frame.to_bytes().ok().and_then(|f| {
            capture::ip::build_udp(
                SocketAddrV4::new(src, FRAME_PORT),
                SocketAddrV4::new(dst, FRAME_PORT),
                &f,
            )
            .ok()
        });
        // Only a PDU over 64 KiB could fail to frame; the server never accepts one.
        if let Some(bytes) = bytes {
            self.packets.push(now, &bytes);
        }
    }

    /// Records a datagram as it is.
    fn raw(&mut self, now: Timestamp, bytes: &[u8]) {
        self.packets.push(now, bytes);
    }
}

/// An envelope held for mixing.
struct Held {
    to: usize,
    raw: Vec<u8>,
    signal: bool,
}

/// The OTT messaging server.
pub(crate) struct OttNode {
    pub ep: Endpoint,
    pub server: TunnelServer,
    /// This node (timers are set on it).
    pub node: NodeId,
    /// Randomness of the tunnels it answers, one stream per client address.
    pub seeds: SeedTree,
    /// Per app index: the mean mixing delay in seconds (0: no mixing).
    pub mixing_delay: Vec<f64>,
    /// Draws of the mixing delays.
    pub mix_rng: SimRng,
    /// Envelopes relayed (mailboxed and mixed ones once, when accepted or released).
    pub relayed: u64,
    /// Calls it relays, by call id: (caller, callee) subscriber indices.
    pub calls: BTreeMap<u64, (usize, usize)>,
    /// Signal envelopes waiting for each offline recipient.
    mailbox: BTreeMap<usize, Vec<Vec<u8>>>,
    /// Envelopes held for mixing, by hold id.
    held: BTreeMap<u64, Held>,
    next_hold: u64,
    /// Last release time per (sender address, recipient): FIFO per pair for Noise apps.
    last_release: BTreeMap<(Ipv4Addr, usize), Timestamp>,
    /// Per app index: envelopes mixed.
    pub mixed: BTreeMap<usize, u64>,
    /// What it records when the adversary holds it (`None`: it is not compromised).
    pub log: Option<ServerLog>,
}

impl OttNode {
    /// A server at `node` with key `server`; `seeds` for its tunnels, `mixing_delay` per app.
    pub(crate) fn new(
        node: NodeId,
        server: TunnelServer,
        seeds: SeedTree,
        mixing_delay: Vec<f64>,
        mix_rng: SimRng,
    ) -> Self {
        OttNode {
            ep: Endpoint::new(node, OTT_ADDR),
            server,
            node,
            seeds,
            mixing_delay,
            mix_rng,
            relayed: 0,
            calls: BTreeMap::new(),
            mailbox: BTreeMap::new(),
            held: BTreeMap::new(),
            next_hold: 0,
            last_release: BTreeMap::new(),
            mixed: BTreeMap::new(),
            log: None,
        }
    }

    /// A datagram addressed to the server.
    pub(crate) fn handle_datagram(&mut self, dir: &Directory, io: &mut Io, packet: &Packet) {
        if packet.dst().port() == MEDIA_PORT {
            return self.media(dir, io, packet);
        }
        let (remote, pdus) = self.ep.receive(io, packet);
        let mut envelopes = Vec::new();
        for raw in pdus {
            match AppPdu::decode(&raw) {
                Ok(AppPdu::Tunnel(t)) => {
                    let seed = self.seeds.child(&remote.to_string()).key();
                    envelopes.extend(self.server.accept(&mut self.ep, io, seed, remote, &t));
                }
                Ok(AppPdu::Ott(_) | AppPdu::Call(_)) => envelopes.push(raw),
                _ => io.emit(NodeEvent::Undecodable),
            }
        }
        if let Some(log) = &mut self.log {
            for raw in &envelopes {
                log.pdu(io.now(), remote, OTT_ADDR, raw);
            }
        }
        for raw in envelopes {
            let (to, signal) = match AppPdu::decode(&raw) {
                Ok(AppPdu::Ott(env)) => {
                    let to = dir.lookup(&env.to);
                    let signal = env.is_signal();
                    if let Some(to) = to {
                        if self.cover_or_mix(dir, io, remote, to, &raw, env.session, signal) {
                            continue;
                        }
                    }
                    (to, signal)
                }
                Ok(AppPdu::Call(c)) => (self.call(dir, remote, &c), false),
                _ => {
                    io.emit(NodeEvent::Undecodable);
                    continue;
                }
            };
            let Some(to) = to else {
                tracing::debug!("envelope for an account that does not exist: dropped");
                continue;
            };
            if signal {
                self.relay_signal(dir, io, to, raw);
                continue;
            }
            self.relayed += 1;
            self.deliver(dir, io, to, raw);
        }
    }

    /// A timer of the server.
    pub(crate) fn handle_timer(&mut self, dir: &Directory, io: &mut Io, timer: Timer) {
        match timer {
            Timer::Link(i) => self.ep.on_timer(io, i),
            Timer::Mix(hold) => self.release(dir, io, hold),
            Timer::Mailbox(to) => self.flush_mailbox(dir, io, to),
            _ => {}
        }
    }

    /// Sends `raw` on to subscriber `to`, inside its server tunnel when its app uses one.
    fn deliver(&mut self, dir: &Directory, io: &mut Io, to: usize, raw: Vec<u8>) {
        tracing::debug!(to = %dir.subs[to].msisdn, bytes = raw.len(), "relayed");
        let ip = dir.ip(to);
        if let Some(log) = &mut self.log {
            log.pdu(io.now(), OTT_ADDR, ip, &raw);
        }
        if dir.app_of(to).server_tunnel() {
            self.server.send(&mut self.ep, io, ip, raw);
        } else {
            self.ep.send(io, ip, raw);
        }
    }

    /// `true` if the envelope is cover (dropped) or held for mixing.
    #[allow(clippy::too_many_arguments)]
    fn cover_or_mix(
        &mut self,
        dir: &Directory,
        io: &mut Io,
        remote: Ipv4Addr,
        to: usize,
        raw: &[u8],
        session: u64,
        signal: bool,
    ) -> bool {
        if session == COVER_SESSION {
            tracing::debug!(to = %dir.subs[to].msisdn, "cover envelope dropped");
            return true;
        }
        let app = dir.subs[to].app;
        let mean = self.mixing_delay.get(app).copied().unwrap_or(0.0);
        if mean <= 0.0 {
            return false;
        }
        let d = exp(&mut self.mix_rng, mean);
        let mut at = io.now() + Duration::from_nanos((d * 1e9) as u64);
        // Noise transport nonces are implicit, so a pair's envelopes must leave in order; the
        // Double Ratchet carries its message numbers and keeps skipped keys, so Signal
        // envelopes are mixed freely (and may overtake each other, as in Loopix).
        if !signal {
            let last = self.last_release.entry((remote, to)).or_default();
            if at < *last {
                at = *last;
            }
            *last = at;
        }
        *self.mixed.entry(app).or_default() += 1;
        tracing::debug!(
            to = %dir.subs[to].msisdn,
            session,
            until_ns = at.as_nanos(),
            "envelope held for mixing"
        );
        let id = crate::timer::hold_id(self.next_hold);
        self.next_hold += 1;
        self.held.insert(
            id,
            Held {
                to,
                raw: raw.to_vec(),
                signal,
            },
        );
        io.set_timer(self.node, at, Timer::Mix(id));
        true
    }

    /// A mixed envelope leaves.
    fn release(&mut self, dir: &Directory, io: &mut Io, hold: u64) {
        let Some(Held { to, raw, signal }) = self.held.remove(&hold) else {
            return;
        };
        if signal {
            return self.relay_signal(dir, io, to, raw);
        }
        self.relayed += 1;
        self.deliver(dir, io, to, raw);
    }

    /// A Signal envelope for `to`: deliver it, or keep it in the mailbox.
    fn relay_signal(&mut self, dir: &Directory, io: &mut Io, to: usize, raw: Vec<u8>) {
        let now = io.now();
        self.relayed += 1;
        let queued = self.mailbox.get(&to).is_some_and(|m| !m.is_empty());
        if queued || !dir.presence.online(to, now) {
            tracing::debug!(to = %dir.subs[to].msisdn, "envelope stored in the mailbox");
            let mb = self.mailbox.entry(to).or_default();
            mb.push(raw);
            if mb.len() == 1 {
                let at = dir.presence.next_online(to, now);
                io.set_timer(self.node, at, Timer::Mailbox(to));
            }
            return;
        }
        self.deliver(dir, io, to, raw);
    }

    /// Delivers `to`'s mailbox if it is online, else tries again when it comes back.
    fn flush_mailbox(&mut self, dir: &Directory, io: &mut Io, to: usize) {
        let now = io.now();
        if !dir.presence.online(to, now) {
            let at = dir.presence.next_online(to, now);
            io.set_timer(self.node, at, Timer::Mailbox(to));
            return;
        }
        for raw in self.mailbox.remove(&to).unwrap_or_default() {
            self.deliver(dir, io, to, raw);
        }
    }

    /// Call signalling: learn the call, and name the other party to relay it to.
    fn call(&mut self, dir: &Directory, remote: Ipv4Addr, pdu: &CallPdu) -> Option<usize> {
        let (Some(caller), Some(callee)) = (dir.lookup(&pdu.from), dir.lookup(&pdu.to)) else {
            return None;
        };
        // Entries are kept after the call ends: media in flight may still arrive.
        self.calls.entry(pdu.call_id).or_insert((caller, callee));
        Some(if remote == dir.ip(caller) {
            callee
        } else {
            caller
        })
    }

    /// A media packet: forward it to the other party.
    fn media(&mut self, dir: &Directory, io: &mut Io, packet: &Packet) {
        let Ok(m) = MediaPdu::decode(packet.udp_payload()) else {
            io.emit(NodeEvent::Undecodable);
            return;
        };
        let Some(&(caller, callee)) = self.calls.get(&m.call_id) else {
            return;
        };
        let to = if *packet.src().ip() == dir.ip(caller) {
            callee
        } else {
            caller
        };
        let me = SocketAddrV4::new(OTT_ADDR, MEDIA_PORT);
        let dst = SocketAddrV4::new(dir.ip(to), MEDIA_PORT);
        if let Ok(p) = Packet::udp(me, dst, packet.udp_payload()) {
            if let Some(log) = &mut self.log {
                log.raw(io.now(), packet.bytes());
                log.raw(io.now(), p.bytes());
            }
            io.transmit(self.node, p);
        }
    }
}
