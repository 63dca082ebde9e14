//! Statistical disclosure's score ([`DisclosureScore`]): per target, the first snapshot whose
//! top k (k = the target's true end-to-end contacts that the adversary's packet vantages can
//! see) holds all of them, counted in the target's true end-to-end messages sent before the
//! snapshot (so that receipts and handshakes, which the adversary also sees as uplinks, do not
//! inflate it). `score_disclosure` is shared with the messaging server's sealed-sender
//! disclosure ([`crate::server`]). With its line of the terminal section.

use std::collections::{BTreeMap, BTreeSet};

use adversary::metadata::MetadataFindings;
use serde::Serialize;
use simcore::Timestamp;

use super::{opt, ratio, Resolver, Truth};

/// One disclosure target's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisclosureOutcome {
    /// The target as the adversary named it.
    pub target: String,
    /// Its true end-to-end contacts.
    pub contacts: usize,
    /// Of those, visible to the adversary's packet vantages.
    pub visible_contacts: usize,
    /// Its uplinks the adversary saw (messages, handshakes, receipts).
    pub uplinks: u32,
    /// Its end-to-end messages (ground truth) sent during the capture.
    pub messages: u32,
    /// End-to-end messages it had sent (ground truth) when all its visible contacts were the
    /// top-ranked candidates, if ever.
    pub messages_to_identify: Option<u32>,
    /// Messages it had sent when the top candidate was first a true contact, if ever.
    pub messages_to_first_contact: Option<u32>,
    /// At the last snapshot, the share of its k visible contacts among the top k candidates
    /// (recall at k; 0 when it has no visible contact).
    pub recall_at_k: f64,
}

/// Statistical disclosure's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DisclosureScore {
    /// Targets analysed (resolved to a subscriber).
    pub targets: usize,
    /// Targets whose visible contacts were all identified.
    pub identified: usize,
    /// Median messages-to-identify over identified targets.
    pub median_messages_to_identify: Option<u32>,
    /// Median messages-to-first-contact.
    pub median_messages_to_first_contact: Option<u32>,
    /// Mean recall at k (k = each target's visible contacts) at the last snapshot, over
    /// targets with at least one visible contact.
    pub mean_recall_at_k: f64,
    /// Per target, sorted by name.
    pub per_target: Vec<DisclosureOutcome>,
}

fn median(v: &mut [u32]) -> Option<u32> {
    v.sort_unstable();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

pub(super) fn disclosure(t: &Truth, r: &Resolver, m: &MetadataFindings) -> DisclosureScore {
    let mut contacts: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for x in t.messages.iter().filter(|x| x.e2e) {
        contacts.entry(x.from).or_default().insert(x.to);
        contacts.entry(x.to).or_default().insert(x.from);
    }
    let visible = |i: usize| {
        t.subscribers
            .get(i)
            .is_some_and(|s| t.packets_seen.contains(&s.2))
    };
    // The target's true messages, by send time: the count at a snapshot is the number sent
    // before it.
    let sent = |target: usize| -> Vec<Timestamp> {
        t.messages
            .iter()
            .filter(|x| x.e2e && x.from == target)
            .map(|x| x.sent_at)
            .collect()
    };
    score_disclosure(&m.disclosure, r, &contacts, visible, sent)
}

/// Scores disclosure targets against `contacts` (true contacts per subscriber), of which those
/// `visible` can be found; `events(target)` gives the true events a snapshot's count counts
/// (those before the snapshot).
pub(crate) fn score_disclosure(
    targets: &[adversary::metadata::DisclosureTarget],
    r: &Resolver,
    contacts: &BTreeMap<usize, BTreeSet<usize>>,
    visible: impl Fn(usize) -> bool,
    events: impl Fn(usize) -> Vec<Timestamp>,
) -> DisclosureScore {
    let mut out = DisclosureScore::default();
    for d in targets {
        let Some(target) = r.get(&d.target) else {
            continue;
        };
        let all = contacts.get(&target).cloned().unwrap_or_default();
        let seen: BTreeSet<usize> = all.iter().copied().filter(|&c| visible(c)).collect();
        let k = seen.len();
        let mut sent = events(target);
        sent.sort_unstable();
        let count =
            |at: Timestamp| u32::try_from(sent.partition_point(|&s| s < at)).unwrap_or(u32::MAX);
        let mut identify = None;
        let mut first = None;
        for snap in &d.snapshots {
            let n = count(snap.time);
            let ranked: Vec<Option<usize>> = snap.top.iter().map(|(n, _)| r.get(n)).collect();
            if first.is_none()
                && ranked
                    .first()
                    .copied()
                    .flatten()
                    .is_some_and(|c| all.contains(&c))
            {
                first = Some(n);
            }
            if identify.is_none()
                && k > 0
                && ranked.len() >= k
                && ranked[..k]
                    .iter()
                    .all(|c| c.is_some_and(|c| seen.contains(&c)))
            {
                identify = Some(n);
            }
        }
        let recall_at_k = d.snapshots.last().map_or(0.0, |snap| {
            let hits = snap
                .top
                .iter()
                .take(k)
                .filter(|(n, _)| r.get(n).is_some_and(|c| seen.contains(&c)))
                .count();
            ratio(hits, k, 0.0)
        });
        out.per_target.push(DisclosureOutcome {
            target: d.target.clone(),
            contacts: all.len(),
            visible_contacts: k,
            uplinks: d.messages,
            messages: u32::try_from(sent.len()).unwrap_or(u32::MAX),
            messages_to_identify: identify,
            messages_to_first_contact: first,
            recall_at_k,
        });
    }
    out.targets = out.per_target.len();
    let with_contacts: Vec<f64> = out
        .per_target
        .iter()
        .filter(|o| o.visible_contacts > 0)
        .map(|o| o.recall_at_k)
        .collect();
    out.mean_recall_at_k = if with_contacts.is_empty() {
        0.0
    } else {
        with_contacts.iter().sum::<f64>() / with_contacts.len() as f64
    };
    let mut ids: Vec<u32> = out
        .per_target
        .iter()
        .filter_map(|o| o.messages_to_identify)
        .collect();
    out.identified = ids.len();
    out.median_messages_to_identify = median(&mut ids);
    let mut firsts: Vec<u32> = out
        .per_target
        .iter()
        .filter_map(|o| o.messages_to_first_contact)
        .collect();
    out.median_messages_to_first_contact = median(&mut firsts);
    out
}

/// The statistical disclosure's line of the terminal section.
pub(super) fn render(o: &mut String, d: &DisclosureScore) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  statistical disclosure: {} targets, all visible contacts (top k, k = the target's \
         visible contacts) identified for {}; mean recall at k {:.2}; median messages to \
         identify {}, to a first true contact {}",
        d.targets,
        d.identified,
        d.mean_recall_at_k,
        opt(d.median_messages_to_identify),
        opt(d.median_messages_to_first_contact)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::{truth, ts};
    use adversary::metadata::{DisclosureSnapshot, DisclosureTarget};

    #[test]
    fn disclosure_by_hand() {
        let m = MetadataFindings {
            disclosure: vec![DisclosureTarget {
                target: "10.0.0.1".into(),
                chosen: "busy".into(),
                messages: 3,
                received: 0,
                snapshots: vec![
                    DisclosureSnapshot {
                        time: ts(5),
                        messages: 1,
                        responses: 0,
                        top: vec![("10.0.0.3".into(), 1.0)],
                    },
                    DisclosureSnapshot {
                        time: ts(8),
                        messages: 2,
                        responses: 0,
                        top: vec![("10.0.0.4".into(), 1.0)],
                    },
                    DisclosureSnapshot {
                        time: ts(20),
                        messages: 3,
                        responses: 0,
                        top: vec![("+10000000001".into(), 2.0)],
                    },
                ],
            }],
            ..MetadataFindings::default()
        };
        let s = score_truth(&truth(), &m);
        let d = &s.disclosure;
        assert_eq!(d.per_target[0].visible_contacts, 1);
        // One true message, sent at 10 s: the snapshots at 5 s and 8 s count 0 messages and rank
        // non-contacts first; the one at 20 s counts 1 and ranks the contact first.
        assert_eq!(d.per_target[0].messages_to_identify, Some(1));
        assert_eq!(d.median_messages_to_first_contact, Some(1));
        assert_eq!((d.per_target[0].uplinks, d.per_target[0].messages), (3, 1));
    }
}
