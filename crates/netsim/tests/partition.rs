//! `netsim::partition`: a network split into logical processes gives the same deliveries as
//! the whole network in one queue, for any number of threads (docs/distributed.md).
//!
//! The workload is issue 16's peer workload: every host sends a 200-byte datagram to a
//! planned other host every 10 ms for one simulated second. `K` routers each serve `H` hosts;
//! the whole network links every pair of routers with a 10 ms link (the cut), the partitioned
//! one makes each router an LP's portal with a lookahead of 10 ms. The last two tests run two
//! LPs in two operating-system processes (this test binary started again as a child) that
//! exchange boundary packets over a TCP connection on localhost.

#[path = "support/lp_peers.rs"]
mod lp_peers;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use lp_peers::{partitioned, whole, CUT, TICKS};
use netsim::partition;

/// Set (to `PORT,FAULTS`) in the child process of the two-process test.
const CHILD: &str = "NETSIM_PARTITION_CHILD";
const HOSTS: usize = 20;

#[test]
fn partitions_deliver_exactly_what_the_whole_network_delivers() {
    for (k, h) in [(2, 20), (4, 12)] {
        let want = whole(k, h);
        assert_eq!(
            want.len(),
            k * h * TICKS as usize,
            "every datagram arrives on ideal links"
        );
        for threads in [1, 2, 4] {
            let (got, stats) = partitioned(k, h, threads, false);
            assert_eq!(got.len(), want.len(), "k={k} threads={threads}");
            assert!(got == want, "k={k} threads={threads}: deliveries differ");
            // Most datagrams cross the cut (a destination is on another LP with odds (k-1)/k).
            assert!(
                stats.boundary_packets as usize > want.len() / 3,
                "{stats:?}"
            );
            assert!(stats.windows >= TICKS, "{stats:?}");
        }
    }
}

#[test]
fn a_faulty_partitioned_run_is_the_same_on_any_number_of_threads() {
    let (one, s1) = partitioned(4, 12, 1, true);
    let lost = 4 * 12 * TICKS as usize - one.len();
    assert!(
        lost > 0,
        "loss 0.05 on every host link loses some datagrams"
    );
    for threads in [2, 3, 4] {
        let (many, s) = partitioned(4, 12, threads, true);
        assert!(many == one, "threads={threads}: deliveries differ");
        assert_eq!(s, s1, "threads={threads}");
    }
}

/// Runs LP 0 here and LP 1 in a child process (this binary again, running
/// [`child_process_of_the_two_process_tests`]); returns every delivery and this side's stats.
fn two_processes(faults: bool) -> (Vec<(u64, Ipv4Addr, Vec<u8>)>, partition::PartitionStats) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("bound").port();
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "child_process_of_the_two_process_tests",
            "--test-threads",
            "1",
        ])
        .env(CHILD, format!("{port},{faults}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("the child process starts");
    let (stream, _) = listener.accept().expect("the child connects");
    stream.set_nodelay(true).expect("nodelay");
    let mut links = [(1usize, stream)];
    let mut lps = vec![lp_peers::lp(0, 2, HOSTS, faults)];
    let stats = partition::run_linked(&mut lps, &[0], &[0, 1], 0, &mut links, CUT)
        .expect("the exchange succeeds");
    let mut d: Vec<_> = lps.into_iter().flat_map(lp_peers::deliveries).collect();
    // The child's deliveries follow the run on the same connection.
    let stream = &mut links[0].1;
    let u64_of = |s: &mut TcpStream| {
        let mut b = [0u8; 8];
        s.read_exact(&mut b).expect("the child's deliveries");
        u64::from_be_bytes(b)
    };
    for _ in 0..u64_of(stream) {
        let at = u64_of(stream);
        let host = Ipv4Addr::from(u64_of(stream) as u32);
        let mut payload = vec![0u8; u64_of(stream) as usize];
        stream.read_exact(&mut payload).expect("a payload");
        d.push((at, host, payload));
    }
    assert!(child.wait().expect("the child ends").success());
    d.sort();
    (d, stats)
}

#[test]
fn two_processes_deliver_exactly_what_one_network_delivers() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let want = whole(2, HOSTS);
    let (got, stats) = two_processes(false);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "deliveries differ from the whole network's");
    assert!(stats.windows >= TICKS, "{stats:?}");
    assert!(stats.boundary_packets > 0, "{stats:?}");
}

#[test]
fn a_faulty_run_in_two_processes_is_the_one_in_one_process() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (one, s1) = partitioned(2, HOSTS, 1, true);
    let (two, s2) = two_processes(true);
    assert!(one.len() < 2 * HOSTS * TICKS as usize, "loss drops some");
    assert!(two == one, "deliveries differ from the one-process run");
    assert_eq!(s2.windows, s1.windows);
}

/// The child side of the two-process tests: does nothing unless started by them (with
/// `NETSIM_PARTITION_CHILD` set), then runs LP 1 and sends its deliveries back.
#[test]
fn child_process_of_the_two_process_tests() {
    let Some(spec) = std::env::var_os(CHILD) else {
        return;
    };
    let spec = spec.into_string().expect("PORT,FAULTS");
    let (port, faults) = spec.split_once(',').expect("PORT,FAULTS");
    let stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("a port")))
        .expect("the parent listens");
    stream.set_nodelay(true).expect("nodelay");
    let mut links = [(0usize, stream)];
    let mut lps = vec![lp_peers::lp(1, 2, HOSTS, faults == "true")];
    partition::run_linked(&mut lps, &[1], &[0, 1], 1, &mut links, CUT)
        .expect("the exchange succeeds");
    let d: Vec<_> = lps.into_iter().flat_map(lp_peers::deliveries).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&(d.len() as u64).to_be_bytes());
    for (at, host, payload) in d {
        for x in [at, u64::from(u32::from(host)), payload.len() as u64] {
            out.extend_from_slice(&x.to_be_bytes());
        }
        out.extend_from_slice(&payload);
    }
    links[0].1.write_all(&out).expect("the parent reads");
}
