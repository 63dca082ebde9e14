//! IPv4/UDP datagrams as real bytes: building with correct checksums, parsing with
//! offset-precise errors, and accessors that never panic even on corrupted bytes.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::error::NetError;
use crate::pool;

/// Length of the IPv4 header this crate emits (IHL 5, no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// The largest UDP payload that fits in one IPv4 datagram with a 20-byte header.
pub const MAX_UDP_PAYLOAD: usize = u16::MAX as usize - IPV4_HEADER_LEN - UDP_HEADER_LEN;

const PROTO_UDP: u8 = 17;
const TTL: u8 = 64;
const FLAG_DF: u16 = 0x4000;

/// One IPv4 datagram carrying UDP, held as its full wire bytes.
///
/// A `Packet` made by [`Packet::udp`] or accepted by [`Packet::from_bytes`] is well formed. On
/// the wire a link may flip a bit ([`LinkParams::corrupt`](crate::LinkParams::corrupt)), after
/// which the header fields may be nonsense; every accessor still returns *something* without
/// panicking (lengths are clamped to the bytes present), and [`Packet::checksums_ok`] tells
/// whether the datagram is intact. The length of the bytes never changes in flight and is
/// always at least 28.
///
/// A packet built by [`Packet::udp`] remembers that its checksums are correct until a bit of
/// it is flipped in flight, so [`Packet::checksums_ok`] answers it without summing the bytes
/// again at the destination (the answer is the same: the bytes are the ones it summed). Packets
/// from [`Packet::from_bytes`] are always summed. Equality and hashing are on the bytes alone.
///
/// The bytes live at the start of a buffer from the thread's pool (the `pool` module), which
/// takes the buffer back when the packet is dropped.
pub struct Packet {
    /// `buf[..len]` are the datagram's bytes; the rest is unused.
    buf: Box<[u8]>,
    len: u32,
    /// The bytes are exactly as [`Packet::udp_with_id`] built them, checksums included.
    intact: bool,
}

impl Drop for Packet {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.buf));
    }
}

impl Clone for Packet {
    fn clone(&self) -> Self {
        let mut buf = pool::take(self.len());
        buf[..self.len()].copy_from_slice(self.bytes());
        Packet {
            buf,
            len: self.len,
            intact: self.intact,
        }
    }
}

impl PartialEq for Packet {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Packet {}

impl std::hash::Hash for Packet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl Packet {
    /// A UDP datagram from `src` to `dst` with IP identification 0.
    ///
    /// The IPv4 header has IHL 5, TTL 64, protocol 17, DF set and a correct header checksum;
    /// the UDP header has a correct checksum over the pseudo-header (never 0, which would mean
    /// "no checksum").
    pub fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Result<Packet, NetError> {
        Packet::udp_with_id(src, dst, payload, 0)
    }

    /// Like [`Packet::udp`], with the given IPv4 identification field (a host's counter).
    pub fn udp_with_id(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
        id: u16,
    ) -> Result<Packet, NetError> {
        if payload.len() > MAX_UDP_PAYLOAD {
            return Err(NetError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_UDP_PAYLOAD,
            });
        }
        let udp_len = UDP_HEADER_LEN + payload.len();
        let total = IPV4_HEADER_LEN + udp_len;
        // Both headers in one array, then the payload: one copy of each into the buffer.
        let mut h = [0u8; IPV4_HEADER_LEN + UDP_HEADER_LEN];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        h[6..8].copy_from_slice(&FLAG_DF.to_be_bytes());
        h[8] = TTL;
        h[9] = PROTO_UDP;
        h[12..16].copy_from_slice(&src.ip().octets());
        h[16..20].copy_from_slice(&dst.ip().octets());
        let hc = ipv4_header_checksum(&h[..IPV4_HEADER_LEN]);
        h[10..12].copy_from_slice(&hc.to_be_bytes());
        h[20..22].copy_from_slice(&src.port().to_be_bytes());
        h[22..24].copy_from_slice(&dst.port().to_be_bytes());
        h[24..26].copy_from_slice(&(udp_len as u16).to_be_bytes());
        let mut buf = pool::take(total);
        let b = &mut buf[..total];
        b[..h.len()].copy_from_slice(&h);
        b[h.len()..].copy_from_slice(payload);
        let uc = udp_checksum(*src.ip(), *dst.ip(), &b[IPV4_HEADER_LEN..]);
        b[IPV4_HEADER_LEN + 6..IPV4_HEADER_LEN + 8].copy_from_slice(&uc.to_be_bytes());
        Ok(Packet {
            buf,
            len: total as u32,
            intact: true,
        })
    }

    /// Parses and validates a datagram: version 4, IHL ≥ 5, total length equal to the bytes
    /// given, not a fragment, protocol UDP, UDP length consistent. Checksums are *not* checked
    /// here (see [`Packet::checksums_ok`]), so a tampered datagram can still be represented.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Packet, NetError> {
        let len = bytes.len();
        if len < IPV4_HEADER_LEN {
            return Err(NetError::TooShort {
                len,
                need: IPV4_HEADER_LEN,
                offset: 0,
            });
        }
        let version = bytes[0] >> 4;
        if version != 4 {
            return Err(NetError::BadVersion { version });
        }
        let ihl = bytes[0] & 0x0f;
        if ihl < 5 {
            return Err(NetError::BadHeaderLength { ihl });
        }
        let hlen = usize::from(ihl) * 4;
        if len < hlen {
            return Err(NetError::TooShort {
                len,
                need: hlen,
                offset: 0,
            });
        }
        let declared = usize::from(be16(&bytes, 2));
        if declared != len {
            return Err(NetError::BadTotalLength {
                declared,
                actual: len,
            });
        }
        let frag = be16(&bytes, 6);
        if frag & 0x3fff != 0 {
            return Err(NetError::Fragmented { field: frag });
        }
        if bytes[9] != PROTO_UDP {
            return Err(NetError::NotUdp { protocol: bytes[9] });
        }
        if len < hlen + UDP_HEADER_LEN {
            return Err(NetError::TooShort {
                len,
                need: hlen + UDP_HEADER_LEN,
                offset: hlen,
            });
        }
        let udp_declared = usize::from(be16(&bytes, hlen + 4));
        if udp_declared != len - hlen {
            return Err(NetError::BadUdpLength {
                declared: udp_declared,
                actual: len - hlen,
                offset: hlen + 4,
            });
        }
        Ok(Packet {
            len: len as u32,
            buf: bytes.into_boxed_slice(),
            intact: false,
        })
    }

    /// The full datagram, IPv4 header first.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The full datagram, by value.
    pub fn into_bytes(mut self) -> Vec<u8> {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.truncate(self.len as usize);
        v
    }

    /// Length of the datagram in bytes (what a link serialises).
    #[allow(clippy::len_without_is_empty)] // a datagram is never empty
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Source address and port.
    pub fn src(&self) -> SocketAddrV4 {
        let b = self.bytes();
        SocketAddrV4::new(ip_at(b, 12), be16(b, header_len(b)))
    }

    /// Destination address and port.
    pub fn dst(&self) -> SocketAddrV4 {
        let b = self.bytes();
        SocketAddrV4::new(ip_at(b, 16), be16(b, header_len(b) + 2))
    }

    /// The IPv4 identification field.
    pub fn ip_id(&self) -> u16 {
        be16(self.bytes(), 4)
    }

    /// The UDP payload (clamped to the bytes present if a length field was corrupted).
    pub fn udp_payload(&self) -> &[u8] {
        let b = self.bytes();
        let h = header_len(b);
        let start = h + UDP_HEADER_LEN;
        let udp_len = usize::from(be16(b, h + 4)).max(UDP_HEADER_LEN);
        let end = (h + udp_len).min(b.len());
        &b[start..end]
    }

    /// Whether the IPv4 header checksum and the UDP checksum both verify, as a receiving host
    /// stack would check. A UDP checksum of 0 ("none") is rejected: this stack always sends one.
    pub fn checksums_ok(&self) -> bool {
        if self.intact {
            debug_assert!(self.sums_verify(), "an intact packet's checksums verify");
            return true;
        }
        self.sums_verify()
    }

    /// Whether the bytes are known to be as built, so [`Packet::checksums_ok`] need not sum.
    #[cfg(test)]
    pub(crate) fn known_intact(&self) -> bool {
        self.intact
    }

    /// [`Packet::checksums_ok`] by summing the bytes.
    fn sums_verify(&self) -> bool {
        let b = self.bytes();
        let h = header_len(b);
        if ones_complement_sum(&b[..h], 0) != 0xffff {
            return false;
        }
        if be16(b, h + 6) == 0 {
            return false;
        }
        let udp = &b[h..];
        let udp_len = usize::from(be16(b, h + 4));
        if udp_len != udp.len() {
            return false;
        }
        let pseudo = pseudo_header_sum(ip_at(b, 12), ip_at(b, 16), udp_len);
        ones_complement_sum(udp, pseudo) == 0xffff
    }

    /// Flips bit `bit` (counted from the first byte's most significant bit), modulo the length.
    pub(crate) fn flip_bit(&mut self, bit: u64) {
        let nbits = u64::from(self.len) * 8;
        if nbits == 0 {
            return;
        }
        let bit = bit % nbits;
        self.buf[(bit / 8) as usize] ^= 0x80 >> (bit % 8);
        self.intact = false;
    }

    /// The destination address as a number, what forwarding looks up.
    pub(crate) fn dst_addr(&self) -> u32 {
        let b = self.bytes();
        u32::from_be_bytes([b[16], b[17], b[18], b[19]])
    }
}

/// The IPv4 header length of a datagram's bytes (at least 28 of them), clamped so that a UDP
/// header always fits after it.
fn header_len(b: &[u8]) -> usize {
    let ihl = usize::from(b[0] & 0x0f) * 4;
    ihl.clamp(IPV4_HEADER_LEN, b.len() - UDP_HEADER_LEN)
}

fn ip_at(b: &[u8], off: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[off], b[off + 1], b[off + 2], b[off + 3])
}

fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// The 16-bit ones' complement sum of `data` (RFC 1071; an odd last byte is padded with a zero
/// byte) plus `initial`, in [0, 0xffff] (0 only when everything summed is 0).
///
/// Eight bytes at a time, read as little-endian 64-bit words and added into a 128-bit
/// accumulator (an add and an add-with-carry each), folded at the end and byte-swapped back:
/// RFC 1071 § 2 (A) and (B), the sum is independent of byte order up to a swap of the result,
/// and 2^16, 2^32 and 2^64 are all 1 modulo 0xffff. Neither way reaches 0 from anything
/// nonzero, so the representation (0xffff, never 0, for a nonzero sum of residue 0) is the
/// word-by-word one; a property test checks it against the word-by-word sum. The per-packet
/// checksums were a quarter of netsim's time on the peer workload when summed a word at a time.
fn ones_complement_sum(data: &[u8], initial: u32) -> u16 {
    let mut acc: u128 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc += u128::from(w);
    }
    let mut tail = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(b) << (8 * i);
    }
    acc += u128::from(tail);
    // 128 -> 64 bits with the end-around carry, then down to 16 bits.
    let (lo, carry) = (acc as u64).overflowing_add((acc >> 64) as u64);
    let mut sum = lo + u64::from(carry);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut sum = u64::from((sum as u16).swap_bytes()) + u64::from(initial);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: usize) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    let words = [
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(PROTO_UDP),
        udp_len as u16,
    ];
    words.iter().map(|&w| u32::from(w)).sum()
}

fn ipv4_header_checksum(header: &[u8]) -> u16 {
    !ones_complement_sum(header, 0)
}

fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let c = !ones_complement_sum(udp, pseudo_header_sum(src, dst, udp.len()));
    if c == 0 {
        0xffff
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    /// The ones' complement sum word by word, as RFC 1071 defines it.
    fn sum_by_words(data: &[u8], initial: u32) -> u16 {
        let mut sum = u64::from(initial);
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(*last) << 8;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    proptest::proptest! {
        #[test]
        fn the_eight_byte_sum_is_the_word_sum(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            initial in 0u32..0x4_0000,
        ) {
            proptest::prop_assert_eq!(
                super::ones_complement_sum(&data, initial),
                sum_by_words(&data, initial)
            );
        }
    }

    #[test]
    fn sums_of_all_ones_and_all_zeros_keep_their_representation() {
        for len in 0..40 {
            let ones = vec![0xffu8; len];
            let zeros = vec![0u8; len];
            assert_eq!(
                super::ones_complement_sum(&ones, 0),
                sum_by_words(&ones, 0),
                "{len}"
            );
            assert_eq!(super::ones_complement_sum(&zeros, 0), 0, "{len}");
        }
    }

    use super::*;

    fn sa(a: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(a), port)
    }

    #[test]
    fn header_fields_are_what_a_host_would_send() {
        let p = Packet::udp_with_id(sa([10, 0, 0, 1], 5000), sa([10, 0, 0, 2], 53), b"hi", 7)
            .expect("small payload");
        let b = p.bytes();
        assert_eq!(b.len(), 30);
        assert_eq!(b[0], 0x45);
        assert_eq!(&b[2..4], &30u16.to_be_bytes());
        assert_eq!(&b[4..6], &7u16.to_be_bytes());
        assert_eq!(&b[6..8], &[0x40, 0]);
        assert_eq!(b[8], 64);
        assert_eq!(b[9], 17);
        assert_eq!(&b[20..22], &5000u16.to_be_bytes());
        assert_eq!(&b[22..24], &53u16.to_be_bytes());
        assert_eq!(&b[24..26], &10u16.to_be_bytes());
        assert_eq!(p.udp_payload(), b"hi");
        assert!(p.checksums_ok());
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let p = Packet::udp(sa([192, 168, 1, 9], 1), sa([8, 8, 8, 8], 2), b"odd").expect("ok");
        for bit in 0..(p.len() as u64 * 8) {
            let mut q = p.clone();
            q.flip_bit(bit);
            assert!(!q.checksums_ok(), "flip of bit {bit} went unnoticed");
            // Accessors never panic on corrupted bytes.
            let _ = (q.src(), q.dst(), q.udp_payload().len());
        }
    }

    #[test]
    fn only_a_packet_as_built_skips_the_sums() {
        let p = Packet::udp(sa([10, 0, 0, 1], 5000), sa([10, 0, 0, 2], 53), b"hi").expect("ok");
        assert!(p.known_intact());
        assert!(p.checksums_ok());
        // The same bytes parsed are summed, verify, and equal the built packet.
        let parsed = Packet::from_bytes(p.clone().into_bytes()).expect("well formed");
        assert!(!parsed.known_intact());
        assert!(parsed.checksums_ok());
        assert_eq!(parsed, p);
        assert_eq!(format!("{parsed:?}"), format!("{p:?}"));
        // A flipped bit forgets it, even when a second flip restores the bytes.
        let mut q = p.clone();
        q.flip_bit(7);
        assert!(!q.known_intact());
        assert!(!q.checksums_ok());
        q.flip_bit(7);
        assert!(!q.known_intact());
        assert!(q.checksums_ok());
    }

    #[test]
    fn oversized_payload_is_refused() {
        let big = vec![0u8; MAX_UDP_PAYLOAD + 1];
        let err = Packet::udp(sa([1, 1, 1, 1], 1), sa([2, 2, 2, 2], 2), &big).unwrap_err();
        assert!(matches!(err, NetError::PayloadTooLarge { .. }));
        let max = vec![0u8; MAX_UDP_PAYLOAD];
        let p = Packet::udp(sa([1, 1, 1, 1], 1), sa([2, 2, 2, 2], 2), &max).expect("fits");
        assert_eq!(p.len(), 65535);
        assert!(p.checksums_ok());
    }

    #[test]
    fn parse_errors_name_the_field() {
        let p = Packet::udp(sa([1, 2, 3, 4], 1), sa([5, 6, 7, 8], 2), b"x").expect("ok");
        let mut b = p.clone().into_bytes();
        b[9] = 6;
        assert_eq!(Packet::from_bytes(b), Err(NetError::NotUdp { protocol: 6 }));
        let mut b = p.clone().into_bytes();
        b.push(0);
        assert!(matches!(
            Packet::from_bytes(b),
            Err(NetError::BadTotalLength {
                declared: 29,
                actual: 30
            })
        ));
        let mut b = p.clone().into_bytes();
        b[0] = 0x65;
        assert_eq!(
            Packet::from_bytes(b),
            Err(NetError::BadVersion { version: 6 })
        );
        let mut b = p.clone().into_bytes();
        b[25] = 10;
        assert!(matches!(
            Packet::from_bytes(b),
            Err(NetError::BadUdpLength { offset: 24, .. })
        ));
        let mut b = p.into_bytes();
        b[6] = 0x20; // MF
        assert!(matches!(
            Packet::from_bytes(b),
            Err(NetError::Fragmented { .. })
        ));
    }
}
