//! The pcap reader (`capture::pcap::parse_pcap` and `read_pcap`) and the IPv4/UDP parser
//! (`capture::ip::parse_udp`, `checksums_ok`) on arbitrary bytes. Nothing panics; the two
//! readers agree; a file that reads writes back (`write_pcap`) and reads again to the same
//! packets; every packet that parses as UDP rebuilds (`build_udp`) into a datagram with the
//! same addresses and payload whose checksums verify.
#![no_main]

use capture::pcap;
use capture::{ip, CapturedPacket};
use libfuzzer_sys::fuzz_target;

fn udp(bytes: &[u8]) {
    let ok = ip::checksums_ok(bytes);
    match ip::parse_udp(bytes) {
        Ok(view) => {
            let rebuilt = match ip::build_udp(view.src, view.dst, view.payload) {
                Ok(b) => b,
                // Options leave less room for the payload than build_udp's plain header.
                Err(_) => return,
            };
            let again = ip::parse_udp(&rebuilt).expect("build_udp's datagram parses");
            assert_eq!(
                (again.src, again.dst, again.payload),
                (view.src, view.dst, view.payload)
            );
            assert!(
                ip::checksums_ok(&rebuilt),
                "build_udp's checksums do not verify"
            );
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(!ok, "checksums_ok accepted what parse_udp refuses");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    udp(data);
    let parsed = pcap::parse_pcap(data);
    let read = pcap::read_pcap(data);
    match (&parsed, &read) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "parse_pcap and read_pcap disagree"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("parse_pcap and read_pcap disagree"),
    }
    let Ok(packets) = parsed else {
        return;
    };
    for p in &packets {
        udp(&p.bytes);
    }
    let mut out = Vec::new();
    if pcap::write_pcap(&mut out, packets.iter().map(CapturedPacket::as_ref)).is_ok() {
        match pcap::parse_pcap(&out) {
            Ok(again) => assert_eq!(again, packets, "write then read changed the packets"),
            Err(e) => panic!("a written pcap does not read: {e}"),
        }
    }
});
