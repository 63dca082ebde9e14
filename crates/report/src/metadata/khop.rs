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

/// An undirected graph over subscriber indices in compressed rows: the neighbours of `v` are
/// `nbr[start[v]..start[v + 1]]`, sorted and without repeats (no self-loops; pairs with an end
/// outside `0..n` are left out).
struct Graph {
    start: Vec<usize>,
    nbr: Vec<u32>,
}

impl Graph {
    fn new(n: usize, pairs: impl Iterator<Item = (usize, usize)>) -> Graph {
        let mut arcs: Vec<(u32, u32)> = Vec::new();
        for (a, b) in pairs {
            if a != b && a < n && b < n {
                // Subscriber indices fit in u32: every subscriber has an IPv4 address of its own
                // (scenario validation caps each carrier at 65 /16 blocks).
                let (a, b) = (a as u32, b as u32);
                arcs.push((a, b));
                arcs.push((b, a));
            }
        }
        arcs.sort_unstable();
        arcs.dedup();
        let mut start = vec![0usize; n + 1];
        for &(a, _) in &arcs {
            start[a as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let nbr = arcs.into_iter().map(|(_, b)| b).collect();
        Graph { start, nbr }
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn neighbours(&self, v: usize) -> &[u32] {
        &self.nbr[self.start[v]..self.start[v + 1]]
    }
}

/// One graph's breadth-first search from up to 64 sources at once (a multi-source BFS with
/// one bit a source, as in Then et al., "The More the Merrier", VLDB 2014): `seen[v]` holds
/// the sources that reached `v`, `front[v]` those that reached it at the last level.
struct Lanes<'g> {
    g: &'g Graph,
    seen: Vec<u64>,
    front: Vec<u64>,
    next: Vec<u64>,
    front_list: Vec<u32>,
    next_list: Vec<u32>,
    /// Every node whose `seen` is not zero, to clear between batches.
    touched: Vec<u32>,
}

impl<'g> Lanes<'g> {
    fn new(g: &'g Graph) -> Lanes<'g> {
        let n = g.len();
        Lanes {
            g,
            seen: vec![0; n],
            front: vec![0; n],
            next: vec![0; n],
            front_list: Vec::new(),
            next_list: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Starts a batch: source `i` of `sources` is bit `i`.
    fn start(&mut self, sources: &[u32]) {
        for &v in &self.touched {
            self.seen[v as usize] = 0;
        }
        for &v in &self.front_list {
            self.front[v as usize] = 0;
        }
        self.touched.clear();
        self.front_list.clear();
        for (i, &s) in sources.iter().enumerate() {
            let s = s as usize;
            if self.seen[s] == 0 {
                self.touched.push(s as u32);
                self.front_list.push(s as u32);
            }
            self.seen[s] |= 1 << i;
            self.front[s] |= 1 << i;
        }
    }

    /// One level further: afterwards `next_list` holds the nodes reached for the first time
    /// by some source, and `next[v]` those sources. Returns how many (source, node) pairs
    /// were new.
    fn step(&mut self) -> usize {
        for &v in &self.front_list {
            let m = self.front[v as usize];
            for &w in self.g.neighbours(v as usize) {
                let w = w as usize;
                let new = m & !self.seen[w];
                if new != 0 {
                    if self.next[w] == 0 {
                        self.next_list.push(w as u32);
                        if self.seen[w] == 0 {
                            self.touched.push(w as u32);
                        }
                    }
                    self.next[w] |= new;
                    self.seen[w] |= new;
                }
            }
        }
        self.next_list
            .iter()
            .map(|&w| self.next[w as usize].count_ones() as usize)
            .sum()
    }

    /// Makes the level just reached the frontier.
    fn advance(&mut self) {
        for &v in &self.front_list {
            self.front[v as usize] = 0;
        }
        std::mem::swap(&mut self.front, &mut self.next);
        std::mem::swap(&mut self.front_list, &mut self.next_list);
        self.next_list.clear();
    }
}

/// For k = 1..=`max`: (Σ over `targets` of the subscribers within k hops in `truth`, the same
/// in `found`, Σ of those within k hops in both). Exact: what [`within`] would give target by
/// target, 64 targets a pass.
fn hop_sums(truth: &Graph, found: &Graph, targets: &[u32], max: u32) -> Vec<(usize, usize, usize)> {
    let mut t = Lanes::new(truth);
    let mut f = Lanes::new(found);
    let mut sums = vec![(0usize, 0usize, 0usize); max as usize];
    for batch in targets.chunks(64) {
        t.start(batch);
        f.start(batch);
        let (mut tru, mut rec, mut both) = (0usize, 0usize, 0usize);
        for s in sums.iter_mut() {
            tru += t.step();
            rec += f.step();
            // Pairs newly within k in both: at a node reached at this level in either graph,
            // the sources seen in both now less those seen in both before this level.
            for &w in &t.next_list {
                let w = w as usize;
                let before = (t.seen[w] & !t.next[w]) & (f.seen[w] & !f.next[w]);
                both += ((t.seen[w] & f.seen[w]).count_ones() - before.count_ones()) as usize;
            }
            for &w in &f.next_list {
                let w = w as usize;
                if t.next[w] == 0 {
                    let before = t.seen[w] & (f.seen[w] & !f.next[w]);
                    both += ((t.seen[w] & f.seen[w]).count_ones() - before.count_ones()) as usize;
                }
            }
            t.advance();
            f.advance();
            s.0 += tru;
            s.1 += rec;
            s.2 += both;
        }
    }
    sums
}

pub(super) fn k_hops(t: &Truth, r: &Resolver, m: &MetadataFindings) -> KHopScore {
    let n = t.subscribers.len();
    // The true contact graph: messages and calls.
    let truth = Graph::new(
        n,
        t.messages
            .iter()
            .map(|x| (x.from, x.to))
            .chain(t.calls.iter().map(|c| (c.0, c.1))),
    );
    // The recovered one: every consolidated edge whose ends resolve.
    let found = Graph::new(
        n,
        m.contacts
            .iter()
            .filter_map(|e| Some((r.get(&e.a)?, r.get(&e.b)?))),
    );
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
    let count = targets.len();
    // A target outside the graph has no one within any k: it counts in the means only.
    let sources: Vec<u32> = targets
        .iter()
        .filter(|&&x| x < n)
        .filter_map(|&x| u32::try_from(x).ok())
        .collect();
    let by_hops = hop_sums(&truth, &found, &sources, 3)
        .into_iter()
        .zip(1..)
        .map(|((tru, rec, both), k)| HopScore {
            hops: k,
            true_mean: ratio(tru, count, 0.0),
            recovered_mean: ratio(rec, count, 0.0),
            recall: ratio(both, tru, 0.0),
            precision: ratio(both, rec, 1.0),
        })
        .collect();
    KHopScore {
        from: from.to_owned(),
        targets: count,
        subscribers: n,
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

    /// The definition, one target at a time (the code before the multi-source search): everyone
    /// within `k` hops of `from` (not `from` itself).
    fn within(g: &Graph, from: usize, k: u32) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = [from].into_iter().collect();
        let mut frontier = vec![from];
        for _ in 0..k {
            let mut next = Vec::new();
            for &v in &frontier {
                for &w in g.neighbours(v) {
                    if seen.insert(w as usize) {
                        next.push(w as usize);
                    }
                }
            }
            frontier = next;
        }
        seen.remove(&from);
        seen
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The multi-source search gives, for every k, exactly the sums of the one-target
        /// searches: graphs with repeated and self-loop pairs, ends out of range, more than 64
        /// targets (batches that must start clean), targets next to each other.
        #[test]
        fn hop_sums_equal_one_search_per_target(
            n in 1usize..180,
            t_pairs in proptest::collection::vec((0usize..200, 0usize..200), 0..600),
            f_pairs in proptest::collection::vec((0usize..200, 0usize..200), 0..600),
            picks in proptest::collection::btree_set(0usize..180, 0..150),
        ) {
            let truth = Graph::new(n, t_pairs.iter().copied());
            let found = Graph::new(n, f_pairs.iter().copied());
            let targets: Vec<u32> = picks.iter().filter(|&&x| x < n).map(|&x| x as u32).collect();
            let got = hop_sums(&truth, &found, &targets, 3);
            for k in 1..=3u32 {
                let (mut tru, mut rec, mut both) = (0, 0, 0);
                for &x in &targets {
                    let a = within(&truth, x as usize, k);
                    let b = within(&found, x as usize, k);
                    tru += a.len();
                    rec += b.len();
                    both += a.intersection(&b).count();
                }
                proptest::prop_assert_eq!(got[k as usize - 1], (tru, rec, both), "k = {}", k);
            }
        }
    }

    #[test]
    fn graph_rows_are_sorted_unique_and_symmetric() {
        let g = Graph::new(
            4,
            [(0, 1), (1, 0), (2, 2), (3, 1), (0, 9), (1, 3)].into_iter(),
        );
        assert_eq!(g.neighbours(0), &[1]);
        assert_eq!(g.neighbours(1), &[0, 3]);
        assert!(g.neighbours(2).is_empty());
        assert_eq!(g.neighbours(3), &[1]);
    }
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
            sources: vec!["call-records"],
            kinds: vec!["voice"],
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
