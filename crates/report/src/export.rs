//! Ground-truth exports of `wiretap run --out DIR` that only the scorer's side may write:
//! `truth_calls.csv`, every voice call as it really went (documented in `docs/records.md`).
//! The carrier-side exports (records, intercepts, warrants) are in [`capture::export`].

use std::io::{self, Write};

use capture::export::ColumnType::{self, Integer as I, Text as T};
use carrier::{Subscriber, TruthCall};

/// Columns of `truth_calls.csv`.
pub const TRUTH_CALL_COLUMNS: [&str; 17] = [
    "call_id",
    "kind",
    "app",
    "caller",
    "caller_msisdn",
    "callee",
    "callee_msisdn",
    "start_ns",
    "answer_ns",
    "end_ns",
    "cause",
    "caller_packets",
    "caller_bytes",
    "callee_packets",
    "callee_bytes",
    "packets_received",
    "media_errors",
];

/// Types of the columns of `truth_calls.csv`, for its schema file (`truth_calls.schema.json`,
/// [`capture::export::write_schema_json`]): the subscriber indices `caller` and `callee` are
/// integers, their numbers text.
pub const TRUTH_CALL_TYPES: [ColumnType; 17] = [
    I, // call_id
    T, // kind
    T, // app
    I, // caller
    T, // caller_msisdn
    I, // callee
    T, // callee_msisdn
    I, // start_ns
    I, // answer_ns
    I, // end_ns
    T, // cause
    I, // caller_packets
    I, // caller_bytes
    I, // callee_packets
    I, // callee_bytes
    I, // packets_received
    I, // media_errors
];

/// Writes `truth_calls.csv`: a header of [`TRUTH_CALL_COLUMNS`], then one row per call.
///
/// # Errors
/// Any error of `w`.
pub fn write_truth_calls_csv<W: Write>(
    w: W,
    calls: &[TruthCall],
    subscribers: &[Subscriber],
) -> io::Result<()> {
    let msisdn = |i: usize| {
        subscribers
            .get(i)
            .map(|s| s.msisdn.clone())
            .unwrap_or_default()
    };
    let ns =
        |t: Option<simcore::Timestamp>| t.map(|t| t.as_nanos().to_string()).unwrap_or_default();
    // Each row is made as it is written: a voice-heavy run at scale never holds the table.
    let rows = calls.iter().map(|c| {
        vec![
            c.call_id.to_string(),
            c.kind.clone(),
            c.app.clone(),
            c.caller.to_string(),
            msisdn(c.caller),
            c.callee.to_string(),
            msisdn(c.callee),
            c.start.as_nanos().to_string(),
            ns(c.answer),
            ns(c.end),
            c.cause.clone(),
            c.caller_packets.to_string(),
            c.caller_bytes.to_string(),
            c.callee_packets.to_string(),
            c.callee_bytes.to_string(),
            c.packets_received.to_string(),
            c.media_errors.to_string(),
        ]
    });
    capture::export::write_csv_rows(w, &TRUTH_CALL_COLUMNS, rows)
}
