//! The state of each kind of endpoint node. Their behaviour is in [`crate::world`], which
//! drives them from network events.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use proto::keys::StaticKeypair;
use proto::noise::NoiseSession;
use proto::tunnel::NkTunnel;

use crate::endpoint::Endpoint;

/// How a subscriber's carrier messaging reaches the SMS centre.
pub(crate) enum RadioPath {
    /// Plain SMS PDUs to the SMS centre.
    Sms { smsc: Ipv4Addr },
    /// SMS PDUs inside an NK tunnel to the packet gateway.
    Tunnel { pgw: Ipv4Addr, tunnel: NkTunnel },
}

/// One end-to-end session of a subscriber.
pub(crate) struct E2e {
    pub peer: usize,
    pub session: NoiseSession,
    /// Texts handed to this session, for failure accounting.
    pub texts: Vec<String>,
    /// Set once the session died and its texts were accounted for.
    pub failed: bool,
}

/// A subscriber's OTT messaging client.
pub(crate) struct OttClient {
    pub app: usize,
    pub tunnel: Option<NkTunnel>,
    pub sessions: BTreeMap<u64, E2e>,
    /// The session used to send to each peer.
    pub outgoing: BTreeMap<usize, u64>,
    pub next_session: u32,
}

/// A handset.
pub(crate) struct SubNode {
    pub sub: usize,
    pub ep: Endpoint,
    pub radio: RadioPath,
    pub ott: Option<OttClient>,
    pub msg_ref: u32,
}

/// A packet gateway terminating carrier-encrypted radio tunnels.
pub(crate) struct PgwNode {
    pub carrier: usize,
    pub ep: Endpoint,
    pub key: StaticKeypair,
    pub tunnels: BTreeMap<Ipv4Addr, NkTunnel>,
    /// Downlink PDUs waiting for a subscriber's tunnel to come up.
    pub pending: BTreeMap<Ipv4Addr, Vec<Vec<u8>>>,
}

/// An SMS centre: store and forward.
pub(crate) struct SmscNode {
    pub carrier: usize,
    pub ep: Endpoint,
}

/// The OTT messaging server: relays envelopes between accounts.
pub(crate) struct OttNode {
    pub ep: Endpoint,
    pub key: StaticKeypair,
    pub tunnels: BTreeMap<Ipv4Addr, NkTunnel>,
    pub pending: BTreeMap<Ipv4Addr, Vec<Vec<u8>>>,
    pub relayed: u64,
    pub undeliverable: u64,
}

/// What runs at a node.
pub(crate) enum Logic {
    /// Forwards only (cells, core, edge, ix); nothing is addressed to it.
    Router,
    /// A handset.
    Sub(Box<SubNode>),
    /// A packet gateway.
    Pgw(Box<PgwNode>),
    /// An SMS centre.
    Smsc(Box<SmscNode>),
    /// The OTT server.
    Ott(Box<OttNode>),
    /// A mediation node: forwards LI records to its law-enforcement agency.
    Mediation { lea: Ipv4Addr, forwarded: u64 },
    /// A law-enforcement collection function: a sink.
    Lea { received: u64 },
}
