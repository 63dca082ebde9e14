//! The messaging provider's own server as a vantage point (`kind = "ott-server"`, issue 15):
//! what it captures, what it reads from envelopes with and without sealed sender, the
//! sealed-sender disclosure it runs, and that the end-to-end layer stays sealed.

use std::net::Ipv4Addr;

use capture::ip;
use proto::wire::{AppPdu, Frame, MEDIA_PORT};

use crate::support::{parse, run};

/// The shipped scenario with its duration replaced.
fn shipped(duration: &str) -> String {
    let text = scenario::builtin("ott-server").expect("shipped");
    text.lines()
        .map(|l| {
            if l.starts_with("duration = ") {
                format!("duration = \"{duration}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_server_vantage_captures_the_servers_view_only() {
    let r = run(parse(&shipped("10m")), 1);
    let caps = &r.output.captures;
    assert_eq!(caps.vantages.len(), 1);
    let v = &caps.vantages[0];
    assert_eq!(v.kind, capture::VantageKind::OttServer);
    assert_eq!(v.name, "ott.server");
    let packets = &v.packets.as_ref().expect("a packet log").packets;
    assert!(packets.len() > 100, "{}", packets.len());
    let server = Ipv4Addr::new(203, 0, 113, 10);
    let mut sealed = 0;
    for p in packets {
        let udp = ip::parse_udp(p.bytes).expect("each record is an IPv4/UDP datagram");
        // Every datagram is between the server and one client: nothing else is seen.
        let (s, d) = (*udp.src.ip(), *udp.dst.ip());
        assert!(
            (s == server) != (d == server),
            "{s} -> {d}: not the server's own traffic"
        );
        // Relayed call media, as relayed.
        if udp.src.port() == MEDIA_PORT {
            continue;
        }
        // Each other one is a DATA frame holding an envelope or call signalling, never a tunnel
        // record: the server's end of the tunnel is removed.
        let Ok(Frame::Data { payload, .. }) = Frame::decode(udp.payload) else {
            panic!("not a DATA frame");
        };
        match AppPdu::decode(&payload).expect("an application PDU") {
            AppPdu::Ott(env) => sealed += usize::from(env.from.is_empty()),
            AppPdu::Call(_) => {}
            other => panic!("the server log holds {other:?}"),
        }
    }
    assert!(sealed > 0, "sealed-sender envelopes are logged");
    // Times are in order.
    assert!(packets
        .iter()
        .zip(packets.iter().skip(1))
        .all(|(a, b)| a.time <= b.time));
}

#[test]
fn the_server_logs_the_calls_it_relays() {
    // The shipped scenario with relayed voice on the Noise app (a bigger share of users).
    let text = shipped("10m")
        .replace("pattern = \"XX\"", "pattern = \"XX\"\nvoice = \"relay\"")
        .replace(
            "reply_delay = \"2m\"",
            "reply_delay = \"2m\"\ncalls_per_contact_per_day = 24.0\ncall_duration = \"20s\"",
        )
        .replace("signal-sealed = 0.6", "signal-sealed = 0.3")
        .replace("noise-xx = 0.1", "noise-xx = 0.4");
    let r = run(parse(&text), 1);
    let s = &r.report.metadata.server;
    assert!(s.call_pdus > 0 && s.media_packets > 0, "{s:?}");
    // Caller and callee are in the clear in the signalling it relays: every relayed call's
    // pair is among the server's edges.
    let calls: Vec<_> = r.findings.metadata.server.calls.clone();
    assert!(!calls.is_empty());
    assert_eq!(s.all.precision, 1.0, "{s:?}");
}

#[test]
fn without_sealed_sender_the_server_reads_the_contact_graph_and_nothing_end_to_end() {
    let r = run(parse(&shipped("30m")), 1);
    let s = &r.report.metadata.server;
    assert!(s.held);
    assert!(s.direct.truth > 10, "{s:?}");
    assert_eq!(s.direct.correct, s.direct.truth, "{s:?}");
    assert_eq!(s.direct.precision, 1.0);
    assert_eq!(s.direct.recall, 1.0);
    // Every end-to-end message crossed the server; none was read.
    for p in &r.report.protocols {
        if p.protocol != "sms" {
            assert_eq!(p.messages_exposed_to_vantage, p.messages, "{p:?}");
        }
        assert_eq!(p.messages_read_by_adversary, 0, "{p:?}");
    }
    assert!(r.findings.recovered.is_empty());
}

#[test]
fn sealed_sender_disclosure_beats_chance_and_grows_with_duration() {
    let short = run(parse(&shipped("10m")), 1).report.metadata.server;
    let long = run(parse(&shipped("2h")), 1).report.metadata.server;
    let (a, b) = (&short.disclosure, &long.disclosure);
    assert!(a.targets >= 10 && b.targets >= 10, "{a:?} {b:?}");
    assert!(
        a.mean_recall_at_k > 3.0 * short.disclosure_chance,
        "short run: {} vs chance {}",
        a.mean_recall_at_k,
        short.disclosure_chance
    );
    assert!(a.mean_recall_at_k < 1.0, "{a:?}");
    assert!(
        b.mean_recall_at_k > a.mean_recall_at_k,
        "{} then {}",
        a.mean_recall_at_k,
        b.mean_recall_at_k
    );
}

#[test]
fn a_carrier_on_an_ott_server_vantage_is_located_and_hinted() {
    let text = shipped("10m").replace(
        "\nkind = \"ott-server\"",
        "\nkind = \"ott-server\"\ncarrier = \"atlantic\"",
    );
    let err = scenario::parse("ott.toml", &text)
        .expect_err("a carrier on the server is refused")
        .to_string();
    let line = text
        .lines()
        .position(|l| l.starts_with("carrier = \"atlantic\""))
        .expect("the line")
        + 1;
    assert!(err.contains(&format!("ott.toml:{line}:")), "{err}");
    assert!(err.contains("belongs to no carrier"), "{err}");
    assert!(err.contains("hint: remove `carrier`"), "{err}");
    // And the other kinds still need one.
    let text = shipped("10m").replace("\nkind = \"ott-server\"", "\nkind = \"core-tap\"");
    let err = scenario::parse("ott.toml", &text)
        .expect_err("a core tap without a carrier is refused")
        .to_string();
    assert!(
        err.contains("needs `carrier`") && err.contains("hint"),
        "{err}"
    );
}
