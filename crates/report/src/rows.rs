//! The rows of the tables the terminal summary ([`crate::render_terminal`]) and the HTML page
//! ([`crate::html`]) both print, as data: the messages per protocol, why the rest stayed
//! sealed, the examples of messages read, and the on-path attacks. Each figure is computed once
//! here; each renderer only lays the rows out (widths, clipping, escaping, and its own mark for
//! "none", which is why an absent figure is `None` here rather than a string).

use crate::score::{Example, Report};

/// `n` as a percentage of `of`, one decimal (`"12.5%"`); `None` when `of` is 0.
pub(crate) fn percent(n: usize, of: usize) -> Option<String> {
    (of > 0).then(|| format!("{:.1}%", 100.0 * n as f64 / of as f64))
}

/// One row of the messages table: a [`crate::ProtocolScore`]'s counts.
pub(crate) struct MessageRow<'a> {
    /// The row's name in the terminal (`ProtocolScore::row`: the protocol, with the app when a
    /// protocol has a row per app).
    pub row: &'a str,
    /// The protocol (the row's name on the page).
    pub protocol: &'a str,
    pub sessions: usize,
    pub messages: usize,
    pub delivered: usize,
    pub exposed: usize,
    pub read: usize,
    /// Read as a percentage of the messages; `None` with no messages.
    pub read_percent: Option<String>,
}

/// The messages table, in the report's protocol order.
pub(crate) fn messages(r: &Report) -> Vec<MessageRow<'_>> {
    r.protocols
        .iter()
        .map(|p| MessageRow {
            row: &p.row,
            protocol: &p.protocol,
            sessions: p.sessions,
            messages: p.messages,
            delivered: p.messages_delivered,
            exposed: p.messages_exposed_to_vantage,
            read: p.messages_read_by_adversary,
            read_percent: percent(p.messages_read_by_adversary, p.messages),
        })
        .collect()
}

/// One reason some of a protocol's messages stayed sealed.
pub(crate) struct SealedRow<'a> {
    /// As [`MessageRow::row`].
    pub row: &'a str,
    /// As [`MessageRow::protocol`].
    pub protocol: &'a str,
    pub messages: usize,
    pub reason: &'a str,
}

/// Why the rest stayed sealed: every reason of every protocol, in the report's order.
pub(crate) fn sealed(r: &Report) -> Vec<SealedRow<'_>> {
    r.protocols
        .iter()
        .flat_map(|p| {
            p.why_unreadable.iter().map(move |w| SealedRow {
                row: &p.row,
                protocol: &p.protocol,
                messages: w.messages,
                reason: &w.reason,
            })
        })
        .collect()
}

/// The examples of messages the adversary read that both renderers show: the first of each
/// protocol.
pub(crate) fn examples(r: &Report) -> Vec<&Example> {
    let mut shown = std::collections::BTreeSet::new();
    r.adversary
        .examples
        .iter()
        .filter(|e| shown.insert(e.protocol.as_str()))
        .collect()
}

/// One row of the on-path table: an [`crate::AttackScore`].
pub(crate) struct OnPathRow<'a> {
    pub app: &'a str,
    pub protocol: &'a str,
    pub mode: &'a str,
    pub attempted: usize,
    pub silent: usize,
    pub detected: usize,
    pub failed: usize,
    pub read: usize,
    /// How endpoints detected it, `"<how> <count>"` joined by `", "`; `None` when none did.
    pub detected_by: Option<String>,
}

/// The on-path table, in the report's order.
pub(crate) fn on_path(r: &Report) -> Vec<OnPathRow<'_>> {
    r.on_path
        .iter()
        .map(|a| OnPathRow {
            app: &a.app,
            protocol: &a.protocol,
            mode: &a.mode,
            attempted: a.attempted,
            silent: a.succeeded_silently,
            detected: a.detected,
            failed: a.failed_undetected,
            read: a.messages_read,
            detected_by: (!a.detected_by.is_empty()).then(|| {
                a.detected_by
                    .iter()
                    .map(|(how, n)| format!("{how} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_has_one_decimal_and_none_of_nothing() {
        assert_eq!(percent(1, 8).as_deref(), Some("12.5%"));
        assert_eq!(percent(0, 3).as_deref(), Some("0.0%"));
        assert_eq!(percent(2, 3).as_deref(), Some("66.7%"));
        assert_eq!(percent(0, 0), None);
    }
}
