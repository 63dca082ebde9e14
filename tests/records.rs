//! Records shaped like the real ones (`docs/records.md`): one call record per communication with
//! the parties as the carrier sees them, ETSI-style IRI sequences with CC correlation, carrier
//! voice readable in content copies and end-to-end voice not, edge-router vantage points that
//! see exactly their subscribers, and exports that are documented, parseable and deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use capture::{InterceptKind, IriEventKind, RecordKind, VantageKind};

use crate::support::{parse, run_with_capabilities, tempdir, wiretap, Run};

/// One run of the metadata scenario, shared by the tests of this module.
fn metadata_run() -> &'static Run {
    static RUN: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let text = scenario::builtin("metadata").expect("built in");
        run_with_capabilities(parse(text), 1)
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_call_has_one_record_per_leg_with_the_parties_the_carrier_sees() {
    let r = metadata_run();
    let t = &r.output.truth;
    assert!(t.calls.len() > 50, "{} calls", t.calls.len());
    let mut by_ref: BTreeMap<u64, Vec<(&str, capture::CallRecordRef<'_>)>> = BTreeMap::new();
    for (carrier, recs) in &r.output.records {
        for rec in recs.iter() {
            if matches!(rec.kind, RecordKind::VoiceMo | RecordKind::VoiceMt) {
                by_ref.entry(rec.call_ref).or_default().push((carrier, rec));
            }
        }
    }
    let media = r.scenario.traffic.media_payload;
    let mut carrier_calls = 0;
    for call in &t.calls {
        let caller = &t.subscribers[call.caller];
        let callee = &t.subscribers[call.callee];
        if call.kind != "carrier" {
            // E2EE calls are data to the carrier: no voice record names the peer.
            assert!(
                !by_ref.contains_key(&call.call_id),
                "OTT call {} has voice records",
                call.call_id
            );
            continue;
        }
        carrier_calls += 1;
        let legs = by_ref
            .get(&call.call_id)
            .unwrap_or_else(|| panic!("call {} has no record", call.call_id));
        let mo: Vec<_> = legs
            .iter()
            .filter(|(_, r)| r.kind == RecordKind::VoiceMo)
            .collect();
        let mt: Vec<_> = legs
            .iter()
            .filter(|(_, r)| r.kind == RecordKind::VoiceMt)
            .collect();
        assert_eq!(
            (mo.len(), mt.len()),
            (1, 1),
            "call {}: one record per leg",
            call.call_id
        );
        let (mo, mt) = (mo[0].1, mt[0].1);
        assert_eq!(
            (mo.msisdn, mo.other_party),
            (caller.msisdn.as_str(), callee.msisdn.as_str())
        );
        assert_eq!(
            (mt.msisdn, mt.other_party),
            (callee.msisdn.as_str(), caller.msisdn.as_str())
        );
        assert_eq!(mo.imsi, caller.imsi);
        assert_eq!(mt.imei, callee.imei);
        // The MSC sees the INVITE after the radio hop, within a second of the handset.
        assert!(
            mo.start >= call.start && mo.start.saturating_duration_since(call.start).as_secs() < 1
        );
        assert_eq!(
            mo.answer.is_some(),
            call.answer.is_some(),
            "call {}",
            call.call_id
        );
        if let Some(a) = mo.answer {
            assert_eq!(
                mo.duration_ns,
                u64::try_from(mo.end.saturating_duration_since(a).as_nanos()).unwrap()
            );
        } else {
            assert_eq!(mo.duration_ns, 0);
        }
        // Lossless radio: the MSC counted what the handsets sent, except media still in flight
        // when the record closed at BYE (at most a couple of packets).
        for (counted, sent, who) in [
            (mo.bytes_up, call.caller_bytes, "caller"),
            (mt.bytes_up, call.callee_bytes, "callee"),
        ] {
            assert!(
                counted <= sent && sent - counted <= 2 * (media as u64 + 64),
                "call {} {who}: MSC counted {counted} of {sent} bytes",
                call.call_id
            );
        }
    }
    assert!(carrier_calls > 20, "{carrier_calls} carrier calls");
}

#[test]
fn records_share_one_copy_of_each_identity_string() {
    // A record holds pointers to its subscriber's identities, made once per subscriber (the
    // other party of SMS and calls is that subscriber's MSISDN) and once per remote address
    // in each carrier's store: as many allocations as distinct texts, not one per record.
    let r = metadata_run();
    let mut texts: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut ptrs: BTreeSet<(&str, *const u8)> = BTreeSet::new();
    let mut records = 0;
    for (carrier, recs) in &r.output.records {
        for rec in recs.iter() {
            records += 1;
            let other = if rec.kind == RecordKind::Data {
                carrier.as_str() // one text per remote address in each carrier's store
            } else {
                "msisdn"
            };
            for (field, s) in [
                ("imsi", &rec.imsi),
                ("imei", &rec.imei),
                ("msisdn", &rec.msisdn),
                (other, &rec.other_party),
            ] {
                texts.insert((field, s));
                ptrs.insert((field, s.as_ptr()));
            }
        }
    }
    assert!(records > 1000, "{records} records");
    assert!(texts.len() < records, "{} texts", texts.len());
    assert_eq!(ptrs.len(), texts.len(), "one allocation per distinct text");
}

#[test]
fn sms_records_name_both_parties_and_ott_records_name_only_the_server() {
    let r = metadata_run();
    let t = &r.output.truth;
    let msisdn: BTreeSet<&str> = t.subscribers.iter().map(|s| s.msisdn.as_str()).collect();
    let mut mo = BTreeSet::new();
    for (_, recs) in &r.output.records {
        for rec in recs.iter() {
            match rec.kind {
                RecordKind::SmsMo => {
                    assert!(msisdn.contains(rec.other_party), "{rec:?}");
                    mo.insert((rec.msisdn.to_string(), rec.other_party.to_string()));
                }
                RecordKind::Data => {
                    // The carrier sees the OTT server (or a peer for p2p calls), never an MSISDN.
                    assert!(rec.other_party.parse::<Ipv4Addr>().is_ok(), "{rec:?}");
                }
                _ => {}
            }
        }
    }
    // Every SMS pair of the ground truth appears as a sender's record.
    for m in t
        .messages
        .iter()
        .filter(|m| m.protocol == capture::ProtocolId::Sms)
    {
        let pair = (
            t.subscribers[m.from].msisdn.clone(),
            t.subscribers[m.to].msisdn.clone(),
        );
        assert!(mo.contains(&pair), "SMS {} has no MO record", m.id);
    }
}

#[test]
fn iri_sequences_and_cc_correlation_are_consistent() {
    let r = metadata_run();
    let iri = &r.output.intercepts;
    assert!(!iri.is_empty());
    let mut seqs: BTreeMap<(std::sync::Arc<str>, u64), Vec<Option<IriEventKind>>> = BTreeMap::new();
    let mut iri_ids = BTreeSet::new();
    for rec in iri.iter().filter(|x| x.kind == InterceptKind::Iri) {
        seqs.entry((rec.carrier.clone(), rec.correlation))
            .or_default()
            .push(rec.event);
        iri_ids.insert((rec.carrier.clone(), rec.correlation));
    }
    let mut begun = 0;
    for events in seqs.values() {
        use IriEventKind::*;
        match events.first() {
            Some(Some(Report)) => assert_eq!(events.len(), 1, "{events:?}"),
            Some(Some(Begin)) => {
                // BEGIN, CONTINUE*, then END (or nothing more if the run ended first).
                let n = events.len();
                let middle_end = if events[n - 1] == Some(End) { n - 1 } else { n };
                assert!(
                    events[1..middle_end].iter().all(|e| *e == Some(Continue)),
                    "{events:?}"
                );
                begun += 1;
            }
            other => panic!("a communication starts with {other:?}: {events:?}"),
        }
    }
    assert!(begun > 0);
    // A data session ends after 60 s without a packet of it (the POI's IDLE), so every END
    // before the last record of the run comes at least 60 s after the session's previous
    // record; and the metadata run has such mid-run ends.
    let last = iri.iter().map(|x| x.timestamp).max().expect("records");
    let mut previous: BTreeMap<(std::sync::Arc<str>, u64), simcore::Timestamp> = BTreeMap::new();
    let mut idle_ends = 0;
    for rec in iri {
        let key = (rec.carrier.clone(), rec.correlation);
        let data_end = rec.event == Some(IriEventKind::End)
            && rec.service == Some(capture::IriServiceKind::Data);
        if data_end && rec.timestamp < last {
            let before = previous[&key];
            assert!(
                rec.timestamp.saturating_duration_since(before) >= simcore::Duration::from_secs(60),
                "data session {key:?} ended {:?} after its last record",
                rec.timestamp.saturating_duration_since(before)
            );
            idle_ends += 1;
        }
        previous.insert(key, rec.timestamp);
    }
    assert!(idle_ends > 0, "no data session ended for idleness");
    for cc in iri.iter().filter(|x| x.kind == InterceptKind::Cc) {
        assert!(
            iri_ids.contains(&(cc.carrier.clone(), cc.correlation)),
            "CC without its IRI: {cc:?}"
        );
    }
}

#[test]
fn carrier_voice_is_readable_in_captures_and_e2ee_voice_is_not() {
    let r = metadata_run();
    let t = &r.output.truth;
    let media = r.scenario.traffic.media_payload as usize;
    let all: Vec<&[u8]> = r
        .output
        .captures
        .vantages
        .iter()
        .filter_map(|v| v.packets.as_ref())
        .flat_map(|p| p.packets.iter().map(|c| c.bytes))
        .collect();
    let seen = |frame: &[u8]| all.iter().any(|p| contains(p, frame));
    let (mut clear, mut e2ee) = (0, 0);
    for call in t.calls.iter().filter(|c| c.caller_packets > 0) {
        let frame = carrier::clear_frame(call.call_id, true, 0, media);
        if call.kind == "carrier" {
            clear += usize::from(seen(&frame));
        } else {
            e2ee += 1;
            assert!(
                !seen(&frame),
                "E2EE call {} has a clear frame in a capture",
                call.call_id
            );
            assert_eq!(call.media_errors, 0);
        }
    }
    assert!(
        clear > 0,
        "some carrier call crossed a tapped core in clear"
    );
    assert!(e2ee > 0, "the scenario has E2EE calls");
}

#[test]
fn edge_routers_see_only_their_subscribers() {
    let r = metadata_run();
    let subs: BTreeMap<Ipv4Addr, usize> = r
        .output
        .truth
        .subscribers
        .iter()
        .map(|s| (s.ip, s.carrier))
        .collect();
    let v = r
        .output
        .captures
        .vantages
        .iter()
        .find(|v| v.kind == VantageKind::EdgeRouter)
        .expect("an edge-router vantage");
    let pkts = &v.packets.as_ref().expect("packets").packets;
    assert!(!pkts.is_empty());
    let mut seen = BTreeSet::new();
    for p in pkts {
        let u = capture::ip::parse_udp(p.bytes).expect("IPv4/UDP");
        let (src, dst) = (u.src, u.dst);
        let ends: Vec<Ipv4Addr> = [*src.ip(), *dst.ip()]
            .into_iter()
            .filter(|a| subs.contains_key(a))
            .collect();
        assert!(
            !ends.is_empty(),
            "edge packet with no subscriber end: {src} -> {dst}"
        );
        seen.extend(ends.into_iter().filter(|a| subs[a] == 0));
    }
    let east = subs.values().filter(|c| **c == 0).count();
    // share = 0.05 of east's subscribers, seeded: a handful, never everyone.
    assert!(
        !seen.is_empty() && seen.len() < east / 4,
        "{} of {east}",
        seen.len()
    );
    // Deterministic, in capture order.
    assert!(pkts
        .iter()
        .zip(pkts.iter().skip(1))
        .all(|(a, b)| a.time <= b.time));
}

#[test]
fn exports_are_documented_parseable_and_deterministic() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/records.md"))
        .expect("docs");
    let (a, b) = (tempdir("records-a"), tempdir("records-b"));
    for d in [&a, &b] {
        let out = wiretap([
            "run".as_ref(),
            "metadata".as_ref(),
            "--out".as_ref(),
            d.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for file in [
        "records.csv",
        "records.jsonl",
        "iri.csv",
        "iri.jsonl",
        "warrants.csv",
        "truth_calls.csv",
    ] {
        let x = std::fs::read(a.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let y = std::fs::read(b.join(file)).expect("second run");
        assert_eq!(x, y, "{file} differs between identical runs");
        let text = String::from_utf8(x).expect("UTF-8");
        if let Some(stem) = file.strip_suffix(".csv") {
            let mut lines = text.split("\r\n");
            let header: Vec<&str> = lines.next().expect("header").split(',').collect();
            for col in &header {
                assert!(
                    docs.contains(&format!("`{col}`")),
                    "{file}: column `{col}` is not documented"
                );
            }
            let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
            assert!(!rows.is_empty(), "{stem}: no rows");
            for row in rows.iter().take(200) {
                // No quoted fields in these files: every row has the header's width.
                if !row.contains('"') {
                    assert_eq!(row.split(',').count(), header.len(), "{file}: {row}");
                }
            }
        } else {
            for line in text.lines().take(200) {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
                assert!(v.is_object());
            }
        }
    }
}
