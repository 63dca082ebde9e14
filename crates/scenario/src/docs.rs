//! Links from scenario errors to the entry of their key in `docs/scenario.md`.
//!
//! Every [`crate::ScenarioError`]'s hint ends with `see docs/scenario.md#ANCHOR`, where ANCHOR is
//! the heading of the section that documents the key the error is at, as GitHub renders heading
//! anchors. The section is found from the reference itself (compiled in), not from a table kept
//! by hand, so a key documented later is linked to where it is documented:
//!
//! 1. The key's path is read from the scenario text at the error: the `[table]` or
//!    `[[array]]` header above it, the dotted key of its line and, inside an inline table, the
//!    key at or before the error (`carrier.warrants.explicit.kind`).
//! 2. Each section of the reference is scored, best first, by: the longest prefix of the key's
//!    table that the section names as a table (`` `[carrier.warrants]` `` in its heading or
//!    text); whether a table row of the section documents the key (`` | `key` | ``); whether
//!    its text mentions the key in code; whether its heading names the table. Ties go to the
//!    earlier section.
//! 3. An error at no key (the start of the file, e.g. "the scenario defines no [[app]]") uses
//!    the table its message names; failing everything, the top of the reference.

use std::collections::BTreeSet;

/// `docs/scenario.md`, the scenario reference.
const REFERENCE: &str = include_str!("../../../docs/scenario.md");

/// The path hints name before the anchor.
pub(crate) const DOC_PATH: &str = "docs/scenario.md";

/// One heading of the reference and what its section documents.
#[derive(Debug)]
struct Section {
    /// The anchor GitHub gives the heading.
    slug: String,
    /// Tables the heading names (`carrier.population` for `` `[carrier.population]` ``).
    heading_tables: BTreeSet<String>,
    /// Tables named anywhere in the section, heading included.
    tables: BTreeSet<String>,
    /// Keys in the first cell of a table row.
    row_keys: BTreeSet<String>,
    /// Every word inside inline code in the section.
    words: BTreeSet<String>,
}

/// The anchor GitHub gives a heading: the rendered text lower-cased, every character that is
/// not a letter, digit, space, `-` or `_` removed, spaces turned into `-`; a repeated anchor gets
/// `-1`, `-2`, ... in document order.
pub fn github_slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Inline code spans of a line (text between pairs of backticks).
fn code_spans(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// The table a code span names: `[a.b]` or `[[a.b]]` → `a.b`.
fn table_of(code: &str) -> Option<String> {
    let inner = code
        .strip_prefix("[[")
        .and_then(|c| c.strip_suffix("]]"))
        .or_else(|| code.strip_prefix('[').and_then(|c| c.strip_suffix(']')))?;
    let ok = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then(|| inner.to_owned())
}

fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
}

/// The sections of the reference, in order.
fn sections() -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut fence = false;
    for line in REFERENCE.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        if let Some(heading) = line
            .strip_prefix('#')
            .map(|h| h.trim_start_matches('#'))
            .filter(|h| h.starts_with(' '))
        {
            let base = github_slug(heading);
            let n = seen.iter().filter(|s| **s == base).count();
            seen.push(base.clone());
            let slug = if n == 0 { base } else { format!("{base}-{n}") };
            let heading_tables: BTreeSet<String> =
                code_spans(heading).filter_map(table_of).collect();
            out.push(Section {
                slug,
                tables: heading_tables.clone(),
                heading_tables,
                row_keys: BTreeSet::new(),
                words: code_spans(heading)
                    .flat_map(words)
                    .map(str::to_owned)
                    .collect(),
            });
            continue;
        }
        let Some(s) = out.last_mut() else { continue };
        s.tables.extend(code_spans(line).filter_map(table_of));
        s.words
            .extend(code_spans(line).flat_map(words).map(str::to_owned));
        if let Some(first) = line
            .trim_start()
            .strip_prefix('|')
            .and_then(|r| r.split('|').next())
        {
            s.row_keys
                .extend(code_spans(first).flat_map(words).map(str::to_owned));
        }
    }
    out
}

/// A section's score for a key: (table prefix named, key in a table row, key in code, table
/// named in the heading), compared in that order.
type Score = (usize, bool, bool, bool);

/// The best section for a key at `table` (segments) named `key` (none for a table header).
fn best<'a>(
    sections: &'a [Section],
    table: &[String],
    key: Option<&str>,
) -> Option<(usize, &'a str)> {
    let mut best: Option<(Score, &str)> = None;
    for s in sections {
        let table_match = (1..=table.len())
            .rev()
            .find(|&n| s.tables.contains(&table[..n].join(".")))
            .unwrap_or(0);
        let score = (
            table_match,
            key.is_some_and(|k| s.row_keys.contains(k)),
            key.is_some_and(|k| s.words.contains(k)),
            table_match > 0 && s.heading_tables.contains(&table[..table_match].join(".")),
        );
        if score > (0, false, false, false) && best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, &s.slug));
        }
    }
    best.map(|(score, slug)| (score.0, slug))
}

/// The dotted segments of a key or header (`carrier."a.b".cells` → `carrier`, `a.b`, `cells`).
fn segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in key.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, '.') => out.push(std::mem::take(&mut cur).trim().to_owned()),
            (None, c) => cur.push(c),
        }
    }
    out.push(cur.trim().to_owned());
    out.retain(|s| !s.is_empty());
    out
}

/// A `key =` at the start of `s` (after spaces): its text.
fn leading_key(s: &str) -> Option<&str> {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|&(_, c)| {
            !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '))
        })
        .map_or(t.len(), |(i, _)| i);
    let (key, rest) = t.split_at(end);
    (rest.starts_with('=') && !key.trim().is_empty()).then(|| key.trim())
}

/// Bracket depth change of a line (outside strings and comments), and whether a `"""` or
/// `'''` string stays open after it.
fn scan(line: &str, mut in_ml: Option<&'static str>, depth: &mut i64) -> Option<&'static str> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(q) = in_ml {
            if b[i..].starts_with(q.as_bytes()) {
                in_ml = None;
                i += 3;
            } else {
                i += 1;
            }
            continue;
        }
        match b[i] {
            b'#' => break,
            b'"' | b'\'' => {
                let q = b[i];
                let triple = if q == b'"' { "\"\"\"" } else { "'''" };
                if b[i..].starts_with(triple.as_bytes()) {
                    in_ml = Some(triple);
                    i += 3;
                    continue;
                }
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                *depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                *depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    in_ml
}

/// The key path at byte `offset` of a scenario `text`, and whether it is a table header.
fn key_path(text: &str, offset: usize) -> (Vec<String>, bool) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut header: Vec<String> = Vec::new();
    let mut line_key: Vec<String> = Vec::new();
    let mut depth = 0i64;
    let mut in_ml: Option<&'static str> = None;
    for line in text[..line_start].lines() {
        if depth <= 0 && in_ml.is_none() {
            depth = 0;
            let t = line.trim_start();
            if t.starts_with('[') {
                let inner = t.trim_start_matches('[');
                let inner = inner.split(']').next().unwrap_or("");
                header = segments(inner);
                line_key.clear();
                // The header's brackets are not nesting.
                continue;
            }
            if let Some(k) = leading_key(line) {
                line_key = segments(k);
            }
        }
        in_ml = scan(line, in_ml, &mut depth);
    }
    let line = text[line_start..].lines().next().unwrap_or("");
    let col = offset - line_start;
    if depth <= 0 && in_ml.is_none() {
        let t = line.trim_start();
        if t.starts_with('[') {
            let inner = t.trim_start_matches('[');
            return (segments(inner.split(']').next().unwrap_or("")), true);
        }
        if let Some(k) = leading_key(line) {
            line_key = segments(k);
        }
    }
    let mut path = header;
    path.extend(line_key.iter().cloned());
    // Inside an inline table or array on this line: the key at the error, or the last one
    // before it after the line's own `key =`.
    let own = if depth <= 0 {
        line.find('=').map_or(0, |i| i + 1)
    } else {
        0
    };
    if col > own {
        let at = leading_key(&line[col.min(line.len())..]);
        let before = line[own..col.min(line.len())].rfind('=').and_then(|eq| {
            let head = &line[own..own + eq];
            let start = head.rfind(['{', ',', '[']).map_or(0, |i| i + 1);
            leading_key(&format!("{}=", &head[start..])).map(str::to_owned)
        });
        if let Some(k) = at.map(str::to_owned).or(before) {
            path.extend(segments(&k));
        }
    }
    (path, false)
}

/// The first table a message names, as `[x]` or `[[x]]` (with or without backticks).
fn table_in_message(message: &str) -> Option<Vec<String>> {
    let start = message.find('[')?;
    let rest = message[start..].trim_start_matches('[');
    let end = rest.find(']')?;
    let inner = &rest[..end];
    let ok = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then(|| segments(inner))
}

/// The anchor in `docs/scenario.md` of the entry an error at byte `offset` of `text` (or at no
/// key, `None`) is about; `message` names a table for errors at no key.
pub(crate) fn anchor(text: &str, offset: Option<usize>, message: &str) -> String {
    let sections = sections();
    let by_message = || {
        table_in_message(message).and_then(|t| best(&sections, &t, None).map(|(_, s)| s.to_owned()))
    };
    let by_place = || {
        let (path, header) = key_path(text, offset.unwrap_or(0));
        if path.is_empty() {
            return None;
        }
        let (table, key) = if header {
            (&path[..], None)
        } else {
            (&path[..path.len() - 1], path.last().map(String::as_str))
        };
        best(&sections, table, key).map(|(_, s)| s.to_owned())
    };
    let found = if offset.is_none() {
        by_message().or_else(by_place)
    } else {
        by_place().or_else(by_message)
    };
    found
        .or_else(|| sections.first().map(|s| s.slug.clone()))
        .unwrap_or_default()
}

/// Every heading anchor of the reference, for tests.
#[cfg(test)]
fn anchors() -> Vec<String> {
    sections().into_iter().map(|s| s.slug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(github_slug("`[traffic]` (optional)"), "traffic-optional");
        assert_eq!(
            github_slug("`[[faults.partition]]` (optional)"),
            "faultspartition-optional"
        );
        assert_eq!(
            github_slug("Signal apps (`kind = \"signal\"`)"),
            "signal-apps-kind--signal"
        );
        assert_eq!(github_slug("Work budget"), "work-budget");
        assert!(anchors().contains(&"work-budget".to_owned()));
    }

    #[test]
    fn key_paths_are_read_from_the_text() {
        let text = "[scenario]\nname = \"t\"\n\n[[carrier]]\nname = \"a\"\nwarrants = { count = 2, explicit = [\n  { subscriber = 1, kind = \"x\" },\n] }\n[carrier.population]\nsms = 1.0\n[traffic]\nmessage_length.distribution = \"y\"\n";
        let at = |needle: &str| key_path(text, text.find(needle).unwrap());
        assert_eq!(at("\"t\"").0, ["scenario", "name"]);
        assert_eq!(at("2,").0, ["carrier", "warrants", "count"]);
        assert_eq!(at("\"x\"").0, ["carrier", "warrants", "kind"]);
        assert_eq!(
            at("[carrier.population]"),
            (vec!["carrier".into(), "population".into()], true)
        );
        assert_eq!(at("sms").0, ["carrier", "population", "sms"]);
        assert_eq!(at("\"y\"").0, ["traffic", "message_length", "distribution"]);
        // Multi-byte characters inside a multi-line string (found in review: the scanner
        // sliced inside them).
        let text = "[scenario]\ndescription = \"\"\"é—ü [x\nmore ]\"\"\"\nduration = 1\n";
        assert_eq!(
            key_path(text, text.find("duration").unwrap()).0,
            ["scenario", "duration"]
        );
        for offset in 0..=text.len() {
            let _ = key_path(text, offset);
        }
    }
}
