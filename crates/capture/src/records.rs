//! Call records held compactly: a carrier's billing store at a few dozen bytes a record.
//!
//! A [`RecordLog`] is to call records what `simcore::PacketLog` is to packets: an append-only
//! log in byte blocks, read back in order. Each record is encoded once when pushed:
//!
//! - its strings (IMSI, IMEI, MSISDN, other party) as numbers in the log's string table, each
//!   distinct text held once however many records name it;
//! - its integers as LEB128 varints, the times as zigzag differences (the start from the
//!   previous record's start, the end and the answer from the start, the end cell from the
//!   cell, the record id from the previous id plus one), so an SMS record takes about 25 bytes
//!   and a call or data record under 45, where a [`CallRecord`] is 152 bytes and its four
//!   shared strings' pointers;
//! - its kind, cause and whether it has an answer time in one byte.
//!
//! Records are read back as [`CallRecordRef`]s, the record's fields with its strings borrowed
//! from the log, in the order they were pushed; [`CallRecordRef::to_record`] makes a
//! [`CallRecord`] again. Decoding is exact: a log gives back every field of every record it was
//! given (a property test checks arbitrary records, extremes included).
//!
//! Growth never moves a record: blocks grow with the log up to [`BLOCK_BYTES`] each, and a
//! record never straddles two, so the room reserved and not yet used is at most one block.
//! The string table's hash index is only needed to push; [`RecordLog::shrink_to_fit`] frees it
//! and a later push builds it again.
//!
//! It serializes as the sequence of record objects a `Vec<CallRecord>` gives, byte for byte,
//! and deserializes from it.

use core::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use simcore::{FixedMap, Timestamp};

use crate::{CallRecord, Cause, RecordKind};

/// The largest byte block a log allocates.
pub const BLOCK_BYTES: usize = 1 << 20;
/// A log's first block (logs with few records stay small).
const FIRST_BLOCK_BYTES: usize = 1 << 10;
/// The most bytes one record can take: the flags byte, at most ten varints of at most ten bytes
/// each, and four string numbers of at most five.
const MAX_RECORD: usize = 1 + 10 * 10 + 4 * 5;

/// One call record of a [`RecordLog`]: the fields of a [`CallRecord`], in the same order and
/// serialized the same way, with its strings borrowed from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallRecordRef<'a> {
    /// The store's record number.
    pub record_id: u64,
    /// SMS sent, SMS received, data session or call leg.
    pub kind: RecordKind,
    /// The subscriber's IMSI.
    pub imsi: &'a str,
    /// The subscriber's handset IMEI.
    pub imei: &'a str,
    /// The subscriber's MSISDN.
    pub msisdn: &'a str,
    /// The other party: an MSISDN for SMS and calls, an IPv4 address for data.
    pub other_party: &'a str,
    /// Start of the communication.
    pub start: Timestamp,
    /// End of the communication.
    pub end: Timestamp,
    /// Serving cell id.
    pub cell: u32,
    /// Bytes sent by the subscriber.
    pub bytes_up: u64,
    /// Bytes received by the subscriber.
    pub bytes_down: u64,
    /// Serving cell id when the communication ended.
    pub end_cell: u32,
    /// Calls: when the callee answered.
    pub answer: Option<Timestamp>,
    /// Chargeable duration in nanoseconds.
    pub duration_ns: u64,
    /// Why it ended.
    pub cause: Cause,
    /// The carrier's reference for the communication.
    pub call_ref: u64,
}

impl CallRecordRef<'_> {
    /// The record as an owned [`CallRecord`] (its strings copied).
    pub fn to_record(&self) -> CallRecord {
        CallRecord {
            record_id: self.record_id,
            kind: self.kind,
            imsi: self.imsi.into(),
            imei: self.imei.into(),
            msisdn: self.msisdn.into(),
            other_party: self.other_party.into(),
            start: self.start,
            end: self.end,
            cell: self.cell,
            bytes_up: self.bytes_up,
            bytes_down: self.bytes_down,
            end_cell: self.end_cell,
            answer: self.answer,
            duration_ns: self.duration_ns,
            cause: self.cause,
            call_ref: self.call_ref,
        }
    }
}

impl<'a> From<&'a CallRecord> for CallRecordRef<'a> {
    fn from(r: &'a CallRecord) -> Self {
        CallRecordRef {
            record_id: r.record_id,
            kind: r.kind,
            imsi: &r.imsi,
            imei: &r.imei,
            msisdn: &r.msisdn,
            other_party: &r.other_party,
            start: r.start,
            end: r.end,
            cell: r.cell,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            end_cell: r.end_cell,
            answer: r.answer,
            duration_ns: r.duration_ns,
            cause: r.cause,
            call_ref: r.call_ref,
        }
    }
}

/// Call records, encoded, in blocks; see the [module docs](self).
#[derive(Clone, Default)]
pub struct RecordLog {
    /// The encoded records, back to back, block by block.
    blocks: Vec<Vec<u8>>,
    /// Every distinct string the records name, once, numbered by position.
    strings: Vec<Arc<str>>,
    /// Each string's number, by text: built as records are pushed, freed by `shrink_to_fit`.
    numbers: FixedMap<Arc<str>, u32>,
    /// How many records.
    len: usize,
    /// The last record's id and start, which the next is encoded against.
    last_id: u64,
    last_start: u64,
}

fn kind_code(k: RecordKind) -> u8 {
    match k {
        RecordKind::SmsMo => 0,
        RecordKind::SmsMt => 1,
        RecordKind::Data => 2,
        RecordKind::VoiceMo => 3,
        RecordKind::VoiceMt => 4,
    }
}

fn kind_of(code: u8) -> RecordKind {
    match code {
        0 => RecordKind::SmsMo,
        1 => RecordKind::SmsMt,
        2 => RecordKind::Data,
        3 => RecordKind::VoiceMo,
        _ => RecordKind::VoiceMt,
    }
}

fn cause_code(c: Cause) -> u8 {
    match c {
        Cause::Normal => 0,
        Cause::NoAnswer => 1,
        Cause::Busy => 2,
        Cause::RadioLoss => 3,
        Cause::IdleTimeout => 4,
        Cause::EndOfRun => 5,
    }
}

fn cause_of(code: u8) -> Cause {
    match code {
        0 => Cause::Normal,
        1 => Cause::NoAnswer,
        2 => Cause::Busy,
        3 => Cause::RadioLoss,
        4 => Cause::IdleTimeout,
        _ => Cause::EndOfRun,
    }
}

/// The flag bit saying an answer time follows.
const ANSWERED: u8 = 0x80;

fn zigzag(d: u64) -> u64 {
    // `d` is a wrapping difference read as two's complement.
    let d = d as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> u64 {
    ((z >> 1) as i64 ^ -((z & 1) as i64)) as u64
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads what [`put`] wrote, from the front of `bytes`.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.bytes.split_first().expect("a record the log encoded");
        self.bytes = rest;
        b
    }

    fn get(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }
}

impl RecordLog {
    /// An empty log (it allocates nothing until the first record).
    pub fn new() -> RecordLog {
        RecordLog::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many distinct strings its records name.
    pub fn distinct_strings(&self) -> usize {
        self.strings.len()
    }

    /// The bytes its encoded records take (not counting the string table).
    pub fn encoded_bytes(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }

    fn number(&mut self, s: &Arc<str>) -> u64 {
        if self.numbers.len() < self.strings.len() {
            // Freed by `shrink_to_fit`: built again from the table.
            self.numbers = (0u32..)
                .zip(&self.strings)
                .map(|(i, s)| (s.clone(), i))
                .collect();
        }
        if let Some(&n) = self.numbers.get(&**s) {
            return u64::from(n);
        }
        let n = u32::try_from(self.strings.len()).expect("fewer than 2^32 distinct strings");
        self.strings.push(s.clone());
        self.numbers.insert(s.clone(), n);
        u64::from(n)
    }

    /// Appends a record. Its strings are kept by sharing: a text already in the log is not
    /// kept again, and a new one is kept as the `Arc` given.
    pub fn push(&mut self, r: &CallRecord) {
        let ids = [
            self.number(&r.imsi),
            self.number(&r.imei),
            self.number(&r.msisdn),
            self.number(&r.other_party),
        ];
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= MAX_RECORD);
        if !fits {
            let so_far = self.encoded_bytes();
            self.blocks.push(Vec::with_capacity(
                so_far.clamp(FIRST_BLOCK_BYTES, BLOCK_BYTES),
            ));
        }
        let out = self.blocks.last_mut().expect("a block was just made");
        let start = r.start.as_nanos();
        let flags = kind_code(r.kind)
            | cause_code(r.cause) << 3
            | if r.answer.is_some() { ANSWERED } else { 0 };
        out.push(flags);
        put(
            out,
            zigzag(r.record_id.wrapping_sub(self.last_id.wrapping_add(1))),
        );
        for id in ids {
            put(out, id);
        }
        put(out, zigzag(start.wrapping_sub(self.last_start)));
        put(out, zigzag(r.end.as_nanos().wrapping_sub(start)));
        put(out, u64::from(r.cell));
        // The end cell's difference from the cell, sign-extended: 0 when the subscriber stayed.
        put(
            out,
            zigzag(r.end_cell.wrapping_sub(r.cell) as i32 as i64 as u64),
        );
        put(out, r.bytes_up);
        put(out, r.bytes_down);
        if let Some(a) = r.answer {
            put(out, zigzag(a.as_nanos().wrapping_sub(start)));
        }
        put(out, r.duration_ns);
        put(out, r.call_ref);
        self.last_id = r.record_id;
        self.last_start = start;
        self.len += 1;
    }

    /// The records, in the order they were pushed.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            log: self,
            block: 0,
            at: 0,
            left: self.len,
            last_id: 0,
            last_start: 0,
        }
    }

    /// The records as owned [`CallRecord`]s (tests and tools).
    pub fn to_vec(&self) -> Vec<CallRecord> {
        self.iter().map(|r| r.to_record()).collect()
    }

    /// Gives back the room reserved and not used: the last block's spare capacity and the
    /// string table's hash index (a later push builds it again).
    pub fn shrink_to_fit(&mut self) {
        if let Some(b) = self.blocks.last_mut() {
            b.shrink_to_fit();
        }
        self.strings.shrink_to_fit();
        self.numbers = FixedMap::default();
    }
}

/// The records of a [`RecordLog`], in order.
pub struct Iter<'a> {
    log: &'a RecordLog,
    block: usize,
    at: usize,
    left: usize,
    last_id: u64,
    last_start: u64,
}

impl<'a> Iterator for Iter<'a> {
    type Item = CallRecordRef<'a>;

    fn next(&mut self) -> Option<CallRecordRef<'a>> {
        if self.left == 0 {
            return None;
        }
        while self.at == self.log.blocks[self.block].len() {
            self.block += 1;
            self.at = 0;
        }
        let bytes = &self.log.blocks[self.block][self.at..];
        let mut c = Cursor { bytes };
        let flags = c.byte();
        let record_id = self.last_id.wrapping_add(1).wrapping_add(unzigzag(c.get()));
        let strings = &self.log.strings;
        let mut s = || &*strings[c.get() as usize];
        let (imsi, imei, msisdn, other_party) = (s(), s(), s(), s());
        let start = self.last_start.wrapping_add(unzigzag(c.get()));
        let end = start.wrapping_add(unzigzag(c.get()));
        let cell = c.get() as u32;
        let end_cell = cell.wrapping_add(unzigzag(c.get()) as u32);
        let bytes_up = c.get();
        let bytes_down = c.get();
        let answer = (flags & ANSWERED != 0)
            .then(|| Timestamp::from_nanos(start.wrapping_add(unzigzag(c.get()))));
        let duration_ns = c.get();
        let call_ref = c.get();
        self.at += bytes.len() - c.bytes.len();
        self.left -= 1;
        self.last_id = record_id;
        self.last_start = start;
        Some(CallRecordRef {
            record_id,
            kind: kind_of(flags & 0x07),
            imsi,
            imei,
            msisdn,
            other_party,
            start: Timestamp::from_nanos(start),
            end: Timestamp::from_nanos(end),
            cell,
            bytes_up,
            bytes_down,
            end_cell,
            answer,
            duration_ns,
            cause: cause_of((flags >> 3) & 0x07),
            call_ref,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a RecordLog {
    type Item = CallRecordRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<CallRecord> for RecordLog {
    fn from_iter<I: IntoIterator<Item = CallRecord>>(iter: I) -> RecordLog {
        let mut log = RecordLog::new();
        for r in iter {
            log.push(&r);
        }
        log
    }
}

impl From<Vec<CallRecord>> for RecordLog {
    fn from(records: Vec<CallRecord>) -> RecordLog {
        records.into_iter().collect()
    }
}

impl PartialEq for RecordLog {
    fn eq(&self, other: &RecordLog) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for RecordLog {}

impl fmt::Debug for RecordLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for RecordLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self {
            seq.serialize_element(&r)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for RecordLog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RecordLog, D::Error> {
        Ok(Vec::<CallRecord>::deserialize(d)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(id: u64, other: &str, start: u64) -> CallRecord {
        CallRecord {
            record_id: id,
            start: Timestamp::from_nanos(start),
            end: Timestamp::from_nanos(start),
            ..crate::csv::tests::record(other)
        }
    }

    const KINDS: [RecordKind; 5] = [
        RecordKind::SmsMo,
        RecordKind::SmsMt,
        RecordKind::Data,
        RecordKind::VoiceMo,
        RecordKind::VoiceMt,
    ];
    const CAUSES: [Cause; 6] = [
        Cause::Normal,
        Cause::NoAnswer,
        Cause::Busy,
        Cause::RadioLoss,
        Cause::IdleTimeout,
        Cause::EndOfRun,
    ];

    fn any_u64() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(u64::MAX),
            Just(1u64 << 63),
            any::<u64>(),
            0u64..1000
        ]
    }

    fn any_u32() -> impl Strategy<Value = u32> {
        prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>(), 0u32..300]
    }

    fn any_record() -> impl Strategy<Value = CallRecord> {
        let names = prop::sample::select(vec!["", "a", "+15550001", "198.51.100.7", "é,\"x"]);
        (
            (any_u64(), 0..5usize, 0..6usize, any::<bool>(), any_u64()),
            (names.clone(), names.clone(), names.clone(), names),
            (any_u64(), any_u64(), any_u32(), any_u32()),
            (any_u64(), any_u64(), any_u64(), any_u64()),
        )
            .prop_map(
                |((id, k, c, answered, answer), (imsi, imei, msisdn, other), t, n)| CallRecord {
                    record_id: id,
                    kind: KINDS[k],
                    imsi: imsi.into(),
                    imei: imei.into(),
                    msisdn: msisdn.into(),
                    other_party: other.into(),
                    start: Timestamp::from_nanos(t.0),
                    end: Timestamp::from_nanos(t.1),
                    cell: t.2,
                    end_cell: t.3,
                    bytes_up: n.0,
                    bytes_down: n.1,
                    answer: answered.then_some(Timestamp::from_nanos(answer)),
                    duration_ns: n.2,
                    cause: CAUSES[c],
                    call_ref: n.3,
                },
            )
    }

    proptest! {
        #[test]
        fn every_field_of_every_record_reads_back(records in prop::collection::vec(any_record(), 0..200)) {
            let log: RecordLog = records.iter().cloned().collect();
            prop_assert_eq!(log.len(), records.len());
            prop_assert_eq!(log.iter().len(), records.len());
            let back = log.to_vec();
            prop_assert_eq!(&back, &records);
            for (r, o) in log.iter().zip(&records) {
                prop_assert_eq!(r, CallRecordRef::from(o));
            }
        }
    }

    #[test]
    fn it_serializes_as_the_vector_of_records_does_and_reads_that_back() {
        let records: Vec<CallRecord> = (1..=3)
            .map(|i| record(i, &format!("+1555000{i}"), i * 1_000))
            .collect();
        let log = RecordLog::from(records.clone());
        let json = serde_json::to_string(&log).expect("serializes");
        assert_eq!(
            json,
            serde_json::to_string(&records).expect("serializes"),
            "the same bytes as Vec<CallRecord>"
        );
        let back: RecordLog = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, log);
        assert_eq!(back.to_vec(), records);
    }

    #[test]
    fn a_text_is_held_once_however_many_records_name_it_and_blocks_never_split_a_record() {
        let n = 50_000u64;
        let mut log = RecordLog::new();
        for i in 1..=n {
            log.push(&record(i, &format!("+1555{}", i % 100), i * 1_000_000_000));
        }
        // IMSI, IMEI, MSISDN and 100 other parties.
        assert_eq!(log.distinct_strings(), 3 + 100);
        assert!(
            log.blocks.len() > 1,
            "more than one block: {}",
            log.blocks.len()
        );
        let per_record = log.encoded_bytes() as f64 / n as f64;
        assert!(
            per_record < 24.0,
            "an SMS record takes {per_record:.1} bytes encoded"
        );
        for (i, r) in log.iter().enumerate() {
            let i = i as u64 + 1;
            assert_eq!(
                r.to_record(),
                record(i, &format!("+1555{}", i % 100), i * 1_000_000_000)
            );
        }
        // Freeing the index and pushing again files a known text under its old number.
        log.shrink_to_fit();
        log.push(&record(n + 1, "+15557", 0));
        assert_eq!(log.distinct_strings(), 3 + 100);
        assert_eq!(log.iter().last().map(|r| r.other_party), Some("+15557"));
    }
}
