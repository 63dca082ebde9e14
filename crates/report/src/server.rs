//! Scoring what the compromised messaging server (an `ott-server` vantage) recovered
//! ([`adversary::metadata::server`]) against ground truth: its direct edges (envelopes naming
//! their sender) against the end-to-end pairs whose sender does not use sealed sender, its
//! address-linked edges against the sealed-sender pairs, everything it found against every
//! end-to-end pair; its sealed-sender disclosure, scored as [`crate::metadata`] scores
//! disclosure, against each target's sealed-sender contacts (all visible to the server),
//! counted in the true sealed-sender messages sent *to* the target before the snapshot (each
//! delivery is an epoch), beside chance (k contacts among the other sealed-sender accounts).

use std::collections::{BTreeMap, BTreeSet};

use adversary::metadata::MetadataFindings;
use serde::Serialize;
use simcore::Timestamp;

use crate::metadata::{
    opt, precision_text, ratio, score_disclosure, DisclosureScore, Prf, Resolver, Truth,
};

/// What the compromised messaging server (an `ott-server` vantage) recovered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerScore {
    /// Whether the adversary holds the server (`false`: everything below is empty).
    pub held: bool,
    /// Envelopes the server accepted from clients.
    pub envelopes_in: u64,
    /// Of those, with sealed sender.
    pub sealed_in: u64,
    /// Envelopes it delivered.
    pub envelopes_out: u64,
    /// Call-signalling PDUs and relayed media packets it handled.
    pub call_pdus: u64,
    /// Media packets it relayed.
    pub media_packets: u64,
    /// Client addresses, and those it tied to one account.
    pub clients: usize,
    /// Client addresses tied to exactly one account.
    pub clients_named: usize,
    /// Direct edges (envelopes naming their sender) against the end-to-end pairs whose sender
    /// does not use sealed sender.
    pub direct: Prf,
    /// Edges of sealed envelopes named by their connection's address against the
    /// sealed-sender pairs.
    pub linked: Prf,
    /// Direct, linked and call edges against every end-to-end pair (messages and OTT calls).
    pub all: Prf,
    /// Sealed-sender disclosure (no addresses used) against each target's sealed-sender
    /// contacts; `messages` counts true sealed-sender messages sent to the target.
    pub disclosure: DisclosureScore,
    /// Chance recall at k: the mean over targets of k / (sealed-sender accounts − 1).
    pub disclosure_chance: f64,
}

impl ServerScore {
    /// Whether the adversary does not hold the server (the section is then left out).
    pub fn not_held(&self) -> bool {
        !self.held
    }
}

/// Scores the server's findings (empty when the adversary does not hold the server).
pub(crate) fn score(t: &Truth, r: &Resolver, m: &MetadataFindings) -> ServerScore {
    let f = &m.server;
    if !t.server_held && f.vantages.is_empty() {
        return ServerScore::default();
    }
    let pair = |a: usize, b: usize| (a.min(b), a.max(b));
    let mut plain: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut sealed: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut contacts: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for x in t.messages.iter().filter(|x| x.e2e && x.from != x.to) {
        if t.sealed_senders.contains(&x.from) {
            sealed.insert(pair(x.from, x.to));
            contacts.entry(x.from).or_default().insert(x.to);
            contacts.entry(x.to).or_default().insert(x.from);
        } else {
            plain.insert(pair(x.from, x.to));
        }
    }
    let mut every: BTreeSet<(usize, usize)> = plain.union(&sealed).copied().collect();
    every.extend(
        t.calls
            .iter()
            .filter(|c| c.2 && c.0 != c.1)
            .map(|c| pair(c.0, c.1)),
    );
    let resolve = |v: &[(String, String)]| -> BTreeSet<(usize, usize)> {
        v.iter().map(|(a, b)| r.pair(a, b)).collect()
    };
    let direct = resolve(&f.direct);
    let linked = resolve(&f.linked);
    let mut found: BTreeSet<(usize, usize)> = direct.union(&linked).copied().collect();
    found.extend(resolve(&f.calls));
    let events = |target: usize| -> Vec<Timestamp> {
        t.messages
            .iter()
            .filter(|x| x.e2e && x.to == target && t.sealed_senders.contains(&x.from))
            .map(|x| x.sent_at)
            .collect()
    };
    let disclosure = score_disclosure(&f.disclosure, r, &contacts, |_| true, events);
    let others = t.sealed_senders.len().saturating_sub(1);
    let chances: Vec<f64> = disclosure
        .per_target
        .iter()
        .filter(|o| o.visible_contacts > 0)
        .map(|o| ratio(o.visible_contacts.min(others), others, 0.0))
        .collect();
    ServerScore {
        held: true,
        envelopes_in: f.envelopes_in,
        sealed_in: f.sealed_in,
        envelopes_out: f.envelopes_out,
        call_pdus: f.call_pdus,
        media_packets: f.media_packets,
        clients: f.clients,
        clients_named: f.clients_named,
        direct: Prf::of(&direct, &plain),
        linked: Prf::of(&linked, &sealed),
        all: Prf::of(&found, &every),
        disclosure_chance: if chances.is_empty() {
            0.0
        } else {
            chances.iter().sum::<f64>() / chances.len() as f64
        },
        disclosure,
    }
}

/// The lines of the messaging server's view (nothing when the adversary does not hold it).
pub(crate) fn render(o: &mut String, x: &ServerScore) {
    use std::fmt::Write;
    if !x.held {
        return;
    }
    let _ = writeln!(
        o,
        "  messaging server (held): {} envelopes accepted ({} with sealed sender), {} delivered, \
         {} call-signalling PDUs, {} media packets; {} client addresses, {} tied to one account",
        x.envelopes_in,
        x.sealed_in,
        x.envelopes_out,
        x.call_pdus,
        x.media_packets,
        x.clients,
        x.clients_named
    );
    let _ = writeln!(
        o,
        "    senders named in envelopes: {} pairs reported, {} correct (precision {}, recall {:.2} \
         of {} pairs without sealed sender)",
        x.direct.reported,
        x.direct.correct,
        precision_text(x.direct.reported, x.direct.precision),
        x.direct.recall,
        x.direct.truth
    );
    let _ = writeln!(
        o,
        "    sealed envelopes named by their connection's address: {} pairs reported, {} correct \
         (precision {}, recall {:.2} of {} sealed-sender pairs); all server edges: precision {}, \
         recall {:.2} of {} end-to-end pairs",
        x.linked.reported,
        x.linked.correct,
        precision_text(x.linked.reported, x.linked.precision),
        x.linked.recall,
        x.linked.truth,
        precision_text(x.all.reported, x.all.precision),
        x.all.recall,
        x.all.truth
    );
    let d = &x.disclosure;
    let _ = writeln!(
        o,
        "    sealed-sender disclosure (recipients and times only): {} targets, all contacts \
         identified for {}; mean recall at k {:.2} (chance {:.2}); median sealed messages \
         received to identify {}, to a first true contact {}",
        d.targets,
        d.identified,
        d.mean_recall_at_k,
        x.disclosure_chance,
        opt(d.median_messages_to_identify),
        opt(d.median_messages_to_first_contact)
    );
}
