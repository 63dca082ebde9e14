//! The contact graph's score ([`ContactGraphScore`]): every consolidated edge against every
//! true pair (messages of any protocol, and voice calls); the record-derived edges against the
//! person-to-person pairs with at least one end on a carrier whose records the adversary holds
//! (they must be *equal*); the timing-correlated edges against the end-to-end pairs;
//! peer-to-peer edges from data records against the peer-to-peer calls; subscribers seen
//! talking to a server against the OTT users. With its lines of the terminal section.

use std::collections::BTreeSet;

use adversary::metadata::MetadataFindings;
use serde::Serialize;

use super::{precision_text, unordered, Prf, Resolver, Truth};

/// The contact graph's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ContactGraphScore {
    /// Every consolidated edge against every true pair.
    pub all: Prf,
    /// Edges with call-record evidence against the person-to-person pairs (SMS,
    /// carrier-encrypted, voice) with an end on a carrier whose records are held.
    pub from_records: Prf,
    /// Whether those two sets are equal.
    pub records_exact: bool,
    /// Timing-correlated edges against end-to-end pairs.
    pub from_timing: Prf,
    /// Peer-to-peer edges from data records (a data session to another subscriber's address)
    /// against the pairs of peer-to-peer end-to-end calls.
    pub from_peer_records: Prf,
    /// Subscribers seen talking to a server against the subscribers whose app is an
    /// end-to-end app.
    pub ott_users: Prf,
}

pub(super) fn contacts(t: &Truth, r: &Resolver, m: &MetadataFindings) -> ContactGraphScore {
    let mut all_true = BTreeSet::new();
    let mut person = BTreeSet::new();
    let mut e2e = BTreeSet::new();
    for x in &t.messages {
        let p = unordered(x.from, x.to);
        all_true.insert(p);
        if x.e2e {
            e2e.insert(p);
        } else {
            person.insert(p);
        }
    }
    for &(a, b, ott) in &t.calls {
        all_true.insert(unordered(a, b));
        if ott {
            e2e.insert(unordered(a, b));
        } else {
            person.insert(unordered(a, b));
        }
    }
    let carrier = |i: usize| t.subscribers.get(i).map_or(usize::MAX, |s| s.2);
    let expected: BTreeSet<(usize, usize)> = person
        .iter()
        .copied()
        .filter(|&(a, b)| {
            t.records_held.contains(&carrier(a)) || t.records_held.contains(&carrier(b))
        })
        .collect();
    let reported: BTreeSet<(usize, usize)> =
        m.contacts.iter().map(|e| r.pair(&e.a, &e.b)).collect();
    let has = |e: &adversary::metadata::ContactEdge, s: &str| e.sources.contains(&s);
    let kind = |e: &adversary::metadata::ContactEdge, k: &str| e.kinds.contains(&k);
    // Person-to-person record edges (SMS, carrier voice); peer-to-peer data sessions apart.
    let rec: BTreeSet<(usize, usize)> = m
        .contacts
        .iter()
        .filter(|e| has(e, "call-records") && (kind(e, "sms") || kind(e, "voice")))
        .map(|e| r.pair(&e.a, &e.b))
        .collect();
    let peer: BTreeSet<(usize, usize)> = m
        .contacts
        .iter()
        .filter(|e| has(e, "call-records") && kind(e, "p2p"))
        .map(|e| r.pair(&e.a, &e.b))
        .collect();
    let timing: BTreeSet<(usize, usize)> = m
        .contacts
        .iter()
        .filter(|e| has(e, "timing"))
        .map(|e| r.pair(&e.a, &e.b))
        .collect();
    let users: BTreeSet<usize> = m
        .server_edges
        .iter()
        .map(|e| r.get(&e.subscriber).unwrap_or(usize::MAX))
        .collect();
    ContactGraphScore {
        all: Prf::of(&reported, &all_true),
        from_records: Prf::of(&rec, &expected),
        records_exact: rec == expected,
        from_timing: Prf::of(&timing, &e2e),
        from_peer_records: Prf::of(&peer, &t.p2p_calls),
        ott_users: Prf::of(&users, &t.ott_users),
    }
}

/// The contact graph's lines of the terminal section.
pub(super) fn render(o: &mut String, c: &ContactGraphScore) {
    use std::fmt::Write;
    let from_records = if c.from_records.truth == 0 && c.from_records.reported == 0 {
        "from records: none (no call records read, or no SMS/voice between visible parties)"
            .to_owned()
    } else {
        format!(
            "from records {} of {} expected SMS/voice pairs ({})",
            c.from_records.correct,
            c.from_records.truth,
            if c.records_exact {
                "exact"
            } else {
                "NOT exact"
            }
        )
    };
    let _ = writeln!(
        o,
        "  contact graph with every analysis (records, IRI, clear signalling, OTT timing): \
         precision {}, recall {:.2} of {} true pairs; {}; timing: {} OTT pairs found, precision {}",
        precision_text(c.all.reported, c.all.precision),
        c.all.recall,
        c.all.truth,
        from_records,
        c.from_timing.correct,
        precision_text(c.from_timing.reported, c.from_timing.precision)
    );
    let _ = writeln!(
        o,
        "  OTT users seen talking to a server: {} of {} (the records show the server, not the peer)",
        c.ott_users.correct, c.ott_users.truth
    );
    if c.from_peer_records.truth > 0 || c.from_peer_records.reported > 0 {
        let _ = writeln!(
            o,
            "  peer-to-peer calls from data records (a session to another subscriber's address): \
             {} of {} pairs, precision {}",
            c.from_peer_records.correct,
            c.from_peer_records.truth,
            precision_text(c.from_peer_records.reported, c.from_peer_records.precision)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::truth;

    #[test]
    fn peer_to_peer_record_edges_are_scored_apart_from_sms_and_voice() {
        let mut t = truth();
        t.p2p_calls.insert((0, 3));
        t.calls.push((0, 3, true));
        t.records_held.insert(0);
        let m = MetadataFindings {
            contacts: vec![adversary::metadata::ContactEdge {
                a: "+10000000000".into(),
                b: "+10000000003".into(),
                sources: vec!["call-records"],
                kinds: vec!["p2p"],
                evidence: 1,
            }],
            ..MetadataFindings::default()
        };
        let c = score_truth(&t, &m).contacts;
        assert_eq!(
            (c.from_peer_records.correct, c.from_peer_records.truth),
            (1, 1)
        );
        // The SMS/voice record edges stay exact: no SMS or carrier voice, none reported.
        assert!(c.records_exact, "{c:?}");
    }
}
