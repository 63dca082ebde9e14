//! The page's section "Who talks to whom": the true and the reconstructed contact graph drawn
//! side by side over the same subscribers (found, wrong and missed pairs told apart by colour and
//! dash), and the contact pairs by source of evidence over the whole run.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{escape, ContactGraph, Topology};
use crate::score::Report;
use crate::svg::{marker, palette, svg_open};

/// One circular graph drawing: nodes around a circle coloured by carrier, edges as lines.
fn graph_svg(
    o: &mut String,
    id: &str,
    label: &str,
    g: &ContactGraph,
    edges: &[(usize, usize, &str, &str)],
) {
    let size = 420.0;
    let c = size / 2.0;
    let radius = size / 2.0 - 30.0;
    let n = g.nodes.len().max(1);
    let at = |i: usize| {
        let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
        (c + radius * a.cos(), c + radius * a.sin())
    };
    svg_open(o, id, size as u32, size as u32, label);
    for &(a, b, colour, dash) in edges {
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let (x1, y1) = at(a);
        let (x2, y2) = at(b);
        let _ = writeln!(
            o,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-width=\"1.6\" stroke-opacity=\"0.85\"{}><title>{} – {}</title></line>",
            dash,
            escape(&g.nodes[a].msisdn),
            escape(&g.nodes[b].msisdn)
        );
    }
    let shapes = ["circle", "square", "diamond", "triangle"];
    for (i, node) in g.nodes.iter().enumerate() {
        let (x, y) = at(i);
        marker(
            o,
            shapes[node.carrier % shapes.len()],
            x,
            y,
            "#ffffff",
            &node.msisdn,
        );
    }
    o.push_str("</svg>\n");
}

pub(super) fn section_contacts(o: &mut String, r: &Report, g: &ContactGraph, t: &Topology) {
    o.push_str("<section id=\"contacts\">\n<h2>Who talks to whom</h2>\n");
    let m = &r.metadata.contacts;
    let _ = writeln!(
        o,
        "<p>Encryption hides what people say, not to whom. From call records, intercept records, \
         clear signalling and the timing of traffic at the OTT server, the adversary reported \
         <strong>{}</strong> contact pairs, <strong>{}</strong> of them real (precision {:.2}); \
         it found {:.0}% of the <strong>{}</strong> pairs that really exchanged messages.</p>",
        m.all.reported,
        m.all.correct,
        m.all.precision,
        100.0 * m.all.recall,
        m.all.truth
    );
    let sampled = g.nodes.len() < g.subscribers;
    let scope = if sampled {
        format!(
            "{} of {} subscribers: a neighbourhood of the best-connected subscriber",
            g.nodes.len(),
            g.subscribers
        )
    } else {
        format!("all {} subscribers", g.subscribers)
    };
    let correct = g.reported_edges.iter().filter(|e| e.2).count();
    let wrong = g.reported_edges.len() - correct;
    let missed = g.true_edges.len().saturating_sub(correct);
    o.push_str("<div class=\"graphs\">\n<figure>\n");
    let true_edges: Vec<(usize, usize, &str, &str)> = g
        .true_edges
        .iter()
        .map(|&(a, b)| (a, b, palette::BLUE, ""))
        .collect();
    graph_svg(
        o,
        "true-graph-svg",
        &format!(
            "True contact graph over {scope}: {} pairs exchanged messages",
            g.true_edges.len()
        ),
        g,
        &true_edges,
    );
    let _ = writeln!(
        o,
        "<figcaption>The true graph: {} pairs among {scope} really exchanged messages.</figcaption>\n</figure>\n<figure>",
        g.true_edges.len()
    );
    // Missed pairs first, in grey, so found and wrong pairs are drawn over them.
    let found: BTreeSet<(usize, usize)> =
        g.reported_edges.iter().map(|&(a, b, _)| (a, b)).collect();
    let mut rec: Vec<(usize, usize, &str, &str)> = g
        .true_edges
        .iter()
        .filter(|e| !found.contains(e))
        .map(|&(a, b)| (a, b, "#BBBBBB", "2 3"))
        .collect();
    rec.extend(g.reported_edges.iter().map(|&(a, b, ok)| {
        if ok {
            (a, b, palette::GREEN, "")
        } else {
            (a, b, palette::VERMILION, "6 3")
        }
    }));
    graph_svg(
        o,
        "reconstructed-graph-svg",
        &format!(
            "Contact graph reconstructed by the adversary over the same subscribers: {correct} correct pairs, {wrong} wrong, {missed} missed"
        ),
        g,
        &rec,
    );
    let _ = writeln!(
        o,
        "<figcaption>What the adversary reconstructed: <span class=\"key\" style=\"background:{}\"></span>{correct} real pairs found, \
         <span class=\"key\" style=\"background:{}\"></span>{wrong} wrong pairs (dashed); <span class=\"key\" style=\"background:#BBBBBB\"></span>{missed} real pairs missed (grey, dotted).</figcaption>\n</figure>\n</div>",
        palette::GREEN,
        palette::VERMILION
    );
    let shapes = ["circle", "square", "diamond", "triangle"];
    let legend: Vec<String> = t
        .carriers
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = {}", shapes[i % shapes.len()], escape(&c.name)))
        .collect();
    let _ = writeln!(
        o,
        "<p>Subscribers sit around the circle, ordered by carrier and number; the marker shape \
         tells the carrier ({}). Hover a line or a marker for the numbers.</p>",
        legend.join(", ")
    );
    o.push_str("<table>\n<caption>Contact pairs by source of evidence (whole run)</caption>\n<thead><tr><th scope=\"col\">from</th>\
                <th scope=\"col\" class=\"num\">true</th><th scope=\"col\" class=\"num\">reported</th>\
                <th scope=\"col\" class=\"num\">correct</th><th scope=\"col\" class=\"num\">precision</th>\
                <th scope=\"col\" class=\"num\">recall</th></tr></thead>\n<tbody>\n");
    for (name, p) in [
        ("every analysis", &m.all),
        ("call records", &m.from_records),
        ("timing at the OTT server", &m.from_timing),
    ] {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{name}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.2}</td></tr>",
            p.truth, p.reported, p.correct, p.precision, p.recall
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}
