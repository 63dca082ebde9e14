//! CSV as RFC 4180 quotes it: a field with a comma, a double quote, a line break or spaces at
//! its ends is enclosed in double quotes, and a double quote inside it is doubled. Records end
//! with `\n`. The reader reads back exactly what the writer writes (and any RFC 4180 file).

use std::borrow::Cow;

/// One field, quoted if it must be.
pub(crate) fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Appends one record and its `\n`.
pub(crate) fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(f.as_ref()));
    }
    out.push('\n');
}

/// A record read back, with the 1-based line it starts on and where each field starts.
#[derive(Debug, PartialEq)]
pub(crate) struct Record {
    pub line: usize,
    pub fields: Vec<String>,
    /// Per field, the 1-based `(line, column)` of its first character (columns in characters;
    /// the opening quote of a quoted field).
    pub starts: Vec<(usize, usize)>,
}

/// Reads every record of `text`. `Err((line, message))` for an unclosed or misplaced quote.
pub(crate) fn read(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut starts = Vec::new();
    let mut cur = String::new();
    let mut line = 1usize;
    let mut column = 1usize;
    let mut start_line = 1usize;
    let mut field_start = (1usize, 1usize);
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        let here = (line, column);
        column += 1;
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    column += 1;
                    cur.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    column = 1;
                    cur.push(c);
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if cur.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
                field_start = here;
            }
            '"' => return Err((line, "a double quote inside an unquoted field".into())),
            ',' => {
                fields.push(core::mem::take(&mut cur));
                starts.push(field_start);
                field_start = (line, column);
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(core::mem::take(&mut cur));
                starts.push(field_start);
                records.push(Record {
                    line: start_line,
                    fields: core::mem::take(&mut fields),
                    starts: core::mem::take(&mut starts),
                });
                quoted_field = false;
                any = false;
                line += 1;
                column = 1;
                start_line = line;
                field_start = (line, column);
            }
            _ if quoted_field => {
                return Err((line, "text after the closing quote of a field".into()));
            }
            _ => cur.push(c),
        }
    }
    if in_quotes {
        return Err((start_line, "a quoted field is not closed".into()));
    }
    if any {
        fields.push(cur);
        starts.push(field_start);
        records.push(Record {
            line: start_line,
            fields,
            starts,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_back() {
        let rows = vec![
            vec!["run", "a,b", "say \"hi\"", ""],
            vec!["1", "two\nlines", " padded ", "x"],
        ];
        let mut text = String::new();
        for r in &rows {
            write_record(&mut text, r);
        }
        assert_eq!(
            text,
            "run,\"a,b\",\"say \"\"hi\"\"\",\n1,\"two\nlines\",\" padded \",x\n"
        );
        let back = read(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].fields, rows[0]);
        assert_eq!(back[1].fields, rows[1]);
        assert_eq!(back[1].line, 2);
        assert_eq!(back[0].starts, vec![(1, 1), (1, 5), (1, 11), (1, 24)]);
        // The second record's fields: `1`, the two-line quoted field, then fields on line 3.
        assert_eq!(back[1].starts, vec![(2, 1), (2, 3), (3, 8), (3, 19)]);
    }

    #[test]
    fn broken_quotes_are_errors() {
        assert!(read("a,\"b\n").is_err());
        assert!(read("a,b\"c\n").is_err());
        assert!(read("a,\"b\"c\n").is_err());
    }
}
