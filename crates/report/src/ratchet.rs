//! Scoring what clear ratchet headers revealed ([`adversary::metadata::ratchet`]) against the
//! true sending chains of the Signal-style sessions ([`carrier::TruthChain`]).
//!
//! A reported chain is **right** when its ratchet key is a true chain's key with the same sender
//! and recipient; its count is **exact** when the adversary claimed it exact and it equals the
//! true number of ratchet messages (data messages and receipts) on the chain, and a **bound**
//! when it claimed a lower bound that holds. A reported conversation is **linked correctly**
//! when every one of its chains is a true chain of that pair and the pair is in no other
//! reported conversation; its **turns** are exact when they equal the pair's true number of
//! chains.

use std::collections::BTreeMap;

use adversary::metadata::RatchetFindings;
use serde::Serialize;

/// One true sending chain, in plain values: (sender, recipient, ratchet messages).
pub type ChainTruth = (usize, usize, u32);

/// The report's `metadata.ratchet` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RatchetScore {
    /// Distinct Signal envelopes the adversary captured.
    pub envelopes: usize,
    /// Of those, with a clear ratchet header.
    pub clear_headers: usize,
    /// With an encrypted header (header encryption).
    pub encrypted_headers: usize,
    /// Under sealed sender (the header inside the sealed ciphertext).
    pub sealed: usize,
    /// The adversary's own explanation when it found no clear header.
    pub why_nothing: Option<String>,
    /// Conversations reported.
    pub conversations: usize,
    /// Of those, linked correctly (every chain a true chain of the pair, the pair in no other
    /// conversation).
    pub conversations_correct: usize,
    /// Of those, whose turns equal the pair's true number of chains.
    pub turns_exact: usize,
    /// Conversations (pairs) with at least one true Signal chain.
    pub conversations_true: usize,
    /// Chains reported.
    pub chains: usize,
    /// Of those, a true chain with the same sender and recipient.
    pub chains_correct: usize,
    /// Chains whose count the adversary claimed exact.
    pub chains_claimed_exact: usize,
    /// Of those, equal to the true count.
    pub chains_exact_right: usize,
    /// Chains given as a lower bound that holds (at most the true count).
    pub chains_bound_right: usize,
    /// True chains in all.
    pub chains_true: usize,
    /// Ratchet messages the adversary counted over its chains, seen or inferred.
    pub messages_counted: u64,
    /// True ratchet messages of the chains it reported correctly.
    pub messages_true: u64,
    /// Messages it inferred but did not capture (gaps in `n`, and the tail `pn` reveals).
    pub messages_inferred_unseen: u64,
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let h = core::str::from_utf8(&b[2 * i..2 * i + 2]).ok()?;
        *o = u8::from_str_radix(h, 16).ok()?;
    }
    Some(out)
}

/// Scores `f` against the true chains `truth` (by ratchet public key); `index` resolves an
/// account to a subscriber index.
pub fn score(
    f: &RatchetFindings,
    truth: &BTreeMap<[u8; 32], ChainTruth>,
    index: &dyn Fn(&str) -> Option<usize>,
) -> RatchetScore {
    let mut s = RatchetScore {
        envelopes: f.envelopes,
        clear_headers: f.clear_headers,
        encrypted_headers: f.encrypted_headers,
        sealed: f.sealed,
        why_nothing: f.why_nothing.clone(),
        conversations: f.conversations.len(),
        chains_true: truth.len(),
        ..RatchetScore::default()
    };
    let mut true_per_pair: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (from, to, _) in truth.values() {
        *true_per_pair
            .entry(((*from).min(*to), (*from).max(*to)))
            .or_default() += 1;
    }
    s.conversations_true = true_per_pair.len();
    // The pair each reported chain was put in, to find a true pair split over conversations.
    let mut reported_in: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for c in &f.conversations {
        if let (Some(a), Some(b)) = (index(&c.a), index(&c.b)) {
            *reported_in.entry((a.min(b), a.max(b))).or_default() += 1;
        }
    }
    for c in &f.conversations {
        let pair = index(&c.a)
            .zip(index(&c.b))
            .map(|(a, b)| (a.min(b), a.max(b)));
        let mut all_right = pair.is_some();
        for ch in &c.chains {
            s.chains += 1;
            s.messages_counted += u64::from(ch.messages);
            s.messages_inferred_unseen += u64::from(ch.unseen());
            let t = unhex(&ch.key).and_then(|k| truth.get(&k));
            let right = t.is_some_and(|(from, to, _)| {
                index(&ch.from) == Some(*from) && index(&ch.to) == Some(*to)
            });
            if ch.exact {
                s.chains_claimed_exact += 1;
            }
            match t {
                Some(&(_, _, n)) if right => {
                    s.chains_correct += 1;
                    s.messages_true += u64::from(n);
                    if ch.exact && ch.messages == n {
                        s.chains_exact_right += 1;
                    }
                    if !ch.exact && ch.messages <= n {
                        s.chains_bound_right += 1;
                    }
                }
                _ => all_right = false,
            }
        }
        if let Some(p) = pair {
            let alone = reported_in.get(&p) == Some(&1);
            if all_right && alone {
                s.conversations_correct += 1;
            }
            if true_per_pair.get(&p) == Some(&c.turns) {
                s.turns_exact += 1;
            }
        }
    }
    s
}

/// The terminal line(s) of the section.
pub fn render(o: &mut String, s: &RatchetScore) {
    use std::fmt::Write;
    if s.envelopes == 0 {
        return;
    }
    if let Some(why) = &s.why_nothing {
        let _ = writeln!(o, "  ratchet headers: nothing revealed: {why}");
        return;
    }
    let _ = writeln!(
        o,
        "  ratchet headers: {} of {} Signal envelopes with a clear header; {} conversations \
         linked ({} correctly, of {} true), turns exact for {}; {} chains ({} right of {} true), \
         messages per chain exact for {} of {} claimed, bounds right for {}; {} messages \
         inferred but not captured",
        s.clear_headers,
        s.envelopes,
        s.conversations,
        s.conversations_correct,
        s.conversations_true,
        s.turns_exact,
        s.chains,
        s.chains_correct,
        s.chains_true,
        s.chains_exact_right,
        s.chains_claimed_exact,
        s.chains_bound_right,
        s.messages_inferred_unseen
    );
    if s.encrypted_headers + s.sealed > 0 {
        let _ = writeln!(
            o,
            "    hidden: {} with an encrypted header, {} under sealed sender",
            s.encrypted_headers, s.sealed
        );
    }
}
