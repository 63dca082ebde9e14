//! One simulation split into logical processes that run in parallel and give the same result.
//!
//! The first piece of docs/distributed.md's design, at the network level: conservative parallel
//! discrete-event simulation as ns-3's distributed simulator does it. Each logical process (LP)
//! is a [`Network`] of its own with the [`Process`] that drives its nodes. The LPs are joined at
//! one *portal* node each (a router): a packet that reaches an LP's portal addressed to a node of
//! another LP leaves through the cut, and arrives at that LP's portal `lookahead` later (the cut
//! link's latency, with no jitter, loss or bandwidth limit), from where it is routed on as if it
//! had come over a link. So every LP knows a portal-to-portal delay of at least `lookahead`, and
//! the run proceeds in windows: all LPs agree on `T`, the earliest pending event anywhere, each
//! handles its events in `[T, T + lookahead)` (on its own thread), and the packets that crossed
//! the cut are exchanged at a barrier before the next window.
//!
//! Determinism (the project's invariant 4): what an LP does in a window depends only on its own
//! queue and the packets it imports, and imports enter its queue in the order (arrival time,
//! sending LP, the sender's export sequence), whatever the thread that computed them or the
//! moment they were handed over. A run is therefore the same for any number of threads, and the
//! same as one [`Network`] holding the whole topology with a link of `lookahead` between the
//! portals, up to the order of events at the same nanosecond (tested in
//! `crates/netsim/tests/partition.rs`).
//!
//! To route a packet for another LP to its portal, an LP's network holds a *stub* node (any
//! leaf, e.g. a host with no process) for each remote address, behind its portal; the portal's
//! hook takes the packet before it reaches the stub. (A carrier-sized version would route the
//! other LPs' prefixes to the portal instead; docs/distributed.md.)

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use simcore::{Duration, Timestamp};

use crate::hook::{HookCtx, Verdict};
use crate::network::{Event, Network, NodeId};
use crate::packet::Packet;

/// Timer tokens at or above this value are the partition driver's own (imported packets); a
/// [`Process`] must use tokens below it.
pub const IMPORT_TOKEN_BASE: u64 = 1 << 63;

/// What drives the nodes of one logical process: a sans-IO machine fed the events of its
/// network, which may send packets and set timers on it.
pub trait Process: Send {
    /// Handles one event of this LP's network at [`Network::now`].
    fn handle(&mut self, net: &mut Network, event: Event);
}

/// Which LP owns an address (`None`: no LP, the packet stays where it is).
pub type Owner = Arc<dyn Fn(Ipv4Addr) -> Option<usize> + Send + Sync>;

/// A packet leaving through the cut.
#[derive(Debug)]
struct Export {
    to: usize,
    at: Timestamp,
    bytes: Vec<u8>,
}

/// An imported packet, ordered by (arrival, sending LP, the sender's sequence).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    at: Timestamp,
    from: usize,
    seq: u64,
    bytes: Vec<u8>,
}

/// One logical process: its network, its portal and its process.
pub struct Lp<P> {
    net: Network,
    portal: NodeId,
    process: P,
    outbox: Arc<Mutex<Vec<Export>>>,
    /// Imported packets waiting for their arrival timer, by token (removed when it fires, so
    /// this holds only the packets in flight across the cut).
    pending: BTreeMap<u64, Vec<u8>>,
    /// Packets imported so far (the token of the next one, above [`IMPORT_TOKEN_BASE`]).
    imported: u64,
    /// Packets exported so far (the sequence of the next one).
    exported: u64,
}

impl<P: Process> Lp<P> {
    /// LP number `index` of a partitioned run: `net` with its `portal` router, driven by
    /// `process`. A hook at the portal takes every packet whose destination `owner` gives to
    /// another LP.
    pub fn new(
        index: usize,
        mut net: Network,
        portal: NodeId,
        process: P,
        owner: Owner,
        lookahead: Duration,
    ) -> Lp<P> {
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let out = Arc::clone(&outbox);
        net.add_hook(
            portal,
            Box::new(
                move |ctx: &mut HookCtx<'_>, p: &Packet| match owner(*p.dst().ip()) {
                    Some(to) if to != index => {
                        out.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(Export {
                                to,
                                at: ctx.now() + lookahead,
                                bytes: p.bytes().to_vec(),
                            });
                        Verdict::Drop
                    }
                    _ => Verdict::Pass,
                },
            ),
        );
        Lp {
            net,
            portal,
            process,
            outbox,
            pending: BTreeMap::new(),
            imported: 0,
            exported: 0,
        }
    }

    /// This LP's network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// This LP's process.
    pub fn process(&self) -> &P {
        &self.process
    }

    /// This LP's process, the LP taken apart at the end of a run.
    pub fn into_process(self) -> P {
        self.process
    }

    /// Handles every event before `end` (exclusive); returns the packets that left through
    /// the cut, numbered in export order.
    fn window(&mut self, me: usize, end: Timestamp) -> Vec<(usize, Import)> {
        let last = Timestamp::from_nanos(end.as_nanos().saturating_sub(1));
        while let Some(ev) = self.net.poll_until_or_idle(last) {
            match ev {
                Event::Timer { node, token } if token >= IMPORT_TOKEN_BASE => {
                    let bytes = self.pending.remove(&token);
                    if let Some(packet) = bytes.and_then(|b| Packet::from_bytes(b).ok()) {
                        debug_assert_eq!(node, self.portal);
                        self.net.send(self.portal, packet);
                    }
                }
                ev => self.process.handle(&mut self.net, ev),
            }
        }
        let exports =
            std::mem::take(&mut *self.outbox.lock().unwrap_or_else(PoisonError::into_inner));
        exports
            .into_iter()
            .map(|e| {
                self.exported += 1;
                let import = Import {
                    at: e.at,
                    from: me,
                    seq: self.exported,
                    bytes: e.bytes,
                };
                (e.to, import)
            })
            .collect()
    }

    /// Puts imported packets in their canonical order and schedules each at its arrival;
    /// returns how many there were.
    fn import(&mut self, mut imports: Vec<Import>) -> u64 {
        imports.sort();
        let n = imports.len() as u64;
        for i in imports {
            let token = IMPORT_TOKEN_BASE + self.imported;
            self.imported += 1;
            self.pending.insert(token, i.bytes);
            self.net.set_timer(self.portal, i.at, token);
        }
        n
    }
}

/// What a partitioned run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionStats {
    /// Windows run (barriers passed).
    pub windows: u64,
    /// Packets that crossed the cut.
    pub boundary_packets: u64,
}

/// Runs the LPs to the end (no event left anywhere) on `threads` threads (LP `i` on thread
/// `i % threads`; 1 runs them in turn on the caller's thread). The result does not depend on
/// `threads`.
pub fn run<P: Process>(lps: &mut [Lp<P>], lookahead: Duration, threads: usize) -> PartitionStats {
    assert!(
        lookahead.as_nanos() > 0,
        "a partitioned run needs a positive lookahead"
    );
    let n = lps.len();
    let threads = threads.clamp(1, n.max(1));
    let mut stats = PartitionStats::default();
    if threads == 1 {
        while let Some(t) = earliest(lps.iter().map(|lp| lp.net.next_event_time())) {
            let end = t + lookahead;
            let mut inbox: Vec<Vec<Import>> = (0..n).map(|_| Vec::new()).collect();
            for (i, lp) in lps.iter_mut().enumerate() {
                for (to, import) in lp.window(i, end) {
                    inbox[to].push(import);
                }
            }
            stats.windows += 1;
            for (lp, imports) in lps.iter_mut().zip(inbox) {
                stats.boundary_packets += lp.import(imports);
            }
        }
        return stats;
    }
    // Threads: each owns the LPs `i % threads == k`; two barriers per window (exports written;
    // imports scheduled and next times published), the window's end agreed from the published
    // next event times, which every thread reads alike.
    let barrier = SpinBarrier::new(threads);
    let next: Vec<Mutex<Option<Timestamp>>> = lps
        .iter()
        .map(|lp| Mutex::new(lp.net.next_event_time()))
        .collect();
    let inbox: Vec<Mutex<Vec<Import>>> = (0..n).map(|_| Mutex::new(Vec::new())).collect();
    let totals = Mutex::new(PartitionStats::default());
    std::thread::scope(|s| {
        let mut groups: Vec<Vec<(usize, &mut Lp<P>)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, lp) in lps.iter_mut().enumerate() {
            groups[i % threads].push((i, lp));
        }
        for mut group in groups {
            let (barrier, next, inbox, totals) = (&barrier, &next, &inbox, &totals);
            s.spawn(move || {
                let mut local = PartitionStats::default();
                loop {
                    let times = next
                        .iter()
                        .map(|m| *m.lock().unwrap_or_else(PoisonError::into_inner));
                    let Some(t) = earliest(times) else { break };
                    // No one publishes new times before everyone has read these: publishing
                    // comes after the barrier below, which every thread reaches after reading.
                    for (i, lp) in group.iter_mut() {
                        for (to, import) in lp.window(*i, t + lookahead) {
                            inbox[to]
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(import);
                        }
                    }
                    barrier.wait();
                    for (i, lp) in group.iter_mut() {
                        let imports = std::mem::take(
                            &mut *inbox[*i].lock().unwrap_or_else(PoisonError::into_inner),
                        );
                        local.boundary_packets += lp.import(imports);
                        *next[*i].lock().unwrap_or_else(PoisonError::into_inner) =
                            lp.net.next_event_time();
                    }
                    local.windows += 1;
                    barrier.wait();
                }
                let mut t = totals.lock().unwrap_or_else(PoisonError::into_inner);
                t.boundary_packets += local.boundary_packets;
                t.windows = t.windows.max(local.windows);
            });
        }
    });
    totals.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Runs this operating-system process's share of a partitioned run to the end, exchanging
/// boundary packets with the other processes over byte streams (pipes, sockets): the part of
/// docs/distributed.md that runs on one machine, as ns-3's MPI simulator does over MPI.
///
/// `lps` are this process's LPs and `indices` their numbers in the whole run (as given to
/// [`Lp::new`]); `process_of[i]` is the process that runs LP `i`, and `me` is this one;
/// `links` holds one stream to every other process, with its number. Each window every process
/// sends every other its earliest pending time, so all agree on the window `[T, T +
/// lookahead)`; after it, each sends each the packets its LPs exported to that process's LPs.
/// Pairs exchange in the order of their numbers (the lower one writes first), so two processes
/// never both wait to write. Imports are ordered as in [`run`], so the deliveries are those of
/// [`run`] on any number of threads (tested with two processes in
/// `crates/netsim/tests/partition.rs`); the stats count this process's windows and imports.
///
/// # Errors
/// An I/O error of a stream, or [`std::io::ErrorKind::InvalidData`] if a peer sends bytes that
/// are not this exchange (a packet for an LP this process does not run, a length past the end).
pub fn run_linked<P: Process, S: Read + Write>(
    lps: &mut [Lp<P>],
    indices: &[usize],
    process_of: &[usize],
    me: usize,
    links: &mut [(usize, S)],
    lookahead: Duration,
) -> std::io::Result<PartitionStats> {
    assert!(
        lookahead.as_nanos() > 0,
        "a partitioned run needs a positive lookahead"
    );
    assert_eq!(lps.len(), indices.len(), "one index per LP");
    links.sort_by_key(|(peer, _)| *peer);
    let local = |lp: usize| indices.iter().position(|&i| i == lp);
    let mut stats = PartitionStats::default();
    loop {
        // Agree on the window.
        let mine = earliest(lps.iter().map(|lp| lp.net.next_event_time()));
        let mut t = mine;
        for (peer, stream) in links.iter_mut() {
            let theirs = exchange(*peer, me, stream, &encode_time(mine), read_time)?;
            t = earliest([t, theirs].into_iter());
        }
        let Some(t) = t else { break };
        // Run it; keep what stays here, send the rest.
        let mut inbox: Vec<Vec<Import>> = (0..lps.len()).map(|_| Vec::new()).collect();
        let mut out: BTreeMap<usize, Vec<(usize, Import)>> = BTreeMap::new();
        for (k, lp) in lps.iter_mut().enumerate() {
            for (to, import) in lp.window(indices[k], t + lookahead) {
                match local(to) {
                    Some(j) => inbox[j].push(import),
                    None => {
                        let p = *process_of
                            .get(to)
                            .ok_or_else(|| invalid("an LP no process runs"))?;
                        out.entry(p).or_default().push((to, import));
                    }
                }
            }
        }
        for (peer, stream) in links.iter_mut() {
            let bytes = encode_exports(out.remove(peer).unwrap_or_default());
            let received = exchange(*peer, me, stream, &bytes, read_exports)?;
            for (to, import) in received {
                let j = local(to)
                    .ok_or_else(|| invalid("a packet for an LP this process does not run"))?;
                inbox[j].push(import);
            }
        }
        stats.windows += 1;
        for (lp, imports) in lps.iter_mut().zip(inbox) {
            stats.boundary_packets += lp.import(imports);
        }
    }
    Ok(stats)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("partition exchange: {what}"),
    )
}

/// Sends `bytes` to `peer` and reads its answer with `read`: the lower-numbered process of the
/// pair writes first.
fn exchange<S: Read + Write, T>(
    peer: usize,
    me: usize,
    stream: &mut S,
    bytes: &[u8],
    read: fn(&mut S) -> std::io::Result<T>,
) -> std::io::Result<T> {
    if me < peer {
        stream.write_all(bytes)?;
        stream.flush()?;
        read(stream)
    } else {
        let theirs = read(stream)?;
        stream.write_all(bytes)?;
        stream.flush()?;
        Ok(theirs)
    }
}

fn encode_time(t: Option<Timestamp>) -> [u8; 8] {
    t.map_or(u64::MAX, Timestamp::as_nanos).to_be_bytes()
}

fn read_u64<S: Read>(s: &mut S) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    s.read_exact(&mut b)?;
    Ok(u64::from_be_bytes(b))
}

fn read_time<S: Read>(s: &mut S) -> std::io::Result<Option<Timestamp>> {
    let t = read_u64(s)?;
    Ok((t != u64::MAX).then(|| Timestamp::from_nanos(t)))
}

/// `count`, then per packet `to`, `at`, `from`, `seq`, `len` (u64 each, big-endian) and the
/// bytes.
fn encode_exports(exports: Vec<(usize, Import)>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(exports.len() as u64).to_be_bytes());
    for (to, i) in exports {
        for x in [
            to as u64,
            i.at.as_nanos(),
            i.from as u64,
            i.seq,
            i.bytes.len() as u64,
        ] {
            b.extend_from_slice(&x.to_be_bytes());
        }
        b.extend_from_slice(&i.bytes);
    }
    b
}

/// The largest packet a peer may announce (an IPv4 datagram).
const MAX_EXCHANGED_PACKET: u64 = 65_535;

fn read_exports<S: Read>(s: &mut S) -> std::io::Result<Vec<(usize, Import)>> {
    let n = read_u64(s)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let to = usize::try_from(read_u64(s)?).map_err(|_| invalid("an LP number past usize"))?;
        let at = Timestamp::from_nanos(read_u64(s)?);
        let from = usize::try_from(read_u64(s)?).map_err(|_| invalid("an LP number past usize"))?;
        let seq = read_u64(s)?;
        let len = read_u64(s)?;
        if len > MAX_EXCHANGED_PACKET {
            return Err(invalid("a packet longer than an IPv4 datagram"));
        }
        let mut bytes = vec![0u8; len as usize];
        s.read_exact(&mut bytes)?;
        out.push((
            to,
            Import {
                at,
                from,
                seq,
                bytes,
            },
        ));
    }
    Ok(out)
}

/// A barrier that spins, then yields, instead of sleeping: a window's work is a few hundred
/// microseconds, about what waking a sleeping thread costs, so `std::sync::Barrier` (a mutex
/// and a condition variable) took as long as the work and two threads gained nothing. Yielding
/// after a short spin keeps an oversubscribed machine (more threads than cores) moving.
struct SpinBarrier {
    parties: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(parties: usize) -> SpinBarrier {
        SpinBarrier {
            parties,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Waits until all parties have called `wait` for this generation.
    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.parties {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::AcqRel);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < 20_000 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// The earliest of some next-event times.
fn earliest(times: impl Iterator<Item = Option<Timestamp>>) -> Option<Timestamp> {
    times.flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(seq: u64, len: usize) -> (usize, Import) {
        (
            3,
            Import {
                at: Timestamp::from_nanos(7 + seq),
                from: 1,
                seq,
                bytes: vec![0xab; len],
            },
        )
    }

    #[test]
    fn exports_round_trip_through_the_exchange_encoding() {
        let sent = vec![import(0, 28), import(1, 0), import(2, 1500)];
        let bytes = encode_exports(vec![import(0, 28), import(1, 0), import(2, 1500)]);
        let got = read_exports(&mut &bytes[..]).expect("well formed");
        assert_eq!(got, sent);
        let none = encode_time(None);
        assert_eq!(read_time(&mut &none[..]).expect("8 bytes"), None);
        let t = encode_time(Some(Timestamp::from_nanos(42)));
        assert_eq!(
            read_time(&mut &t[..]).expect("8 bytes"),
            Some(Timestamp::from_nanos(42))
        );
    }

    #[test]
    fn damaged_exchanges_are_errors_not_panics() {
        let bytes = encode_exports(vec![import(0, 28)]);
        // Cut anywhere: an unexpected end.
        for cut in 0..bytes.len() {
            let err = read_exports(&mut &bytes[..cut]).expect_err("truncated");
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "cut at {cut}"
            );
        }
        // A length past an IPv4 datagram is refused before anything is allocated for it.
        let mut long = bytes.clone();
        long[40..48].copy_from_slice(&u64::MAX.to_be_bytes());
        let err = read_exports(&mut &long[..]).expect_err("too long");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
