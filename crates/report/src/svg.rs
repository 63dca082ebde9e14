//! Shared pieces of wiretap's HTML pages and SVG charts: the report page (`html/`) and the
//! sweep charts (`crates/sweep`) use the same colours, escaping, style sheet and accessible SVG
//! elements.
//!
//! Colours are the Okabe–Ito palette, which stays distinguishable under the common colour-vision
//! deficiencies; every SVG opens with `role="img"`, an `aria-label` and a `<title>`; markers
//! come in four shapes so that series never differ by colour alone.

use std::fmt::Write;

/// Okabe–Ito colours (Okabe & Ito, "Color Universal Design", 2002).
pub mod palette {
    /// Read by the adversary / compromised.
    pub const VERMILION: &str = "#D55E00";
    /// Captured but sealed.
    pub const BLUE: &str = "#0072B2";
    /// Never crossed a vantage point.
    pub const SKY: &str = "#56B4E9";
    /// Correct reconstruction.
    pub const GREEN: &str = "#009E73";
    /// Highlights.
    pub const ORANGE: &str = "#E69F00";
    /// Extra series.
    pub const PURPLE: &str = "#CC79A7";
    /// Extra series.
    pub const YELLOW: &str = "#F0E442";
    /// Text and outlines.
    pub const BLACK: &str = "#000000";
    /// Series colours in order, for charts with several lines.
    pub const SERIES: [&str; 7] = [VERMILION, BLUE, GREEN, ORANGE, PURPLE, SKY, YELLOW];
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The pages' style sheet: readable type, tables with tabular figures, figures on a light panel
/// (no web fonts, nothing fetched).
pub const PAGE_STYLE: &str = "
:root{--ink:#1a1a1a;--muted:#555;--line:#d0d0d0;--bg:#fff;--panel:#f6f6f4}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg);margin:0}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1.25rem}
header{padding-top:1.5rem;border-bottom:3px solid #0072B2}
h1{font-size:1.8rem;margin:.2rem 0}
h2{font-size:1.35rem;margin:2.2rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.1rem;margin:1.4rem 0 .4rem}
.lede{color:var(--muted);margin:.2rem 0 1rem}
nav ul{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;list-style:none;padding:0;margin:.6rem 0 1rem}
nav a{color:#0072B2}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.8rem;margin:1rem 0}
.card{background:var(--panel);border-left:5px solid #0072B2;padding:.6rem .8rem}
.card.bad{border-color:#D55E00}
.card .n{font-size:1.6rem;font-weight:700;display:block}
table{border-collapse:collapse;margin:.6rem 0 1rem;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--ink)}
td.num,th.num{text-align:right}
figure{margin:1rem 0;background:var(--panel);padding:.8rem}
figcaption{color:var(--muted);font-size:.92rem;margin-top:.4rem}
svg{max-width:100%;height:auto;display:block}
.graphs{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}
.graphs figure{margin:0}
.key{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.3em;border:1px solid #000}
blockquote{margin:.2rem 0;padding:.2rem .8rem;border-left:4px solid #D55E00;background:var(--panel);overflow-wrap:anywhere}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
footer{color:var(--muted);border-top:1px solid var(--line);margin-top:2rem;padding-bottom:2rem;font-size:.9rem}
";

/// An SVG opening tag with its accessible name and title.
pub fn svg_open(o: &mut String, id: &str, w: u32, h: u32, label: &str) {
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-labelledby=\"{id}-title\" aria-label=\"{l}\" id=\"{id}\">\n<title id=\"{id}-title\">{l}</title>\n",
        l = escape(label)
    );
}

/// A text label.
pub fn text(o: &mut String, x: f64, y: f64, size: u32, anchor: &str, fill: &str, s: &str) {
    let _ = writeln!(
        o,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{fill}\" font-family=\"system-ui,sans-serif\">{}</text>",
        escape(s)
    );
}

/// A data marker of one of four shapes, with a tooltip title.
pub fn marker(o: &mut String, shape: &str, x: f64, y: f64, colour: &str, title: &str) {
    let body = match shape {
        "square" => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"",
            x - 5.0,
            y - 5.0
        ),
        "diamond" => format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}\"",
            y - 6.5,
            x + 6.5,
            y + 6.5,
            x - 6.5
        ),
        "triangle" => format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"",
            y - 6.5,
            x + 6.0,
            y + 5.0,
            x - 6.0,
            y + 5.0
        ),
        _ => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5.5\""),
    };
    let _ = writeln!(
        o,
        "{body} fill=\"{colour}\" stroke=\"#000\" stroke-width=\"1\"><title>{}</title></{}>",
        escape(title),
        match shape {
            "square" => "rect",
            "diamond" | "triangle" => "polygon",
            _ => "circle",
        }
    );
}
