//! The reliable-transport half of every endpoint node: one [`proto::reliable::ReliableLink`]
//! per remote address, driven by the network's timers.

use std::net::{Ipv4Addr, SocketAddrV4};

use netsim::{NodeId, Packet};
use proto::reliable::{ReliableConfig, ReliableLink, ReliableStats};
use proto::tunnel::NkTunnel;
use proto::wire::{AppPdu, FRAME_PORT};
use simcore::{FixedMap, Timestamp};

use crate::io::Io;
use crate::timer::Timer;

struct Peer {
    remote: Ipv4Addr,
    link: ReliableLink,
    timer: Option<Timestamp>,
    /// IPv4 bytes sent to and received from this peer (every datagram).
    bytes: (u64, u64),
}

/// Reliable links from one node to each of its peers.
pub(crate) struct Endpoint {
    node: NodeId,
    addr: Ipv4Addr,
    /// Peer by address, keyed as a `u32`; lookups only (a server has a peer per subscriber,
    /// and a B-tree of them costs a cache miss per level).
    index: FixedMap<u32, usize>,
    peers: Vec<Peer>,
    /// Datagrams that were not valid frames (corruption that slipped past checksums, bugs), and
    /// PDUs that could not be framed.
    pub bad_frames: u64,
}

impl Endpoint {
    pub(crate) fn new(node: NodeId, addr: Ipv4Addr) -> Self {
        Endpoint {
            node,
            addr,
            index: FixedMap::default(),
            peers: Vec::new(),
            bad_frames: 0,
        }
    }

    /// The node this endpoint sends from.
    pub(crate) fn node(&self) -> NodeId {
        self.node
    }

    fn peer(&mut self, remote: Ipv4Addr) -> usize {
        if let Some(&i) = self.index.get(&u32::from(remote)) {
            return i;
        }
        let i = self.peers.len();
        self.peers.push(Peer {
            remote,
            link: ReliableLink::new(ReliableConfig::default()),
            timer: None,
            bytes: (0, 0),
        });
        self.index.insert(u32::from(remote), i);
        i
    }

    /// Queues `pdu` for reliable delivery to `remote` and transmits what can go now.
    pub(crate) fn send(&mut self, io: &mut Io, remote: Ipv4Addr, pdu: Vec<u8>) {
        let i = self.peer(remote);
        let now = io.now();
        if self.peers[i].link.send(now, pdu).is_err() {
            // Only a PDU over 64 KiB can be refused; the model never builds one.
            self.bad_frames += 1;
            return;
        }
        self.flush(io, i);
    }

    /// Sends every record `tunnel` has ready to `remote`.
    pub(crate) fn pump(&mut self, io: &mut Io, remote: Ipv4Addr, tunnel: &mut NkTunnel) {
        while let Some(t) = tunnel.poll_transmit() {
            match AppPdu::Tunnel(t).to_bytes() {
                Ok(b) => self.send(io, remote, b),
                // Only a Noise message over 64 KiB can fail; NkTunnel never writes one.
                Err(_) => self.bad_frames += 1,
            }
        }
    }

    /// Handles a datagram addressed to this node; returns the sender and the PDUs now
    /// delivered in order (possibly none).
    pub(crate) fn receive(&mut self, io: &mut Io, packet: &Packet) -> (Ipv4Addr, Vec<Vec<u8>>) {
        let remote = *packet.src().ip();
        let i = self.peer(remote);
        self.peers[i].bytes.1 += packet.len() as u64;
        let now = io.now();
        if self.peers[i]
            .link
            .handle_datagram(now, packet.udp_payload())
            .is_err()
        {
            self.bad_frames += 1;
        }
        let mut out = Vec::new();
        while let Some(pdu) = self.peers[i].link.poll_delivered() {
            out.push(pdu);
        }
        self.flush(io, i);
        (remote, out)
    }

    /// Handles the retransmission timer of link `i` ([`Timer::Link`]).
    pub(crate) fn on_timer(&mut self, io: &mut Io, i: usize) {
        if i >= self.peers.len() {
            return;
        }
        let now = io.now();
        if self.peers[i].timer.is_some_and(|t| t <= now) {
            self.peers[i].timer = None;
        }
        self.peers[i].link.handle_timeout(now);
        self.flush(io, i);
    }

    fn flush(&mut self, io: &mut Io, i: usize) {
        let now = io.now();
        let src = SocketAddrV4::new(self.addr, FRAME_PORT);
        let peer = &mut self.peers[i];
        let dst = SocketAddrV4::new(peer.remote, FRAME_PORT);
        while let Some(bytes) = peer.link.poll_transmit(now) {
            match Packet::udp(src, dst, &bytes) {
                Ok(p) => {
                    peer.bytes.0 += p.len() as u64;
                    io.transmit(self.node, p)
                }
                Err(e) => tracing::error!(error = %e, "frame does not fit a datagram"),
            }
        }
        if let Some(t) = peer.link.poll_timeout() {
            if peer.timer.is_none_or(|s| t < s) {
                peer.timer = Some(t);
                io.set_timer(self.node, t, Timer::Link(i));
            }
        }
    }

    /// IPv4 bytes `(sent, received)` exchanged with `remote` (0 if never).
    pub(crate) fn bytes_with(&self, remote: Ipv4Addr) -> (u64, u64) {
        self.index
            .get(&u32::from(remote))
            .map_or((0, 0), |&i| self.peers[i].bytes)
    }

    /// Adds this endpoint's link statistics into `total`.
    pub(crate) fn add_stats(&self, total: &mut LinkTotals) {
        for p in &self.peers {
            let s: &ReliableStats = p.link.stats();
            total.data_sent += s.data_sent;
            total.retransmissions += s.retransmissions;
            total.duplicates_received += s.duplicates_received;
            if !p.link.is_idle() {
                total.unacknowledged_links += 1;
            }
        }
        total.bad_frames += self.bad_frames;
    }
}

/// Reliable-transport totals over a run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LinkTotals {
    /// DATA frames sent for the first time.
    pub data_sent: u64,
    /// DATA frames sent again after a timeout.
    pub retransmissions: u64,
    /// DATA frames received more than once (duplication or spurious retransmission).
    pub duplicates_received: u64,
    /// Datagrams that were not valid frames.
    pub bad_frames: u64,
    /// Links still holding unacknowledged data when the run ended (must be 0).
    pub unacknowledged_links: u64,
}
