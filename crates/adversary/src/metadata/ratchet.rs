//! What clear Double Ratchet headers reveal: turn-taking, messages per turn, messages the
//! captures missed, and which envelopes belong to one conversation.
//!
//! A Signal-style ratchet message carries its header in the clear unless header encryption is on
//! (`docs/signal.md`): `dh`, the sender's current ratchet public key; `n`, the message's number
//! in the sender's current sending chain; `pn`, the length of the sender's previous sending
//! chain. The adversary reads them from the Signal envelopes of the observation table (clear OTT
//! envelopes whose protocol is a Signal app's label, first sighting of each body, in capture
//! time order), parsed with its own parser ([`crate::ratchet`]); nothing is decrypted:
//!
//! - **Chains.** Envelopes with the same `dh` (and the same clear sender and recipient) are one
//!   sending chain: they are linked to each other whatever address they were sent from.
//! - **Turns.** A sender starts a new chain (a new `dh`) only after it received a message on a
//!   new ratchet key of its peer: every chain is one turn of the conversation. Chains are put
//!   in order of their first sighting; a conversation (the unordered pair of accounts of clear
//!   envelopes) has as many turns as chains.
//! - **Messages per turn.** A chain carried at least `max n + 1` ratchet messages (data
//!   messages and delivery receipts alike: both are ratchet messages). The sender's next chain
//!   says exactly how many: its `pn`. When that `pn` is at least `max n + 1` and a chain of the
//!   peer was seen between the two (so they are consecutive chains of the sender), the chain's
//!   length is `pn`, *exact*; otherwise (no later chain of the sender seen, no peer chain
//!   between, or a `pn` smaller than what was seen: a chain was missed, or a new session
//!   started) it is `max n + 1`, a lower bound.
//! - **Messages inferred but not seen** per chain: its length minus the distinct `n` captured.
//!
//! What hides it: **header encryption** (content type 3: the header is encrypted under a header
//! key) and **sealed sender** (the whole ratchet message, header included, is inside the sealed
//! ciphertext). Such envelopes are counted, and when no header was clear the findings say why
//! ([`RatchetFindings::why_nothing`]).
//!
//! Accounts are named `+<address>` (Signal addresses are MSISDN digits, as in
//! [`crate::signal_read`]). Cost: O(e log e) for e Signal envelopes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use simcore::Timestamp;

use crate::observe::Observations;
use crate::ratchet::{parse_content, parse_envelope, CapturedContent};

/// One sending chain seen in clear ratchet headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatchetChain {
    /// The sender's ratchet public key of the chain, lowercase hex.
    pub key: String,
    /// Sender account (`+<address>`).
    pub from: String,
    /// Recipient account.
    pub to: String,
    /// First capture of an envelope of the chain.
    pub first_seen: Timestamp,
    /// Distinct messages of the chain captured (distinct `n`).
    pub seen: usize,
    /// Ratchet messages the chain carried: the `pn` of the sender's next chain when it is
    /// consistent (`exact`), else `max n + 1` (a lower bound).
    pub messages: u32,
    /// Whether `messages` is the sender's own count (`pn` of its next chain).
    pub exact: bool,
    /// The chain's `pn`: the length of the sender's previous chain.
    pub pn: u32,
}

impl RatchetChain {
    /// Messages of the chain inferred but not captured.
    pub fn unseen(&self) -> u32 {
        self.messages
            .saturating_sub(u32::try_from(self.seen).unwrap_or(u32::MAX))
    }
}

/// One conversation linked through clear ratchet headers: its chains in turn order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatchetConversation {
    /// The lower account of the pair.
    pub a: String,
    /// The higher account.
    pub b: String,
    /// Turns: one per chain.
    pub turns: usize,
    /// Ratchet messages over all chains (exact or lower bounds).
    pub messages: u32,
    /// Envelopes linked to the conversation (distinct messages captured).
    pub seen: usize,
    /// Messages inferred but not captured.
    pub unseen: u32,
    /// The chains, by first sighting.
    pub chains: Vec<RatchetChain>,
}

/// What the ratchet headers of the captured Signal envelopes revealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RatchetFindings {
    /// Distinct Signal envelopes captured.
    pub envelopes: usize,
    /// Of those, ratchet messages with a clear header.
    pub clear_headers: usize,
    /// With an encrypted header (header encryption).
    pub encrypted_headers: usize,
    /// Sealed sender: the header is inside the sealed ciphertext.
    pub sealed: usize,
    /// That did not parse.
    pub unparsed: usize,
    /// Conversations, sorted by `(a, b)`.
    pub conversations: Vec<RatchetConversation>,
    /// Why nothing was found, when Signal envelopes were captured but no header was clear.
    pub why_nothing: Option<String>,
}

/// Per (key, sender, recipient): first sighting, the `n` seen, the chain's `pn`.
#[derive(Default)]
struct Acc {
    first: Option<Timestamp>,
    ns: BTreeSet<u32>,
    pn: u32,
}

fn account(address: u64) -> String {
    format!("+{address}")
}

fn hex(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the clear ratchet headers of the Signal envelopes in `obs`.
pub fn analyze(obs: &Observations<'_>) -> RatchetFindings {
    let mut envs: Vec<(Timestamp, usize, &[u8])> = obs
        .ott_envelopes()
        .enumerate()
        .filter(|(_, (_, e))| e.is_signal())
        .map(|(i, (o, e))| (o.time, i, e.body))
        .collect();
    envs.sort_by_key(|(t, i, _)| (*t, *i));
    let mut seen_bodies: BTreeSet<&[u8]> = BTreeSet::new();
    let mut f = RatchetFindings::default();
    let mut chains: BTreeMap<([u8; 32], u64, u64), Acc> = BTreeMap::new();
    for (time, _, body) in envs {
        if !seen_bodies.insert(body) {
            continue;
        }
        f.envelopes += 1;
        let Some(env) = parse_envelope(body) else {
            f.unparsed += 1;
            continue;
        };
        let Some(sender) = env.sender else {
            f.sealed += 1;
            continue;
        };
        match parse_content(&env.body) {
            Some(CapturedContent::Clear(_, m)) => {
                f.clear_headers += 1;
                let a = chains.entry((m.dh, sender, env.recipient)).or_default();
                a.first = Some(a.first.map_or(time, |t| t.min(time)));
                a.ns.insert(m.n);
                a.pn = m.pn;
            }
            Some(CapturedContent::EncryptedHeader(..)) => f.encrypted_headers += 1,
            None => f.unparsed += 1,
        }
    }
    f.why_nothing = why_nothing(&f);

    // Chains per conversation, in order of first sighting.
    type Pair = (u64, u64);
    let mut convs: BTreeMap<Pair, Vec<RatchetChain>> = BTreeMap::new();
    let mut order: Vec<(Timestamp, [u8; 32], u64, u64, &Acc)> = chains
        .iter()
        .filter_map(|((k, s, r), a)| Some((a.first?, *k, *s, *r, a)))
        .collect();
    order.sort_by_key(|(t, k, s, r, _)| (*t, *s, *r, *k));
    for (first, key, s, r, a) in order {
        let max_n = a.ns.last().copied().unwrap_or(0);
        convs
            .entry((s.min(r), s.max(r)))
            .or_default()
            .push(RatchetChain {
                key: hex(&key),
                from: account(s),
                to: account(r),
                first_seen: first,
                seen: a.ns.len(),
                messages: max_n.saturating_add(1),
                exact: false,
                pn: a.pn,
            });
    }
    for ((a, b), mut chains) in convs {
        // A sender's next chain's pn is the length of its previous one, if the two are
        // consecutive chains of the sender: a chain of the peer was seen between them (the
        // sender ratchets only after hearing the peer's new key, which crossed the vantage
        // first). Walk back, keeping the pn of each sender's next chain and whether a peer's
        // chain came between.
        let mut next: BTreeMap<String, (u32, bool)> = BTreeMap::new();
        for c in chains.iter_mut().rev() {
            if let Some(&(pn, peer_between)) = next.get(&c.from) {
                if peer_between && pn >= c.messages {
                    c.messages = pn;
                    c.exact = true;
                }
            }
            for (sender, (_, between)) in next.iter_mut() {
                if *sender != c.from {
                    *between = true;
                }
            }
            next.insert(c.from.clone(), (c.pn, false));
        }
        f.conversations.push(RatchetConversation {
            a: account(a),
            b: account(b),
            turns: chains.len(),
            messages: chains.iter().map(|c| c.messages).sum(),
            seen: chains.iter().map(|c| c.seen).sum(),
            unseen: chains.iter().map(RatchetChain::unseen).sum(),
            chains,
        });
    }
    f.conversations
        .sort_by(|x, y| (&x.a, &x.b).cmp(&(&y.a, &y.b)));
    f
}

/// Why no header was read, when Signal envelopes were captured and none had a clear header.
fn why_nothing(f: &RatchetFindings) -> Option<String> {
    if f.envelopes == 0 || f.clear_headers > 0 {
        return None;
    }
    let mut parts = Vec::new();
    if f.encrypted_headers > 0 {
        parts.push(format!(
            "{} with an encrypted header (header encryption: dh, n and pn are encrypted under a \
             header key)",
            f.encrypted_headers
        ));
    }
    if f.sealed > 0 {
        parts.push(format!(
            "{} under sealed sender (the header is inside the sealed ciphertext)",
            f.sealed
        ));
    }
    if f.unparsed > 0 {
        parts.push(format!("{} that did not parse", f.unparsed));
    }
    Some(format!(
        "no clear ratchet header in {} Signal envelopes: {}",
        f.envelopes,
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    use capture::{ip, CapturedPacket, Captures, PacketCapture, VantageKind, VantagePoint};
    use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, FRAME_PORT};

    const A: u64 = 15_550_001;
    const B: u64 = 15_550_002;
    const PHONE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const OTT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

    /// A Signal envelope: plain (`sealed` false) with a clear (content type 2) or encrypted
    /// (type 3) header, or sealed (its body opaque).
    fn envelope(from: u64, to: u64, dh: u8, pn: u32, n: u32, he: bool, sealed: bool) -> Vec<u8> {
        let mut content = Vec::new();
        if he {
            content.push(3);
            content.extend([dh; crate::ratchet::ENC_HEADER_LEN]);
        } else {
            content.push(2);
            content.extend([dh; 32]);
            content.extend(pn.to_be_bytes());
            content.extend(n.to_be_bytes());
        }
        // A ciphertext of its own per message (copies of one body are one envelope).
        content.extend([0xcc; 22]);
        content.extend(n.to_be_bytes());
        content.extend(dh.to_be_bytes());
        let mut e = vec![0x31, if sealed { 2 } else { 1 }];
        e.extend(to.to_be_bytes());
        if sealed {
            content = [[0x5a; 80].as_slice(), &content].concat();
        } else {
            e.extend(from.to_be_bytes());
        }
        e.extend(u32::try_from(content.len()).unwrap().to_be_bytes());
        e.extend(content);
        e
    }

    fn packet(from: u64, to: u64, body: Vec<u8>, sealed: bool) -> Vec<u8> {
        let pdu = AppPdu::Ott(OttEnvelope {
            from: if sealed {
                String::new()
            } else {
                format!("+{from}")
            },
            to: format!("+{to}"),
            session: 0,
            kind: NoiseKind::Transport,
            index: 0,
            protocol: "signal".into(),
            body,
        });
        let frame = Frame::Data {
            seq: 0,
            payload: pdu.to_bytes().unwrap(),
        };
        ip::build_udp(
            SocketAddrV4::new(PHONE, FRAME_PORT),
            SocketAddrV4::new(OTT, FRAME_PORT),
            &frame.to_bytes().unwrap(),
        )
        .unwrap()
    }

    /// (from, to, dh, pn, n) in capture order, one second apart.
    fn captures(msgs: &[(u64, u64, u8, u32, u32)], he: bool, sealed: bool) -> Captures {
        let packets = msgs
            .iter()
            .enumerate()
            .map(|(i, &(f, t, dh, pn, n))| CapturedPacket {
                time: Timestamp::from_secs(i as u64 + 1),
                bytes: packet(f, t, envelope(f, t, dh, pn, n, he, sealed), sealed),
            })
            .collect();
        Captures {
            vantages: vec![VantagePoint {
                name: "core".into(),
                carrier: "atlantic".into(),
                kind: VantageKind::CoreTap,
                packets: Some(PacketCapture {
                    name: "core".into(),
                    packets,
                }),
                warrants: vec![],
                call_records: Default::default(),
            }],
        }
    }

    /// Five turns: A sends 3, B 2, A 4 (the second missing from the captures, the fourth not
    /// captured at all), B 1, A 1.
    const TALK: &[(u64, u64, u8, u32, u32)] = &[
        (A, B, 1, 0, 0),
        (A, B, 1, 0, 1),
        (A, B, 1, 0, 2),
        (B, A, 2, 0, 0),
        (B, A, 2, 0, 1),
        (A, B, 3, 3, 0),
        (A, B, 3, 3, 2),
        (B, A, 4, 2, 0),
        (A, B, 5, 4, 0),
    ];

    #[test]
    fn clear_headers_give_turns_chain_lengths_and_unseen_messages() {
        let caps = captures(TALK, false, false);
        let f = analyze(&Observations::decode(&caps));
        assert_eq!((f.envelopes, f.clear_headers), (9, 9));
        assert_eq!(f.why_nothing, None);
        let [c] = f.conversations.as_slice() else {
            panic!("one conversation: {f:?}")
        };
        assert_eq!((c.a.as_str(), c.b.as_str()), ("+15550001", "+15550002"));
        assert_eq!(c.turns, 5);
        let lens: Vec<(u32, bool, usize)> = c
            .chains
            .iter()
            .map(|x| (x.messages, x.exact, x.seen))
            .collect();
        assert_eq!(
            lens,
            [
                (3, true, 3),
                (2, true, 2),
                (4, true, 2),
                (1, false, 1),
                (1, false, 1)
            ],
            "a chain's length is the pn of its sender's next chain; the last ones are bounds"
        );
        assert_eq!(
            c.chains[2].unseen(),
            2,
            "n = 1 missed, n = 3 told by the next pn"
        );
        assert_eq!((c.messages, c.seen, c.unseen), (11, 9, 2));
        assert_eq!(c.chains[0].key, "01".repeat(32));
        assert_eq!(c.chains[1].from, "+15550002");
    }

    #[test]
    fn header_encryption_and_sealed_sender_leave_nothing_and_say_why() {
        let caps = captures(TALK, true, false);
        let f = analyze(&Observations::decode(&caps));
        assert_eq!(
            (f.envelopes, f.encrypted_headers, f.clear_headers),
            (9, 9, 0)
        );
        assert!(f.conversations.is_empty());
        let why = f.why_nothing.expect("a reason");
        assert!(
            why.contains("9 with an encrypted header (header encryption"),
            "{why}"
        );

        let caps = captures(TALK, false, true);
        let f = analyze(&Observations::decode(&caps));
        assert_eq!((f.envelopes, f.sealed, f.clear_headers), (9, 9, 0));
        assert!(f.conversations.is_empty());
        let why = f.why_nothing.expect("a reason");
        assert!(why.contains("sealed sender"), "{why}");
    }
}
