//! The CSV exports of `--out` in the data frame libraries researchers use: `tests/dataframes.py`
//! loads every CSV of several shipped scenarios with pandas and with polars, the way
//! docs/records.md shows (the lines are taken from the doc), and checks the identifier columns
//! value for value and the joins across files row for row against what this side computes from
//! the run itself (the `RunOutput`, not the files).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{parse, run, shipped_outputs, tempdir, tool_available};

/// A text cell as the files hold it: an empty field is a missing value.
fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        json!(s)
    }
}

fn texts<'a>(it: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(it.map(text).collect())
}

/// Counts of key tuples, for inner-join sizes: `Σ left(k) × right(k)`.
fn join_size<K: Ord>(left: impl Iterator<Item = K>, right: impl Iterator<Item = K>) -> u64 {
    let mut l: BTreeMap<K, u64> = BTreeMap::new();
    for k in left {
        *l.entry(k).or_default() += 1;
    }
    let mut n = 0;
    for k in right {
        n += l.get(&k).copied().unwrap_or(0);
    }
    n
}

/// What the files of `dir` must hold, from the run of the same scenario and seed.
fn expectations(name: &str, dir: &Path, out: &carrier::RunOutput) -> Value {
    let records: Vec<(&str, capture::CallRecordRef<'_>)> = out
        .records
        .iter()
        .flat_map(|(c, rs)| rs.iter().map(move |r| (c.as_str(), r)))
        .collect();
    let msisdn = |i: usize| {
        out.truth
            .subscribers
            .get(i)
            .map_or("", |s| s.msisdn.as_str())
    };
    let calls = &out.truth.calls;
    let mut files = serde_json::Map::new();
    files.insert(
        "records.csv".into(),
        json!({
            "rows": records.len(),
            "columns": {
                "carrier": texts(records.iter().map(|(c, _)| *c)),
                "imsi": texts(records.iter().map(|(_, r)| r.imsi)),
                "imei": texts(records.iter().map(|(_, r)| r.imei)),
                "msisdn": texts(records.iter().map(|(_, r)| r.msisdn)),
                "other_party": texts(records.iter().map(|(_, r)| r.other_party)),
                "call_ref": records.iter().map(|(_, r)| r.call_ref).collect::<Vec<_>>(),
                "answer_ns": records.iter().map(|(_, r)| r.answer.map(|t| t.as_nanos())).collect::<Vec<_>>(),
            }
        }),
    );
    let iri = &out.intercepts;
    files.insert(
        "iri.csv".into(),
        json!({
            "rows": iri.len(),
            "columns": {
                "liid": texts(iri.iter().map(|r| &*r.liid)),
                "target": texts(iri.iter().map(|r| &*r.target)),
                "other": texts(iri.iter().map(|r| &*r.other)),
                "cell": iri.iter().map(|r| r.cell).collect::<Vec<_>>(),
            }
        }),
    );
    let w = &out.warrants;
    files.insert(
        "warrants.csv".into(),
        json!({
            "rows": w.len(),
            "columns": {
                "liid": texts(w.iter().map(|w| w.liid.as_str())),
                "target_msisdn": texts(w.iter().map(|w| w.target_msisdn.as_str())),
                "target_imsi": texts(w.iter().map(|w| w.target_imsi.as_str())),
            }
        }),
    );
    files.insert(
        "truth_calls.csv".into(),
        json!({
            "rows": calls.len(),
            "columns": {
                "call_id": calls.iter().map(|c| c.call_id).collect::<Vec<_>>(),
                "app": texts(calls.iter().map(|c| c.app.as_str())),
                "caller_msisdn": texts(calls.iter().map(|c| msisdn(c.caller))),
                "callee_msisdn": texts(calls.iter().map(|c| msisdn(c.callee))),
            }
        }),
    );
    for v in &out.captures.vantages {
        if v.kind == capture::VantageKind::CallRecords {
            let rs = &v.call_records;
            files.insert(
                format!("{}.csv", v.name),
                json!({
                    "rows": rs.len(),
                    "columns": {
                        "imsi": texts(rs.iter().map(|r| r.imsi)),
                        "msisdn": texts(rs.iter().map(|r| r.msisdn)),
                        "other_party": texts(rs.iter().map(|r| r.other_party)),
                    }
                }),
            );
        }
    }
    let joins = json!([
        {
            "left": "records.csv", "right": "warrants.csv",
            "left_on": ["msisdn"], "right_on": ["target_msisdn"],
            "rows": join_size(records.iter().map(|(_, r)| r.msisdn), w.iter().map(|w| w.target_msisdn.as_str())),
        },
        {
            "left": "records.csv", "right": "warrants.csv",
            "left_on": ["imsi"], "right_on": ["target_imsi"],
            "rows": join_size(records.iter().map(|(_, r)| r.imsi), w.iter().map(|w| w.target_imsi.as_str())),
        },
        {
            "left": "iri.csv", "right": "warrants.csv",
            "left_on": ["liid", "target"], "right_on": ["liid", "target_msisdn"],
            "rows": join_size(iri.iter().map(|r| (&*r.liid, &*r.target)), w.iter().map(|w| (w.liid.as_str(), w.target_msisdn.as_str()))),
        },
        {
            "left": "records.csv", "right": "truth_calls.csv",
            "left_on": ["call_ref", "msisdn"], "right_on": ["call_id", "caller_msisdn"],
            "rows": join_size(records.iter().map(|(_, r)| (r.call_ref, r.msisdn)), calls.iter().map(|c| (c.call_id, msisdn(c.caller)))),
        },
        {
            "left": "records.csv", "right": "iri.csv",
            "left_on": ["msisdn", "other_party"], "right_on": ["target", "other"],
            "rows": join_size(
                records.iter().map(|(_, r)| (r.msisdn, r.other_party)),
                iri.iter().filter(|r| !r.other.is_empty()).map(|r| (&*r.target, &*r.other)),
            ),
        },
    ]);
    json!({"scenario": name, "dir": dir, "files": files, "joins": joins})
}

#[test]
fn csv_exports_load_in_pandas_and_polars_with_identifiers_intact() {
    if !tool_available(
        "python3",
        &["-c", "import pandas, polars"],
        "that pandas and polars load the CSV exports",
    ) {
        return;
    }
    let mut dirs = Vec::new();
    // A first lab, voice calls with call-record vantages and edge routers, and the default
    // scenario with three carriers and warrants.
    for name in ["small-lab", "metadata", "salt-typhoon"] {
        let (_, dir) = shipped_outputs()
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is shipped"));
        let text = scenario::BUILTIN_SCENARIOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .expect("built in");
        let r = run(parse(text), 1);
        dirs.push(expectations(name, dir, &r.output));
    }
    let expected = tempdir("dataframes").join("expected.json");
    std::fs::write(
        &expected,
        serde_json::to_vec(&json!({ "dirs": dirs })).expect("JSON"),
    )
    .expect("write expectations");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("tests/dataframes.py"))
        .arg(root.join("docs/records.md"))
        .arg(&expected)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/dataframes.py failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{stdout}");
}
