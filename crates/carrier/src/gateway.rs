//! The packet gateway: where carrier-encrypted messaging is decrypted, as a sans-IO machine.
//!
//! Handsets of a carrier-encrypted app reach the gateway through an NK tunnel on the radio hop.
//! The gateway terminates it: SMS PDUs come out in the clear and continue to the SMS centre in
//! the core, which is why carrier encryption does not protect against an intruder there.
//! Downlink SMS PDUs from the SMS centre go back into the recipient's tunnel.

use netsim::Packet;
use proto::wire::AppPdu;
use simcore::SeedTree;

use crate::directory::Directory;
use crate::endpoint::Endpoint;
use crate::io::{Io, NodeEvent};
use crate::nodes::TunnelServer;
use crate::timer::Timer;
use crate::topology::smsc_addr;

/// A packet gateway terminating carrier-encrypted radio tunnels.
pub(crate) struct PgwNode {
    pub carrier: usize,
    pub ep: Endpoint,
    pub server: TunnelServer,
    /// Randomness of the tunnels it answers, one stream per handset address.
    pub seeds: SeedTree,
}

impl PgwNode {
    /// A datagram addressed to the gateway.
    pub(crate) fn handle_datagram(&mut self, dir: &Directory, io: &mut Io, packet: &Packet) {
        let (remote, pdus) = self.ep.receive(io, packet);
        for raw in pdus {
            let Ok(pdu) = AppPdu::decode(&raw) else {
                io.emit(NodeEvent::Undecodable);
                continue;
            };
            match pdu {
                // Uplink: a handset's tunnel.
                AppPdu::Tunnel(t) => {
                    let seed = self.seeds.child(&remote.to_string()).key();
                    let inner = self.server.accept(&mut self.ep, io, seed, remote, &t);
                    // Decrypted: plaintext SMS PDUs continue to the SMS centre in the core.
                    for x in inner {
                        self.ep.send(io, smsc_addr(self.carrier), x);
                    }
                }
                // Downlink from the SMS centre to a carrier-encrypted handset.
                AppPdu::Sms(s) => {
                    let Some(to) = dir.lookup(&s.to) else {
                        continue;
                    };
                    self.server.send(&mut self.ep, io, dir.ip(to), raw);
                }
                AppPdu::Ott(_) | AppPdu::Call(_) => io.emit(NodeEvent::Undecodable),
            }
        }
    }

    /// A timer of the gateway.
    pub(crate) fn handle_timer(&mut self, io: &mut Io, timer: Timer) {
        if let Timer::Link(i) = timer {
            self.ep.on_timer(io, i);
        }
    }
}
