//! The wall between the simulator and the adversary's active components.
//!
//! An on-path component (the `onpath` crate) is a sans-IO machine on the adversary's side: the
//! simulator hands it the datagrams crossing its vantage ([`Interceptor::handle_datagram`]) and
//! the secrets the adversary steals while the run goes on ([`Interceptor::handle_stolen`]); it
//! answers with a [`Verdict`] per datagram and datagrams of its own to send
//! ([`Interceptor::poll_transmit`]). What it knows of the carrier is what an insider reads from
//! the carrier's own systems, written down in an [`OnPathBrief`]; it never sees ground truth or
//! simulator state.
//!
//! What comes back is in two separate types:
//! - [`ActiveRecord`]: the adversary's own log (what it did, what it read), which the passive
//!   analysis receives as a capability;
//! - [`AttackFacts`]: which session or pair each attack concerned and whether bytes were changed,
//!   which the simulator needs to write the ground truth of the attack (which messages were
//!   affected, whether an endpoint noticed). The scorer never takes a plaintext from here.
//!
//! The simulator reaches a component only through [`Arm`], wired by the pipeline, so the
//! simulator crate does not depend on the adversary's.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use simcore::{Duration, SeedTree, Timestamp};

use crate::capability::{ActiveRecord, StolenSecret};

/// What an on-path component does to the sessions it targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnPathMode {
    /// Man in the middle: answer each side's handshake itself.
    Mitm,
    /// Flip bytes of messages in flight.
    Tamper,
    /// Send captured messages again.
    Replay,
    /// Drop messages.
    Drop,
    /// Inject forged messages.
    Inject,
    /// Replay a session's first handshake message (with its early data) to the responder as
    /// the first message of a fresh session: the 0-RTT replay.
    #[serde(rename = "replay-0rtt")]
    Replay0Rtt,
}

impl OnPathMode {
    /// The name used in scenario files: `mitm`, `tamper`, `replay`, `drop`, `inject`,
    /// `replay-0rtt`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnPathMode::Mitm => "mitm",
            OnPathMode::Tamper => "tamper",
            OnPathMode::Replay => "replay",
            OnPathMode::Drop => "drop",
            OnPathMode::Inject => "inject",
            OnPathMode::Replay0Rtt => "replay-0rtt",
        }
    }
}

/// `drop` mode: which of a session's envelopes the component drops, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropPlan {
    /// Drop every `every`-th envelope of the session on the leg where the component acts
    /// (counted from 1 in first-transmission order; 1 = every envelope).
    pub every: u32,
    /// How a chosen envelope's frame is dropped.
    pub how: DropHow,
}

impl Default for DropPlan {
    fn default() -> Self {
        DropPlan {
            every: 1,
            how: DropHow::Delete,
        }
    }
}

/// How a `drop` component drops a chosen frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropHow {
    /// Delete it and acknowledge it to the sender with a forged ACK (renumbering the hop), so
    /// the sender's reliable layer believes it delivered: the message is gone for good.
    Delete,
    /// Drop its first transmission only, unacknowledged: the sender's reliable layer
    /// retransmits it after its timeout, and the retransmission passes (delivered late).
    Once,
    /// Drop every transmission of it: the reliable layer retries until the run's retry budget
    /// is spent, holding the hop's later frames behind it.
    Always,
}

impl DropHow {
    /// The name used in scenario files: `delete`, `once`, `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropHow::Delete => "delete",
            DropHow::Once => "once",
            DropHow::Always => "always",
        }
    }
}

/// What a component decides for one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it continue unchanged.
    Pass,
    /// Discard it.
    Drop,
    /// Hold it for this long, then let it continue.
    Delay(Duration),
    /// Continue with these bytes (a whole IPv4 datagram) instead.
    Replace(Vec<u8>),
}

/// One `[[adversary.onpath]]` entry as the component holds it: the order and its target list.
#[derive(Clone, Debug)]
pub struct OnPathOrder {
    /// Index of the entry in the scenario (file order).
    pub entry: usize,
    /// What it does.
    pub mode: OnPathMode,
    /// The targeted app's name.
    pub app: String,
    /// Its targets: MSISDNs of the app's subscribers (read from the carrier's subscriber
    /// database, as an insider can).
    pub msisdns: BTreeSet<String>,
    /// Its targets' addresses, for those whose app tunnels to its server (to recognise the
    /// tunnels).
    pub addrs: BTreeSet<Ipv4Addr>,
    /// Share of sessions attacked.
    pub share: f64,
    /// Active from.
    pub from: Timestamp,
    /// mitm: send its own static key (else the impersonated party's directory key).
    pub own_static: bool,
    /// drop: which envelopes, and how.
    pub drop: DropPlan,
}

/// Everything a component at one node knows before the first packet: the insider's view of
/// the carrier, the public key directory, its orders and its own randomness.
#[derive(Clone, Debug)]
pub struct OnPathBrief {
    /// The node it sits at, e.g. `"east.core"`.
    pub node: String,
    /// The carrier's MSISDN prefix (its own numbering plan), e.g. `"+1202"`.
    pub msisdn_prefix: String,
    /// The carrier's subscriber address blocks: (network, prefix length) each.
    pub subscriber_nets: Vec<(Ipv4Addr, u8)>,
    /// The over-the-top messaging server's address (public).
    pub ott_addr: Ipv4Addr,
    /// The OTT server's static public key (public).
    pub ott_public: [u8; 32],
    /// The apps' public prologue.
    pub prologue: Vec<u8>,
    /// The public key directory: MSISDN → static public key.
    pub directory: BTreeMap<String, [u8; 32]>,
    /// Its orders, in scenario order.
    pub orders: Vec<OnPathOrder>,
    /// Its own seed: its static key and its random draws come from here.
    pub seeds: SeedTree,
}

impl OnPathBrief {
    /// Whether `addr` is in one of the carrier's subscriber blocks.
    pub fn is_local_subscriber(&self, addr: Ipv4Addr) -> bool {
        self.subscriber_nets.iter().any(|&(net, len)| {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(addr) & mask == u32::from(net) & mask
        })
    }
}

/// What one attack concerned, as the component did it: for the ground truth of the attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttackFacts {
    /// The scenario entry.
    pub entry: usize,
    /// The mode.
    pub mode: OnPathMode,
    /// The app targeted.
    pub app: String,
    /// The end-to-end session id, or `None` (a tunnelled flow, a Signal session).
    pub session: Option<u64>,
    /// Signal takeovers: (victim MSISDN, peer MSISDN).
    pub pair: Option<(String, String)>,
    /// When the attack began.
    pub at: Timestamp,
    /// Whether any byte of the session was changed, dropped or injected.
    pub acted: bool,
    /// Frames deleted (first transmissions dropped, for `drop_how = "once"` / `"always"`).
    pub dropped: u64,
    /// `drop` with `once` / `always`: transmissions dropped in all (retransmissions included).
    pub transmissions_dropped: u64,
    /// `drop` with `once`: dropped frames whose retransmission the component let through.
    pub passed_after_drop: u64,
    /// `replay-0rtt`: the fresh session id under which the first message was replayed.
    pub replayed_session: Option<u64>,
}

/// An on-path component of the adversary: a sans-IO machine.
///
/// The caller hands it every datagram crossing its node in arrival order, with the virtual
/// time; after each call it drains [`Interceptor::poll_transmit`] and sends those datagrams from
/// the node, in order, before carrying out the verdict.
pub trait Interceptor: Send {
    /// A datagram (a whole IPv4 packet, possibly corrupted) crossing the node at `now`.
    fn handle_datagram(&mut self, now: Timestamp, datagram: &[u8]) -> Verdict;
    /// The next datagram the component sends itself (injections, forged acknowledgements).
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    /// A secret the adversary stole while the run goes on (its own loot).
    fn handle_stolen(&mut self, secret: &StolenSecret);
    /// Its own log so far: one record per attack.
    fn records(&self) -> Vec<ActiveRecord>;
    /// What each attack concerned, in the order of [`Interceptor::records`].
    fn facts(&self) -> Vec<AttackFacts>;
}

/// Builds the adversary's on-path components: the one way the simulator gets them.
pub trait Arm: Sync {
    /// A component for the node and orders of `brief`.
    fn arm(&self, brief: OnPathBrief) -> Box<dyn Interceptor>;
    /// Whether this can build components at all ([`Unarmed`] cannot): a simulator refuses a
    /// scenario with on-path entries when it cannot, rather than run it without the attack.
    fn armed(&self) -> bool {
        true
    }
}

/// No active adversary, for runs whose scenario has no `[[adversary.onpath]]` entry.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unarmed;

impl Arm for Unarmed {
    fn arm(&self, _brief: OnPathBrief) -> Box<dyn Interceptor> {
        Box::new(Passive)
    }
    fn armed(&self) -> bool {
        false
    }
}

/// Passes everything, records nothing.
struct Passive;

impl Interceptor for Passive {
    fn handle_datagram(&mut self, _now: Timestamp, _datagram: &[u8]) -> Verdict {
        Verdict::Pass
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn handle_stolen(&mut self, _secret: &StolenSecret) {}
    fn records(&self) -> Vec<ActiveRecord> {
        Vec::new()
    }
    fn facts(&self) -> Vec<AttackFacts> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_block_membership() {
        let b = OnPathBrief {
            node: "x.core".into(),
            msisdn_prefix: "+1202".into(),
            subscriber_nets: vec![
                (Ipv4Addr::new(10, 3, 0, 0), 16),
                (Ipv4Addr::new(100, 70, 0, 0), 16),
            ],
            ott_addr: Ipv4Addr::new(198, 51, 100, 10),
            ott_public: [0; 32],
            prologue: Vec::new(),
            directory: BTreeMap::new(),
            orders: Vec::new(),
            seeds: SeedTree::new(1),
        };
        assert!(b.is_local_subscriber(Ipv4Addr::new(10, 3, 200, 7)));
        assert!(!b.is_local_subscriber(Ipv4Addr::new(10, 4, 0, 7)));
        assert!(!b.is_local_subscriber(Ipv4Addr::new(11, 3, 0, 7)));
        // A carrier's overflow block (100.64.0.0/10) is as local as its own /16.
        assert!(b.is_local_subscriber(Ipv4Addr::new(100, 70, 1, 2)));
        assert!(!b.is_local_subscriber(Ipv4Addr::new(100, 71, 1, 2)));
    }
}
