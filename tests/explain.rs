//! `wiretap explain PATTERN|PROFILE`: the plain words follow the derived matrix and the measured
//! runs, and an unknown name exits 2 with the valid names.

use crate::support::wiretap;

fn explain(name: &str) -> String {
    let out = wiretap(["explain", name]);
    assert!(
        out.status.success(),
        "wiretap explain {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The paragraph of message `i` (1-based) in the explanation.
fn message(text: &str, i: usize) -> &str {
    let start = text
        .find(&format!("Message {i}:"))
        .unwrap_or_else(|| panic!("no message {i} in:\n{text}"));
    let rest = &text[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn every_sentence_of_a_pattern_follows_its_derived_matrix() {
    for pattern in ["XX", "IK", "NK", "N", "XXpsk3"] {
        let text = explain(pattern);
        let m = matrix::run_pattern(pattern, 1).expect("pattern runs");
        assert_eq!(
            text.matches("\nMessage ").count() + usize::from(text.starts_with("Message")),
            m.messages.len(),
            "{pattern}"
        );
        for r in &m.messages {
            let p = message(&text, r.index);
            let hit = |e: &str| r.experiments[e];
            assert_eq!(
                p.contains("Anyone who records it reads it"),
                hit("E1"),
                "{pattern} #{}:\n{p}",
                r.index
            );
            if !hit("E1") {
                let kept = p
                    .lines()
                    .find(|l| l.contains("Kept secret from"))
                    .expect("a kept-secret line");
                for (e, words) in [
                    ("E2", "(a man in the middle)"),
                    ("E3", "(harvest now, decrypt later)"),
                    ("E4", "a man in the middle who steals the recipient's"),
                    ("E5", "holds the sender's long-term key"),
                ] {
                    assert_eq!(
                        kept.contains(words),
                        !hit(e),
                        "{pattern} #{} {e}:\n{p}",
                        r.index
                    );
                }
            }
            assert_eq!(
                p.contains("Not authenticated"),
                hit("E6"),
                "{pattern} #{}",
                r.index
            );
            assert_eq!(
                p.contains("Replayable:"),
                hit("E8"),
                "{pattern} #{}",
                r.index
            );
            assert!(
                p.contains(&format!("source {} — ", r.source))
                    && p.contains(&format!("destination {} — ", r.destination))
            );
        }
    }
    // The physics a student should see: XX's first message is clear, its transport messages are
    // forward secret; IK's first message falls to a later theft of the responder's key.
    let xx = explain("XX");
    assert!(message(&xx, 1).contains("Anyone who records it reads it"));
    assert!(
        message(&xx, 4).contains("Kept secret from") && !message(&xx, 4).contains("Readable by")
    );
    let ik = explain("IK");
    assert!(message(&ik, 1).contains(
        "Readable by: someone who records it now and steals the recipient's long-term key later"
    ));
}

#[test]
fn profiles_quote_measured_runs() {
    let sms = explain("sms");
    let read = |text: &str, who: &str| -> (usize, usize) {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(who))
            .unwrap_or_else(|| panic!("no `{who}` line in:\n{text}"));
        let counts = &line[line.find(": read ").expect("a `: read N of M` line")..];
        let nums: Vec<usize> = counts
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        (nums[0], nums[1])
    };
    let (r, n) = read(&sms, "A passive tap at the core");
    assert!(
        n > 0 && r == n,
        "SMS is read in full at a tapped core: {r} of {n}"
    );
    let (r, n) = read(&explain("carrier-encrypted"), "A passive tap at the core");
    assert!(
        n > 0 && r == n,
        "carrier encryption ends at the gateway: {r} of {n}"
    );
    let signal = explain("signal");
    let (r, n) = read(&signal, "A passive tap at the core");
    assert!(n > 0 && r == 0, "signal passively: {r} of {n}");
    let (rq, _) = read(&signal, "The same recording, with a quantum computer");
    assert!(rq > 0, "X3DH falls to a quantum computer");
    let pq = explain("signal+pq");
    let (rq, nq) = read(&pq, "The same recording, with a quantum computer");
    assert!(nq > 0 && rq == 0, "PQXDH holds: {rq} of {nq}");
}

#[test]
fn an_unknown_name_exits_2_with_the_valid_names() {
    let out = wiretap(["explain", "QQ"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "sms",
        "carrier-encrypted",
        "signal+pq",
        "XX",
        "IK",
        "XXpsk3",
    ] {
        assert!(err.contains(name), "hint lacks {name}: {err}");
    }
}
