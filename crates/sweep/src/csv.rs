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

/// A record read back, with the 1-based line it starts on.
#[derive(Debug, PartialEq)]
pub(crate) struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Reads every record of `text`. `Err((line, message))` for an unclosed or misplaced quote.
pub(crate) fn read(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
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
            }
            '"' => return Err((line, "a double quote inside an unquoted field".into())),
            ',' => {
                fields.push(core::mem::take(&mut cur));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(core::mem::take(&mut cur));
                records.push(Record {
                    line: start_line,
                    fields: core::mem::take(&mut fields),
                });
                quoted_field = false;
                any = false;
                line += 1;
                start_line = line;
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
        records.push(Record {
            line: start_line,
            fields,
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
    }

    #[test]
    fn broken_quotes_are_errors() {
        assert!(read("a,\"b\n").is_err());
        assert!(read("a,b\"c\n").is_err());
        assert!(read("a,\"b\"c\n").is_err());
    }
}
