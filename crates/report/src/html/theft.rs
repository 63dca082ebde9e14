//! The page's section "Key theft timeline" (only when the adversary gained a capability): a step
//! chart of the messages readable per protocol after each capability, and the table of what each
//! one newly opened (with the Signal sessions it followed and how they healed).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{escape, line};
use crate::score::Report;
use crate::svg::{marker, palette, svg_open, text};

pub(super) fn section_theft(o: &mut String, r: &Report) {
    if r.key_theft.is_empty() {
        return;
    }
    o.push_str(
        "<section id=\"key-theft\">\n<h2>Key theft timeline</h2>\n<p>Each row is a \
                capability the adversary gained (a stolen key or device state at a time, a weak \
                random generator, a quantum computer), the messages it newly opened, and what \
                was readable in total after it. Messages sent before a key was stolen but \
                recorded by the taps can be opened later unless the protocol has forward \
                secrecy.</p>\n",
    );
    // Cumulative reads per protocol after each row: a step chart.
    let protos: BTreeSet<&String> = r
        .key_theft
        .iter()
        .flat_map(|t| t.readable_after.keys())
        .collect();
    let protos: Vec<&String> = protos.into_iter().collect();
    let max = r
        .key_theft
        .iter()
        .flat_map(|t| t.readable_after.values())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let steps = r.key_theft.len();
    let (w, h, left, bottom, top) = (760.0, 300.0, 70.0, 60.0, 20.0);
    let right = 190.0;
    let pw = w - left - right;
    let ph = h - top - bottom;
    let xs = |i: usize| left + pw * (i as f64 + 0.5) / steps as f64;
    let ys = |v: usize| top + ph * (1.0 - v as f64 / max as f64);
    let desc: Vec<String> = protos
        .iter()
        .map(|p| {
            let after: Vec<String> = r
                .key_theft
                .iter()
                .map(|t| t.readable_after.get(*p).copied().unwrap_or(0).to_string())
                .collect();
            format!("{p}: {}", after.join(", "))
        })
        .collect();
    o.push_str("<figure>\n");
    svg_open(
        o,
        "theft-svg",
        w as u32,
        h as u32,
        &format!(
            "Line chart of messages readable after each capability, per protocol: {}",
            desc.join("; ")
        ),
    );
    line(
        o,
        left,
        top + ph,
        left + pw,
        top + ph,
        palette::BLACK,
        false,
    );
    line(o, left, top, left, top + ph, palette::BLACK, false);
    for k in 0..=4 {
        let v = max * k / 4;
        let y = ys(v);
        text(
            o,
            left - 6.0,
            y + 4.0,
            11,
            "end",
            palette::BLACK,
            &v.to_string(),
        );
        let _ = writeln!(
            o,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/>",
            left + pw
        );
    }
    for (i, t) in r.key_theft.iter().enumerate() {
        text(
            o,
            xs(i),
            top + ph + 18.0,
            11,
            "middle",
            palette::BLACK,
            &format!("at {}", t.at),
        );
        text(o, xs(i), top + ph + 32.0, 11, "middle", "#444444", &t.kind);
    }
    text(
        o,
        16.0,
        top + ph / 2.0,
        12,
        "middle",
        palette::BLACK,
        "read",
    );
    let shapes = ["circle", "square", "diamond", "triangle"];
    for (k, p) in protos.iter().enumerate() {
        let colour = palette::SERIES[k % palette::SERIES.len()];
        let pts: Vec<String> = r
            .key_theft
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    "{:.1},{:.1}",
                    xs(i),
                    ys(t.readable_after.get(*p).copied().unwrap_or(0))
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            pts.join(" ")
        );
        for (i, t) in r.key_theft.iter().enumerate() {
            let v = t.readable_after.get(*p).copied().unwrap_or(0);
            marker(
                o,
                shapes[k % shapes.len()],
                xs(i),
                ys(v),
                colour,
                &format!("{p} after {} {}: {v} read", t.kind, t.at),
            );
        }
        let ly = top + 14.0 + k as f64 * 20.0;
        marker(
            o,
            shapes[k % shapes.len()],
            left + pw + 20.0,
            ly - 4.0,
            colour,
            p,
        );
        text(o, left + pw + 32.0, ly, 12, "start", palette::BLACK, p);
    }
    o.push_str(
        "</svg>\n<figcaption>Messages readable per protocol after each capability \
                (cumulative, passive reading included); each protocol has its own colour and \
                marker shape.</figcaption>\n</figure>\n",
    );
    o.push_str("<table>\n<thead><tr><th scope=\"col\">when</th><th scope=\"col\">what</th><th scope=\"col\">whose</th>\
                <th scope=\"col\" class=\"num\">sessions</th><th scope=\"col\">newly read</th>\
                <th scope=\"col\">readable after</th><th scope=\"col\" class=\"num\">sent before the theft</th></tr></thead>\n<tbody>\n");
    let join = |m: &BTreeMap<String, usize>| {
        if m.is_empty() {
            "nothing".to_owned()
        } else {
            m.iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for t in &r.key_theft {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&t.at),
            escape(&t.kind),
            escape(&t.owners),
            t.sessions,
            escape(&join(&t.messages_by_protocol)),
            escape(&join(&t.readable_after)),
            t.sent_before_theft
        );
        if let Some(s) = &t.signal {
            let _ = writeln!(
                o,
                "<tr><td></td><td colspan=\"6\">Signal: {} sessions followed, {} healed (mean {:.1} messages until healed, time to heal {}); {} initial messages opened.</td></tr>",
                s.sessions_followed,
                s.healed,
                s.messages_until_healed_mean,
                escape(if s.time_to_heal_mean.is_empty() { "–" } else { &s.time_to_heal_mean }),
                s.initial_opened
            );
        }
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}
