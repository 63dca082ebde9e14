//! A log of timestamped packets held in arenas: what a tap records.
//!
//! A [`PacketLog`] keeps packets' bytes back to back in large blocks and, beside them, one
//! 16-byte `(time, block, end)` entry per packet, so recording a packet allocates nothing of its
//! own: a capture of n packets of b bytes on average holds about n·(b + 16) bytes, instead of a
//! vector (24 bytes), a time and an allocation per packet. Nothing is ever moved to grow: the
//! bytes go into blocks that grow with the log up to [`BLOCK_BYTES`] each (a packet never
//! straddles two), the entries into blocks of [`INDEX_BLOCK`], so the room reserved and not yet
//! used is at most one block of each, not the half of a doubled vector. Packets are read back
//! as [`PacketRef`]s, `(time, &[u8])`, in the order they were pushed.
//!
//! It serializes as a sequence of `{"time": …, "bytes": [...]}` objects, the form a vector of
//! `{ time, bytes: Vec<u8> }` structs has, and deserializes from it.

use core::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::Timestamp;

/// The largest byte block a log allocates for packets (a longer packet gets a block its size).
pub const BLOCK_BYTES: usize = 1 << 20;
/// The smallest: a log's first block (logs with few packets stay small).
const FIRST_BLOCK_BYTES: usize = 4 << 10;
/// Index entries per index block.
pub const INDEX_BLOCK: usize = 1 << 10;

/// Where one packet is: its time, its byte block and where its bytes end in that block (they
/// start where the previous packet's end, or at 0 if it is the first of its block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    time: Timestamp,
    block: u32,
    end: u32,
}

/// Packets with their times, in arenas; see the [module docs](self).
#[derive(Clone, Default)]
pub struct PacketLog {
    /// Packets' bytes, back to back, block by block.
    blocks: Vec<Vec<u8>>,
    /// The entries, [`INDEX_BLOCK`] per block: entry i is in block i / INDEX_BLOCK (blocks past
    /// the last entry's are empty, reserved by `with_capacity`).
    index: Vec<Vec<Entry>>,
    /// How many packets.
    len: usize,
}

/// One packet of a [`PacketLog`]: its time and its bytes, borrowed from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PacketRef<'a> {
    /// When it was recorded, in virtual time.
    pub time: Timestamp,
    /// Its bytes.
    pub bytes: &'a [u8],
}

impl PacketLog {
    /// An empty log (it allocates nothing until the first packet).
    pub const fn new() -> PacketLog {
        PacketLog {
            blocks: Vec::new(),
            index: Vec::new(),
            len: 0,
        }
    }

    /// An empty log with room for `packets` packets of `bytes` bytes in all: one byte block of
    /// exactly `bytes` and index blocks for exactly `packets` entries (a log filled to that has
    /// no spare room).
    pub fn with_capacity(packets: usize, bytes: usize) -> PacketLog {
        let mut log = PacketLog::new();
        if bytes > 0 {
            log.blocks = vec![Vec::with_capacity(bytes)];
        }
        log.index = (0..packets.div_ceil(INDEX_BLOCK))
            .map(|k| Vec::with_capacity((packets - k * INDEX_BLOCK).min(INDEX_BLOCK)))
            .collect();
        log
    }

    /// Appends a packet: a copy of `bytes`, recorded at `time`.
    ///
    /// # Panics
    /// If `bytes` is 4 GiB or longer (no packet is).
    pub fn push(&mut self, time: Timestamp, bytes: &[u8]) {
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= bytes.len());
        if !fits {
            let so_far: usize = self.blocks.iter().map(Vec::len).sum();
            let size = so_far
                .clamp(FIRST_BLOCK_BYTES, BLOCK_BYTES)
                .max(bytes.len());
            self.blocks.push(Vec::with_capacity(size));
        }
        let block = self.blocks.len() - 1;
        let data = &mut self.blocks[block];
        data.extend_from_slice(bytes);
        let entry = Entry {
            time,
            block: u32::try_from(block).expect("fewer than 2^32 blocks"),
            end: u32::try_from(data.len()).expect("a byte block is under 4 GiB"),
        };
        let k = self.len / INDEX_BLOCK;
        if k == self.index.len() {
            self.index.push(Vec::with_capacity(INDEX_BLOCK));
        }
        let entries = &mut self.index[k];
        // A block reserved short (by `with_capacity` or `shrink_to_fit`) takes its room again.
        if entries.len() == entries.capacity() {
            entries.reserve_exact(INDEX_BLOCK - entries.len());
        }
        entries.push(entry);
        self.len += 1;
    }

    /// How many packets it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no packet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of all packets together.
    pub fn total_bytes(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }

    fn entry(&self, i: usize) -> Option<&Entry> {
        self.index.get(i / INDEX_BLOCK)?.get(i % INDEX_BLOCK)
    }

    /// Packet `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<PacketRef<'_>> {
        let e = self.entry(i)?;
        let start = match i.checked_sub(1).and_then(|p| self.entry(p)) {
            Some(prev) if prev.block == e.block => prev.end,
            _ => 0,
        };
        let bytes = self
            .blocks
            .get(e.block as usize)?
            .get(start as usize..e.end as usize)?;
        Some(PacketRef {
            time: e.time,
            bytes,
        })
    }

    /// Every packet, in the order pushed.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            log: self,
            front: 0,
            back: self.len,
        }
    }

    /// Gives back the room reserved and not used (in the last byte block and the last index
    /// block).
    pub fn shrink_to_fit(&mut self) {
        if let Some(b) = self.blocks.last_mut() {
            b.shrink_to_fit();
        }
        self.index.truncate(self.len.div_ceil(INDEX_BLOCK));
        if let Some(b) = self.index.last_mut() {
            b.shrink_to_fit();
        }
        self.blocks.shrink_to_fit();
        self.index.shrink_to_fit();
    }

    /// Heap bytes reserved: every block's capacity, and the lists of blocks.
    pub fn heap_bytes(&self) -> usize {
        let bytes: usize = self.blocks.iter().map(Vec::capacity).sum();
        let entries: usize = self.index.iter().map(Vec::capacity).sum();
        bytes
            + entries * core::mem::size_of::<Entry>()
            + self.blocks.capacity() * core::mem::size_of::<Vec<u8>>()
            + self.index.capacity() * core::mem::size_of::<Vec<Entry>>()
    }
}

/// Two logs are equal when they hold the same packets with the same times, however their
/// blocks are cut.
impl PartialEq for PacketLog {
    fn eq(&self, other: &PacketLog) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PacketLog {}

impl fmt::Debug for PacketLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The packets of a [`PacketLog`], in order; see [`PacketLog::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    log: &'a PacketLog,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = PacketRef<'a>;

    fn next(&mut self) -> Option<PacketRef<'a>> {
        if self.front >= self.back {
            return None;
        }
        let p = self.log.get(self.front);
        self.front += 1;
        p
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.log.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a PacketLog {
    type Item = PacketRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'p> Extend<PacketRef<'p>> for PacketLog {
    fn extend<I: IntoIterator<Item = PacketRef<'p>>>(&mut self, iter: I) {
        for p in iter {
            self.push(p.time, p.bytes);
        }
    }
}

impl<'p> FromIterator<PacketRef<'p>> for PacketLog {
    fn from_iter<I: IntoIterator<Item = PacketRef<'p>>>(iter: I) -> PacketLog {
        let mut log = PacketLog::new();
        log.extend(iter);
        log
    }
}

impl Serialize for PacketLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for p in self {
            seq.serialize_element(&p)?;
        }
        seq.end()
    }
}

/// A packet as serialized: the owned form [`PacketLog`] reads back.
#[derive(serde::Deserialize)]
struct OwnedPacket {
    time: Timestamp,
    bytes: Vec<u8>,
}

impl<'de> Deserialize<'de> for PacketLog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PacketLog, D::Error> {
        let packets = Vec::<OwnedPacket>::deserialize(d)?;
        let mut log =
            PacketLog::with_capacity(packets.len(), packets.iter().map(|p| p.bytes.len()).sum());
        for p in &packets {
            log.push(p.time, &p.bytes);
        }
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PacketLog {
        let mut log = PacketLog::new();
        log.push(Timestamp::from_nanos(5), &[1, 2, 3]);
        log.push(Timestamp::from_nanos(5), &[]);
        log.push(Timestamp::from_nanos(9), &[4]);
        log
    }

    #[test]
    fn packets_read_back_in_order_with_their_times() {
        let log = sample();
        assert_eq!(log.len(), 3);
        assert_eq!(log.total_bytes(), 4);
        let got: Vec<(u64, Vec<u8>)> = log
            .iter()
            .map(|p| (p.time.as_nanos(), p.bytes.to_vec()))
            .collect();
        assert_eq!(got, vec![(5, vec![1, 2, 3]), (5, vec![]), (9, vec![4])]);
        let back: Vec<u64> = log.iter().rev().map(|p| p.time.as_nanos()).collect();
        assert_eq!(back, vec![9, 5, 5]);
        assert_eq!(log.get(2).map(|p| p.bytes), Some(&[4u8][..]));
        assert_eq!(log.get(3), None);
        assert_eq!(log.iter().len(), 3);
        let copy: PacketLog = log.iter().collect();
        assert_eq!(copy, log);
    }

    #[test]
    fn a_packet_costs_its_bytes_and_one_index_entry() {
        let mut log = PacketLog::with_capacity(1000, 91_000);
        for i in 0..1000u64 {
            log.push(Timestamp::from_nanos(i), &[7u8; 91]);
        }
        // Exactly what was reserved: the bytes in one block, the entries in one index block.
        assert_eq!(log.total_bytes(), 91_000);
        let lists = 24 + 24;
        assert_eq!(log.heap_bytes(), 1000 * (91 + 16) + lists);
        log.shrink_to_fit();
        assert_eq!(log.heap_bytes(), 1000 * (91 + 16) + lists);
    }

    #[test]
    fn a_growing_log_reserves_at_most_a_block_ahead_and_never_moves_a_packet() {
        let mut log = PacketLog::new();
        let n = 100_000u64;
        let first_ptr = {
            log.push(Timestamp::ZERO, &[1u8; 91]);
            log.get(0).map(|p| p.bytes.as_ptr())
        };
        for i in 1..n {
            log.push(Timestamp::from_nanos(i), &[(i % 251) as u8; 91]);
        }
        assert_eq!(log.get(0).map(|p| p.bytes.as_ptr()), first_ptr);
        let used = n as usize * (91 + 16);
        let spare = log.heap_bytes() - used;
        // A doubled vector would leave up to `used` spare; blocks leave at most one of each
        // (and the small lists of blocks).
        assert!(
            spare <= BLOCK_BYTES + INDEX_BLOCK * 16 + 8 * 1024,
            "{spare}"
        );
        for (i, p) in log.iter().enumerate() {
            assert_eq!(p.time.as_nanos(), i as u64);
            assert_eq!(p.bytes.len(), 91);
            if i > 0 {
                assert!(p.bytes.iter().all(|&b| b == (i % 251) as u8));
            }
        }
        // Pushing after a shrink keeps every packet readable.
        log.shrink_to_fit();
        log.push(Timestamp::from_nanos(n), &[9; 5000]);
        assert_eq!(log.get(n as usize).map(|p| p.bytes.len()), Some(5000));
        assert_eq!(log.get(n as usize - 1).map(|p| p.bytes.len()), Some(91));
        assert_eq!(log.len(), n as usize + 1);
    }

    #[test]
    fn logs_with_the_same_packets_are_equal_however_their_blocks_are_cut() {
        let a = sample();
        let mut b = PacketLog::with_capacity(3, 4);
        for p in &a {
            b.push(p.time, p.bytes);
        }
        assert_eq!(a, b);
        b.push(Timestamp::ZERO, &[]);
        assert_ne!(a, b);
    }
}
