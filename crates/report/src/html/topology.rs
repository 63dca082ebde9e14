//! The page's section "The network": the topology drawing (one column per carrier, the OTT
//! server above, the adversary's footholds in vermilion with a thick outline) and the same facts
//! as a table, per carrier.

use std::fmt::Write;

use super::{escape, line, Topology};
use crate::svg::{palette, svg_open, text};

/// A node box: compromised nodes are filled vermilion with a thick outline.
fn node_box(o: &mut String, x: f64, y: f64, w: f64, label: &str, bad: bool, note: &str) {
    let (fill, stroke, width, ink) = if bad {
        (palette::VERMILION, palette::BLACK, 3, "#ffffff")
    } else {
        ("#ffffff", "#444444", 1, palette::BLACK)
    };
    let _ = writeln!(
        o,
        "<g><title>{}{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"34\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>",
        escape(label),
        if note.is_empty() {
            String::new()
        } else {
            format!(": {}", escape(note))
        }
    );
    let size = if w < 100.0 { 11 } else { 13 };
    text(o, x + w / 2.0, y + 22.0, size, "middle", ink, label);
    o.push_str("</g>\n");
}

/// The adversary's footholds in words, for the figure's accessible name and caption.
fn held_list(t: &Topology) -> Vec<String> {
    t.carriers
        .iter()
        .flat_map(|c| {
            let mut v = Vec::new();
            if c.core_tap {
                v.push(format!("{} core router (tapped)", c.name));
            }
            if !c.on_path.is_empty() {
                v.push(format!(
                    "{} core router (on-path: {})",
                    c.name,
                    c.on_path.join(", ")
                ));
            }
            if c.mediation {
                v.push(format!("{} mediation node", c.name));
            }
            if c.call_records {
                v.push(format!("{} call records", c.name));
            }
            if c.edge_routers > 0.0 {
                v.push(format!(
                    "{:.0}% of {} customer routers",
                    c.edge_routers * 100.0,
                    c.name
                ));
            }
            if c.gateway_key_stolen {
                v.push(format!("{} packet gateway key", c.name));
            }
            v
        })
        .chain(
            t.ott_server_held
                .then(|| "the OTT messaging server".to_string()),
        )
        .chain(t.ott_key_stolen.then(|| "the OTT server's key".to_string()))
        .collect()
}

pub(super) fn section_topology(o: &mut String, t: &Topology) {
    o.push_str("<section id=\"topology\">\n<h2>The network</h2>\n");
    o.push_str(
        "<p>Each column is one carrier. Messages go from a handset over the radio to the carrier's \
         packet gateway, then to its core router; SMS is stored and forwarded by the SMS centre; \
         the core copies the traffic of court-ordered targets to the lawful-intercept mediation \
         node; every call and message leaves a record in the call-record store. Carriers meet at \
         the interconnect; end-to-end apps reach the OTT messaging server over the Internet. \
         <strong>Boxes in vermilion with a thick outline are held by the adversary.</strong></p>\n",
    );
    let n = t.carriers.len().max(1);
    let col = 270.0;
    let w = (n as f64 * col + 40.0).max(600.0);
    let top = if t.ott_server { 90.0 } else { 20.0 };
    let (r1, r2, r3, r4) = (top + 20.0, top + 84.0, top + 144.0, top + 222.0);
    let h = r4 + 74.0;
    let mut label = format!(
        "Network diagram: {} carrier{}",
        n,
        if n == 1 { "" } else { "s" }
    );
    let held = held_list(t);
    let _ = write!(
        label,
        "; held by the adversary: {}",
        if held.is_empty() {
            "nothing".to_string()
        } else {
            held.join("; ")
        }
    );
    o.push_str("<figure>\n");
    svg_open(o, "topology-svg", w as u32, h as u32, &label);
    let x0 = (w - n as f64 * col) / 2.0;
    let left = |i: usize| x0 + i as f64 * col + 28.0;
    let bw = col - 56.0;
    let mid = |i: usize| left(i) + bw / 2.0;
    if t.ott_server {
        for i in 0..t.carriers.len() {
            line(o, w / 2.0, 54.0, mid(i), r1, palette::BLUE, true);
        }
        text(o, w / 2.0 + 120.0, 72.0, 11, "start", "#444444", "Internet");
        node_box(
            o,
            w / 2.0 - 110.0,
            20.0,
            220.0,
            "OTT messaging server",
            t.ott_key_stolen || t.ott_server_held,
            if t.ott_server_held {
                "held: it logs every envelope it relays"
            } else if t.ott_key_stolen {
                "its tunnel key was stolen"
            } else {
                "relays the end-to-end apps' messages"
            },
        );
    }
    for i in 1..t.carriers.len() {
        line(
            o,
            left(i - 1) + bw,
            r1 + 17.0,
            left(i),
            r1 + 17.0,
            palette::BLACK,
            false,
        );
        text(
            o,
            (left(i - 1) + bw + left(i)) / 2.0,
            r1 + 12.0,
            10,
            "middle",
            "#444444",
            "inter-",
        );
        text(
            o,
            (left(i - 1) + bw + left(i)) / 2.0,
            r1 + 32.0,
            10,
            "middle",
            "#444444",
            "connect",
        );
    }
    for (i, c) in t.carriers.iter().enumerate() {
        let bx = left(i);
        let _ = writeln!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"10\" fill=\"none\" stroke=\"#999999\" stroke-dasharray=\"2 3\"/>",
            bx - 8.0,
            top,
            bw + 16.0,
            h - top - 6.0
        );
        text(
            o,
            mid(i),
            r4 + 56.0,
            14,
            "middle",
            palette::BLACK,
            &format!("{} ({} subscribers)", c.name, c.subscribers),
        );
        // Core → gateway → cells on the right; the core's side systems on a bus at the left.
        let (sx, sw) = (bx + 64.0, bw - 64.0);
        let sm = sx + sw / 2.0;
        line(o, sm, r1 + 34.0, sm, r2, "#444444", false);
        line(o, sm, r2 + 34.0, sm, r3, "#444444", false);
        let bus = bx + 26.0;
        let third = (bw - 12.0) / 3.0;
        line(o, bus, r1 + 34.0, bus, r4 - 14.0, "#444444", false);
        line(
            o,
            bus,
            r4 - 14.0,
            bx + 2.0 * (third + 6.0) + third / 2.0,
            r4 - 14.0,
            "#444444",
            false,
        );
        for k in 0..3 {
            let x = bx + k as f64 * (third + 6.0) + third / 2.0;
            line(o, x, r4 - 14.0, x, r4, "#444444", false);
        }
        let mut core_note = Vec::new();
        if c.core_tap {
            core_note.push("passive tap: sees every packet crossing it".to_string());
        }
        if !c.on_path.is_empty() {
            core_note.push(format!("on-path component: {}", c.on_path.join(", ")));
        }
        let core_label = if c.on_path.is_empty() {
            "core router".to_string()
        } else {
            "core router (on-path)".to_string()
        };
        node_box(
            o,
            bx,
            r1,
            bw,
            &core_label,
            c.core_tap || !c.on_path.is_empty(),
            &core_note.join("; "),
        );
        if c.core_tap {
            let _ = writeln!(
                o,
                "<g><title>tap on the {} core</title><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"10\" fill=\"{}\" stroke=\"#000\" stroke-width=\"2\"/>",
                escape(&c.name),
                bx + bw - 2.0,
                r1 - 2.0,
                palette::YELLOW
            );
            text(
                o,
                bx + bw - 2.0,
                r1 + 2.0,
                12,
                "middle",
                palette::BLACK,
                "T",
            );
            o.push_str("</g>\n");
        }
        node_box(
            o,
            sx,
            r2,
            sw,
            "packet gateway",
            c.gateway_key_stolen,
            if c.gateway_key_stolen {
                "its tunnel key was stolen: carrier encryption is open"
            } else {
                "ends the carrier's radio encryption"
            },
        );
        node_box(
            o,
            sx,
            r3,
            sw,
            &format!("{} cells, handsets", c.cells),
            c.edge_routers > 0.0,
            &if c.edge_routers > 0.0 {
                format!(
                    "{:.0}% of customer routers compromised",
                    c.edge_routers * 100.0
                )
            } else {
                "radio access".to_string()
            },
        );
        for (k, (name, bad, note)) in [
            ("SMS centre", false, "stores and forwards SMS"),
            (
                "mediation",
                c.mediation,
                "lawful-intercept mediation: warrant list, intercept records and content copies",
            ),
            (
                "call records",
                c.call_records,
                "who called or texted whom, when, from which cell",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            node_box(o, bx + k as f64 * (third + 6.0), r4, third, name, bad, note);
        }
    }
    o.push_str("</svg>\n");
    let _ = writeln!(
        o,
        "<figcaption>{}. The yellow <strong>T</strong> marks a passive tap.</figcaption>\n</figure>",
        escape(&label)
    );
    // The same facts as a table.
    o.push_str(
        "<table>\n<caption>What the adversary holds, per carrier</caption>\n<thead><tr>\
         <th scope=\"col\">carrier</th><th scope=\"col\" class=\"num\">subscribers</th>\
         <th scope=\"col\">core tap</th><th scope=\"col\">on-path at the core</th>\
         <th scope=\"col\">mediation node</th><th scope=\"col\">call records</th>\
         <th scope=\"col\">customer routers</th><th scope=\"col\">gateway key</th></tr></thead>\n<tbody>\n",
    );
    let yes = |b: bool| if b { "held" } else { "–" };
    for c in &t.carriers {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            c.subscribers,
            yes(c.core_tap),
            if c.on_path.is_empty() {
                "–".to_string()
            } else {
                escape(&c.on_path.join(", "))
            },
            yes(c.mediation),
            yes(c.call_records),
            if c.edge_routers > 0.0 {
                format!("{:.0}%", c.edge_routers * 100.0)
            } else {
                "–".into()
            },
            if c.gateway_key_stolen { "stolen" } else { "–" }
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}
