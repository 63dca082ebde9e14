//! Metrics: dotted paths into the report's JSON (`docs/report-schema.md`).
//!
//! An object step is a key. An array step is a 0-based index, or the value of a string field of
//! the element: `protocols.noise:XX.messages` is the `messages` of the `protocols[]` row named
//! `noise:XX` (rows are named by their unique `row` field: a Signal app's row is
//! `signal:<app>`); `adversary.unreadable.tunnel.count` the first `unreadable[]` entry with a
//! string field equal to `tunnel`. In an array of named rows, a step that names no row and
//! matches more than one element by another field (`protocols.signal` when two Signal apps
//! have a row each) finds nothing, rather than the first of them.

use serde_json::Value;

use crate::path;

/// The metrics used when a sweep file lists none, besides the per-protocol ones of
/// [`default_metrics`].
pub const DEFAULT_METRICS: &[&str] = &[
    "adversary.messages_read",
    "adversary.false_recoveries",
    "adversary.warrant_targets_learned",
    "adversary.contacts.precision",
    "adversary.contacts.recall",
];

/// The default metrics for a scenario: [`DEFAULT_METRICS`], then for each protocol row of its
/// apps (sorted, as in the report: the protocol label, `<label>:<app>` for a Signal app)
/// `protocols.<row>.messages` and `protocols.<row>.messages_read_by_adversary`.
pub fn default_metrics(sc: &scenario::Scenario) -> Vec<String> {
    let mut labels: Vec<String> = sc
        .apps
        .iter()
        .map(|a| match a.kind {
            scenario::AppKind::Signal(_) => format!("{}:{}", a.kind.label(), a.name),
            _ => a.kind.label(),
        })
        .collect();
    labels.sort();
    labels.dedup();
    let mut out: Vec<String> = DEFAULT_METRICS.iter().map(|s| (*s).to_owned()).collect();
    for label in labels {
        for field in ["messages", "messages_read_by_adversary"] {
            out.push(path::format(&[
                "protocols".to_owned(),
                label.clone(),
                field.to_owned(),
            ]));
        }
    }
    out
}

/// The value at `path` in `report`, if there is one.
pub(crate) fn lookup<'a>(report: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = report;
    for seg in path {
        v = match v {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => match seg.parse::<usize>() {
                Ok(i) => items.get(i)?,
                Err(_) => {
                    let named_rows = items.iter().any(|item| item.get("row").is_some());
                    let by_row = items
                        .iter()
                        .find(|item| item.get("row").and_then(Value::as_str) == Some(seg));
                    let mut by_field = items.iter().filter(|item| {
                        item.as_object()
                            .is_some_and(|o| o.values().any(|f| f.as_str() == Some(seg.as_str())))
                    });
                    match by_row {
                        Some(item) => item,
                        None => {
                            let first = by_field.next()?;
                            if named_rows && by_field.next().is_some() {
                                return None;
                            }
                            first
                        }
                    }
                }
            },
            _ => return None,
        };
    }
    Some(v)
}

/// Fields that name an array element in [`leaf_paths`] (the first one present wins).
const NAMING_FIELDS: &[&str] = &[
    "row", "protocol", "name", "app", "channel", "liid", "reason",
];

/// Every path to a number in `report`, for "did you mean" hints.
pub(crate) fn leaf_paths(report: &Value) -> Vec<String> {
    fn walk(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<String>) {
        match v {
            Value::Number(_) => out.push(path::format(prefix)),
            Value::Object(map) => {
                for (k, x) in map {
                    prefix.push(k.clone());
                    walk(x, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    let name = NAMING_FIELDS
                        .iter()
                        .find_map(|f| x.get(f).and_then(Value::as_str))
                        .map_or_else(|| i.to_string(), str::to_owned);
                    prefix.push(name);
                    walk(x, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(report, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let r = serde_json::json!({
            "protocols": [
                {"protocol": "noise:XX", "messages": 13},
                {"protocol": "sms", "messages": 77}
            ],
            "adversary": {"contacts": {"recall": 0.5}}
        });
        let get = |p: &str| lookup(&r, &path::parse(p).unwrap()).cloned();
        assert_eq!(get("protocols.sms.messages"), Some(serde_json::json!(77)));
        assert_eq!(get("protocols.0.messages"), Some(serde_json::json!(13)));
        assert_eq!(
            get("adversary.contacts.recall"),
            Some(serde_json::json!(0.5))
        );
        assert_eq!(get("adversary.contacts.recal"), None);
        assert_eq!(get("protocols.2.messages"), None);
        // Two Signal apps, a row each: the row name finds each; the bare label finds neither
        // (it would silently be the first).
        let two = serde_json::json!({
            "protocols": [
                {"row": "signal:a", "protocol": "signal", "app": "a", "messages": 5},
                {"row": "signal:b", "protocol": "signal", "app": "b", "messages": 9}
            ]
        });
        let at = |p: &str| lookup(&two, &path::parse(p).expect("path")).cloned();
        assert_eq!(
            at("protocols.signal:b.messages"),
            Some(serde_json::json!(9))
        );
        assert_eq!(
            at("protocols.signal:a.messages"),
            Some(serde_json::json!(5))
        );
        assert_eq!(at("protocols.signal.messages"), None);
        assert_eq!(get("adversary.contacts.recall.x"), None);
        let leaves = leaf_paths(&r);
        assert!(
            leaves.contains(&"protocols.noise:XX.messages".to_owned()),
            "{leaves:?}"
        );
    }

    #[test]
    fn default_metrics_name_one_row_per_signal_app() {
        let text = scenario::builtin("signal-prekeys").expect("built in");
        let sc = scenario::parse("signal-prekeys", text).expect("parses");
        let m = default_metrics(&sc);
        let signal: Vec<&String> = m
            .iter()
            .filter(|p| p.starts_with("protocols.signal"))
            .collect();
        assert_eq!(signal.len(), 4, "{m:?}");
        assert!(
            signal.iter().all(|p| p.starts_with("protocols.signal:")),
            "{m:?}"
        );
    }
}
