//! The human summary printed by `wiretap run`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::rows;
use crate::score::Report;

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Renders the report as the plain-text summary a student reads.
pub fn render_terminal(r: &Report) -> String {
    let mut o = String::new();
    let a = &r.adversary;
    let _ = writeln!(
        o,
        "wiretap — scenario `{}`, seed {}, {} of traffic",
        r.scenario, r.seed, r.duration
    );
    let _ = writeln!(o, "{}", r.description.trim());
    let _ = writeln!(
        o,
        "{} subscribers; adversary `{}` holds: {}",
        r.network.subscribers,
        a.name,
        a.vantage_points.join(", ")
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<22} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8}",
        "protocol", "sessions", "messages", "delivered", "exposed", "read", "read %"
    );
    let _ = writeln!(o, "{}", "-".repeat(82));
    for p in rows::messages(r) {
        let _ = writeln!(
            o,
            "{:<22} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8}",
            p.row,
            p.sessions,
            p.messages,
            p.delivered,
            p.exposed,
            p.read,
            p.read_percent.as_deref().unwrap_or("-")
        );
    }
    let server = if r.metadata.server.held {
        ", or (end-to-end apps) the held messaging server"
    } else {
        ""
    };
    let _ = writeln!(o, "  (exposed = crossed a tapped core or a content warrant{server}; read = exact plaintext produced by the adversary)");
    let _ = writeln!(o);
    let _ = writeln!(o, "What the adversary learned");
    let _ = writeln!(
        o,
        "  warrant list: {} of {} court-ordered targets (who is under investigation, by whom)",
        a.warrants.learned, a.warrants.total
    );
    for w in a.warrants.entries.iter().take(4) {
        let _ = writeln!(
            o,
            "    {}  {}  {}  {}",
            w.liid, w.target_msisdn, w.kind, w.agency
        );
    }
    if a.warrants.entries.len() > 4 {
        let _ = writeln!(o, "    … and {} more", a.warrants.entries.len() - 4);
    }
    let c = &a.contacts;
    let _ = writeln!(
        o,
        "  contact graph from what it read in the clear (SMS, envelope headers, records): {} pairs \
         reported, {} correct (precision {}, recall {:.2} of {} true pairs)",
        c.reported,
        c.correct,
        crate::metadata::precision_text(c.reported, c.precision),
        c.recall,
        c.true_pairs
    );
    let _ = writeln!(
        o,
        "  intercept records: {} IRI events, {} content copies; {} static keys seen in the clear",
        a.iri_events, a.cc_packets, a.static_keys_seen
    );
    let _ = writeln!(o);
    if !a.examples.is_empty() {
        let _ = writeln!(o, "Messages the adversary read (examples)");
        for e in rows::examples(r) {
            let _ = writeln!(
                o,
                "  [{}] {} -> {}: \"{}\"",
                e.protocol,
                e.from.as_deref().unwrap_or("?"),
                e.to.as_deref().unwrap_or("?"),
                clip(&e.text, 70)
            );
            let _ = writeln!(o, "      how: {} (at {})", e.method, e.seen_at.join(", "));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "Why the rest stayed unreadable");
    for w in rows::sealed(r) {
        let _ = writeln!(o, "  [{}] {} messages: {}", w.row, w.messages, w.reason);
    }
    let mut reasons: Vec<_> = a.unreadable.iter().collect();
    reasons.sort_by_key(|u| std::cmp::Reverse(u.count));
    if !reasons.is_empty() {
        let _ = writeln!(o, "  captured but unreadable, by what the adversary found:");
        for u in reasons.iter().take(6) {
            let _ = writeln!(o, "    {} packets [{}]: {}", u.count, u.channel, u.reason);
        }
    }
    render_on_path(&mut o, r);
    render_key_theft(&mut o, r);
    crate::metadata::render(&mut o, &r.metadata);
    crate::ratchet::render(&mut o, &r.metadata.ratchet);
    crate::costs::render(&mut o, &r.costs);
    let n = &r.network;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Network: {} events, {} packets ({} lost, {} damaged-dropped, {} corrupt-dropped, {} duplicated), {} retransmissions; \
         integrity errors {}, duplicate deliveries {}",
        n.stats.events,
        n.stats.packets_sent,
        n.stats.packets_lost,
        n.stats.packets_damaged_dropped,
        n.stats.packets_corrupt_dropped,
        n.stats.packets_duplicated,
        n.stats.links.retransmissions,
        n.integrity_errors,
        n.duplicate_deliveries
    );
    o
}

/// The "Key theft timeline" section: one line per capability, what it newly exposed by protocol
/// and what was readable after it.
fn render_key_theft(o: &mut String, r: &Report) {
    if r.key_theft.is_empty() {
        return;
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Key theft timeline (what each capability newly exposed)");
    let join = |m: &BTreeMap<String, usize>| {
        if m.is_empty() {
            return "nothing".to_owned();
        }
        m.iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for t in &r.key_theft {
        let who = if t.owners.is_empty() {
            String::new()
        } else {
            format!(" of {}", t.owners)
        };
        let _ = writeln!(
            o,
            "  at {:<6} {}{}: {} sessions; newly read: {}",
            t.at,
            t.kind,
            who,
            t.sessions,
            join(&t.messages_by_protocol)
        );
        let _ = writeln!(o, "           readable after: {}", join(&t.readable_after));
        if let Some(s) = &t.signal {
            crate::theft::render_signal(o, t, s);
        }
    }
}

/// The "On-path attacks" section: one line per targeted app and mode.
fn render_on_path(o: &mut String, r: &Report) {
    if r.on_path.is_empty() {
        return;
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "On-path attacks (the adversary's active components)");
    let _ = writeln!(
        o,
        "{:<14} {:<10} {:<11} {:>9} {:>7} {:>9} {:>7} {:>6}  detected by",
        "app", "protocol", "mode", "attempted", "silent", "detected", "failed", "read"
    );
    let _ = writeln!(o, "{}", "-".repeat(100));
    for a in rows::on_path(r) {
        let _ = writeln!(
            o,
            "{:<14} {:<10} {:<11} {:>9} {:>7} {:>9} {:>7} {:>6}  {}",
            clip(a.app, 14),
            clip(a.protocol, 10),
            a.mode,
            a.attempted,
            a.silent,
            a.detected,
            a.failed,
            a.read,
            a.detected_by.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        o,
        "  (silent = no endpoint noticed and the attack achieved something; failed = achieved \
         nothing, unnoticed; read = messages of the attacked sessions the adversary read)"
    );
    for a in &r.on_path {
        match a.mode.as_str() {
            "drop" => {
                let _ = writeln!(
                    o,
                    "  {} drop: {} envelopes dropped, {} of them let through on retransmission; \
                     of {} messages {} delivered, {} failed",
                    a.app,
                    a.envelopes_dropped,
                    a.envelopes_retransmitted,
                    a.messages,
                    a.messages_delivered,
                    a.messages_failed
                );
            }
            "replay-0rtt" => {
                let _ = writeln!(
                    o,
                    "  {} replay-0rtt: {} sessions' first message replayed to a fresh responder \
                     session; {} texts delivered a second time (replays accepted), {} rejected",
                    a.app, a.attempted, a.messages_replayed, a.detected
                );
            }
            _ => {}
        }
    }
    for a in &r.on_path {
        if let Some(x) = &a.example_outcome {
            let _ = writeln!(o, "  {} {}: {}", a.app, a.mode, clip(x, 150));
        }
    }
}
