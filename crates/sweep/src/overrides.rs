//! Setting a dotted key in a scenario's TOML document.
//!
//! The document is edited in place with `toml_edit`, so everything else — the order of tables
//! and keys (the order of `[carrier.population]` entries is part of the simulation), comments,
//! formatting — stays as written: a sweep without overrides runs exactly the scenario's text.
//!
//! - A table step is a key. A missing key is added (intermediate tables as inline tables), so
//!   settings left at their defaults can be swept (`links.radio.loss` in a file without
//!   `[links]`); the scenario's own validation then rejects keys it does not know, with its
//!   did-you-mean hint.
//! - An array step (`[[carrier]]`, `explicit = [{..}]`) is a 0-based index (`carrier.0`) or the
//!   `name` of an entry (`carrier.lab`). It must exist.
//! - An existing value may only be replaced by one of the same kind (numbers, integer or float,
//!   are one kind; strings; booleans; arrays; tables).

use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};

use crate::path;
use crate::spec::{kind, value_kind};

/// Why a key could not be set: a message and a hint.
#[derive(Debug)]
pub(crate) struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

fn problem(message: String, hint: Option<String>) -> Problem {
    Problem { message, hint }
}

/// Sets `path` to `value` in `doc`.
pub(crate) fn set(doc: &mut DocumentMut, path: &[String], value: &Value) -> Result<(), Problem> {
    set_in_table(doc.as_table_mut(), path, 0, value)
}

fn set_in_table(
    table: &mut dyn TableLike,
    path: &[String],
    at: usize,
    value: &Value,
) -> Result<(), Problem> {
    let Some(key) = path.get(at).map(String::as_str) else {
        // The path ended at a table (an entry of an array of tables): nothing to set there.
        let here = path::format(path);
        return Err(problem(
            format!("`{here}` is a table, not a value: a grid key must name a value inside it"),
            Some(format!("name one of its keys, e.g. `{here}.<key>`")),
        ));
    };
    let last = at + 1 == path.len();
    if last {
        match table.get_mut(key) {
            Some(existing) if !existing.is_none() => replace(existing, path, value),
            _ => {
                table.insert(key, Item::Value(value.clone()));
                Ok(())
            }
        }
    } else {
        if table.get(key).is_none_or(Item::is_none) {
            table.insert(key, Item::Value(Value::InlineTable(InlineTable::new())));
        }
        match table.get_mut(key) {
            Some(item) => set_in_item(item, path, at + 1, value),
            None => Err(problem(
                format!("cannot create `{}`", path::format(&path[..=at])),
                None,
            )),
        }
    }
}

/// Continues the walk inside `item`, which `path[..at]` names.
fn set_in_item(item: &mut Item, path: &[String], at: usize, value: &Value) -> Result<(), Problem> {
    let here = path::format(&path[..at]);
    let seg = path[at].as_str();
    match item {
        Item::Table(t) => set_in_table(t, path, at, value),
        Item::Value(Value::InlineTable(t)) => set_in_table(t, path, at, value),
        Item::ArrayOfTables(tables) => {
            let names: Vec<Option<String>> = tables
                .iter()
                .map(|t| t.get("name").and_then(Item::as_str).map(str::to_owned))
                .collect();
            let i = element(&here, seg, &names)?;
            match tables.get_mut(i) {
                Some(t) => set_in_table(t, path, at + 1, value),
                None => Err(problem(format!("`{here}` has no entry {i}"), None)),
            }
        }
        Item::Value(Value::Array(array)) => {
            let names: Vec<Option<String>> = array
                .iter()
                .map(|v| {
                    v.as_inline_table()
                        .and_then(|t| t.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            let i = element(&here, seg, &names)?;
            let last = at + 1 == path.len();
            match array.get_mut(i) {
                Some(v) if last => {
                    let mut slot = Item::Value(v.clone());
                    replace(&mut slot, path, value)?;
                    if let Item::Value(new) = slot {
                        *v = new;
                    }
                    Ok(())
                }
                Some(Value::InlineTable(t)) => set_in_table(t, path, at + 1, value),
                Some(other) => Err(problem(
                    format!(
                        "`{}` is {}, not a table: it has no `{}`",
                        path::format(&path[..=at]),
                        value_kind(other),
                        path::format(&path[at + 1..])
                    ),
                    Some(format!(
                        "the grid key would be `{}`",
                        path::format(&path[..=at])
                    )),
                )),
                None => Err(problem(format!("`{here}` has no entry {i}"), None)),
            }
        }
        other => Err(problem(
            format!(
                "`{here}` is {} in the scenario, not a table: it has no `{}`",
                kind(other),
                path::format(&path[at..])
            ),
            Some(format!("the grid key would be `{here}`")),
        )),
    }
}

/// The index an array step `seg` names: a number, or the `name` of an entry.
fn element(here: &str, seg: &str, names: &[Option<String>]) -> Result<usize, Problem> {
    let listed = || {
        let named: Vec<String> = names
            .iter()
            .flatten()
            .map(|n| format!("`{here}.{n}`"))
            .collect();
        let mut s = match names.len() {
            0 => format!("`{here}` is empty"),
            1 => format!("entries are numbered from 0 (`{here}.0` is the only one)"),
            n => format!(
                "entries are numbered from 0 (`{here}.0` to `{here}.{}`)",
                n - 1
            ),
        };
        if !named.is_empty() {
            s.push_str(&format!(" or named: {}", named.join(", ")));
        }
        s
    };
    if let Ok(i) = seg.parse::<usize>() {
        if i < names.len() {
            return Ok(i);
        }
        return Err(problem(
            format!(
                "`{here}` has {} entr{}; there is no `{here}.{i}`",
                names.len(),
                if names.len() == 1 { "y" } else { "ies" }
            ),
            Some(listed()),
        ));
    }
    if let Some(i) = names.iter().position(|n| n.as_deref() == Some(seg)) {
        return Ok(i);
    }
    let hint = match crate::error::closest(seg, names.iter().flatten().map(String::as_str)) {
        Some(c) => format!("did you mean `{here}.{c}`? {}", listed()),
        None => listed(),
    };
    Err(problem(
        format!("`{here}` has no entry named `{seg}`"),
        Some(hint),
    ))
}

/// Replaces an existing value, keeping its decor (spacing, trailing comment).
fn replace(existing: &mut Item, path: &[String], value: &Value) -> Result<(), Problem> {
    let old = kind(existing);
    let new = value_kind(value);
    if old != new {
        return Err(problem(
            format!(
                "wrong type: `{}` is {old} in the scenario, the grid gives {new} ({value})",
                path::format(path)
            ),
            Some(format!(
                "give {old} like the scenario's value, or check the key"
            )),
        ));
    }
    let mut value = value.clone();
    if let Item::Value(v) = existing {
        *value.decor_mut() = v.decor().clone();
    }
    *existing = Item::Value(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# a comment
[scenario]
name = "x"
duration = "1h"

[[app]]
name = "sms"
kind = "sms"

[[carrier]]
name = "lab"
subscribers = 20   # twenty
population = { sms = 0.5, b = 0.5 }
warrants = { explicit = [{ subscriber = 0, kind = "iri" }] }

[carrier.extra]
z = 1

[traffic]
mean_degree = 3.0
"#;

    fn apply(key: &str, v: &str) -> Result<String, Problem> {
        let mut doc: DocumentMut = DOC.parse().unwrap();
        let value: Value = v.parse().unwrap();
        set(&mut doc, &path::parse(key).unwrap(), &value)?;
        Ok(doc.to_string())
    }

    #[test]
    fn replacing_keeps_everything_else() {
        let out = apply("traffic.mean_degree", "4.5").unwrap();
        assert_eq!(out, DOC.replace("mean_degree = 3.0", "mean_degree = 4.5"));
        let out = apply("carrier.0.subscribers", "8").unwrap();
        assert_eq!(
            out,
            DOC.replace("subscribers = 20   # twenty", "subscribers = 8   # twenty")
        );
        let out = apply("carrier.lab.population.sms", "0.25").unwrap();
        assert!(
            out.contains("population = { sms = 0.25, b = 0.5 }"),
            "{out}"
        );
        let out = apply("carrier.0.warrants.explicit.0.kind", "\"iri+content\"").unwrap();
        assert!(out.contains("kind = \"iri+content\""), "{out}");
        // Numbers are one kind.
        assert!(apply("traffic.mean_degree", "4").is_ok());
    }

    #[test]
    fn missing_keys_are_added_and_parse_back() {
        for (key, v) in [
            ("links.radio.loss", "0.1"),
            ("traffic.reply_delay", "\"2m\""),
            ("carrier.0.extra.y", "2"),
            ("scenario.early_data", "true"),
        ] {
            let out = apply(key, v).unwrap();
            let doc: DocumentMut = out.parse().unwrap_or_else(|e| panic!("{key}: {e}\n{out}"));
            let mut item = doc.as_item().clone();
            for seg in path::parse(key).unwrap() {
                item = match item {
                    Item::ArrayOfTables(a) => {
                        Item::Table(a.get(seg.parse::<usize>().unwrap()).unwrap().clone())
                    }
                    other => other[seg.as_str()].clone(),
                };
            }
            assert_eq!(
                item.as_value().unwrap().to_string().trim(),
                v,
                "{key}\n{out}"
            );
        }
    }

    #[test]
    fn a_key_that_ends_at_an_entry_of_an_array_of_tables_is_refused_not_a_panic() {
        // Issue 14: `"app.0" = [{}]` and `"app.sms" = [1]` indexed past the path.
        for key in ["app.0", "app.sms", "carrier.lab", "carrier.0"] {
            for v in ["{}", "1", "\"x\""] {
                let e = apply(key, v).unwrap_err();
                assert!(
                    e.message.contains("is a table, not a value"),
                    "{key}: {}",
                    e.message
                );
                assert!(e.hint.unwrap().contains(&format!("{key}.<key>")));
            }
        }
    }

    proptest::proptest! {
        /// Any path of any shape over any document of tables, arrays of tables, inline tables,
        /// arrays and values: `set` answers (changed document or a problem), never panics.
        #[test]
        fn set_never_panics_on_any_path(
            segs in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("0".to_string()),
                    proptest::strategy::Just("1".to_string()),
                    proptest::strategy::Just("99999999999999999999".to_string()),
                    "[a-z]{1,6}",
                    proptest::strategy::Just("app".to_string()),
                    proptest::strategy::Just("carrier".to_string()),
                    proptest::strategy::Just("lab".to_string()),
                    proptest::strategy::Just("warrants".to_string()),
                    proptest::strategy::Just("explicit".to_string()),
                    proptest::strategy::Just("population".to_string()),
                    proptest::strategy::Just("sms".to_string()),
                ],
                1..7,
            ),
            v in proptest::prop_oneof![
                proptest::strategy::Just("1"),
                proptest::strategy::Just("{}"),
                proptest::strategy::Just("[1, 2]"),
                proptest::strategy::Just("[{ a = 1 }]"),
                proptest::strategy::Just("\"s\""),
                proptest::strategy::Just("true"),
            ],
        ) {
            let mut doc: DocumentMut = DOC.parse().unwrap();
            let value: Value = v.parse().unwrap();
            if set(&mut doc, &segs, &value).is_ok() {
                // Whatever was set parses back as TOML.
                proptest::prop_assert!(doc.to_string().parse::<DocumentMut>().is_ok());
            }
        }
    }

    #[test]
    fn bad_paths_and_types_say_why() {
        let e = apply("carrier.3.subscribers", "2").unwrap_err();
        assert!(e.message.contains("has 1 entry"), "{}", e.message);
        assert!(e.hint.unwrap().contains("carrier.lab"));
        let e = apply("carrier.lob.subscribers", "2").unwrap_err();
        assert!(e.hint.unwrap().contains("did you mean `carrier.lab`"));
        let e = apply("traffic.mean_degree", "\"many\"").unwrap_err();
        assert!(
            e.message
                .starts_with("wrong type: `traffic.mean_degree` is a number"),
            "{}",
            e.message
        );
        let e = apply("traffic.mean_degree.x", "1").unwrap_err();
        assert!(e.message.contains("not a table"), "{}", e.message);
        let e = apply("carrier", "1").unwrap_err();
        assert!(e.message.contains("wrong type"), "{}", e.message);
    }
}

/// `text` with every carrier's `subscribers` multiplied by `factor` (rounded, at least 2) and
/// its random warrant `count` with it (rounded; at least 1 where it was at least 1): the same
/// scenario at another size, for `wiretap run --scale` and the scale curve (BENCHMARKING.md).
///
/// Everything else stays as written, so positions in the scaled text are those of the file
/// (only the changed numbers' widths differ). A document that does not parse, or a value that is
/// not an integer, is left as it is: the scenario's own validation then reports it at its place.
pub fn scale_subscribers(text: &str, factor: f64) -> String {
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return text.to_owned();
    };
    let scaled = |n: i64, floor: i64| ((n as f64 * factor).round() as i64).max(floor);
    let Some(carriers) = doc
        .get_mut("carrier")
        .and_then(Item::as_array_of_tables_mut)
    else {
        return text.to_owned();
    };
    for carrier in carriers.iter_mut() {
        if let Some(item) = carrier.get_mut("subscribers") {
            if let Some(n) = item.as_integer() {
                set_integer(item, scaled(n, 2));
            }
        }
        let count = carrier
            .get_mut("warrants")
            .and_then(Item::as_table_like_mut)
            .and_then(|w| w.get_mut("count"));
        if let Some(item) = count {
            if let Some(n) = item.as_integer() {
                set_integer(item, scaled(n, n.min(1)));
            }
        }
    }
    doc.to_string()
}

/// Replaces an integer value, keeping its comment and spacing.
fn set_integer(item: &mut Item, n: i64) {
    if let Some(v) = item.as_value_mut() {
        let decor = v.decor().clone();
        *v = Value::from(n);
        *v.decor_mut() = decor;
    }
}

#[cfg(test)]
mod scale_tests {
    use super::scale_subscribers;

    const TEXT: &str = "[scenario]\nname = \"x\" # kept\n\n[[carrier]]\nname = \"a\"\nsubscribers = 800   # the big one\n\n[carrier.warrants]\ncount = 4\n\n[[carrier]]\nname = \"b\"\nsubscribers = 3\nwarrants = { count = 1 }\n";

    #[test]
    fn subscribers_and_warrant_counts_scale_and_the_rest_stays_as_written() {
        let up = scale_subscribers(TEXT, 5.0);
        assert!(up.contains("subscribers = 4000   # the big one\n"), "{up}");
        assert!(up.contains("count = 20\n"), "{up}");
        assert!(up.contains("subscribers = 15\n"), "{up}");
        assert!(up.contains("warrants = { count = 5 }"), "{up}");
        assert!(up.contains("name = \"x\" # kept"), "{up}");
        assert_eq!(up.lines().count(), TEXT.lines().count());
        // Down: never below 2 subscribers, never from some warrants to none.
        let down = scale_subscribers(TEXT, 0.001);
        assert!(
            !down.contains("subscribers = 1   # the big one\n"),
            "{down}"
        );
        assert!(down.contains("subscribers = 2   # the big one\n"), "{down}");
        assert!(
            down.contains("count = 1\n") && down.contains("warrants = { count = 1 }"),
            "{down}"
        );
        // Scale 1 is the identity.
        assert_eq!(scale_subscribers(TEXT, 1.0), TEXT);
    }

    #[test]
    fn what_does_not_parse_is_left_for_validation_to_report() {
        for text in [
            "[[carrier]\nsubscribers = 3",
            "[[carrier]]\nsubscribers = \"many\"\n",
        ] {
            assert_eq!(scale_subscribers(text, 2.0), text);
        }
    }
}
