//! Metadata analyses: contact graph from records, warrant exposure, traffic correlation against
//! a mixing delay (on hand-built captures), and determinism of the report's `metadata` section.

use std::net::{Ipv4Addr, SocketAddrV4};

use adversary::Adversary;
use capture::{CapturedPacket, Captures, PacketCapture, VantageKind, VantagePoint};
use proto::wire::{AppPdu, Frame, NoiseKind, TunnelPdu, FRAME_PORT};
use report::metadata::{score_truth, Truth, TruthMsg};
use simcore::Timestamp;

use crate::support::{mixed, parse, run, Faults};

/// `mixed` with call records held at both carriers.
fn with_all_records() -> String {
    mixed(&Faults::NONE, false).replace(
        "[[adversary.vantage]]\nkind = \"call-records\"\ncarrier = \"east\"",
        "[[adversary.vantage]]\nkind = \"call-records\"\ncarrier = \"east\"\n\
         [[adversary.vantage]]\nkind = \"call-records\"\ncarrier = \"west\"",
    )
}

#[test]
fn record_edges_equal_the_true_sms_pairs() {
    // One carrier's records: every SMS pair with an end at east.
    let r = run(parse(&mixed(&Faults::NONE, false)), 3);
    let c = &r.report.metadata.contacts;
    assert!(c.from_records.truth > 0);
    assert!(c.records_exact, "{c:?}");
    // Both carriers' records: every SMS-like pair of the run.
    let text = with_all_records();
    assert!(text.matches("call-records").count() == 2);
    let r = run(parse(&text), 3);
    let c = &r.report.metadata.contacts;
    assert!(c.records_exact, "{c:?}");
    let truth = &r.output.truth;
    let sms_pairs: std::collections::BTreeSet<(usize, usize)> = truth
        .messages
        .iter()
        .filter(|m| !m.protocol.is_end_to_end())
        .map(|m| (m.from.min(m.to), m.from.max(m.to)))
        .collect();
    assert_eq!(c.from_records.truth, sms_pairs.len());
    assert_eq!(c.from_records.correct, sms_pairs.len());
    assert_eq!(c.from_records.precision, 1.0);
}

#[test]
fn warrant_list_is_exposed_exactly() {
    let r = run(parse(&mixed(&Faults::NONE, false)), 5);
    let w = &r.report.metadata.warrants;
    // Both carriers' mediation nodes are held: every warrant, its agency and its date.
    assert_eq!(w.targets.recall, 1.0, "{w:?}");
    assert_eq!(w.target_agency_since.recall, 1.0, "{w:?}");
    assert_eq!(w.target_agency_since.precision, 1.0, "{w:?}");
}

#[test]
fn metadata_section_is_deterministic() {
    let a = run(parse(&mixed(&Faults::NONE, false)), 11);
    let b = run(parse(&mixed(&Faults::NONE, false)), 11);
    let ja = serde_json::to_string(&a.report.metadata).expect("json");
    let jb = serde_json::to_string(&b.report.metadata).expect("json");
    assert_eq!(ja, jb);
    let fa = serde_json::to_string(&a.findings.metadata).expect("json");
    let fb = serde_json::to_string(&b.findings.metadata).expect("json");
    assert_eq!(fa, fb);
    assert!(a.report.metadata.correlation.uplinks > 0);
    assert!(!a.report.metadata.disclosure.per_target.is_empty());
}

#[test]
fn timing_correlation_links_ott_users_at_the_core() {
    let r = run(parse(&mixed(&Faults::NONE, false)), 3);
    let x = &r.report.metadata.correlation;
    assert!(x.scored_visible > 0, "{x:?}");
    assert!(x.top1_accuracy > 0.8, "{x:?}");
    assert!(x.edges.precision > 0.8, "{x:?}");
}

// ----- hand-built captures: a relay with a mixing delay ---------------------------------------

const RELAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

fn sub_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 1)
}

fn packet(
    time_ns: u64,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    seq: u32,
    kind: NoiseKind,
    len: usize,
) -> CapturedPacket {
    let pdu = AppPdu::Tunnel(TunnelPdu {
        kind,
        noise: vec![0xAB; len],
    })
    .to_bytes()
    .expect("pdu");
    let frame = Frame::Data { seq, payload: pdu }.to_bytes().expect("frame");
    let bytes = capture::ip::build_udp(
        SocketAddrV4::new(src, FRAME_PORT),
        SocketAddrV4::new(dst, FRAME_PORT),
        &frame,
    )
    .expect("udp");
    CapturedPacket {
        time: Timestamp::from_nanos(time_ns),
        bytes,
    }
}

/// A well-mixed hash (splitmix64's finaliser): jitter without structure.
fn hash(k: u64) -> u64 {
    let mut x = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `n` subscribers in pairs (2k, 2k+1); each pair exchanges `per_pair` messages, all padded
/// to one size; the relay forwards each after 70 ms plus a pseudo-random mixing delay in
/// `[0, mix_ms)`.
fn relay_captures(n: usize, per_pair: u64, mix_ms: u64) -> (Captures, Truth) {
    let ms = 1_000_000u64;
    let mut pkts = Vec::new();
    // Tunnel handshakes: every subscriber initiates one to the relay (so its next seq is 1).
    for i in 0..n {
        pkts.push(packet(
            i as u64 * ms,
            sub_ip(i),
            RELAY,
            0,
            NoiseKind::Handshake,
            48,
        ));
    }
    let mut seq = vec![1u32; n];
    let mut seq_down = vec![0u32; n];
    let mut messages = Vec::new();
    let mut k = 0u64;
    for round in 0..per_pair {
        #[allow(clippy::needless_range_loop)] // `a` is a subscriber index, used for more than `seq`
        for a in 0..n {
            let b = a ^ 1;
            k += 1;
            // Spread sends: about one message every 400 ms overall.
            let t = 10_000 * ms + (round * n as u64 + a as u64) * 400 * ms + hash(k) % (300 * ms);
            // Padded to one size: only timing links uplinks to downlinks.
            let len = 100;
            let mix = if mix_ms == 0 {
                0
            } else {
                hash(k + 1_000_000) % (mix_ms * ms)
            };
            let t_down = t + 70 * ms + mix;
            pkts.push(packet(
                t,
                sub_ip(a),
                RELAY,
                seq[a],
                NoiseKind::Transport,
                len,
            ));
            seq[a] += 1;
            pkts.push(packet(
                t_down,
                RELAY,
                sub_ip(b),
                seq_down[b],
                NoiseKind::Transport,
                len,
            ));
            seq_down[b] += 1;
            messages.push(TruthMsg {
                from: a,
                to: b,
                e2e: true,
                sent_at: Timestamp::from_nanos(t.saturating_sub(ms)),
                end: Timestamp::from_nanos(t_down + ms),
                len: 0,
            });
        }
    }
    pkts.sort_by_key(|p| p.time);
    let captures = Captures {
        vantages: vec![VantagePoint {
            name: "c.core".into(),
            carrier: "c".into(),
            kind: VantageKind::CoreTap,
            packets: Some(PacketCapture {
                name: "c.core".into(),
                packets: pkts.into_iter().collect(),
            }),
            warrants: Vec::new(),
            call_records: Default::default(),
        }],
    };
    let truth = Truth {
        subscribers: (0..n)
            .map(|i| (format!("+1555{i:07}"), sub_ip(i), 0))
            .collect(),
        cells: (0..n).map(|_| vec![(Timestamp::ZERO, 0)]).collect(),
        messages,
        packets_seen: [0].into_iter().collect(),
        hours: 1,
        ..Truth::default()
    };
    (captures, truth)
}

#[test]
fn correlation_recall_falls_as_the_mixing_delay_rises() {
    // The analysis alone, on hand-built captures with a known mixing delay; the same property
    // over seeds on simulated runs (the OTT server's `mixing_delay`) is in
    // tests/countermeasures.rs.
    let mut last_recall = f64::INFINITY;
    let mut first_entropy = f64::INFINITY;
    let mut recalls = Vec::new();
    let mut degrees = Vec::new();
    for mix in [0, 1_000, 4_000, 9_000] {
        let (captures, truth) = relay_captures(20, 12, mix);
        let findings = Adversary::new("t").analyze(&captures);
        let s = score_truth(&truth, &findings.metadata);
        let x = &s.correlation;
        recalls.push((mix, x.top1_accuracy, x.mean_entropy_bits));
        degrees.push((mix, x.top1_accuracy, x.mean_entropy_bits, x.mean_degree));
        assert!(x.scored_visible > 200, "{x:?}");
        // Non-increasing, up to the sampling noise of chance-level accuracy (1 in 20 over
        // 240 uplinks: a standard deviation of 0.014).
        assert!(x.top1_accuracy <= last_recall + 0.03, "{recalls:?}");
        if mix > 0 {
            // Entropy saturates near log2 of the window's population once mixing starts.
            assert!(x.mean_entropy_bits > first_entropy, "{recalls:?}");
        }
        last_recall = x.top1_accuracy;
        if mix == 0 {
            first_entropy = x.mean_entropy_bits;
        }
        if mix == 0 {
            // Identified: the posterior is (nearly) certain.
            assert!(x.mean_degree < 0.1, "{x:?}");
        }
        if mix == 9_000 {
            // Top-1 at chance (1 in 20): the degree of anonymity of the posterior says so.
            assert!(x.top1_accuracy < 0.15, "{x:?}");
            assert!(x.mean_degree > 0.8, "{x:?}");
        }
        if mix == 0 {
            assert!(x.top1_accuracy > 0.95, "{x:?}");
            assert!(s.contacts.from_timing.recall > 0.95, "{:?}", s.contacts);
        }
    }
    assert!(recalls[3].1 < recalls[0].1 - 0.3, "{recalls:?}");
    // The figures of docs/analyses.md § 4 (`cargo test --test tests mixing_delay -- --nocapture`).
    eprintln!("(mixing ms, top-1, entropy bits, degree): {degrees:?}");
}

#[test]
fn record_edges_include_voice_calls_and_traces_follow_mobility() {
    let text = std::fs::read_to_string("sim/metadata.toml").expect("sim/metadata.toml");
    let r = run(parse(&text), 2);
    let m = &r.report.metadata;
    let truth = &r.output.truth;
    let carrier_calls = truth.calls.iter().filter(|c| c.kind == "carrier").count();
    assert!(carrier_calls > 0, "the scenario places carrier voice calls");
    let voice_edges = r
        .findings
        .metadata
        .contacts
        .iter()
        .filter(|e| e.kinds.contains(&"voice"))
        .count();
    assert!(voice_edges > 0);
    assert!(m.contacts.records_exact, "{:?}", m.contacts);
    // Peer-to-peer calls: the data records name the peer's address, which the core taps show
    // on the subscriber side of relay traffic: every such pair whose data record is held is an
    // edge, and no other.
    let p = &m.contacts.from_peer_records;
    assert!(p.truth > 0, "the scenario places peer-to-peer calls");
    assert!(p.correct > 0 && p.precision == 1.0, "{p:?}");
    // Records stamp the serving cell of the moment: every traced hour names the true cell.
    assert!(m.locations.hours_with_points > 0);
    assert_eq!(m.locations.accuracy, 1.0, "{:?}", m.locations);
    let again = run(parse(&text), 2);
    assert_eq!(
        serde_json::to_string(m).expect("json"),
        serde_json::to_string(&again.report.metadata).expect("json")
    );
}

/// Issue 15: the variant sweeps of docs/analyses.md (`sim/sweeps/variants/`, kept out of
/// `sim/sweeps/` because each is a whole measurement) plan, every grid point validated, and
/// every metric they ask for is a number in a report (salt-typhoon's golden report.json).
#[test]
fn variant_sweep_files_plan_and_name_real_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("sim/sweeps/variants"))
        .expect("sim/sweeps/variants")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/golden/salt-typhoon/report.json"))
            .expect("golden report"),
    )
    .expect("json");
    for f in files {
        let out = crate::support::wiretap(["validate".as_ref(), f.as_os_str()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(": ok — sweep"),
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // The metrics: one quoted path a line between `metrics = [` and `]`.
        let text = std::fs::read_to_string(&f).expect("sweep file");
        let list = text
            .split_once("metrics = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| list)
            .expect("a metrics list");
        let metrics: Vec<&str> = list
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').strip_prefix('"'))
            .filter_map(|l| l.strip_suffix('"'))
            .collect();
        assert!(metrics.len() > 10, "{}: {metrics:?}", f.display());
        for path in metrics {
            let mut v = &report;
            for step in path.split('.') {
                v = match v {
                    serde_json::Value::Array(a) => &a[step.parse::<usize>().expect("index")],
                    other => &other[step],
                };
            }
            assert!(v.is_number(), "{}: {path} is {v}", f.display());
        }
    }
}
