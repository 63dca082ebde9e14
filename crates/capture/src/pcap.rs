//! Classic pcap export and import, so captures open in Wireshark and tcpdump.
//!
//! [`write_pcap`] writes the nanosecond-resolution variant (magic `0xa1b23c4d`), little-endian,
//! version 2.4, snap length 65535, link type 228 (`LINKTYPE_IPV4`: each record is a bare IPv4
//! datagram). Record times are a fixed epoch, [`EPOCH_UNIX_SECS`] (2024-10-01T00:00:00Z), plus
//! the packet's virtual time, so the same capture always yields the same bytes.
//!
//! [`read_pcap`] reads such files back, and also the microsecond variant and big-endian files of
//! either, as long as the link type is 228. Errors name the byte offset in the file.

use std::io::{self, Read, Write};

use crate::{CaptureError, CapturedPacket, PacketRef, Timestamp};

/// The Unix time that virtual time zero is written as: 2024-10-01T00:00:00Z.
pub const EPOCH_UNIX_SECS: u32 = 1_727_740_800;
/// Magic number of nanosecond-resolution pcap.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Magic number of microsecond-resolution pcap.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// `LINKTYPE_IPV4`: records are raw IPv4 datagrams.
pub const LINKTYPE_IPV4: u32 = 228;
/// The snap length written: no IPv4 datagram is longer.
pub const SNAPLEN: u32 = 65_535;
/// Bytes of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Bytes of each record header.
pub const RECORD_HEADER_LEN: usize = 16;

const NANOS_PER_SEC: u64 = 1_000_000_000;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Writes `packets` as a nanosecond pcap file to `w`: a capture's [`crate::PacketLog`]
/// (`&capture.packets`), or owned packets through [`CapturedPacket::as_ref`].
///
/// # Errors
/// Any error of `w`; `InvalidInput` for a packet longer than 65535 bytes or a time past the
/// year 2106 (where the 32-bit seconds field ends).
pub fn write_pcap<'a, W, I>(mut w: W, packets: I) -> io::Result<()>
where
    W: Write,
    I: IntoIterator<Item = PacketRef<'a>>,
{
    let mut header = Vec::with_capacity(FILE_HEADER_LEN);
    header.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&0i32.to_le_bytes()); // thiszone: UTC
    header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    header.extend_from_slice(&SNAPLEN.to_le_bytes());
    header.extend_from_slice(&LINKTYPE_IPV4.to_le_bytes());
    w.write_all(&header)?;

    for (i, p) in packets.into_iter().enumerate() {
        let nanos = p.time.saturating_duration_since(Timestamp::ZERO).as_nanos();
        let secs = u64::try_from(nanos / u128::from(NANOS_PER_SEC))
            .ok()
            .and_then(|s| s.checked_add(u64::from(EPOCH_UNIX_SECS)))
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| invalid(format!("packet {i}: time {nanos} ns does not fit pcap")))?;
        let frac = (nanos % u128::from(NANOS_PER_SEC)) as u32;
        let len = u32::try_from(p.bytes.len())
            .ok()
            .filter(|&l| l <= SNAPLEN)
            .ok_or_else(|| {
                invalid(format!(
                    "packet {i}: {} bytes exceeds snaplen",
                    p.bytes.len()
                ))
            })?;
        let mut rec = [0u8; RECORD_HEADER_LEN];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&frac.to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        w.write_all(&rec)?;
        w.write_all(p.bytes)?;
    }
    w.flush()
}

/// Reads a pcap file of raw IPv4 records from `r`.
///
/// # Errors
/// [`CaptureError::Io`] if reading fails; otherwise the first malformation, at its byte offset.
pub fn read_pcap<R: Read>(mut r: R) -> Result<Vec<CapturedPacket>, CaptureError> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    parse_pcap(&bytes)
}

/// Byte order of a pcap file.
#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        }
    }
    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        }
    }
}

/// Takes `N` bytes at `at`, or reports what was being read.
fn take<const N: usize>(
    bytes: &[u8],
    at: usize,
    what: &'static str,
) -> Result<[u8; N], CaptureError> {
    bytes
        .get(at..)
        .and_then(|rest| rest.get(..N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(CaptureError::Truncated {
            offset: at,
            what,
            needed: N,
            available: bytes.len().saturating_sub(at),
        })
}

/// Parses a whole pcap file held in memory; see [`read_pcap`].
///
/// # Errors
/// The first malformation, at its byte offset.
pub fn parse_pcap(bytes: &[u8]) -> Result<Vec<CapturedPacket>, CaptureError> {
    let header: [u8; FILE_HEADER_LEN] = take(bytes, 0, "pcap file header")?;
    let magic_be = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let magic_le = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let (order, nanos) = match (magic_le, magic_be) {
        (MAGIC_NANOS, _) => (Order::Little, true),
        (MAGIC_MICROS, _) => (Order::Little, false),
        (_, MAGIC_NANOS) => (Order::Big, true),
        (_, MAGIC_MICROS) => (Order::Big, false),
        _ => {
            return Err(CaptureError::BadPcapMagic {
                offset: 0,
                magic: magic_be,
            })
        }
    };
    let major = order.u16([header[4], header[5]]);
    let minor = order.u16([header[6], header[7]]);
    if major != 2 {
        return Err(CaptureError::UnsupportedPcapVersion {
            offset: 4,
            major,
            minor,
        });
    }
    let linktype = order.u32([header[20], header[21], header[22], header[23]]);
    // The upper bits of the field may carry an FCS length; the link type is the low 16 bits.
    if linktype & 0xffff != LINKTYPE_IPV4 {
        return Err(CaptureError::UnsupportedLinkType {
            offset: 20,
            linktype,
        });
    }

    let (frac_limit, frac_to_nanos) = if nanos {
        (NANOS_PER_SEC, 1)
    } else {
        (1_000_000, 1_000)
    };
    let mut packets = Vec::new();
    let mut at = FILE_HEADER_LEN;
    while at < bytes.len() {
        let rec: [u8; RECORD_HEADER_LEN] = take(bytes, at, "pcap record header")?;
        let field = |i: usize| order.u32([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
        let (seconds, fraction, captured, original) = (field(0), field(4), field(8), field(12));
        if seconds < EPOCH_UNIX_SECS || u64::from(fraction) >= frac_limit {
            return Err(CaptureError::BadTimestamp {
                offset: at,
                seconds,
                fraction,
            });
        }
        if captured != original {
            return Err(CaptureError::TruncatedRecord {
                offset: at,
                captured,
                original,
            });
        }
        let start = at + RECORD_HEADER_LEN;
        let len = captured as usize;
        let data =
            bytes
                .get(start..)
                .and_then(|rest| rest.get(..len))
                .ok_or(CaptureError::Truncated {
                    offset: start,
                    what: "pcap record data",
                    needed: len,
                    available: bytes.len().saturating_sub(start),
                })?;
        let ns = u64::from(seconds - EPOCH_UNIX_SECS) * NANOS_PER_SEC
            + u64::from(fraction) * frac_to_nanos;
        packets.push(CapturedPacket {
            time: Timestamp::from_nanos(ns),
            bytes: data.to_vec(),
        });
        at = start + len;
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<CapturedPacket> {
        vec![
            CapturedPacket {
                time: Timestamp::from_nanos(1_500_000_123),
                bytes: vec![0x45, 1, 2, 3],
            },
            CapturedPacket {
                time: Timestamp::from_secs(3600),
                bytes: vec![],
            },
        ]
    }

    fn written(packets: &[CapturedPacket]) -> Vec<u8> {
        let mut out = Vec::new();
        write_pcap(&mut out, packets.iter().map(CapturedPacket::as_ref))
            .expect("writing to a Vec cannot fail");
        out
    }

    #[test]
    fn header_bytes_are_exact() {
        let out = written(&sample());
        assert_eq!(
            &out[..24],
            &[
                0x4d, 0x3c, 0xb2, 0xa1, // magic, nanosecond, little-endian
                2, 0, 4, 0, // version 2.4
                0, 0, 0, 0, // thiszone
                0, 0, 0, 0, // sigfigs
                0xff, 0xff, 0, 0, // snaplen 65535
                228, 0, 0, 0, // LINKTYPE_IPV4
            ]
        );
        // First record: 1727740801 s, 500000123 ns, 4 bytes.
        let secs = (EPOCH_UNIX_SECS + 1).to_le_bytes();
        assert_eq!(&out[24..28], &secs);
        assert_eq!(&out[28..32], &500_000_123u32.to_le_bytes());
        assert_eq!(&out[32..40], &[4, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(&out[40..44], &[0x45, 1, 2, 3]);
        assert_eq!(out.len(), 24 + 16 + 4 + 16);
    }

    #[test]
    fn write_then_read_round_trips() {
        let packets = sample();
        let back = read_pcap(&written(&packets)[..]).expect("reads back");
        assert_eq!(back, packets);
    }

    #[test]
    fn empty_capture_is_just_a_header() {
        let out = written(&[]);
        assert_eq!(out.len(), FILE_HEADER_LEN);
        assert_eq!(parse_pcap(&out).expect("valid"), vec![]);
    }

    #[test]
    fn microsecond_big_endian_files_are_read() {
        let mut f = Vec::new();
        f.extend_from_slice(&MAGIC_MICROS.to_be_bytes());
        f.extend_from_slice(&[
            0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 228,
        ]);
        f.extend_from_slice(&(EPOCH_UNIX_SECS + 2).to_be_bytes());
        f.extend_from_slice(&7u32.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0xab]);
        let p = parse_pcap(&f).expect("valid");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].time, Timestamp::from_nanos(2_000_007_000));
        assert_eq!(p[0].bytes, vec![0xab]);
    }

    #[test]
    fn errors_name_their_offsets() {
        let good = written(&sample());
        assert!(matches!(
            parse_pcap(&good[..10]),
            Err(CaptureError::Truncated { offset: 0, .. })
        ));
        let mut bad = good.clone();
        bad[0] = 0;
        assert!(matches!(
            parse_pcap(&bad),
            Err(CaptureError::BadPcapMagic { offset: 0, .. })
        ));
        let mut bad = good.clone();
        bad[20] = 1;
        assert!(matches!(
            parse_pcap(&bad),
            Err(CaptureError::UnsupportedLinkType {
                offset: 20,
                linktype: 1
            })
        ));
        // Cut the second record's header short: error at its offset, 44.
        assert!(matches!(
            parse_pcap(&good[..50]),
            Err(CaptureError::Truncated {
                offset: 44,
                what: "pcap record header",
                ..
            })
        ));
        // Cut the first record's data short.
        assert!(matches!(
            parse_pcap(&good[..42]),
            Err(CaptureError::Truncated {
                offset: 40,
                needed: 4,
                available: 2,
                ..
            })
        ));
        let mut bad = good.clone();
        bad[24..28].copy_from_slice(&5u32.to_le_bytes());
        assert!(matches!(
            parse_pcap(&bad),
            Err(CaptureError::BadTimestamp { offset: 24, .. })
        ));
        let mut bad = good;
        bad[36] = 9; // orig_len 9, incl_len 4
        assert!(matches!(
            parse_pcap(&bad),
            Err(CaptureError::TruncatedRecord {
                offset: 24,
                captured: 4,
                original: 9
            })
        ));
    }

    #[test]
    fn unrepresentable_packets_are_refused_not_truncated() {
        let late = CapturedPacket {
            time: Timestamp::MAX,
            bytes: vec![],
        };
        let mut out = Vec::new();
        assert!(write_pcap(&mut out, [late.as_ref()]).is_err());
        let huge = CapturedPacket {
            time: Timestamp::ZERO,
            bytes: vec![0; 65_536],
        };
        assert!(write_pcap(Vec::new(), [huge.as_ref()]).is_err());
    }
}
