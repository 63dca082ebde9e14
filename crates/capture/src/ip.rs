//! A small, strict IPv4 + UDP parser, and the matching builder.
//!
//! [`parse_udp`] accepts exactly what the simulator emits: one whole, unfragmented IPv4 datagram
//! (options allowed) whose total length equals the bytes captured, carrying UDP whose length field
//! equals the IPv4 payload length. Anything else is a [`CaptureError`] naming the byte offset;
//! it never panics. Checksums are not verified: a tap records what crossed the wire, corrupted or
//! not, and the layers above (`proto::wire`) reject what does not parse.
//!
//! [`build_udp`] writes such a datagram (TTL 64, DF set, both checksums filled in); tests and
//! tools use it, the simulator has its own.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::CaptureError;

/// Bytes of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Bytes of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// The largest UDP payload that fits in an option-less IPv4 datagram.
pub const MAX_UDP_PAYLOAD: usize = 65_535 - IPV4_HEADER_LEN - UDP_HEADER_LEN;

/// A parsed UDP datagram, borrowing its payload from the captured bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpView<'a> {
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// The UDP payload.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    // Callers have checked `b.len() >= at + 2`.
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

/// Parses `bytes` as one IPv4 datagram carrying UDP.
///
/// # Errors
/// A [`CaptureError`] naming the first field that is wrong and its byte offset.
pub fn parse_udp(bytes: &[u8]) -> Result<UdpView<'_>, CaptureError> {
    if bytes.len() < IPV4_HEADER_LEN {
        return Err(CaptureError::Truncated {
            offset: 0,
            what: "IPv4 header",
            needed: IPV4_HEADER_LEN,
            available: bytes.len(),
        });
    }
    let version = bytes[0] >> 4;
    if version != 4 {
        return Err(CaptureError::NotIpv4 { offset: 0, version });
    }
    let total = usize::from(be16(bytes, 2));
    if total != bytes.len() {
        return Err(CaptureError::BadTotalLength {
            offset: 2,
            declared: total,
            captured: bytes.len(),
        });
    }
    let ihl = bytes[0] & 0x0f;
    let header_len = usize::from(ihl) * 4;
    if ihl < 5 || header_len > total {
        return Err(CaptureError::BadHeaderLength {
            offset: 0,
            ihl,
            total,
        });
    }
    let frag = be16(bytes, 6);
    // MF flag (0x2000) or a non-zero fragment offset (low 13 bits).
    if frag & 0x3fff != 0 {
        return Err(CaptureError::Fragment {
            offset: 6,
            field: frag,
        });
    }
    let protocol = bytes[9];
    if protocol != PROTO_UDP {
        return Err(CaptureError::NotUdp {
            offset: 9,
            protocol,
        });
    }
    let udp = &bytes[header_len..];
    if udp.len() < UDP_HEADER_LEN {
        return Err(CaptureError::Truncated {
            offset: header_len,
            what: "UDP header",
            needed: UDP_HEADER_LEN,
            available: udp.len(),
        });
    }
    let udp_len = usize::from(be16(udp, 4));
    if udp_len != udp.len() {
        return Err(CaptureError::BadUdpLength {
            offset: header_len + 4,
            declared: udp_len,
            available: udp.len(),
        });
    }
    Ok(UdpView {
        src: SocketAddrV4::new(addr(bytes, 12), be16(udp, 0)),
        dst: SocketAddrV4::new(addr(bytes, 16), be16(udp, 2)),
        payload: &udp[UDP_HEADER_LEN..],
    })
}

/// Whether `bytes` is an IPv4 datagram carrying UDP whose IPv4 header checksum and UDP checksum
/// both verify, as a receiving host stack checks them. A UDP checksum of 0 ("none") fails: every
/// host of the simulation sends one. Anything [`parse_udp`] rejects fails too.
pub fn checksums_ok(bytes: &[u8]) -> bool {
    if parse_udp(bytes).is_err() {
        return false;
    }
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    if internet_checksum(&[&bytes[..header_len]]) != 0 {
        return false;
    }
    let udp = &bytes[header_len..];
    be16(udp, 6) != 0 && internet_checksum(&[&udp_pseudo_header(bytes, udp.len()), udp]) == 0
}

/// Fills in both checksums of a datagram [`parse_udp`] accepts (as a sending host would), and
/// says whether it did. For tools and fuzzing harnesses that edit captured bytes.
pub fn fill_checksums(bytes: &mut [u8]) -> bool {
    if parse_udp(bytes).is_err() {
        return false;
    }
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    bytes[10..12].fill(0);
    let ip_sum = internet_checksum(&[&bytes[..header_len]]);
    bytes[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    bytes[header_len + 6..header_len + 8].fill(0);
    let pseudo = udp_pseudo_header(bytes, bytes.len() - header_len);
    let udp_sum = match internet_checksum(&[&pseudo, &bytes[header_len..]]) {
        // 0 means "no checksum" in UDP; its one's-complement twin is sent instead.
        0 => 0xffff,
        s => s,
    };
    bytes[header_len + 6..header_len + 8].copy_from_slice(&udp_sum.to_be_bytes());
    true
}

/// The UDP pseudo-header of the IPv4 datagram `bytes` (addresses at offsets 12..20) for a UDP
/// part of `udp_len` bytes (which [`parse_udp`] has bounded by the 16-bit total length).
fn udp_pseudo_header(bytes: &[u8], udp_len: usize) -> [u8; 12] {
    let mut pseudo = [0u8; 12];
    pseudo[0..8].copy_from_slice(&bytes[12..20]);
    pseudo[9] = PROTO_UDP;
    pseudo[10..12].copy_from_slice(&(udp_len as u16).to_be_bytes());
    pseudo
}

/// The Internet checksum (RFC 1071) of `chunks` concatenated, each chunk of even length except
/// possibly the last.
fn internet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in chunks {
        let mut pairs = chunk.chunks_exact(2);
        for p in &mut pairs {
            sum += u32::from(u16::from_be_bytes([p[0], p[1]]));
        }
        if let [last] = pairs.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an IPv4 datagram (no options, TTL 64, DF, id 0) carrying `payload` over UDP from `src`
/// to `dst`, with valid IPv4 and UDP checksums.
///
/// # Errors
/// [`CaptureError::TooLarge`] if `payload` exceeds [`MAX_UDP_PAYLOAD`].
pub fn build_udp(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Result<Vec<u8>, CaptureError> {
    let too_large = || CaptureError::TooLarge {
        payload: payload.len(),
        max: MAX_UDP_PAYLOAD,
    };
    if payload.len() > MAX_UDP_PAYLOAD {
        return Err(too_large());
    }
    let udp_len = u16::try_from(UDP_HEADER_LEN + payload.len()).map_err(|_| too_large())?;
    let total =
        u16::try_from(IPV4_HEADER_LEN + UDP_HEADER_LEN + payload.len()).map_err(|_| too_large())?;
    let mut out = Vec::with_capacity(usize::from(total));
    out.extend_from_slice(&[0x45, 0x00]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0x00, 0x00, 0x40, 0x00, 64, PROTO_UDP, 0x00, 0x00]);
    out.extend_from_slice(&src.ip().octets());
    out.extend_from_slice(&dst.ip().octets());
    let ip_sum = internet_checksum(&[&out[..IPV4_HEADER_LEN]]);
    out[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    let mut udp_header = [0u8; UDP_HEADER_LEN];
    udp_header[0..2].copy_from_slice(&src.port().to_be_bytes());
    udp_header[2..4].copy_from_slice(&dst.port().to_be_bytes());
    udp_header[4..6].copy_from_slice(&udp_len.to_be_bytes());
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.ip().octets());
    pseudo[4..8].copy_from_slice(&dst.ip().octets());
    pseudo[9] = PROTO_UDP;
    pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
    let udp_sum = match internet_checksum(&[&pseudo, &udp_header, payload]) {
        0 => 0xffff, // RFC 768: a computed zero is sent as all ones.
        s => s,
    };
    udp_header[6..8].copy_from_slice(&udp_sum.to_be_bytes());
    out.extend_from_slice(&udp_header);
    out.extend_from_slice(payload);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(a: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(a), port)
    }

    #[test]
    fn built_datagram_has_the_expected_bytes_and_parses_back() {
        let bytes = build_udp(sa([10, 0, 0, 1], 47000), sa([10, 0, 0, 2], 47001), b"hi")
            .expect("small payload");
        assert_eq!(bytes.len(), 30);
        assert_eq!(&bytes[..4], &[0x45, 0x00, 0x00, 30]);
        assert_eq!(bytes[9], 17);
        // A valid header checksums to zero.
        assert_eq!(internet_checksum(&[&bytes[..20]]), 0);
        assert_eq!(&bytes[20..26], &[0xb7, 0x98, 0xb7, 0x99, 0x00, 10]);
        let v = parse_udp(&bytes).expect("parses");
        assert_eq!(v.src, sa([10, 0, 0, 1], 47000));
        assert_eq!(v.dst, sa([10, 0, 0, 2], 47001));
        assert_eq!(v.payload, b"hi");
    }

    #[test]
    fn checksums_verify_and_any_flipped_bit_fails_them() {
        let src = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 4000);
        let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001);
        let bytes = build_udp(src, dst, b"hello, checksum").expect("fits");
        assert!(checksums_ok(&bytes));
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(!checksums_ok(&b), "bit {i} flipped and still verified");
        }
    }

    #[test]
    fn filling_checksums_gives_what_a_sending_host_writes() {
        let src = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 4000);
        let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 4001);
        let good = build_udp(src, dst, b"fill me in").expect("fits");
        let mut edited = good.clone();
        edited[10..12].fill(0xaa);
        edited[26..28].fill(0x55);
        assert!(!checksums_ok(&edited));
        assert!(fill_checksums(&mut edited));
        assert_eq!(edited, good);
        assert!(!fill_checksums(&mut [0xde, 0xad]));
    }

    #[test]
    fn rfc1071_example_checksum() {
        // RFC 1071 section 3 example: sum of these words is 0xddf2, checksum its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
    }

    #[test]
    fn each_malformation_is_reported_at_its_field() {
        let good =
            build_udp(sa([1, 2, 3, 4], 1), sa([5, 6, 7, 8], 2), b"payload").expect("small payload");
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            parse_udp(&b).expect_err("malformed")
        };
        assert!(matches!(
            parse_udp(&good[..10]),
            Err(CaptureError::Truncated { offset: 0, .. })
        ));
        assert!(matches!(
            mutate(&|b| b[0] = 0x65),
            CaptureError::NotIpv4 { version: 6, .. }
        ));
        assert!(matches!(
            mutate(&|b| b[0] = 0x44),
            CaptureError::BadHeaderLength { ihl: 4, .. }
        ));
        assert!(matches!(
            mutate(&|b| b[0] = 0x4f),
            CaptureError::BadHeaderLength { ihl: 15, .. }
        ));
        assert!(matches!(
            mutate(&|b| b.push(0)),
            CaptureError::BadTotalLength {
                offset: 2,
                declared: 35,
                captured: 36
            }
        ));
        assert!(matches!(
            mutate(&|b| b[6] = 0x20),
            CaptureError::Fragment { offset: 6, .. }
        ));
        assert!(matches!(
            mutate(&|b| b[9] = 6),
            CaptureError::NotUdp {
                offset: 9,
                protocol: 6
            }
        ));
        assert!(matches!(
            mutate(&|b| b[25] = 9),
            CaptureError::BadUdpLength {
                offset: 24,
                declared: 9,
                available: 15
            }
        ));
    }

    #[test]
    fn options_are_skipped() {
        let mut b = build_udp(sa([1, 1, 1, 1], 7), sa([2, 2, 2, 2], 8), b"x").expect("small");
        // Insert one 4-byte option word (NOPs) and fix IHL and total length.
        b.splice(20..20, [1, 1, 1, 1]);
        b[0] = 0x46;
        let total = u16::try_from(b.len()).expect("small").to_be_bytes();
        b[2..4].copy_from_slice(&total);
        let v = parse_udp(&b).expect("parses with options");
        assert_eq!(v.payload, b"x");
        assert_eq!(v.dst.port(), 8);
    }

    #[test]
    fn oversized_payload_is_refused() {
        let big = vec![0u8; MAX_UDP_PAYLOAD + 1];
        assert!(matches!(
            build_udp(sa([1, 1, 1, 1], 1), sa([1, 1, 1, 1], 1), &big),
            Err(CaptureError::TooLarge { .. })
        ));
        let max = vec![0u8; MAX_UDP_PAYLOAD];
        let b = build_udp(sa([1, 1, 1, 1], 1), sa([1, 1, 1, 1], 1), &max).expect("fits");
        assert_eq!(b.len(), 65_535);
        assert_eq!(
            parse_udp(&b).expect("parses").payload.len(),
            MAX_UDP_PAYLOAD
        );
    }
}
