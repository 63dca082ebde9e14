//! The sweep file: TOML text → a [`Parsed`] sweep with the spans errors need.
//!
//! ```toml
//! [sweep]
//! name = "degree-vs-recall"
//! scenario = "small-lab"
//! seeds = { from = 1, count = 5 }
//! metrics = ["adversary.contacts.recall"]
//! [grid]
//! "traffic.mean_degree" = [2.0, 4.0]
//! ```
//!
//! Parsed with `toml_edit` so that grid keys keep their file order (the order of the columns)
//! and every key and value keeps its span.

use core::ops::Range;

use toml_edit::{ImDocument, Item, TableLike, Value};

use crate::error::{closest, SweepError};
use crate::path;

/// Keys of `[sweep]`.
const SWEEP_KEYS: &[&str] = &["name", "description", "scenario", "seeds", "metrics"];

/// At most this many runs in one sweep (a typo such as `count = 1000000000` fails early).
pub(crate) const MAX_RUNS: u64 = 10_000_000;
/// Most grid points a sweep file may ask for: each is validated and kept before any run starts
/// (about 2.3 KB and 42 µs a point in release), so this bounds planning to a fraction of a
/// second and a few tens of MB. Bigger studies are several sweep files.
pub(crate) const MAX_POINTS: u64 = 10_000;

/// A sweep file, checked for form; the scenario is not resolved yet.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub name: String,
    pub scenario: String,
    pub scenario_span: Option<usize>,
    pub seeds: Vec<u64>,
    /// Offset of the `seeds` key, for the work budget's error.
    pub seeds_span: Option<usize>,
    /// `None`: the default set.
    pub metrics: Option<Vec<String>>,
    pub grid: Vec<ParsedParam>,
    /// Offset of the `[grid]` header, for errors about a combination of values.
    pub grid_span: Option<usize>,
}

/// One `[grid]` key and its values.
#[derive(Debug)]
pub(crate) struct ParsedParam {
    pub path: Vec<String>,
    pub key_span: Option<usize>,
    /// Canonical values (decor and source formatting dropped) with their offsets.
    pub values: Vec<(Value, Option<usize>)>,
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> SweepError {
        SweepError::at(self.file, self.text, span.map(|s| s.start), message, hint)
    }
}

/// Parses a sweep file. `file` is used in errors only.
pub(crate) fn parse(file: &str, text: &str) -> Result<Parsed, SweepError> {
    let cx = Ctx { file, text };
    let doc = ImDocument::parse(text).map_err(|e| {
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        cx.err(
            e.span(),
            format!("not valid TOML: {message}"),
            Some("see docs/sweep.md for the format".into()),
        )
    })?;
    let root = doc.as_table();
    for (key, _) in root.iter() {
        if key != "sweep" && key != "grid" {
            let span = root.key(key).and_then(|k| k.span());
            let hint = match closest(key, ["sweep", "grid"]) {
                Some(c) => format!(
                    "did you mean `[{c}]`? A sweep file has a [sweep] table and a [grid] table"
                ),
                None => "a sweep file has a [sweep] table and a [grid] table".into(),
            };
            return Err(cx.err(span, format!("unknown table `{key}`"), Some(hint)));
        }
    }
    let Some(sweep_item) = root.get("sweep") else {
        return Err(cx.err(
            None,
            "no [sweep] table",
            Some(
                "start the file with [sweep], name = \"...\", scenario = \"...\", seeds = ..."
                    .into(),
            ),
        ));
    };
    let sweep = sweep_item
        .as_table_like()
        .ok_or_else(|| cx.err(sweep_item.span(), "`sweep` must be a table", None))?;
    for (key, _) in sweep.iter() {
        if !SWEEP_KEYS.contains(&key) {
            let span = sweep.get_key_value(key).and_then(|(k, _)| k.span());
            let hint = match closest(key, SWEEP_KEYS.iter().copied()) {
                Some(c) => format!("did you mean `{c}`? (allowed: {})", allowed(SWEEP_KEYS)),
                None => format!(
                    "allowed in [sweep]: {}; parameters to vary go in [grid]",
                    allowed(SWEEP_KEYS)
                ),
            };
            return Err(cx.err(span, format!("unknown key `{key}` in [sweep]"), Some(hint)));
        }
    }
    let sweep_span = sweep_item.span();

    let name = required_str(&cx, sweep, "name", sweep_span.clone())?;
    let (name_text, name_span) = name;
    if name_text.is_empty()
        || name_text.chars().count() > 64
        || !name_text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(cx.err(
            name_span,
            format!("bad sweep name {name_text:?}"),
            Some("1 to 64 characters of letters, digits, `-`, `_` and `.` (it names the default output directory)".into()),
        ));
    }
    if let Some(item) = sweep.get("description") {
        if item.as_str().is_none() {
            return Err(cx.err(item.span(), "`description` must be a string", None));
        }
    }
    let (scenario, scenario_span) = required_str(&cx, sweep, "scenario", sweep_span.clone())?;
    if scenario.is_empty() {
        return Err(cx.err(
            scenario_span,
            "`scenario` is empty",
            Some(
                "a built-in scenario name (`wiretap list`) or a path relative to the sweep file"
                    .into(),
            ),
        ));
    }
    let seeds_span = sweep
        .get_key_value("seeds")
        .and_then(|(k, _)| k.span())
        .map(|s| s.start);
    let seeds = parse_seeds(&cx, sweep, sweep_span)?;
    let metrics = match sweep.get("metrics") {
        None => None,
        Some(item) => Some(parse_metrics(&cx, item)?),
    };

    let (grid, grid_span) = match root.get_key_value("grid") {
        None => (Vec::new(), None),
        Some((key, item)) => {
            let table = item
                .as_table_like()
                .ok_or_else(|| cx.err(item.span(), "`grid` must be a table", None))?;
            let mut grid = Vec::new();
            flatten_grid(&cx, table, &mut Vec::new(), &mut grid)?;
            for (i, a) in grid.iter().enumerate() {
                for b in &grid[i + 1..] {
                    let (short, long) = if a.path.len() <= b.path.len() {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    if long.path.starts_with(&short.path) {
                        return Err(cx.err(
                            b.key_span.map(|s| s..s),
                            format!(
                                "grid keys `{}` and `{}` overlap: one sets a table the other sets a key in",
                                path::format(&short.path),
                                path::format(&long.path)
                            ),
                            Some("keep one of them".into()),
                        ));
                    }
                }
            }
            let header = item.span().or(key.span());
            if grid.is_empty() {
                return Err(cx.err(
                    header,
                    "empty grid: [grid] has no keys",
                    Some(
                        "add a scenario key and its values, e.g. \"traffic.mean_degree\" = [2.0, 4.0]; \
                         or delete the [grid] header to run the scenario as it is over the seeds"
                            .into(),
                    ),
                ));
            }
            (grid, header.map(|s| s.start))
        }
    };
    let points = grid
        .iter()
        .try_fold(1u64, |acc, p| acc.checked_mul(p.values.len() as u64));
    if points.is_none_or(|p| p > MAX_POINTS) {
        return Err(cx.err(
            grid_span.map(|s| s..s),
            format!(
                "too many grid points ({}; at most {MAX_POINTS}): every point's scenario is \
                 validated and held before the first run",
                points.map_or_else(|| "more than 2^64".to_owned(), |p| p.to_string())
            ),
            Some("split the grid over several sweep files, or sweep fewer values per key".into()),
        ));
    }
    let runs = points.and_then(|p| p.checked_mul(seeds.len() as u64));
    if runs.is_none_or(|r| r > MAX_RUNS) {
        return Err(cx.err(
            grid_span.map(|s| s..s),
            format!("too many runs (more than {MAX_RUNS}): grid points × seeds"),
            Some("split the sweep into several files".into()),
        ));
    }
    Ok(Parsed {
        name: name_text,
        scenario,
        scenario_span: scenario_span.map(|s| s.start),
        seeds,
        seeds_span,
        metrics,
        grid,
        grid_span,
    })
}

fn allowed(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn required_str(
    cx: &Ctx<'_>,
    table: &dyn TableLike,
    key: &str,
    table_span: Option<Range<usize>>,
) -> Result<(String, Option<Range<usize>>), SweepError> {
    match table.get(key) {
        None => Err(cx.err(
            table_span,
            format!("[sweep] has no `{key}`"),
            Some(format!("add `{key} = \"...\"` (see docs/sweep.md)")),
        )),
        Some(item) => match item.as_str() {
            Some(s) => Ok((s.to_owned(), item.span())),
            None => Err(cx.err(
                item.span(),
                format!("`{key}` must be a string, got {}", kind(item)),
                None,
            )),
        },
    }
}

fn seed_hint() -> Option<String> {
    Some("write `seeds = { from = 1, count = 5 }` or `seeds = [1, 2, 3]` (integers ≥ 0)".into())
}

fn parse_seeds(
    cx: &Ctx<'_>,
    sweep: &dyn TableLike,
    sweep_span: Option<Range<usize>>,
) -> Result<Vec<u64>, SweepError> {
    let Some(item) = sweep.get("seeds") else {
        return Err(cx.err(sweep_span, "[sweep] has no `seeds`", seed_hint()));
    };
    let seed_of = |v: &Value| -> Result<u64, SweepError> {
        v.as_integer()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| {
                cx.err(
                    v.span(),
                    format!("a seed must be an integer ≥ 0, got {}", value_kind(v)),
                    seed_hint(),
                )
            })
    };
    if let Some(array) = item.as_array() {
        if array.is_empty() {
            return Err(cx.err(item.span(), "`seeds` is empty", seed_hint()));
        }
        let mut seeds = Vec::with_capacity(array.len());
        for v in array.iter() {
            let s = seed_of(v)?;
            if seeds.contains(&s) {
                return Err(cx.err(
                    v.span(),
                    format!("seed {s} is listed twice"),
                    Some("each seed once: a repeated seed repeats a run exactly and narrows the confidence interval for nothing".into()),
                ));
            }
            seeds.push(s);
        }
        return Ok(seeds);
    }
    let Some(table) = item.as_table_like() else {
        return Err(cx.err(
            item.span(),
            format!("`seeds` must be a table or an array, got {}", kind(item)),
            seed_hint(),
        ));
    };
    for (key, _) in table.iter() {
        if key != "from" && key != "count" {
            let span = table.get_key_value(key).and_then(|(k, _)| k.span());
            return Err(cx.err(
                span,
                format!("unknown key `{key}` in `seeds`"),
                Some("allowed: `from`, `count`".into()),
            ));
        }
    }
    let int = |key: &str| -> Result<u64, SweepError> {
        let v = table
            .get(key)
            .ok_or_else(|| cx.err(item.span(), format!("`seeds` has no `{key}`"), seed_hint()))?;
        match v.as_value() {
            Some(v) => seed_of(v),
            None => Err(cx.err(
                v.span(),
                format!("`{key}` must be an integer ≥ 0"),
                seed_hint(),
            )),
        }
    };
    let from = int("from")?;
    let count = int("count")?;
    let count_span = table.get("count").and_then(Item::span);
    if count == 0 {
        return Err(cx.err(
            count_span,
            "`count` is 0: no runs",
            Some("at least one seed; 5 to 30 give a useful confidence interval".into()),
        ));
    }
    if count > MAX_RUNS || from.checked_add(count - 1).is_none() {
        return Err(cx.err(
            count_span,
            format!("`count` = {count} is too large"),
            Some(format!("at most {MAX_RUNS} runs, and seeds below 2^64")),
        ));
    }
    Ok((from..from + count).collect())
}

fn parse_metrics(cx: &Ctx<'_>, item: &Item) -> Result<Vec<String>, SweepError> {
    let hint = || {
        Some("JSON paths into the report such as \"adversary.contacts.recall\" or \"protocols.noise:XX.messages_read_by_adversary\" (docs/sweep.md)".into())
    };
    let Some(array) = item.as_array() else {
        return Err(cx.err(
            item.span(),
            format!("`metrics` must be an array of strings, got {}", kind(item)),
            hint(),
        ));
    };
    if array.is_empty() {
        return Err(cx.err(item.span(), "`metrics` is empty", Some("list at least one report path, or leave `metrics` out for the default set (docs/sweep.md)".into())));
    }
    let mut metrics: Vec<String> = Vec::with_capacity(array.len());
    for v in array.iter() {
        let Some(s) = v.as_str() else {
            return Err(cx.err(
                v.span(),
                format!("a metric must be a string, got {}", value_kind(v)),
                hint(),
            ));
        };
        let segments =
            path::parse(s).map_err(|m| cx.err(v.span(), format!("bad metric path {m}"), hint()))?;
        let canonical = path::format(&segments);
        if metrics.contains(&canonical) {
            return Err(cx.err(
                v.span(),
                format!("metric `{canonical}` is listed twice"),
                None,
            ));
        }
        if RESERVED_COLUMNS.contains(&canonical.as_str()) {
            return Err(cx.err(
                v.span(),
                format!("`{canonical}` is the name of a fixed column"),
                Some(format!(
                    "the fixed columns are {}; the report's `seed` is the seed column already",
                    allowed(RESERVED_COLUMNS)
                )),
            ));
        }
        metrics.push(canonical);
    }
    Ok(metrics)
}

/// Column names the rows always have; metrics and grid keys may not take them.
pub(crate) const RESERVED_COLUMNS: &[&str] = &[
    "run",
    "point",
    "seed",
    "events",
    "metric",
    "n",
    "mean",
    "sd",
    "ci95_low",
    "ci95_high",
];

/// Walks `[grid]`, where keys may be quoted paths (`"traffic.mean_degree" = [..]`), dotted
/// keys or sub-tables; every leaf must be an array of values.
fn flatten_grid(
    cx: &Ctx<'_>,
    table: &dyn TableLike,
    prefix: &mut Vec<String>,
    out: &mut Vec<ParsedParam>,
) -> Result<(), SweepError> {
    for (key, item) in table.iter() {
        let key_span = table.get_key_value(key).and_then(|(k, _)| k.span());
        let segments = path::parse(key).map_err(|m| {
            cx.err(key_span.clone(), format!("bad grid key {m}"), Some("a dotted path into the scenario file, e.g. \"traffic.mean_degree\" or \"carrier.0.subscribers\"".into()))
        })?;
        let depth = prefix.len();
        prefix.extend(segments);
        if let Some(array) = item.as_array() {
            let full = path::format(prefix);
            if out.iter().any(|p| path::format(&p.path) == full) {
                return Err(cx.err(key_span, format!("grid key `{full}` appears twice"), None));
            }
            if prefix.first().is_some_and(|s| s == "scenario")
                && prefix.get(1).is_some_and(|s| s == "seed")
                && prefix.len() == 2
            {
                return Err(cx.err(
                    key_span,
                    "`scenario.seed` cannot be a grid key",
                    Some("seeds come from `seeds` in [sweep]; every grid point runs with each of them".into()),
                ));
            }
            if array.is_empty() {
                return Err(cx.err(
                    item.span().or(key_span),
                    format!("empty grid: `{full}` has no values"),
                    Some("give at least one value, e.g. [2.0, 4.0]; a key with no values would make no runs".into()),
                ));
            }
            let mut values: Vec<(Value, Option<usize>)> = Vec::with_capacity(array.len());
            for v in array.iter() {
                let c =
                    canonical(v).map_err(|m| cx.err(v.span(), format!("`{full}`: {m}"), None))?;
                let text = c.to_string();
                if values.iter().any(|(o, _)| o.to_string() == text) {
                    return Err(cx.err(
                        v.span(),
                        format!("`{full}`: value {text} is listed twice"),
                        None,
                    ));
                }
                values.push((c, v.span().map(|s| s.start)));
            }
            out.push(ParsedParam {
                path: prefix.clone(),
                key_span: key_span.map(|s| s.start),
                values,
            });
        } else if let Some(sub) = item.as_table_like() {
            flatten_grid(cx, sub, prefix, out)?;
        } else {
            return Err(cx.err(
                item.span().or(key_span),
                format!(
                    "grid key `{}` must list its values in an array, got {}",
                    path::format(prefix),
                    kind(item)
                ),
                Some(format!(
                    "write `\"{}\" = [value1, value2]`",
                    path::format(prefix)
                )),
            ));
        }
        prefix.truncate(depth);
    }
    Ok(())
}

/// A value rebuilt without its source formatting and decor: `2.00` → `2.0`, `0x10` → `16`,
/// `'a'` → `"a"`, inline tables `{ k = v }`. Dates and non-finite floats are refused.
pub(crate) fn canonical(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::from(s.value().as_str()),
        Value::Integer(i) => Value::from(*i.value()),
        Value::Float(f) => {
            let x = *f.value();
            if !x.is_finite() {
                return Err(format!("{x} is not a finite number"));
            }
            Value::from(x)
        }
        Value::Boolean(b) => Value::from(*b.value()),
        Value::Datetime(_) => return Err("dates are not supported as grid values".into()),
        Value::Array(a) => {
            let mut out = toml_edit::Array::new();
            for x in a.iter() {
                out.push(canonical(x)?);
            }
            out.fmt();
            Value::Array(out)
        }
        Value::InlineTable(t) => {
            let mut out = toml_edit::InlineTable::new();
            for (k, x) in t.iter() {
                out.insert(k, canonical(x)?);
            }
            out.fmt();
            Value::InlineTable(out)
        }
    })
}

/// "a string", "a number", ... for messages.
pub(crate) fn kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => value_kind(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array",
    }
}

/// "a string", "a number", ... for messages.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) | Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("s.toml", text).unwrap_err().to_string()
    }

    const HEAD: &str = "[sweep]\nname = \"t\"\nscenario = \"small-lab\"\nseeds = [1, 2]\n";

    #[test]
    fn a_full_file_parses_in_order() {
        let p = parse(
            "s.toml",
            "[sweep]\nname = \"t\"\nscenario = \"small-lab\"\nseeds = { from = 3, count = 3 }\n\
             metrics = [\"adversary.contacts.recall\"]\n[grid]\n\"traffic.mean_degree\" = [2.00, 4]\n\
             links.radio.loss = [0.0, 0.1]\n\"app.1.pattern\" = ['XX', \"IK\"]\n",
        )
        .unwrap();
        assert_eq!(p.seeds, vec![3, 4, 5]);
        let keys: Vec<String> = p.grid.iter().map(|g| path::format(&g.path)).collect();
        assert_eq!(
            keys,
            ["traffic.mean_degree", "links.radio.loss", "app.1.pattern"]
        );
        let vals: Vec<String> = p.grid[0]
            .values
            .iter()
            .map(|(v, _)| v.to_string())
            .collect();
        assert_eq!(vals, ["2.0", "4"]);
        let vals: Vec<String> = p.grid[2]
            .values
            .iter()
            .map(|(v, _)| v.to_string())
            .collect();
        assert_eq!(vals, ["\"XX\"", "\"IK\""]);
    }

    #[test]
    fn form_errors_point_at_the_problem() {
        let e = err(&format!("{HEAD}[grid]\n"));
        assert!(e.starts_with("s.toml:5:1: empty grid"), "{e}");
        let e = err(&format!("{HEAD}[grid]\n\"traffic.mean_degree\" = []\n"));
        assert!(e.starts_with("s.toml:6:25: empty grid"), "{e}");
        assert!(e.contains("hint"), "{e}");
        let e = err("[sweep]\nname = \"t\"\nscenario = \"x\"\nseed = [1]\n");
        assert!(
            e.starts_with("s.toml:4:1: unknown key `seed`") && e.contains("did you mean `seeds`"),
            "{e}"
        );
        let e = err("[sweep]\nname = \"t\"\nscenario = \"x\"\nseeds = { from = 1, count = 0 }\n");
        assert!(e.starts_with("s.toml:4:"), "{e}");
        let e = err("[sweep]\nname = \"t\"\nscenario = \"x\"\nseeds = [1, 1]\n");
        assert!(e.contains("listed twice"), "{e}");
        let e = err(&format!("{HEAD}[grid]\n\"scenario.seed\" = [1, 2]\n"));
        assert!(e.contains("seeds come from"), "{e}");
        let e = err(&format!("{HEAD}[grid]\n\"traffic.mean_degree\" = 2.0\n"));
        assert!(e.contains("array"), "{e}");
        let e = err(&format!(
            "{HEAD}[grid]\n\"traffic\" = [{{ mean_degree = 2.0 }}]\n\"traffic.mean_degree\" = [1]\n"
        ));
        assert!(
            e.starts_with("s.toml:7:1: grid keys `traffic` and `traffic.mean_degree` overlap"),
            "{e}"
        );
        let e = err(&format!("{HEAD}[grids]\n"));
        assert!(e.contains("did you mean `[grid]`"), "{e}");
        let e = err(&format!("{HEAD}metrics = [\"a..b\"]\n"));
        assert!(e.starts_with("s.toml:5:"), "{e}");
        let e = err("[sweep]\nname = \"t\"\nscenario = \"x\"\nseeds = [1\n");
        assert!(
            e.starts_with("s.toml:") && e.contains("not valid TOML"),
            "{e}"
        );
    }
}
