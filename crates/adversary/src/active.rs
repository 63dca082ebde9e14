//! What the adversary's own on-path components read: [`capture::ActiveRecord`] plaintexts
//! (decrypted by a man in the middle that completed both handshakes) become [`Recovered`]
//! messages with the method `"mitm at <node>"`.
//!
//! A record carries the session id; the captures say which accounts and which Noise protocol
//! that session belongs to (its handshake envelopes cross the same core in the clear), so the
//! recovered message is labelled with them when a packet vantage saw the handshake. Nothing
//! here reads ground truth: the plaintexts are what the component itself decrypted.

use std::collections::BTreeMap;

use capture::{ActiveRecord, Captures};
use proto::wire::{AppPdu, Frame, NoiseKind, FRAME_PORT};

use crate::findings::{Channel, Findings, Recovered};

/// Accounts and protocol of one end-to-end session, from its first handshake message.
struct SessionInfo {
    initiator: String,
    responder: String,
    protocol: String,
}

/// Session id → who started it with whom, over which protocol, from clear handshake envelopes.
fn sessions(captures: &Captures) -> BTreeMap<u64, SessionInfo> {
    let mut out = BTreeMap::new();
    for v in &captures.vantages {
        let Some(pc) = &v.packets else { continue };
        for p in &pc.packets {
            let Ok(udp) = capture::ip::parse_udp(&p.bytes) else {
                continue;
            };
            if udp.dst.port() != FRAME_PORT {
                continue;
            }
            let Ok(Frame::Data { payload, .. }) = Frame::decode(udp.payload) else {
                continue;
            };
            if let Ok(AppPdu::Ott(env)) = AppPdu::decode(&payload) {
                if env.kind == NoiseKind::Handshake && env.index == 1 {
                    out.entry(env.session).or_insert(SessionInfo {
                        initiator: env.from,
                        responder: env.to,
                        protocol: env.protocol,
                    });
                }
            }
        }
    }
    out
}

/// Adds every plaintext the on-path components read to `findings.recovered` (unique by text,
/// the earliest sighting kept, sorted by first sighting then text, like the passive analysis).
/// Plaintexts that are not UTF-8 are not messages of this simulation and are skipped.
pub(crate) fn merge(findings: &mut Findings, captures: &Captures, active: &[ActiveRecord]) {
    let info = sessions(captures);
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
                    protocol: s.map_or_else(|| "unknown".to_string(), |s| s.protocol.clone()),
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
                        (s.initiator.clone(), s.responder.clone())
                    } else {
                        (s.responder.clone(), s.initiator.clone())
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
