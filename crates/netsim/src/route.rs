//! Routing by hop count, in memory linear in the network.
//!
//! Carrier networks are trees: handsets hang off cells, cells off a packet gateway, the
//! gateway off the core, the core off an edge router, and edge routers and the OTT server off
//! the interconnect. On a forest (no cycle, no parallel links) the path between two nodes is
//! unique, so routing is *interval routing*, as hierarchical addressing gives real carriers:
//! each tree is numbered in depth-first order, every node's subtree is an interval of those
//! numbers, and a node forwards a packet for `d` to the child whose interval holds `d` (a binary
//! search over its children) or else to its parent. That needs a few `u32` per node and no
//! per-destination state at all. The last hop down, where the search would run over the most
//! children (a cell's handsets), is found without it: when `d`'s parent is the node itself, the
//! link is `d`'s link up.
//!
//! Any other graph keeps the general rule: for a destination `d`, a breadth-first search from
//! `d` gives every node's distance; a node's next hop is its neighbour one step closer with the
//! lowest `NodeId` (then the lowest `LinkId` among parallel links). That table of `N` entries is
//! computed lazily per destination and cached, so its memory grows with `N` × destinations
//! used. On a tree both rules give the same (the only) path; a property test checks it.

/// Marks "no route" in a next-hop table.
pub(crate) const NO_ROUTE: u32 = u32::MAX;

/// Routes of a network: interval routing on forests, cached BFS tables otherwise.
#[derive(Debug)]
pub(crate) struct Routes {
    /// `adj[start[v]..start[v + 1]]` are `(neighbour, link)` pairs of node `v`, sorted.
    start: Vec<u32>,
    adj: Vec<(u32, u32)>,
    how: How,
}

#[derive(Debug)]
enum How {
    /// The network is a forest.
    Tree(Forest),
    /// `tables[d][v]` is the link `v` forwards on towards `d`, or [`NO_ROUTE`].
    Tables(Vec<Option<Box<[u32]>>>),
}

/// Depth-first numbering of a forest.
#[derive(Debug)]
struct Forest {
    /// Pre-order number of each node.
    tin: Vec<u32>,
    /// One past the last pre-order number in each node's subtree.
    tout: Vec<u32>,
    /// The tree (its root's id) each node belongs to.
    tree: Vec<u32>,
    /// The link to each node's parent ([`NO_ROUTE`] at a root).
    up: Vec<u32>,
    /// Each node's parent (`u32::MAX` at a root).
    parent: Vec<u32>,
    /// `kids[kstart[v]..kstart[v + 1]]` are `(tin of child, link to it)` of node `v`, by `tin`.
    kstart: Vec<u32>,
    kids: Vec<(u32, u32)>,
}

impl Routes {
    /// Builds the routes for `nodes` nodes and links given as `(a, b)` endpoints.
    pub(crate) fn new(nodes: usize, links: &[(u32, u32)]) -> Routes {
        let mut pairs: Vec<(u32, u32, u32)> = Vec::with_capacity(links.len() * 2);
        for (l, &(a, b)) in links.iter().enumerate() {
            pairs.push((a, b, l as u32));
            pairs.push((b, a, l as u32));
        }
        pairs.sort_unstable();
        let mut start = vec![0u32; nodes + 1];
        for &(v, _, _) in &pairs {
            start[v as usize + 1] += 1;
        }
        for i in 0..nodes {
            start[i + 1] += start[i];
        }
        let adj = pairs.into_iter().map(|(_, u, l)| (u, l)).collect();
        let mut r = Routes {
            start,
            adj,
            how: How::Tables(Vec::new()),
        };
        r.how = match r.forest(nodes) {
            Some(f) => How::Tree(f),
            None => How::Tables(vec![None; nodes]),
        };
        r
    }

    /// The link `from` forwards on towards `dst`, or `None` if `dst` is unreachable (or `from`).
    pub(crate) fn next_link(&mut self, from: u32, dst: u32) -> Option<u32> {
        match &mut self.how {
            How::Tree(f) => f.next_link(from, dst),
            How::Tables(tables) => {
                let d = dst as usize;
                if tables[d].is_none() {
                    let t = bfs_table(&self.start, &self.adj, dst);
                    if let How::Tables(tables) = &mut self.how {
                        tables[d] = Some(t);
                    }
                }
                let How::Tables(tables) = &self.how else {
                    return None;
                };
                let l = tables[d].as_ref().map_or(NO_ROUTE, |t| t[from as usize]);
                (l != NO_ROUTE).then_some(l)
            }
        }
    }

    /// Whether routing uses interval routing (the network is a forest).
    pub(crate) fn is_tree(&self) -> bool {
        matches!(self.how, How::Tree(_))
    }

    fn neighbours(&self, v: u32) -> &[(u32, u32)] {
        neighbours(&self.start, &self.adj, v)
    }

    /// The depth-first numbering of the network, if it is a forest.
    fn forest(&self, n: usize) -> Option<Forest> {
        let mut tin = vec![u32::MAX; n];
        let mut tout = vec![0u32; n];
        let mut tree = vec![0u32; n];
        let mut up = vec![NO_ROUTE; n];
        let mut parent = vec![u32::MAX; n];
        let mut next = 0u32;
        // Iterative DFS: (node, index of the next neighbour to look at).
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for root in 0..n as u32 {
            if tin[root as usize] != u32::MAX {
                continue;
            }
            tin[root as usize] = next;
            tree[root as usize] = root;
            next += 1;
            stack.push((root, 0));
            while let Some(&mut (v, ref mut i)) = stack.last_mut() {
                let nb = self.neighbours(v);
                if *i == nb.len() {
                    tout[v as usize] = next;
                    stack.pop();
                    continue;
                }
                let (u, l) = nb[*i];
                *i += 1;
                if l == up[v as usize] {
                    continue;
                }
                if tin[u as usize] != u32::MAX {
                    // A second way to reach `u`: a cycle or parallel links.
                    return None;
                }
                tin[u as usize] = next;
                tree[u as usize] = root;
                next += 1;
                up[u as usize] = l;
                parent[u as usize] = v;
                stack.push((u, 0));
            }
        }
        let mut kstart = vec![0u32; n + 1];
        for u in 0..n {
            if parent[u] != u32::MAX {
                kstart[parent[u] as usize + 1] += 1;
            }
        }
        for i in 0..n {
            kstart[i + 1] += kstart[i];
        }
        let mut fill = kstart.clone();
        let mut kids = vec![(0u32, 0u32); kstart[n] as usize];
        for u in 0..n {
            let p = parent[u];
            if p != u32::MAX {
                let slot = &mut fill[p as usize];
                kids[*slot as usize] = (tin[u], up[u]);
                *slot += 1;
            }
        }
        for v in 0..n {
            kids[kstart[v] as usize..kstart[v + 1] as usize].sort_unstable();
        }
        Some(Forest {
            tin,
            tout,
            tree,
            up,
            parent,
            kstart,
            kids,
        })
    }
}

impl Forest {
    fn next_link(&self, from: u32, dst: u32) -> Option<u32> {
        let (f, d) = (from as usize, dst as usize);
        if from == dst || self.tree.get(f)? != self.tree.get(d)? {
            return None;
        }
        if self.parent[d] == from {
            // The last hop, down to a child (a cell to its handset, a router to its host).
            return Some(self.up[d]);
        }
        let t = self.tin[d];
        if self.tin[f] < t && t < self.tout[f] {
            // Down: the child whose subtree (an interval starting at its tin) holds `t`.
            let kids = &self.kids[self.kstart[f] as usize..self.kstart[f + 1] as usize];
            let i = kids.partition_point(|&(k, _)| k <= t);
            return i.checked_sub(1).map(|i| kids[i].1);
        }
        let l = self.up[f];
        (l != NO_ROUTE).then_some(l)
    }
}

fn neighbours<'a>(start: &[u32], adj: &'a [(u32, u32)], v: u32) -> &'a [(u32, u32)] {
    &adj[start[v as usize] as usize..start[v as usize + 1] as usize]
}

/// The next-hop table towards `dst` by breadth-first search.
fn bfs_table(start: &[u32], adj: &[(u32, u32)], dst: u32) -> Box<[u32]> {
    let n = start.len() - 1;
    let mut dist = vec![u32::MAX; n];
    let mut frontier = Vec::with_capacity(n);
    dist[dst as usize] = 0;
    frontier.push(dst);
    let mut head = 0;
    while head < frontier.len() {
        let v = frontier[head];
        head += 1;
        for &(u, _) in neighbours(start, adj, v) {
            if dist[u as usize] == u32::MAX {
                dist[u as usize] = dist[v as usize] + 1;
                frontier.push(u);
            }
        }
    }
    let mut table = vec![NO_ROUTE; n].into_boxed_slice();
    for v in 0..n as u32 {
        let dv = dist[v as usize];
        if v == dst || dv == u32::MAX {
            continue;
        }
        // Neighbours are sorted by (node, link): the first one a step closer wins.
        if let Some(&(_, l)) = neighbours(start, adj, v)
            .iter()
            .find(|&&(u, _)| dist[u as usize] == dv - 1)
        {
            table[v as usize] = l;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_go_to_the_lowest_node_then_link() {
        // 0 - 1 - 3 and 0 - 2 - 3: node 0 reaches 3 via 1 (lower id than 2).
        // Two parallel links 0-1 (ids 0 and 4): the lower link id wins.
        let mut r = Routes::new(4, &[(0, 1), (0, 2), (1, 3), (2, 3), (1, 0)]);
        assert!(!r.is_tree());
        assert_eq!(r.next_link(0, 3), Some(0));
        assert_eq!(r.next_link(1, 3), Some(2));
        assert_eq!(r.next_link(2, 3), Some(3));
        assert_eq!(r.next_link(3, 0), Some(2));
    }

    #[test]
    fn unreachable_has_no_route() {
        let mut r = Routes::new(3, &[(0, 1)]);
        assert!(r.is_tree());
        assert_eq!(r.next_link(0, 2), None);
        assert_eq!(r.next_link(2, 0), None);
        assert_eq!(r.next_link(1, 0), Some(0));
        assert_eq!(r.next_link(1, 1), None);
    }

    #[test]
    fn a_carrier_shaped_tree_routes_through_its_hierarchy() {
        // ix(0) - edge(1) - core(2) - pgw(3) - cells 4, 5 - handsets 6, 7 (cell 4), 8 (cell 5).
        let links = [
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 4),
            (3, 5),
            (6, 4),
            (4, 7),
            (8, 5),
        ];
        let mut r = Routes::new(9, &links);
        assert!(r.is_tree());
        assert_eq!(r.next_link(6, 8), Some(5)); // up to cell 4
        assert_eq!(r.next_link(4, 8), Some(3)); // up to the gateway
        assert_eq!(r.next_link(3, 8), Some(4)); // down to cell 5
        assert_eq!(r.next_link(5, 8), Some(7)); // down to the handset
        assert_eq!(r.next_link(0, 7), Some(0));
        assert_eq!(r.next_link(3, 7), Some(3));
    }

    /// A random forest on `n` nodes: node `i > 0` links to a random earlier node unless the
    /// draw says it starts a new tree; the links come in shuffled order and orientation.
    fn forest() -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
        (2usize..60).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec((any::<u32>(), any::<bool>(), 0u8..10), n - 1),
                any::<u64>(),
            )
                .prop_map(|(n, draws, shuffle)| {
                    let mut links: Vec<(u32, u32)> = draws
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, _, cut))| *cut != 0)
                        .map(|(i, &(p, flip, _))| {
                            let child = i as u32 + 1;
                            let parent = p % child;
                            if flip {
                                (parent, child)
                            } else {
                                (child, parent)
                            }
                        })
                        .collect();
                    let mut x = shuffle | 1;
                    for i in (1..links.len()).rev() {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        links.swap(i, (x % (i as u64 + 1)) as usize);
                    }
                    // Relabel nodes so that roots are not always node 0.
                    let relabel = |v: u32| (v as u64 * 7 + shuffle % n as u64) as u32 % n as u32;
                    let links = if n % 7 == 0 {
                        links
                    } else {
                        links
                            .into_iter()
                            .map(|(a, b)| (relabel(a), relabel(b)))
                            .collect()
                    };
                    (n, links)
                })
        })
    }

    proptest! {
        /// On every forest, interval routing picks exactly the link the BFS tables pick.
        #[test]
        fn interval_routing_equals_shortest_paths_on_forests((n, links) in forest()) {
            let mut tree = Routes::new(n, &links);
            prop_assert!(tree.is_tree());
            let mut tables = Routes::new(n, &links);
            tables.how = How::Tables(vec![None; n]);
            for from in 0..n as u32 {
                for dst in 0..n as u32 {
                    prop_assert_eq!(tree.next_link(from, dst), tables.next_link(from, dst),
                        "from {} to {}", from, dst);
                }
            }
        }
    }
}
