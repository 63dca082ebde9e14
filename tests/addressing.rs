//! Carriers beyond one `/16`: subscribers past the first 65,535 of a carrier are numbered in
//! blocks of 100.64.0.0/10 (`carrier::topology::AddressPlan`), and the whole model works for
//! them as for the rest: their traffic is routed, tapped at the core, intercepted under warrant
//! and delivered.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::support::{parse, run};

/// One carrier of 65,600 subscribers (65 in the overflow block), SMS and Noise XX, warrants on
/// eight overflow subscribers; a second small carrier so traffic crosses the interconnect.
fn big_carrier() -> String {
    let explicit: Vec<String> = (65_560..65_600)
        .step_by(5)
        .map(|k| format!("{{ subscriber = {k}, kind = \"iri+content\", agency = \"FBI\" }}"))
        .collect();
    format!(
        r#"
[scenario]
name = "big-carrier"
description = "a carrier past one /16 of subscribers"
seed = 1
duration = "1h"
[[app]]
name = "sms"
kind = "sms"
[[app]]
name = "chat-xx"
kind = "noise"
pattern = "XX"
[[carrier]]
name = "big"
subscribers = 65600
cells = 16
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
[carrier.population]
sms = 0.9
chat-xx = 0.1
[carrier.warrants]
count = 8
content_share = 1.0
explicit = [{}]
[[carrier]]
name = "small"
subscribers = 50
cells = 1
mcc = "001"
mnc = "02"
msisdn_prefix = "+1666"
[carrier.population]
sms = 1.0
[traffic]
mean_degree = 2.0
cross_carrier = 0.2
messages_per_contact_per_day = 24.0
[adversary]
name = "insider"
[[adversary.vantage]]
kind = "mediation"
carrier = "big"
[[adversary.vantage]]
kind = "core-tap"
carrier = "big"
"#,
        explicit.join(", ")
    )
}

fn in_overflow(a: Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 100 && (64..128).contains(&o[1])
}

#[test]
fn subscribers_past_the_first_block_are_routed_tapped_and_intercepted() {
    let r = run(parse(&big_carrier()), 1);
    let truth = &r.output.truth;
    let subs = &truth.subscribers;
    // Addresses: unique; the first 65,535 of `big` in 10.0/16, the rest in 100.64/16.
    let ips: BTreeSet<Ipv4Addr> = subs.iter().map(|s| s.ip).collect();
    assert_eq!(ips.len(), subs.len());
    let big: Vec<_> = subs.iter().filter(|s| s.carrier == 0).collect();
    assert_eq!(big.len(), 65_600);
    assert!(big[..65_535].iter().all(|s| s.ip.octets()[..2] == [10, 0]));
    assert!(big[65_535..].iter().all(|s| in_overflow(s.ip)));

    // Nothing lost, and overflow subscribers talk (with each other and with the rest).
    assert!(
        truth.messages.iter().all(|m| m.delivered_at.is_some()),
        "undelivered"
    );
    let overflow_msgs = truth
        .messages
        .iter()
        .filter(|m| in_overflow(subs[m.from].ip) || in_overflow(subs[m.to].ip))
        .count();
    assert!(
        overflow_msgs > 20,
        "{overflow_msgs} messages of overflow subscribers"
    );

    // The core tap saw their packets by their overflow addresses.
    let tapped_overflow = r
        .output
        .captures
        .vantages
        .iter()
        .flat_map(|v| v.packets.iter().flat_map(|c| &c.packets))
        .filter(|p| {
            let b = &p.bytes;
            b.len() >= 20
                && (in_overflow(Ipv4Addr::new(b[12], b[13], b[14], b[15]))
                    || in_overflow(Ipv4Addr::new(b[16], b[17], b[18], b[19])))
        })
        .count();
    assert!(
        tapped_overflow > 0,
        "no packet of an overflow subscriber tapped"
    );

    // Warrants on overflow subscribers: their SMS are read at the mediation node.
    let targets: BTreeSet<&str> = r
        .output
        .warrants
        .iter()
        .map(|w| w.target_msisdn.as_str())
        .collect();
    let recovered: BTreeSet<&str> = r
        .findings
        .recovered
        .iter()
        .map(|x| x.text.as_str())
        .collect();
    let sms = r.scenario.apps.iter().position(|a| a.name == "sms");
    let target_sms: Vec<_> = truth
        .messages
        .iter()
        .filter(|m| Some(subs[m.from].app) == sms && Some(subs[m.to].app) == sms)
        .filter(|m| targets.contains(subs[m.from].msisdn.as_str()) && in_overflow(subs[m.from].ip))
        .collect();
    assert!(!target_sms.is_empty(), "no SMS from an overflow target");
    for m in &target_sms {
        assert!(recovered.contains(&*m.text), "not read: {m:?}");
    }
    assert_eq!(r.report.adversary.false_recoveries, 0);
}
