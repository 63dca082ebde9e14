//! Dotted paths: `traffic.mean_degree`, `carrier.0.subscribers`, `protocols.noise:XX.messages`.
//!
//! A path is segments joined by `.`. A segment is bare (any characters but `.` and `"`, not
//! empty) or quoted (`"a.b"`, with `\"` and `\\` escapes) for names that contain a dot.

/// Splits `text` into segments, or says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut seg = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\')) => seg.push(e),
                        _ => {
                            return Err(format!(
                            "`{text}`: only \\\" and \\\\ escapes are allowed in a quoted segment"
                        ))
                        }
                    },
                    c => seg.push(c),
                }
            }
            if !closed {
                return Err(format!("`{text}`: a quoted segment is not closed"));
            }
            if !matches!(chars.peek(), None | Some('.')) {
                return Err(format!(
                    "`{text}`: a quoted segment must be followed by `.` or the end"
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '"' {
                    return Err(format!("`{text}`: a `\"` may only start a segment"));
                }
                seg.push(c);
                chars.next();
            }
            if seg.is_empty() {
                return Err(format!(
                    "`{text}`: empty segment (two dots, or a dot at an end)"
                ));
            }
            if seg.trim() != seg {
                return Err(format!("`{text}`: segment `{seg}` has spaces around it"));
            }
        }
        segments.push(seg);
        match chars.next() {
            None => return Ok(segments),
            Some('.') => {}
            Some(c) => return Err(format!("`{text}`: unexpected `{c}`")),
        }
    }
}

/// Joins segments back into the path text, quoting those that need it.
pub(crate) fn format(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            if s.is_empty() || s.contains(['.', '"']) || s.trim() != s {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_round_trip() {
        for (text, segs) in [
            ("traffic.mean_degree", vec!["traffic", "mean_degree"]),
            ("carrier.0.subscribers", vec!["carrier", "0", "subscribers"]),
            (
                "protocols.noise:XX.messages",
                vec!["protocols", "noise:XX", "messages"],
            ),
            ("a.\"b.c\".d", vec!["a", "b.c", "d"]),
            ("\"q\\\"x\"", vec!["q\"x"]),
        ] {
            let parsed = parse(text).unwrap();
            assert_eq!(parsed, segs, "{text}");
            assert_eq!(format(&parsed), text);
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        for text in [
            "", "a..b", ".a", "a.", "a.\"b", "a.\"b\"c", "a.b\"c", "a. b",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
