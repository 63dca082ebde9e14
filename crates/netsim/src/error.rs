//! The one error type of this crate, with a variant per kind of fault and who is to blame.
//!
//! Two families: *API misuse* by whoever builds the topology (duplicate addresses, links to
//! unknown nodes, nonsense link parameters), and *malformed datagrams* handed to
//! [`Packet::from_bytes`](crate::Packet::from_bytes) by whoever produced the bytes, each with
//! the byte offset of the offending field.

use std::net::Ipv4Addr;

use crate::network::{LinkId, NodeId};

/// Everything that can go wrong in `netsim`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// API misuse: two nodes were given the same IPv4 address, so routing would be ambiguous.
    #[error("address {addr} is used by both {first:?} and {second:?}")]
    DuplicateAddress {
        /// The address claimed twice.
        addr: Ipv4Addr,
        /// The node that claimed it first.
        first: NodeId,
        /// The node that claimed it again.
        second: NodeId,
    },
    /// API misuse: a link names a node that was never added to the builder.
    #[error("{link:?} refers to unknown node {node:?}")]
    UnknownNode {
        /// The offending link.
        link: LinkId,
        /// The node id that does not exist.
        node: NodeId,
    },
    /// API misuse: a link connects a node to itself.
    #[error("{link:?} connects {node:?} to itself")]
    LinkToSelf {
        /// The offending link.
        link: LinkId,
        /// The node at both ends.
        node: NodeId,
    },
    /// API misuse: a link parameter is out of range (a probability outside `[0, 1]` or NaN, or
    /// a bandwidth of zero).
    #[error("{link:?} has an invalid parameter: {reason}")]
    InvalidLinkParams {
        /// The offending link.
        link: LinkId,
        /// Which parameter and why.
        reason: &'static str,
    },
    /// API misuse: an outage was scheduled on a link that was never added.
    #[error("an outage names {link:?}, which is not a link of this network")]
    UnknownOutageLink {
        /// The link named.
        link: LinkId,
    },
    /// API misuse: an outage was scheduled on a node that was never added.
    #[error("an outage names {node:?}, which is not a node of this network")]
    UnknownOutageNode {
        /// The node named.
        node: NodeId,
    },
    /// API misuse: more nodes or links than a `u32` id can name.
    #[error("too many {what} for 32-bit ids")]
    TooMany {
        /// "nodes" or "links".
        what: &'static str,
    },
    /// API misuse: a UDP payload longer than fits in one IPv4 datagram.
    #[error("UDP payload of {len} bytes exceeds the maximum of {max}")]
    PayloadTooLarge {
        /// The payload length asked for.
        len: usize,
        /// The largest payload that fits ([`MAX_UDP_PAYLOAD`](crate::MAX_UDP_PAYLOAD)).
        max: usize,
    },
    /// Malformed datagram: the bytes end before a header that must be there.
    #[error("datagram too short: {len} bytes, need at least {need} (header at offset {offset})")]
    TooShort {
        /// The number of bytes received.
        len: usize,
        /// The number of bytes needed.
        need: usize,
        /// Offset of the header that does not fit.
        offset: usize,
    },
    /// Malformed datagram: the IP version nibble is not 4.
    #[error("IP version {version} at offset 0, expected 4")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// Malformed datagram: the IHL field is below the minimum of 5 words.
    #[error("IPv4 header length {ihl} words at offset 0 is below the minimum of 5")]
    BadHeaderLength {
        /// The IHL found, in 32-bit words.
        ihl: u8,
    },
    /// Malformed datagram: the IPv4 total length (offset 2) disagrees with the bytes received.
    #[error("IPv4 total length {declared} at offset 2 but {actual} bytes received")]
    BadTotalLength {
        /// The length in the header.
        declared: usize,
        /// The number of bytes received.
        actual: usize,
    },
    /// Malformed datagram: a fragment (MF set or non-zero fragment offset at offset 6); this
    /// stack does not reassemble.
    #[error("fragmented datagram (flags/fragment offset {field:#06x} at offset 6)")]
    Fragmented {
        /// The flags and fragment offset field.
        field: u16,
    },
    /// Malformed datagram: the protocol at offset 9 is not UDP (17).
    #[error("IP protocol {protocol} at offset 9, expected 17 (UDP)")]
    NotUdp {
        /// The protocol number found.
        protocol: u8,
    },
    /// Malformed datagram: the UDP length field disagrees with the IPv4 payload length.
    #[error("UDP length {declared} at offset {offset} but the IPv4 payload is {actual} bytes")]
    BadUdpLength {
        /// The length in the UDP header.
        declared: usize,
        /// The IPv4 payload length.
        actual: usize,
        /// Offset of the UDP length field.
        offset: usize,
    },
}
