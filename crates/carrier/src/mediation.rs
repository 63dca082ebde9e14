//! The lawful-intercept delivery chain after the point of interception, as sans-IO machines:
//! the mediation node forwards every intercept record to its law-enforcement agency, and the
//! agency's collection function receives them.
//!
//! The point of interception itself (which duplicates warrant targets' traffic as IRI and
//! content records) sits on the path at the core router, in [`crate::li`].

use std::net::SocketAddrV4;

use netsim::Packet;
use proto::wire::{LiRecord, LI_PORT};

use crate::io::Io;

/// A mediation node: forwards LI records to its law-enforcement agency.
pub(crate) struct MediationNode {
    /// The agency's collection function.
    pub lea: std::net::Ipv4Addr,
    /// This node (records leave from it).
    pub node: netsim::NodeId,
}

impl MediationNode {
    /// A datagram addressed to the node: a well-formed LI record goes on to the agency.
    pub(crate) fn handle_datagram(&mut self, io: &mut Io, packet: &Packet) {
        if packet.dst().port() != LI_PORT || LiRecord::decode(packet.udp_payload()).is_err() {
            return;
        }
        let src = SocketAddrV4::new(*packet.dst().ip(), LI_PORT);
        let dst = SocketAddrV4::new(self.lea, LI_PORT);
        if let Ok(p) = Packet::udp(src, dst, packet.udp_payload()) {
            io.transmit(self.node, p);
        }
    }
}

/// A law-enforcement collection function: a sink that counts what arrives.
#[derive(Default)]
pub(crate) struct LeaNode {
    /// Datagrams received.
    pub received: u64,
}

impl LeaNode {
    /// A datagram addressed to the agency.
    pub(crate) fn handle_datagram(&mut self, _packet: &Packet) {
        self.received += 1;
    }
}
