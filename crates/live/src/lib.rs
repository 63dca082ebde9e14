//! Live mode: the carrier model's nodes on tokio, each with a real UDP socket on loopback, and
//! the modelled network in an intercepting proxy between them.
//!
//! The simulator ([`carrier::run`]) and this driver run the same node code: [`carrier::live`]
//! hands a started world's nodes out as sans-IO machines ([`LiveNode`]) and keeps the network in
//! a [`Plant`]. Here every node (every handset, packet gateway, SMS centre, the OTT server with
//! its Signal prekey store, every mediation node and law-enforcement sink) is a tokio task with
//! its own socket bound to `127.0.0.1`, and the proxy is one more task with one more socket.
//! A node sends its modelled IPv4/UDP datagrams, whole, as the payload of real UDP datagrams to
//! the proxy. The proxy carries them across the modelled network in real time: each link's
//! latency, jitter, bandwidth and loss, the routers, the points of interception duplicating
//! warrant targets' traffic to the mediation nodes, the adversary's taps (which record what
//! crosses them, into the same captures and pcap files as in simulation) and its on-path
//! components (which replace or drop datagrams). What reaches a node goes to its socket.
//!
//! Virtual time is the wall-clock time since the start, so every timing in the report is real.
//! A run is bounded: the planned traffic lasts the scenario's duration (which
//! [`Options::duration`] can shorten), then the run waits at most [`Options::drain`] for
//! messages still in flight, lets the points of interception report the end of open sessions for
//! [`Options::tail`], and shuts every task down; every socket is closed when [`run`] returns.
//! A live run is not deterministic (the wall clock decides the order of near-simultaneous
//! events); what it must agree with the simulator on is what the adversary reads (the parity
//! test in `tests/live.rs`).
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use capture::active::Arm;
use carrier::live::{Command, LiveNode, Plant, Report};
use carrier::{CarrierError, RunOutput};
use netsim::NodeId;
use scenario::Scenario;
use serde::Serialize;
use simcore::{Timestamp, Watch};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a live run may take beyond its traffic.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replaces the scenario's duration (the planned traffic is drawn for this long).
    pub duration: Option<simcore::Duration>,
    /// After the traffic, how long to wait at most for messages still in flight.
    pub drain: std::time::Duration,
    /// After that, how long the points of interception's last records have to arrive.
    pub tail: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            duration: None,
            drain: std::time::Duration::from_secs(30),
            tail: std::time::Duration::from_millis(500),
        }
    }
}

/// What went wrong in a live run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The world could not be built or started.
    #[error("building the world: {0}")]
    World(#[from] CarrierError),
    /// A socket or the runtime could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The run was asked to stop (Ctrl-C) before it finished; it produced nothing.
    #[error("interrupted after {at} of real time")]
    Interrupted {
        /// How long the run had been going.
        at: Timestamp,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> LiveError {
    move |source| LiveError::Io { what, source }
}

/// Counters and real timings of a live run (the report's `live` section).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveStats {
    /// Node tasks (each with its own socket).
    pub nodes: usize,
    /// Wall-clock time of the run, from the first datagram to the shutdown, in milliseconds.
    pub wall_ms: u64,
    /// Real UDP datagrams nodes sent to the proxy.
    pub datagrams_to_proxy: u64,
    /// Real UDP datagrams the proxy sent to nodes.
    pub datagrams_from_proxy: u64,
    /// Bytes of those datagrams, to the proxy.
    pub bytes_to_proxy: u64,
    /// Bytes of those datagrams, from the proxy.
    pub bytes_from_proxy: u64,
    /// Datagrams dropped because they were not well-formed modelled IPv4/UDP datagrams.
    pub malformed: u64,
    /// Datagrams that reached the proxy from a socket that is no node's (dropped).
    pub strangers: u64,
    /// UDP datagrams the kernel dropped for a full receive buffer during the run, on the whole
    /// machine (`RcvbufErrors` of `/proc/net/snmp`; 0 where it cannot be read): a loaded
    /// machine drops loopback datagrams, which the reliable layer retransmits a second later.
    pub kernel_drops: u64,
    /// Messages still in flight when the drain ended.
    pub open_at_end: usize,
    /// Delivered messages' latency from the moment they were due to the recipient's screen:
    /// median, in milliseconds of real time.
    pub message_latency_p50_ms: f64,
    /// The same, 95th percentile.
    pub message_latency_p95_ms: f64,
}

/// What a live run produced.
#[derive(Debug)]
pub struct LiveRun {
    /// The same output as the simulator's: captures, ground truth, records, counters.
    pub output: RunOutput,
    /// The live run's own counters and real timings.
    pub stats: LiveStats,
}

/// Runs `scenario` with `seed` live (see the crate docs) and returns what it produced.
/// Stops with [`LiveError::Interrupted`] soon after `watch` is asked to stop.
///
/// # Errors
/// [`LiveError::World`] if the world cannot be built, [`LiveError::Io`] if the sockets cannot
/// be bound, [`LiveError::Interrupted`] when stopped.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    arm: &dyn Arm,
    opts: &Options,
    watch: &Watch,
) -> Result<LiveRun, LiveError> {
    let mut sc = scenario.clone();
    if let Some(d) = opts.duration {
        sc.duration = d;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("starting the tokio runtime"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, drive(&sc, seed, arm, opts, watch))
}

/// The wall clock as virtual time.
#[derive(Clone, Copy)]
struct Clock {
    start: Instant,
}

impl Clock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64)
    }

    fn instant(&self, t: Timestamp) -> Instant {
        self.start + std::time::Duration::from_nanos(t.as_nanos())
    }
}

/// What the proxy tells a node task.
enum ToNode {
    Command(Command),
    Shutdown,
}

/// A node task's counters, handed back at shutdown.
struct NodeDone {
    node: LiveNode,
    malformed: u64,
}

/// The largest datagram a node or the proxy receives (IPv4's limit).
const MAX_DATAGRAM: usize = 65_535;

/// Receive buffer asked for the proxy's socket, which every node sends to (the kernel caps it
/// at `net.core.rmem_max`).
const PROXY_RCVBUF: usize = 4 << 20;

/// Receive buffer asked for each node's socket.
const NODE_RCVBUF: usize = 1 << 20;

/// A UDP socket bound to an ephemeral port of 127.0.0.1, with a receive buffer of `rcvbuf`
/// bytes where the kernel allows it (best effort: a smaller buffer only means earlier drops).
fn bind_loopback(rcvbuf: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = s.set_recv_buffer_size(rcvbuf) {
        tracing::debug!(error = %e, "receive buffer left at the default");
    }
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    UdpSocket::from_std(s.into())
}

/// The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide
/// (`RcvbufErrors` in `/proc/net/snmp`), where it can be read.
fn kernel_rcvbuf_errors() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let i = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// One node: its machine, its socket (connected to the proxy, so the kernel drops datagrams
/// from anyone else), and its inbox of commands.
async fn node_task(
    mut node: LiveNode,
    sock: UdpSocket,
    mut inbox: mpsc::UnboundedReceiver<ToNode>,
    reports: mpsc::UnboundedSender<Vec<Report>>,
    clock: Clock,
) -> NodeDone {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut malformed = 0;
    loop {
        while let Some(bytes) = node.poll_transmit() {
            // A full socket buffer loses the datagram, as a congested link would: the reliable
            // layer retransmits.
            if let Err(e) = sock.send(&bytes).await {
                tracing::debug!(node = node.name(), error = %e, "send to the proxy failed");
            }
        }
        let r = node.take_reports();
        if !r.is_empty() && reports.send(r).is_err() {
            break;
        }
        let deadline = node.poll_timeout().map(|t| clock.instant(t));
        tokio::select! {
            biased;
            msg = inbox.recv() => match msg {
                Some(ToNode::Command(cmd)) => node.handle_command(clock.now(), cmd),
                Some(ToNode::Shutdown) | None => break,
            },
            _ = sleep_until_opt(deadline) => node.handle_timeout(clock.now()),
            r = sock.recv(&mut buf) => match r {
                Ok(n) => {
                    if node.handle_datagram(clock.now(), buf[..n].to_vec()).is_err() {
                        malformed += 1;
                    }
                }
                Err(e) => tracing::debug!(node = node.name(), error = %e, "receive failed"),
            },
        }
    }
    let r = node.take_reports();
    if !r.is_empty() {
        let _ = reports.send(r);
    }
    NodeDone { node, malformed }
}

/// Sleeps until `at`, or forever.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How often the proxy looks at the watch (for Ctrl-C) when nothing else wakes it.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The phases of a live run's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The planned traffic is going out.
    Traffic,
    /// Waiting for messages still in flight, until this instant at most.
    Drain,
    /// The points of interception reported; their records arrive until this instant.
    Tail(Instant),
}

async fn drive(
    sc: &Scenario,
    seed: u64,
    arm: &dyn Arm,
    opts: &Options,
    watch: &Watch,
) -> Result<LiveRun, LiveError> {
    let (mut plant, nodes) = Plant::new(sc, seed, arm)?;
    let proxy =
        bind_loopback(PROXY_RCVBUF).map_err(io("binding the proxy's socket on 127.0.0.1"))?;
    let proxy_addr = proxy.local_addr().map_err(io("the proxy's address"))?;
    let mut stats = LiveStats {
        nodes: nodes.len(),
        ..LiveStats::default()
    };
    // Bind every node's socket before the clock starts.
    let mut bound = Vec::with_capacity(nodes.len());
    for node in nodes {
        let sock =
            bind_loopback(NODE_RCVBUF).map_err(io("binding a node's socket on 127.0.0.1"))?;
        sock.connect(proxy_addr)
            .await
            .map_err(io("connecting a node's socket to the proxy"))?;
        let addr = sock.local_addr().map_err(io("a node's address"))?;
        bound.push((node, sock, addr));
    }
    let drops_before = kernel_rcvbuf_errors();
    let clock = Clock {
        start: Instant::now(),
    };
    let (report_tx, mut report_rx) = mpsc::unbounded_channel::<Vec<Report>>();
    let mut by_addr: BTreeMap<SocketAddr, NodeId> = BTreeMap::new();
    let mut addr_of: BTreeMap<NodeId, SocketAddr> = BTreeMap::new();
    let mut inbox: BTreeMap<NodeId, mpsc::UnboundedSender<ToNode>> = BTreeMap::new();
    let mut tasks = Vec::new();
    for (node, sock, addr) in bound {
        let id = node.id();
        by_addr.insert(addr, id);
        addr_of.insert(id, addr);
        let (tx, rx) = mpsc::unbounded_channel();
        inbox.insert(id, tx);
        tasks.push(tokio::task::spawn_local(node_task(
            node,
            sock,
            rx,
            report_tx.clone(),
            clock,
        )));
    }
    drop(report_tx);

    let traffic_end = clock.instant(plant.traffic_end());
    let mut phase = Phase::Traffic;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let drain_end = traffic_end + opts.drain;
    let interrupted = loop {
        let now = clock.now();
        plant.handle_timeout(now);
        while let Some((node, bytes)) = plant.poll_delivery() {
            match addr_of.get(&node) {
                Some(addr) => match proxy.send_to(&bytes, addr).await {
                    Ok(_) => {
                        stats.datagrams_from_proxy += 1;
                        stats.bytes_from_proxy += bytes.len() as u64;
                    }
                    Err(e) => tracing::debug!(error = %e, "send to a node failed"),
                },
                // Addressed to a router: nothing listens there.
                None => tracing::debug!(?node, "delivery to a node without a task"),
            }
        }
        while let Some((node, cmd)) = plant.poll_command() {
            if let Some(tx) = inbox.get(&node) {
                let _ = tx.send(ToNode::Command(cmd));
            }
        }
        if watch.stop_requested() {
            break true;
        }
        let wall = Instant::now();
        match phase {
            Phase::Traffic if wall >= traffic_end => phase = Phase::Drain,
            Phase::Drain
                if (plant.open_messages() == 0 && !plant.thefts_pending()) || wall >= drain_end =>
            {
                stats.open_at_end = plant.open_messages();
                plant.flush_intercepts(clock.now());
                phase = Phase::Tail(wall + opts.tail);
                continue;
            }
            Phase::Tail(end) if wall >= end => break false,
            _ => {}
        }
        let wake = [
            plant.poll_timeout().map(|t| clock.instant(t)),
            Some(match phase {
                Phase::Traffic => traffic_end,
                Phase::Drain => drain_end,
                Phase::Tail(end) => end,
            }),
            Some(wall + WATCH_EVERY),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(wall + WATCH_EVERY);
        tokio::select! {
            biased;
            r = proxy.recv_from(&mut buf) => match r {
                Ok((n, from)) => match by_addr.get(&from) {
                    Some(&id) => {
                        stats.datagrams_to_proxy += 1;
                        stats.bytes_to_proxy += n as u64;
                        if plant.handle_transmit(clock.now(), id, buf[..n].to_vec()).is_err() {
                            stats.malformed += 1;
                        }
                    }
                    None => stats.strangers += 1,
                },
                Err(e) => tracing::debug!(error = %e, "proxy receive failed"),
            },
            Some(r) = report_rx.recv() => plant.handle_reports(r),
            _ = tokio::time::sleep_until(wake) => {}
        }
    };
    let at = clock.now();
    stats.wall_ms = clock.start.elapsed().as_millis() as u64;
    if let (Some(a), Some(b)) = (drops_before, kernel_rcvbuf_errors()) {
        stats.kernel_drops = b.saturating_sub(a);
    }
    // Shut every node down and take it back; then every socket is closed.
    for tx in inbox.values() {
        let _ = tx.send(ToNode::Shutdown);
    }
    let mut back = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(done) = t.await {
            stats.malformed += done.malformed;
            back.push(done.node);
        }
    }
    while let Ok(r) = report_rx.try_recv() {
        plant.handle_reports(r);
    }
    drop(proxy);
    if interrupted {
        return Err(LiveError::Interrupted { at });
    }
    let output = plant.finish(back);
    let mut lat: Vec<u64> = output
        .truth
        .messages
        .iter()
        .filter_map(|m| {
            m.delivered_at
                .map(|d| d.saturating_duration_since(m.sent_at).as_nanos() as u64)
        })
        .collect();
    lat.sort_unstable();
    stats.message_latency_p50_ms = percentile_ms(&lat, 0.50);
    stats.message_latency_p95_ms = percentile_ms(&lat, 0.95);
    Ok(LiveRun { output, stats })
}

/// The `p` quantile of sorted nanoseconds (nearest rank), in milliseconds; 0 when empty.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sockets this process has open (`socket:[inode]`, from `/proc/self/fd`).
    #[cfg(target_os = "linux")]
    fn open_sockets() -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .map(|d| {
                d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                    .map(|t| t.to_string_lossy().into_owned())
                    .filter(|t| t.starts_with("socket:"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The only test of this crate that opens sockets: tests run on threads of one process, so
    /// a second one would make the count race. (Counting every descriptor is not stable: the
    /// test harness and the runtime open pipes of their own.)
    #[cfg(target_os = "linux")]
    #[test]
    fn a_run_delivers_and_leaves_no_socket_open() {
        let text = scenario::builtin("small-lab").expect("built in");
        let sc = scenario::parse("sim/small-lab.toml", text).expect("parses");
        let opts = Options {
            duration: Some(std::time::Duration::from_secs(2)),
            ..Options::default()
        };
        // A first run: tokio keeps a few process-wide sockets of its own once it has started
        // (with its `signal` feature, which another package may switch on, a socket pair for
        // signal delivery). What must not happen is a run leaving any socket of its own.
        let warm = Options {
            duration: Some(std::time::Duration::from_millis(100)),
            ..Options::default()
        };
        run(&sc, 1, &capture::active::Unarmed, &warm, &Watch::new()).expect("runs");
        let before = open_sockets();
        let run = run(&sc, 1, &capture::active::Unarmed, &opts, &Watch::new()).expect("runs");
        assert_eq!(open_sockets(), before, "a socket was left open");
        assert!(run.stats.nodes > 10, "{} node tasks", run.stats.nodes);
        assert!(run.stats.datagrams_to_proxy > 0);
        assert_eq!(run.stats.malformed + run.stats.strangers, 0);
        assert!(run.stats.wall_ms >= 2000, "{} ms", run.stats.wall_ms);
        let t = &run.output.truth;
        assert!(t
            .messages
            .iter()
            .all(|m| m.delivered_at.is_some() || m.failure.is_some()));
        assert_eq!(t.integrity_errors, 0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v = [1_000_000, 2_000_000, 3_000_000, 4_000_000];
        assert_eq!(percentile_ms(&v, 0.5), 2.0);
        assert_eq!(percentile_ms(&v, 0.95), 4.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }
}
