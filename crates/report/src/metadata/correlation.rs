//! Traffic correlation's score ([`CorrelationScore`]): each end-to-end message is scored at one
//! uplink, its sender's first uplink at or after it was sent and before its flight ended (the
//! message, or the first handshake message of its session: both go to its recipient); other
//! uplinks (cover messages, receipts, later handshake messages) are not scored. Top-1 accuracy,
//! the probability given to the truth, the anonymity set and the degree of anonymity; edges
//! against end-to-end pairs. Also `flights`, each sender's end-to-end messages in time order
//! (which size fingerprinting scores as well). With its lines of the terminal section.

use std::collections::{BTreeMap, BTreeSet};

use adversary::metadata::MetadataFindings;
use serde::Serialize;
use simcore::Timestamp;

use super::{ratio, unordered, Prf, Resolver, Truth};

/// Traffic correlation's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CorrelationScore {
    /// Encrypted uplinks the adversary saw.
    pub uplinks: usize,
    /// Uplinks of real end-to-end messages (each message's sender's first uplink after it was
    /// sent, within its flight), whose true recipient is known; cover messages and receipts are
    /// not scored.
    pub scored: usize,
    /// Of those, whose recipient's downlinks the adversary's packet vantages can see.
    pub scored_visible: usize,
    /// Scored visible uplinks whose most likely candidate is the true recipient.
    pub top1_correct: usize,
    /// top1_correct / scored_visible.
    pub top1_accuracy: f64,
    /// Mean probability given to the true recipient (scored visible uplinks).
    pub mean_true_probability: f64,
    /// Uplinks claimed, and claimed with the true recipient (scored only).
    pub claimed: usize,
    /// Claimed with the right recipient.
    pub claimed_correct: usize,
    /// Mean anonymity set size over all uplinks.
    pub mean_anonymity_set: f64,
    /// Median anonymity set size.
    pub median_anonymity_set: u32,
    /// Mean entropy, bits.
    pub mean_entropy_bits: f64,
    /// Mean degree of anonymity (0 identified … 1 anyone).
    pub mean_degree: f64,
    /// N: distinct recipients the adversary saw.
    pub population: usize,
    /// Claimed edges against all end-to-end pairs.
    pub edges: Prf,
    /// Claimed edges against end-to-end pairs with both ends visible.
    pub edges_visible: Prf,
}

/// End-to-end messages per sender, sorted by send time: (sent_at, end, to, len).
pub(super) fn flights(t: &Truth) -> Vec<Vec<(Timestamp, Timestamp, usize, usize)>> {
    let mut v = vec![Vec::new(); t.subscribers.len()];
    for x in t.messages.iter().filter(|x| x.e2e) {
        if let Some(l) = v.get_mut(x.from) {
            l.push((x.sent_at, x.end, x.to, x.len));
        }
    }
    for l in &mut v {
        l.sort_unstable();
    }
    v
}

pub(super) fn correlation(t: &Truth, r: &Resolver, m: &MetadataFindings) -> CorrelationScore {
    let c = &m.correlation;
    let fl = flights(t);
    let visible = |i: usize| {
        t.subscribers
            .get(i)
            .is_some_and(|s| t.packets_seen.contains(&s.2))
    };
    let mut s = CorrelationScore {
        uplinks: c.messages.len(),
        population: c.recipients_seen,
        ..CorrelationScore::default()
    };
    // The uplink of each real message: its sender's first uplink at or after it was sent and
    // before its flight ended (the message itself, or the first handshake message of its
    // session, which goes to the same recipient). Cover messages and receipts are never the
    // first uplink after a real message is sent unless one leaves in that instant, and an
    // uplink claimed by two messages is not scored.
    let mut by_sender: BTreeMap<usize, Vec<(Timestamp, usize)>> = BTreeMap::new();
    for (i, x) in c.messages.iter().enumerate() {
        if let Some(a) = r.get(&x.sender) {
            by_sender.entry(a).or_default().push((x.time, i));
        }
    }
    for v in by_sender.values_mut() {
        v.sort_unstable();
    }
    let mut truth_of: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    for (a, list) in fl.iter().enumerate() {
        let Some(ups) = by_sender.get(&a) else {
            continue;
        };
        for &(sent, end, to, _) in list {
            let k = ups.partition_point(|u| u.0 < sent);
            if let Some(&(_, i)) = ups.get(k).filter(|u| u.0 <= end) {
                truth_of
                    .entry(i)
                    .and_modify(|e| *e = None)
                    .or_insert(Some(to));
            }
        }
    }
    let mut sets: Vec<u32> = Vec::with_capacity(c.messages.len());
    let (mut h, mut d, mut ptrue) = (0.0, 0.0, 0.0);
    for (i, x) in c.messages.iter().enumerate() {
        sets.push(x.anonymity_set);
        h += x.entropy_bits;
        d += x.degree;
        let Some(&Some(b)) = truth_of.get(&i) else {
            continue;
        };
        s.scored += 1;
        let best = x.top.first().and_then(|(n, _)| r.get(n));
        if x.claimed {
            s.claimed += 1;
            s.claimed_correct += usize::from(best == Some(b));
        }
        if visible(b) {
            s.scored_visible += 1;
            s.top1_correct += usize::from(best == Some(b));
            ptrue += x
                .top
                .iter()
                .find(|(n, _)| r.get(n) == Some(b))
                .map_or(0.0, |(_, p)| *p);
        }
    }
    let n = c.messages.len();
    s.mean_anonymity_set = ratio(sets.iter().map(|&x| x as usize).sum(), n, 0.0);
    sets.sort_unstable();
    s.median_anonymity_set = sets.get(sets.len() / 2).copied().unwrap_or(0);
    if n > 0 {
        s.mean_entropy_bits = h / n as f64;
        s.mean_degree = d / n as f64;
    }
    s.top1_accuracy = ratio(s.top1_correct, s.scored_visible, 0.0);
    if s.scored_visible > 0 {
        s.mean_true_probability = ptrue / s.scored_visible as f64;
    }
    // End-to-end pairs: messages and OTT calls (their signalling and media cross the relay).
    let e2e: BTreeSet<(usize, usize)> = t
        .messages
        .iter()
        .filter(|x| x.e2e)
        .map(|x| unordered(x.from, x.to))
        .chain(t.calls.iter().filter(|c| c.2).map(|c| unordered(c.0, c.1)))
        .collect();
    let e2e_visible: BTreeSet<(usize, usize)> = e2e
        .iter()
        .copied()
        .filter(|&(a, b)| visible(a) && visible(b))
        .collect();
    let edges: BTreeSet<(usize, usize)> = c.edges.iter().map(|e| r.pair(&e.0, &e.1)).collect();
    s.edges = Prf::of(&edges, &e2e);
    s.edges_visible = Prf::of(&edges, &e2e_visible);
    s
}

/// The correlation's lines of the terminal section.
pub(super) fn render(o: &mut String, x: &CorrelationScore) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  timing/size correlation at the OTT relay: {} encrypted uplinks; recipient ranked first \
         for {} of {} ({:.1}%) whose recipient is visible; mean P(true recipient) {:.2}",
        x.uplinks,
        x.top1_correct,
        x.scored_visible,
        100.0 * x.top1_accuracy,
        x.mean_true_probability
    );
    let _ = writeln!(
        o,
        "    anonymity set mean {:.1} (median {}), entropy {:.2} bits, degree of anonymity {:.3} \
         (N = {}); edges precision {:.2}, recall {:.2} ({:.2} of visible pairs)",
        x.mean_anonymity_set,
        x.median_anonymity_set,
        x.mean_entropy_bits,
        x.mean_degree,
        x.population,
        x.edges.precision,
        x.edges.recall,
        x.edges_visible.recall
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::truth;
    use adversary::metadata::{CorrelationFindings, MessageLink};

    #[test]
    fn correlation_by_hand() {
        // Candidates 1 (p 0.5), 2 (0.25), 3 (0.25): H = 1.5 bits, N = 4 → d = 0.75.
        let m = MetadataFindings {
            correlation: CorrelationFindings {
                recipients_seen: 4,
                messages: vec![MessageLink {
                    time: Timestamp::from_millis(10_500),
                    sender: "10.0.0.1".into(),
                    size: 120,
                    anonymity_set: 3,
                    entropy_bits: 1.5,
                    degree: 0.75,
                    top: vec![
                        ("+10000000001".into(), 0.5),
                        ("10.0.0.3".into(), 0.25),
                        ("10.0.0.4".into(), 0.25),
                    ],
                    claimed: true,
                }],
                edges: vec![("+10000000001".into(), "10.0.0.1".into(), 1)],
                ..CorrelationFindings::default()
            },
            ..MetadataFindings::default()
        };
        let s = score_truth(&truth(), &m).correlation;
        assert_eq!((s.scored, s.scored_visible, s.top1_correct), (1, 1, 1));
        assert_eq!(s.mean_true_probability, 0.5);
        assert_eq!((s.mean_anonymity_set, s.median_anonymity_set), (3.0, 3));
        assert_eq!((s.mean_entropy_bits, s.mean_degree), (1.5, 0.75));
        assert_eq!((s.edges.precision, s.edges.recall), (1.0, 1.0));
        assert_eq!((s.claimed, s.claimed_correct), (1, 1));
    }

    #[test]
    fn cover_messages_in_flight_are_not_scored_as_the_message() {
        // 0 sends one real message to 1 at 10 s (in flight until 11 s); its uplink is at
        // 10.1 s. A cover message (and a receipt) leave 0 at 10.4 s and 10.8 s, inside the flight:
        // they go to nobody, and must not be scored as 0's message to 1.
        let link = |ms: u64, top: &str| MessageLink {
            time: Timestamp::from_millis(ms),
            sender: "10.0.0.1".into(),
            size: 120,
            anonymity_set: 1,
            entropy_bits: 0.0,
            degree: 0.0,
            top: vec![(top.into(), 1.0)],
            claimed: false,
        };
        let m = MetadataFindings {
            correlation: CorrelationFindings {
                recipients_seen: 4,
                messages: vec![
                    link(10_100, "10.0.0.2"),
                    link(10_400, "10.0.0.3"),
                    link(10_800, "10.0.0.4"),
                ],
                ..CorrelationFindings::default()
            },
            ..MetadataFindings::default()
        };
        let s = score_truth(&truth(), &m).correlation;
        assert_eq!(s.uplinks, 3);
        assert_eq!((s.scored, s.top1_correct), (1, 1), "{s:?}");
        assert_eq!(s.top1_accuracy, 1.0);
    }
}
