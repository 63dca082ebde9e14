//! Parameter sweeps: a grid of scenario overrides × seeds, run in parallel.
//!
//! `wiretap sweep FILE` reads a sweep file (`docs/sweep.md`), builds one scenario per grid
//! point by setting dotted keys in the scenario's TOML ([`plan`]), runs every (point, seed)
//! through the same pipeline as `wiretap run` on all cores ([`execute`]), and renders one row per
//! run and a summary per grid point and metric (mean and 95 % Student-t interval, see
//! [`stats`]). `--shard I/N` runs the runs with `index % N == I`; [`merge`] joins the slices
//! into exactly the files one machine would have written.
//!
//! Determinism: each run is a pure function of (scenario, seed); rows are sorted by run index
//! before anything is written, so the files are the same bytes for any thread count or sharding.
//!
//! It also draws the summary: one SVG chart per metric and grid key with the 95 % intervals,
//! trade-off scatters of each metric against each cost metric, and an HTML page with all of
//! them (`chart.rs`).
//!
//! This crate reads and writes no files: the CLI hands it text and writes the [`Files`] it
//! returns.
#![warn(missing_docs)]

mod chart;
mod csv;
mod error;
mod merge;
mod metrics;
mod output;
mod overrides;
mod path;
mod plan;
mod spec;
pub mod stats;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use simcore::Watch;

pub use error::SweepError;
pub use merge::{merge, Merged, Slice};
pub use metrics::{default_metrics, DEFAULT_METRICS};
pub use output::{float_text, Definition, Files, GridParam, Metadata, Num, Row, Shard, FORMAT};
pub use overrides::scale_subscribers;
pub use plan::{plan, Plan, ScenarioFile, WorkEstimate, DEFAULT_MAX_SWEEP_WORK};

/// True when `text` is a sweep file (a TOML document with a `sweep` table and no `scenario`
/// table), so `wiretap validate` can tell it from a scenario.
pub fn is_sweep_file(text: &str) -> bool {
    text.parse::<toml_edit::DocumentMut>()
        .is_ok_and(|d| d.contains_key("sweep") && !d.contains_key("scenario"))
}

/// One run through the whole pipeline, exactly as `wiretap run` does it: simulate, let the
/// adversary (with the run's declared capabilities) analyze the captures, score.
pub fn run_report(
    sc: &scenario::Scenario,
    seed: u64,
) -> Result<(report::Report, carrier::RunOutput), pipeline::PipelineError> {
    run_report_watched(sc, seed, &Watch::new())
}

/// [`run_report`], stopping soon after `watch` is asked to stop.
pub fn run_report_watched(
    sc: &scenario::Scenario,
    seed: u64,
    watch: &Watch,
) -> Result<(report::Report, carrier::RunOutput), pipeline::PipelineError> {
    let run = pipeline::run_watched(sc, seed, watch)?;
    Ok((run.report, run.output))
}

impl core::str::FromStr for Shard {
    type Err = SweepError;

    /// Parses `I/N`: 0-based `I` below `N`, `N ≥ 1`.
    fn from_str(spec: &str) -> Result<Shard, SweepError> {
        let bad = |message: String| {
            SweepError::Shard {
            spec: spec.to_owned(),
            message,
            hint: "write I/N with 0 <= I < N, e.g. --shard 0/4 ... --shard 3/4 (0-based, like $SLURM_ARRAY_TASK_ID with --array=0-3)".into(),
        }
        };
        let Some((i, n)) = spec.split_once('/') else {
            return Err(bad("expected I/N".into()));
        };
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{i}` is not an integer ≥ 0")))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{n}` is not an integer ≥ 1")))?;
        if count == 0 {
            return Err(bad("the shard count is 0".into()));
        }
        if index >= count {
            return Err(bad(format!(
                "shard index {index} is not below the shard count {count} (shards are 0-based)"
            )));
        }
        Ok(Shard { index, count })
    }
}

/// What [`execute`] produced.
#[derive(Debug)]
pub struct Outcome {
    /// The files to write.
    pub files: Files,
    /// Runs in this slice.
    pub runs: u64,
    /// One message per metric that some run's report has no number for (each metric once).
    pub warnings: Vec<String>,
}

/// One finished run: its row, and per metric the did-you-mean hint when it was missing.
struct Done {
    row: Row,
    missing: Vec<Option<(String, Option<String>)>>,
}

/// Runs the plan's runs (those of `shard`, or all) on `threads` threads and renders the files.
/// `progress(done, total)` is called after each run, from the worker threads.
pub fn execute(
    plan: &Plan,
    shard: Option<Shard>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, SweepError> {
    execute_watched(plan, shard, threads, progress, &Watch::new())
}

/// [`execute`], stopping with [`SweepError::Interrupted`] soon after `watch` is asked to stop:
/// no new run starts, the runs under way stop at their next check, and no files are rendered.
pub fn execute_watched(
    plan: &Plan,
    shard: Option<Shard>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    watch: &Watch,
) -> Result<Outcome, SweepError> {
    let def = &plan.definition;
    let runs: Vec<u64> = (0..def.runs())
        .filter(|r| shard.is_none_or(|s| s.holds(*r)))
        .collect();
    let metric_paths: Vec<Vec<String>> = def
        .metrics
        .iter()
        .map(|m| path::parse(m).unwrap_or_else(|_| vec![m.clone()]))
        .collect();
    let threads = threads.clamp(1, runs.len().max(1));
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);

    let work = || -> Vec<Result<Done, SweepError>> {
        let mut out = Vec::new();
        loop {
            if failed.load(Ordering::Relaxed) || watch.stop_requested() {
                break;
            }
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&run) = runs.get(k) else { break };
            let (point, seed) = def.run_of(run);
            let sc = &plan.scenarios[point as usize];
            let result = match run_report_watched(sc, seed, watch) {
                Ok((report, output)) => {
                    let json = serde_json::to_value(&report).unwrap_or_default();
                    let mut metrics = Vec::with_capacity(metric_paths.len());
                    let mut missing = Vec::with_capacity(metric_paths.len());
                    for p in &metric_paths {
                        let found = metrics::lookup(&json, p);
                        let num = found.and_then(Num::from_json);
                        metrics.push(num);
                        missing.push(if num.is_some() {
                            None
                        } else {
                            let what = match found {
                                None => "is not in the report".to_owned(),
                                Some(v) => format!(
                                    "is not a number in the report (it is {})",
                                    json_kind(v)
                                ),
                            };
                            let leaves = metrics::leaf_paths(&json);
                            let hint =
                                error::closest(&path::format(p), leaves.iter().map(String::as_str))
                                    .map(|c| format!("did you mean `{c}`?"));
                            Some((what, hint))
                        });
                    }
                    Ok(Done {
                        row: Row {
                            run,
                            point,
                            seed,
                            metrics,
                            events: output.stats.events,
                        },
                        missing,
                    })
                }
                Err(error) if error.is_interrupted() => break,
                Err(error) => {
                    failed.store(true, Ordering::Relaxed);
                    Err(SweepError::Run {
                        run,
                        point,
                        params: plan.label(point).to_owned(),
                        seed,
                        error,
                    })
                }
            };
            out.push(result);
            progress(finished.fetch_add(1, Ordering::Relaxed) + 1, runs.len());
        }
        out
    };

    let results: Vec<Result<Done, SweepError>> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };

    let mut done = Vec::with_capacity(results.len());
    let mut first_error: Option<SweepError> = None;
    for r in results {
        match r {
            Ok(d) => done.push(d),
            Err(e) => {
                let run_of = |e: &SweepError| match e {
                    SweepError::Run { run, .. } => *run,
                    _ => u64::MAX,
                };
                if first_error.as_ref().is_none_or(|f| run_of(&e) < run_of(f)) {
                    first_error = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if done.len() < runs.len() {
        return Err(SweepError::Interrupted {
            done: done.len(),
            total: runs.len(),
        });
    }
    done.sort_by_key(|d| d.row.run);

    let mut warnings = Vec::new();
    for (m, name) in def.metrics.iter().enumerate() {
        let misses: Vec<&Done> = done.iter().filter(|d| d.missing[m].is_some()).collect();
        if let Some(first) = misses.first() {
            if let Some((what, hint)) = &first.missing[m] {
                let mut w = format!(
                    "metric `{name}` {what} of {} of {} runs (first: run {}); its cells are empty",
                    misses.len(),
                    done.len(),
                    first.row.run
                );
                if let Some(h) = hint {
                    w.push_str(&format!("\n  hint: {h}"));
                }
                warnings.push(w);
            }
        }
    }

    let mut rows: Vec<Row> = done.into_iter().map(|d| d.row).collect();
    let files = output::render(def, &plan.layout, shard, &mut rows);
    Ok(Outcome {
        files,
        runs: rows.len() as u64,
        warnings,
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs() {
        assert_eq!(
            "0/3".parse::<Shard>().unwrap(),
            Shard { index: 0, count: 3 }
        );
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["3/3", "1/0", "x/3", "1", "-1/3", "1/3/4", ""] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("hint"), "{bad}: {e}");
        }
    }
}
