//! A deterministic discrete-event network engine in virtual time.
//!
//! `netsim` moves real IPv4/UDP datagrams between named nodes over links with latency, jitter,
//! bandwidth (FIFO serialisation with drop-tail queues), loss, duplication, reordering and bit
//! corruption. Passive [taps](TapPoint) record what a vantage point sees; [on-path
//! hooks](OnPathHook) inspect every packet arriving at a node and return a [`Verdict`] (pass,
//! drop, delay, replace) and may inject packets of their own: that is the adversary's interface.
//!
//! # What this crate refuses to do
//! - It never reads the wall clock: time is a [`Timestamp`] that only [`Network::poll`] and
//!   [`Network::poll_until`] advance.
//! - It never asks the operating system for randomness: every random draw comes from the
//!   [`SeedTree`] handed to [`NetworkBuilder::build`], one named stream per link direction
//!   (`link/{id}/ab`, `link/{id}/ba`), so adding a link never changes another link's draws.
//! - It has no sockets, no threads and no `HashMap`: iteration order is always defined.
//!
//! # How it is driven
//! Build a topology with [`NetworkBuilder`], then alternate between inputs
//! ([`Network::send`], [`Network::set_timer`]) and [`Network::poll`], which returns the next
//! [`Event`] for the caller (a datagram delivered to a node, or a timer firing). Intermediate
//! hops, taps and hooks are handled inside `poll`. Events are ordered by (time, insertion
//! sequence), so the same build and the same sequence of calls always produce the same events
//! with the same bytes.
//!
//! ```
//! use std::net::{Ipv4Addr, SocketAddrV4};
//! use netsim::{Event, LinkParams, NetworkBuilder, Packet};
//! use simcore::{Duration, SeedTree, Timestamp};
//!
//! let mut b = NetworkBuilder::new();
//! let alice = b.add_node("alice", Ipv4Addr::new(10, 0, 0, 1));
//! let bob = b.add_node("bob", Ipv4Addr::new(10, 0, 0, 2));
//! let params = LinkParams { latency: Duration::from_millis(5), ..LinkParams::default() };
//! b.add_link(alice, bob, params);
//! let mut net = b.build(&SeedTree::new(1))?;
//!
//! let src = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000);
//! let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5060);
//! net.send(alice, Packet::udp(src, dst, b"INVITE")?);
//! match net.poll() {
//!     Some(Event::Deliver { node, packet }) => {
//!         assert_eq!(node, bob);
//!         assert_eq!(packet.udp_payload(), b"INVITE");
//!         assert_eq!(net.now(), Timestamp::from_millis(5));
//!     }
//!     other => panic!("expected a delivery, got {other:?}"),
//! }
//! # Ok::<(), netsim::NetError>(())
//! ```
#![warn(missing_docs)]

mod error;
mod hook;
mod link;
mod network;
mod packet;
pub mod partition;
mod pool;
mod queue;
mod route;

pub use error::NetError;
pub use hook::{HookCtx, OnPathHook, TapId, TapPoint, Verdict};
pub use link::LinkParams;
pub use network::{Event, LinkId, NetStats, Network, NetworkBuilder, NodeId};
pub use packet::{Packet, IPV4_HEADER_LEN, MAX_UDP_PAYLOAD, UDP_HEADER_LEN};
pub use simcore::{PacketLog, PacketRef};

#[doc(no_inline)]
pub use simcore::{Duration, SeedTree, Timestamp};
