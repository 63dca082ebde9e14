//! The charts of a sweep (`charts/*.svg`) and its summary page (`sweep.html`).
//!
//! Every chart draws the numbers of `summary.csv` and nothing else: for each grid point, the
//! mean of a metric over the point's seeds as a marker and its 95 % Student-t interval
//! (`ci95_low` to `ci95_high`, see [`crate::stats`]) as an error bar; a point with one run
//! has a marker and no bar, a point with no value neither.
//!
//! - **Metric against parameter**: one chart per metric and per grid key with at least two
//!   values. The key's values are the x axis — a linear axis when every value is a number, else
//!   one evenly spaced slot per value in file order — and each combination of the other keys'
//!   values is a series (a colour, a marker shape and a dash pattern, with a legend).
//! - **Trade-off**: when the metrics include costs (paths under `costs.`), one scatter per
//!   other metric and cost metric: each grid point at (mean cost, mean metric) with both
//!   intervals, so leakage can be read against what a countermeasure costs.
//!
//! Axes are linear with "nice" ticks (1, 2 or 5 × a power of ten) computed with plain
//! arithmetic, and every coordinate is printed with two decimals, so a chart is a function of the
//! definition and the rows: the same bytes for any thread count, shard split or merge. Each
//! marker carries its numbers as `data-*` attributes (the exact text of `summary.csv`) and in a
//! `<title>` tooltip.
//!
//! Accessibility follows the HTML report (`report::svg`): `role="img"`, an `aria-label` and a
//! `<title>` on every SVG, the Okabe–Ito palette, series told apart by shape and dash as well as
//! colour, and on the page every number a chart shows is also in a table.

use std::collections::BTreeMap;
use std::fmt::Write;

use report::svg::{escape, marker, palette, svg_open, text, PAGE_STYLE};

use crate::output::{float_text, Definition, Layout, PointSummary, Shard};
use crate::stats::Summary;

/// Width of every chart, px.
const WIDTH: f64 = 720.0;
/// Left margin (y tick labels and the y axis title).
const LEFT: f64 = 92.0;
/// Right margin.
const RIGHT: f64 = 24.0;
/// Top margin (title and subtitle).
const TOP: f64 = 58.0;
/// Height of the plot area.
const PLOT_H: f64 = 280.0;
/// Below the plot: tick labels and the x axis title.
const BELOW: f64 = 58.0;
/// One legend row.
const LEGEND_ROW: f64 = 18.0;
/// Space kept free at both ends of a linear x axis.
const X_INSET: f64 = 24.0;
/// Most legend rows drawn; further series are named in their markers' tooltips.
const LEGEND_MAX: usize = 40;
/// Marker shapes, in series order.
const SHAPES: [&str; 4] = ["circle", "square", "diamond", "triangle"];
/// Dash patterns, in series order (after the colours cycle).
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

/// What a chart plots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Metric `metric` (index into the definition's metrics) against grid key `key`.
    Parameter {
        /// Index of the metric.
        metric: usize,
        /// Index of the grid key.
        key: usize,
    },
    /// Metric `metric` against cost metric `cost`, one marker per grid point.
    TradeOff {
        /// Index of the metric on the y axis.
        metric: usize,
        /// Index of the cost metric on the x axis.
        cost: usize,
    },
}

/// One chart: where it is written, its title and its SVG.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Path relative to the sweep directory: `charts/<name>.svg`.
    pub path: String,
    /// What it plots.
    pub kind: ChartKind,
    /// Its title (also its accessible name).
    pub title: String,
    /// The `<svg>` element, without the XML declaration the file starts with.
    pub svg: String,
}

/// True for a cost metric: a path under `costs.` (`docs/report-schema.md`).
pub fn is_cost(metric: &str) -> bool {
    metric.starts_with("costs.")
}

/// A file-name-safe form of `s`: `[A-Za-z0-9._-]` kept, anything else `_`.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A linear axis from `min` to `max` with its ticks.
#[derive(Clone, Debug)]
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl Axis {
    /// A "nice" axis covering `[lo, hi]`: the tick step is 1, 2 or 5 times a power of ten,
    /// about five ticks, ends on ticks. A single value gets a range around it.
    fn covering(lo: f64, hi: f64) -> Axis {
        let (mut lo, mut hi) = (lo, hi);
        if hi - lo <= hi.abs().max(lo.abs()) * 1e-12 {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            lo -= pad;
            hi += pad;
        }
        let raw = (hi - lo) / 5.0;
        // The power of ten at or below `raw`, by repeated multiplication (no libm: the same
        // bits on every platform).
        let mut mag = 1.0f64;
        let mut decimals = 0usize;
        while mag > raw {
            mag /= 10.0;
            decimals += 1;
        }
        while mag * 10.0 <= raw {
            mag *= 10.0;
        }
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|f| f * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        if step >= 10.0 * mag && decimals > 0 {
            decimals -= 1;
        }
        let min = (lo / step).floor() * step;
        let max = (hi / step).ceil() * step;
        let count = ((max - min) / step).round() as usize;
        let ticks = (0..=count).map(|i| min + step * i as f64).collect();
        Axis {
            min,
            max,
            ticks,
            decimals,
        }
    }

    /// Where `v` falls, as a share of the axis, 0 at `min` and 1 at `max`.
    fn share(&self, v: f64) -> f64 {
        (v - self.min) / (self.max - self.min)
    }

    fn label(&self, v: f64) -> String {
        let v = if v.abs() < 1e-300 { 0.0 } else { v };
        format!("{:.*}", self.decimals, v)
    }
}

/// The plot area's pixel mapping.
struct Frame {
    /// Left edge of the plot area.
    x0: f64,
    /// Width of the plot area.
    w: f64,
    /// Top edge of the plot area.
    y0: f64,
    /// Height of the plot area.
    h: f64,
}

impl Frame {
    fn new() -> Frame {
        Frame {
            x0: LEFT,
            w: WIDTH - LEFT - RIGHT,
            y0: TOP,
            h: PLOT_H,
        }
    }
    fn y(&self, axis: &Axis, v: f64) -> f64 {
        self.y0 + self.h - axis.share(v) * self.h
    }
    /// A linear x axis keeps [`X_INSET`] free at both ends, so that markers and bars at the
    /// ends of the range stay inside the frame.
    fn x(&self, axis: &Axis, v: f64) -> f64 {
        self.x0 + X_INSET + axis.share(v) * (self.w - 2.0 * X_INSET)
    }
}

/// The x axis of a chart: numbers on a linear axis, or one slot per category.
enum XAxis {
    Linear(Axis),
    Slots(Vec<String>),
}

/// One drawn point: its grid point, its position on the x axis and the two summaries.
struct Mark {
    point: u64,
    /// Pixel x of the marker.
    x: f64,
    /// The plotted summary (y).
    y: Summary,
    /// Trade-off charts: the cost summary (x).
    x_summary: Option<Summary>,
    /// The tooltip's `key = value, ...`.
    label: String,
}

/// `ci95_low..ci95_high` when both exist.
fn interval(s: &Summary) -> Option<(f64, f64)> {
    Some((s.ci95_low?, s.ci95_high?))
}

/// Every finite value a summary draws: mean and the interval's ends.
fn extent(s: &Summary) -> impl Iterator<Item = f64> {
    [s.mean, s.ci95_low, s.ci95_high]
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
}

/// A plain decimal for labels and tables: at most four decimals, trailing zeros dropped.
pub(crate) fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// The summary in words, for tooltips.
fn describe(s: &Summary) -> String {
    match (s.mean, interval(s)) {
        (Some(m), Some((lo, hi))) => format!(
            "mean {} (95% CI {} to {}, n = {})",
            short(m),
            short(lo),
            short(hi),
            s.n
        ),
        (Some(m), None) => format!("mean {} (n = {}, no interval)", short(m), s.n),
        _ => "no value".to_owned(),
    }
}

fn opt_text(v: Option<f64>) -> String {
    v.map(float_text).unwrap_or_default()
}

/// The `data-*` attributes of a summary: the exact cells of `summary.csv`.
fn data_attrs(prefix: &str, s: &Summary) -> String {
    format!(
        " data-{prefix}n=\"{}\" data-{prefix}mean=\"{}\" data-{prefix}ci-low=\"{}\" data-{prefix}ci-high=\"{}\"",
        s.n,
        opt_text(s.mean),
        opt_text(s.ci95_low),
        opt_text(s.ci95_high)
    )
}

/// A vertical (or horizontal) error bar with end caps, in class `ci`.
fn error_bar(o: &mut String, vertical: bool, at: f64, from: f64, to: f64, colour: &str) {
    let cap = 5.0;
    let (x1, y1, x2, y2) = if vertical {
        (at, from, at, to)
    } else {
        (from, at, to, at)
    };
    let _ = write!(
        o,
        "<g class=\"ci\" stroke=\"{colour}\" stroke-width=\"1.6\"><line x1=\"{x1:.2}\" y1=\"{y1:.2}\" x2=\"{x2:.2}\" y2=\"{y2:.2}\"/>"
    );
    for end in [from, to] {
        let (a1, b1, a2, b2) = if vertical {
            (at - cap, end, at + cap, end)
        } else {
            (end, at - cap, end, at + cap)
        };
        let _ = write!(
            o,
            "<line x1=\"{a1:.2}\" y1=\"{b1:.2}\" x2=\"{a2:.2}\" y2=\"{b2:.2}\"/>"
        );
    }
    o.push_str("</g>\n");
}

/// Axes, grid lines, tick labels and axis titles.
fn draw_axes(o: &mut String, f: &Frame, x: &XAxis, y: &Axis, x_title: &str, y_title: &str) {
    let _ = writeln!(
        o,
        "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"#ffffff\" stroke=\"#444444\" stroke-width=\"1\"/>",
        f.x0, f.y0, f.w, f.h
    );
    o.push_str("<g class=\"y-axis\">\n");
    for &t in &y.ticks {
        let py = f.y(y, t);
        let _ = writeln!(
            o,
            "<line x1=\"{:.2}\" y1=\"{py:.2}\" x2=\"{:.2}\" y2=\"{py:.2}\" stroke=\"#d0d0d0\" stroke-width=\"1\"/>",
            f.x0,
            f.x0 + f.w
        );
        text(
            o,
            f.x0 - 6.0,
            py + 4.0,
            12,
            "end",
            palette::BLACK,
            &y.label(t),
        );
    }
    o.push_str("</g>\n<g class=\"x-axis\">\n");
    let base = f.y0 + f.h;
    match x {
        XAxis::Linear(ax) => {
            for &t in &ax.ticks {
                let px = f.x(ax, t);
                let _ = writeln!(
                    o,
                    "<line x1=\"{px:.2}\" y1=\"{base:.2}\" x2=\"{px:.2}\" y2=\"{:.2}\" stroke=\"#444444\" stroke-width=\"1\"/>",
                    base + 5.0
                );
                text(
                    o,
                    px,
                    base + 19.0,
                    12,
                    "middle",
                    palette::BLACK,
                    &ax.label(t),
                );
            }
        }
        XAxis::Slots(labels) => {
            let n = labels.len().max(1) as f64;
            for (i, l) in labels.iter().enumerate() {
                let px = f.x0 + f.w * (i as f64 + 0.5) / n;
                let _ = writeln!(
                    o,
                    "<line x1=\"{px:.2}\" y1=\"{base:.2}\" x2=\"{px:.2}\" y2=\"{:.2}\" stroke=\"#444444\" stroke-width=\"1\"/>",
                    base + 5.0
                );
                let shown: String = if l.chars().count() > 18 {
                    format!("{}…", l.chars().take(17).collect::<String>())
                } else {
                    l.clone()
                };
                text(o, px, base + 19.0, 12, "middle", palette::BLACK, &shown);
            }
        }
    }
    o.push_str("</g>\n");
    text(
        o,
        f.x0 + f.w / 2.0,
        base + 42.0,
        13,
        "middle",
        palette::BLACK,
        x_title,
    );
    let (cx, cy) = (18.0, f.y0 + f.h / 2.0);
    let _ = writeln!(
        o,
        "<text x=\"{cx:.1}\" y=\"{cy:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"{}\" font-family=\"system-ui,sans-serif\" transform=\"rotate(-90 {cx:.1} {cy:.1})\">{}</text>",
        palette::BLACK,
        escape(y_title)
    );
}

/// The chart's frame: the SVG element, a white background, the title and subtitle.
fn open(o: &mut String, id: &str, height: f64, title: &str, subtitle: &str) {
    svg_open(o, id, WIDTH as u32, height.ceil() as u32, title);
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH:.0}\" height=\"{:.0}\" fill=\"#ffffff\"/>",
        height.ceil()
    );
    text(o, LEFT, 22.0, 15, "start", palette::BLACK, title);
    text(o, LEFT, 42.0, 12, "start", "#555555", subtitle);
}

/// "a = 1, b = x" for the given keys at `point`.
fn params_label(def: &Definition, layout: &Layout, point: u64, keys: &[usize]) -> String {
    let idx = def.value_indices(point);
    keys.iter()
        .map(|&k| format!("{} = {}", def.grid[k].key, layout.value(k, idx[k]).0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn subtitle(def: &Definition) -> String {
    format!(
        "mean over {} seed{} per grid point; bars: 95% confidence interval (Student t)",
        def.seeds.len(),
        if def.seeds.len() == 1 { "" } else { "s" }
    )
}

/// The chart of metric `m` against grid key `k`.
fn parameter_chart(
    def: &Definition,
    layout: &Layout,
    points: &[PointSummary],
    m: usize,
    k: usize,
    id: &str,
) -> (String, String) {
    let metric = &def.metrics[m];
    let key = &def.grid[k].key;
    let title = format!("{metric} against {key}");
    let values = def.grid[k].values.len();
    // Numbers on a linear axis, anything else in slots.
    let numbers: Option<Vec<f64>> = (0..values)
        .map(|i| layout.value(k, i).1.as_f64().filter(|v| v.is_finite()))
        .collect();
    let x_axis = match &numbers {
        Some(v) => {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            XAxis::Linear(Axis::covering(lo, hi))
        }
        None => XAxis::Slots((0..values).map(|i| layout.value(k, i).0.clone()).collect()),
    };
    // Series: the other keys that vary, each combination of their values in point order.
    let others: Vec<usize> = (0..def.grid.len())
        .filter(|&j| j != k && def.grid[j].values.len() > 1)
        .collect();
    let mut series: BTreeMap<Vec<usize>, Vec<(usize, &PointSummary)>> = BTreeMap::new();
    for p in points {
        let idx = def.value_indices(p.point);
        let skey: Vec<usize> = others.iter().map(|&j| idx[j]).collect();
        series.entry(skey).or_default().push((idx[k], p));
    }
    let n_series = series.len();
    let legend_rows = if others.is_empty() {
        0
    } else {
        n_series.min(LEGEND_MAX)
    };
    let height = TOP + PLOT_H + BELOW + legend_rows as f64 * LEGEND_ROW + 8.0;
    let f = Frame::new();
    let all = points.iter().flat_map(|p| extent(&p.summaries[m]));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let mut o = String::new();
    open(&mut o, id, height, &title, &subtitle(def));
    if !lo.is_finite() {
        text(
            &mut o,
            WIDTH / 2.0,
            TOP + PLOT_H / 2.0,
            14,
            "middle",
            palette::BLACK,
            "no run has a value for this metric",
        );
        o.push_str("</svg>\n");
        return (title, o);
    }
    let y_axis = Axis::covering(lo, hi);
    draw_axes(&mut o, &f, &x_axis, &y_axis, key, metric);
    let slot_w = f.w / values.max(1) as f64;
    // Series side by side around each x, a few pixels apart, so bars do not hide each other.
    let dodge = (slot_w / (n_series as f64 + 1.0)).min(8.0);
    for (s, (skey, pts)) in series.iter().enumerate() {
        let colour = palette::SERIES[s % palette::SERIES.len()];
        let shape = SHAPES[s % SHAPES.len()];
        let dash = DASHES[(s / palette::SERIES.len()) % DASHES.len()];
        let offset = (s as f64 - (n_series as f64 - 1.0) / 2.0) * dodge;
        let mut marks: Vec<(f64, Mark)> = pts
            .iter()
            .map(|&(vi, p)| {
                let (order, px) = match (&x_axis, &numbers) {
                    (XAxis::Linear(ax), Some(v)) => (v[vi], f.x(ax, v[vi])),
                    _ => (vi as f64, f.x0 + slot_w * (vi as f64 + 0.5)),
                };
                (
                    order,
                    Mark {
                        point: p.point,
                        x: px + offset,
                        y: p.summaries[m],
                        x_summary: None,
                        label: params_label(
                            def,
                            layout,
                            p.point,
                            &(0..def.grid.len()).collect::<Vec<_>>(),
                        ),
                    },
                )
            })
            .collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let series_label = if others.is_empty() {
            metric.clone()
        } else {
            others
                .iter()
                .zip(skey)
                .map(|(&j, &vi)| format!("{} = {}", def.grid[j].key, layout.value(j, vi).0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "<g class=\"series\" data-series=\"{s}\" aria-label=\"{}\">",
            escape(&series_label)
        );
        // The line through consecutive points that have a mean.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
        for (_, mk) in &marks {
            match mk.y.mean.filter(|v| v.is_finite()) {
                Some(v) => run.push((mk.x, f.y(&y_axis, v))),
                None => lines.push(std::mem::take(&mut run)),
            }
        }
        lines.push(run);
        for l in lines.iter().filter(|l| l.len() > 1) {
            let pts: Vec<String> = l.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
            let _ = writeln!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{}/>",
                pts.join(" "),
                if dash.is_empty() {
                    String::new()
                } else {
                    format!(" stroke-dasharray=\"{dash}\"")
                }
            );
        }
        for (_, mk) in &marks {
            draw_mark(&mut o, &f, None, &y_axis, mk, shape, colour, metric);
        }
        o.push_str("</g>\n");
    }
    if legend_rows > 0 {
        let top = TOP + PLOT_H + BELOW;
        o.push_str("<g class=\"legend\">\n");
        for (s, skey) in series.keys().enumerate().take(legend_rows) {
            let colour = palette::SERIES[s % palette::SERIES.len()];
            let shape = SHAPES[s % SHAPES.len()];
            let dash = DASHES[(s / palette::SERIES.len()) % DASHES.len()];
            let y = top + LEGEND_ROW * s as f64 + 6.0;
            let _ = writeln!(
                o,
                "<line x1=\"{:.2}\" y1=\"{y:.2}\" x2=\"{:.2}\" y2=\"{y:.2}\" stroke=\"{colour}\" stroke-width=\"2\"{}/>",
                LEFT,
                LEFT + 28.0,
                if dash.is_empty() {
                    String::new()
                } else {
                    format!(" stroke-dasharray=\"{dash}\"")
                }
            );
            let label = others
                .iter()
                .zip(skey)
                .map(|(&j, &vi)| format!("{} = {}", def.grid[j].key, layout.value(j, vi).0))
                .collect::<Vec<_>>()
                .join(", ");
            marker(&mut o, shape, LEFT + 14.0, y, colour, &label);
            text(
                &mut o,
                LEFT + 38.0,
                y + 4.0,
                12,
                "start",
                palette::BLACK,
                &label,
            );
        }
        if n_series > legend_rows {
            text(
                &mut o,
                LEFT,
                top + LEGEND_ROW * legend_rows as f64 + 6.0,
                12,
                "start",
                "#555555",
                &format!(
                    "… and {} more series (see each marker's tooltip)",
                    n_series - legend_rows
                ),
            );
        }
        o.push_str("</g>\n");
    }
    o.push_str("</svg>\n");
    (title, o)
}

/// One marker with its error bars; `x_axis` is the cost axis of a trade-off chart.
#[allow(clippy::too_many_arguments)]
fn draw_mark(
    o: &mut String,
    f: &Frame,
    x_axis: Option<&Axis>,
    y_axis: &Axis,
    mk: &Mark,
    shape: &str,
    colour: &str,
    metric: &str,
) {
    let Some(mean) = mk.y.mean.filter(|v| v.is_finite()) else {
        return;
    };
    let x = match (x_axis, mk.x_summary.and_then(|s| s.mean)) {
        (Some(ax), Some(c)) => f.x(ax, c),
        (Some(_), None) => return,
        (None, _) => mk.x,
    };
    let y = f.y(y_axis, mean);
    let _ = write!(
        o,
        "<g class=\"point\" data-point=\"{}\"{}",
        mk.point,
        data_attrs("", &mk.y)
    );
    if let Some(xs) = &mk.x_summary {
        o.push_str(&data_attrs("x-", xs));
    }
    let _ = writeln!(o, " data-cx=\"{x:.2}\" data-cy=\"{y:.2}\">");
    if let Some((lo, hi)) = interval(&mk.y) {
        error_bar(o, true, x, f.y(y_axis, lo), f.y(y_axis, hi), colour);
    }
    if let (Some(ax), Some((lo, hi))) = (x_axis, mk.x_summary.as_ref().and_then(interval)) {
        error_bar(o, false, y, f.x(ax, lo), f.x(ax, hi), colour);
    }
    let mut title = format!("{}: {metric} {}", mk.label, describe(&mk.y));
    if let Some(xs) = &mk.x_summary {
        let _ = write!(title, "; cost {}", describe(xs));
    }
    marker(o, shape, x, y, colour, &title);
    o.push_str("</g>\n");
}

/// The trade-off scatter of metric `m` against cost metric `c`.
fn trade_off_chart(
    def: &Definition,
    layout: &Layout,
    points: &[PointSummary],
    m: usize,
    c: usize,
    id: &str,
) -> (String, String) {
    let metric = &def.metrics[m];
    let cost = &def.metrics[c];
    let title = format!("{metric} against {cost}");
    let keys: Vec<usize> = (0..def.grid.len())
        .filter(|&j| def.grid[j].values.len() > 1)
        .collect();
    let drawn: Vec<&PointSummary> = points
        .iter()
        .filter(|p| {
            [m, c]
                .iter()
                .all(|&i| p.summaries[i].mean.is_some_and(f64::is_finite))
        })
        .collect();
    let legend_rows = drawn.len().min(LEGEND_MAX);
    let height = TOP + PLOT_H + BELOW + legend_rows as f64 * LEGEND_ROW + 8.0;
    let f = Frame::new();
    let span = |i: usize| {
        drawn
            .iter()
            .flat_map(|p| extent(&p.summaries[i]))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            })
    };
    let mut o = String::new();
    open(&mut o, id, height, &title, &subtitle(def));
    if drawn.is_empty() {
        text(
            &mut o,
            WIDTH / 2.0,
            TOP + PLOT_H / 2.0,
            14,
            "middle",
            palette::BLACK,
            "no grid point has a value for both metrics",
        );
        o.push_str("</svg>\n");
        return (title, o);
    }
    let (ylo, yhi) = span(m);
    let (xlo, xhi) = span(c);
    let y_axis = Axis::covering(ylo, yhi);
    let x_axis = Axis::covering(xlo, xhi);
    draw_axes(
        &mut o,
        &f,
        &XAxis::Linear(x_axis.clone()),
        &y_axis,
        cost,
        metric,
    );
    for (i, p) in drawn.iter().enumerate() {
        let colour = palette::SERIES[i % palette::SERIES.len()];
        let shape = SHAPES[(i / palette::SERIES.len()) % SHAPES.len()];
        let mk = Mark {
            point: p.point,
            x: 0.0,
            y: p.summaries[m],
            x_summary: Some(p.summaries[c]),
            label: params_label(
                def,
                layout,
                p.point,
                &(0..def.grid.len()).collect::<Vec<_>>(),
            ),
        };
        draw_mark(
            &mut o,
            &f,
            Some(&x_axis),
            &y_axis,
            &mk,
            shape,
            colour,
            metric,
        );
    }
    let top = TOP + PLOT_H + BELOW;
    o.push_str("<g class=\"legend\">\n");
    for (i, p) in drawn.iter().enumerate().take(legend_rows) {
        let colour = palette::SERIES[i % palette::SERIES.len()];
        let shape = SHAPES[(i / palette::SERIES.len()) % SHAPES.len()];
        let y = top + LEGEND_ROW * i as f64 + 6.0;
        let label = if keys.is_empty() {
            format!("point {}", p.point)
        } else {
            format!(
                "point {}: {}",
                p.point,
                params_label(def, layout, p.point, &keys)
            )
        };
        marker(&mut o, shape, LEFT + 8.0, y, colour, &label);
        text(
            &mut o,
            LEFT + 22.0,
            y + 4.0,
            12,
            "start",
            palette::BLACK,
            &label,
        );
    }
    if drawn.len() > legend_rows {
        text(
            &mut o,
            LEFT,
            top + LEGEND_ROW * legend_rows as f64 + 6.0,
            12,
            "start",
            "#555555",
            &format!(
                "… and {} more points (see each marker's tooltip)",
                drawn.len() - legend_rows
            ),
        );
    }
    o.push_str("</g>\n</svg>\n");
    (title, o)
}

/// Every chart of a sweep, in page order: per metric, against each grid key with two values or
/// more; then the trade-offs of each non-cost metric against each cost metric.
pub(crate) fn charts(def: &Definition, layout: &Layout, points: &[PointSummary]) -> Vec<Chart> {
    let mut out: Vec<Chart> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut unique = |base: String| {
        let n = names.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            format!("charts/{base}.svg")
        } else {
            format!("charts/{base}-{n}.svg")
        }
    };
    for m in 0..def.metrics.len() {
        for k in 0..def.grid.len() {
            if def.grid[k].values.len() < 2 {
                continue;
            }
            let id = format!("chart-{}", out.len());
            let (title, svg) = parameter_chart(def, layout, points, m, k, &id);
            let path = unique(format!(
                "{}--vs--{}",
                slug(&def.metrics[m]),
                slug(&def.grid[k].key)
            ));
            out.push(Chart {
                path,
                kind: ChartKind::Parameter { metric: m, key: k },
                title,
                svg,
            });
        }
    }
    let costs: Vec<usize> = (0..def.metrics.len())
        .filter(|&i| is_cost(&def.metrics[i]))
        .collect();
    for m in (0..def.metrics.len()).filter(|&i| !is_cost(&def.metrics[i])) {
        for &c in &costs {
            let id = format!("chart-{}", out.len());
            let (title, svg) = trade_off_chart(def, layout, points, m, c, &id);
            let path = unique(format!(
                "tradeoff-{}--vs--{}",
                slug(&def.metrics[m]),
                slug(&def.metrics[c])
            ));
            out.push(Chart {
                path,
                kind: ChartKind::TradeOff { metric: m, cost: c },
                title,
                svg,
            });
        }
    }
    // Each file is a standalone SVG document.
    for c in &mut out {
        c.svg = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", c.svg);
    }
    out
}

/// The `<svg>` element of a chart file (without its XML declaration), for inlining.
fn inline(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

fn figure(o: &mut String, c: &Chart, caption: &str) {
    let _ = write!(
        o,
        "<h3>{}</h3>\n<figure>\n{}<figcaption>{} <a href=\"{}\">SVG file</a>.</figcaption>\n</figure>\n",
        escape(&c.title),
        inline(&c.svg),
        caption,
        escape(&c.path)
    );
}

/// `sweep.html`: the definition, then per metric its charts and a table of its summary rows,
/// then the trade-offs. Self-contained: no script, nothing fetched (a strict Content Security
/// Policy says so to the browser), the charts inline.
pub(crate) fn page(
    def: &Definition,
    layout: &Layout,
    shard: Option<Shard>,
    runs_in_slice: u64,
    points: &[PointSummary],
    charts: &[Chart],
) -> String {
    let mut o = String::new();
    let title = format!("wiretap sweep — {}", def.name);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let part = match shard {
        Some(s) => format!(
            " This directory holds shard {}/{} ({runs_in_slice} of {} runs): every figure below is over this slice's runs only; <code>wiretap merge</code> of all shards gives the whole sweep's page.",
            s.index,
            s.count,
            def.runs()
        ),
        None => String::new(),
    };
    let _ = write!(
        o,
        "<header>\n<h1>Sweep <code>{}</code></h1>\n<p class=\"lede\">Scenario <code>{}</code>: {} grid point{} × {} seed{} = {} runs. \
         Each point of a chart is the mean of a metric over the seeds of one grid point; its bar is \
         the 95% confidence interval (Student t), exactly as in <code>summary.csv</code>. A point \
         with one run has no bar.{part}</p>\n",
        escape(&def.name),
        escape(&def.scenario),
        def.points(),
        if def.points() == 1 { "" } else { "s" },
        def.seeds.len(),
        if def.seeds.len() == 1 { "" } else { "s" },
        def.runs()
    );
    let has_trade = charts
        .iter()
        .any(|c| matches!(c.kind, ChartKind::TradeOff { .. }));
    o.push_str("<nav aria-label=\"Sections\"><ul>\n<li><a href=\"#grid\">The grid</a></li>\n");
    if has_trade {
        o.push_str("<li><a href=\"#trade-offs\">Trade-offs</a></li>\n");
    }
    for (i, m) in def.metrics.iter().enumerate() {
        let _ = writeln!(
            o,
            "<li><a href=\"#metric-{i}\"><code>{}</code></a></li>",
            escape(m)
        );
    }
    o.push_str("</ul></nav>\n</header>\n<main>\n");

    // The grid.
    o.push_str("<section id=\"grid\">\n<h2>The grid</h2>\n");
    let seeds: Vec<String> = def.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(o, "<p>Seeds: {}.</p>", seeds.join(", "));
    if def.grid.is_empty() {
        o.push_str("<p>No grid keys: the scenario as written, over the seeds.</p>\n");
    } else {
        o.push_str(
            "<table>\n<caption>Grid keys and their values (points vary the last key fastest)</caption>\n\
             <thead><tr><th scope=\"col\">key</th><th scope=\"col\">values</th></tr></thead>\n<tbody>\n",
        );
        for (k, g) in def.grid.iter().enumerate() {
            let vals: Vec<String> = (0..g.values.len())
                .map(|i| format!("<code>{}</code>", escape(&layout.value(k, i).0)))
                .collect();
            let _ = writeln!(
                o,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>",
                escape(&g.key),
                vals.join(", ")
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");

    if has_trade {
        o.push_str(
            "<section id=\"trade-offs\">\n<h2>Trade-offs</h2>\n<p>Each metric against each cost \
             (<code>costs.*</code>), one marker per grid point with both intervals: lower and to \
             the left is less leakage for less cost.</p>\n",
        );
        for c in charts {
            if let ChartKind::TradeOff { metric, cost } = c.kind {
                let caption = format!(
                    "<code>{}</code> (vertical) against the cost <code>{}</code> (horizontal), one marker per grid point, bars the 95% intervals of both; the numbers are in the metrics' tables below.",
                    escape(&def.metrics[metric]),
                    escape(&def.metrics[cost])
                );
                figure(&mut o, c, &caption);
            }
        }
        o.push_str("</section>\n");
    }

    for (m, metric) in def.metrics.iter().enumerate() {
        let _ = writeln!(
            o,
            "<section id=\"metric-{m}\">\n<h2><code>{}</code></h2>",
            escape(metric)
        );
        for c in charts {
            if let ChartKind::Parameter { metric: cm, key } = c.kind {
                if cm == m {
                    let caption = format!(
                        "<code>{}</code> against <code>{}</code>: the mean over the seeds at each value, bars the 95% interval{}.",
                        escape(metric),
                        escape(&def.grid[key].key),
                        if def.grid.iter().enumerate().any(|(j, g)| j != key && g.values.len() > 1) {
                            "; one line per combination of the other keys (colour, marker shape and dash)"
                        } else {
                            ""
                        }
                    );
                    figure(&mut o, c, &caption);
                }
            }
        }
        let _ = write!(
            o,
            "<table>\n<caption>Summary of <code>{}</code> per grid point (as in summary.csv)</caption>\n<thead><tr><th scope=\"col\">point</th>",
            escape(metric)
        );
        for g in &def.grid {
            let _ = write!(o, "<th scope=\"col\"><code>{}</code></th>", escape(&g.key));
        }
        o.push_str(
            "<th scope=\"col\" class=\"num\">n</th><th scope=\"col\" class=\"num\">mean</th>\
             <th scope=\"col\" class=\"num\">95% CI low</th><th scope=\"col\" class=\"num\">95% CI high</th></tr></thead>\n<tbody>\n",
        );
        for p in points {
            let s = &p.summaries[m];
            let idx = def.value_indices(p.point);
            let _ = write!(o, "<tr><th scope=\"row\">{}</th>", p.point);
            for (k, &vi) in idx.iter().enumerate() {
                let _ = write!(o, "<td>{}</td>", escape(&layout.value(k, vi).0));
            }
            let num = |v: Option<f64>| v.map(short).unwrap_or_else(|| "–".to_owned());
            let _ = writeln!(
                o,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                s.n,
                num(s.mean),
                num(s.ci95_low),
                num(s.ci95_high)
            );
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }
    let _ = write!(
        o,
        "</main>\n<footer>\n<p>Generated by <code>wiretap sweep</code> (or <code>wiretap merge</code>) from the \
         definition in <code>sweep.json</code> (fingerprint <code>{}</code>) and the rows of \
         <code>runs.csv</code>: the same sweep gives this page byte for byte, whatever the thread \
         count or sharding. Tables round to four decimals; <code>summary.csv</code> has every digit.</p>\n</footer>\n</body>\n</html>\n",
        &def.fingerprint()[..16]
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::csv;
    use crate::output::{render, GridParam, Num, Row};

    /// Two keys (a number and a string) × 3 seeds; metric `a.x` has a value in every run,
    /// `b.y` only in the first run of each point (no interval), `costs.c` is a cost.
    fn sweep() -> (Definition, Vec<Row>) {
        let def = Definition {
            name: "t".into(),
            scenario: "small-lab".into(),
            scenario_sha256: "00".into(),
            seeds: vec![1, 2, 3],
            metrics: vec!["a.x".into(), "b.y".into(), "costs.c".into()],
            grid: vec![
                GridParam {
                    key: "k.num".into(),
                    values: vec!["8.0".into(), "2.0".into(), "4.0".into()],
                },
                GridParam {
                    key: "k.str".into(),
                    values: vec!["\"none\"".into(), "\"block\"".into()],
                },
            ],
        };
        let rows = (0..def.runs())
            .map(|run| {
                let (point, seed) = def.run_of(run);
                let idx = def.value_indices(point);
                let x = [8.0, 2.0, 4.0][idx[0]];
                // a.x grows with k.num and differs by seed; costs.c grows with k.str.
                let a = x * 0.1 + seed as f64 * 0.01 + idx[1] as f64 * 0.2;
                Row {
                    run,
                    point,
                    seed,
                    metrics: vec![
                        Some(Num::Float(a)),
                        (seed == 1).then_some(Num::UInt(point * 3)),
                        Some(Num::UInt(100 * (idx[1] as u64 + 1) + seed)),
                    ],
                    events: 10,
                }
            })
            .collect();
        (def, rows)
    }

    /// summary.csv as (point, metric) -> (n, mean, ci95_low, ci95_high) cells.
    fn summary_cells(text: &str) -> BTreeMap<(String, String), [String; 4]> {
        let records = csv::read(text).unwrap();
        let header = &records[0].fields;
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (p, m, n, mean, lo, hi) = (
            col("point"),
            col("metric"),
            col("n"),
            col("mean"),
            col("ci95_low"),
            col("ci95_high"),
        );
        records[1..]
            .iter()
            .map(|r| {
                let f = &r.fields;
                (
                    (f[p].clone(), f[m].clone()),
                    [f[n].clone(), f[mean].clone(), f[lo].clone(), f[hi].clone()],
                )
            })
            .collect()
    }

    fn num(node: roxmltree::Node<'_, '_>, attr: &str) -> f64 {
        node.attribute(attr)
            .unwrap_or_else(|| panic!("no {attr}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn charts_are_xml_and_draw_the_summary_numbers() {
        let (def, mut rows) = sweep();
        let layout = Layout::new(&def).unwrap();
        let files = render(&def, &layout, None, &mut rows);
        let cells = summary_cells(&files.summary_csv);
        // 3 metrics × 2 keys, then 2 non-cost metrics × 1 cost.
        assert_eq!(
            files.charts.len(),
            8,
            "{:?}",
            files.charts.iter().map(|c| &c.0).collect::<Vec<_>>()
        );
        assert_eq!(files.charts[0].0, "charts/a.x--vs--k.num.svg");
        assert_eq!(files.charts[6].0, "charts/tradeoff-a.x--vs--costs.c.svg");
        let mut bars = 0;
        for (path, svg) in &files.charts {
            let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{path}: {e}"));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg");
            assert_eq!(root.attribute("role"), Some("img"));
            assert!(root.attribute("aria-label").is_some_and(|l| !l.is_empty()));
            assert!(root.children().any(|c| c.has_tag_name("title")), "{path}");
            let trade = path.contains("tradeoff-");
            let metric = if trade {
                "a.x b.y"
                    .split(' ')
                    .find(|m| path.contains(&format!("tradeoff-{m}-")))
                    .unwrap()
            } else {
                ["a.x", "b.y", "costs.c"]
                    .into_iter()
                    .find(|m| path.starts_with(&format!("charts/{m}-")))
                    .unwrap()
            };
            let points: Vec<_> = doc
                .descendants()
                .filter(|n| n.attribute("class") == Some("point"))
                .collect();
            assert!(!points.is_empty(), "{path}");
            // Each marker carries the exact cells of summary.csv.
            let mut ys = Vec::new();
            for p in &points {
                let point = p.attribute("data-point").unwrap().to_owned();
                let c = &cells[&(point.clone(), metric.to_owned())];
                assert_eq!(p.attribute("data-n"), Some(c[0].as_str()), "{path} {point}");
                assert_eq!(
                    p.attribute("data-mean"),
                    Some(c[1].as_str()),
                    "{path} {point}"
                );
                assert_eq!(p.attribute("data-ci-low"), Some(c[2].as_str()));
                assert_eq!(p.attribute("data-ci-high"), Some(c[3].as_str()));
                if trade {
                    let cc = &cells[&(point.clone(), "costs.c".to_owned())];
                    assert_eq!(p.attribute("data-x-mean"), Some(cc[1].as_str()));
                }
                // An interval is drawn exactly where summary.csv has one.
                let ci: Vec<_> = p
                    .children()
                    .filter(|n| n.attribute("class") == Some("ci"))
                    .collect();
                let want = usize::from(!c[2].is_empty())
                    + usize::from(
                        trade && !cells[&(point.clone(), "costs.c".to_owned())][2].is_empty(),
                    );
                assert_eq!(ci.len(), want, "{path} point {point}");
                bars += ci.len();
                let mean: f64 = c[1].parse().unwrap();
                let cy = num(*p, "data-cy");
                let spans = ci.first().map(|g| {
                    let l = g.children().find(|n| n.has_tag_name("line")).unwrap();
                    (num(l, "y1"), num(l, "y2"))
                });
                ys.push((
                    mean,
                    cy,
                    c[2].parse::<f64>().ok().zip(c[3].parse::<f64>().ok()),
                    spans,
                ));
            }
            // y is one decreasing affine function of the value, for means and interval ends.
            let (m0, y0) = (ys[0].0, ys[0].1);
            let other = ys.iter().find(|v| (v.0 - m0).abs() > 1e-9);
            if let Some(&(m1, y1, _, _)) = other {
                let slope = (y1 - y0) / (m1 - m0);
                assert!(slope < 0.0, "{path}: higher values are drawn higher");
                let at = |v: f64| y0 + slope * (v - m0);
                for (mean, cy, ci, span) in &ys {
                    assert!((at(*mean) - cy).abs() < 0.05, "{path}: {mean} at {cy}");
                    if let (Some((lo, hi)), Some((a, b))) = (ci, span) {
                        assert!(
                            (at(*lo) - a).abs() < 0.05 && (at(*hi) - b).abs() < 0.05,
                            "{path}: interval {lo}..{hi} at {a}..{b}"
                        );
                    }
                }
            }
            // x follows k.num (numbers on a linear axis, whatever their file order) within
            // each series, and the cost in a trade-off.
            if path.ends_with("k.num.svg") || trade {
                for series in doc
                    .descendants()
                    .filter(|n| n.attribute("class") == Some("series") || (trade && n.is_root()))
                {
                    let mut xs: Vec<(f64, f64)> = series
                        .descendants()
                        .filter(|n| n.attribute("class") == Some("point"))
                        .map(|p| {
                            let v = if trade {
                                num(p, "data-x-mean")
                            } else {
                                let point: u64 =
                                    p.attribute("data-point").unwrap().parse().unwrap();
                                [8.0, 2.0, 4.0][def.value_indices(point)[0]]
                            };
                            (v, num(p, "data-cx"))
                        })
                        .collect();
                    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
                    // Larger values further right; equal costs at one x.
                    assert!(
                        xs.windows(2).all(|w| if w[0].0 < w[1].0 {
                            w[0].1 < w[1].1
                        } else {
                            !trade || w[0].1 == w[1].1
                        }),
                        "{path}: {xs:?}"
                    );
                }
            }
        }
        assert!(bars > 0);
        // b.y has one run per point: markers, no bars.
        let by = &files.charts[2].1;
        assert!(by.contains("class=\"point\"") && !by.contains("class=\"ci\""));
    }

    #[test]
    fn charts_and_page_depend_only_on_the_rows() {
        let (def, rows) = sweep();
        let layout = Layout::new(&def).unwrap();
        let a = render(&def, &layout, None, &mut rows.clone());
        let mut reversed: Vec<Row> = rows.into_iter().rev().collect();
        let b = render(&def, &layout, None, &mut reversed);
        assert_eq!(a, b);
        // The page inlines every chart and runs no script.
        for (path, svg) in &a.charts {
            assert!(a.sweep_html.contains(inline(svg)), "{path}");
            assert!(a.sweep_html.contains(&format!("href=\"{path}\"")));
        }
        assert!(!a.sweep_html.to_lowercase().contains("<script"));
        assert!(a.sweep_html.contains("id=\"trade-offs\""));
        // sweep.json is the last entry.
        assert_eq!(a.entries().last().map(|e| e.0), Some("sweep.json"));
    }

    #[test]
    fn one_seed_draws_no_intervals_and_no_grid_draws_only_trade_offs() {
        let (mut def, _) = sweep();
        def.seeds = vec![7];
        let rows: Vec<Row> = (0..def.runs())
            .map(|run| Row {
                run,
                point: run,
                seed: 7,
                metrics: vec![Some(Num::Float(run as f64)), None, Some(Num::UInt(run))],
                events: 1,
            })
            .collect();
        let layout = Layout::new(&def).unwrap();
        let f = render(&def, &layout, None, &mut rows.clone());
        assert!(f.charts.iter().all(|(_, s)| !s.contains("class=\"ci\"")));
        // b.y has no value anywhere: its charts say so.
        assert!(f.charts[2].1.contains("no run has a value"));
        def.grid.clear();
        let layout = Layout::new(&def).unwrap();
        let mut one = vec![Row {
            run: 0,
            point: 0,
            seed: 7,
            metrics: vec![Some(Num::UInt(1)), None, Some(Num::UInt(2))],
            events: 1,
        }];
        let f = render(&def, &layout, None, &mut one);
        let names: Vec<&str> = f.charts.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "charts/tradeoff-a.x--vs--costs.c.svg",
                "charts/tradeoff-b.y--vs--costs.c.svg"
            ]
        );
    }

    #[test]
    fn nice_axes_cover_their_range_with_round_ticks() {
        let a = Axis::covering(0.23, 0.91);
        assert!(a.min <= 0.23 && a.max >= 0.91, "{a:?}");
        assert_eq!(a.label(a.ticks[1]), "0.4");
        assert!(a.ticks.len() >= 4 && a.ticks.len() <= 12, "{a:?}");
        let a = Axis::covering(120.0, 4800.0);
        assert_eq!((a.min, a.max, a.decimals), (0.0, 5000.0, 0), "{a:?}");
        assert_eq!(a.label(1000.0), "1000");
        // One value: a range around it.
        let a = Axis::covering(1.0, 1.0);
        assert!(a.min < 1.0 && a.max > 1.0, "{a:?}");
        let a = Axis::covering(0.0, 0.0);
        assert!(a.min < 0.0 && a.max > 0.0, "{a:?}");
        // Negative ranges and a share that maps the ends to 0 and 1.
        let a = Axis::covering(-3.2, -0.4);
        assert!(a.min <= -3.2 && a.max >= -0.4);
        assert_eq!((a.share(a.min), a.share(a.max)), (0.0, 1.0));
    }

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.123456), "0.1235");
        assert_eq!(short(-0.00001), "0");
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(
            slug("protocols.noise:XX.messages"),
            "protocols.noise_XX.messages"
        );
        assert_eq!(slug("carrier.\"a b\".cells"), "carrier._a_b_.cells");
    }
}
