//! Signal-style apps end to end: delivery through the server's mailbox, healing after a
//! device-state theft (checked message by message against the ratchet keys of ground truth),
//! one-time prekeys against a later identity/signed-prekey theft, a quantum computer against
//! X3DH and PQXDH, sealed sender, determinism.

use std::collections::{BTreeMap, BTreeSet};

use capture::Secret;

use crate::support::{parse, run_with_capabilities, Run};

/// An unordered pair of device addresses.
type Pair = (u64, u64);
/// A ratchet public key.
type Key = [u8; 32];

fn builtin(name: &str) -> Run {
    let sc = parse(scenario::builtin(name).expect("shipped"));
    let seed = sc.seed;
    run_with_capabilities(sc, seed)
}

fn read_texts(run: &Run) -> BTreeSet<&str> {
    run.findings
        .recovered
        .iter()
        .map(|r| r.text.as_str())
        .collect()
}

fn public(private: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*private)).to_bytes()
}

#[test]
fn every_message_is_delivered_also_to_offline_recipients() {
    let run = builtin("signal-state-theft");
    let t = &run.output.truth;
    assert!(t.messages.len() > 100, "{} messages", t.messages.len());
    for m in &t.messages {
        assert!(m.delivered_at.is_some(), "undelivered: {m:?}");
    }
    assert_eq!(t.integrity_errors, 0);
    assert_eq!(t.duplicate_deliveries, 0);
    // Offline recipients were served from the mailbox: some messages waited minutes.
    let waited = t
        .messages
        .iter()
        .filter(|m| {
            m.delivered_at
                .is_some_and(|d| (d - m.sent_at).as_nanos() > 60_000_000_000)
        })
        .count();
    assert!(waited > 0, "no message waited in a mailbox");
    assert!(run.output.stats.session_failures.is_empty());
}

#[test]
fn device_state_theft_reads_exactly_until_the_victims_next_ratchet_key() {
    let run = builtin("signal-state-theft");
    let t = &run.output.truth;
    let read = read_texts(&run);
    let addr = |i: usize| -> u64 {
        t.subscribers[i]
            .msisdn
            .trim_start_matches('+')
            .parse()
            .expect("digits")
    };
    // Per unordered pair: the ratchet keys the stolen states open (victim's current key, the
    // peer's current and next key, keys with stolen skipped message keys), and the theft time.
    let mut open: BTreeMap<Pair, (simcore::Timestamp, BTreeSet<Key>, BTreeSet<u64>)> =
        BTreeMap::new();
    let mut thefts = 0;
    for s in &run.output.capabilities.stolen {
        let Secret::SignalState(st) = &s.secret else {
            continue;
        };
        thefts += 1;
        for sess in &st.sessions {
            let pair = (st.address.min(sess.peer), st.address.max(sess.peer));
            let e = open
                .entry(pair)
                .or_insert((s.at, BTreeSet::new(), BTreeSet::new()));
            e.2.insert(st.address);
            e.1.insert(public(&sess.ratchet_private));
            if let Some(r) = sess.remote_ratchet {
                e.1.insert(r);
            }
            for (k, _, _) in &sess.skipped {
                e.1.insert(*k);
            }
        }
    }
    assert!(thefts > 0);
    // Per pair: messages delivered after the theft on the stolen keys (victim's current key,
    // peer's current key, keys with stolen skipped message keys) are all read; on the victim's
    // later keys none is; of the peer's later keys at most one (its next, combined with the
    // stolen ratchet private key) is read.
    let mut on_exact = 0;
    let mut peer_later: BTreeMap<(Pair, u64), BTreeSet<Key>> = BTreeMap::new();
    for m in &t.messages {
        let pair = (addr(m.from).min(addr(m.to)), addr(m.from).max(addr(m.to)));
        let was_read = read.contains(&*m.text);
        let Some((at, exact, victims)) = open.get(&pair) else {
            assert!(!was_read, "read without a theft: {m:?}");
            continue;
        };
        if m.delivered_at.is_some_and(|d| d < *at) {
            continue; // consumed before the theft: its keys were gone
        }
        let key = t
            .signal_ratchet_keys
            .get(&m.id)
            .expect("ratchet key recorded");
        if exact.contains(key) {
            on_exact += 1;
            assert!(was_read, "message {} on a stolen key unread", m.id);
        } else if victims.contains(&addr(m.from)) {
            assert!(!was_read, "message {} on the victim's later key read", m.id);
        } else if was_read {
            peer_later
                .entry((pair, addr(m.from)))
                .or_default()
                .insert(*key);
        }
    }
    assert!(on_exact > 0);
    for (k, keys) in &peer_later {
        assert!(
            keys.len() <= 1,
            "{k:?}: {} later peer keys read",
            keys.len()
        );
    }
    // The report has the healing figures.
    let row = run
        .report
        .key_theft
        .iter()
        .find(|r| r.kind == "device-state")
        .expect("device-state row");
    let s = row.signal.as_ref().expect("signal details");
    assert!(s.sessions_followed > 0 && s.healed > 0, "{s:?}");
    assert!(!s.time_to_heal_mean.is_empty());
    assert_eq!(row.false_claims, 0);
}

#[test]
fn one_time_prekeys_keep_sessions_closed_to_a_later_identity_theft() {
    let run = builtin("signal-prekeys");
    let read = read_texts(&run);
    let t = &run.output.truth;
    let by_app = |app: &str| {
        t.messages
            .iter()
            .filter(|m| *m.app == *app && read.contains(&*m.text))
            .count()
    };
    assert_eq!(by_app("signal-opk"), 0);
    assert!(by_app("signal-no-opk") > 0);
    let row = &run.report.key_theft[0];
    let s = row.signal.as_ref().expect("signal details");
    assert!(s.initial_opened > 0, "{s:?}");
    assert!(s
        .initial_refused
        .keys()
        .any(|r| r.contains("one-time prekey")));
}

#[test]
fn quantum_opens_x3dh_but_not_pqxdh() {
    let run = builtin("signal-quantum");
    let read = read_texts(&run);
    let t = &run.output.truth;
    let (mut classic, mut pq) = ((0, 0), (0, 0));
    for m in &t.messages {
        let r = usize::from(read.contains(&*m.text));
        match m.protocol.label().as_str() {
            "signal" => classic = (classic.0 + 1, classic.1 + r),
            "signal+pq" => pq = (pq.0 + 1, pq.1 + r),
            _ => {}
        }
    }
    assert!(classic.0 > 20 && pq.0 > 20, "{classic:?} {pq:?}");
    assert_eq!(classic.1, classic.0, "every X3DH message opens");
    assert_eq!(pq.1, 0, "no PQXDH message opens");
}

#[test]
fn sealed_sender_hides_the_sender_from_the_carrier() {
    let text = scenario::builtin("signal-state-theft").expect("shipped");
    let plain = run_with_capabilities(parse(text), 5);
    let sealed_text = text.replace("receipts = true", "receipts = true\nsealed_sender = true");
    let sealed = run_with_capabilities(parse(&sealed_text), 5);
    assert!(!plain.findings.contact_pairs.is_empty());
    assert!(
        sealed.findings.contact_pairs.is_empty(),
        "{:?}",
        sealed.findings.contact_pairs
    );
    assert!(sealed
        .findings
        .unreadable
        .iter()
        .any(|u| u.reason.contains("sealed sender")));
    // The thief opens envelopes addressed to a victim (its identity key opens the seal), not
    // those a victim sealed to a peer whose identity key it lacks.
    let victims: BTreeSet<String> = sealed
        .output
        .capabilities
        .stolen
        .iter()
        .filter_map(|s| match &s.owner {
            capture::Owner::Subscriber(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let t = &sealed.output.truth;
    for r in &sealed.findings.recovered {
        let m = t.message_by_text(&r.text).expect("true");
        assert!(victims.contains(&t.subscribers[m.to].msisdn), "{m:?}");
    }
    for m in &t.messages {
        assert!(m.delivered_at.is_some());
    }
}

#[test]
fn signal_runs_are_deterministic() {
    let a = builtin("signal-state-theft");
    let b = builtin("signal-state-theft");
    let ja = serde_json::to_string(&a.report).expect("json");
    let jb = serde_json::to_string(&b.report).expect("json");
    assert_eq!(ja, jb);
    assert_eq!(
        format!("{:?}", a.findings.key_theft),
        format!("{:?}", b.findings.key_theft)
    );
}

#[test]
fn stolen_skipped_keys_expose_messages_still_in_flight() {
    // The server mixes (envelopes overtake each other), so the stolen states hold skipped
    // message keys of envelopes sent before the theft and not yet received.
    let run = builtin("signal-skipped-keys");
    let t = &run.output.truth;
    assert!(
        t.messages.iter().all(|m| m.delivered_at.is_some()),
        "out-of-order delivery loses nothing"
    );
    assert_eq!(t.integrity_errors, 0);
    let row = run
        .report
        .key_theft
        .iter()
        .find(|k| k.kind == "device-state")
        .expect("a device-state theft row");
    let s = row.signal.as_ref().expect("signal figures");
    assert!(
        s.skipped_keys_used > 0,
        "no message opened with a stolen skipped key: {s:?}"
    );
    // A skipped key exists at the theft only for an envelope already sent and not yet received.
    assert!(
        s.skipped_keys_used <= row.sent_before_theft,
        "{s:?} vs {}",
        row.sent_before_theft
    );
    assert_eq!(row.false_claims, 0);
    assert_eq!(
        s.healed, s.sessions_followed,
        "every followed session still heals"
    );
}

/// A shipped scenario at another seed than its own.
fn builtin_at(name: &str, seed: u64) -> Run {
    run_with_capabilities(parse(scenario::builtin(name).expect("shipped")), seed)
}

#[test]
fn skipped_keys_used_counts_messages_not_receipts() {
    // At seed 1 the stolen states hold skipped keys of receipts as well as of messages: only
    // messages count. Bound from ground truth: a message opened with a stolen skipped key was
    // sent on a ratchet key of the stolen skipped keys, before the theft, and read.
    let run = builtin_at("signal-skipped-keys", 1);
    let t = &run.output.truth;
    let read = read_texts(&run);
    let mut skipped_chains: BTreeSet<Key> = BTreeSet::new();
    let mut at = simcore::Timestamp::ZERO;
    for s in &run.output.capabilities.stolen {
        if let Secret::SignalState(st) = &s.secret {
            at = s.at;
            for sess in &st.sessions {
                skipped_chains.extend(sess.skipped.iter().map(|(k, _, _)| *k));
            }
        }
    }
    let bound = t
        .messages
        .iter()
        .filter(|m| m.sent_at < at && read.contains(&*m.text))
        .filter(|m| {
            t.signal_ratchet_keys
                .get(&m.id)
                .is_some_and(|k| skipped_chains.contains(k))
        })
        .count();
    let row = run
        .report
        .key_theft
        .iter()
        .find(|k| k.kind == "device-state")
        .expect("a device-state theft row");
    let s = row.signal.as_ref().expect("signal figures");
    assert!(s.skipped_keys_used > 0, "{s:?}");
    assert!(
        s.skipped_keys_used <= bound && s.skipped_keys_used <= row.sent_before_theft,
        "{} counted with stolen skipped keys; at most {bound} messages could be ({} sent before the theft)",
        s.skipped_keys_used,
        row.sent_before_theft
    );
}

#[test]
fn each_signal_app_has_its_own_row() {
    // signal-prekeys: two X3DH apps, with and without one-time prekeys.
    let run = builtin("signal-prekeys");
    let t = &run.output.truth;
    let read = read_texts(&run);
    for app in ["signal-opk", "signal-no-opk"] {
        let row = run
            .report
            .protocols
            .iter()
            .find(|p| p.app.as_deref() == Some(app))
            .unwrap_or_else(|| panic!("no row for {app}"));
        assert_eq!(row.row, format!("signal:{app}"));
        assert_eq!(row.protocol, "signal");
        let of_app: Vec<_> = t.messages.iter().filter(|m| *m.app == *app).collect();
        assert_eq!(row.messages, of_app.len(), "{app}");
        let read_of_app = of_app.iter().filter(|m| read.contains(&*m.text)).count();
        assert_eq!(row.messages_read_by_adversary, read_of_app, "{app}");
        let unread: usize = row.why_unreadable.iter().map(|w| w.messages).sum();
        assert_eq!(unread, of_app.len() - read_of_app, "{app}");
    }
    // Rows are unique, and the key-theft figures use the same rows.
    let rows: BTreeSet<&str> = run
        .report
        .protocols
        .iter()
        .map(|p| p.row.as_str())
        .collect();
    assert_eq!(rows.len(), run.report.protocols.len());
    for k in &run.report.key_theft {
        for r in k.readable_after.keys() {
            assert!(rows.contains(r.as_str()), "{r}");
        }
    }
    let opk_read = run.report.key_theft[0]
        .readable_after
        .get("signal:signal-opk")
        .copied()
        .unwrap_or(0);
    assert_eq!(opk_read, 0, "one-time prekeys keep the opk app closed");
    let text = report::render_terminal(&run.report);
    assert!(text.contains("signal:signal-no-opk"), "{text}");
}

#[test]
fn sealed_signal_messages_are_never_called_unparsed() {
    // X3DH and PQXDH apps, opened or not: a Signal message that stays sealed was parsed.
    for name in ["signal-quantum", "signal-prekeys", "signal-quantum-theft"] {
        let run = builtin(name);
        for p in &run.report.protocols {
            if !p.protocol.starts_with("signal") {
                continue;
            }
            for w in &p.why_unreadable {
                assert!(
                    !w.reason.contains("did not parse"),
                    "{name} {}: {}",
                    p.row,
                    w.reason
                );
            }
        }
        assert!(run
            .report
            .protocols
            .iter()
            .any(|p| p.protocol == "signal+pq" || name == "signal-prekeys"));
    }
    // With a quantum computer, the PQXDH envelopes left sealed say why: the ML-KEM secret.
    let run = builtin("signal-quantum");
    let pq: Vec<_> = run
        .findings
        .unreadable
        .iter()
        .filter(|u| u.channel.to_string() == "ott:signal+pq")
        .collect();
    assert!(!pq.is_empty());
    for u in pq {
        assert!(u.reason.contains("PQXDH"), "{u:?}");
    }
}

/// Texts of messages sent at or after `at`, read by the adversary.
fn read_after(run: &Run, at: simcore::Timestamp) -> BTreeSet<String> {
    let read = read_texts(run);
    run.output
        .truth
        .messages
        .iter()
        .filter(|m| m.sent_at >= at && read.contains(&*m.text))
        .map(|m| m.text.to_string())
        .collect()
}

#[test]
fn device_state_theft_reads_through_header_encryption() {
    // A thief of the device state holds the header keys too: with header encryption on it
    // reads, after the theft, the messages the same theft reads without it.
    let text = scenario::builtin("signal-state-theft").expect("shipped");
    let he_text = text.replace(
        "receipts = true",
        "receipts = true\nheader_encryption = true",
    );
    assert_ne!(text, he_text);
    let clear = run_with_capabilities(parse(text), 5);
    let he = run_with_capabilities(parse(&he_text), 5);
    let at = simcore::Timestamp::from_secs(30 * 60);
    let (a, b) = (read_after(&clear, at), read_after(&he, at));
    assert!(!a.is_empty());
    // The traffic is the same text for text (header encryption changes no message).
    let texts = |r: &Run| -> BTreeSet<String> {
        r.output
            .truth
            .messages
            .iter()
            .map(|m| m.text.to_string())
            .collect()
    };
    assert_eq!(texts(&clear), texts(&he));
    assert_eq!(
        a, b,
        "read after the theft, clear headers vs encrypted headers"
    );
    // What it could not read is explained by what it lacks, not "no device state held" for a
    // victim's session, nor a reader that ignores header keys.
    let victims: BTreeSet<u64> = he
        .output
        .capabilities
        .stolen
        .iter()
        .filter_map(|s| match &s.secret {
            Secret::SignalState(st) => Some(st.address),
            _ => None,
        })
        .collect();
    assert!(!victims.is_empty());
    for u in &he.findings.unreadable {
        assert!(!u.reason.contains("header keys"), "{u:?}");
    }
    assert!(
        he.findings
            .unreadable
            .iter()
            .any(|u| u.reason.contains("healed")),
        "{:?}",
        he.findings.unreadable
    );
    let row = he
        .report
        .key_theft
        .iter()
        .find(|k| k.kind == "device-state")
        .expect("device-state row");
    let s = row.signal.as_ref().expect("signal");
    assert!(s.sessions_followed > 0 && s.healed > 0, "{s:?}");
}

#[test]
fn quantum_and_device_state_together_read_strictly_more_than_either() {
    let text = scenario::builtin("signal-quantum-theft").expect("shipped");
    let theft_start = text.find("[[adversary.theft]]").expect("a theft");
    let quantum_only = &text[..theft_start];
    let theft_only = text.replace("\nquantum = true\n", "\n");
    assert_ne!(theft_only, text);
    let seed = parse(text).seed;
    let both = run_with_capabilities(parse(text), seed);
    let q = run_with_capabilities(parse(quantum_only), seed);
    let d = run_with_capabilities(parse(&theft_only), seed);
    let (rb, rq, rd) = (read_texts(&both), read_texts(&q), read_texts(&d));
    // Same traffic in the three runs.
    assert_eq!(
        both.output.truth.messages.len(),
        q.output.truth.messages.len()
    );
    assert_eq!(
        both.output.truth.messages.len(),
        d.output.truth.messages.len()
    );
    assert!(
        rq.is_subset(&rb) && rd.is_subset(&rb),
        "the combination loses nothing"
    );
    let union: BTreeSet<&str> = rq.union(&rd).copied().collect();
    assert!(
        rb.len() > union.len(),
        "together {} > quantum {} + theft {} (union {})",
        rb.len(),
        rq.len(),
        rd.len(),
        union.len()
    );
    // The stolen sessions do not heal with the oracle; alone they do.
    let signal = |r: &Run| {
        r.report
            .key_theft
            .iter()
            .find(|k| k.kind == "device-state")
            .and_then(|k| k.signal.clone())
            .expect("device-state row")
    };
    assert!(signal(&d).healed > 0);
    assert_eq!(signal(&both).healed, 0, "{:?}", signal(&both));
    assert_eq!(
        both.report
            .key_theft
            .iter()
            .map(|k| k.false_claims)
            .sum::<usize>(),
        0
    );
}

/// The reasons of a protocol row.
fn reasons<'r>(run: &'r Run, row_prefix: &str) -> Vec<(&'r str, usize)> {
    run.report
        .protocols
        .iter()
        .filter(|p| p.row.starts_with(row_prefix))
        .flat_map(|p| &p.why_unreadable)
        .map(|w| (w.reason.as_str(), w.messages))
        .collect()
}

#[test]
fn signal_rows_say_what_the_adversary_lacks_per_message() {
    // Device state stolen: the messages after healing are unread for want of the new ratchet
    // keys, not for want of "a key".
    let run = builtin("signal-state-theft");
    let r = reasons(&run, "signal:");
    let healed = r
        .iter()
        .find(|(why, _)| {
            why.contains("the ratchet healed: the new DH ratchet keys of a later step are not held")
        })
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert!(healed.1 > 10, "{r:#?}");
    assert!(
        r.iter()
            .all(|(why, _)| !why.contains("no key the adversary holds opens it")),
        "{r:#?}"
    );

    // Identity and signed prekey stolen later: sessions with a one-time prekey stay closed.
    let run = builtin("signal-prekeys");
    let r = reasons(&run, "signal:");
    assert!(
        r.iter().any(|(why, n)| *n > 0
            && why.contains("X3DH: one-time prekey used and deleted before the theft")),
        "{r:#?}"
    );

    // A quantum computer against PQXDH: the ML-KEM secret is missing.
    let run = builtin("signal-quantum");
    let r = reasons(&run, "signal+pq:");
    assert!(
        r.iter()
            .any(|(why, n)| *n > 0 && why.contains("PQXDH: the ML-KEM prekey secret is not held")),
        "{r:#?}"
    );
}
