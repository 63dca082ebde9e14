//! [`Blocks`]: an append-only sequence kept in fixed-size blocks, for the logs a run fills
//! from start to end (call records, intercept records). A vector doubles as it grows, so at
//! the end of a run it may hold up to half its capacity spare, and trimming it copies it
//! whole once more; blocks never copy, and [`Blocks::into_vec`] moves them out one at a time
//! into a vector of exactly their length.

/// Entries in blocks of `BLOCK` (the last one partly filled).
#[derive(Clone, Debug)]
pub struct Blocks<T, const BLOCK: usize = 16_384> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T, const BLOCK: usize> Default for Blocks<T, BLOCK> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T, const BLOCK: usize> Blocks<T, BLOCK> {
    /// An empty sequence (no block is allocated until the first push).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `x`; returns how many entries there are now.
    pub fn push(&mut self, x: T) -> usize {
        match self.blocks.last_mut() {
            Some(b) if b.len() < BLOCK => b.push(x),
            _ => {
                let mut b = Vec::with_capacity(BLOCK.max(1));
                b.push(x);
                self.blocks.push(b);
            }
        }
        self.len += 1;
        self.len
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }

    /// Moves every entry out, in order, into one vector with no spare capacity, freeing each
    /// block as soon as it is moved: at most one block more than the entries is ever held.
    pub fn into_vec(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        self.drain_into(&mut out);
        out
    }

    /// Moves every entry out, in order, onto the end of `out`, block by block, leaving this
    /// sequence empty.
    pub fn drain_into(&mut self, out: &mut Vec<T>) {
        for block in std::mem::take(&mut self.blocks) {
            out.extend(block);
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_order_across_blocks_and_leave_without_spare_room() {
        let mut b: Blocks<u32, 4> = Blocks::new();
        assert!(b.is_empty());
        for i in 0..10 {
            assert_eq!(b.push(i), i as usize + 1);
        }
        assert_eq!(b.len(), 10);
        assert_eq!(b.blocks.len(), 3);
        assert!(b.blocks.iter().all(|x| x.capacity() == 4));
        assert_eq!(
            b.iter().copied().collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        let v = b.clone().into_vec();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        assert_eq!(v.capacity(), 10);
        let mut out = vec![99];
        b.drain_into(&mut out);
        assert_eq!(out.len(), 11);
        assert_eq!(out[1..], v[..]);
        assert!(b.is_empty() && b.blocks.is_empty());
    }
}
