//! The messaging provider's own server as a vantage point (`ott-server`): what it sees of every
//! envelope, and the statistical disclosure of sealed senders run where the sealed-sender
//! literature runs it (Martiny et al., NDSS 2021, "Improving Signal's Sealed Sender").
//!
//! The input is the server's log ([`capture::VantageKind::OttServer`]): every application PDU
//! it accepted from or delivered to a client, its own end of the server tunnel removed, as a
//! datagram between the client's address and the server's. The end-to-end layer inside each
//! envelope stays sealed: this module reads only the clear header fields (sender account, which
//! sealed sender leaves empty, recipient account) and when and from which address each arrived.
//!
//! - **Envelopes**: accepted (from clients) and delivered (to clients), how many were sealed;
//!   the client addresses, and which of them the server ties to exactly one account (the
//!   recipient of every envelope delivered to that address, the sender of every unsealed one
//!   accepted from it).
//! - **Direct contacts**: (sender, recipient) of every accepted envelope that names its sender
//!   (Noise envelopes, Signal-style envelopes without sealed sender).
//! - **Linked by address**: (the account of the connection's address, recipient) of every
//!   sealed envelope that arrived from an address the server ties to one account. Sealed
//!   sender hides the sender inside the envelope, not the connection it came on.
//! - **Calls**: (caller, callee) of the call signalling it relayed.
//! - **Sealed-sender disclosure**, which uses neither sender fields nor addresses (it works as
//!   well when clients hide their address): a client that receives a sealed message answers
//!   with a delivery receipt (or a reply) shortly after, addressed to the hidden sender. For a
//!   target T, each delivery of a sealed envelope to T opens an epoch: the recipients of sealed
//!   envelopes accepted in the window after it (one of them is T's receipt to its contact); and
//!   each sealed envelope addressed to T gives an epoch of the accounts that had a sealed
//!   envelope delivered in the window before it (T's contact answering T's message). This is
//!   [`super::disclosure`]'s machinery on a trace where a party's "uplinks" are the sealed
//!   envelopes delivered to it (the events its receipts follow) and its "downlinks" the sealed
//!   envelopes addressed to it, so a [`DisclosureTarget`]'s `messages` counts sealed envelopes
//!   delivered to the target and `received` sealed envelopes addressed to it. Targets: the
//!   accounts with the most sealed envelopes delivered.
//!
//! Cost: O(p log p) for p logged PDUs (ordered maps), plus disclosure's O(n log n).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use capture::VantageKind;
use proto::wire::{AppPduRef, CallKind};
use serde::Serialize;

use super::disclosure::{self, DisclosureTarget};
use super::packets::{Sighting, Traffic};
use super::MetadataConfig;
use crate::observe::Observations;

/// What the compromised messaging server saw and concluded.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerFindings {
    /// The `ott-server` vantages read (empty: the adversary does not hold the server).
    pub vantages: Vec<String>,
    /// Envelopes the server accepted from clients.
    pub envelopes_in: u64,
    /// Of those, sealed sender (no sender account in the envelope).
    pub sealed_in: u64,
    /// Envelopes the server delivered to clients.
    pub envelopes_out: u64,
    /// Call-signalling PDUs it handled (both directions).
    pub call_pdus: u64,
    /// Media packets it relayed (both legs).
    pub media_packets: u64,
    /// Distinct client addresses it exchanged PDUs with.
    pub clients: usize,
    /// Of those, the addresses it ties to exactly one account.
    pub clients_named: usize,
    /// (sender, recipient) of accepted envelopes that name their sender, sorted, distinct.
    pub direct: Vec<(String, String)>,
    /// (account of the connection's address, recipient) of sealed envelopes, sorted, distinct.
    pub linked: Vec<(String, String)>,
    /// (caller, callee) of relayed call signalling, sorted, distinct.
    pub calls: Vec<(String, String)>,
    /// Sealed-sender statistical disclosure per target (see the module docs for what
    /// `messages` and `received` count here).
    pub disclosure: Vec<DisclosureTarget>,
}

/// Reads the `ott-server` vantages of the observation table.
pub fn analyze(obs: &Observations<'_>, config: &MetadataConfig) -> ServerFindings {
    let captures = obs.captures();
    let server_vantages: BTreeSet<usize> = captures
        .vantages
        .iter()
        .enumerate()
        .filter(|(_, v)| v.kind == VantageKind::OttServer)
        .map(|(i, _)| i)
        .collect();
    let mut out = ServerFindings {
        vantages: server_vantages
            .iter()
            .map(|&i| captures.vantages[i].name.clone())
            .collect(),
        ..ServerFindings::default()
    };
    if server_vantages.is_empty() {
        return out;
    }
    // The server's own address: it is an end of every datagram it logged.
    let mut seen: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
    for o in obs.packets() {
        if let (true, Some((s, d))) = (server_vantages.contains(&o.vantage()), o.addrs()) {
            *seen.entry(s).or_default() += 1;
            *seen.entry(d).or_default() += 1;
        }
    }
    let Some(server) = seen
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(a, _)| *a)
    else {
        return out;
    };
    for o in obs.packets() {
        if server_vantages.contains(&o.vantage()) && o.media().is_some() {
            out.media_packets += 1;
        }
    }

    // (time, client address, inbound, recipient, sender) per envelope; calls.
    let mut envelopes: Vec<(u64, Ipv4Addr, bool, &str, &str)> = Vec::new();
    let mut calls: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut clients: BTreeSet<Ipv4Addr> = BTreeSet::new();
    for f in obs.data_frames() {
        if !server_vantages.contains(&f.obs.vantage()) {
            continue;
        }
        let inbound = *f.dst.ip() == server;
        let client = if inbound { *f.src.ip() } else { *f.dst.ip() };
        clients.insert(client);
        match f.pdu {
            AppPduRef::Ott(env) => {
                envelopes.push((f.obs.time.as_nanos(), client, inbound, env.to, env.from));
            }
            AppPduRef::Call(c) => {
                out.call_pdus += 1;
                if c.kind == CallKind::Invite {
                    calls.insert((c.from, c.to));
                }
            }
            _ => {}
        }
    }
    out.clients = clients.len();

    // Which account each address is: recipients delivered to it, unsealed senders from it.
    let mut names: BTreeMap<Ipv4Addr, BTreeSet<&str>> = BTreeMap::new();
    for &(_, client, inbound, to, from) in &envelopes {
        let name = if inbound { from } else { to };
        if !name.is_empty() {
            names.entry(client).or_default().insert(name);
        }
    }
    let named: BTreeMap<Ipv4Addr, &str> = names
        .iter()
        .filter(|(_, n)| n.len() == 1)
        .filter_map(|(a, n)| Some((*a, *n.iter().next()?)))
        .collect();
    out.clients_named = named.len();

    let mut direct: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut linked: BTreeSet<(&str, &str)> = BTreeSet::new();
    for &(_, client, inbound, to, from) in &envelopes {
        if !inbound {
            out.envelopes_out += 1;
            continue;
        }
        out.envelopes_in += 1;
        if from.is_empty() {
            out.sealed_in += 1;
            if let Some(&me) = named.get(&client) {
                if me != to {
                    linked.insert((me, to));
                }
            }
        } else if from != to {
            direct.insert((from, to));
        }
    }
    let own = |s: BTreeSet<(&str, &str)>| -> Vec<(String, String)> {
        s.into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    };
    out.direct = own(direct);
    out.linked = own(linked);
    out.calls = own(calls);
    out.disclosure = sealed_disclosure(&envelopes, config);
    out
}

/// Statistical disclosure over the sealed envelopes only, by recipient and time.
fn sealed_disclosure(
    envelopes: &[(u64, Ipv4Addr, bool, &str, &str)],
    config: &MetadataConfig,
) -> Vec<DisclosureTarget> {
    let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
    let mut parties: Vec<String> = Vec::new();
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    for &(time, _, inbound, to, from) in envelopes {
        if !from.is_empty() || to.is_empty() {
            continue;
        }
        let next = parties.len() as u32;
        let party = *ids.entry(to).or_insert_with(|| {
            parties.push(to.to_owned());
            next
        });
        let s = Sighting {
            time,
            party,
            size: 0,
        };
        // Delivered to `to`: its receipt follows ("uplink" epoch); accepted for `to`: someone
        // who just got a delivery may be answering it ("downlink" epoch).
        if inbound {
            downs.push(s);
        } else {
            ups.push(s);
        }
    }
    if ups.is_empty() {
        return Vec::new();
    }
    let mut traffic = Traffic::synthetic(0, ups, downs);
    traffic.parties = parties;
    disclosure::analyze(
        &traffic,
        &config.correlation,
        &[],
        config.disclosure_targets,
        config.disclosure_top,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture::{CapturedPacket, Captures, PacketCapture, VantagePoint};
    use proto::wire::{AppPdu, Frame, NoiseKind, OttEnvelope, FRAME_PORT};
    use std::net::SocketAddrV4;

    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    fn pdu(t: u64, src: Ipv4Addr, dst: Ipv4Addr, from: &str, to: &str) -> CapturedPacket {
        let env = AppPdu::Ott(OttEnvelope {
            from: from.to_owned(),
            to: to.to_owned(),
            session: 0,
            kind: NoiseKind::Transport,
            index: 0,
            protocol: "signal".to_owned(),
            body: vec![7; 40],
        });
        let frame = Frame::Data {
            seq: (t % 1000) as u32,
            payload: env.to_bytes().expect("encodes"),
        }
        .to_bytes()
        .expect("frames");
        CapturedPacket {
            time: simcore::Timestamp::from_nanos(t),
            bytes: capture::ip::build_udp(
                SocketAddrV4::new(src, FRAME_PORT),
                SocketAddrV4::new(dst, FRAME_PORT),
                &frame,
            )
            .expect("builds"),
        }
    }

    fn server_captures(packets: Vec<CapturedPacket>) -> Captures {
        Captures {
            vantages: vec![VantagePoint {
                name: "ott.server".to_owned(),
                carrier: String::new(),
                kind: VantageKind::OttServer,
                packets: Some(PacketCapture {
                    name: "ott.server".to_owned(),
                    packets: packets.into_iter().collect(),
                }),
                warrants: Vec::new(),
                call_records: Default::default(),
            }],
        }
    }

    #[test]
    fn unsealed_envelopes_name_both_ends_and_sealed_ones_are_linked_by_address() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let c = Ipv4Addr::new(10, 0, 0, 3);
        let caps = server_captures(vec![
            // a (unsealed) writes to b; the server delivers it.
            pdu(1_000, a, SERVER, "+1555000001", "+1555000002"),
            pdu(2_000, SERVER, b, "+1555000001", "+1555000002"),
            // c (sealed) writes to a; c has had something delivered before, so is named.
            pdu(3_000, SERVER, c, "", "+1555000003"),
            pdu(4_000, c, SERVER, "", "+1555000001"),
            pdu(5_000, SERVER, a, "", "+1555000001"),
        ]);
        let obs = Observations::decode(&caps);
        let f = analyze(&obs, &MetadataConfig::default());
        assert_eq!(f.vantages, vec!["ott.server".to_owned()]);
        assert_eq!((f.envelopes_in, f.sealed_in, f.envelopes_out), (2, 1, 3));
        assert_eq!(f.clients, 3);
        assert_eq!(f.clients_named, 3);
        assert_eq!(
            f.direct,
            vec![("+1555000001".to_owned(), "+1555000002".to_owned())]
        );
        assert_eq!(
            f.linked,
            vec![("+1555000003".to_owned(), "+1555000001".to_owned())]
        );
    }

    #[test]
    fn receipts_after_deliveries_disclose_the_hidden_sender() {
        // Alice (sealed) writes to the target; the target's receipt goes back to alice 50 ms
        // after each delivery, while sealed envelopes to unrelated accounts arrive throughout.
        // No address is ever tied to an account.
        let ms = 1_000_000u64;
        let mut packets = Vec::new();
        let target = Ipv4Addr::new(10, 0, 0, 9);
        for k in 0..40u64 {
            let t = k * 60_000 * ms;
            packets.push(pdu(t, SERVER, target, "", "+1555000009"));
            packets.push(pdu(
                t + 50 * ms,
                target,
                SERVER,
                "",
                "+1555000001", // alice
            ));
            for j in 2..8u64 {
                let off = (k * 7_919 + j * 104_729) % 60_000;
                let who = Ipv4Addr::new(10, 0, 1, j as u8);
                packets.push(pdu(
                    t + off * ms,
                    who,
                    SERVER,
                    "",
                    &format!("+155500001{j}"),
                ));
            }
        }
        packets.sort_by_key(|p| p.time);
        let caps = server_captures(packets);
        let obs = Observations::decode(&caps);
        let f = analyze(&obs, &MetadataConfig::default());
        assert!(f.direct.is_empty(), "{f:?}");
        let d = f
            .disclosure
            .iter()
            .find(|d| d.target == "+1555000009")
            .expect("the target is analysed");
        assert_eq!(d.messages, 40);
        let last = d.snapshots.last().expect("snapshots");
        assert_eq!(last.top[0].0, "+1555000001", "{last:?}");
    }
}
