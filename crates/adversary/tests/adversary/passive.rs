//! Scenarios: hand-built captures and what the passive adversary must make of them.

use adversary::{Adversary, Channel, Findings, TUNNEL_REASON};
use capture::{CallRecord, RecordKind, VantageKind, Warrant, WarrantKind};
use proptest::prelude::*;
use proto::wire::{IriService, LiKind, NoiseKind, SmsKind, FRAME_PORT, LI_PORT};

use crate::support::*;

const XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const NN: &str = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
const IX: &str = "Noise_IX_25519_ChaChaPoly_BLAKE2s";

fn analyze(vantages: Vec<capture::VantagePoint>) -> Findings {
    Adversary::new("salt-typhoon").analyze(&captures(vantages))
}

fn core(packets: Vec<(u64, Vec<u8>)>) -> capture::VantagePoint {
    vantage(
        "atlantic.core",
        VantageKind::CoreTap,
        packets,
        vec![],
        vec![],
    )
}

fn mediation(packets: Vec<(u64, Vec<u8>)>, warrants: Vec<Warrant>) -> capture::VantagePoint {
    vantage(
        "atlantic.mediation",
        VantageKind::Mediation,
        packets,
        warrants,
        vec![],
    )
}

fn contact(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn plaintext_sms_is_recovered_exactly_once_despite_retransmission_and_two_vantages() {
    let text = "the package is at pier 39, 6pm — don't be late";
    let submit = data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, ALICE, BOB, text));
    let deliver = data(SMSC, SUB_B, 4, &sms(SmsKind::Deliver, ALICE, BOB, text));
    let f = analyze(vec![
        core(vec![
            (1000, submit.clone()),
            (2000, submit.clone()), // retransmission
            (1500, ack(SMSC, SUB_A, 0)),
            (2500, deliver.clone()),
        ]),
        vantage(
            "atlantic.edge",
            VantageKind::CoreTap,
            vec![(900, submit)],
            vec![],
            vec![],
        ),
    ]);
    assert_eq!(f.recovered.len(), 1, "{:#?}", f.recovered);
    let r = &f.recovered[0];
    assert_eq!(r.text, text);
    assert_eq!(r.from.as_deref(), Some(ALICE));
    assert_eq!(r.to.as_deref(), Some(BOB));
    assert_eq!(r.channel, Channel::Sms);
    assert_eq!(&*r.method, "plaintext SMS PDU");
    assert_eq!(r.first_seen, at(900));
    assert_eq!(names(&r.seen_at), ["atlantic.core", "atlantic.edge"]);
    assert_eq!(f.contact_pairs, vec![contact(ALICE, BOB)]);
    assert_eq!(f.packets_parsed, 5);
    assert_eq!(f.parse_errors, 0);
    assert!(f.unreadable.is_empty());
    assert_eq!(f.vantage_points, vec!["atlantic.core", "atlantic.edge"]);
}

#[test]
fn nn_handshake_payload_sent_before_any_dh_is_recovered() {
    let secret = "meet me at the usual place";
    let (msgs, _, _) = handshake(NN, &[secret.as_bytes(), b"ok"]);
    let f = analyze(vec![core(vec![
        (
            10,
            data(
                SUB_A,
                OTT,
                0,
                &ott(ALICE, BOB, 77, NoiseKind::Handshake, 1, NN, msgs[0].clone()),
            ),
        ),
        (
            20,
            data(
                OTT,
                SUB_A,
                0,
                &ott(BOB, ALICE, 77, NoiseKind::Handshake, 2, NN, msgs[1].clone()),
            ),
        ),
    ])]);
    assert_eq!(f.recovered.len(), 1, "{:#?}", f.recovered);
    let r = &f.recovered[0];
    assert_eq!(r.text, secret);
    assert_eq!(r.from.as_deref(), Some(ALICE));
    assert_eq!(r.to.as_deref(), Some(BOB));
    assert_eq!(
        r.channel,
        Channel::Ott {
            protocol: NN.to_owned()
        }
    );
    assert_eq!(r.channel.to_string(), format!("ott:{NN}"));
    assert!(r.method.contains("NN handshake message 1"), "{}", r.method);
    // Message 2's payload "ok" is encrypted after ee.
    assert_eq!(f.unreadable.len(), 1, "{:#?}", f.unreadable);
    assert!(
        f.unreadable[0].reason.contains("after DH ee"),
        "{}",
        f.unreadable[0].reason
    );
    assert_eq!(f.contact_pairs, vec![contact(ALICE, BOB)]);
}

#[test]
fn xx_transport_message_is_unreadable_with_the_dhs_it_depends_on() {
    let (msgs, mut alice, _) = handshake(XX, &[]);
    let mut ct = vec![0u8; 1024];
    let n = alice
        .write_message(b"the real secret", &mut ct)
        .expect("encrypts");
    ct.truncate(n);
    let mut packets: Vec<(u64, Vec<u8>)> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (from, to, src, dst) = if i % 2 == 0 {
                (ALICE, BOB, SUB_A, OTT)
            } else {
                (BOB, ALICE, OTT, SUB_A)
            };
            let index = u8::try_from(i + 1).expect("small");
            let pdu = ott(from, to, 5, NoiseKind::Handshake, index, XX, m.clone());
            (100 * (i as u64 + 1), data(src, dst, index.into(), &pdu))
        })
        .collect();
    let transport = data(
        SUB_A,
        OTT,
        9,
        &ott(ALICE, BOB, 5, NoiseKind::Transport, 0, "", ct),
    );
    packets.push((1000, transport.clone()));
    packets.push((2000, transport)); // retransmitted: still one ciphertext
    let f = analyze(vec![core(packets)]);
    assert!(f.recovered.is_empty(), "{:#?}", f.recovered);
    let xx = Channel::Ott {
        protocol: XX.to_owned(),
    };
    let transport: Vec<_> = f
        .unreadable
        .iter()
        .filter(|u| u.reason.starts_with("transport"))
        .collect();
    assert_eq!(transport.len(), 1, "{:#?}", f.unreadable);
    assert_eq!(transport[0].channel, xx);
    assert_eq!(
        transport[0].reason,
        "transport message under keys from the completed handshake (DHs: ee, es, se); no private \
         key held"
    );
    assert_eq!(transport[0].count, 1);
    assert_eq!(transport[0].first_seen, at(1000));
    // XX never sends a static in clear.
    assert!(f.static_keys_seen.is_empty());
    // The flow is metadata: Alice's handset talks to the OTT server.
    let flow = f
        .flows
        .iter()
        .find(|fl| fl.channel == xx)
        .expect("a flow for the XX session");
    assert_eq!((flow.subscriber, flow.server), (SUB_A, OTT));
    assert!(flow.packets >= 3);
}

#[test]
fn ix_initiator_static_key_is_an_identity_exposure() {
    let pair = snow_pair(IX);
    let expected = pair
        .initiator_static
        .clone()
        .expect("IX initiator has a static");
    let (msgs, _, _) = handshake(IX, &[]);
    let f = analyze(vec![core(vec![(
        5,
        data(
            SUB_A,
            OTT,
            0,
            &ott(ALICE, BOB, 1, NoiseKind::Handshake, 1, IX, msgs[0].clone()),
        ),
    )])]);
    assert_eq!(f.static_keys_seen.len(), 1);
    let s = &f.static_keys_seen[0];
    assert_eq!(s.account, ALICE);
    assert_eq!(s.vantage, "atlantic.core");
    assert_eq!(s.public_hex.len(), 64);
    // A different handshake run has a different key: just check it is hex of 32 bytes and is
    // the key snow put at bytes 32..64 of the message.
    let in_message: String = msgs[0][32..64].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s.public_hex, in_message);
    assert_eq!(expected.len(), 32);
}

#[test]
fn tunnel_pdus_are_unreadable_and_classified_by_what_their_far_end_does_in_clear() {
    let f = analyze(vec![core(vec![
        // Alice's handset opens a carrier tunnel to the packet gateway ...
        (
            10,
            data(SUB_A, PGW, 0, &tunnel(NoiseKind::Handshake, vec![1; 48])),
        ),
        (
            20,
            data(PGW, SUB_A, 0, &tunnel(NoiseKind::Handshake, vec![2; 48])),
        ),
        (
            30,
            data(SUB_A, PGW, 1, &tunnel(NoiseKind::Transport, vec![3; 80])),
        ),
        (
            31,
            data(SUB_A, PGW, 1, &tunnel(NoiseKind::Transport, vec![3; 80])),
        ),
        // ... and the gateway forwards an SMS in clear to the SMS centre.
        (
            40,
            data(
                PGW,
                SMSC,
                0,
                &sms(SmsKind::Submit, ALICE, BOB, "via the gateway"),
            ),
        ),
        // Carol's handset tunnels to the OTT server, which relays clear envelopes elsewhere.
        (
            50,
            data(SUB_C, OTT, 0, &tunnel(NoiseKind::Handshake, vec![4; 48])),
        ),
        (
            60,
            data(
                OTT,
                SUB_B,
                0,
                &ott(ALICE, BOB, 1, NoiseKind::Transport, 0, "", vec![5; 40]),
            ),
        ),
        (
            70,
            data(
                OTT,
                SUB_B,
                1,
                &ott(CAROL, BOB, 2, NoiseKind::Transport, 0, "", vec![6; 40]),
            ),
        ),
        // A tunnel to an address the captures say nothing about.
        (
            80,
            data(
                SUB_B,
                [192, 0, 2, 99].into(),
                0,
                &tunnel(NoiseKind::Transport, vec![7; 40]),
            ),
        ),
    ])]);
    let find = |c: &Channel| {
        f.unreadable
            .iter()
            .find(|u| &u.channel == c && u.reason == TUNNEL_REASON)
            .unwrap_or_else(|| panic!("no {c} entry in {:#?}", f.unreadable))
    };
    assert_eq!(find(&Channel::CarrierTunnel).count, 3);
    assert_eq!(find(&Channel::OttTunnel).count, 1);
    assert_eq!(find(&Channel::Tunnel).count, 1);
    let carrier_flow = f
        .flows
        .iter()
        .find(|fl| fl.channel == Channel::CarrierTunnel)
        .expect("flow");
    assert_eq!((carrier_flow.subscriber, carrier_flow.server), (SUB_A, PGW));
    assert_eq!(carrier_flow.packets, 4);
    assert_eq!(
        (carrier_flow.first_seen, carrier_flow.last_seen),
        (at(10), at(31))
    );
    let ott_flow = f
        .flows
        .iter()
        .find(|fl| fl.channel == Channel::OttTunnel)
        .expect("flow");
    assert_eq!((ott_flow.subscriber, ott_flow.server), (SUB_C, OTT));
    // The gateway's clear SMS is still recovered.
    assert_eq!(f.recovered.len(), 1);
    assert_eq!(f.recovered[0].text, "via the gateway");
}

#[test]
fn cc_record_at_mediation_yields_the_intercepted_sms() {
    let inner = data(
        SUB_A,
        SMSC,
        0,
        &sms(SmsKind::Submit, ALICE, CAROL, "burn after reading"),
    );
    let f = analyze(vec![mediation(
        vec![(5000, li(LiKind::Cc, "LI-0001", at(4990), inner))],
        vec![],
    )]);
    assert_eq!(f.cc_packets, 1);
    assert_eq!(f.recovered.len(), 1);
    let r = &f.recovered[0];
    assert_eq!(r.text, "burn after reading");
    assert_eq!(names(&r.seen_at), ["atlantic.mediation"]);
    assert_eq!(r.first_seen, at(4990), "time at the point of interception");
    assert_eq!(
        f.packets_parsed, 2,
        "the LI packet and the packet inside it"
    );
    assert_eq!(f.contact_pairs, vec![contact(ALICE, CAROL)]);
}

#[test]
fn li_delivery_seen_outside_a_mediation_vantage_is_not_interpreted() {
    let inner = data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, ALICE, CAROL, "x"));
    let f = analyze(vec![core(vec![(1, li(LiKind::Cc, "LI-1", at(1), inner))])]);
    assert_eq!(f.cc_packets, 0);
    assert_eq!(f.packets_ignored, 1);
    assert!(f.recovered.is_empty());
}

#[test]
fn iri_records_give_contacts_and_data_sessions() {
    let f = analyze(vec![mediation(
        vec![
            (
                1,
                li(
                    LiKind::Iri,
                    "LI-7",
                    at(1),
                    iri(IriService::Sms, ALICE, BOB, 140),
                ),
            ),
            (
                2,
                li(
                    LiKind::Iri,
                    "LI-7",
                    at(2),
                    iri(IriService::Data, ALICE, "203.0.113.10", 900),
                ),
            ),
            (
                3,
                li(
                    LiKind::Iri,
                    "LI-7",
                    at(3),
                    iri(IriService::Data, ALICE, "203.0.113.10", 100),
                ),
            ),
        ],
        vec![],
    )]);
    assert_eq!(f.iri_events, 3);
    assert_eq!(f.contact_pairs, vec![contact(ALICE, BOB)]);
    assert_eq!(f.data_sessions.len(), 1);
    let d = &f.data_sessions[0];
    assert_eq!(
        (d.source.as_str(), d.msisdn.as_str(), d.server.as_str()),
        ("iri", ALICE, "203.0.113.10")
    );
    assert_eq!((d.records, d.bytes), (2, 1000));
    assert_eq!((d.first_seen, d.last_seen), (at(2), at(3)));
    assert!(f.recovered.is_empty());
}

#[test]
fn garbage_is_counted_never_panics() {
    let mut bad_frame = data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, ALICE, BOB, "hello"));
    let n = bad_frame.len();
    bad_frame[n - 1] = 0xff; // invalid UTF-8 in the text
    let f = analyze(vec![mediation(
        vec![
            (1, vec![]),
            (2, vec![0xde, 0xad, 0xbe, 0xef]),
            (
                3,
                udp(SUB_A, FRAME_PORT, SMSC, FRAME_PORT, b"WT\x01\x01\x00"),
            ),
            (4, bad_frame),
            (5, li(LiKind::Cc, "LI-1", at(5), vec![0x45; 30])),
            (6, li(LiKind::Iri, "LI-1", at(6), vec![9, 9, 9])),
            (7, udp(SUB_A, LI_PORT, MEDIATION, LI_PORT, b"X3")),
            (
                8,
                data(
                    SUB_A,
                    OTT,
                    0,
                    &ott(
                        ALICE,
                        BOB,
                        1,
                        NoiseKind::Handshake,
                        1,
                        "Noise_ZZ_25519_ChaChaPoly_BLAKE2s",
                        vec![0; 40],
                    ),
                ),
            ),
            (
                9,
                data(
                    SUB_A,
                    OTT,
                    1,
                    &ott(ALICE, BOB, 1, NoiseKind::Handshake, 9, XX, vec![0; 40]),
                ),
            ),
            (
                10,
                data(
                    SUB_A,
                    OTT,
                    2,
                    &ott(ALICE, BOB, 1, NoiseKind::Handshake, 2, XX, vec![0; 10]),
                ),
            ),
            (11, udp(SUB_A, 53, OTT, 53, b"dns?")),
        ],
        vec![],
    )]);
    assert_eq!(f.parse_errors, 7, "{f:#?}");
    assert_eq!(f.packets_ignored, 1);
    assert_eq!(f.cc_packets, 1);
    assert!(f.recovered.is_empty());
    let reasons: Vec<&str> = f.unreadable.iter().map(|u| u.reason.as_str()).collect();
    assert!(reasons.contains(&"unknown Noise pattern ZZ"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("message 9 cannot exist")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("the pattern needs at least 96")),
        "{reasons:?}"
    );
}

#[test]
fn warrant_list_at_mediation_is_learned() {
    let w = |liid: &str, msisdn: &str, kind| Warrant {
        liid: liid.into(),
        target_msisdn: msisdn.into(),
        target_imsi: format!("31015{}", &msisdn[1..]),
        kind,
        agency: "FBI".into(),
        since: at(0),
    };
    let f = analyze(vec![mediation(
        vec![],
        vec![
            w("LI-0002", BOB, WarrantKind::IriAndContent),
            w("LI-0001", ALICE, WarrantKind::Iri),
        ],
    )]);
    let liids: Vec<&str> = f
        .warrant_targets_learned
        .iter()
        .map(|w| w.liid.as_str())
        .collect();
    assert_eq!(liids, vec!["LI-0001", "LI-0002"]);
    let first = &f.warrant_targets_learned[0];
    assert_eq!(first.target_msisdn, ALICE);
    assert_eq!(first.target_imsi, "3101515550001");
    assert_eq!(first.kind, WarrantKind::Iri);
    assert_eq!(first.agency, "FBI");
    assert_eq!(first.seen_at, vec!["atlantic.mediation"]);
}

#[test]
fn call_records_give_contacts_for_sms_and_data_sessions_for_data() {
    let rec = |id, kind, other: &str| CallRecord {
        record_id: id,
        kind,
        imsi: "310150000000001".into(),
        imei: "356938035643809".into(),
        msisdn: ALICE.into(),
        other_party: other.into(),
        start: at(id * 10),
        end: at(id * 10 + 5),
        cell: 1,
        bytes_up: 100,
        bytes_down: 50,
        end_cell: 1,
        answer: None,
        duration_ns: 5_000_000_000,
        cause: capture::Cause::IdleTimeout,
        call_ref: 0,
    };
    let f = analyze(vec![vantage(
        "atlantic.cdr",
        VantageKind::CallRecords,
        vec![],
        vec![],
        vec![
            rec(1, RecordKind::SmsMo, CAROL),
            rec(2, RecordKind::SmsMt, BOB),
            rec(3, RecordKind::Data, "203.0.113.10"),
            rec(4, RecordKind::Data, "203.0.113.10"),
        ],
    )]);
    assert_eq!(
        f.contact_pairs,
        vec![contact(ALICE, BOB), contact(ALICE, CAROL)]
    );
    assert_eq!(f.data_sessions.len(), 1);
    let d = &f.data_sessions[0];
    assert_eq!(d.source, "call-records");
    assert_eq!((d.records, d.bytes), (2, 300));
    assert_eq!((d.first_seen, d.last_seen), (at(30), at(45)));
}

/// One capture with a bit of everything, for the determinism test.
fn everything() -> capture::Captures {
    let (msgs, _, _) = handshake(NN, &[b"hello in clear"]);
    captures(vec![
        core(vec![
            (
                1,
                data(SUB_A, SMSC, 0, &sms(SmsKind::Submit, ALICE, BOB, "one")),
            ),
            (
                2,
                data(SUB_B, SMSC, 0, &sms(SmsKind::Submit, BOB, ALICE, "two")),
            ),
            (
                3,
                data(
                    SUB_A,
                    OTT,
                    1,
                    &ott(
                        ALICE,
                        CAROL,
                        3,
                        NoiseKind::Handshake,
                        1,
                        NN,
                        msgs[0].clone(),
                    ),
                ),
            ),
            (
                4,
                data(SUB_C, PGW, 0, &tunnel(NoiseKind::Transport, vec![1; 33])),
            ),
            (5, vec![1, 2, 3]),
        ]),
        mediation(
            vec![
                (
                    6,
                    li(
                        LiKind::Iri,
                        "LI-1",
                        at(6),
                        iri(IriService::Sms, BOB, CAROL, 3),
                    ),
                ),
                (
                    7,
                    li(
                        LiKind::Cc,
                        "LI-1",
                        at(7),
                        data(SUB_B, SMSC, 1, &sms(SmsKind::Submit, BOB, CAROL, "three")),
                    ),
                ),
            ],
            vec![Warrant {
                liid: "LI-1".into(),
                target_msisdn: BOB.into(),
                target_imsi: "1".into(),
                kind: WarrantKind::IriAndContent,
                agency: "DEA".into(),
                since: at(0),
            }],
        ),
    ])
}

#[test]
fn analysis_is_deterministic_byte_for_byte() {
    let caps = everything();
    let adv = Adversary::new("salt-typhoon");
    let a = serde_json::to_string(&adv.analyze(&caps)).expect("serializes");
    let b = serde_json::to_string(&adv.analyze(&caps)).expect("serializes");
    assert_eq!(a, b);
    // And the content is what the scenario holds.
    let f = adv.analyze(&caps);
    let texts: Vec<&str> = f.recovered.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, vec!["one", "two", "hello in clear", "three"]);
    assert_eq!(f.parse_errors, 1);
    assert!(
        a.contains(r#""channel":"ott:Noise_NN_25519_ChaChaPoly_BLAKE2s""#),
        "{a}"
    );
}

#[test]
fn channel_names_round_trip() {
    for c in [
        Channel::Sms,
        Channel::CarrierTunnel,
        Channel::OttTunnel,
        Channel::Tunnel,
        Channel::Ott {
            protocol: XX.to_owned(),
        },
    ] {
        let s = serde_json::to_string(&c).expect("serializes");
        let back: Channel = serde_json::from_str(&s).expect("deserializes");
        assert_eq!(back, c);
    }
    assert!("carrier".parse::<Channel>().is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_at_every_vantage_never_panic(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..96), 0..8),
        port in prop_oneof![Just(FRAME_PORT), Just(LI_PORT)],
    ) {
        let wrapped: Vec<(u64, Vec<u8>)> = packets
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                let t = i as u64;
                [(t, p.clone()), (t, udp(SUB_A, port, MEDIATION, port, p))]
            })
            .collect();
        let f = analyze(vec![mediation(wrapped.clone(), vec![]), core(wrapped)]);
        prop_assert!(f.parse_errors + f.packets_parsed + f.packets_ignored >= packets.len());
    }
}

/// A recovered message's vantage points as plain strings.
fn names(list: &[std::sync::Arc<str>]) -> Vec<&str> {
    list.iter().map(|n| &**n).collect()
}
