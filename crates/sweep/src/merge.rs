//! Joining slices (`--shard I/N` outputs) into the files one machine would have written.
//!
//! The merge reads each slice's `sweep.json` and `runs.csv` (numbers read back exactly: the
//! CSV holds Rust's shortest round-trip digits), checks that the slices are of one sweep and
//! cover every run exactly once, and renders all files again from the rows.

use std::collections::BTreeMap;

use crate::csv;
use crate::error::SweepError;
use crate::output::{self, Files, Layout, Metadata, Num, Row, FORMAT};

/// One slice directory's files, as text.
#[derive(Clone, Debug)]
pub struct Slice {
    /// The directory, for messages.
    pub dir: String,
    /// Contents of `sweep.json`.
    pub sweep_json: String,
    /// Contents of `runs.csv`.
    pub runs_csv: String,
}

/// A merge's result.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The files of the whole sweep.
    pub files: Files,
    /// The sweep's name.
    pub name: String,
    /// Runs in all.
    pub runs: u64,
}

fn slice_err(file: String, line: usize, message: impl Into<String>) -> SweepError {
    SweepError::Slice {
        file,
        line,
        message: message.into(),
        hint: "give the --out directories of `wiretap sweep` as written; rerun the shard if a file was damaged".into(),
    }
}

/// A few numbers, then "... (N in all)".
fn some(runs: &[u64]) -> String {
    let shown: Vec<String> = runs.iter().take(8).map(u64::to_string).collect();
    if runs.len() > 8 {
        format!("{}, ... ({} in all)", shown.join(", "), runs.len())
    } else {
        shown.join(", ")
    }
}

/// Merges slices into the files of the whole sweep.
pub fn merge(slices: &[Slice]) -> Result<Merged, SweepError> {
    let Some(first) = slices.first() else {
        return Err(SweepError::Merge {
            message: "no slice directories".into(),
            hint: "wiretap merge slice-0 slice-1 ... --out DIR".into(),
        });
    };
    let mut metas = Vec::with_capacity(slices.len());
    for s in slices {
        let file = format!("{}/sweep.json", s.dir);
        let meta: Metadata = serde_json::from_str(&s.sweep_json)
            .map_err(|e| slice_err(file.clone(), e.line(), format!("not a sweep.json: {e}")))?;
        if meta.format != FORMAT {
            return Err(slice_err(
                file,
                0,
                format!("format `{}`, this wiretap reads `{FORMAT}`", meta.format),
            ));
        }
        let def = &meta.definition;
        if def.seeds.is_empty() || def.grid.iter().any(|g| g.values.is_empty()) {
            return Err(slice_err(
                file,
                0,
                "the definition has no seeds or an empty grid key",
            ));
        }
        if meta.fingerprint != def.fingerprint()
            || meta.points != def.points()
            || meta.runs_total != def.runs()
            || meta
                .shard
                .is_some_and(|sh| sh.count == 0 || sh.index >= sh.count)
        {
            return Err(slice_err(file, 0, "the file contradicts itself (fingerprint, counts or shard); it was edited or damaged"));
        }
        metas.push(meta);
    }
    let m0 = &metas[0];
    for (s, m) in slices.iter().zip(&metas).skip(1) {
        if m.fingerprint != m0.fingerprint {
            return Err(SweepError::Merge {
                message: format!(
                    "slices of different sweeps: `{}` holds sweep `{}` (fingerprint {}), `{}` holds sweep `{}` (fingerprint {})",
                    first.dir,
                    m0.definition.name,
                    &m0.fingerprint[..12],
                    s.dir,
                    m.definition.name,
                    &m.fingerprint[..12],
                ),
                hint: "merge only slices of one sweep file; the fingerprint covers the scenario's text, the seeds, the metrics and the grid, so rerun every shard after editing any of them".into(),
            });
        }
        if m.wiretap_version != m0.wiretap_version {
            return Err(SweepError::Merge {
                message: format!(
                    "`{}` was written by wiretap {}, `{}` by wiretap {}",
                    first.dir, m0.wiretap_version, s.dir, m.wiretap_version
                ),
                hint: "run every shard with the same wiretap build".into(),
            });
        }
    }
    let def = &m0.definition;
    let layout =
        Layout::new(def).map_err(|m| slice_err(format!("{}/sweep.json", first.dir), 0, m))?;
    let header = output::runs_header(def);
    let metric_count = def.metrics.len();
    let grid_count = def.grid.len();
    let total = def.runs();

    let mut rows: BTreeMap<u64, (Row, usize)> = BTreeMap::new();
    let mut overlaps: BTreeMap<(usize, usize), Vec<u64>> = BTreeMap::new();
    for (si, (s, meta)) in slices.iter().zip(&metas).enumerate() {
        let file = format!("{}/runs.csv", s.dir);
        let records =
            csv::read(&s.runs_csv).map_err(|(line, m)| slice_err(file.clone(), line, m))?;
        let mut records = records.into_iter();
        match records.next() {
            Some(r) if r.fields == header => {}
            Some(r) => {
                return Err(slice_err(
                    file,
                    r.line,
                    "the header does not match the slice's sweep.json",
                ))
            }
            None => return Err(slice_err(file, 0, "empty file (not even a header)")),
        }
        let mut count = 0u64;
        for rec in records {
            let line = rec.line;
            let bad = |what: &str| slice_err(file.clone(), line, what.to_owned());
            if rec.fields.len() != header.len() {
                return Err(bad(&format!(
                    "{} fields, the header has {}",
                    rec.fields.len(),
                    header.len()
                )));
            }
            let f = &rec.fields;
            let int = |i: usize, what: &str| {
                f[i].parse::<u64>()
                    .map_err(|_| bad(&format!("`{}` is not a {what}", f[i])))
            };
            let run = int(0, "run index")?;
            let point = int(1, "grid point")?;
            let seed = int(2 + grid_count, "seed")?;
            if run >= total {
                return Err(bad(&format!(
                    "run {run} is beyond the sweep's {total} runs"
                )));
            }
            if def.run_of(run) != (point, seed)
                || layout.point_texts(def, point) != f[2..2 + grid_count]
            {
                return Err(bad(&format!(
                    "run {run}'s grid point or seed do not match the sweep"
                )));
            }
            if meta.shard.is_some_and(|sh| !sh.holds(run)) {
                return Err(bad(&format!(
                    "run {run} does not belong to the slice's shard"
                )));
            }
            let mut metrics = Vec::with_capacity(metric_count);
            for cell in &f[3 + grid_count..3 + grid_count + metric_count] {
                if cell.is_empty() {
                    metrics.push(None);
                } else {
                    metrics.push(Some(
                        Num::parse(cell)
                            .ok_or_else(|| bad(&format!("`{cell}` is not a number")))?,
                    ));
                }
            }
            let events = int(header.len() - 1, "count of events")?;
            count += 1;
            let row = Row {
                run,
                point,
                seed,
                metrics,
                events,
            };
            if let Some((_, other)) = rows.get(&run) {
                overlaps.entry((*other, si)).or_default().push(run);
            } else {
                rows.insert(run, (row, si));
            }
        }
        if count != meta.runs_in_slice {
            return Err(slice_err(
                file,
                0,
                format!(
                    "{count} runs, but sweep.json says {}: the file is truncated or was edited",
                    meta.runs_in_slice
                ),
            ));
        }
    }
    if let Some(((a, b), runs)) = overlaps.iter().next() {
        return Err(SweepError::Merge {
            message: format!(
                "overlapping slices: `{}` and `{}` both hold run{} {}",
                slices[*a].dir,
                slices[*b].dir,
                if runs.len() == 1 { "" } else { "s" },
                some(runs)
            ),
            hint: "give each shard once; a directory of the whole sweep (no --shard) overlaps every slice".into(),
        });
    }
    let missing: Vec<u64> = (0..total).filter(|r| !rows.contains_key(r)).collect();
    if !missing.is_empty() {
        let counts: Vec<u64> = metas
            .iter()
            .filter_map(|m| m.shard.map(|s| s.count))
            .collect();
        let hint = match counts.first() {
            Some(&n)
                if counts.len() == metas.len()
                    && counts.iter().all(|&c| c == n)
                    && metas.len() < n as usize =>
            {
                let have: Vec<u64> = metas
                    .iter()
                    .filter_map(|m| m.shard.map(|s| s.index))
                    .collect();
                let lacking: Vec<String> = (0..n)
                    .filter(|i| !have.contains(i))
                    .map(|i| format!("{i}/{n}"))
                    .collect();
                format!(
                    "shard{} {} of the sweep {} not among the slices: run `wiretap sweep <file> --shard {} --out <dir>` and merge again",
                    if lacking.len() == 1 { "" } else { "s" },
                    lacking.join(", "),
                    if lacking.len() == 1 { "is" } else { "are" },
                    lacking.first().map_or("I/N", String::as_str),
                )
            }
            _ => "give every shard's directory; a shard that failed must be run again".into(),
        };
        return Err(SweepError::Merge {
            message: format!(
                "{} of {total} runs are missing: {}",
                missing.len(),
                some(&missing)
            ),
            hint,
        });
    }
    let mut rows: Vec<Row> = rows.into_values().map(|(r, _)| r).collect();
    let files = output::render(def, &layout, None, &mut rows);
    Ok(Merged {
        files,
        name: def.name.clone(),
        runs: total,
    })
}
