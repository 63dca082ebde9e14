//! Human-like message text, unique per message so that recovery is scored exactly.
//!
//! Messages are built from small templates and word lists, drawn from the traffic stream of the
//! seed. Uniqueness is enforced at generation: a text already used gets more words until it is
//! new, so "the adversary produced this exact text" identifies one message.

use rand_core::RngCore;
use simcore::{FixedSet, SimRng};

const OPENERS: &[&str] = &[
    "hey",
    "hi",
    "ok so",
    "morning",
    "quick one",
    "listen",
    "btw",
    "sorry",
    "hey again",
    "yo",
    "good news",
    "heads up",
    "update",
    "so",
    "fyi",
];
const NAMES: &[&str] = &[
    "sam", "alex", "jordan", "maria", "li", "priya", "omar", "grace", "tom", "nina", "diego",
    "aisha", "ben", "chen", "fatima", "lucas", "mei", "noah", "olga", "ravi",
];
const VERBS: &[&str] = &[
    "pick up", "drop off", "move", "call", "check", "bring", "send", "book", "cancel", "confirm",
    "meet", "fix", "pay for", "look at", "finish",
];
const THINGS: &[&str] = &[
    "the car",
    "the package",
    "dinner",
    "the tickets",
    "the report",
    "groceries",
    "the kids",
    "the contract",
    "the keys",
    "the invoice",
    "the meeting",
    "the boat",
    "the shipment",
    "the documents",
    "my laptop",
    "the rent",
    "the flowers",
    "the samples",
    "the quote",
];
const PLACES: &[&str] = &[
    "the station",
    "the office",
    "mom's place",
    "the clinic",
    "the warehouse",
    "the gym",
    "the airport",
    "the cafe on 5th",
    "the harbor",
    "the school",
    "the bank",
    "the lab",
];
const TIMES: &[&str] = &[
    "tonight",
    "tomorrow morning",
    "at noon",
    "after work",
    "on friday",
    "in an hour",
    "before 9",
    "this weekend",
    "next week",
    "later today",
    "around 7",
    "first thing",
];
const CLOSERS: &[&str] = &[
    "thanks!",
    "let me know",
    "call me",
    "no rush",
    "ok?",
    "see you",
    "love you",
    "cheers",
    "talk soon",
    "don't tell anyone",
    "delete this after",
    "keep it quiet",
    "",
    "",
];
const FILLERS: &[&str] = &[
    "honestly",
    "again",
    "maybe",
    "i think",
    "for real",
    "like we said",
    "as planned",
    "if you can",
    "no worries",
    "just saying",
    "promise",
    "either way",
    "same as last time",
];

fn pick<'a>(rng: &mut SimRng, list: &[&'a str]) -> &'a str {
    list[(rng.next_u32() as usize) % list.len()]
}

/// Generates unique message texts.
#[derive(Debug, Default)]
pub(crate) struct TextGen {
    /// The [`fnv1a`] hash of every text returned. A new text must have a hash not seen before,
    /// which implies it is a text not returned before; holding hashes instead of the texts
    /// keeps the plan's memory and lookups small (a 64-bit collision between two different
    /// texts only makes the generator extend the second one, as for a repeat).
    used: FixedSet<u64>,
}

/// FNV-1a, 64 bits: a fixed hash, so the set's order (never iterated into an output) and its
/// cost are the same on every run.
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl TextGen {
    /// A new message of `min..=max` characters (ASCII), never returned before by this generator.
    pub(crate) fn message(&mut self, rng: &mut SimRng, min: usize, max: usize) -> String {
        let mut s = self.sentence(rng);
        loop {
            while s.len() < min {
                s.push(' ');
                s.push_str(&self.sentence(rng));
            }
            if s.len() > max {
                // Cut at a word boundary, keeping at least `min` characters.
                let cut = s[..=max.min(s.len() - 1)]
                    .rfind(' ')
                    .filter(|&i| i >= min)
                    .unwrap_or(max);
                s.truncate(cut);
            }
            if self.used.insert(fnv1a(&s)) {
                // The text lives all run (outbox, truth): give back what building it reserved.
                s.shrink_to_fit();
                return s;
            }
            // Already used: extend with another word and try again (bounded by the number of
            // possible texts, which vastly exceeds any run's message count).
            if s.len() + 12 > max {
                s.clear();
                s.push_str(&self.sentence(rng));
            } else {
                s.push(' ');
                s.push_str(pick(rng, FILLERS));
            }
        }
    }

    fn sentence(&self, rng: &mut SimRng) -> String {
        let n = rng.next_u32() % 4;
        let body = match n {
            0 => format!(
                "{} {}, can you {} {} {}?",
                pick(rng, OPENERS),
                pick(rng, NAMES),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, TIMES)
            ),
            1 => format!(
                "{} meet me at {} {}, {}",
                pick(rng, OPENERS),
                pick(rng, PLACES),
                pick(rng, TIMES),
                pick(rng, FILLERS)
            ),
            2 => format!(
                "{} said to {} {} at {} {}",
                pick(rng, NAMES),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, PLACES),
                pick(rng, TIMES)
            ),
            _ => format!(
                "{} {} {} {} {}",
                pick(rng, OPENERS),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, TIMES),
                pick(rng, CLOSERS)
            ),
        };
        let mut s = body.trim().to_string();
        // A number makes collisions between long-running scenarios rare.
        s.push_str(&format!(" {}", 10 + rng.next_u32() % 990));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simcore::SeedTree;
    use std::collections::BTreeSet;

    #[test]
    fn messages_are_unique_and_within_bounds() {
        let mut rng = SeedTree::new(1).stream("text");
        let mut g = TextGen::default();
        let mut seen = BTreeSet::new();
        for _ in 0..20_000 {
            let m = g.message(&mut rng, 20, 160);
            assert!((20..=160).contains(&m.len()), "{} {m:?}", m.len());
            assert_eq!(m.capacity(), m.len(), "no spare capacity kept all run");
            assert!(seen.insert(m));
        }
    }
}
