//! The page's section "Messages: read or sealed": per protocol, a stacked bar of messages read,
//! captured but sealed and never exposed, the table of counts, why the rest stayed sealed, and
//! one example of a message the adversary read per protocol.

use std::fmt::Write;

use super::escape;
use crate::rows;
use crate::score::Report;
use crate::svg::{palette, svg_open, text};

pub(super) fn section_messages(o: &mut String, r: &Report) {
    o.push_str("<section id=\"messages\">\n<h2>Messages: read or sealed</h2>\n");
    o.push_str(
        "<p>A message counts as <em>read</em> only when the adversary produced its exact text from \
         what it captured. <em>Exposed</em> means the message crossed one of its vantage points \
         (a tapped core, or a content warrant at a mediation node it holds).</p>\n",
    );
    // Stacked bars: read, exposed but sealed, never exposed.
    let rows = r.protocols.len().max(1);
    let (w, lw, bar) = (760.0, 170.0, 26.0);
    let h = 40.0 + rows as f64 * (bar + 14.0) + 30.0;
    let summary: Vec<String> = r
        .protocols
        .iter()
        .map(|p| {
            format!(
                "{}: {} of {} read",
                p.protocol, p.messages_read_by_adversary, p.messages
            )
        })
        .collect();
    o.push_str("<figure>\n");
    svg_open(
        o,
        "messages-svg",
        w as u32,
        h as u32,
        &format!("Bar chart of messages per protocol: {}", summary.join("; ")),
    );
    let plot = w - lw - 20.0;
    for (i, p) in r.protocols.iter().enumerate() {
        let y = 20.0 + i as f64 * (bar + 14.0);
        text(
            o,
            lw - 8.0,
            y + bar * 0.7,
            13,
            "end",
            palette::BLACK,
            &p.protocol,
        );
        let total = p.messages.max(1) as f64;
        let read = p.messages_read_by_adversary;
        let sealed = p.messages_exposed_to_vantage.saturating_sub(read);
        let unseen = p.messages.saturating_sub(read + sealed);
        let mut x = lw;
        for (n, colour, what) in [
            (read, palette::VERMILION, "read"),
            (sealed, palette::BLUE, "captured but sealed"),
            (unseen, palette::SKY, "never crossed a vantage point"),
        ] {
            if n == 0 {
                continue;
            }
            let bw = plot * n as f64 / total;
            let _ = writeln!(
                o,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bar:.1}\" fill=\"{colour}\" stroke=\"#fff\"><title>{}: {n} {what}</title></rect>",
                escape(&p.protocol)
            );
            if bw > 44.0 {
                let ink = if colour == palette::SKY {
                    palette::BLACK
                } else {
                    "#ffffff"
                };
                text(
                    o,
                    x + bw / 2.0,
                    y + bar * 0.68,
                    12,
                    "middle",
                    ink,
                    &n.to_string(),
                );
            }
            x += bw;
        }
    }
    let ly = h - 18.0;
    let mut lx = lw;
    for (colour, what) in [
        (palette::VERMILION, "read by the adversary"),
        (palette::BLUE, "captured but sealed"),
        (palette::SKY, "never crossed a vantage point"),
    ] {
        let _ = writeln!(
            o,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{colour}\" stroke=\"#000\"/>",
            ly - 11.0
        );
        text(o, lx + 20.0, ly, 12, "start", palette::BLACK, what);
        lx += 30.0 + what.len() as f64 * 6.6;
    }
    o.push_str(
        "</svg>\n<figcaption>Share of each protocol's messages the adversary read \
                (vermilion), captured but could not open (blue), or never saw (sky blue); the \
                counts are in the table below.</figcaption>\n</figure>\n",
    );
    o.push_str(
        "<table>\n<caption>Messages per protocol</caption>\n<thead><tr><th scope=\"col\">protocol</th>\
         <th scope=\"col\" class=\"num\">sessions</th><th scope=\"col\" class=\"num\">messages</th>\
         <th scope=\"col\" class=\"num\">delivered</th><th scope=\"col\" class=\"num\">exposed</th>\
         <th scope=\"col\" class=\"num\">read</th><th scope=\"col\" class=\"num\">read %</th></tr></thead>\n<tbody>\n",
    );
    for p in rows::messages(r) {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(p.protocol),
            p.sessions,
            p.messages,
            p.delivered,
            p.exposed,
            p.read,
            p.read_percent.as_deref().unwrap_or("–")
        );
    }
    o.push_str("</tbody>\n</table>\n");
    o.push_str("<h3>Why the rest stayed sealed</h3>\n<table>\n<thead><tr><th scope=\"col\">protocol</th><th scope=\"col\" class=\"num\">messages</th><th scope=\"col\">reason</th></tr></thead>\n<tbody>\n");
    for w in rows::sealed(r) {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(w.protocol),
            w.messages,
            escape(w.reason)
        );
    }
    o.push_str("</tbody>\n</table>\n");
    let a = &r.adversary;
    if !a.examples.is_empty() {
        o.push_str("<h3>Messages the adversary read (examples)</h3>\n");
        for e in rows::examples(r) {
            let _ = writeln!(
                o,
                "<p><strong>{}</strong> {} → {}, read by {} at {}:</p>\n<blockquote>{}</blockquote>",
                escape(&e.protocol),
                escape(e.from.as_deref().unwrap_or("?")),
                escape(e.to.as_deref().unwrap_or("?")),
                escape(&e.method),
                escape(&e.seen_at.join(", ")),
                escape(&e.text)
            );
        }
    }
    o.push_str("</section>\n");
}
