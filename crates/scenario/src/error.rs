//! [`ScenarioError`]: one problem in a scenario file, located at `file:line:column`.
//!
//! Every error points at the offending value (or key, for an unknown key) so that an editor can
//! jump to it, and carries a hint: the closest known name for a typo, or the allowed values, and
//! always where the key is documented (`see docs/scenario.md#ANCHOR`, found by `docs.rs`).

use core::fmt;
use core::ops::Range;

use crate::docs::{self, DOC_PATH};

/// Separates a message from its hint inside a serde custom error, so that checks made while
/// deserializing (durations, names, ...) can carry hints through `toml`'s error type.
pub(crate) const HINT_MARKER: &str = "\u{1}hint\u{1}";

/// One problem in a scenario file, at a 1-based line and column (counted in characters).
///
/// Displays as `{file}:{line}:{column}: {message}`, followed by `\n  hint: {hint}` when there is
/// a hint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}{}", HintSuffix(.hint))]
pub struct ScenarioError {
    /// The source name given to [`crate::parse`] (usually the file path).
    pub file: String,
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column of the offending value, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it; every error of [`crate::parse`] has one, ending with the entry of its
    /// key in the reference: `see docs/scenario.md#ANCHOR` (a GitHub heading anchor).
    pub hint: Option<String>,
}

struct HintSuffix<'a>(&'a Option<String>);

impl fmt::Display for HintSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, "\n  hint: {hint}"),
            None => Ok(()),
        }
    }
}

impl ScenarioError {
    /// An error at byte offset range `span` of `text` (only its start is used); `None` means the
    /// start of the file.
    pub(crate) fn at(
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        let offset = span.as_ref().map(|s| s.start);
        let (line, column) = line_column(text, offset.unwrap_or(0));
        let message = message.into();
        ScenarioError {
            file: file.to_owned(),
            line,
            column,
            hint: Some(with_docs_link(hint, text, offset, &message)),
            message,
        }
    }

    /// Converts a `toml` syntax or type error, splitting off a hint and adding one for unknown
    /// keys and values ("did you mean ...?").
    pub(crate) fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let raw = err.message().trim_end();
        let (message, hint) = match raw.split_once(HINT_MARKER) {
            Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
            // The root table reports an empty span at offset 0 (or none).
            None => improve_serde_message(raw, err.span().is_none_or(|s| s == (0..0))),
        };
        // Syntax errors come as "what\nexpected ..."; keep the message on one line.
        let mut message = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        let key = err.span().and_then(|s| key_before(text, s.start));
        let hint = hint.or_else(|| type_hint(&message, key)).or_else(|| {
            // Anything else toml reports is syntax.
            Some(
                "TOML syntax: check the brackets, quotes and `key = value` form of this line"
                    .to_owned(),
            )
        });
        if message.is_empty() {
            message = "invalid TOML here".to_owned();
        }
        ScenarioError::at(
            file,
            text,
            err.span(),
            clip(&message),
            hint.map(|h| clip(&h)),
        )
    }
}

/// `hint` ending with `see docs/scenario.md#ANCHOR`, the entry of the key the error is at
/// (`docs.rs`); a hint that already links a section of the reference is kept as it is.
fn with_docs_link(
    hint: Option<String>,
    text: &str,
    offset: Option<usize>,
    message: &str,
) -> String {
    let prefix = format!("{DOC_PATH}#");
    match hint {
        Some(h) if h.contains(&prefix) => h,
        Some(h) => {
            let link = format!("see {prefix}{}", docs::anchor(text, offset, message));
            let h = h.trim_end().trim_end_matches(';');
            if h.contains('\n') {
                format!("{h}\n    {link}")
            } else {
                format!("{h}; {link}")
            }
        }
        None => format!("see {prefix}{}", docs::anchor(text, offset, message)),
    }
}

/// 1-based (line, column) of byte `offset` in `text`, clamped to the text and to a character
/// boundary; columns count characters.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    if offset == text.len() && offset > 0 {
        // Point at the last character rather than past the end.
        offset -= 1;
    }
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a short message and a
/// "did you mean" hint; other messages pass through unchanged.
///
/// `top_level` says the error is about the root table, where a missing key is a missing table.
fn improve_serde_message(raw: &str, top_level: bool) -> (String, Option<String>) {
    for what in ["field", "variant"] {
        let prefix = format!("unknown {what} `");
        let Some(rest) = raw.strip_prefix(&prefix) else {
            continue;
        };
        let Some((name, tail)) = rest.split_once('`') else {
            continue;
        };
        let allowed = backticked(tail);
        let noun = if what == "field" { "key" } else { "value" };
        let message = format!("unknown {noun} `{name}`");
        return (message, suggest(name, &allowed));
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        if let Some((name, _)) = rest.split_once('`') {
            if top_level {
                return (
                    format!("missing required table `[{name}]`"),
                    Some(format!("add a `[{name}]` section")),
                );
            }
            return (
                format!("missing required key `{name}` in this table"),
                Some(format!("add `{name} = ...`")),
            );
        }
    }
    (raw.to_owned(), None)
}

/// At most 200 characters of `s` (a huge value is not echoed whole).
fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}… ({} more characters)", s.chars().count() - MAX)
}

/// The key of a `key = value` whose value starts at byte `at` (also inside inline tables).
fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text.get(..at)?.trim_end();
    let before = before.strip_suffix('=')?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = before[start..].trim_matches('"');
    (!key.is_empty()).then_some(key)
}

/// A hint for a serde type error ("invalid type: string \"x\", expected f64"): what the key
/// takes, in plain words, and where it is documented.
fn type_hint(message: &str, key: Option<&str>) -> Option<String> {
    let expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?
        .split_once(", expected ")?
        .1;
    let plain = match expected {
        "f64" | "f32" => "a number, e.g. 0.5 or 6",
        "u64" | "u32" | "u16" | "u8" | "usize" => "a whole number, 0 or more, e.g. 20",
        "i64" | "i32" => "a whole number, e.g. 20",
        "a boolean" | "bool" => "true or false",
        "a string" => "a quoted string, e.g. \"name\"",
        other => other,
    };
    Some(match key {
        Some(k) => format!("`{k}` takes {plain}"),
        None => format!("this value must be {plain}"),
    })
}

/// Every `` `quoted` `` word in `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A hint naming the closest allowed word when it is close, else the list of allowed words.
pub(crate) fn suggest(word: &str, allowed: &[&str]) -> Option<String> {
    if allowed.is_empty() {
        return Some("this table takes no keys".to_owned());
    }
    let best = allowed
        .iter()
        .map(|a| (edit_distance(word, a), *a))
        .min_by_key(|(d, _)| *d);
    let list = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match best {
        // Close: within a third of the length, and sharing at least one character's worth.
        Some((d, a))
            if d <= (word.chars().count().max(a.chars().count()) / 3).max(1)
                && d < word.chars().count().min(a.chars().count()) =>
        {
            Some(format!("did you mean `{a}`? (allowed: {list})"))
        }
        _ => Some(format!("allowed: {list}")),
    }
}

/// Levenshtein distance over characters (names here are short).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_in_characters() {
        let text = "ab\nçd\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 5), (2, 2)); // after the two-byte 'ç'
        assert_eq!(line_column(text, 4), (2, 1)); // inside 'ç': clamped back
        assert_eq!(line_column(text, 99), (2, 3)); // past the end: the last character
        assert_eq!(line_column("", 0), (1, 1));
    }

    /// Found by the `scenario_parse` fuzz target: a multi-byte character right before a key
    /// made the key lookup slice inside it.
    #[test]
    fn key_lookup_after_a_multi_byte_character_does_not_panic() {
        assert_eq!(key_before("—x = 1", "—x = ".len()), Some("x"));
        assert_eq!(key_before("a—= 1", "a—= ".len()), None);
        assert_eq!(key_before("é = 1", "é = ".len()), None);
        let text = "[scenario]\nname = \"t\" —x = \"y\"\nduration = 5\n";
        let _ = crate::parse("t.toml", text);
    }

    #[test]
    fn typo_gets_did_you_mean() {
        let hint = suggest("latncy", &["latency", "jitter", "loss"]).unwrap();
        assert!(hint.starts_with("did you mean `latency`?"), "{hint}");
        let hint = suggest("zzzzzz", &["latency", "jitter"]).unwrap();
        assert!(hint.starts_with("allowed:"), "{hint}");
    }

    #[test]
    fn display_has_location_and_hint() {
        let e = ScenarioError {
            file: "x.toml".into(),
            line: 3,
            column: 7,
            message: "bad".into(),
            hint: Some("fix".into()),
        };
        assert_eq!(e.to_string(), "x.toml:3:7: bad\n  hint: fix");
    }
}
