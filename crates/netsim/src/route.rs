//! Shortest-path routing by hop count, computed lazily per destination and cached.
//!
//! For a destination `d`, a breadth-first search from `d` gives every node's distance; a node's
//! next hop is its neighbour one step closer with the lowest `NodeId` (then the lowest `LinkId`
//! among parallel links). The result is a `Vec<u32>` of outgoing link ids indexed by node, kept
//! for the life of the network: topologies are static once built.

/// Marks "no route" in a next-hop table.
pub(crate) const NO_ROUTE: u32 = u32::MAX;

/// Adjacency in compressed form plus the per-destination next-hop tables.
#[derive(Debug)]
pub(crate) struct Routes {
    /// `adj[start[v]..start[v + 1]]` are `(neighbour, link)` pairs of node `v`, sorted.
    start: Vec<u32>,
    adj: Vec<(u32, u32)>,
    /// `tables[d][v]` is the link `v` forwards on towards `d`, or [`NO_ROUTE`].
    tables: Vec<Option<Box<[u32]>>>,
}

impl Routes {
    /// Builds the adjacency for `nodes` nodes and links given as `(a, b)` endpoints.
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
        Routes {
            start,
            adj,
            tables: vec![None; nodes],
        }
    }

    /// The link `from` forwards on towards `dst`, or `None` if `dst` is unreachable.
    pub(crate) fn next_link(&mut self, from: u32, dst: u32) -> Option<u32> {
        let d = dst as usize;
        if self.tables[d].is_none() {
            self.tables[d] = Some(self.compute(dst));
        }
        let l = self.tables[d].as_ref().expect("filled just above")[from as usize];
        (l != NO_ROUTE).then_some(l)
    }

    fn neighbours(&self, v: u32) -> &[(u32, u32)] {
        &self.adj[self.start[v as usize] as usize..self.start[v as usize + 1] as usize]
    }

    fn compute(&self, dst: u32) -> Box<[u32]> {
        let n = self.tables.len();
        let mut dist = vec![u32::MAX; n];
        let mut frontier = Vec::with_capacity(n);
        dist[dst as usize] = 0;
        frontier.push(dst);
        let mut head = 0;
        while head < frontier.len() {
            let v = frontier[head];
            head += 1;
            for &(u, _) in self.neighbours(v) {
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
            if let Some(&(_, l)) = self
                .neighbours(v)
                .iter()
                .find(|&&(u, _)| dist[u as usize] == dv - 1)
            {
                table[v as usize] = l;
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lowest_node_then_link() {
        // 0 - 1 - 3 and 0 - 2 - 3: node 0 reaches 3 via 1 (lower id than 2).
        // Two parallel links 0-1 (ids 0 and 4): the lower link id wins.
        let mut r = Routes::new(4, &[(0, 1), (0, 2), (1, 3), (2, 3), (1, 0)]);
        assert_eq!(r.next_link(0, 3), Some(0));
        assert_eq!(r.next_link(1, 3), Some(2));
        assert_eq!(r.next_link(2, 3), Some(3));
        assert_eq!(r.next_link(3, 0), Some(2));
    }

    #[test]
    fn unreachable_has_no_route() {
        let mut r = Routes::new(3, &[(0, 1)]);
        assert_eq!(r.next_link(0, 2), None);
        assert_eq!(r.next_link(2, 0), None);
        assert_eq!(r.next_link(1, 0), Some(0));
    }
}
