//! A [`Plan`]: a sweep file resolved against its scenario, every grid point's scenario
//! validated before anything runs.

use sha2::{Digest, Sha256};
use toml_edit::DocumentMut;

use crate::error::SweepError;
use crate::output::{hex, Definition, GridParam, Layout, Shard};
use crate::spec::{self, RESERVED_COLUMNS};
use crate::{metrics, overrides, path};

/// A sweep ready to run: its [`Definition`] and the validated scenario of each grid point.
#[derive(Debug)]
pub struct Plan {
    pub(crate) definition: Definition,
    pub(crate) layout: Layout,
    /// One scenario per grid point.
    pub(crate) scenarios: Vec<scenario::Scenario>,
    /// Per grid point, `key = value, ...` for messages.
    pub(crate) labels: Vec<String>,
    /// The sweep file's name and text, for the work budget's error.
    file: String,
    text: String,
    /// What multiplies the runs, for the work budget's error: `(key, entries, offset)` for
    /// `seeds` and each grid key, in file order.
    factors: Vec<(String, u64, Option<usize>)>,
}

/// Default budget of a whole sweep (or of one `--shard`'s share of it): estimated messages plus
/// voice media frames over all its runs, 100 times [`scenario::DEFAULT_MAX_WORK`], the default
/// budget of one run. `--max-sweep-work N` raises it.
pub const DEFAULT_MAX_SWEEP_WORK: u64 = 100 * scenario::DEFAULT_MAX_WORK;

/// What a sweep (or one shard of it) asks for, from each grid point's
/// [`scenario::Scenario::estimated_work`] times its runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkEstimate {
    /// Runs counted (those of the shard, or all).
    pub runs: u64,
    /// Estimated messages plus voice media frames over those runs.
    pub work: f64,
    /// The largest estimate of one run, and its grid point.
    pub largest_run: (f64, u64),
}

impl core::fmt::Debug for Layout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Layout")
    }
}

impl Plan {
    /// The sweep's canonical content.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// `key = value, ...` of grid point `point` (empty for an empty grid).
    pub fn label(&self, point: u64) -> &str {
        self.labels.get(point as usize).map_or("", String::as_str)
    }

    /// The work the runs of `shard` (or all runs) ask for: for each grid point, its
    /// scenario's estimated messages and voice media frames times its runs in the shard.
    pub fn estimate(&self, shard: Option<Shard>) -> WorkEstimate {
        let def = &self.definition;
        let seeds = def.seeds.len() as u64;
        let mut est = WorkEstimate {
            runs: 0,
            work: 0.0,
            largest_run: (0.0, 0),
        };
        for (point, sc) in self.scenarios.iter().enumerate() {
            let point = point as u64;
            let per_run = sc.estimated_work().total();
            let runs = match shard {
                None => seeds,
                // Runs point*seeds .. (point+1)*seeds with run % count == index.
                Some(s) => {
                    let (lo, hi) = (point * seeds, (point + 1) * seeds);
                    let upto = |n: u64| n / s.count + u64::from(n % s.count > s.index);
                    upto(hi) - upto(lo)
                }
            };
            est.runs += runs;
            est.work += per_run * runs as f64;
            if runs > 0 && per_run > est.largest_run.0 {
                est.largest_run = (per_run, point);
            }
        }
        est
    }

    /// Refuses a sweep (or the share of `shard`) whose [`Plan::estimate`] is above `max_work`,
    /// at the key of the sweep file that multiplies the runs most, with the estimate and the
    /// flag that raises the budget.
    pub fn check_work(
        &self,
        shard: Option<Shard>,
        max_work: u64,
    ) -> Result<WorkEstimate, SweepError> {
        let est = self.estimate(shard);
        if est.work <= max_work as f64 {
            return Ok(est);
        }
        // The largest factor; the first in file order (`seeds`) on a tie.
        let (key, n, offset) = self
            .factors
            .iter()
            .fold(
                None::<&(String, u64, Option<usize>)>,
                |best, f| match best {
                    Some(b) if b.1 >= f.1 => Some(b),
                    _ => Some(f),
                },
            )
            .cloned()
            .unwrap_or_else(|| ("seeds".into(), 1, None));
        let (largest, point) = est.largest_run;
        let label = self.label(point);
        let at_point = if label.is_empty() {
            String::new()
        } else {
            format!(" at grid point {point} ({label})")
        };
        let whose = match shard {
            Some(s) => format!("shard {}/{} of this sweep asks", s.index, s.count),
            None => "this sweep asks".to_owned(),
        };
        Err(SweepError::at(
            &self.file,
            &self.text,
            offset,
            format!(
                "{whose} for about {:.3e} messages and voice media frames ({} runs; at most {:.3e} a run{at_point}), above the sweep work budget of {max_work}",
                est.work, est.runs, largest
            ),
            Some(format!(
                "`{key}` multiplies the runs most ({n} entries): use fewer, split the sweep with --shard I/N (each shard is checked for its share), or raise the budget with --max-sweep-work N (docs/sweep.md#work-budget)"
            )),
        ))
    }
}

/// What `read_scenario` returns for a `scenario = "..."` value: `Ok(Some((name, text)))` for a
/// file (`name` is used in scenario errors, usually the path), `Ok(None)` when there is no such
/// file (a built-in name is tried next), `Err(message)` when the file exists but cannot be read.
pub type ScenarioFile = Result<Option<(String, String)>, String>;

/// Reads, resolves and validates a sweep file. `file` names it in errors; `read_scenario`
/// looks up the `scenario` value as a file (the CLI resolves it relative to the sweep file).
///
/// Every grid value is applied alone and every grid point as a whole to the scenario's TOML,
/// and each result goes through `scenario::parse`: a value the scenario refuses is reported at
/// that value in the sweep file, with the scenario's message and hint.
pub fn plan(
    file: &str,
    text: &str,
    read_scenario: &dyn Fn(&str) -> ScenarioFile,
) -> Result<Plan, SweepError> {
    let parsed = spec::parse(file, text)?;
    let err = |offset: Option<usize>, message: String, hint: Option<String>| {
        SweepError::at(file, text, offset, message, hint)
    };

    let (sc_name, sc_text) = match read_scenario(&parsed.scenario) {
        Ok(Some(found)) => found,
        Ok(None) => match scenario::builtin(&parsed.scenario) {
            Some(t) => (format!("sim/{}.toml", parsed.scenario), t.to_owned()),
            None => {
                let names: Vec<&str> = scenario::BUILTIN_SCENARIOS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                return Err(err(
                    parsed.scenario_span,
                    format!(
                        "no scenario file `{}` and no built-in scenario of that name",
                        parsed.scenario
                    ),
                    Some(format!(
                        "a path relative to the sweep file, or one of: {}",
                        names.join(", ")
                    )),
                ));
            }
        },
        Err(message) => {
            return Err(err(
                parsed.scenario_span,
                format!("cannot read scenario `{}`: {message}", parsed.scenario),
                None,
            ))
        }
    };
    let base = scenario::parse(&sc_name, &sc_text).map_err(|e| {
        err(
            parsed.scenario_span,
            format!("scenario `{}` is not valid:\n{e}", parsed.scenario),
            None,
        )
    })?;
    let doc: DocumentMut = sc_text.parse().map_err(|e| {
        err(
            parsed.scenario_span,
            format!("scenario `{}` is not valid TOML: {e}", parsed.scenario),
            None,
        )
    })?;

    let metrics = parsed
        .metrics
        .clone()
        .unwrap_or_else(|| metrics::default_metrics(&base));

    // Each value alone: blame the value (or the key, for a path the scenario lacks).
    for p in &parsed.grid {
        let key = path::format(&p.path);
        if RESERVED_COLUMNS.contains(&key.as_str()) || metrics.contains(&key) {
            return Err(err(
                p.key_span,
                format!("grid key `{key}` is also a column name"),
                None,
            ));
        }
        for (value, span) in &p.values {
            let mut d = doc.clone();
            overrides::set(&mut d, &p.path, value).map_err(|pr| {
                let at = if pr.message.starts_with("wrong type") {
                    *span
                } else {
                    p.key_span
                };
                err(at, format!("grid key `{key}`: {}", pr.message), pr.hint)
            })?;
            let source = format!("{sc_name} with {key} = {value}");
            if let Err(e) = scenario::parse(&source, &d.to_string()) {
                let at = if e.message.starts_with("unknown key")
                    || e.message.contains("unknown field")
                {
                    p.key_span
                } else {
                    *span
                };
                return Err(err(
                    at,
                    format!("`{key} = {value}`: the scenario refuses it: {}", e.message),
                    e.hint
                        .or_else(|| Some(format!("see docs/scenario.md for `{key}`"))),
                ));
            }
        }
    }

    let definition = Definition {
        name: parsed.name.clone(),
        scenario: parsed.scenario.clone(),
        scenario_sha256: hex(&Sha256::digest(sc_text.as_bytes())),
        seeds: parsed.seeds.clone(),
        metrics,
        grid: parsed
            .grid
            .iter()
            .map(|p| GridParam {
                key: path::format(&p.path),
                values: p.values.iter().map(|(v, _)| v.to_string()).collect(),
            })
            .collect(),
    };
    let layout = Layout::new(&definition).map_err(|m| err(parsed.grid_span, m, None))?;

    // Every point as a whole: a combination may be refused where each value alone is not.
    let points = definition.points();
    let mut scenarios = Vec::with_capacity(points as usize);
    let mut labels = Vec::with_capacity(points as usize);
    for point in 0..points {
        let idx = definition.value_indices(point);
        let mut d = doc.clone();
        let mut label = Vec::new();
        for (p, &i) in parsed.grid.iter().zip(&idx) {
            let value = &p.values[i].0;
            label.push(format!("{} = {value}", path::format(&p.path)));
            overrides::set(&mut d, &p.path, value)
                .map_err(|pr| err(p.key_span, pr.message, pr.hint))?;
        }
        let label = label.join(", ");
        let text_now = if parsed.grid.is_empty() {
            sc_text.clone()
        } else {
            d.to_string()
        };
        let source = format!("{sc_name} at grid point {point} ({label})");
        let sc = scenario::parse(&source, &text_now).map_err(|e| {
            err(
                parsed.grid_span,
                format!(
                    "grid point {point} ({label}): the scenario refuses this combination: {}",
                    e.message
                ),
                e.hint.or_else(|| {
                    Some(
                        "each value is fine alone; change the grid so that no point combines these"
                            .into(),
                    )
                }),
            )
        })?;
        scenarios.push(sc);
        labels.push(label);
    }
    let mut factors = vec![(
        "seeds".to_owned(),
        parsed.seeds.len() as u64,
        parsed.seeds_span,
    )];
    factors.extend(
        parsed
            .grid
            .iter()
            .map(|p| (path::format(&p.path), p.values.len() as u64, p.key_span)),
    );
    Ok(Plan {
        definition,
        layout,
        scenarios,
        labels,
        file: file.to_owned(),
        text: text.to_owned(),
        factors,
    })
}
