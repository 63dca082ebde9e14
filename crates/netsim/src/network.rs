//! The topology builder and the running network: event loop, forwarding, taps and hooks.
//!
//! # Life of a packet
//! 1. [`Network::send`] (or a hook's inject) *originates* it at a node: node taps record it,
//!    its destination node is looked up by address (unknown address: counted unroutable).
//! 2. The node forwards it on the next link towards the destination: the link direction
//!    decides its fate ([`crate::LinkParams`]), link taps record it if it was accepted, and an
//!    *arrival* event is scheduled at the far end (twice if duplicated).
//! 3. When an arrival is popped, node taps record it, then the node's hooks run in insertion
//!    order. Unless a hook dropped or delayed it, the node either delivers it (it owns the
//!    destination address: checksums are verified as a host stack would, and a damaged packet
//!    is counted and dropped) or forwards it again (step 2).
//!
//! Only deliveries and timers come out of [`Network::poll`]; everything else happens inside.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use simcore::{FixedMap, PacketLog, SeedTree, Timestamp};

use crate::error::NetError;
use crate::hook::{HookCtx, OnPathHook, TapId, TapPoint, Verdict};
use crate::link::{nanos, Direction, Fate, LinkModel, LinkParams};
use crate::packet::Packet;
use crate::queue::EventQueue;
use crate::route::Routes;

/// Names a node; index into the order nodes were added to the [`NetworkBuilder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Names a bidirectional link; index into the order links were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u32);

/// What [`Network::poll`] hands to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A datagram reached the node that owns its destination address, intact.
    Deliver {
        /// The receiving node.
        node: NodeId,
        /// The datagram, checksums verified.
        packet: Packet,
    },
    /// A timer set with [`Network::set_timer`] fired.
    Timer {
        /// The node it was set for.
        node: NodeId,
        /// The caller's token.
        token: u64,
    },
}

/// Counters of everything the network did; for reports and for tests to prove work was done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetStats {
    /// Events popped from the queue (hop arrivals, delayed continuations, timers).
    pub events: u64,
    /// Packets handed to [`Network::send`].
    pub packets_sent: u64,
    /// Packets returned as [`Event::Deliver`].
    pub packets_delivered: u64,
    /// Timers returned as [`Event::Timer`].
    pub timers_fired: u64,
    /// Packets lost in transit on a link.
    pub dropped_loss: u64,
    /// Packets dropped at the tail of a full link queue.
    pub dropped_queue: u64,
    /// Frames damaged on a link and dropped by the far end's frame check.
    pub dropped_fcs: u64,
    /// Packets dropped at their destination because a checksum failed (damage the frame
    /// check missed: [`LinkParams::undetected_corrupt`](crate::LinkParams::undetected_corrupt)).
    pub dropped_corrupt: u64,
    /// Bit flips the frame check missed (each such packet counts once).
    pub corrupted: u64,
    /// Extra copies made by links.
    pub duplicated: u64,
    /// Copies held back by a link's reordering delay.
    pub reordered: u64,
    /// Packets dropped because no node owns the destination address or no path leads there.
    pub unroutable: u64,
    /// Packets dropped because the link they were put on, or a node at either end of it,
    /// was down (a scheduled outage: [`NetworkBuilder::add_link_outage`],
    /// [`NetworkBuilder::add_node_outage`]).
    pub dropped_partition: u64,
    /// Packets dropped by a hook's [`Verdict::Drop`].
    pub hook_drops: u64,
    /// Packets held by a hook's [`Verdict::Delay`].
    pub hook_delays: u64,
    /// Packets rewritten by a hook's [`Verdict::Replace`].
    pub hook_replaces: u64,
    /// Replacements whose bytes were not a valid datagram (the packet was dropped).
    pub hook_invalid_replaces: u64,
    /// Packets injected by hooks.
    pub hook_injects: u64,
}

/// Describes a topology; [`NetworkBuilder::build`] validates it and creates the [`Network`].
///
/// Ids are handed out in insertion order and errors are reported by `build`, naming the
/// offending node or link.
#[derive(Debug, Default)]
pub struct NetworkBuilder {
    nodes: Vec<(String, Ipv4Addr)>,
    links: Vec<(NodeId, NodeId, LinkParams)>,
    /// Scheduled outages `(link, from, until)` in nanoseconds, half-open.
    link_outages: Vec<(LinkId, u64, u64)>,
    /// Scheduled outages `(node, from, until)` in nanoseconds, half-open.
    node_outages: Vec<(NodeId, u64, u64)>,
}

impl NetworkBuilder {
    /// An empty topology.
    pub fn new() -> Self {
        NetworkBuilder::default()
    }

    /// Adds a node owning `addr`; datagrams to `addr` are delivered to it.
    pub fn add_node(&mut self, name: &str, addr: Ipv4Addr) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push((name.to_owned(), addr));
        id
    }

    /// Adds a bidirectional link between `a` and `b`.
    pub fn add_link(&mut self, a: NodeId, b: NodeId, params: LinkParams) -> LinkId {
        let id = LinkId(u32::try_from(self.links.len()).unwrap_or(u32::MAX));
        self.links.push((a, b, params));
        id
    }

    /// The links added so far: `(id, first end, second end)` in insertion order.
    pub fn links(&self) -> impl Iterator<Item = (LinkId, NodeId, NodeId)> + '_ {
        self.links
            .iter()
            .enumerate()
            .map(|(i, (a, b, _))| (LinkId(i as u32), *a, *b))
    }

    /// The name node `id` was added with, if it exists.
    pub fn node_name(&self, id: NodeId) -> Option<&str> {
        self.nodes.get(id.0 as usize).map(|(n, _)| n.as_str())
    }

    /// Schedules an outage of `link` during `[from, until)`: a frame put on the link in that
    /// window, or due to arrive over it in that window, is dropped (counted in
    /// [`NetStats::dropped_partition`]) before it uses the link's bandwidth or randomness.
    /// Timers are not affected. Routes do not change: an outage is not a new topology.
    /// An empty window (`until <= from`) schedules nothing; `build` refuses an unknown link.
    pub fn add_link_outage(&mut self, link: LinkId, from: Timestamp, until: Timestamp) {
        self.link_outages
            .push((link, from.as_nanos(), until.as_nanos()));
    }

    /// Schedules an outage of `node` during `[from, until)`: every link with the node at one
    /// end is down in that window (see [`NetworkBuilder::add_link_outage`]); the node's timers
    /// still fire. `build` refuses an unknown node.
    pub fn add_node_outage(&mut self, node: NodeId, from: Timestamp, until: Timestamp) {
        self.node_outages
            .push((node, from.as_nanos(), until.as_nanos()));
    }

    /// Validates the topology and creates the network at time zero. Link `i` draws from the
    /// streams `link/{i}/ab` (from its first node to its second) and `link/{i}/ba` of `seeds`.
    ///
    /// A disconnected topology is allowed (partitions are a scenario too); packets without a
    /// path are counted in [`NetStats::unroutable`].
    pub fn build(self, seeds: &SeedTree) -> Result<Network, NetError> {
        if u32::try_from(self.nodes.len()).is_err() {
            return Err(NetError::TooMany { what: "nodes" });
        }
        // u32::MAX marks "no route", so one fewer link id is usable.
        if u32::try_from(self.links.len()).map_or(true, |n| n == u32::MAX) {
            return Err(NetError::TooMany { what: "links" });
        }
        let mut by_addr: BTreeMap<Ipv4Addr, NodeId> = BTreeMap::new();
        for (i, (_, addr)) in self.nodes.iter().enumerate() {
            let id = NodeId(i as u32);
            if let Some(&first) = by_addr.get(addr) {
                return Err(NetError::DuplicateAddress {
                    addr: *addr,
                    first,
                    second: id,
                });
            }
            by_addr.insert(*addr, id);
        }
        let link_seeds = seeds.child("link");
        let mut links = Vec::with_capacity(self.links.len());
        let mut ends = Vec::with_capacity(self.links.len());
        for (i, (a, b, params)) in self.links.iter().enumerate() {
            let id = LinkId(i as u32);
            for n in [*a, *b] {
                if n.0 as usize >= self.nodes.len() {
                    return Err(NetError::UnknownNode { link: id, node: n });
                }
            }
            if a == b {
                return Err(NetError::LinkToSelf { link: id, node: *a });
            }
            let model = LinkModel::new(id, params)?;
            links.push(Link {
                model,
                dirs: [
                    Direction::new(link_seeds.stream(&format!("{i}/ab"))),
                    Direction::new(link_seeds.stream(&format!("{i}/ba"))),
                ],
            });
            ends.push((a.0, b.0));
        }
        let mut outages: Vec<Vec<(u64, u64)>> = vec![Vec::new(); links.len()];
        for &(link, from, until) in &self.link_outages {
            let slot = outages
                .get_mut(link.0 as usize)
                .ok_or(NetError::UnknownOutageLink { link })?;
            if from < until {
                slot.push((from, until));
            }
        }
        for &(node, from, until) in &self.node_outages {
            if node.0 as usize >= self.nodes.len() {
                return Err(NetError::UnknownOutageNode { node });
            }
            for (i, &(a, b)) in ends.iter().enumerate() {
                if (a == node.0 || b == node.0) && from < until {
                    outages[i].push((from, until));
                }
            }
        }
        for o in &mut outages {
            o.sort_unstable();
        }
        let link_ends = ends
            .iter()
            .zip(&links)
            .zip(&outages)
            .map(|((&(a, b), link), down)| LinkEnds {
                a,
                b,
                fixed: match link.model.fixed_latency() {
                    Some(latency) if down.is_empty() => latency,
                    _ => NOT_FIXED,
                },
            })
            .collect();
        let n = self.nodes.len();
        Ok(Network {
            outages,
            now: 0,
            by_addr: by_addr
                .into_iter()
                .map(|(addr, id)| (u32::from(addr), id.0))
                .collect(),
            nodes: self.nodes,
            routes: Routes::new(n, &ends),
            link_ends,
            links,
            queue: EventQueue::new(),
            taps: Vec::new(),
            node_taps: vec![Vec::new(); n],
            link_taps: vec![Vec::new(); ends.len()],
            hooks: (0..n).map(|_| Vec::new()).collect(),
            inject_buf: Vec::new(),
            stats: NetStats::default(),
        })
    }
}

/// What forwarding reads of a link for every packet, kept apart from the link's model and
/// random streams (hundreds of bytes) so that a packet over an ideal link touches 16 bytes.
#[derive(Clone, Copy, Debug)]
struct LinkEnds {
    a: u32,
    b: u32,
    /// The latency when every packet arrives exactly that much later: an ideal link (see
    /// `LinkModel::fixed_latency`) with no scheduled outage. [`NOT_FIXED`] otherwise: the
    /// link's model decides each packet's fate.
    fixed: u64,
}

/// [`LinkEnds::fixed`] of a link whose model decides.
const NOT_FIXED: u64 = u64::MAX;

/// A link's model and per-direction state (its ends are in [`LinkEnds`]).
#[derive(Debug)]
struct Link {
    model: LinkModel,
    /// `[a -> b, b -> a]`.
    dirs: [Direction; 2],
}

/// Work waiting in the event queue.
#[derive(Debug)]
enum Job {
    Timer {
        node: u32,
        token: u64,
    },
    /// The packet arrives at `node` over a link: taps, hooks, then deliver or forward.
    Arrive {
        node: u32,
        dst: u32,
        packet: Packet,
    },
    /// The packet resumes at `node` without taps or hooks: deliver or forward.
    Continue {
        node: u32,
        dst: u32,
        packet: Packet,
    },
}

/// A running network in virtual time. See the [crate docs](crate) for how it is driven.
pub struct Network {
    now: u64,
    /// Per link, its scheduled outages `[from, until)` in ns, sorted (usually empty).
    outages: Vec<Vec<(u64, u64)>>,
    nodes: Vec<(String, Ipv4Addr)>,
    /// Node by address (as a `u32`); lookups only. A sorted vector's binary search cost a cache
    /// miss per level once it held tens of thousands of handsets.
    by_addr: FixedMap<u32, u32>,
    /// Per link, its ends and whether it is ideal (read for every packet).
    link_ends: Vec<LinkEnds>,
    links: Vec<Link>,
    routes: Routes,
    queue: EventQueue<Job>,
    /// Per tap, what it recorded: one arena each.
    taps: Vec<PacketLog>,
    node_taps: Vec<Vec<u32>>,
    link_taps: Vec<Vec<u32>>,
    hooks: Vec<Vec<Box<dyn OnPathHook>>>,
    inject_buf: Vec<Packet>,
    stats: NetStats,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("now", &Timestamp::from_nanos(self.now))
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("pending", &self.queue.len())
            .field("taps", &self.taps.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// The current virtual time: the time of the last event popped (or the last
    /// `poll_until` deadline reached).
    pub fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.now)
    }

    /// The node owning `addr`, if any.
    pub fn node_by_addr(&self, addr: Ipv4Addr) -> Option<NodeId> {
        self.lookup(addr).map(NodeId)
    }

    /// The name a node was added with.
    ///
    /// # Panics
    /// If `id` is not a node of this network (API misuse).
    pub fn node_name(&self, id: NodeId) -> &str {
        &self.nodes[self.check(id)].0
    }

    /// The address a node owns.
    ///
    /// # Panics
    /// If `id` is not a node of this network (API misuse).
    pub fn node_addr(&self, id: NodeId) -> Ipv4Addr {
        self.nodes[self.check(id)].1
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of links.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Whether the network is a forest, so routing is interval routing with memory linear in
    /// the nodes (see the `route` module); otherwise next-hop tables are cached per destination.
    pub fn routes_by_interval(&self) -> bool {
        self.routes.is_tree()
    }

    /// The two ends of a link, in the order given to [`NetworkBuilder::add_link`].
    pub fn link_ends(&self, id: LinkId) -> Option<(NodeId, NodeId)> {
        self.link_ends
            .get(id.0 as usize)
            .map(|l| (NodeId(l.a), NodeId(l.b)))
    }

    /// Number of events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Sends `packet` from `from` now: it is recorded by `from`'s taps and routed hop by hop to
    /// the node owning `packet.dst().ip()` (`from`'s own hooks do not see it). A packet to
    /// `from` itself is delivered at the current time through [`Network::poll`].
    ///
    /// # Panics
    /// If `from` is not a node of this network (API misuse).
    pub fn send(&mut self, from: NodeId, packet: Packet) {
        let from = self.check(from) as u32;
        self.stats.packets_sent += 1;
        self.originate(from, packet);
    }

    /// Arranges for [`Event::Timer`] with `token` at `at` (or now, if `at` is in the past).
    /// Timers cannot be cancelled; ignore stale tokens instead.
    ///
    /// # Panics
    /// If `node` is not a node of this network (API misuse).
    pub fn set_timer(&mut self, node: NodeId, at: Timestamp, token: u64) {
        let node = self.check(node) as u32;
        let at = at.as_nanos().max(self.now);
        self.queue.push(at, Job::Timer { node, token });
    }

    /// Processes events in (time, insertion) order until one is for the caller, advancing
    /// [`Network::now`]. Returns `None` when nothing is left to do.
    pub fn poll(&mut self) -> Option<Event> {
        while let Some((t, job)) = self.queue.pop() {
            self.now = t;
            if let Some(ev) = self.step(job) {
                return Some(ev);
            }
        }
        None
    }

    /// The time of the next queued event, if any (the clock does not move).
    pub fn next_event_time(&self) -> Option<Timestamp> {
        self.queue.peek_time().map(Timestamp::from_nanos)
    }

    /// Like [`Network::poll_until`], but when nothing is left to do up to `deadline` the clock
    /// does not jump to it: it stays at the last event processed, so a caller can drain "while
    /// there is work" without moving the end of the run.
    pub fn poll_until_or_idle(&mut self, deadline: Timestamp) -> Option<Event> {
        let deadline = deadline.as_nanos();
        while let Some(t) = self.queue.peek_time() {
            if t > deadline {
                break;
            }
            let (t, job) = self.queue.pop().expect("peeked just above");
            self.now = t;
            if let Some(ev) = self.step(job) {
                return Some(ev);
            }
        }
        None
    }

    /// Like [`Network::poll`], but never processes an event later than `deadline`: when the
    /// next event is later (or there is none) it returns `None` with the clock at `deadline`
    /// (the clock never goes backwards).
    pub fn poll_until(&mut self, deadline: Timestamp) -> Option<Event> {
        let ev = self.poll_until_or_idle(deadline);
        if ev.is_none() {
            self.now = self.now.max(deadline.as_nanos());
        }
        ev
    }

    /// Attaches a passive tap; see [`TapPoint`] for what it records.
    ///
    /// # Panics
    /// If the node or link is not part of this network (API misuse).
    pub fn add_tap(&mut self, at: TapPoint) -> TapId {
        let id = u32::try_from(self.taps.len()).expect("fewer than 2^32 taps");
        match at {
            TapPoint::Node(n) => {
                let n = self.check(n);
                self.node_taps[n].push(id);
            }
            TapPoint::Link(l) => {
                let slot = self
                    .link_taps
                    .get_mut(l.0 as usize)
                    .unwrap_or_else(|| panic!("{l:?} is not a link of this network"));
                slot.push(id);
            }
        }
        self.taps.push(PacketLog::new());
        TapId(id)
    }

    /// What a tap has recorded so far (empty for an unknown id).
    pub fn tap(&self, id: TapId) -> &PacketLog {
        const EMPTY: &PacketLog = &PacketLog::new();
        self.taps.get(id.0 as usize).unwrap_or(EMPTY)
    }

    /// Takes what a tap has recorded so far (without the room it had reserved ahead), leaving
    /// it recording into an empty log.
    pub fn take_tap(&mut self, id: TapId) -> PacketLog {
        let mut log = self
            .taps
            .get_mut(id.0 as usize)
            .map(std::mem::take)
            .unwrap_or_default();
        log.shrink_to_fit();
        log
    }

    /// Attaches an on-path hook at `node`. Several hooks at one node run in insertion order;
    /// the first verdict other than [`Verdict::Pass`] / [`Verdict::Replace`] ends the chain.
    ///
    /// # Panics
    /// If `node` is not a node of this network (API misuse).
    pub fn add_hook(&mut self, node: NodeId, hook: Box<dyn OnPathHook>) {
        let n = self.check(node);
        self.hooks[n].push(hook);
    }

    /// Counters of what has happened so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    fn check(&self, id: NodeId) -> usize {
        let i = id.0 as usize;
        assert!(i < self.nodes.len(), "{id:?} is not a node of this network");
        i
    }

    fn lookup(&self, addr: Ipv4Addr) -> Option<u32> {
        self.lookup_key(u32::from(addr))
    }

    fn lookup_key(&self, key: u32) -> Option<u32> {
        self.by_addr.get(&key).copied()
    }

    #[inline]
    fn step(&mut self, job: Job) -> Option<Event> {
        self.stats.events += 1;
        match job {
            Job::Timer { node, token } => {
                self.stats.timers_fired += 1;
                Some(Event::Timer {
                    node: NodeId(node),
                    token,
                })
            }
            Job::Arrive { node, dst, packet } => self.arrive(node, dst, packet),
            Job::Continue { node, dst, packet } => self.proceed(node, dst, packet),
        }
    }

    fn record(taps: &mut [PacketLog], ids: &[u32], now: u64, packet: &Packet) {
        for &t in ids {
            taps[t as usize].push(Timestamp::from_nanos(now), packet.bytes());
        }
    }

    /// A packet starts at `from` (send or inject).
    fn originate(&mut self, from: u32, packet: Packet) {
        Self::record(
            &mut self.taps,
            &self.node_taps[from as usize],
            self.now,
            &packet,
        );
        let Some(dst) = self.lookup_key(packet.dst_addr()) else {
            self.stats.unroutable += 1;
            return;
        };
        if dst == from {
            self.queue.push(
                self.now,
                Job::Continue {
                    node: from,
                    dst,
                    packet,
                },
            );
        } else {
            self.forward(from, dst, packet);
        }
    }

    /// A packet arrives at `node` over a link.
    #[inline]
    fn arrive(&mut self, node: u32, dst: u32, packet: Packet) -> Option<Event> {
        let n = node as usize;
        Self::record(&mut self.taps, &self.node_taps[n], self.now, &packet);
        if self.hooks[n].is_empty() {
            return self.proceed(node, dst, packet);
        }
        self.arrive_hooked(node, dst, packet)
    }

    /// The rest of [`Network::arrive`] at a node with hooks: they run, then their verdict.
    #[inline(never)]
    fn arrive_hooked(&mut self, node: u32, dst: u32, packet: Packet) -> Option<Event> {
        let n = node as usize;
        let mut current = packet;
        let mut replaced = false;
        let mut bad_replace = false;
        let mut verdict = Verdict::Pass;
        let mut injected = std::mem::take(&mut self.inject_buf);
        for hook in &mut self.hooks[n] {
            let mut ctx = HookCtx {
                now: Timestamp::from_nanos(self.now),
                node: NodeId(node),
                injected: &mut injected,
            };
            match hook.on_packet(&mut ctx, &current) {
                Verdict::Pass => {}
                Verdict::Replace(bytes) => match Packet::from_bytes(bytes) {
                    Ok(p) => {
                        self.stats.hook_replaces += 1;
                        current = p;
                        replaced = true;
                    }
                    Err(_) => {
                        self.stats.hook_invalid_replaces += 1;
                        bad_replace = true;
                        verdict = Verdict::Drop;
                        break;
                    }
                },
                v @ (Verdict::Drop | Verdict::Delay(_)) => {
                    verdict = v;
                    break;
                }
            }
        }
        for p in injected.drain(..) {
            self.stats.hook_injects += 1;
            self.originate(node, p);
        }
        self.inject_buf = injected;

        if verdict == Verdict::Drop {
            // An invalid replacement was counted where it happened.
            if !bad_replace {
                self.stats.hook_drops += 1;
            }
            return None;
        }
        let dst = if replaced {
            match self.lookup_key(current.dst_addr()) {
                Some(d) => d,
                None => {
                    self.stats.unroutable += 1;
                    return None;
                }
            }
        } else {
            dst
        };
        if let Verdict::Delay(d) = verdict {
            self.stats.hook_delays += 1;
            let at = self.now.saturating_add(nanos(d));
            self.queue.push(
                at,
                Job::Continue {
                    node,
                    dst,
                    packet: current,
                },
            );
            return None;
        }
        self.proceed(node, dst, current)
    }

    /// Delivers the packet if `node` is its destination, else forwards it.
    #[inline]
    fn proceed(&mut self, node: u32, dst: u32, packet: Packet) -> Option<Event> {
        if node == dst {
            if packet.checksums_ok() {
                self.stats.packets_delivered += 1;
                Some(Event::Deliver {
                    node: NodeId(node),
                    packet,
                })
            } else {
                self.stats.dropped_corrupt += 1;
                None
            }
        } else {
            self.forward(node, dst, packet);
            None
        }
    }

    /// Puts the packet on the next link from `at` towards `dst`.
    #[inline]
    fn forward(&mut self, at: u32, dst: u32, packet: Packet) {
        let Some(l) = self.routes.next_link(at, dst) else {
            self.stats.unroutable += 1;
            return;
        };
        let ends = self.link_ends[l as usize];
        let (dir, to) = if ends.a == at {
            (0, ends.b)
        } else {
            (1, ends.a)
        };
        if ends.fixed != NOT_FIXED {
            // An ideal link that is never down: what `Direction::carry` would decide, without its work.
            Self::record(
                &mut self.taps,
                &self.link_taps[l as usize],
                self.now,
                &packet,
            );
            self.queue.push(
                self.now.saturating_add(ends.fixed),
                Job::Arrive {
                    node: to,
                    dst,
                    packet,
                },
            );
            return;
        }
        self.forward_modelled(l, dir, to, dst, packet);
    }

    /// Puts the packet on link `l` in direction `dir` (towards `to`), whose model decides.
    #[inline(never)]
    fn forward_modelled(&mut self, l: u32, dir: usize, to: u32, dst: u32, mut packet: Packet) {
        let down = |outages: &[(u64, u64)], t: u64| outages.iter().any(|&(f, u)| f <= t && t < u);
        let outages = &self.outages[l as usize];
        if down(outages, self.now) {
            self.stats.dropped_partition += 1;
            return;
        }
        let link = &mut self.links[l as usize];
        let fate = link.dirs[dir].carry(&link.model, self.now, packet.len());
        if fate != Fate::QueueFull {
            Self::record(
                &mut self.taps,
                &self.link_taps[l as usize],
                self.now,
                &packet,
            );
        }
        match fate {
            Fate::QueueFull => self.stats.dropped_queue += 1,
            Fate::Lost => self.stats.dropped_loss += 1,
            Fate::Damaged => self.stats.dropped_fcs += 1,
            Fate::Arrives {
                corrupt_bit,
                at,
                dup_at,
                reordered,
            } => {
                if let Some(bit) = corrupt_bit {
                    self.stats.corrupted += 1;
                    packet.flip_bit(bit);
                }
                self.stats.reordered += u64::from(reordered);
                let outages = &self.outages[l as usize];
                let dup = dup_at.map(|t| (t, packet.clone()));
                if down(outages, at) {
                    self.stats.dropped_partition += 1;
                } else {
                    self.queue.push(
                        at,
                        Job::Arrive {
                            node: to,
                            dst,
                            packet,
                        },
                    );
                }
                if let Some((t, copy)) = dup.filter(|&(t, _)| {
                    let cut = down(outages, t);
                    if cut {
                        self.stats.dropped_partition += 1;
                    }
                    !cut
                }) {
                    self.stats.duplicated += 1;
                    self.queue.push(
                        t,
                        Job::Arrive {
                            node: to,
                            dst,
                            packet: copy,
                        },
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use super::*;
    use crate::pool;

    /// A star of hosts round a router: once a round of datagrams has been built, carried two
    /// hops and delivered, the next rounds take every packet buffer from the thread's pool.
    #[test]
    fn a_forwarded_datagram_allocates_no_buffer_once_warm() {
        let mut b = NetworkBuilder::new();
        let router = b.add_node("router", Ipv4Addr::new(192, 168, 0, 1));
        let latency = simcore::Duration::from_millis(1);
        let hosts: Vec<_> = (0..8u8)
            .map(|i| {
                let h = b.add_node(&format!("h{i}"), Ipv4Addr::new(10, 0, 0, i));
                b.add_link(
                    h,
                    router,
                    LinkParams {
                        latency,
                        ..LinkParams::default()
                    },
                );
                h
            })
            .collect();
        let mut net = b.build(&SeedTree::new(1)).expect("a star builds");
        let round = |net: &mut Network| {
            for (i, &h) in hosts.iter().enumerate() {
                let to = (i + 1) % hosts.len();
                let p = Packet::udp(
                    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, i as u8), 9),
                    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, to as u8), 9),
                    &[0x5a; 200],
                )
                .expect("fits");
                net.send(h, p);
            }
            let mut delivered = 0;
            while let Some(ev) = net.poll() {
                assert!(
                    matches!(ev, Event::Deliver { ref packet, .. } if packet.udp_payload().len() == 200)
                );
                delivered += 1;
            }
            assert_eq!(delivered, hosts.len());
        };
        let cold = pool::fresh();
        round(&mut net);
        assert!(
            pool::fresh() > cold,
            "the first round allocates its buffers"
        );
        let warm = pool::fresh();
        for _ in 0..10 {
            round(&mut net);
        }
        assert_eq!(
            pool::fresh(),
            warm,
            "no buffer allocated per datagram once warm"
        );
        assert_eq!(net.stats().packets_delivered, 11 * hosts.len() as u64);
    }
}
