//! Issue 15: what clear Double Ratchet headers reveal on a shipped Signal scenario, scored
//! against the true sending chains, and its removal by header encryption and sealed sender.

use std::collections::BTreeMap;

use crate::support::{parse, run_with_capabilities, Run};

fn shipped(name: &str) -> &'static str {
    scenario::builtin(name).expect("shipped")
}

fn run_text(text: &str) -> Run {
    let sc = parse(text);
    let seed = sc.seed;
    run_with_capabilities(sc, seed)
}

fn with_header_encryption(text: &str) -> String {
    let out = text.replace(
        "receipts = true",
        "receipts = true\nheader_encryption = true",
    );
    assert_ne!(out, text, "the scenario sets receipts");
    out
}

#[test]
fn clear_headers_give_every_conversations_turns_and_chain_lengths() {
    let run = run_text(shipped("signal-state-theft"));
    let s = &run.report.metadata.ratchet;
    assert_eq!(s.why_nothing, None);
    assert!(s.envelopes > 300, "{s:?}");
    assert_eq!(
        s.clear_headers, s.envelopes,
        "no header encryption, no sealed sender"
    );
    assert!(s.conversations > 10, "{s:?}");
    // Every conversation is linked correctly, with the true number of turns.
    assert_eq!(s.conversations_correct, s.conversations, "{s:?}");
    assert_eq!(s.conversations, s.conversations_true, "{s:?}");
    assert_eq!(s.turns_exact, s.conversations, "{s:?}");
    // Every chain is a true one; every count claimed exact is exact, every bound holds.
    assert_eq!(s.chains, s.chains_true, "{s:?}");
    assert_eq!(s.chains_correct, s.chains, "{s:?}");
    assert!(s.chains_claimed_exact * 2 > s.chains, "{s:?}");
    assert_eq!(s.chains_exact_right, s.chains_claimed_exact, "{s:?}");
    assert_eq!(
        s.chains_exact_right + s.chains_bound_right,
        s.chains,
        "{s:?}"
    );

    // The same, checked directly against the truth: each chain's sender, recipient and count.
    let t = &run.output.truth;
    let by_msisdn: BTreeMap<&str, usize> = t
        .subscribers
        .iter()
        .map(|s| (s.msisdn.as_str(), s.index))
        .collect();
    for c in run.findings.metadata.ratchet.conversations.iter() {
        for ch in &c.chains {
            let key: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&ch.key[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let key: [u8; 32] = key.try_into().unwrap();
            let truth = &t.signal_chains[&key];
            assert_eq!(by_msisdn[ch.from.as_str()], truth.from);
            assert_eq!(by_msisdn[ch.to.as_str()], truth.to);
            if ch.exact {
                assert_eq!(ch.messages, truth.messages, "{ch:?}");
            } else {
                assert!(ch.messages <= truth.messages, "{ch:?}");
            }
        }
    }
    let terminal = report::render_terminal(&run.report);
    assert!(
        terminal.contains("ratchet headers:") && terminal.contains("conversations linked"),
        "{terminal}"
    );
}

#[test]
fn header_encryption_removes_it_and_the_report_says_why() {
    let run = run_text(&with_header_encryption(shipped("signal-state-theft")));
    let s = &run.report.metadata.ratchet;
    assert!(s.envelopes > 300, "{s:?}");
    assert_eq!(s.encrypted_headers, s.envelopes, "{s:?}");
    assert_eq!((s.clear_headers, s.conversations, s.chains), (0, 0, 0));
    assert!(s.chains_true > 0, "the chains were there");
    let why = s.why_nothing.as_deref().expect("a reason");
    assert!(why.contains("header encryption"), "{why}");
    let terminal = report::render_terminal(&run.report);
    assert!(
        terminal.contains("ratchet headers: nothing revealed: no clear ratchet header"),
        "{terminal}"
    );
}

#[test]
fn sealed_sender_hides_the_header_too() {
    let text = shipped("signal-state-theft")
        .replace("receipts = true", "receipts = true\nsealed_sender = true");
    let run = run_text(&text);
    let s = &run.report.metadata.ratchet;
    assert_eq!(s.sealed, s.envelopes, "{s:?}");
    assert_eq!(s.conversations, 0);
    assert!(s
        .why_nothing
        .as_deref()
        .is_some_and(|w| w.contains("sealed sender")));
}
