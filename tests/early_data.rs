//! `early_data = "last"` (`sim/early-data-xx3.toml`): each session's first text rides in the
//! initiator's last handshake message, XX's message 3, and the adversary reads it exactly when
//! the Noise payload properties say it can: never passively (unlike message 1, which XX sends
//! in clear), never with stolen statics alone (`ee` needs an ephemeral private key), and with a
//! stolen static plus predictable ephemerals.

use crate::support;

fn shipped() -> &'static str {
    scenario::builtin("early-data-xx3").expect("early-data-xx3 is built in")
}

/// The shipped scenario without the capabilities from `[[adversary.weak_rng]]` on.
fn passive(text: &str) -> String {
    let cut = text
        .find("[[adversary.weak_rng]]")
        .expect("a weak_rng entry");
    text[..cut].to_owned()
}

/// The shipped scenario without the weak RNG: statics stolen only.
fn statics_only(text: &str) -> String {
    let start = text
        .find("[[adversary.weak_rng]]")
        .expect("a weak_rng entry");
    let end = text.find("[[adversary.theft]]").expect("a theft entry");
    format!("{}{}", &text[..start], &text[end..])
}

/// (messages, exposed, read) of the XX row, and the run's false recoveries.
fn xx(text: &str) -> (usize, usize, usize, usize) {
    let r = support::run(support::parse(text), 1);
    let p = r
        .report
        .protocols
        .iter()
        .find(|p| p.protocol == "noise:XX")
        .unwrap_or_else(|| panic!("no XX row: {:#?}", r.report.protocols));
    assert_eq!(p.messages_delivered, p.messages, "{p:#?}");
    (
        p.messages,
        p.messages_exposed_to_vantage,
        p.messages_read_by_adversary,
        r.report.adversary.false_recoveries,
    )
}

#[test]
fn message_1_early_data_is_read_passively_but_message_3_is_not() {
    let last = passive(shipped());
    let first = last.replace("early_data = \"last\"", "early_data = true");
    assert_ne!(first, last);
    let (m, exposed, read, wrong) = xx(&first);
    assert!(
        exposed > 0 && read > 0 && read < m,
        "first: {m} {exposed} {read}"
    );
    assert_eq!(wrong, 0);
    let (m, exposed, read, wrong) = xx(&last);
    assert!(m > 0 && exposed > 0, "last: {m} {exposed}");
    assert_eq!(read, 0, "XX message 3 is encrypted after ee, es, se");
    assert_eq!(wrong, 0);
}

#[test]
fn stolen_statics_alone_do_not_open_message_3() {
    let (m, exposed, read, wrong) = xx(&statics_only(shipped()));
    assert!(m > 0 && exposed > 0);
    assert_eq!(read, 0, "ee needs an ephemeral private key");
    assert_eq!(wrong, 0);
}

#[test]
fn statics_and_predictable_ephemerals_open_message_3() {
    // Every phone weak: every session opens, message 3 included.
    let all = shipped().replace("share = 0.5", "share = 1.0");
    let (_, exposed, read, wrong) = xx(&all);
    assert!(exposed > 0);
    assert_eq!(read, exposed, "every exposed message should open");
    assert_eq!(wrong, 0);
    // Half of them: only sessions with a weak party.
    let (_, exposed, read, wrong) = xx(shipped());
    assert!(read > 0 && read < exposed, "{read} of {exposed}");
    assert_eq!(wrong, 0);
}

#[test]
fn early_data_names_are_checked() {
    let bad = shipped().replace("early_data = \"last\"", "early_data = \"third\"");
    let err = scenario::parse("x.toml", &bad).expect_err("unknown early_data");
    let text = err.to_string();
    assert!(
        text.contains("x.toml:") && text.contains("early_data"),
        "{text}"
    );
    assert!(
        text.contains("\"last\""),
        "the hint lists the values: {text}"
    );
}
