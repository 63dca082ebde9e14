//! What a sweep writes: the [`Definition`] and its fingerprint, the rows, the summary, and the
//! text of `runs.csv`, `runs.jsonl`, `summary.csv`, `summary.jsonl`, the charts, `sweep.html`
//! and `sweep.json`.
//!
//! Every file is a function of the definition and the rows sorted by run index, so a sweep
//! writes the same bytes whatever the thread count, and a merge of slices writes the bytes of a
//! single run.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chart;
use crate::csv;
use crate::stats;

/// The version of the slice format in `sweep.json` (`format`). Version 2 added
/// [`Metadata::rows_sha256`].
pub const FORMAT: &str = "wiretap-sweep/2";

/// A sweep's canonical content: everything that decides its rows, and nothing else (comments,
/// formatting, `description` and the order of keys in `[sweep]` are left out). Its
/// [fingerprint](Definition::fingerprint) tells slices of one sweep from slices of another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// `[sweep] name`.
    pub name: String,
    /// `[sweep] scenario` as written.
    pub scenario: String,
    /// SHA-256 (hex) of the base scenario's text, so that an edited scenario file is a
    /// different sweep.
    pub scenario_sha256: String,
    /// Every seed, in order (`{ from, count }` expanded).
    pub seeds: Vec<u64>,
    /// Every metric path, in order (the default set expanded).
    pub metrics: Vec<String>,
    /// The grid keys in file order, each with its values as canonical TOML text.
    pub grid: Vec<GridParam>,
}

/// One grid key and its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridParam {
    /// The dotted path into the scenario, canonical (`traffic.mean_degree`).
    pub key: String,
    /// Each value as canonical TOML (`2.0`, `"XX"`, `{ min = 20, max = 40 }`).
    pub values: Vec<String>,
}

impl Definition {
    /// SHA-256 (lowercase hex) of the definition's compact JSON, fields in declaration order.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&json))
    }

    /// Grid points: the product of the value counts (1 for an empty grid).
    /// Saturates at `u64::MAX` (a sweep file is refused long before).
    pub fn points(&self) -> u64 {
        self.grid
            .iter()
            .fold(1u64, |acc, g| acc.saturating_mul(g.values.len() as u64))
    }

    /// Runs: points × seeds (saturating).
    pub fn runs(&self) -> u64 {
        self.points().saturating_mul(self.seeds.len() as u64)
    }

    /// The grid point and seed of run `run`: `point = run / seeds`, seed index `run % seeds`.
    pub fn run_of(&self, run: u64) -> (u64, u64) {
        let n = self.seeds.len() as u64;
        (run / n, self.seeds[(run % n) as usize])
    }

    /// The value index of each grid key at `point`: the last key varies fastest, like nested
    /// loops in file order.
    pub fn value_indices(&self, point: u64) -> Vec<usize> {
        let mut rest = point;
        let mut out = vec![0; self.grid.len()];
        for (i, g) in self.grid.iter().enumerate().rev() {
            let n = g.values.len() as u64;
            out[i] = (rest % n) as usize;
            rest /= n;
        }
        out
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `{index, count}` of `--shard index/count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based, below `count`.
    pub index: u64,
    /// At least 1.
    pub count: u64,
}

impl Shard {
    /// True when run `run` belongs to this shard: `run % count == index`.
    pub fn holds(&self, run: u64) -> bool {
        run % self.count == self.index
    }
}

/// `sweep.json`: which sweep a directory holds and which part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`FORMAT`].
    pub format: String,
    /// The wiretap version that wrote it.
    pub wiretap_version: String,
    /// [`Definition::fingerprint`].
    pub fingerprint: String,
    /// Grid points of the whole sweep.
    pub points: u64,
    /// Runs of the whole sweep.
    pub runs_total: u64,
    /// The shard this directory holds; `null` for a whole sweep (or a complete merge).
    pub shard: Option<Shard>,
    /// Runs in this directory.
    pub runs_in_slice: u64,
    /// SHA-256 (lowercase hex) of this directory's `runs.csv`, byte for byte: `merge` refuses
    /// a `runs.csv` that does not match it (damaged, cut or edited after the sweep). Empty in
    /// a file of an older format (which `merge` refuses by its `format`).
    #[serde(default)]
    pub rows_sha256: String,
    /// The sweep's canonical content.
    pub definition: Definition,
}

/// A number from the report, kept as the report wrote it (integer or float).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl Num {
    /// The number in a JSON value, if it is one.
    pub fn from_json(v: &serde_json::Value) -> Option<Num> {
        let n = v.as_number()?;
        if let Some(u) = n.as_u64() {
            Some(Num::UInt(u))
        } else if let Some(i) = n.as_i64() {
            Some(Num::Int(i))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    /// As a float, for the summary.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::UInt(u) => u as f64,
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The CSV text: integers as integers, floats as plain decimals with a `.`.
    pub fn text(self) -> String {
        match self {
            Num::UInt(u) => u.to_string(),
            Num::Int(i) => i.to_string(),
            Num::Float(f) => float_text(f),
        }
    }

    /// Reads [`Num::text`] back.
    pub fn parse(s: &str) -> Option<Num> {
        if s.contains(['.', 'e', 'E', 'N', 'n']) {
            s.parse().ok().map(Num::Float)
        } else if s.starts_with('-') {
            s.parse().ok().map(Num::Int)
        } else {
            s.parse().ok().map(Num::UInt)
        }
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Num::UInt(u) => s.serialize_u64(u),
            Num::Int(i) => s.serialize_i64(i),
            Num::Float(f) => s.serialize_f64(f),
        }
    }
}

/// A float as a plain decimal (never exponent notation; Rust's shortest round-trip digits),
/// with `.0` added to whole numbers so that a column of floats reads as floats.
pub fn float_text(f: f64) -> String {
    let s = format!("{f}");
    if s.contains('.') || !f.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// One run's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index in the whole sweep.
    pub run: u64,
    /// Grid point.
    pub point: u64,
    /// Seed.
    pub seed: u64,
    /// One entry per metric of the definition; `None` where the report has no number there.
    pub metrics: Vec<Option<Num>>,
    /// Events the simulation processed (`network.events`).
    pub events: u64,
}

/// The cells of each grid value: text for CSV and a JSON value.
pub(crate) struct Layout {
    /// Per grid key, per value.
    cells: Vec<Vec<(String, serde_json::Value)>>,
}

impl Layout {
    /// Builds the cells; `Err` names a value that is not TOML (a damaged `sweep.json`).
    pub(crate) fn new(def: &Definition) -> Result<Layout, String> {
        let mut cells = Vec::with_capacity(def.grid.len());
        for g in &def.grid {
            let mut row = Vec::with_capacity(g.values.len());
            for text in &g.values {
                let v: toml_edit::Value = text.parse().map_err(|_| {
                    format!("grid value {text:?} of `{}` is not a TOML value", g.key)
                })?;
                row.push(cell(&v));
            }
            cells.push(row);
        }
        Ok(Layout { cells })
    }

    fn point_cells<'a>(
        &'a self,
        def: &Definition,
        point: u64,
    ) -> Vec<&'a (String, serde_json::Value)> {
        def.value_indices(point)
            .into_iter()
            .enumerate()
            .map(|(k, i)| &self.cells[k][i])
            .collect()
    }

    /// The CSV text and JSON value of value `value` of grid key `key`.
    pub(crate) fn value(&self, key: usize, value: usize) -> &(String, serde_json::Value) {
        &self.cells[key][value]
    }

    /// The CSV cells of `point`, one per grid key.
    pub(crate) fn point_texts(&self, def: &Definition, point: u64) -> Vec<String> {
        self.point_cells(def, point)
            .into_iter()
            .map(|c| c.0.clone())
            .collect()
    }
}

/// A grid value's CSV text and JSON value: strings as themselves, numbers and booleans as
/// numbers and booleans, arrays and tables as their TOML text.
fn cell(v: &toml_edit::Value) -> (String, serde_json::Value) {
    use serde_json::Value as J;
    match v {
        toml_edit::Value::String(s) => (s.value().clone(), J::String(s.value().clone())),
        toml_edit::Value::Integer(i) => (i.value().to_string(), J::from(*i.value())),
        toml_edit::Value::Float(f) => (
            float_text(*f.value()),
            serde_json::Number::from_f64(*f.value()).map_or(J::Null, J::Number),
        ),
        toml_edit::Value::Boolean(b) => (b.value().to_string(), J::Bool(*b.value())),
        other => {
            let text = other.to_string().trim().to_owned();
            (text.clone(), J::String(text))
        }
    }
}

/// `(key, value)` pairs serialized as a JSON object in this order.
struct Ordered<'a, V>(Vec<(&'a str, V)>);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The files of a sweep directory, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files {
    /// `runs.csv`: one row per run.
    pub runs_csv: String,
    /// `runs.jsonl`: the same rows, one JSON object a line.
    pub runs_jsonl: String,
    /// `summary.csv`: per grid point and metric, n, mean, sd and the 95 % interval.
    pub summary_csv: String,
    /// `summary.jsonl`: the same, one JSON object a line.
    pub summary_jsonl: String,
    /// `charts/<name>.svg`: each chart of the summary ([`crate::chart`]), as `(path relative
    /// to the directory, SVG text)`, in page order.
    pub charts: Vec<(String, String)>,
    /// `sweep.html`: the summary page with every chart inline.
    pub sweep_html: String,
    /// `sweep.json`: [`Metadata`], pretty-printed.
    pub sweep_json: String,
}

impl Files {
    /// `(path relative to the directory, contents)` in a fixed order, `sweep.json` last: a
    /// writer that stops part way leaves a directory without `sweep.json`, which `merge`
    /// refuses. Chart paths are under `charts/`.
    pub fn entries(&self) -> Vec<(&str, &str)> {
        let mut e = vec![
            ("runs.csv", self.runs_csv.as_str()),
            ("runs.jsonl", self.runs_jsonl.as_str()),
            ("summary.csv", self.summary_csv.as_str()),
            ("summary.jsonl", self.summary_jsonl.as_str()),
        ];
        e.extend(self.charts.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        e.push(("sweep.html", self.sweep_html.as_str()));
        e.push(("sweep.json", self.sweep_json.as_str()));
        e
    }
}

/// The header of `runs.csv`: `run, point, <grid keys>, seed, <metrics>, events`.
pub(crate) fn runs_header(def: &Definition) -> Vec<String> {
    let mut h = vec!["run".to_owned(), "point".to_owned()];
    h.extend(def.grid.iter().map(|g| g.key.clone()));
    h.push("seed".to_owned());
    h.extend(def.metrics.iter().cloned());
    h.push("events".to_owned());
    h
}

/// The header of `summary.csv`: `point, <grid keys>, metric, n, mean, sd, ci95_low, ci95_high`.
fn summary_header(def: &Definition) -> Vec<String> {
    let mut h = vec!["point".to_owned()];
    h.extend(def.grid.iter().map(|g| g.key.clone()));
    for c in ["metric", "n", "mean", "sd", "ci95_low", "ci95_high"] {
        h.push(c.to_owned());
    }
    h
}

/// One grid point's summary: a [`stats::Summary`] per metric in definition order, then one
/// of `events`. These are the numbers of `summary.csv`, and the numbers the charts draw.
#[derive(Clone, Debug)]
pub(crate) struct PointSummary {
    /// The grid point.
    pub point: u64,
    /// Per metric, then `events`.
    pub summaries: Vec<stats::Summary>,
}

/// The summary of each grid point that has rows (`rows` sorted by run index, so by point).
pub(crate) fn summarize_points(def: &Definition, rows: &[Row]) -> Vec<PointSummary> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let point = rows[i].point;
        let mut j = i;
        while j < rows.len() && rows[j].point == point {
            j += 1;
        }
        let group = &rows[i..j];
        let summaries = (0..=def.metrics.len())
            .map(|m| {
                let values: Vec<f64> = group
                    .iter()
                    .filter_map(|r| match r.metrics.get(m) {
                        Some(v) => v.map(Num::as_f64),
                        None => Some(r.events as f64),
                    })
                    .collect();
                stats::summarize(&values)
            })
            .collect();
        out.push(PointSummary { point, summaries });
        i = j;
    }
    out
}

/// Renders every file. `rows` must be sorted by run index (they are sorted again here).
pub(crate) fn render(
    def: &Definition,
    layout: &Layout,
    shard: Option<Shard>,
    rows: &mut [Row],
) -> Files {
    rows.sort_by_key(|r| r.run);
    let mut runs_csv = String::new();
    csv::write_record(&mut runs_csv, &runs_header(def));
    let mut runs_jsonl = String::new();
    for r in rows.iter() {
        let cells = layout.point_cells(def, r.point);
        let mut rec: Vec<String> = vec![r.run.to_string(), r.point.to_string()];
        rec.extend(cells.iter().map(|c| c.0.clone()));
        rec.push(r.seed.to_string());
        rec.extend(
            r.metrics
                .iter()
                .map(|m| m.map(Num::text).unwrap_or_default()),
        );
        rec.push(r.events.to_string());
        csv::write_record(&mut runs_csv, &rec);

        #[derive(Serialize)]
        struct RunLine<'a> {
            run: u64,
            point: u64,
            seed: u64,
            params: Ordered<'a, &'a serde_json::Value>,
            metrics: Ordered<'a, Option<Num>>,
            events: u64,
        }
        let line = RunLine {
            run: r.run,
            point: r.point,
            seed: r.seed,
            params: Ordered(
                def.grid
                    .iter()
                    .zip(&cells)
                    .map(|(g, c)| (g.key.as_str(), &c.1))
                    .collect(),
            ),
            metrics: Ordered(
                def.metrics
                    .iter()
                    .zip(&r.metrics)
                    .map(|(m, v)| (m.as_str(), *v))
                    .collect(),
            ),
            events: r.events,
        };
        runs_jsonl.push_str(&serde_json::to_string(&line).unwrap_or_default());
        runs_jsonl.push('\n');
    }

    let points = summarize_points(def, rows);
    let mut summary_csv = String::new();
    csv::write_record(&mut summary_csv, &summary_header(def));
    let mut summary_jsonl = String::new();
    for p in &points {
        let cells = layout.point_cells(def, p.point);
        let names = def.metrics.iter().map(String::as_str).chain(["events"]);
        for (name, s) in names.zip(&p.summaries) {
            let opt = |x: Option<f64>| x.map(float_text).unwrap_or_default();
            let mut rec: Vec<String> = vec![p.point.to_string()];
            rec.extend(cells.iter().map(|c| c.0.clone()));
            rec.extend([
                name.to_owned(),
                s.n.to_string(),
                opt(s.mean),
                opt(s.sd),
                opt(s.ci95_low),
                opt(s.ci95_high),
            ]);
            csv::write_record(&mut summary_csv, &rec);

            #[derive(Serialize)]
            struct SummaryLine<'a> {
                point: u64,
                params: Ordered<'a, &'a serde_json::Value>,
                metric: &'a str,
                n: u64,
                mean: Option<f64>,
                sd: Option<f64>,
                ci95_low: Option<f64>,
                ci95_high: Option<f64>,
            }
            let line = SummaryLine {
                point: p.point,
                params: Ordered(
                    def.grid
                        .iter()
                        .zip(&cells)
                        .map(|(g, c)| (g.key.as_str(), &c.1))
                        .collect(),
                ),
                metric: name,
                n: s.n,
                mean: s.mean,
                sd: s.sd,
                ci95_low: s.ci95_low,
                ci95_high: s.ci95_high,
            };
            summary_jsonl.push_str(&serde_json::to_string(&line).unwrap_or_default());
            summary_jsonl.push('\n');
        }
    }
    let charts = chart::charts(def, layout, &points);
    let sweep_html = chart::page(def, layout, shard, rows.len() as u64, &points, &charts);
    let charts = charts.into_iter().map(|c| (c.path, c.svg)).collect();

    let meta = Metadata {
        format: FORMAT.to_owned(),
        wiretap_version: env!("CARGO_PKG_VERSION").to_owned(),
        fingerprint: def.fingerprint(),
        points: def.points(),
        runs_total: def.runs(),
        shard,
        runs_in_slice: rows.len() as u64,
        rows_sha256: hex(&Sha256::digest(runs_csv.as_bytes())),
        definition: def.clone(),
    };
    let mut sweep_json = serde_json::to_string_pretty(&meta).unwrap_or_default();
    sweep_json.push('\n');
    Files {
        runs_csv,
        runs_jsonl,
        summary_csv,
        summary_jsonl,
        charts,
        sweep_html,
        sweep_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> Definition {
        Definition {
            name: "t".into(),
            scenario: "small-lab".into(),
            scenario_sha256: "00".into(),
            seeds: vec![1, 2, 3],
            metrics: vec!["a.x".into(), "b".into()],
            grid: vec![
                GridParam {
                    key: "k.one".into(),
                    values: vec!["2.0".into(), "4.5".into()],
                },
                GridParam {
                    key: "k.two".into(),
                    values: vec!["\"a,b\"".into(), "\"c\"".into(), "7".into()],
                },
            ],
        }
    }

    #[test]
    fn runs_map_to_points_last_key_fastest() {
        let d = def();
        assert_eq!((d.points(), d.runs()), (6, 18));
        assert_eq!(d.run_of(0), (0, 1));
        assert_eq!(d.run_of(5), (1, 3));
        assert_eq!(d.value_indices(0), vec![0, 0]);
        assert_eq!(d.value_indices(1), vec![0, 1]);
        assert_eq!(d.value_indices(3), vec![1, 0]);
        assert_eq!(d.value_indices(5), vec![1, 2]);
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(float_text(2.0), "2.0");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(1e-7), "0.0000001");
        assert_eq!(float_text(1e21), "1000000000000000000000.0");
        for x in [0.1, 1.0 / 3.0, 2.0, 1e-7, 123456.789, -0.5] {
            assert_eq!(Num::parse(&float_text(x)), Some(Num::Float(x)));
        }
        assert_eq!(Num::parse("12"), Some(Num::UInt(12)));
        assert_eq!(Num::parse("-3"), Some(Num::Int(-3)));
        assert_eq!(Num::parse("x"), None);
    }

    #[test]
    fn files_have_the_documented_shape() {
        let d = def();
        let layout = Layout::new(&d).unwrap();
        let mut rows: Vec<Row> = (0..6)
            .rev()
            .map(|run| {
                let (point, seed) = d.run_of(run);
                Row {
                    run,
                    point,
                    seed,
                    metrics: vec![Some(Num::Float(run as f64 / 4.0)), None],
                    events: 100 + run,
                }
            })
            .collect();
        let f = render(&d, &layout, None, &mut rows);
        let mut lines = f.runs_csv.lines();
        assert_eq!(
            lines.next(),
            Some("run,point,k.one,k.two,seed,a.x,b,events")
        );
        assert_eq!(lines.next(), Some("0,0,2.0,\"a,b\",1,0.0,,100"));
        assert_eq!(lines.nth(3), Some("4,1,2.0,c,2,1.0,,104"));
        let first: serde_json::Value =
            serde_json::from_str(f.runs_jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(
            f.runs_jsonl.lines().next().unwrap(),
            r#"{"run":0,"point":0,"seed":1,"params":{"k.one":2.0,"k.two":"a,b"},"metrics":{"a.x":0.0,"b":null},"events":100}"#
        );
        assert_eq!(first["params"]["k.two"], "a,b");
        let mut s = f.summary_csv.lines();
        assert_eq!(
            s.next(),
            Some("point,k.one,k.two,metric,n,mean,sd,ci95_low,ci95_high")
        );
        // point 0 = runs 0, 1, 2: a.x = 0, 0.25, 0.5.
        let row: Vec<&str> = s.next().unwrap().split(',').collect();
        assert_eq!(&row[..4], &["0", "2.0", "\"a", "b\""]);
        assert_eq!(&row[4..7], &["a.x", "3", "0.25"]);
        assert_eq!(s.next(), Some("0,2.0,\"a,b\",b,0,,,,"));
        let ev: Vec<&str> = s.next().unwrap().split(',').collect();
        assert_eq!(&ev[4..7], &["events", "3", "101.0"]);
        let meta: Metadata = serde_json::from_str(&f.sweep_json).unwrap();
        assert_eq!(meta.definition, d);
        assert_eq!(meta.fingerprint, d.fingerprint());
        assert_eq!(meta.runs_in_slice, 6);
    }
}
