//! Property tests: the parsers never panic on arbitrary bytes, and pcap round-trips.

use capture::{ip, pcap, CapturedPacket, Timestamp};
use proptest::prelude::*;

proptest! {
    #[test]
    fn parse_udp_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = ip::parse_udp(&bytes);
    }

    #[test]
    fn parse_udp_never_panics_on_near_valid_datagrams(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        flips in proptest::collection::vec((0usize..92, any::<u8>()), 0..4),
        cut in 0usize..100,
    ) {
        let src = "10.0.0.1:47000".parse().expect("literal");
        let dst = "10.0.0.2:47000".parse().expect("literal");
        let mut b = ip::build_udp(src, dst, &payload).expect("small");
        prop_assert_eq!(ip::parse_udp(&b).expect("built datagrams parse").payload, &payload[..]);
        for (i, x) in flips {
            if let Some(byte) = b.get_mut(i) { *byte ^= x; }
        }
        b.truncate(cut);
        let _ = ip::parse_udp(&b);
    }

    #[test]
    fn read_pcap_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = pcap::read_pcap(&bytes[..]);
    }

    #[test]
    fn read_pcap_never_panics_on_damaged_files(
        times in proptest::collection::vec(0u64..1_000_000_000_000_000, 0..4),
        flips in proptest::collection::vec((0usize..120, any::<u8>()), 0..4),
        cut in 0usize..140,
    ) {
        let packets: Vec<CapturedPacket> = times.iter().map(|&t| CapturedPacket {
            time: Timestamp::from_nanos(t),
            bytes: t.to_be_bytes().to_vec(),
        }).collect();
        let mut f = Vec::new();
        pcap::write_pcap(&mut f, packets.iter().map(CapturedPacket::as_ref)).expect("writes");
        prop_assert_eq!(pcap::read_pcap(&f[..]).expect("round trip"), packets);
        for (i, x) in flips {
            if let Some(byte) = f.get_mut(i) { *byte ^= x; }
        }
        f.truncate(cut);
        let _ = pcap::read_pcap(&f[..]);
    }
}
