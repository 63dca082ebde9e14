//! Vantage points: passive taps that only record, and on-path hooks that decide.
//!
//! A tap on a node records every packet arriving at it (before its hooks run) and every packet
//! originating there ([`Network::send`](crate::Network::send) or a hook's injection). A tap on
//! a link records every packet the link accepts into its transmit queue, in both directions,
//! as it was handed over (before any loss or corruption on the wire). Recording is a copy of
//! the bytes with the virtual time, appended to the tap's [`PacketLog`](simcore::PacketLog): one
//! arena of bytes and a `(time, end)` index, no allocation per packet.
//!
//! An [`OnPathHook`] sits at a node and sees every packet arriving there, at intermediate hops
//! and at the destination alike. It returns a [`Verdict`] and may inject packets through the
//! [`HookCtx`]. This is the adversary's active interface.

use simcore::{Duration, Timestamp};

use crate::network::{LinkId, NodeId};
use crate::packet::Packet;

/// Where a tap is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TapPoint {
    /// Packets arriving at or originating from a node.
    Node(NodeId),
    /// Packets entering a link, in either direction.
    Link(LinkId),
}

/// Names a tap returned by [`Network::add_tap`](crate::Network::add_tap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TapId(pub u32);

/// What an on-path hook decides for a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it continue unchanged (later hooks at the node still see it).
    Pass,
    /// Discard it silently. No later hook sees it.
    Drop,
    /// Hold it for this long, then let it continue (deliver or forward) without running this
    /// node's hooks again. No later hook sees it now.
    Delay(Duration),
    /// Continue with these bytes instead; later hooks at the node see the replacement, and it is
    /// routed by its own destination address. Bytes that [`Packet::from_bytes`] rejects are
    /// dropped and counted in [`NetStats::hook_invalid_replaces`](crate::NetStats::hook_invalid_replaces).
    Replace(Vec<u8>),
}

/// What a hook may know and do besides returning a verdict.
#[derive(Debug)]
pub struct HookCtx<'a> {
    pub(crate) now: Timestamp,
    pub(crate) node: NodeId,
    pub(crate) injected: &'a mut Vec<Packet>,
}

impl HookCtx<'_> {
    /// The current virtual time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The node this hook sits at.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Sends `packet` from this node (any source address, spoofed or not). Injected packets
    /// leave after all of the node's hooks have run and before the verdict on the current
    /// packet is carried out, in injection order; they are routed normally, recorded by this
    /// node's taps as originating here, and not shown to this node's hooks.
    pub fn inject(&mut self, packet: Packet) {
        self.injected.push(packet);
    }
}

/// An on-path observer that may tamper: the adversary's active capability at a node.
pub trait OnPathHook: Send {
    /// Called for every packet arriving at the hook's node. `packet` may already have been
    /// replaced by an earlier hook at the same node, and may be corrupted (check
    /// [`Packet::checksums_ok`]).
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict;
}

impl<F> OnPathHook for F
where
    F: FnMut(&mut HookCtx<'_>, &Packet) -> Verdict + Send,
{
    fn on_packet(&mut self, ctx: &mut HookCtx<'_>, packet: &Packet) -> Verdict {
        self(ctx, packet)
    }
}
