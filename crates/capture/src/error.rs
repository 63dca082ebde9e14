//! The one error type of this crate.
//!
//! Every variant about bytes says where: `offset` is counted from the start of the datagram (for
//! [`crate::ip`]) or of the pcap file (for [`crate::pcap`]).

use std::io;

/// Why captured bytes could not be read.
///
/// The bytes are at fault in every variant except [`CaptureError::Io`], where the reader is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The input ended before a field that was required.
    #[error("truncated at byte {offset}: {what} needs {needed} bytes, {available} available")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// The field or structure being read.
        what: &'static str,
        /// Bytes the field needs from `offset`.
        needed: usize,
        /// Bytes there were from `offset`.
        available: usize,
    },
    /// The IP version nibble is not 4.
    #[error("byte {offset}: IP version {version}, expected 4")]
    NotIpv4 {
        /// Offset of the version field (0).
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The IPv4 header length (IHL) is below 5 words or runs past the datagram.
    #[error(
        "byte {offset}: IPv4 header length {ihl} words is invalid for a {total}-byte datagram"
    )]
    BadHeaderLength {
        /// Offset of the IHL field (0).
        offset: usize,
        /// IHL in 32-bit words.
        ihl: u8,
        /// The datagram's length.
        total: usize,
    },
    /// The IPv4 total length does not equal the number of bytes captured.
    #[error("byte {offset}: IPv4 total length {declared}, but {captured} bytes were captured")]
    BadTotalLength {
        /// Offset of the total-length field (2).
        offset: usize,
        /// The total length the header declares.
        declared: usize,
        /// The bytes actually captured.
        captured: usize,
    },
    /// The datagram is a fragment (MF set or non-zero fragment offset); only whole datagrams are
    /// parsed.
    #[error("byte {offset}: IPv4 fragment (flags/offset field {field:#06x}); not reassembled")]
    Fragment {
        /// Offset of the flags/fragment-offset field (6).
        offset: usize,
        /// The raw 16-bit field.
        field: u16,
    },
    /// The IPv4 protocol is not UDP (17).
    #[error("byte {offset}: IP protocol {protocol}, expected 17 (UDP)")]
    NotUdp {
        /// Offset of the protocol field (9).
        offset: usize,
        /// The protocol number found.
        protocol: u8,
    },
    /// The UDP length field disagrees with the IPv4 payload length.
    #[error("byte {offset}: UDP length {declared}, but the IPv4 payload is {available} bytes")]
    BadUdpLength {
        /// Offset of the UDP length field.
        offset: usize,
        /// The UDP length declared (header included).
        declared: usize,
        /// The bytes of IPv4 payload.
        available: usize,
    },
    /// A datagram to build would exceed the 65,535 bytes IPv4 allows.
    #[error("a {payload}-byte UDP payload exceeds the IPv4 maximum of {max} bytes")]
    TooLarge {
        /// Bytes of payload asked for.
        payload: usize,
        /// The largest payload that fits.
        max: usize,
    },
    /// The pcap file does not start with a known pcap magic number.
    #[error("byte {offset}: not a pcap file (magic {magic:#010x})")]
    BadPcapMagic {
        /// Offset of the magic number (0).
        offset: usize,
        /// The first four bytes, read big-endian.
        magic: u32,
    },
    /// The pcap file has a version other than 2.x.
    #[error("byte {offset}: pcap version {major}.{minor}, expected 2.4")]
    UnsupportedPcapVersion {
        /// Offset of the version fields (4).
        offset: usize,
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The pcap link type is not 228 (`LINKTYPE_IPV4`).
    #[error("byte {offset}: pcap link type {linktype}, expected 228 (LINKTYPE_IPV4)")]
    UnsupportedLinkType {
        /// Offset of the link-type field (20).
        offset: usize,
        /// The link type found.
        linktype: u32,
    },
    /// A pcap record holds fewer bytes than the packet had: the capture was truncated by its
    /// snap length, so the datagram cannot be analysed.
    #[error("byte {offset}: pcap record captured {captured} of {original} bytes")]
    TruncatedRecord {
        /// Offset of the record header.
        offset: usize,
        /// Bytes stored (`incl_len`).
        captured: u32,
        /// Bytes on the wire (`orig_len`).
        original: u32,
    },
    /// A pcap record's time is before the fixed epoch that virtual time is written against, or its
    /// sub-second field is out of range.
    #[error("byte {offset}: pcap timestamp {seconds}.{fraction} is not a virtual time")]
    BadTimestamp {
        /// Offset of the record header.
        offset: usize,
        /// Seconds field.
        seconds: u32,
        /// Microseconds or nanoseconds field.
        fraction: u32,
    },
    /// Reading the input failed.
    #[error("reading the capture failed")]
    Io(#[from] io::Error),
}
