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

use capture::ActiveRecord;
use proto::wire::{AppPdu, NoiseKind, FRAME_PORT};

use crate::findings::{Channel, Findings, Recovered};
use crate::observe::Observations;

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
    for f in obs.data_frames() {
        if f.obs.depth != 0 || f.dst.port() != FRAME_PORT {
            continue;
        }
        if let AppPdu::Ott(env) = f.pdu {
            if env.kind == NoiseKind::Handshake && env.index == 1 {
                out.entry(env.session).or_insert(SessionInfo {
                    initiator: &env.from,
                    responder: &env.to,
                    protocol: &env.protocol,
                });
            }
        }
    }
    out
}

/// Adds every plaintext the on-path components read to `findings.recovered` (unique by text,
/// the earliest sighting kept, sorted by first sighting then text, like the passive analysis).
/// Plaintexts that are not UTF-8 are not messages of this simulation and are skipped.
pub(crate) fn merge(findings: &mut Findings, obs: &Observations<'_>, active: &[ActiveRecord]) {
    let info = sessions(obs);
    let mut by_text: BTreeMap<String, Recovered> = findings
        .recovered
        .drain(..)
        .map(|r| (r.text.clone(), r))
        .collect();
    for rec in active {
        let s = rec.session.and_then(|id| info.get(&id));
        for p in &rec.plaintexts {
            let Ok(text) = String::from_utf8(p.clone()) else {
                continue;
            };
            let r = Recovered {
                text: text.clone(),
                from: None,
                to: None,
                channel: Channel::Ott {
                    protocol: s.map_or("unknown", |s| s.protocol).to_owned(),
                },
                first_seen: rec.at,
                seen_at: vec![rec.node.clone()],
                method: format!("mitm at {}", rec.node),
            };
            let r = match s {
                // The direction of each plaintext is not recorded: name both accounts only
                // through the pair, as a contact.
                Some(s) => {
                    let pair = if s.initiator <= s.responder {
                        (s.initiator.to_owned(), s.responder.to_owned())
                    } else {
                        (s.responder.to_owned(), s.initiator.to_owned())
                    };
                    if let Err(i) = findings.contact_pairs.binary_search(&pair) {
                        findings.contact_pairs.insert(i, pair);
                    }
                    r
                }
                None => r,
            };
            by_text.entry(text).or_insert(r);
        }
    }
    let mut v: Vec<Recovered> = by_text.into_values().collect();
    v.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.text.cmp(&b.text)));
    findings.recovered = v;
}
