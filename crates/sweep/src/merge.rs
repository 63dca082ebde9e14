//! Joining slices (`--shard I/N` outputs) into the files one machine would have written.
//!
//! The merge reads each slice's `sweep.json` and `runs.csv` (numbers read back exactly: the
//! CSV holds Rust's shortest round-trip digits), checks that the slices are of one sweep and
//! cover every run exactly once, and renders all files again from the rows.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

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

/// A bad cell of `file`, at its first character.
fn cell_err(file: &str, (line, column): (usize, usize), message: String) -> SweepError {
    SweepError::Cell {
        file: file.to_owned(),
        line,
        column,
        message,
        hint: "runs.csv holds what `wiretap sweep` wrote: finite numbers or empty cells; rerun the shard if the file was damaged".into(),
    }
}

fn slice_err(file: String, line: usize, message: impl Into<String>) -> SweepError {
    SweepError::Slice {
        file,
        line,
        message: message.into(),
        hint: "give the --out directories of `wiretap sweep` as written; rerun the shard if a file was damaged".into(),
    }
}

/// The first 12 characters of a digest as written (it may be damaged, so never sliced).
fn short(digest: &str) -> String {
    if digest.is_empty() {
        "none".to_owned()
    } else {
        digest.chars().take(12).collect()
    }
}

/// A cell's text for a message: at most 40 characters.
fn cut(cell: &str) -> String {
    if cell.chars().count() > 40 {
        format!("{}...", cell.chars().take(40).collect::<String>())
    } else {
        cell.to_owned()
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
        if def.seeds.is_empty()
            || def.grid.iter().any(|g| g.values.is_empty())
            || def.runs() > crate::spec::MAX_RUNS
        {
            return Err(slice_err(
                file,
                0,
                "the definition has no seeds, an empty grid key or too many runs",
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
            let at = |i: usize| rec.starts.get(i).copied().unwrap_or((line, 1));
            let int = |i: usize, what: &str| {
                f[i].parse::<u64>().map_err(|_| {
                    cell_err(&file, at(i), format!("`{}` is not a {what}", cut(&f[i])))
                })
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
            for i in 3 + grid_count..3 + grid_count + metric_count {
                let cell = &f[i];
                if cell.is_empty() {
                    metrics.push(None);
                    continue;
                }
                let name = &header[i];
                let num = Num::parse(cell).ok_or_else(|| {
                    cell_err(
                        &file,
                        at(i),
                        format!("`{}` (metric `{name}`) is not a number", cut(cell)),
                    )
                })?;
                if !num.as_f64().is_finite() {
                    return Err(cell_err(
                        &file,
                        at(i),
                        format!(
                            "`{}` (metric `{name}`) is not a finite number: a sweep never writes NaN or infinities",
                            cut(cell)
                        ),
                    ));
                }
                metrics.push(Some(num));
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
        let digest = output::hex(&Sha256::digest(s.runs_csv.as_bytes()));
        if digest != meta.rows_sha256 {
            return Err(slice_err(
                file,
                0,
                format!(
                    "the rows do not match the digest sweep.json records for them (SHA-256 {}, the file's is {}): runs.csv was damaged, cut or edited after the sweep",
                    short(&meta.rows_sha256),
                    &digest[..12]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Definition, GridParam, Shard};

    fn def() -> Definition {
        Definition {
            name: "m".into(),
            scenario: "small-lab".into(),
            scenario_sha256: "00".into(),
            seeds: vec![4, 5],
            metrics: vec!["a".into(), "b".into()],
            grid: vec![GridParam {
                key: "k".into(),
                values: vec!["0.1".into(), "\"x,y\"".into(), "3".into()],
            }],
        }
    }

    fn rows(d: &Definition, shard: Option<Shard>) -> Vec<Row> {
        (0..d.runs())
            .filter(|r| shard.is_none_or(|s| s.holds(*r)))
            .map(|run| {
                let (point, seed) = d.run_of(run);
                Row {
                    run,
                    point,
                    seed,
                    metrics: vec![
                        Some(Num::Float(1.0 / (run as f64 + 3.0))),
                        (run % 2 == 0).then_some(Num::UInt(run * 7)),
                    ],
                    events: 1000 + run,
                }
            })
            .collect()
    }

    fn slice(d: &Definition, shard: Option<Shard>, dir: &str) -> Slice {
        let layout = Layout::new(d).unwrap();
        let f = output::render(d, &layout, shard, &mut rows(d, shard));
        Slice {
            dir: dir.into(),
            sweep_json: f.sweep_json,
            runs_csv: f.runs_csv,
        }
    }

    #[test]
    fn slices_of_any_shard_counts_merge_into_the_whole() {
        let d = def();
        let whole = output::render(&d, &Layout::new(&d).unwrap(), None, &mut rows(&d, None));
        let sh = |index, count| Some(Shard { index, count });
        let parts = [
            slice(&d, sh(3, 4), "c"),
            slice(&d, sh(0, 2), "a"),
            slice(&d, sh(1, 4), "b"),
        ];
        let merged = merge(&parts).unwrap();
        assert_eq!(merged.files, whole);
        assert_eq!(merged.runs, 6);
    }

    #[test]
    fn refusals_name_the_slices_and_the_runs() {
        let d = def();
        let sh = |index, count| Some(Shard { index, count });
        let e = merge(&[slice(&d, sh(0, 3), "a"), slice(&d, sh(0, 3), "b")]).unwrap_err();
        assert!(
            e.to_string().contains("`a` and `b` both hold runs 0, 3"),
            "{e}"
        );
        let e = merge(&[slice(&d, sh(0, 3), "a")]).unwrap_err().to_string();
        assert!(e.contains("4 of 6 runs are missing: 1, 2, 4, 5"), "{e}");
        assert!(e.contains("shards 1/3, 2/3"), "{e}");
        let mut other = def();
        other.seeds = vec![4, 6];
        let e = merge(&[slice(&d, sh(0, 2), "a"), slice(&other, sh(1, 2), "o")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("different sweeps"), "{e}");
        let mut edited = slice(&d, None, "e");
        edited.sweep_json = edited
            .sweep_json
            .replace("\"small-lab\"", "\"salt-typhoon\"");
        let e = merge(&[edited]).unwrap_err().to_string();
        assert!(
            e.contains("e/sweep.json") && e.contains("contradicts"),
            "{e}"
        );
        let mut bad = slice(&d, None, "x");
        bad.runs_csv = bad.runs_csv.replacen("1000", "ten", 1);
        let e = merge(&[bad]).unwrap_err().to_string();
        assert!(e.contains("x/runs.csv:2:"), "{e}");
    }

    /// A cell edited into a well-formed number passes every other check; the digest of the
    /// rows in sweep.json catches it.
    #[test]
    fn an_edited_cell_fails_the_digest() {
        let d = def();
        let mut s = slice(&d, None, "d");
        let mut lines: Vec<String> = s.runs_csv.lines().map(str::to_owned).collect();
        // Row 0's first metric is 1/3: write 0.5 instead.
        assert!(lines[1].contains("0.3333333333333333"), "{}", lines[1]);
        lines[1] = lines[1].replace("0.3333333333333333", "0.5");
        s.runs_csv = lines.join("\n") + "\n";
        let e = merge(&[s]).unwrap_err().to_string();
        assert!(
            e.starts_with("d/runs.csv:0: the rows do not match the digest"),
            "{e}"
        );
    }

    #[test]
    fn non_finite_and_malformed_cells_are_refused_at_line_and_column() {
        let d = def();
        for (cell, what) in [
            ("NaN", "not a finite number"),
            ("inf", "not a finite number"),
            ("-inf", "not a finite number"),
            ("1e999", "not a finite number"),
            ("0.3x", "is not a number"),
        ] {
            let mut s = slice(&d, None, "n");
            s.runs_csv = s.runs_csv.replacen("0.3333333333333333", cell, 1);
            let e = merge(&[s]).unwrap_err();
            assert!(e.is_bad_input());
            let e = e.to_string();
            // Row 0: `0,0,0.1,4,` then the first metric at column 11.
            assert!(e.starts_with("n/runs.csv:2:11: "), "{cell}: {e}");
            assert!(e.contains(what) && e.contains("metric `a`"), "{cell}: {e}");
        }
    }
}
