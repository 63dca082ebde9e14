//! The record exports of `wiretap run --out DIR`: call records, intercept records and warrant
//! lists as CSV and JSON Lines, for pandas, polars, R or a spreadsheet.
//!
//! Every CSV file has a header row and follows RFC 4180: fields separated by `,`, rows ended by
//! CRLF, a field quoted (inner quotes doubled) only when it contains a comma, a quote, CR or LF.
//! Times are integers of nanoseconds of virtual time since the start of the run (`*_ns`); an
//! absent value is an empty field. A JSON Lines file has one object per line (LF-terminated)
//! with exactly the CSV's columns as keys, in the same order, integers as numbers and absent
//! values as `null`. Both are byte-identical for the same (scenario, seed).
//!
//! `docs/records.md` documents every column; the column lists are [`RECORD_COLUMNS`],
//! [`INTERCEPT_COLUMNS`] and [`WARRANT_COLUMNS`].
//!
//! Beside each CSV file `--out` writes its schema, `<name>.schema.json` ([`write_schema_json`]):
//! every column's name and [`ColumnType`], with the dtype names pandas and polars take, so that a
//! data frame library reads identifiers as the text they are. Without it pandas reads the IMSI
//! `001018345486815` as the integer `1018345486815` and `+15550001` as `15550001` wherever a
//! column holds nothing else, and joins across files fail silently. The column types are
//! [`RECORD_TYPES`], [`CALL_RECORD_TYPES`], [`INTERCEPT_TYPES`] and [`WARRANT_TYPES`]; the
//! writers below emit integers exactly in the columns declared [`ColumnType::Integer`].

use std::io::{self, Write};

use serde::Serialize;

use crate::csv::{record_fields, row, COLUMNS};
#[cfg(test)]
use crate::CallRecord;
use crate::{CallRecordRef, InterceptKind, InterceptRecord, Warrant};

/// Columns of `records.csv`: `carrier`, then the columns of [`crate::csv::COLUMNS`].
pub const RECORD_COLUMNS: [&str; 17] = {
    let mut out = [""; 17];
    out[0] = "carrier";
    let mut i = 0;
    while i < COLUMNS.len() {
        out[i + 1] = COLUMNS[i];
        i += 1;
    }
    out
};

/// What a CSV column holds, as the schema file beside the CSV states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Text, kept as written: names, kinds and every identifier (IMSI, IMEI, MSISDN, addresses),
    /// however many digits it has.
    Text,
    /// A whole number (times in ns, counts, ids, cells); an empty field is a missing value.
    Integer,
}

impl ColumnType {
    /// The type's name in the schema file: `text` or `integer`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
        }
    }

    /// The pandas dtype that keeps it (nullable, so an empty field is `<NA>`).
    pub fn pandas(self) -> &'static str {
        match self {
            ColumnType::Text => "string",
            ColumnType::Integer => "Int64",
        }
    }

    /// The polars data type that keeps it (the name of the `polars` attribute).
    pub fn polars(self) -> &'static str {
        match self {
            ColumnType::Text => "String",
            ColumnType::Integer => "Int64",
        }
    }
}

use ColumnType::{Integer as I, Text as T};

/// Types of the columns of a carrier's `<carrier>.call-records.csv` ([`crate::csv::COLUMNS`]).
pub const CALL_RECORD_TYPES: [ColumnType; 16] = [
    I, // record_id
    T, // kind
    T, // imsi
    T, // imei
    T, // msisdn
    T, // other_party
    I, // start_ns
    I, // end_ns
    I, // cell
    I, // bytes_up
    I, // bytes_down
    I, // end_cell
    I, // answer_ns
    I, // duration_ns
    T, // cause
    I, // call_ref
];

/// Types of the columns of `records.csv` ([`RECORD_COLUMNS`]): `carrier`, then
/// [`CALL_RECORD_TYPES`].
pub const RECORD_TYPES: [ColumnType; 17] = {
    let mut out = [T; 17];
    let mut i = 0;
    while i < CALL_RECORD_TYPES.len() {
        out[i + 1] = CALL_RECORD_TYPES[i];
        i += 1;
    }
    out
};

/// Types of the columns of `iri.csv` ([`INTERCEPT_COLUMNS`]).
pub const INTERCEPT_TYPES: [ColumnType; 12] = [T, T, T, I, I, T, T, T, T, T, I, I];

/// Types of the columns of `warrants.csv` ([`WARRANT_COLUMNS`]).
pub const WARRANT_TYPES: [ColumnType; 7] = [T, T, T, T, T, T, I];

/// The schema file of a CSV file: `records.csv` → `records.schema.json`.
pub fn schema_file_name(csv_file: &str) -> String {
    format!(
        "{}.schema.json",
        csv_file.strip_suffix(".csv").unwrap_or(csv_file)
    )
}

/// Writes the schema of the CSV file `csv_file` (a file name, as it is beside the schema):
/// a pretty-printed JSON object
///
/// ```json
/// {
///   "format": "wiretap-csv-schema/1",
///   "file": "records.csv",
///   "columns": [
///     { "name": "carrier", "type": "text", "pandas": "string", "polars": "String" },
///     { "name": "record_id", "type": "integer", "pandas": "Int64", "polars": "Int64" }
///   ]
/// }
/// ```
///
/// (each column object on its own lines), ended by a newline. `docs/records.md` shows the
/// one-line loads that use it.
///
/// # Errors
/// `InvalidInput` when `columns` and `types` differ in length; any error of `w`.
pub fn write_schema_json<W: Write>(
    mut w: W,
    csv_file: &str,
    columns: &[&str],
    types: &[ColumnType],
) -> io::Result<()> {
    if columns.len() != types.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{csv_file}: {} columns but {} types",
                columns.len(),
                types.len()
            ),
        ));
    }
    #[derive(Serialize)]
    struct Col<'a> {
        name: &'a str,
        #[serde(rename = "type")]
        ty: &'static str,
        pandas: &'static str,
        polars: &'static str,
    }
    #[derive(Serialize)]
    struct Schema<'a> {
        format: &'static str,
        file: &'a str,
        columns: Vec<Col<'a>>,
    }
    let schema = Schema {
        format: "wiretap-csv-schema/1",
        file: csv_file,
        columns: columns
            .iter()
            .zip(types)
            .map(|(name, t)| Col {
                name,
                ty: t.name(),
                pandas: t.pandas(),
                polars: t.polars(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut w, &schema).map_err(io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Columns of `iri.csv`.
pub const INTERCEPT_COLUMNS: [&str; 12] = [
    "carrier",
    "liid",
    "record",
    "correlation",
    "timestamp_ns",
    "direction",
    "target",
    "event",
    "service",
    "other",
    "cell",
    "size",
];

/// Columns of `warrants.csv`.
pub const WARRANT_COLUMNS: [&str; 7] = [
    "carrier",
    "liid",
    "target_msisdn",
    "target_imsi",
    "kind",
    "agency",
    "since_ns",
];

/// A call record of one carrier's store.
#[derive(Clone, Copy, Debug)]
pub struct CarrierRecord<'a> {
    /// The carrier whose store holds it.
    pub carrier: &'a str,
    /// The record.
    pub record: CallRecordRef<'a>,
}

/// A warrant of one carrier.
#[derive(Clone, Copy, Debug)]
pub struct CarrierWarrant<'a> {
    /// The carrier that provisioned it.
    pub carrier: &'a str,
    /// The warrant.
    pub warrant: &'a Warrant,
}

/// One value of a row: text or integer (JSON number), or absent (empty in CSV, `null` in JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Text(String),
    Int(u64),
    Absent,
}

impl Value {
    fn csv(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Absent => String::new(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => s.serialize_str(t),
            Value::Int(n) => s.serialize_u64(*n),
            Value::Absent => s.serialize_none(),
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn record_values(r: &CarrierRecord<'_>) -> Vec<Value> {
    let c = r.record;
    let texts = record_fields(&c);
    let mut v = vec![text(r.carrier)];
    for (i, (name, f)) in COLUMNS.iter().zip(texts).enumerate() {
        let numeric = CALL_RECORD_TYPES[i] == ColumnType::Integer;
        v.push(if *name == "answer_ns" && c.answer.is_none() {
            Value::Absent
        } else if numeric {
            f.parse().map(Value::Int).unwrap_or(Value::Text(f))
        } else {
            Value::Text(f)
        });
        debug_assert_eq!(RECORD_COLUMNS[i + 1], *name);
    }
    v
}

fn intercept_values(r: &InterceptRecord) -> Vec<Value> {
    let opt_text = |s: Option<&str>| s.map(text).unwrap_or(Value::Absent);
    vec![
        text(&r.carrier),
        text(&r.liid),
        text(match r.kind {
            InterceptKind::Iri => "iri",
            InterceptKind::Cc => "cc",
        }),
        Value::Int(r.correlation),
        Value::Int(r.timestamp.as_nanos()),
        text(if r.from_target {
            "from-target"
        } else {
            "to-target"
        }),
        text(&r.target),
        opt_text(r.event.map(|e| match e {
            crate::IriEventKind::Begin => "begin",
            crate::IriEventKind::Continue => "continue",
            crate::IriEventKind::End => "end",
            crate::IriEventKind::Report => "report",
        })),
        opt_text(r.service.map(|s| match s {
            crate::IriServiceKind::Sms => "sms",
            crate::IriServiceKind::Data => "data",
            crate::IriServiceKind::Voice => "voice",
        })),
        text(&r.other),
        r.cell
            .map(|c| Value::Int(u64::from(c)))
            .unwrap_or(Value::Absent),
        Value::Int(r.size),
    ]
}

fn warrant_values(w: &CarrierWarrant<'_>) -> Vec<Value> {
    let x = w.warrant;
    vec![
        text(w.carrier),
        text(&x.liid),
        text(&x.target_msisdn),
        text(&x.target_imsi),
        text(x.kind.as_str()),
        text(&x.agency),
        Value::Int(x.since.as_nanos()),
    ]
}

/// Rows are made one at a time as they are written (a run's records as owned values all at
/// once would take more memory than the records themselves).
fn write_csv<W: Write>(
    mut w: W,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Value>>,
) -> io::Result<()> {
    row(&mut w, columns)?;
    for r in rows {
        let fields: Vec<String> = r.iter().map(Value::csv).collect();
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        row(&mut w, &refs)?;
    }
    w.flush()
}

fn write_jsonl<W: Write>(
    mut w: W,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Value>>,
) -> io::Result<()> {
    // Written key by key: a serde_json map would sort the keys, and the columns' order matters.
    for r in rows {
        w.write_all(b"{")?;
        for (i, (k, v)) in columns.iter().zip(&r).enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut w, k).map_err(io::Error::other)?;
            w.write_all(b":")?;
            serde_json::to_writer(&mut w, v).map_err(io::Error::other)?;
        }
        w.write_all(b"}\n")?;
    }
    w.flush()
}

/// Writes any table as CSV with the conventions above: a header of `columns`, then `rows`
/// (each as many fields as columns; empty text for an absent value). The rows are taken one at
/// a time, so a caller that makes each as it goes holds one row, not the table.
///
/// # Errors
/// Any error of `w`.
pub fn write_csv_rows<W: Write>(
    mut w: W,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> io::Result<()> {
    row(&mut w, columns)?;
    for r in rows {
        let refs: Vec<&str> = r.iter().map(String::as_str).collect();
        row(&mut w, &refs)?;
    }
    w.flush()
}

/// Writes `records.csv`: a header of [`RECORD_COLUMNS`], then one row per record, as the
/// records come (the caller's iterator decodes them from the stores one at a time).
///
/// # Errors
/// Any error of `w`.
pub fn write_records_csv<'a, W: Write>(
    w: W,
    records: impl IntoIterator<Item = CarrierRecord<'a>>,
) -> io::Result<()> {
    write_csv(
        w,
        &RECORD_COLUMNS,
        records.into_iter().map(|r| record_values(&r)),
    )
}

/// Writes `records.jsonl`: one object per record with the keys of [`RECORD_COLUMNS`].
///
/// # Errors
/// Any error of `w`.
pub fn write_records_jsonl<'a, W: Write>(
    w: W,
    records: impl IntoIterator<Item = CarrierRecord<'a>>,
) -> io::Result<()> {
    write_jsonl(
        w,
        &RECORD_COLUMNS,
        records.into_iter().map(|r| record_values(&r)),
    )
}

/// Writes `iri.csv`: a header of [`INTERCEPT_COLUMNS`], then one row per IRI or CC record.
///
/// # Errors
/// Any error of `w`.
pub fn write_intercepts_csv<W: Write>(w: W, records: &[InterceptRecord]) -> io::Result<()> {
    write_csv(w, &INTERCEPT_COLUMNS, records.iter().map(intercept_values))
}

/// Writes `iri.jsonl`: one object per IRI or CC record with the keys of [`INTERCEPT_COLUMNS`].
///
/// # Errors
/// Any error of `w`.
pub fn write_intercepts_jsonl<W: Write>(w: W, records: &[InterceptRecord]) -> io::Result<()> {
    write_jsonl(w, &INTERCEPT_COLUMNS, records.iter().map(intercept_values))
}

/// Writes `warrants.csv`: a header of [`WARRANT_COLUMNS`], then one row per warrant.
///
/// # Errors
/// Any error of `w`.
pub fn write_warrants_csv<W: Write>(w: W, warrants: &[CarrierWarrant<'_>]) -> io::Result<()> {
    write_csv(w, &WARRANT_COLUMNS, warrants.iter().map(warrant_values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cause, IriEventKind, IriServiceKind, RecordKind, Timestamp, WarrantKind};
    use std::cell::Cell;

    /// Counts the lines written so far into `lines`.
    struct Lines<'a> {
        lines: &'a Cell<usize>,
    }

    impl Write for Lines<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.iter().filter(|&&b| b == b'\n').count();
            self.lines.set(self.lines.get() + n);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rows_are_made_one_at_a_time_as_they_are_written() {
        // Row k is asked for only once the k rows before it (and the CSV header) are out: the
        // writers never hold a whole table of owned values.
        let lines = Cell::new(0);
        let rows = |header: usize| {
            let lines = &lines;
            (0..100u64).map(move |k| {
                assert_eq!(lines.get(), k as usize + header, "row {k} made early");
                vec![Value::Int(k), Value::Text(format!("r{k}"))]
            })
        };
        write_csv(Lines { lines: &lines }, &["n", "t"], rows(1)).unwrap();
        assert_eq!(lines.get(), 101);
        lines.set(0);
        write_jsonl(Lines { lines: &lines }, &["n", "t"], rows(0)).unwrap();
        assert_eq!(lines.get(), 100);
    }

    fn rec() -> CallRecord {
        CallRecord {
            record_id: 3,
            kind: RecordKind::VoiceMo,
            imsi: "001010000000001".into(),
            imei: "350000000000006".into(),
            msisdn: "+15550001".into(),
            other_party: "+15550002".into(),
            start: Timestamp::from_nanos(10),
            end: Timestamp::from_nanos(90),
            cell: 2,
            bytes_up: 100,
            bytes_down: 200,
            end_cell: 3,
            answer: Some(Timestamp::from_nanos(30)),
            duration_ns: 60,
            cause: Cause::RadioLoss,
            call_ref: 77,
        }
    }

    fn s(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).expect("a Vec never fails");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn records_csv_and_jsonl_agree_column_for_column() {
        let r = rec();
        let rows = [CarrierRecord {
            carrier: "east",
            record: (&r).into(),
        }];
        let csv = s(|o| write_records_csv(o, rows));
        assert_eq!(
            csv,
            format!(
                "{}\r\neast,3,voice-mo,001010000000001,350000000000006,+15550001,+15550002,10,90,2,100,200,3,30,60,radio-loss,77\r\n",
                RECORD_COLUMNS.join(",")
            )
        );
        let json = s(|o| write_records_jsonl(o, rows));
        assert!(json.ends_with('\n') && json.lines().count() == 1);
        let v: serde_json::Value = serde_json::from_str(json.trim_end()).expect("JSON");
        let obj = v.as_object().expect("an object");
        assert_eq!(obj.len(), RECORD_COLUMNS.len());
        let at: Vec<usize> = RECORD_COLUMNS
            .iter()
            .map(|k| {
                json.find(&format!("\"{k}\":"))
                    .expect("every column is a key")
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "keys in column order");
        assert_eq!(obj["answer_ns"], 30);
        assert_eq!(obj["msisdn"], "+15550001");
        let mut unanswered = r.clone();
        unanswered.answer = None;
        let rows = [CarrierRecord {
            carrier: "east",
            record: (&unanswered).into(),
        }];
        let json = s(|o| write_records_jsonl(o, rows));
        assert!(json.contains("\"answer_ns\":null"), "{json}");
        assert!(s(|o| write_records_csv(o, rows)).contains(",3,,60,"));
    }

    #[test]
    fn intercepts_and_warrants_have_their_headers() {
        let iri = InterceptRecord {
            carrier: "east".into(),
            liid: "EAST-0001".into(),
            kind: InterceptKind::Iri,
            correlation: 4,
            timestamp: Timestamp::from_nanos(5),
            from_target: true,
            target: "+15550001".into(),
            event: Some(IriEventKind::Begin),
            service: Some(IriServiceKind::Voice),
            other: "+15550002".into(),
            cell: Some(7),
            size: 0,
        };
        let cc = InterceptRecord {
            kind: InterceptKind::Cc,
            event: None,
            service: None,
            other: "".into(),
            cell: None,
            size: 92,
            from_target: false,
            ..iri.clone()
        };
        let csv = s(|o| write_intercepts_csv(o, &[iri, cc.clone()]));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], INTERCEPT_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "east,EAST-0001,iri,4,5,from-target,+15550001,begin,voice,+15550002,7,0"
        );
        assert_eq!(lines[2], "east,EAST-0001,cc,4,5,to-target,+15550001,,,,,92");
        let json = s(|o| write_intercepts_jsonl(o, &[cc]));
        assert!(json.contains("\"event\":null,\"service\":null"), "{json}");

        let w = Warrant {
            liid: "EAST-0001".into(),
            target_msisdn: "+15550001".into(),
            target_imsi: "001010000000001".into(),
            kind: WarrantKind::IriAndContent,
            agency: "FBI, NY".into(),
            since: Timestamp::ZERO,
        };
        let csv = s(|o| {
            write_warrants_csv(
                o,
                &[CarrierWarrant {
                    carrier: "east",
                    warrant: &w,
                }],
            )
        });
        assert_eq!(
            csv,
            format!(
                "{}\r\neast,EAST-0001,+15550001,001010000000001,iri+content,\"FBI, NY\",0\r\n",
                WARRANT_COLUMNS.join(",")
            )
        );
    }

    /// Each value a writer emits has the kind its column's declared type says: integers only in
    /// integer columns, text only in text columns (so the schema files tell the truth).
    fn assert_values_typed(
        table: &str,
        columns: &[&str],
        types: &[ColumnType],
        rows: &[Vec<Value>],
    ) {
        assert_eq!(columns.len(), types.len(), "{table}");
        for r in rows {
            assert_eq!(r.len(), types.len(), "{table}");
            for ((c, t), v) in columns.iter().zip(types).zip(r) {
                match (t, v) {
                    (_, Value::Absent)
                    | (ColumnType::Integer, Value::Int(_))
                    | (ColumnType::Text, Value::Text(_)) => {}
                    _ => panic!("{table}.{c}: {v:?} in a {} column", t.name()),
                }
            }
        }
    }

    #[test]
    fn every_value_has_its_columns_declared_type() {
        let r = rec();
        let mut unanswered = r.clone();
        unanswered.answer = None;
        let rows: Vec<_> = [&r, &unanswered]
            .into_iter()
            .map(|record| {
                record_values(&CarrierRecord {
                    carrier: "east",
                    record: record.into(),
                })
            })
            .collect();
        assert_values_typed("records", &RECORD_COLUMNS, &RECORD_TYPES, &rows);
        let iri = InterceptRecord {
            carrier: "east".into(),
            liid: "EAST-0001".into(),
            kind: InterceptKind::Iri,
            correlation: 4,
            timestamp: Timestamp::from_nanos(5),
            from_target: true,
            target: "+15550001".into(),
            event: Some(IriEventKind::Report),
            service: Some(IriServiceKind::Sms),
            other: "+15550002".into(),
            cell: Some(7),
            size: 12,
        };
        assert_values_typed(
            "iri",
            &INTERCEPT_COLUMNS,
            &INTERCEPT_TYPES,
            &[intercept_values(&iri)],
        );
        let w = Warrant {
            liid: "EAST-0001".into(),
            target_msisdn: "+15550001".into(),
            target_imsi: "001010000000001".into(),
            kind: WarrantKind::Iri,
            agency: "FBI".into(),
            since: Timestamp::from_nanos(9),
        };
        assert_values_typed(
            "warrants",
            &WARRANT_COLUMNS,
            &WARRANT_TYPES,
            &[warrant_values(&CarrierWarrant {
                carrier: "east",
                warrant: &w,
            })],
        );
        // Identifiers are text even when they are all digits.
        for (i, c) in RECORD_COLUMNS.iter().enumerate() {
            if ["imsi", "imei", "msisdn", "other_party"].contains(c) {
                assert_eq!(RECORD_TYPES[i], ColumnType::Text, "{c}");
            }
        }
    }

    #[test]
    fn schema_lists_every_column_with_its_dtypes() {
        let json = s(|o| write_schema_json(o, "records.csv", &RECORD_COLUMNS, &RECORD_TYPES));
        assert!(json.ends_with("}\n"), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(v["format"], "wiretap-csv-schema/1");
        assert_eq!(v["file"], "records.csv");
        let cols = v["columns"].as_array().expect("columns[]");
        let names: Vec<&str> = cols.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, RECORD_COLUMNS);
        let imsi = &cols[3];
        assert_eq!(imsi["name"], "imsi");
        assert_eq!(
            (&imsi["type"], &imsi["pandas"], &imsi["polars"]),
            (
                &serde_json::json!("text"),
                &serde_json::json!("string"),
                &serde_json::json!("String")
            )
        );
        assert_eq!(cols[1]["pandas"], "Int64");
        assert_eq!(schema_file_name("records.csv"), "records.schema.json");
        assert_eq!(
            schema_file_name("east.call-records.csv"),
            "east.call-records.schema.json"
        );
        let mut sink = Vec::new();
        let err = write_schema_json(&mut sink, "x.csv", &["a", "b"], &[ColumnType::Text])
            .expect_err("a type per column");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(sink.is_empty());
    }
}
