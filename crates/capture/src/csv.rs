//! Call-detail records as CSV, for pandas, R or a spreadsheet.
//!
//! [`write_call_records_csv`] writes a header row, then one row per [`CallRecord`], with RFC 4180
//! conventions: fields separated by `,`, rows ended by CRLF, and a field quoted (`"`, with inner
//! quotes doubled) only when it contains a comma, a quote, CR or LF.
//!
//! | column        | meaning |
//! |---------------|---------|
//! | `record_id`   | the record store's number (integer) |
//! | `kind`        | `sms-mo` (SMS sent), `sms-mt` (SMS received) or `data` (data session) |
//! | `imsi`        | the subscriber's IMSI |
//! | `imei`        | the subscriber's handset IMEI |
//! | `msisdn`      | the subscriber's phone number |
//! | `other_party` | an MSISDN for SMS; the server's IPv4 address for data |
//! | `start_ns`    | start, in nanoseconds of virtual time (integer) |
//! | `end_ns`      | end, in nanoseconds of virtual time (integer; equals `start_ns` for SMS) |
//! | `cell`        | serving cell id (integer) |
//! | `bytes_up`    | bytes sent by the subscriber (integer) |
//! | `bytes_down`  | bytes received by the subscriber (integer) |
//! | `end_cell`    | serving cell id at the end (integer) |
//! | `answer_ns`   | calls: answer time in ns; empty when unanswered or not a call |
//! | `duration_ns` | chargeable duration in ns (calls: answer to end; data: first to last packet) |
//! | `cause`       | `normal`, `no-answer`, `busy`, `radio-loss`, `idle-timeout` or `end-of-run` |
//! | `call_ref`    | call id of a voice call, charging id of a data session, 0 for SMS |
//!
//! `docs/records.md` describes how the carrier fills each field.
//!
//! Identifiers are digit strings that pandas would otherwise turn into integers (losing a leading
//! `+` or `0`); load them as text:
//!
//! ```text
//! pd.read_csv("cdr.csv", dtype={"imsi": str, "imei": str, "msisdn": str, "other_party": str})
//! ```

use std::io::{self, Write};

#[cfg(test)]
use crate::CallRecord;
use crate::CallRecordRef;

/// The header row's columns, in order.
pub const COLUMNS: [&str; 16] = [
    "record_id",
    "kind",
    "imsi",
    "imei",
    "msisdn",
    "other_party",
    "start_ns",
    "end_ns",
    "cell",
    "bytes_up",
    "bytes_down",
    "end_cell",
    "answer_ns",
    "duration_ns",
    "cause",
    "call_ref",
];

/// Writes one field, quoting it if RFC 4180 requires.
pub(crate) fn field<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        w.write_all(b"\"")?;
        w.write_all(s.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(s.as_bytes())
    }
}

pub(crate) fn row<W: Write>(w: &mut W, fields: &[&str]) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        field(w, f)?;
    }
    w.write_all(b"\r\n")
}

/// Writes `records` as CSV with a header row; see the module documentation for the columns.
///
/// # Errors
/// Any error of `w`.
pub fn write_call_records_csv<'a, W: Write>(
    mut w: W,
    records: impl IntoIterator<Item = CallRecordRef<'a>>,
) -> io::Result<()> {
    row(&mut w, &COLUMNS)?;
    for r in records {
        let fields = record_fields(&r);
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        row(&mut w, &refs)?;
    }
    w.flush()
}

/// A record's fields in [`COLUMNS`] order, as text.
pub(crate) fn record_fields(r: &CallRecordRef<'_>) -> Vec<String> {
    vec![
        r.record_id.to_string(),
        r.kind.as_str().to_owned(),
        r.imsi.to_string(),
        r.imei.to_string(),
        r.msisdn.to_string(),
        r.other_party.to_string(),
        r.start.as_nanos().to_string(),
        r.end.as_nanos().to_string(),
        r.cell.to_string(),
        r.bytes_up.to_string(),
        r.bytes_down.to_string(),
        r.end_cell.to_string(),
        r.answer
            .map(|t| t.as_nanos().to_string())
            .unwrap_or_default(),
        r.duration_ns.to_string(),
        r.cause.as_str().to_owned(),
        r.call_ref.to_string(),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{RecordKind, Timestamp};

    /// An SMS record of one subscriber to `other_party` (also the records module's tests').
    pub(crate) fn record(other_party: &str) -> CallRecord {
        CallRecord {
            record_id: 7,
            kind: RecordKind::SmsMo,
            imsi: "310150000000001".into(),
            imei: "356938035643809".into(),
            msisdn: "+15550001".into(),
            other_party: other_party.into(),
            start: Timestamp::from_nanos(1_000_000_001),
            end: Timestamp::from_nanos(1_000_000_001),
            cell: 12,
            bytes_up: 140,
            bytes_down: 0,
            end_cell: 12,
            answer: None,
            duration_ns: 0,
            cause: crate::Cause::Normal,
            call_ref: 0,
        }
    }

    fn csv(records: &[CallRecord]) -> String {
        let mut out = Vec::new();
        write_call_records_csv(&mut out, records.iter().map(CallRecordRef::from))
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("ASCII in, UTF-8 out")
    }

    #[test]
    fn header_then_one_row_per_record() {
        let s = csv(&[record("+15550002")]);
        assert_eq!(
            s,
            "record_id,kind,imsi,imei,msisdn,other_party,start_ns,end_ns,cell,bytes_up,bytes_down,\
             end_cell,answer_ns,duration_ns,cause,call_ref\r\n\
             7,sms-mo,310150000000001,356938035643809,+15550001,+15550002,1000000001,1000000001,12,140,0,\
             12,,0,normal,0\r\n"
        );
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let s = csv(&[record("a,b"), record("say \"hi\""), record("two\nlines")]);
        let rows: Vec<&str> = s.split("\r\n").collect();
        assert!(rows[1].contains(",\"a,b\","), "{}", rows[1]);
        assert!(rows[2].contains(",\"say \"\"hi\"\"\","), "{}", rows[2]);
        assert!(rows[3].contains(",\"two\nlines\","), "{}", rows[3]);
        assert!(!rows[1].contains("\"+15550001\""));
    }

    #[test]
    fn data_record_names_the_server_address() {
        let mut r = record("198.51.100.7");
        r.kind = RecordKind::Data;
        let s = csv(&[r]);
        assert!(s.contains(",data,"));
        assert!(s.contains(",198.51.100.7,"));
    }

    #[test]
    fn empty_store_is_just_the_header() {
        assert_eq!(csv(&[]), format!("{}\r\n", COLUMNS.join(",")));
    }
}
