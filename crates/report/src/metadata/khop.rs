//! k-hop expansion ([`KHopScore`]): from each warrant target (or, without warrants, each
//! disclosure target), the subscribers within 1, 2 and 3 hops in the true contact graph
//! (messages and calls) and in the recovered one (every consolidated edge whose ends resolve):
//! mean counts, and recall and precision of the recovered neighbourhoods. With its line of the
//! terminal section.

use std::collections::BTreeSet;

use adversary::metadata::MetadataFindings;
use serde::Serialize;

use super::{precision_text, ratio, Resolver, Truth};

/// Subscribers within k hops of the targets, true and recovered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HopScore {
    /// k.
    pub hops: u32,
    /// Mean number of subscribers within k hops of a target in the true contact graph.
    pub true_mean: f64,
    /// Mean number within k hops in the recovered contact graph.
    pub recovered_mean: f64,
    /// Σ (recovered ∩ true within k) / Σ true within k.
    pub recall: f64,
    /// Σ (recovered ∩ true within k) / Σ recovered within k (1 when nothing was recovered).
    pub precision: f64,
}

/// k-hop expansion from the targets through the contact graph (the "two or three hops from a
/// target" of bulk metadata programmes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KHopScore {
    /// Whose neighbourhoods: `"warrant targets"`, or without warrants `"disclosure targets"`.
    pub from: String,
    /// How many targets.
    pub targets: usize,
    /// Subscribers in the true contact graph.
    pub subscribers: usize,
    /// k = 1, 2, 3.
    pub by_hops: Vec<HopScore>,
}

/// The true contact graph (messages and calls) as adjacency lists over subscriber indices.
fn true_graph(t: &Truth) -> Vec<BTreeSet<usize>> {
    let mut g = vec![BTreeSet::new(); t.subscribers.len()];
    let pairs = t
        .messages
        .iter()
        .map(|x| (x.from, x.to))
        .chain(t.calls.iter().map(|c| (c.0, c.1)));
    for (a, b) in pairs {
        if a != b && a < g.len() && b < g.len() {
            g[a].insert(b);
            g[b].insert(a);
        }
    }
    g
}

/// Everyone within `k` hops of `from` (not `from` itself). O(V + E).
fn within(g: &[BTreeSet<usize>], from: usize, k: u32) -> BTreeSet<usize> {
    let mut seen: BTreeSet<usize> = [from].into_iter().collect();
    let mut frontier = vec![from];
    for _ in 0..k {
        let mut next = Vec::new();
        for &v in &frontier {
            for &w in g.get(v).into_iter().flatten() {
                if seen.insert(w) {
                    next.push(w);
                }
            }
        }
        frontier = next;
    }
    seen.remove(&from);
    seen
}

pub(super) fn k_hops(t: &Truth, r: &Resolver, m: &MetadataFindings) -> KHopScore {
    let truth = true_graph(t);
    let mut found = vec![BTreeSet::new(); t.subscribers.len()];
    for e in &m.contacts {
        if let (Some(a), Some(b)) = (r.get(&e.a), r.get(&e.b)) {
            if a != b {
                found[a].insert(b);
                found[b].insert(a);
            }
        }
    }
    let mut targets: BTreeSet<usize> = t.warrants.iter().filter_map(|w| r.get(&w.0)).collect();
    let mut from = "warrant targets";
    if targets.is_empty() {
        targets = m
            .disclosure
            .iter()
            .filter_map(|d| r.get(&d.target))
            .collect();
        from = "disclosure targets";
    }
    let n = targets.len();
    let by_hops = (1..=3)
        .map(|k| {
            let (mut tru, mut rec, mut both) = (0usize, 0usize, 0usize);
            for &x in &targets {
                let a = within(&truth, x, k);
                let b = within(&found, x, k);
                tru += a.len();
                rec += b.len();
                both += a.intersection(&b).count();
            }
            HopScore {
                hops: k,
                true_mean: ratio(tru, n, 0.0),
                recovered_mean: ratio(rec, n, 0.0),
                recall: ratio(both, tru, 0.0),
                precision: ratio(both, rec, 1.0),
            }
        })
        .collect();
    KHopScore {
        from: from.to_owned(),
        targets: n,
        subscribers: t.subscribers.len(),
        by_hops,
    }
}

/// The k-hop expansion's line of the terminal section (none without targets).
pub(super) fn render(o: &mut String, k: &KHopScore) {
    use std::fmt::Write;
    if k.targets > 0 {
        let hops: Vec<String> = k
            .by_hops
            .iter()
            .map(|h| {
                format!(
                    "{} hop{}: {:.1} true, {:.1} recovered (recall {:.2}, precision {})",
                    h.hops,
                    if h.hops == 1 { "" } else { "s" },
                    h.true_mean,
                    h.recovered_mean,
                    h.recall,
                    precision_text(usize::from(h.recovered_mean > 0.0), h.precision)
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "  k-hop expansion from {} {} (of {} subscribers), mean subscribers within: {}",
            k.targets,
            k.from,
            k.subscribers,
            hops.join("; ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::truth;

    #[test]
    fn k_hop_neighbourhoods_by_hand() {
        // True graph: 2 - 0 - 1 - 3 (0→1 in truth(), plus 0–2 and 1–3 calls); warrant target 2.
        let mut t = truth();
        t.calls.push((0, 2, false));
        t.calls.push((1, 3, false));
        let edge = |a: &str, b: &str| adversary::metadata::ContactEdge {
            a: a.into(),
            b: b.into(),
            sources: vec!["call-records".into()],
            kinds: vec!["voice".into()],
            evidence: 1,
        };
        // Recovered: 2–0 and 0–1, not 1–3.
        let m = MetadataFindings {
            contacts: vec![
                edge("+10000000000", "+10000000002"),
                edge("+10000000000", "+10000000001"),
            ],
            ..MetadataFindings::default()
        };
        let k = score_truth(&t, &m).k_hops;
        assert_eq!((k.targets, k.from.as_str()), (1, "warrant targets"));
        let h: Vec<(f64, f64, f64)> = k
            .by_hops
            .iter()
            .map(|h| (h.true_mean, h.recovered_mean, h.recall))
            .collect();
        assert_eq!(
            h,
            vec![(1.0, 1.0, 1.0), (2.0, 2.0, 1.0), (3.0, 2.0, 2.0 / 3.0)]
        );
    }
}
