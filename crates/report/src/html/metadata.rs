//! The page's section "What encryption did not hide": one row per metadata analysis (warrant
//! list, locations, OTT users, timing and size, ratchet headers, intercept records, and the
//! messaging server's view when the adversary holds it), and the warrant list it copied.

use std::fmt::Write;

use super::escape;
use crate::score::Report;

pub(super) fn section_metadata(o: &mut String, r: &Report) {
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
