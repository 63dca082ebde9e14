//! What node code hands back to the driver: the sans-IO boundary of the carrier model.
//!
//! While a node handles one input (a datagram or a timer) it never touches the network: it
//! reads the time from an [`Io`] and pushes transmits and timers into it, in order. The driver
//! then carries them out on whatever network it pumps (the simulator's [`netsim::Network`]
//! today, real sockets in a live driver), in the same order, so the simulation is exactly what
//! it was when handlers called the network directly.
//!
//! Outputs name the node they come from (a node's endpoint knows its node id).

use netsim::{NodeId, Packet};
use simcore::Timestamp;

use crate::timer::Timer;

/// One thing a node asked for.
#[derive(Debug)]
pub(crate) enum Output {
    /// Send `packet` from `from`.
    Transmit { from: NodeId, packet: Packet },
    /// Wake `node` with `timer` at `at` (or now, if `at` has passed).
    Timer {
        node: NodeId,
        at: Timestamp,
        timer: Timer,
    },
}

/// Something a node reports to the driver, which turns it into ground truth, records or
/// counters (nodes never write those themselves).
#[derive(Debug)]
pub(crate) enum NodeEvent {
    /// A PDU the node could not decode or route.
    Undecodable,
    /// A record written to carrier `carrier`'s call-record store.
    Record {
        carrier: usize,
        record: capture::CallRecord,
    },
    /// Subscriber `to`'s handset showed its user this text.
    Delivered { to: usize, text: String },
    /// A message with this text could not be sent or delivered, and why.
    Failed { text: String, why: String },
    /// A handset opened an end-to-end session of the app labelled `label`.
    SessionOpened { label: String },
    /// An end-to-end session failed (its first failure counts).
    SessionFailed {
        session: u64,
        failure: crate::truth::SessionFailure,
    },
    /// A handset decrypted something that was not a text it could show (corruption past every
    /// check, or a bug): must never happen.
    IntegrityError,
    /// A Signal message went out on the sender's ratchet key `key` (for healing figures).
    SignalRatchetKey { message: usize, key: [u8; 32] },
    /// Subscriber `from`'s Signal device sent a ratchet message to `to` on the chain of ratchet
    /// key `key`, which has now carried `sent` messages (data and receipts).
    SignalChain {
        from: usize,
        to: usize,
        key: [u8; 32],
        sent: u32,
    },
    /// A handset refused to open a session (e.g. an unknown protocol), counted by reason.
    SessionRefused { reason: String },
    /// Subscriber `sub`'s Signal device rejected an envelope, with the failure kind.
    SignalRejected { sub: usize, kind: String },
    /// A handset handed `text` to its end-to-end session `session`.
    SessionText {
        session: u64,
        text: std::sync::Arc<str>,
    },
    /// The key server handed out subscriber `sub`'s prekeys: its device may top them up.
    PrekeysTaken { sub: usize },
    /// What happened to call `call` (its index in the plan).
    Call { call: usize, fact: CallFact },
}

/// What a handset reports about a call it is party to.
#[derive(Debug)]
pub(crate) enum CallFact {
    /// The callee answered.
    Answered,
    /// The call ended (at the party that ended it), and why: `normal`, `no-answer`, `busy` or
    /// `radio-loss`.
    Ended { cause: &'static str },
    /// A media packet of `bytes` IPv4 bytes went out from the caller or the callee.
    MediaSent { caller: bool, bytes: u64 },
    /// A media packet arrived intact (and, end to end, authenticated).
    MediaReceived,
    /// A media packet failed authentication.
    MediaError,
}

/// The time of the input being handled and the outputs asked for so far.
#[derive(Debug, Default)]
pub(crate) struct Io {
    now: Timestamp,
    out: Vec<Output>,
    events: Vec<NodeEvent>,
}

impl Io {
    /// Starts handling an input at `now` (outputs of the previous one must have been taken).
    pub(crate) fn begin(&mut self, now: Timestamp) {
        debug_assert!(
            self.out.is_empty() && self.events.is_empty(),
            "outputs left behind"
        );
        self.now = now;
    }

    /// The virtual time of the input being handled.
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Sends `packet` from `from`.
    pub(crate) fn transmit(&mut self, from: NodeId, packet: Packet) {
        self.out.push(Output::Transmit { from, packet });
    }

    /// Wakes `node` with `timer` at `at`.
    pub(crate) fn set_timer(&mut self, node: NodeId, at: Timestamp, timer: Timer) {
        self.out.push(Output::Timer { node, at, timer });
    }

    /// Reports `event` to the driver.
    pub(crate) fn emit(&mut self, event: NodeEvent) {
        self.events.push(event);
    }

    /// The events reported, in order.
    pub(crate) fn take_events(&mut self) -> std::vec::Drain<'_, NodeEvent> {
        self.events.drain(..)
    }

    /// The outputs, in the order they were asked for.
    pub(crate) fn take(&mut self) -> std::vec::Drain<'_, Output> {
        self.out.drain(..)
    }

    /// Gives back the buffers' spare capacity (once taken, they are empty): the start asks
    /// for every planned message's timer at once, and a buffer keeps the largest size it ever
    /// had.
    pub(crate) fn shrink(&mut self) {
        self.out.shrink_to_fit();
        self.events.shrink_to_fit();
    }

    /// The capacity of the buffers, in outputs and events.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.out.capacity() + self.events.capacity()
    }
}
