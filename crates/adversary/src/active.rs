//! What the adversary's own on-path components read: [`capture::ActiveRecord`] plaintexts
//! (decrypted by a man in the middle that completed both handshakes) become [`Recovered`]
//! messages with the method `"mitm at <node>"`.
//!
//! A record carries the session id; the captures say which accounts and which Noise protocol
//! that session belongs to (its handshake envelopes cross the same core in the clear), so the
//! recovered message is labelled with them when a packet vantage saw the handshake (read from
//! the observation table, [`crate::observe`]). Nothing here reads ground truth: the plaintexts
//! are what the component itself decrypted.

use std::collections::BTreeMap;
use std::sync::Arc;

use capture::ActiveRecord;
use proto::wire::{AppPduRef, NoiseKind, FRAME_PORT};
use simcore::FixedMap;

use crate::findings::{Channel, Findings, Recovered};
use crate::observe::{Observations, PduKind};

/// Accounts and protocol of one end-to-end session, from its first handshake message.
struct SessionInfo<'t> {
    initiator: &'t str,
    responder: &'t str,
    protocol: &'t str,
}

/// Session id → who started it with whom, over which protocol: the first clear handshake
/// message 1 of each session id in the table, among captured packets sent to `FRAME_PORT`
/// (packets inside CC records are not consulted).
fn sessions<'t>(obs: &'t Observations<'_>) -> BTreeMap<u64, SessionInfo<'t>> {
    let mut out = BTreeMap::new();
    for f in obs.data_frames_of(|k| k == PduKind::Ott) {
        if f.obs.depth() != 0 || f.dst.port() != FRAME_PORT {
            continue;
        }
        if let AppPduRef::Ott(env) = f.pdu {
            if env.kind == NoiseKind::Handshake && env.index == 1 {
                out.entry(env.session).or_insert(SessionInfo {
                    initiator: env.from,
                    responder: env.to,
                    protocol: env.protocol,
                });
            }
        }
    }
    out
}

/// Adds every plaintext the on-path components read to `findings.recovered` (unique by text,
/// the earliest sighting kept, sorted by first sighting then text, like the passive analysis).
/// Plaintexts that are not UTF-8 are not messages of this simulation and are skipped.
///
/// Of equal texts already in `findings.recovered` the last is kept, and a plaintext whose text
/// is already there adds nothing (but its contact pair); the texts are looked up in place, not
/// copied into a map of their own.
pub(crate) fn merge(findings: &mut Findings, obs: &Observations<'_>, active: &[ActiveRecord]) {
    let info = sessions(obs);
    let mut v = core::mem::take(&mut findings.recovered);
    // By hash: both are read by lookup, and the texts (unique) are sorted at the end.
    let mut fresh: FixedMap<String, Recovered> = FixedMap::default();
    {
        // Where each text last occurs.
        let mut last: FixedMap<&str, usize> = FixedMap::default();
        for (i, r) in v.iter().enumerate() {
            last.insert(&r.text, i);
        }
        for rec in active {
            let s = rec.session.and_then(|id| info.get(&id));
            for p in &rec.plaintexts {
                let Ok(text) = String::from_utf8(p.clone()) else {
                    continue;
                };
                if let Some(s) = s {
                    // The direction of each plaintext is not recorded: name both accounts only
                    // through the pair, as a contact.
                    let pair = if s.initiator <= s.responder {
                        (s.initiator.to_owned(), s.responder.to_owned())
                    } else {
                        (s.responder.to_owned(), s.initiator.to_owned())
                    };
                    if let Err(i) = findings.contact_pairs.binary_search(&pair) {
                        findings.contact_pairs.insert(i, pair);
                    }
                }
                if last.contains_key(text.as_str()) || fresh.contains_key(&text) {
                    continue;
                }
                let r = Recovered {
                    text: text.clone(),
                    from: None,
                    to: None,
                    channel: Channel::Ott {
                        protocol: s.map_or("unknown", |s| s.protocol).to_owned(),
                    },
                    first_seen: rec.at,
                    seen_at: Arc::from([Arc::from(rec.node.as_str())]),
                    method: Arc::from(format!("mitm at {}", rec.node)),
                };
                fresh.insert(text, r);
            }
        }
        if last.len() < v.len() {
            let keep: Vec<bool> = v
                .iter()
                .enumerate()
                .map(|(i, r)| last.get(r.text.as_str()) == Some(&i))
                .collect();
            drop(last);
            let mut keep = keep.into_iter();
            v.retain(|_| keep.next().unwrap_or(false));
        }
    }
    v.extend(fresh.into_values());
    v.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.text.cmp(&b.text)));
    findings.recovered = v;
}

#[cfg(test)]
mod tests {
    use super::*;
    use simcore::Timestamp;

    fn rec(text: &str, at: u64, method: &str) -> Recovered {
        Recovered {
            text: text.into(),
            from: None,
            to: None,
            channel: Channel::Sms,
            first_seen: Timestamp::from_nanos(at),
            seen_at: Arc::from([Arc::from("east.core")]),
            method: Arc::from(method),
        }
    }

    #[test]
    fn merge_keeps_the_last_of_equal_texts_and_adds_only_new_plaintexts() {
        let captures = capture::Captures::default();
        let obs = Observations::decode(&captures);
        let (mut findings, _) = crate::passive::analyze("a", &obs);
        findings.recovered = vec![rec("a", 5, "first"), rec("b", 1, "b"), rec("a", 9, "last")];
        let active = [ActiveRecord {
            at: Timestamp::from_nanos(3),
            mode: "mitm".into(),
            node: "west.core".into(),
            session: None,
            plaintexts: vec![b"a".to_vec(), b"c".to_vec(), b"c".to_vec(), vec![0xff]],
            outcome: "completed both handshakes".into(),
        }];
        merge(&mut findings, &obs, &active);
        let got: Vec<(&str, u64, &str)> = findings
            .recovered
            .iter()
            .map(|r| (r.text.as_str(), r.first_seen.as_nanos(), &*r.method))
            .collect();
        assert_eq!(
            got,
            [
                ("b", 1, "b"),
                ("c", 3, "mitm at west.core"),
                ("a", 9, "last")
            ]
        );
    }
}
