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
    /// The last serial number [`TextGen::message`] ended a text with (0: none yet).
    serial: u64,
}

/// FNV-1a, 64 bits: a fixed hash, so the set's order (never iterated into an output) and its
/// cost are the same on every run.
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Draws of a fresh sentence for one message before the generator stops drawing and makes the
/// text unique by construction. Short length windows run out of texts in large runs: at
/// 100,000 subscribers every 20-character text was taken and a message needed up to thousands
/// of draws (BENCHMARKING.md § "The plan's texts"). No message of the shipped scenarios at their
/// own size needs more than 19 draws, so their texts are unchanged.
const MAX_DRAWS: u32 = 32;

impl TextGen {
    /// A new message of `min..=max` characters (ASCII), never returned before by this generator.
    ///
    /// Sentences are drawn, extended to `min` and cut at a word to `max`, until one is new; after
    /// [`MAX_DRAWS`] the text is a drawn sentence cut shorter and ended by a serial number of
    /// this generator (`" 1001"`, `" 1002"`, ...), which no earlier draw can have used up.
    /// `min` must be at least 16 (the scenario's bound), which leaves room for the serial.
    pub(crate) fn message(&mut self, rng: &mut SimRng, min: usize, max: usize) -> String {
        let mut s = String::new();
        self.fit(rng, &mut s, min, max);
        let mut draws = 1;
        loop {
            if self.used.insert(fnv1a(&s)) {
                // The text lives all run (outbox, truth): give back what building it reserved.
                s.shrink_to_fit();
                return s;
            }
            if draws >= MAX_DRAWS {
                return self.serialed(rng, s, min, max);
            }
            draws += 1;
            // Already used: extend with another word, or draw afresh when there is no room.
            if s.len() + 12 > max {
                s.clear();
                self.fit(rng, &mut s, min, max);
            } else {
                s.push(' ');
                s.push_str(pick(rng, FILLERS));
                self.fit(rng, &mut s, min, max);
            }
        }
    }

    /// Extends `s` (a fresh sentence if empty) with sentences to at least `min` characters and
    /// cuts it at a word boundary to at most `max`, keeping at least `min`.
    fn fit(&self, rng: &mut SimRng, s: &mut String, min: usize, max: usize) {
        if s.is_empty() {
            self.sentence(rng, s);
        }
        while s.len() < min {
            s.push(' ');
            self.sentence(rng, s);
        }
        if s.len() > max {
            let cut = s[..=max.min(s.len() - 1)]
                .rfind(' ')
                .filter(|&i| i >= min)
                .unwrap_or(max);
            s.truncate(cut);
        }
    }

    /// A text made unique by a serial number: a fresh sentence fitted to leave room for
    /// `" {serial}"`, the serial counting up from 1001 until the text is new (a 64-bit hash
    /// collision, or a sentence of an earlier draw that ended in the same number, only moves it
    /// on). Terminates: the serials are unbounded and each text ends in a different one.
    fn serialed(&mut self, rng: &mut SimRng, mut s: String, min: usize, max: usize) -> String {
        loop {
            self.serial += 1;
            let tag = format!(" {}", 1000 + self.serial);
            s.clear();
            self.fit(
                rng,
                &mut s,
                min.saturating_sub(tag.len()).max(1),
                max.saturating_sub(tag.len()).max(1),
            );
            s.push_str(&tag);
            if self.used.insert(fnv1a(&s)) {
                s.shrink_to_fit();
                return s;
            }
        }
    }

    /// Appends one sentence ending in a number from 10 to 999 to `out`.
    fn sentence(&self, rng: &mut SimRng, out: &mut String) {
        use std::fmt::Write;
        let start = out.len();
        let n = rng.next_u32() % 4;
        // `write!` evaluates its arguments in order: the draws are those of the `format!` this
        // replaced, so texts are unchanged.
        let _ = match n {
            0 => write!(
                out,
                "{} {}, can you {} {} {}?",
                pick(rng, OPENERS),
                pick(rng, NAMES),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, TIMES)
            ),
            1 => write!(
                out,
                "{} meet me at {} {}, {}",
                pick(rng, OPENERS),
                pick(rng, PLACES),
                pick(rng, TIMES),
                pick(rng, FILLERS)
            ),
            2 => write!(
                out,
                "{} said to {} {} at {} {}",
                pick(rng, NAMES),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, PLACES),
                pick(rng, TIMES)
            ),
            _ => write!(
                out,
                "{} {} {} {} {}",
                pick(rng, OPENERS),
                pick(rng, VERBS),
                pick(rng, THINGS),
                pick(rng, TIMES),
                pick(rng, CLOSERS)
            ),
        };
        // An empty closer leaves a trailing space (no part starts with one).
        let end = out[start..].trim_end().len() + start;
        out.truncate(end);
        // A number makes collisions between long-running scenarios rare.
        let _ = write!(out, " {}", 10 + rng.next_u32() % 990);
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

    #[test]
    fn a_short_window_never_runs_out_of_texts() {
        // Only a few thousand texts fit 16..=20 characters; without the serial the generator
        // would draw forever once they are taken.
        let mut rng = SeedTree::new(3).stream("text");
        let mut g = TextGen::default();
        let mut seen = BTreeSet::new();
        for _ in 0..50_000 {
            let m = g.message(&mut rng, 16, 20);
            assert!((16..=20).contains(&m.len()), "{} {m:?}", m.len());
            assert!(seen.insert(m));
        }
        assert!(g.serial > 0, "the window was used up and serials took over");
    }
}
