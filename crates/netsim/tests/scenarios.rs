//! Scenario tests for `netsim`, all in one binary.
//!
//! Contents:
//! - `support`: small topologies and an independent checksum implementation.
//! - `packets`: datagrams are real IPv4/UDP; parsing never panics (proptest).
//! - `routing`: multi-hop shortest paths, unroutable traffic, build errors.
//! - `links`: exact latency/bandwidth timing, loss, duplication, reordering, corruption.
//! - `vantage`: node and link taps; hooks that drop, delay, replace and inject.
//! - `engine`: timers interleave with packets, `poll_until`, determinism over seeds.
//! - `api`: compile-time properties callers rely on.
//! - `outages`: scheduled link and node outages (partitions).

mod support {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use netsim::{Event, LinkParams, Network, NetworkBuilder, NodeId, Packet};
    use simcore::{Duration, SeedTree, Timestamp};

    pub fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, last)
    }

    pub fn sock(last: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(ip(last), port)
    }

    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    pub fn at_ms(n: u64) -> Timestamp {
        Timestamp::from_millis(n)
    }

    /// A chain `n0 - n1 - ... - n{k-1}` with addresses 10.0.0.{i+1}, every link `params`.
    pub fn chain(k: usize, params: LinkParams, seed: u64) -> (Network, Vec<NodeId>) {
        let mut b = NetworkBuilder::new();
        let nodes: Vec<NodeId> = (0..k)
            .map(|i| b.add_node(&format!("n{i}"), ip(i as u8 + 1)))
            .collect();
        for w in nodes.windows(2) {
            b.add_link(w[0], w[1], params.clone());
        }
        let net = b.build(&SeedTree::new(seed)).expect("valid chain");
        (net, nodes)
    }

    pub fn udp(from: u8, to: u8, payload: &[u8]) -> Packet {
        Packet::udp(sock(from, 4000), sock(to, 5060), payload).expect("small payload")
    }

    /// Polls to exhaustion, returning `(time, node, payload)` of deliveries and timers
    /// (timers as `token.to_be_bytes()` with node id + 1_000_000).
    pub fn drain(net: &mut Network) -> Vec<(Timestamp, u32, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(ev) = net.poll() {
            match ev {
                Event::Deliver { node, packet } => {
                    out.push((net.now(), node.0, packet.udp_payload().to_vec()))
                }
                Event::Timer { node, token } => {
                    out.push((net.now(), 1_000_000 + node.0, token.to_be_bytes().to_vec()))
                }
            }
        }
        out
    }

    /// RFC 1071 checksum written independently of the crate: sum all 16-bit words in a u32,
    /// fold, complement.
    pub fn rfc1071(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            i += 2;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }
}

mod packets {
    use netsim::{NetError, Packet, MAX_UDP_PAYLOAD};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    use crate::support::*;

    #[test]
    fn udp_datagram_checksums_match_an_independent_implementation() {
        for payload in [&b""[..], b"a", b"INVITE sip:bob@example.net SIP/2.0\r\n"] {
            let p = Packet::udp_with_id(sock(1, 40000), sock(200, 5060), payload, 0x1234)
                .expect("small payload");
            let b = p.bytes();
            assert_eq!(b.len(), 28 + payload.len());
            // Header checksum: the complement over the header with the field zeroed.
            let mut hdr = b[..20].to_vec();
            hdr[10] = 0;
            hdr[11] = 0;
            assert_eq!(u16::from_be_bytes([b[10], b[11]]), rfc1071(&hdr));
            // UDP checksum over pseudo-header + UDP with the field zeroed.
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&b[12..20]);
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            let mut udp = b[20..].to_vec();
            udp[6] = 0;
            udp[7] = 0;
            pseudo.extend_from_slice(&udp);
            let mut expect = rfc1071(&pseudo);
            if expect == 0 {
                expect = 0xffff;
            }
            assert_eq!(u16::from_be_bytes([b[26], b[27]]), expect);
            assert!(p.checksums_ok());
            assert_eq!(p.src(), sock(1, 40000));
            assert_eq!(p.dst(), sock(200, 5060));
            assert_eq!(p.ip_id(), 0x1234);
            assert_eq!(p.udp_payload(), payload);
        }
    }

    #[test]
    fn tampered_payload_fails_checksum_but_still_parses() {
        let p = udp(1, 2, b"hello");
        let mut b = p.into_bytes();
        b[30] ^= 0x01;
        let q = Packet::from_bytes(b).expect("structure is intact");
        assert!(!q.checksums_ok());
    }

    #[test]
    fn short_input_reports_what_was_needed() {
        assert_eq!(
            Packet::from_bytes(vec![0x45; 10]),
            Err(NetError::TooShort {
                len: 10,
                need: 20,
                offset: 0
            })
        );
    }

    proptest! {
        #[test]
        fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = Packet::from_bytes(bytes.clone()) {
                // Accessors and verification must not panic either.
                let _ = (p.src(), p.dst(), p.udp_payload().len(), p.checksums_ok());
                prop_assert_eq!(p.bytes(), &bytes[..]);
            }
        }

        #[test]
        fn from_bytes_never_panics_on_near_valid_headers(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            pos in 0usize..92,
            val in any::<u8>(),
        ) {
            let mut b = udp(1, 2, &payload).into_bytes();
            let i = pos % b.len();
            b[i] = val;
            if let Ok(p) = Packet::from_bytes(b) {
                let _ = (p.src(), p.dst(), p.udp_payload().len(), p.checksums_ok());
            }
        }

        #[test]
        fn udp_round_trips(
            src in any::<[u8; 4]>(), sport in any::<u16>(),
            dst in any::<[u8; 4]>(), dport in any::<u16>(),
            id in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let s = SocketAddrV4::new(Ipv4Addr::from(src), sport);
            let d = SocketAddrV4::new(Ipv4Addr::from(dst), dport);
            let p = Packet::udp_with_id(s, d, &payload, id).expect("fits");
            prop_assert!(p.checksums_ok());
            let q = Packet::from_bytes(p.bytes().to_vec()).expect("own output parses");
            prop_assert_eq!(&q, &p);
            prop_assert_eq!(q.src(), s);
            prop_assert_eq!(q.dst(), d);
            prop_assert_eq!(q.udp_payload(), &payload[..]);
            prop_assert!(payload.len() <= MAX_UDP_PAYLOAD);
        }
    }
}

mod routing {
    use netsim::{Event, LinkId, LinkParams, NetError, NetworkBuilder, NodeId, TapPoint};
    use simcore::{SeedTree, Timestamp};

    use crate::support::*;

    #[test]
    fn packet_takes_the_shortest_path_across_a_multi_hop_topology() {
        // a - r1 - r2 - r3 - b   (long way, 4 links)
        //      \           /
        //       `-- r4 ---'      (short way, 3 links from a)
        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let r1 = b.add_node("r1", ip(11));
        let r2 = b.add_node("r2", ip(12));
        let r3 = b.add_node("r3", ip(13));
        let r4 = b.add_node("r4", ip(14));
        let bb = b.add_node("b", ip(2));
        let lat = |m| LinkParams {
            latency: ms(m),
            ..LinkParams::default()
        };
        b.add_link(a, r1, lat(1));
        let long = b.add_link(r1, r2, lat(1));
        b.add_link(r2, r3, lat(1));
        b.add_link(r3, bb, lat(1));
        let short1 = b.add_link(r1, r4, lat(10));
        let short2 = b.add_link(r4, bb, lat(10));
        let mut net = b.build(&SeedTree::new(1)).expect("valid");
        let t_long = net.add_tap(TapPoint::Link(long));
        let t_short1 = net.add_tap(TapPoint::Link(short1));
        let t_short2 = net.add_tap(TapPoint::Link(short2));
        let t_r4 = net.add_tap(TapPoint::Node(r4));

        net.send(a, udp(1, 2, b"to b"));
        // Hop count decides, not latency: a-r1-r4-b, 1 + 10 + 10 ms.
        assert_eq!(
            net.poll(),
            Some(Event::Deliver {
                node: bb,
                packet: udp(1, 2, b"to b")
            })
        );
        assert_eq!(net.now(), at_ms(21));
        assert!(net.tap(t_long).is_empty());
        assert_eq!(net.tap(t_short1).len(), 1);
        assert_eq!(net.tap(t_short2).len(), 1);
        assert_eq!(net.tap(t_r4).get(0).map(|p| p.time), Some(at_ms(11)));

        // And back the same way.
        net.send(bb, udp(2, 1, b"to a"));
        match net.poll() {
            Some(Event::Deliver { node, .. }) => assert_eq!(node, a),
            other => panic!("expected delivery to a, got {other:?}"),
        }
        assert_eq!(net.tap(t_short2).len(), 2);
        assert_eq!(net.stats().events, 6);
        assert_eq!(net.node_by_addr(ip(14)), Some(r4));
        assert_eq!(net.node_name(r4), "r4");
        assert_eq!(net.node_addr(r4), ip(14));
        assert_eq!(net.link_ends(long), Some((r1, r2)));
    }

    #[test]
    fn equal_cost_paths_break_ties_by_lowest_node_id() {
        // a - x - b and a - y - b with x < y: traffic goes through x both ways.
        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let x = b.add_node("x", ip(3));
        let y = b.add_node("y", ip(4));
        let bb = b.add_node("b", ip(2));
        b.add_link(a, y, LinkParams::default());
        b.add_link(y, bb, LinkParams::default());
        b.add_link(a, x, LinkParams::default());
        b.add_link(x, bb, LinkParams::default());
        let mut net = b.build(&SeedTree::new(1)).expect("valid");
        let tx = net.add_tap(TapPoint::Node(x));
        let ty = net.add_tap(TapPoint::Node(y));
        net.send(a, udp(1, 2, b"1"));
        net.send(bb, udp(2, 1, b"2"));
        assert_eq!(drain(&mut net).len(), 2);
        assert_eq!(net.tap(tx).len(), 2);
        assert_eq!(net.tap(ty).len(), 0);
    }

    #[test]
    fn unroutable_packets_are_counted_not_fatal() {
        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let c = b.add_node("c", ip(2));
        let _island = b.add_node("island", ip(3));
        b.add_link(a, c, LinkParams::default());
        let mut net = b.build(&SeedTree::new(1)).expect("partitions are allowed");
        net.send(a, udp(1, 99, b"nobody")); // no owner
        net.send(a, udp(1, 3, b"island")); // owner unreachable
        net.send(a, udp(1, 2, b"fine"));
        assert_eq!(drain(&mut net).len(), 1);
        assert_eq!(net.stats().unroutable, 2);
    }

    #[test]
    fn sending_to_yourself_delivers_now() {
        let (mut net, n) = chain(2, LinkParams::default(), 1);
        net.set_timer(n[0], at_ms(3), 0);
        assert!(matches!(net.poll(), Some(Event::Timer { .. })));
        net.send(n[0], udp(1, 1, b"loopback"));
        assert_eq!(
            net.poll(),
            Some(Event::Deliver {
                node: n[0],
                packet: udp(1, 1, b"loopback")
            })
        );
        assert_eq!(net.now(), at_ms(3));
    }

    #[test]
    fn build_errors_blame_the_offending_node_or_link() {
        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let c = b.add_node("c", ip(1));
        assert_eq!(
            b.build(&SeedTree::new(0)).unwrap_err(),
            NetError::DuplicateAddress {
                addr: ip(1),
                first: a,
                second: c
            }
        );

        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        b.add_link(a, NodeId(7), LinkParams::default());
        assert_eq!(
            b.build(&SeedTree::new(0)).unwrap_err(),
            NetError::UnknownNode {
                link: LinkId(0),
                node: NodeId(7)
            }
        );

        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let c = b.add_node("c", ip(2));
        b.add_link(a, c, LinkParams::default());
        b.add_link(c, c, LinkParams::default());
        assert_eq!(
            b.build(&SeedTree::new(0)).unwrap_err(),
            NetError::LinkToSelf {
                link: LinkId(1),
                node: c
            }
        );

        let mut b = NetworkBuilder::new();
        let a = b.add_node("a", ip(1));
        let c = b.add_node("c", ip(2));
        b.add_link(
            a,
            c,
            LinkParams {
                bandwidth_bps: Some(0),
                ..LinkParams::default()
            },
        );
        assert!(matches!(
            b.build(&SeedTree::new(0)).unwrap_err(),
            NetError::InvalidLinkParams {
                link: LinkId(0),
                ..
            }
        ));
    }

    #[test]
    fn carrier_sized_topology_routes_every_subscriber() {
        // core - 20 cells - 100 subscribers each (2,121 nodes); every subscriber pings the
        // subscriber with the "next" address, crossing the core for most.
        let mut b = NetworkBuilder::new();
        let core = b.add_node("core", std::net::Ipv4Addr::new(172, 16, 0, 1));
        let mut subs = Vec::new();
        for c in 0..20u8 {
            let cell = b.add_node(&format!("cell{c}"), std::net::Ipv4Addr::new(172, 16, 1, c));
            b.add_link(core, cell, LinkParams::default());
            for s in 0..100u8 {
                let addr = std::net::Ipv4Addr::new(10, c, 0, s);
                let ue = b.add_node(&format!("ue{c}.{s}"), addr);
                b.add_link(cell, ue, LinkParams::default());
                subs.push((ue, addr));
            }
        }
        let mut net = b.build(&SeedTree::new(1)).expect("valid");
        for (i, &(ue, addr)) in subs.iter().enumerate() {
            let (_, to) = subs[(i + 101) % subs.len()];
            let p = netsim::Packet::udp(
                std::net::SocketAddrV4::new(addr, 1),
                std::net::SocketAddrV4::new(to, 2),
                b"ping",
            )
            .expect("small");
            net.send(ue, p);
        }
        let mut delivered = 0;
        while let Some(ev) = net.poll() {
            if let Event::Deliver { node, packet } = ev {
                assert_eq!(net.node_addr(node), *packet.dst().ip());
                delivered += 1;
            }
        }
        assert_eq!(delivered, subs.len());
        // ue -> cell -> core -> cell -> ue: four hops each.
        assert_eq!(net.stats().events, 4 * subs.len() as u64);
        assert_eq!(net.now(), Timestamp::ZERO);
    }
}

mod links {
    use netsim::{Event, LinkParams, NetworkBuilder};
    use simcore::{SeedTree, Timestamp};

    use crate::support::*;

    #[test]
    fn latency_and_bandwidth_give_exact_store_and_forward_times() {
        // Two hops, 10 ms + 1 Mbit/s each; 125-byte datagrams take 1 ms to serialise.
        let params = LinkParams {
            latency: ms(10),
            bandwidth_bps: Some(1_000_000),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(3, params, 1);
        let payload = [0u8; 125 - 28];
        for _ in 0..3 {
            net.send(n[0], udp(1, 3, &payload));
        }
        let times: Vec<Timestamp> = drain(&mut net).into_iter().map(|(t, _, _)| t).collect();
        // First: 1 + 10 at hop one, 1 + 10 at hop two = 22 ms. The queue at hop one spaces the
        // rest 1 ms apart, and hop two is then never busy.
        assert_eq!(times, vec![at_ms(22), at_ms(23), at_ms(24)]);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let params = LinkParams {
            latency: ms(5),
            jitter: ms(2),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, params, 3);
        for _ in 0..500 {
            net.send(n[0], udp(1, 2, b"j"));
        }
        let times: Vec<u64> = drain(&mut net)
            .into_iter()
            .map(|(t, _, _)| t.as_nanos())
            .collect();
        assert_eq!(times.len(), 500);
        assert!(times.iter().all(|&t| (5_000_000..=7_000_000).contains(&t)));
        let spread = times.iter().max().copied().unwrap_or(0) - times[0];
        assert!(spread > 1_500_000, "jitter barely varied: {spread} ns");
    }

    #[test]
    fn loss_rate_tracks_the_probability() {
        let params = LinkParams {
            loss: 0.2,
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, params, 11);
        let sent = 10_000;
        for _ in 0..sent {
            net.send(n[0], udp(1, 2, b"x"));
        }
        let delivered = drain(&mut net).len() as u64;
        // Binomial(10000, 0.8): sd = 40; allow 6 sd.
        assert!(
            (7_760..=8_240).contains(&delivered),
            "delivered {delivered}"
        );
        assert_eq!(net.stats().dropped_loss + delivered, sent);
    }

    #[test]
    fn duplication_delivers_extra_copies() {
        let always = LinkParams {
            duplicate: 1.0,
            ..LinkParams::default()
        };
        // Each of two hops doubles: 4 copies arrive.
        let (mut net, n) = chain(3, always, 1);
        net.send(n[0], udp(1, 3, b"dup"));
        let got = drain(&mut net);
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|(_, node, p)| *node == 2 && p == b"dup"));
        assert_eq!(net.stats().duplicated, 3);

        let some = LinkParams {
            duplicate: 0.3,
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, some, 2);
        for _ in 0..2_000 {
            net.send(n[0], udp(1, 2, b"d"));
        }
        let extra = drain(&mut net).len() as u64 - 2_000;
        assert_eq!(extra, net.stats().duplicated);
        assert!((480..=720).contains(&extra), "duplicated {extra}");
    }

    #[test]
    fn reordering_actually_reorders() {
        let params = LinkParams {
            latency: ms(1),
            reorder: 0.3,
            reorder_delay: ms(5),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, params, 5);
        let mut order: Vec<u32> = Vec::new();
        let mut collect = |ev: Event| {
            if let Event::Deliver { packet, .. } = ev {
                let p: [u8; 4] = packet.udp_payload().try_into().expect("4 bytes");
                order.push(u32::from_be_bytes(p));
            }
        };
        // One packet per millisecond, delivering whatever is due in between.
        for i in 0..100u32 {
            while let Some(ev) = net.poll_until(Timestamp::from_millis(u64::from(i))) {
                collect(ev);
            }
            net.send(n[0], udp(1, 2, &i.to_be_bytes()));
        }
        while let Some(ev) = net.poll() {
            collect(ev);
        }
        assert_eq!(order.len(), 100);
        let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions >= 10, "only {inversions} inversions: {order:?}");
        assert!(net.stats().reordered >= 15);
    }

    #[test]
    fn damaged_frames_are_dropped_by_the_next_hops_frame_check() {
        // Issue 14: corruption is caught per hop, so a damaged frame never travels on (and two
        // flips on two hops can never cancel out); it costs the frame, like loss.
        let always = LinkParams {
            corrupt: 1.0,
            ..LinkParams::default()
        };
        let (mut net, n) = chain(4, always, 9);
        for _ in 0..200 {
            net.send(n[0], udp(1, 4, b"fragile payload"));
        }
        assert!(drain(&mut net).is_empty());
        let s = net.stats();
        assert_eq!((s.dropped_fcs, s.corrupted, s.dropped_corrupt), (200, 0, 0));
        let half = LinkParams {
            corrupt: 0.5,
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, half, 9);
        for _ in 0..1_000 {
            net.send(n[0], udp(1, 2, b"fragile payload"));
        }
        let got = drain(&mut net);
        assert!(got.iter().all(|(_, _, p)| p == b"fragile payload"));
        let s = net.stats();
        assert_eq!(got.len() as u64 + s.dropped_fcs, 1_000);
        assert!((400..=600).contains(&s.dropped_fcs), "{}", s.dropped_fcs);
    }

    #[test]
    fn undetected_damage_is_caught_by_the_destinations_checksum() {
        let always = LinkParams {
            undetected_corrupt: 1.0,
            ..LinkParams::default()
        };
        // One damaging hop: a single flipped bit always breaks a checksum. (Two flips on a
        // multi-hop path can cancel out, as with real UDP; see
        // `LinkParams::undetected_corrupt`.)
        let (mut net, n) = chain(2, always, 9);
        for _ in 0..200 {
            net.send(n[0], udp(1, 2, b"fragile payload"));
        }
        assert!(drain(&mut net).is_empty());
        assert_eq!(net.stats().dropped_corrupt, 200);

        let half = LinkParams {
            undetected_corrupt: 0.5,
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, half, 9);
        for _ in 0..1_000 {
            net.send(n[0], udp(1, 2, b"fragile payload"));
        }
        let got = drain(&mut net);
        assert!(got.iter().all(|(_, _, p)| p == b"fragile payload"));
        let s = net.stats();
        assert_eq!(s.dropped_corrupt, s.corrupted);
        assert_eq!(got.len() as u64 + s.corrupted, 1_000);
        assert!(
            (400..=600).contains(&s.corrupted),
            "corrupted {}",
            s.corrupted
        );
    }

    #[test]
    fn drop_tail_queue_limits_bursts() {
        let params = LinkParams {
            bandwidth_bps: Some(8_000_000),
            queue_limit_bytes: Some(1_000),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, params, 1);
        let payload = [0u8; 72]; // 100-byte datagrams
        for _ in 0..20 {
            net.send(n[0], udp(1, 2, &payload));
        }
        // The backlog may hold at most 1000 bytes: 10 datagrams fit, the rest are dropped.
        assert_eq!(drain(&mut net).len(), 10);
        assert_eq!(net.stats().dropped_queue, 10);
    }

    #[test]
    fn adding_a_link_does_not_change_another_links_draws() {
        let lossy = LinkParams {
            loss: 0.5,
            jitter: ms(3),
            ..LinkParams::default()
        };
        let run = |extra: bool| {
            let mut b = NetworkBuilder::new();
            let a = b.add_node("a", ip(1));
            let c = b.add_node("c", ip(2));
            b.add_link(a, c, lossy.clone());
            if extra {
                let d = b.add_node("d", ip(3));
                b.add_link(c, d, lossy.clone());
            }
            let mut net = b.build(&SeedTree::new(77)).expect("valid");
            for i in 0..200u32 {
                net.send(a, udp(1, 2, &i.to_be_bytes()));
            }
            drain(&mut net)
        };
        assert_eq!(run(false), run(true));
    }
}

mod vantage {
    use std::sync::{Arc, Mutex};

    use netsim::{Event, HookCtx, LinkId, LinkParams, NodeId, Packet, TapPoint, Verdict};

    use crate::support::*;

    #[test]
    fn node_and_link_taps_see_the_right_packets() {
        let params = LinkParams {
            latency: ms(2),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(3, params, 1);
        let at_a = net.add_tap(TapPoint::Node(n[0]));
        let at_mid = net.add_tap(TapPoint::Node(n[1]));
        let on_second = net.add_tap(TapPoint::Link(LinkId(1)));
        net.send(n[0], udp(1, 3, b"out"));
        net.send(n[2], udp(3, 1, b"back"));
        net.send(n[0], udp(1, 2, b"to mid"));
        assert_eq!(drain(&mut net).len(), 3);

        // a sees what it originated and what arrived for it.
        let a: Vec<(u64, Vec<u8>)> = net
            .tap(at_a)
            .iter()
            .map(|t| (t.time.as_nanos() / 1_000_000, t.bytes.to_vec()))
            .collect();
        assert_eq!(
            a,
            vec![
                (0, udp(1, 3, b"out").into_bytes()),
                (0, udp(1, 2, b"to mid").into_bytes()),
                (4, udp(3, 1, b"back").into_bytes()),
            ]
        );
        // The middle sees every arrival, transit or final, at 2 ms.
        let mid = net.take_tap(at_mid);
        assert_eq!(mid.len(), 3);
        assert!(mid.iter().all(|t| t.time == at_ms(2)));
        assert!(net.tap(at_mid).is_empty());
        // The second link carries "out" (at 2 ms) and "back" (at 0 ms), not "to mid".
        let link: Vec<Vec<u8>> = net
            .tap(on_second)
            .iter()
            .map(|t| t.bytes.to_vec())
            .collect();
        assert_eq!(
            link,
            vec![
                udp(3, 1, b"back").into_bytes(),
                udp(1, 3, b"out").into_bytes()
            ]
        );
    }

    #[test]
    fn a_tap_records_into_an_arena_without_an_allocation_per_packet() {
        let (mut net, n) = chain(2, LinkParams::default(), 1);
        let tap = net.add_tap(TapPoint::Node(n[0]));
        let count = 20_000;
        let len = udp(1, 2, &[0u8; 63]).into_bytes().len();
        for _ in 0..count {
            net.send(n[0], udp(1, 2, &[0u8; 63]));
        }
        drain(&mut net);
        let used = count * (len + 16);
        let log = net.tap(tap);
        assert_eq!((log.len(), log.total_bytes()), (count, count * len));
        // While recording: at most one byte block and one index block reserved ahead.
        let ahead = simcore::packets::BLOCK_BYTES + simcore::packets::INDEX_BLOCK * 16;
        assert!(
            log.heap_bytes() <= used + ahead + 4096,
            "{}",
            log.heap_bytes()
        );
        // Taken: the packets and their entries, and no more (a vector per packet would be 24
        // bytes more each).
        let taken = net.take_tap(tap);
        assert!(taken.heap_bytes() <= used + 4096, "{}", taken.heap_bytes());
        assert!(taken.iter().all(|p| p.bytes.len() == len));
    }

    #[test]
    fn hook_drops_sip_signalling_but_passes_media() {
        let (mut net, n) = chain(3, LinkParams::default(), 1);
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, p: &Packet| {
                if p.dst().port() == 5060 {
                    Verdict::Drop
                } else {
                    Verdict::Pass
                }
            }),
        );
        net.send(n[0], udp(1, 3, b"INVITE"));
        net.send(
            n[0],
            Packet::udp(sock(1, 4000), sock(3, 16384), b"rtp").expect("small"),
        );
        let got = drain(&mut net);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, b"rtp");
        assert_eq!(net.stats().hook_drops, 1);
    }

    #[test]
    fn hook_delay_holds_the_packet_exactly_and_runs_once() {
        let params = LinkParams {
            latency: ms(1),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(3, params, 1);
        let mut seen = 0;
        net.add_hook(
            n[1],
            Box::new(move |_: &mut HookCtx<'_>, _: &Packet| {
                seen += 1;
                assert_eq!(
                    seen, 1,
                    "a delayed packet must not be shown to the hook again"
                );
                Verdict::Delay(ms(40))
            }),
        );
        net.send(n[0], udp(1, 3, b"late"));
        assert!(matches!(net.poll(), Some(Event::Deliver { .. })));
        assert_eq!(net.now(), at_ms(42));
        assert_eq!(net.stats().hook_delays, 1);
    }

    #[test]
    fn hook_replaces_the_payload_and_the_receiver_accepts_it() {
        let (mut net, n) = chain(3, LinkParams::default(), 1);
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, p: &Packet| {
                let forged = Packet::udp(p.src(), p.dst(), b"forged").expect("small");
                Verdict::Replace(forged.into_bytes())
            }),
        );
        net.send(n[0], udp(1, 3, b"genuine"));
        let got = drain(&mut net);
        assert_eq!(got, vec![(at_ms(0), 2, b"forged".to_vec())]);
        assert_eq!(net.stats().hook_replaces, 1);
    }

    #[test]
    fn invalid_replacement_is_dropped_and_counted() {
        let (mut net, n) = chain(3, LinkParams::default(), 1);
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, _: &Packet| Verdict::Replace(vec![1, 2, 3])),
        );
        net.send(n[0], udp(1, 3, b"x"));
        assert!(drain(&mut net).is_empty());
        assert_eq!(net.stats().hook_invalid_replaces, 1);
        assert_eq!(net.stats().hook_drops, 0);
    }

    #[test]
    fn hooks_chain_in_order_and_replacements_flow_on() {
        let (mut net, n) = chain(3, LinkParams::default(), 1);
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, p: &Packet| {
                let mut payload = p.udp_payload().to_vec();
                payload.extend_from_slice(b"+1");
                Verdict::Replace(
                    Packet::udp(p.src(), p.dst(), &payload)
                        .expect("small")
                        .into_bytes(),
                )
            }),
        );
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, p: &Packet| {
                if p.udp_payload() == b"drop me+1" {
                    Verdict::Drop
                } else {
                    Verdict::Pass
                }
            }),
        );
        net.send(n[0], udp(1, 3, b"drop me"));
        net.send(n[0], udp(1, 3, b"keep me"));
        let got: Vec<Vec<u8>> = drain(&mut net).into_iter().map(|(_, _, p)| p).collect();
        assert_eq!(got, vec![b"keep me+1".to_vec()]);
    }

    #[test]
    fn on_path_hook_injects_a_spoofed_reply() {
        // The adversary sits at the middle router; when it sees a request to n3 it answers n1
        // itself, pretending to be n3, and lets the original through.
        let params = LinkParams {
            latency: ms(5),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(3, params, 1);
        let mid_tap = net.add_tap(TapPoint::Node(n[1]));
        let calls = Arc::new(Mutex::new(0));
        let counter = Arc::clone(&calls);
        net.add_hook(
            n[1],
            Box::new(move |ctx: &mut HookCtx<'_>, p: &Packet| {
                *counter.lock().expect("not poisoned") += 1;
                assert_eq!(ctx.now(), at_ms(5));
                assert_eq!(ctx.node(), NodeId(1));
                if p.udp_payload() == b"REGISTER" {
                    let spoof = Packet::udp(p.dst(), p.src(), b"200 OK (spoofed)").expect("small");
                    ctx.inject(spoof);
                }
                Verdict::Pass
            }),
        );
        net.send(n[0], udp(1, 3, b"REGISTER"));
        let got = drain(&mut net);
        assert_eq!(
            got,
            vec![
                (at_ms(10), 0, b"200 OK (spoofed)".to_vec()),
                (at_ms(10), 2, b"REGISTER".to_vec()),
            ]
        );
        assert_eq!(net.stats().hook_injects, 1);
        // The node tap saw the arrival and the injected origination, the hook only the arrival.
        assert_eq!(net.tap(mid_tap).len(), 2);
        assert_eq!(*calls.lock().expect("not poisoned"), 1);
    }

    #[test]
    fn hooks_at_the_destination_see_final_deliveries() {
        let (mut net, n) = chain(2, LinkParams::default(), 1);
        net.add_hook(
            n[1],
            Box::new(|_: &mut HookCtx<'_>, _: &Packet| Verdict::Drop),
        );
        net.send(n[0], udp(1, 2, b"x"));
        assert!(drain(&mut net).is_empty());
        assert_eq!(net.stats().hook_drops, 1);
    }
}

mod engine {
    use netsim::{Event, LinkParams, NetworkBuilder, Packet};
    use simcore::{SeedTree, Timestamp};

    use crate::support::*;

    #[test]
    fn timers_interleave_with_packets_in_time_then_insertion_order() {
        let params = LinkParams {
            latency: ms(5),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(2, params, 1);
        net.send(n[0], udp(1, 2, b"p@5")); // arrival scheduled first at 5 ms
        net.set_timer(n[1], at_ms(5), 1); // same time, scheduled later
        net.set_timer(n[0], at_ms(3), 2);
        net.set_timer(n[0], at_ms(9), 3);
        let got = drain(&mut net);
        let summary: Vec<(u64, u32)> = got
            .iter()
            .map(|(t, node, _)| (t.as_nanos() / 1_000_000, *node))
            .collect();
        assert_eq!(
            summary,
            vec![(3, 1_000_000), (5, 1), (5, 1_000_001), (9, 1_000_000)]
        );
        // A timer in the past fires now.
        net.set_timer(n[0], at_ms(1), 4);
        assert_eq!(
            net.poll(),
            Some(Event::Timer {
                node: n[0],
                token: 4
            })
        );
        assert_eq!(net.now(), at_ms(9));
        assert_eq!(net.poll(), None);
    }

    #[test]
    fn poll_until_stops_at_the_deadline_without_consuming_later_events() {
        let params = LinkParams {
            latency: ms(10),
            ..LinkParams::default()
        };
        let (mut net, n) = chain(3, params, 1);
        net.send(n[0], udp(1, 3, b"x"));
        net.set_timer(n[0], at_ms(4), 7);
        assert_eq!(
            net.poll_until(at_ms(15)),
            Some(Event::Timer {
                node: n[0],
                token: 7
            })
        );
        assert_eq!(net.now(), at_ms(4));
        // The transit hop at 10 ms is processed inside, nothing for the caller until 15.
        assert_eq!(net.poll_until(at_ms(15)), None);
        assert_eq!(net.now(), at_ms(15));
        assert_eq!(net.pending(), 1);
        assert_eq!(net.poll_until(at_ms(19)), None);
        assert_eq!(net.now(), at_ms(19));
        assert!(matches!(
            net.poll_until(at_ms(20)),
            Some(Event::Deliver { .. })
        ));
        assert_eq!(net.now(), at_ms(20));
        // Empty queue: the clock still moves to the deadline, but never backwards.
        assert_eq!(net.poll_until(at_ms(30)), None);
        assert_eq!(net.now(), at_ms(30));
        assert_eq!(net.poll_until(at_ms(25)), None);
        assert_eq!(net.now(), at_ms(30));
    }

    /// A small lossy, jittery, duplicating, reordering, corrupting mesh; returns every
    /// delivery (time, node, full bytes) and the stats.
    fn faulty_trace(seed: u64) -> (Vec<(Timestamp, u32, Vec<u8>)>, netsim::NetStats) {
        let faulty = LinkParams {
            latency: ms(3),
            jitter: ms(4),
            bandwidth_bps: Some(2_000_000),
            queue_limit_bytes: Some(3_000),
            loss: 0.1,
            duplicate: 0.1,
            reorder: 0.2,
            reorder_delay: ms(7),
            corrupt: 0.05,
            undetected_corrupt: 0.05,
        };
        let mut b = NetworkBuilder::new();
        let nodes: Vec<_> = (0..6)
            .map(|i| b.add_node(&format!("n{i}"), ip(i + 1)))
            .collect();
        for i in 0..6 {
            b.add_link(nodes[i], nodes[(i + 1) % 6], faulty.clone());
        }
        b.add_link(nodes[0], nodes[3], faulty);
        let mut net = b.build(&SeedTree::new(seed)).expect("valid");
        for round in 0..50u32 {
            for (i, &from) in nodes.iter().enumerate() {
                let to = ((i + 2 + round as usize) % 6) as u8 + 1;
                let p = Packet::udp_with_id(
                    sock(i as u8 + 1, 1000),
                    sock(to, 2000),
                    &round.to_be_bytes(),
                    round as u16,
                )
                .expect("small");
                net.send(from, p);
            }
            net.set_timer(
                nodes[0],
                Timestamp::from_millis(u64::from(round) * 2),
                u64::from(round),
            );
        }
        let mut trace = Vec::new();
        while let Some(ev) = net.poll() {
            match ev {
                Event::Deliver { node, packet } => {
                    trace.push((net.now(), node.0, packet.into_bytes()))
                }
                Event::Timer { node, token } => {
                    trace.push((net.now(), 100 + node.0, token.to_be_bytes().to_vec()))
                }
            }
        }
        (trace, net.stats().clone())
    }

    #[test]
    fn same_seed_same_trace_other_seed_differs() {
        let (a, sa) = faulty_trace(2024);
        let (b, sb) = faulty_trace(2024);
        let (c, _) = faulty_trace(2025);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_ne!(a, c);
        // The faults really happened, so the comparison meant something.
        assert!(sa.dropped_loss > 0 && sa.duplicated > 0 && sa.reordered > 0);
        assert!(sa.corrupted > 0 && sa.dropped_fcs > 0 && sa.packets_delivered > 100);
    }
}

mod api {
    #[test]
    fn network_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<netsim::Network>();
        assert_send::<netsim::Event>();
    }
}

/// Scheduled outages (issue 14's partitions): frames on a down link, or to or from a down
/// node, are dropped and counted; timers still fire; the link carries frames again after.
mod outages {
    use netsim::{Event, LinkId, LinkParams, NetError, NetworkBuilder, NodeId};
    use simcore::SeedTree;

    use crate::support::*;

    /// A chain a - b - c with 5 ms links; one outage on link `b - c` or on node `b`.
    fn build(link: bool, from: u64, until: u64) -> netsim::Network {
        let mut b = NetworkBuilder::new();
        let n: Vec<NodeId> = (0..3)
            .map(|i| b.add_node(&format!("n{i}"), ip(i as u8 + 1)))
            .collect();
        let params = LinkParams {
            latency: ms(5),
            ..LinkParams::default()
        };
        b.add_link(n[0], n[1], params.clone());
        let bc = b.add_link(n[1], n[2], params);
        if link {
            b.add_link_outage(bc, at_ms(from), at_ms(until));
        } else {
            b.add_node_outage(n[1], at_ms(from), at_ms(until));
        }
        b.build(&SeedTree::new(1)).expect("valid")
    }

    /// Sends one datagram a -> c every 10 ms from 0 to 190 ms and sets a timer at node b at
    /// 50 ms; returns (payloads delivered, timer fired).
    fn run(net: &mut netsim::Network) -> (Vec<u8>, bool) {
        let (mut got, mut timer) = (Vec::new(), false);
        net.set_timer(NodeId(1), at_ms(50), 7);
        for i in 0..20u8 {
            while let Some(ev) = net.poll_until(at_ms(u64::from(i) * 10)) {
                match ev {
                    Event::Deliver { packet, .. } => got.push(packet.udp_payload()[0]),
                    Event::Timer { token, .. } => timer |= token == 7,
                }
            }
            net.send(NodeId(0), udp(1, 3, &[i]));
        }
        for ev in std::iter::from_fn(|| net.poll()) {
            match ev {
                Event::Deliver { packet, .. } => got.push(packet.udp_payload()[0]),
                Event::Timer { token, .. } => timer |= token == 7,
            }
        }
        (got, timer)
    }

    #[test]
    fn a_down_link_drops_frames_in_its_window_and_heals() {
        // Down from 42 to 100 ms: the frame sent at 40 ms crosses b - c at 45 ms (dropped),
        // the one sent at 30 ms crosses at 35 ms and arrives at 40 ms (kept); the frame sent at
        // 90 ms crosses at 95 ms (dropped), at 100 ms crosses at 105 ms (kept).
        let mut net = build(true, 42, 100);
        let (got, timer) = run(&mut net);
        let want: Vec<u8> = (0..20).filter(|i| !(4..=9).contains(i)).collect();
        assert_eq!(got, want);
        assert!(timer, "timers fire during an outage");
        assert_eq!(net.stats().dropped_partition, 6);
        assert_eq!(net.stats().dropped_loss, 0);
    }

    #[test]
    fn a_frame_due_to_arrive_inside_the_window_is_dropped() {
        // The frame sent at 30 ms leaves b at 35 ms and would arrive at 40 ms: inside [38, 41)
        // only its arrival is.
        let mut net = build(true, 38, 41);
        let (got, _) = run(&mut net);
        assert!(!got.contains(&3), "{got:?}");
        assert_eq!(net.stats().dropped_partition, 1);
    }

    #[test]
    fn a_down_node_cuts_every_link_it_ends_and_keeps_its_timers() {
        // b down from 0 to 55 ms: frames a -> b leaving before 55 ms are dropped on the first
        // link (the one sent at 50 ms too), whichever link they were on.
        let mut net = build(false, 0, 55);
        let (got, timer) = run(&mut net);
        assert_eq!(got, (6..20).collect::<Vec<u8>>());
        assert!(timer);
        assert_eq!(net.stats().dropped_partition, 6);
    }

    #[test]
    fn an_outage_on_an_unknown_link_or_node_is_refused() {
        let mut b = NetworkBuilder::new();
        b.add_node("a", ip(1));
        b.add_link_outage(LinkId(0), at_ms(0), at_ms(1));
        assert!(matches!(
            b.build(&SeedTree::new(1)),
            Err(NetError::UnknownOutageLink { link: LinkId(0) })
        ));
        let mut b = NetworkBuilder::new();
        b.add_node("a", ip(1));
        b.add_node_outage(NodeId(4), at_ms(0), at_ms(1));
        assert!(matches!(
            b.build(&SeedTree::new(1)),
            Err(NetError::UnknownOutageNode { node: NodeId(4) })
        ));
    }
}
