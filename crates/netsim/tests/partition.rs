//! `netsim::partition`: a network split into logical processes gives the same deliveries as
//! the whole network in one queue, for any number of threads (docs/distributed.md).
//!
//! The workload is issue 16's peer workload: every host sends a 200-byte datagram to a
//! planned other host every 10 ms for one simulated second. `K` routers each serve `H` hosts;
//! the whole network links every pair of routers with a 10 ms link (the cut), the partitioned
//! one makes each router an LP's portal with a lookahead of 10 ms.

#[path = "support/lp_peers.rs"]
mod lp_peers;

use lp_peers::{partitioned, whole, TICKS};

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
