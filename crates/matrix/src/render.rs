//! The terminal form of a matrix: one table per pattern, then a legend of the levels used.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::{PatternMatrix, DESTINATION_MEANING, IDENTITY_MEANING, SOURCE_MEANING};

/// Renders matrices as readable tables with a one-line meaning per level that appears.
pub fn render_terminal(matrices: &[PatternMatrix]) -> String {
    let mut out = String::new();
    let (mut src, mut dst, mut ids) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for m in matrices {
        let _ = writeln!(
            out,
            "{}  ({}, {} simulated runs)",
            m.pattern, m.protocol, m.runs
        );
        let _ = writeln!(
            out,
            "  {:>3}  {:<3} {:<10} {:<22} {:>3} {:>3}  E1 E2 E3 E4 E5 E6 E7 E8",
            "#", "dir", "kind", "tokens", "src", "dst"
        );
        for r in &m.messages {
            src.insert(r.source);
            dst.insert(r.destination);
            let bits: Vec<&str> = (1..=8)
                .map(|i| {
                    if r.experiments
                        .get(&format!("E{i}"))
                        .copied()
                        .unwrap_or(false)
                    {
                        " x"
                    } else {
                        " ."
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:>3}  {:<3} {:<10} {:<22} {:>3} {:>3} {}",
                r.index,
                r.direction,
                r.kind,
                r.tokens,
                r.source,
                r.destination,
                bits.join(" ")
            );
        }
        let show = |l: Option<u8>| l.map_or_else(|| "-".to_owned(), |l| l.to_string());
        let _ = writeln!(
            out,
            "  identity hiding: initiator {}, responder {}",
            show(m.identity_hiding.initiator),
            show(m.identity_hiding.responder)
        );
        ids.extend(m.identity_hiding.initiator);
        ids.extend(m.identity_hiding.responder);
        out.push('\n');
    }
    let _ = writeln!(out, "x = the attack succeeded. E1 passive read; E2 active read; E3/E4 read with the recipient's static revealed later (passive/active); E5 also holding the sender's static; E6 forgery; E7 forgery holding the recipient's static (KCI); E8 replay to a fresh recipient.");
    for l in src {
        let _ = writeln!(out, "source {l}: {}", SOURCE_MEANING[usize::from(l)]);
    }
    for l in dst {
        let _ = writeln!(
            out,
            "destination {l}: {}",
            DESTINATION_MEANING[usize::from(l)]
        );
    }
    for l in ids {
        let _ = writeln!(out, "identity {l}: {}", IDENTITY_MEANING[usize::from(l)]);
    }
    out
}
