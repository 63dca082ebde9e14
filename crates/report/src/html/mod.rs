//! The HTML report: `wiretap run --html FILE` and `report.html` in `--out DIR`.
//!
//! One self-contained page rendered from the same [`Report`] as `--json`, plus a small
//! [`PageExtras`] summary of what the report does not hold: the topology with the adversary's
//! footholds (from the scenario's vantage, on-path and theft entries) and the contact graph, true
//! and reconstructed (from the run's ground truth and the adversary's findings; the scorer is the
//! one place both may be read, so the summary is built here).
//!
//! The page has no script and fetches nothing: text, tables and inline SVG only, so it reads the
//! same with JavaScript off and offline. Accessibility: semantic HTML (one `h1`, sections with
//! `h2`, tables with `<th scope>`, charts in `<figure>` with a `<figcaption>`), every SVG has
//! `role="img"`, an `aria-label` and a `<title>`, and the colours are the Okabe–Ito palette, which
//! stays distinguishable under the common colour-vision deficiencies; every number a chart shows
//! is also in a table or its caption, so nothing is told by colour alone. All text is escaped
//! (message texts come from the scenario). The page depends only on (scenario, seed): no wall
//! time, no map iteration order, so two runs give byte-identical files.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use adversary::Findings;
use carrier::RunOutput;
use scenario::{Scenario, VantageKind, Who};
use serde::Serialize;

use crate::score::Report;
pub use crate::svg::escape;
use crate::svg::{marker, palette, svg_open, text, PAGE_STYLE};

/// The most subscribers the contact-graph figure draws; larger runs show a connected
/// neighbourhood of this size (the counts in the table are always over the whole run).
pub const GRAPH_MAX_NODES: usize = 36;

/// At most this many neighbours of each drawn subscriber join the sample.
const GRAPH_FANOUT: usize = 4;

/// What the page shows beyond the [`Report`]: the topology and the contact graphs.
#[derive(Clone, Debug, Serialize)]
pub struct PageExtras {
    /// The carriers and the OTT server, with the adversary's footholds.
    pub topology: Topology,
    /// The true and the reconstructed contact graph over a sample of subscribers.
    pub contacts: ContactGraph,
}

/// The network as the page draws it.
#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    /// Carriers in scenario order.
    pub carriers: Vec<CarrierView>,
    /// Whether the scenario has an over-the-top app (so an OTT server exists).
    pub ott_server: bool,
    /// Whether the adversary stole the OTT server's tunnel key.
    pub ott_key_stolen: bool,
    /// Whether the adversary holds the OTT server itself (an `ott-server` vantage).
    pub ott_server_held: bool,
}

/// One carrier and what the adversary holds in it.
#[derive(Clone, Debug, Serialize)]
pub struct CarrierView {
    /// The carrier's name.
    pub name: String,
    /// Its subscribers.
    pub subscribers: u32,
    /// Its cells.
    pub cells: u32,
    /// The adversary holds its lawful-intercept mediation node.
    pub mediation: bool,
    /// The adversary taps its core router.
    pub core_tap: bool,
    /// The adversary reads its call-record store.
    pub call_records: bool,
    /// Share of its subscribers whose customer edge router the adversary holds (0 if none).
    pub edge_routers: f64,
    /// On-path components at its core, e.g. `"mitm on chat-xx"`.
    pub on_path: Vec<String>,
    /// The adversary stole its packet gateway's tunnel key.
    pub gateway_key_stolen: bool,
}

/// A subscriber drawn in the contact graph.
#[derive(Clone, Debug, Serialize)]
pub struct GraphNode {
    /// Phone number.
    pub msisdn: String,
    /// Index of its carrier in [`Topology::carriers`].
    pub carrier: usize,
}

/// The contact graph over the drawn subscribers.
#[derive(Clone, Debug, Serialize)]
pub struct ContactGraph {
    /// Subscribers in the run.
    pub subscribers: usize,
    /// Subscribers drawn, sorted by carrier then number (their order around the circle).
    pub nodes: Vec<GraphNode>,
    /// Pairs that really exchanged messages (indices into `nodes`, smaller first).
    pub true_edges: Vec<(usize, usize)>,
    /// Pairs the adversary reported, with whether the pair is real.
    pub reported_edges: Vec<(usize, usize, bool)>,
}

/// Builds the [`PageExtras`] of a run.
pub fn extras(sc: &Scenario, run: &RunOutput, findings: &Findings) -> PageExtras {
    PageExtras {
        topology: topology(sc),
        contacts: contact_graph(sc, run, findings),
    }
}

fn topology(sc: &Scenario) -> Topology {
    let carriers = sc
        .carriers
        .iter()
        .map(|c| {
            let held = |k: VantageKind| {
                sc.adversary
                    .vantage
                    .iter()
                    .any(|v| v.kind == k && v.carrier == c.name)
            };
            let edge_routers = sc
                .adversary
                .vantage
                .iter()
                .filter(|v| v.kind == VantageKind::EdgeRouter && v.carrier == c.name)
                .map(|v| v.share)
                .fold(0.0, f64::max);
            let on_path = sc
                .adversary
                .onpath
                .iter()
                .filter(|o| o.carrier == c.name)
                .map(|o| format!("{} on {}", o.mode.as_str(), o.app))
                .collect();
            let gateway_key_stolen = sc.adversary.theft.iter().any(|t| {
                t.who == Who::CarrierGateway && t.carrier.as_deref().is_none_or(|n| n == c.name)
            });
            CarrierView {
                name: c.name.clone(),
                subscribers: c.subscribers,
                cells: c.cells,
                mediation: held(VantageKind::Mediation),
                core_tap: held(VantageKind::CoreTap),
                call_records: held(VantageKind::CallRecords),
                edge_routers,
                on_path,
                gateway_key_stolen,
            }
        })
        .collect();
    Topology {
        carriers,
        ott_server: sc.apps.iter().any(|a| {
            !matches!(
                a.kind,
                scenario::AppKind::Sms | scenario::AppKind::CarrierEncrypted
            )
        }),
        ott_key_stolen: sc.adversary.theft.iter().any(|t| t.who == Who::OttServer),
        ott_server_held: sc
            .adversary
            .vantage
            .iter()
            .any(|v| v.kind == VantageKind::OttServer),
    }
}

fn ordered(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// The subscribers to draw: all of them in a small run, else a breadth-first neighbourhood in
/// the true graph around the subscriber with the most contacts (ties: the lowest index), taking
/// at most [`GRAPH_FANOUT`] new neighbours of each.
fn sample(n: usize, adj: &BTreeMap<usize, BTreeSet<usize>>) -> BTreeSet<usize> {
    if n <= GRAPH_MAX_NODES {
        return (0..n).collect();
    }
    let mut chosen = BTreeSet::new();
    let mut by_degree: Vec<(usize, usize)> = adj.iter().map(|(&s, p)| (p.len(), s)).collect();
    by_degree.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // Several components: start again from the next best hub until the sample is full.
    for &(_, start) in &by_degree {
        if chosen.len() >= GRAPH_MAX_NODES {
            break;
        }
        if chosen.contains(&start) {
            continue;
        }
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            if chosen.len() >= GRAPH_MAX_NODES {
                break;
            }
            if !chosen.insert(s) {
                continue;
            }
            // A few neighbours each, so a hub does not fill the sample with a star.
            for &p in adj
                .get(&s)
                .into_iter()
                .flatten()
                .filter(|p| !chosen.contains(p))
                .take(GRAPH_FANOUT)
            {
                queue.push_back(p);
            }
        }
    }
    chosen
}

fn contact_graph(sc: &Scenario, run: &RunOutput, findings: &Findings) -> ContactGraph {
    let subs = &run.truth.subscribers;
    // The same truth and the same reported edges as the metadata score: messages and calls.
    let t = crate::metadata::Truth::of(sc, run);
    let truth: BTreeSet<(usize, usize)> = t
        .messages
        .iter()
        .map(|m| (m.from, m.to))
        .chain(t.calls.iter().map(|&(a, b, _)| (a, b)))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| ordered(a, b))
        .collect();
    let mut adj: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &(a, b) in &truth {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default().insert(a);
    }
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in subs.iter().enumerate() {
        by_name.insert(s.msisdn.clone(), i);
        by_name.insert(s.ip.to_string(), i);
    }
    let reported: BTreeSet<(usize, usize)> = findings
        .metadata
        .contacts
        .iter()
        .filter_map(|e| {
            let (a, b) = (*by_name.get(&e.a)?, *by_name.get(&e.b)?);
            (a != b).then(|| ordered(a, b))
        })
        .collect();
    let chosen = sample(subs.len(), &adj);
    let mut drawn: Vec<usize> = chosen.into_iter().collect();
    drawn.sort_by(|&a, &b| {
        (subs[a].carrier, &subs[a].msisdn).cmp(&(subs[b].carrier, &subs[b].msisdn))
    });
    let pos: BTreeMap<usize, usize> = drawn.iter().enumerate().map(|(p, &s)| (s, p)).collect();
    let local = |(a, b): (usize, usize)| Some(ordered(*pos.get(&a)?, *pos.get(&b)?));
    let mut true_edges: Vec<(usize, usize)> = truth.iter().filter_map(|&e| local(e)).collect();
    true_edges.sort_unstable();
    let mut reported_edges: Vec<(usize, usize, bool)> = reported
        .iter()
        .filter_map(|&e| local(e).map(|(a, b)| (a, b, truth.contains(&e))))
        .collect();
    reported_edges.sort_unstable();
    ContactGraph {
        subscribers: subs.len(),
        nodes: drawn
            .iter()
            .map(|&s| GraphNode {
                msisdn: subs[s].msisdn.clone(),
                carrier: subs[s].carrier,
            })
            .collect(),
        true_edges,
        reported_edges,
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

/// Renders the whole page.
pub fn render_html(r: &Report, x: &PageExtras) -> String {
    let mut o = String::new();
    let title = format!("wiretap report — {} (seed {})", r.scenario, r.seed);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let a = &r.adversary;
    let _ = write!(
        o,
        "<header>\n<h1>What the wiretap saw: scenario <code>{}</code></h1>\n\
         <p class=\"lede\">{}</p>\n<p>Seed {}, {} of simulated traffic, {} subscribers. \
         The adversary <strong>{}</strong> holds: {}.</p>\n",
        escape(&r.scenario),
        escape(r.description.trim()),
        r.seed,
        escape(&r.duration),
        r.network.subscribers,
        escape(&a.name),
        if a.vantage_points.is_empty() {
            "nothing".to_string()
        } else {
            a.vantage_points
                .iter()
                .map(|v| format!("<code>{}</code>", escape(v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut sections = vec![
        ("topology", "The network"),
        ("messages", "Messages: read or sealed"),
    ];
    if !r.on_path.is_empty() {
        sections.push(("on-path", "On-path attacks"));
    }
    if !r.key_theft.is_empty() {
        sections.push(("key-theft", "Key theft timeline"));
    }
    sections.push(("contacts", "Who talks to whom"));
    sections.push(("metadata", "What encryption did not hide"));
    o.push_str("<nav aria-label=\"Sections\"><ul>\n");
    for (id, name) in &sections {
        let _ = writeln!(o, "<li><a href=\"#{id}\">{name}</a></li>");
    }
    o.push_str("</ul></nav>\n</header>\n<main>\n");
    cards(&mut o, r);
    section_topology(&mut o, &x.topology);
    section_messages(&mut o, r);
    section_on_path(&mut o, r);
    section_theft(&mut o, r);
    section_contacts(&mut o, r, &x.contacts, &x.topology);
    section_metadata(&mut o, r);
    let n = &r.network;
    let _ = write!(
        o,
        "</main>\n<footer>\n<p>Network: {} events, {} packets sent ({} lost, {} duplicated), {} retransmissions; \
         integrity errors {}, duplicate deliveries {}. Generated by <code>wiretap run</code> from scenario \
         <code>{}</code> with seed {}: the same scenario and seed give this page byte for byte.</p>\n</footer>\n</body>\n</html>\n",
        n.stats.events,
        n.stats.packets_sent,
        n.stats.packets_lost,
        n.stats.packets_duplicated,
        n.stats.links.retransmissions,
        n.integrity_errors,
        n.duplicate_deliveries,
        escape(&r.scenario),
        r.seed
    );
    o
}

fn cards(o: &mut String, r: &Report) {
    let total: usize = r.protocols.iter().map(|p| p.messages).sum();
    let read: usize = r
        .protocols
        .iter()
        .map(|p| p.messages_read_by_adversary)
        .sum();
    let exposed: usize = r
        .protocols
        .iter()
        .map(|p| p.messages_exposed_to_vantage)
        .sum();
    let a = &r.adversary;
    o.push_str("<section aria-label=\"Summary\" class=\"cards\">\n");
    let _ = writeln!(
        o,
        "<div class=\"card bad\"><span class=\"n\">{read} of {total}</span>messages read by the adversary ({})</div>",
        pct(read, total)
    );
    let _ = writeln!(
        o,
        "<div class=\"card\"><span class=\"n\">{exposed}</span>messages crossed one of its vantage points</div>"
    );
    let _ = writeln!(
        o,
        "<div class=\"card bad\"><span class=\"n\">{} of {}</span>court-ordered wiretap targets it learned</div>",
        a.warrants.learned, a.warrants.total
    );
    let _ = writeln!(
        o,
        "<div class=\"card bad\"><span class=\"n\">{} of {}</span>true contact pairs it reconstructed</div>",
        r.metadata.contacts.all.correct, r.metadata.contacts.all.truth
    );
    o.push_str("</section>\n");
}

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

fn line(o: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, dash: bool) {
    let _ = writeln!(
        o,
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\" stroke-width=\"2\"{}/>",
        if dash { " stroke-dasharray=\"6 4\"" } else { "" }
    );
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

fn section_topology(o: &mut String, t: &Topology) {
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

fn section_messages(o: &mut String, r: &Report) {
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
    for p in &r.protocols {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&p.protocol),
            p.sessions,
            p.messages,
            p.messages_delivered,
            p.messages_exposed_to_vantage,
            p.messages_read_by_adversary,
            pct(p.messages_read_by_adversary, p.messages)
        );
    }
    o.push_str("</tbody>\n</table>\n");
    o.push_str("<h3>Why the rest stayed sealed</h3>\n<table>\n<thead><tr><th scope=\"col\">protocol</th><th scope=\"col\" class=\"num\">messages</th><th scope=\"col\">reason</th></tr></thead>\n<tbody>\n");
    for p in &r.protocols {
        for w in &p.why_unreadable {
            let _ = writeln!(
                o,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&p.protocol),
                w.messages,
                escape(&w.reason)
            );
        }
    }
    o.push_str("</tbody>\n</table>\n");
    let a = &r.adversary;
    if !a.examples.is_empty() {
        o.push_str("<h3>Messages the adversary read (examples)</h3>\n");
        let mut shown = BTreeSet::new();
        for e in a
            .examples
            .iter()
            .filter(|e| shown.insert(e.protocol.clone()))
        {
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

fn section_on_path(o: &mut String, r: &Report) {
    if r.on_path.is_empty() {
        return;
    }
    o.push_str(
        "<section id=\"on-path\">\n<h2>On-path attacks</h2>\n<p>What the adversary's active \
                components at a compromised core tried, and whether an endpoint noticed: \
                <em>silent</em> attacks achieved something without anyone noticing.</p>\n",
    );
    o.push_str("<table>\n<thead><tr><th scope=\"col\">app</th><th scope=\"col\">protocol</th><th scope=\"col\">mode</th>\
                <th scope=\"col\" class=\"num\">attempted</th><th scope=\"col\" class=\"num\">silent</th>\
                <th scope=\"col\" class=\"num\">detected</th><th scope=\"col\" class=\"num\">failed</th>\
                <th scope=\"col\" class=\"num\">messages read</th><th scope=\"col\">detected by</th></tr></thead>\n<tbody>\n");
    for a in &r.on_path {
        let by: Vec<String> = a
            .detected_by
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&a.app),
            escape(&a.protocol),
            escape(&a.mode),
            a.attempted,
            a.succeeded_silently,
            a.detected,
            a.failed_undetected,
            a.messages_read,
            if by.is_empty() { "–".into() } else { escape(&by.join(", ")) }
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}

fn section_theft(o: &mut String, r: &Report) {
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

fn section_contacts(o: &mut String, r: &Report, g: &ContactGraph, t: &Topology) {
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

fn section_metadata(o: &mut String, r: &Report) {
    let m = &r.metadata;
    let a = &r.adversary;
    o.push_str("<section id=\"metadata\">\n<h2>What encryption did not hide</h2>\n<table>\n<thead><tr><th scope=\"col\">what</th><th scope=\"col\">what the adversary got</th></tr></thead>\n<tbody>\n");
    let rows = [
        (
            "warrant list",
            format!(
                "{} of {} court-ordered targets: who is under investigation, and by which agency",
                a.warrants.learned, a.warrants.total
            ),
        ),
        (
            "locations",
            format!(
                "{} subscribers traced; {:.1}% of subscriber-hours recovered; home cell right for {} of {}, work cell {} of {}",
                m.locations.subscribers_traced,
                100.0 * m.locations.fraction,
                m.locations.home.correct,
                m.locations.home.reported,
                m.locations.work.correct,
                m.locations.work.reported
            ),
        ),
        (
            "OTT users",
            format!(
                "{} of {} users of end-to-end apps seen talking to the server",
                m.contacts.ott_users.correct, m.contacts.ott_users.truth
            ),
        ),
        (
            "timing and size at the OTT relay",
            format!(
                "{} encrypted uplinks; recipient ranked first for {} of {} whose recipient is visible; mean anonymity set {:.1}",
                m.correlation.uplinks,
                m.correlation.top1_correct,
                m.correlation.scored_visible,
                m.correlation.mean_anonymity_set
            ),
        ),
        (
            "message sizes",
            format!(
                "length bucket (20 bytes) right for {:.1}% of {} messages",
                100.0 * m.sizes.bucket_accuracy,
                m.sizes.scored_messages
            ),
        ),
        (
            "ratchet headers",
            match (&m.ratchet.why_nothing, m.ratchet.envelopes) {
                (_, 0) => "no Signal envelope captured".to_owned(),
                (Some(why), _) => format!("nothing revealed: {why}"),
                (None, _) => format!(
                    "{} of {} Signal envelopes with a clear header: {} conversations linked ({} correctly), turns exact for {}; {} chains, messages per chain exact for {} of {} claimed; {} messages inferred but not captured",
                    m.ratchet.clear_headers,
                    m.ratchet.envelopes,
                    m.ratchet.conversations,
                    m.ratchet.conversations_correct,
                    m.ratchet.turns_exact,
                    m.ratchet.chains,
                    m.ratchet.chains_exact_right,
                    m.ratchet.chains_claimed_exact,
                    m.ratchet.messages_inferred_unseen
                ),
            },
        ),
        (
            "intercept records",
            format!(
                "{} IRI events, {} content copies, {} static keys seen in the clear",
                a.iri_events, a.cc_packets, a.static_keys_seen
            ),
        ),
    ];
    let x = &m.server;
    let server_rows = [
        (
            "the messaging server: envelopes",
            format!(
                "{} accepted ({} with sealed sender), {} delivered; {} client addresses, {} tied to one account",
                x.envelopes_in, x.sealed_in, x.envelopes_out, x.clients, x.clients_named
            ),
        ),
        (
            "the messaging server: contacts",
            format!(
                "{} of {} pairs without sealed sender read from envelopes; {} of {} sealed-sender pairs named by the connection's address",
                x.direct.correct, x.direct.truth, x.linked.correct, x.linked.truth
            ),
        ),
        (
            "the messaging server: sealed-sender disclosure",
            format!(
                "{} targets; mean recall at k {:.2} (chance {:.2}) from recipients and times alone",
                x.disclosure.targets, x.disclosure.mean_recall_at_k, x.disclosure_chance
            ),
        ),
    ];
    let held = if x.held { &server_rows[..] } else { &[] };
    for (k, v) in rows.iter().chain(held) {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{k}</th><td>{}</td></tr>",
            escape(v)
        );
    }
    o.push_str("</tbody>\n</table>\n");
    if !a.warrants.entries.is_empty() {
        o.push_str("<h3>The warrant list it copied</h3>\n<table>\n<thead><tr><th scope=\"col\">LIID</th><th scope=\"col\">target</th><th scope=\"col\">kind</th><th scope=\"col\">agency</th></tr></thead>\n<tbody>\n");
        for w in &a.warrants.entries {
            let _ = writeln!(
                o,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&w.liid),
                escape(&w.target_msisdn),
                escape(&w.kind.to_string()),
                escape(&w.agency)
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn sample_keeps_small_graphs_whole_and_caps_large_ones() {
        let mut adj: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for i in 0..100usize {
            adj.entry(i).or_default().insert((i + 1) % 100);
            adj.entry((i + 1) % 100).or_default().insert(i);
        }
        assert_eq!(sample(20, &adj).len(), 20);
        let s = sample(100, &adj);
        assert_eq!(s.len(), GRAPH_MAX_NODES);
        // A neighbourhood: the ring's hub (index 0, every degree equal) and its neighbours.
        assert!(s.contains(&0) && s.contains(&1) && s.contains(&99));
    }
}
