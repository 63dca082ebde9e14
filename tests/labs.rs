//! The labs of `docs/labs/`: every observation a lab asks the student to make is checked here,
//! on the lab's scenario at its seed, through the CLI the student uses.

use std::path::Path;

use crate::support::{tempdir, wiretap};

fn protocol<'a>(report: &'a serde_json::Value, label: &str) -> &'a serde_json::Value {
    report["protocols"]
        .as_array()
        .expect("protocols")
        .iter()
        .find(|p| p["protocol"] == label)
        .unwrap_or_else(|| panic!("no {label} row"))
}

#[test]
fn lab1_sms_versus_e2ee_under_a_compromised_wiretap() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/labs/lab1.toml");
    let dir = tempdir("lab1");
    let html = dir.join("lab1.html");
    let out = wiretap([
        "run".as_ref(),
        scenario.as_os_str(),
        "--json".as_ref(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let n = |v: &serde_json::Value| v.as_u64().expect("a count");

    // 1. Every SMS is read, as a plaintext SMS PDU at the core.
    let sms = protocol(&r, "sms");
    assert!(n(&sms["messages"]) > 0);
    assert_eq!(n(&sms["messages_read_by_adversary"]), n(&sms["messages"]));
    let how = r["adversary"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["protocol"] == "sms")
        .expect("an SMS example");
    assert_eq!(how["method"], "plaintext SMS PDU");
    // 2. Every carrier-encrypted message is read too.
    let rcs = protocol(&r, "carrier-encrypted");
    assert!(n(&rcs["messages"]) > 0);
    assert_eq!(n(&rcs["messages_read_by_adversary"]), n(&rcs["messages"]));
    // 3. Every end-to-end message crossed the tap; none is read, for the stated reason.
    let e2e = protocol(&r, "noise:XX");
    assert!(n(&e2e["messages"]) > 0);
    assert_eq!(n(&e2e["messages_exposed_to_vantage"]), n(&e2e["messages"]));
    assert_eq!(n(&e2e["messages_read_by_adversary"]), 0);
    let why = &e2e["why_unreadable"][0];
    assert!(why["reason"]
        .as_str()
        .unwrap()
        .starts_with("end-to-end encrypted"));
    assert_eq!(n(&why["messages"]), n(&e2e["messages"]));
    // 4. The whole warrant list.
    let w = &r["adversary"]["warrants"];
    assert_eq!(n(&w["total"]), 2);
    assert_eq!(n(&w["learned"]), 2);
    // 5. Every true contact pair, the end-to-end ones by timing, with no false pair.
    let c = &r["metadata"]["contacts"];
    assert_eq!(c["all"]["correct"], c["all"]["truth"]);
    assert_eq!(c["all"]["reported"], c["all"]["truth"]);
    assert_eq!(c["records_exact"], true);
    assert!(n(&c["from_timing"]["correct"]) > 0);
    assert_eq!(c["from_timing"]["correct"], c["from_timing"]["reported"]);
    // The page the lab opens.
    let page = std::fs::read_to_string(&html).expect("lab1.html");
    for row in ["sms", "carrier-encrypted", "noise:XX"] {
        assert!(
            page.contains(&format!("<th scope=\"row\">{row}</th>")),
            "{row}"
        );
    }
}

/// A file of `sim/labs/`.
fn lab(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sim/labs")
        .join(name)
}

/// Runs `wiretap ARGS`, which must succeed, and returns its stdout.
fn ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = wiretap(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `wiretap run FILE --json EXTRA...`: the report.
fn run_json(file: &Path, extra: &[&std::ffi::OsStr]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), file.as_os_str(), "--json".as_ref()];
    args.extend_from_slice(extra);
    serde_json::from_slice(&ok(args)).expect("json report")
}

/// The `protocols` entry whose `row` is `row` (Signal apps have one row each).
fn row<'a>(report: &'a serde_json::Value, row: &str) -> &'a serde_json::Value {
    report["protocols"]
        .as_array()
        .expect("protocols")
        .iter()
        .find(|p| p["row"] == row)
        .unwrap_or_else(|| panic!("no {row} row"))
}

fn n(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The `on_path` line of `app`'s man in the middle, which must have attacked something.
fn mitm<'a>(report: &'a serde_json::Value, app: &str) -> &'a serde_json::Value {
    let a = report["on_path"]
        .as_array()
        .expect("on_path")
        .iter()
        .find(|a| a["app"] == app && a["mode"] == "mitm")
        .unwrap_or_else(|| panic!("no mitm line for {app}"));
    assert!(n(&a["attempted"]) > 0, "{a}");
    a
}

#[test]
fn every_lab_file_validates_and_is_commented_line_by_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/labs");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("sim/labs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        ok(["validate".as_ref(), file.as_os_str()]);
        // For a reader who has never seen TOML: every header and every setting says what it
        // is (the free-text description excepted), and the file says which guide it belongs to.
        let text = std::fs::read_to_string(&file).expect("lab file");
        assert!(
            text.contains("docs/labs/lab"),
            "{}: no guide",
            file.display()
        );
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t == "]" || t.starts_with("description =") {
                continue;
            }
            assert!(
                t.contains(" # "),
                "{}:{}: a line without a comment: {t}",
                file.display(),
                i + 1
            );
        }
    }
}

#[test]
fn lab2_metadata_from_stolen_call_records() {
    let dir = tempdir("lab2");
    let r = run_json(&lab("lab2.toml"), &["--out".as_ref(), dir.as_os_str()]);

    // 1. Nothing read, nothing exposed: records carry no content.
    for label in ["sms", "noise:XX"] {
        let p = row(&r, label);
        assert!(n(&p["messages"]) > 0, "{label}");
        assert_eq!(n(&p["messages_read_by_adversary"]), 0, "{label}");
        assert_eq!(n(&p["messages_exposed_to_vantage"]), 0, "{label}");
    }
    assert_eq!(n(&r["adversary"]["messages_read"]), 0);
    let c = &r["metadata"]["contacts"];
    // 2. Every SMS/carrier-voice pair from the records, and no false pair.
    let rec = &c["from_records"];
    assert!(n(&rec["truth"]) > 0);
    assert_eq!(c["records_exact"], true);
    assert_eq!(rec["correct"], rec["truth"]);
    assert_eq!(rec["reported"], rec["truth"]);
    // 3. The only pairs missed are those that talked through the end-to-end app.
    let all = &c["all"];
    assert_eq!(all["reported"], all["correct"]);
    assert_eq!(all["correct"], rec["correct"]);
    let app_pairs = n(&c["from_timing"]["truth"]);
    assert!(app_pairs > 0);
    assert_eq!(n(&c["from_timing"]["reported"]), 0);
    assert_eq!(n(&all["truth"]) - n(&all["correct"]), app_pairs);
    // The summary line under "What the adversary learned" scores against the same true graph
    // (messages and calls): a pair that only phoned is a real contact, not a wrong one.
    let summary = &r["adversary"]["contacts"];
    assert_eq!(summary["true_pairs"], all["truth"]);
    assert_eq!(summary["reported"], summary["correct"]);
    // 4. Every app user seen talking to a server; every data record names the server.
    let ott = &c["ott_users"];
    assert!(n(&ott["truth"]) > 0);
    assert_eq!(ott["correct"], ott["truth"]);
    assert_eq!(ott["reported"], ott["truth"]);
    let csv = std::fs::read_to_string(dir.join("metro.call-records.csv")).expect("records");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (kind, other) = (col("kind"), col("other_party"));
    let data: Vec<Vec<&str>> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[kind] == "data")
        .collect();
    assert!(!data.is_empty());
    assert!(data.iter().all(|f| f[other] == "203.0.113.10"));
    // 5. Home and work cells inferred for most subscribers, every one right.
    let loc = &r["metadata"]["locations"];
    assert_eq!(f(&loc["accuracy"]), 1.0);
    assert!(f(&loc["fraction"]) > 0.0);
    for place in ["home", "work"] {
        let p = &loc[place];
        assert_eq!(p["correct"], p["reported"], "{place}");
        assert!(2 * n(&p["reported"]) > n(&p["truth"]), "{place}: {p}");
    }
    // 6. Two hops from the warrant targets: part of the true neighbourhood, no wrong name.
    let k = &r["metadata"]["k_hops"];
    assert_eq!(k["from"], "warrant targets");
    assert_eq!(n(&k["targets"]), 3);
    let two = k["by_hops"]
        .as_array()
        .expect("by_hops")
        .iter()
        .find(|h| h["hops"] == 2)
        .expect("2 hops");
    assert_eq!(f(&two["precision"]), 1.0);
    assert!(f(&two["recall"]) > 0.0 && f(&two["recall"]) < 1.0, "{two}");
    assert!(f(&two["recovered_mean"]) < f(&two["true_mean"]), "{two}");
    // The page draws both graphs.
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(page.contains("id=\"true-graph-svg\""));
    assert!(page.contains("id=\"reconstructed-graph-svg\""));
}

#[test]
fn lab3_harvest_now_decrypt_later_and_forward_secrecy() {
    // Part 1: static keys stolen 30 days after the recording.
    let dir = tempdir("lab3");
    let html = dir.join("lab3.html");
    let r = run_json(&lab("lab3.toml"), &["--html".as_ref(), html.as_os_str()]);
    let theft = r["key_theft"].as_array().expect("key_theft");
    assert_eq!(theft.len(), 1, "{theft:?}");
    let t = &theft[0];
    assert_eq!(
        (t["at"].as_str(), t["kind"].as_str()),
        (Some("30d"), Some("static"))
    );
    assert_eq!(n(&t["false_claims"]), 0);
    // 1. The one-way patterns are read in full by the theft, all sent before it.
    let mut one_way = 0;
    for label in ["noise:N", "noise:K", "noise:X"] {
        let p = row(&r, label);
        let m = n(&p["messages"]);
        assert!(m > 0, "{label}");
        assert_eq!(n(&p["messages_read_by_adversary"]), m, "{label}");
        assert_eq!(n(&t["messages_by_protocol"][label]), m, "{label}");
        one_way += m;
    }
    assert_eq!(n(&t["sent_before_theft"]), one_way);
    // 2. IK and XX: exposed in full, none read, for forward secrecy.
    for label in ["noise:IK", "noise:XX"] {
        let p = row(&r, label);
        let m = n(&p["messages"]);
        assert!(m > 0, "{label}");
        assert_eq!(n(&p["messages_exposed_to_vantage"]), m, "{label}");
        assert_eq!(n(&p["messages_read_by_adversary"]), 0, "{label}");
        assert!(t["messages_by_protocol"].get(label).is_none(), "{label}");
        let why = &p["why_unreadable"][0];
        assert!(
            why["reason"]
                .as_str()
                .unwrap()
                .contains("(forward secrecy)"),
            "{why}"
        );
        assert_eq!(n(&why["messages"]), m, "{label}");
    }
    let page = std::fs::read_to_string(&html).expect("lab3.html");
    assert!(page.contains("id=\"key-theft\""));

    // Part 2: a quantum computer.
    let q = run_json(&lab("lab3-quantum.toml"), &[]);
    // 3. Every classic message opens, Signal's X3DH included.
    for label in ["noise:XX", "signal:signal-x3dh"] {
        let p = row(&q, label);
        assert!(n(&p["messages"]) > 0, "{label}");
        assert_eq!(p["messages_read_by_adversary"], p["messages"], "{label}");
    }
    let how = q["adversary"]["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .find(|e| e["protocol"] == "signal:signal-x3dh")
        .expect("an X3DH example");
    assert!(
        how["method"].as_str().unwrap().starts_with("quantum"),
        "{how}"
    );
    // 4. The hybrid apps stay sealed; every PQXDH initial message is refused for ML-KEM.
    for label in ["noise:XXhfs", "signal+pq:signal-pqxdh"] {
        let p = row(&q, label);
        assert!(n(&p["messages"]) > 0, "{label}");
        assert_eq!(p["messages_exposed_to_vantage"], p["messages"], "{label}");
        assert_eq!(n(&p["messages_read_by_adversary"]), 0, "{label}");
    }
    let qt = &q["key_theft"][0];
    assert_eq!(qt["kind"], "quantum");
    let refused: u64 = qt["signal"]["initial_refused"]
        .as_object()
        .expect("initial_refused")
        .iter()
        .filter(|(why, _)| why.contains("ML-KEM"))
        .map(|(_, c)| n(c))
        .sum();
    assert_eq!(refused, n(&row(&q, "signal+pq:signal-pqxdh")["sessions"]));
    assert!(n(&qt["signal"]["initial_opened"]) > 0);
}

#[test]
fn lab4_an_active_intercept_node_and_key_verification() {
    let dir = tempdir("lab4");
    let html = dir.join("lab4.html");
    let r = run_json(&lab("lab4.toml"), &["--html".as_ref(), html.as_os_str()]);
    // 1. No identity keys, or unchecked ones: read silently, everything delivered.
    for app in ["chat-nn", "chat-open"] {
        let a = mitm(&r, app);
        assert_eq!(a["succeeded_silently"], a["attempted"], "{a}");
        assert!(n(&a["messages"]) > 0, "{a}");
        assert_eq!(a["messages_read"], a["messages"], "{a}");
        assert_eq!(a["messages_delivered"], a["messages"], "{a}");
    }
    // 2. Pinned keys, the adversary's own key shown: every attempt caught by the key check,
    //    nothing read, the attacked messages not delivered.
    let a = mitm(&r, "chat-pinned");
    assert_eq!(a["detected"], a["attempted"], "{a}");
    assert_eq!(
        a["detected_by"],
        serde_json::json!({ "unexpected-remote-static": a["attempted"] })
    );
    assert!(n(&a["messages"]) > 0, "{a}");
    assert_eq!(n(&a["messages_read"]), 0, "{a}");
    assert_eq!(n(&a["messages_delivered"]), 0, "{a}");
    // 3. Pinned keys, the real owner's public key shown: es cannot be computed, nothing read.
    let b = mitm(&r, "chat-pinned-b");
    assert_eq!(b["detected"], b["attempted"], "{b}");
    assert_eq!(n(&b["messages_read"]), 0, "{b}");
    assert_eq!(n(&b["succeeded_silently"]), 0, "{b}");
    assert!(
        b["example_outcome"]
            .as_str()
            .unwrap_or_default()
            .contains("could not compute es"),
        "{b}"
    );
    // 4. Stolen device state: the Signal takeover is silent, reads every message of the
    //    sessions it took over, and keeps every session it follows (none heals).
    let s = mitm(&r, "signal");
    assert_eq!(s["succeeded_silently"], s["attempted"], "{s}");
    assert_eq!(n(&s["detected"]), 0, "{s}");
    assert!(n(&s["messages"]) > 0, "{s}");
    assert_eq!(s["messages_read"], s["messages"], "{s}");
    let theft = r["key_theft"]
        .as_array()
        .expect("key_theft")
        .iter()
        .find(|t| t["kind"] == "device-state")
        .expect("the device-state theft");
    let sig = &theft["signal"];
    assert!(n(&sig["sessions_followed"]) > 0, "{sig}");
    assert_eq!(n(&sig["healed"]), 0, "{sig}");
    assert_eq!(sig["kept_by_takeover"], sig["sessions_followed"], "{sig}");
    assert_eq!(n(&r["adversary"]["false_recoveries"]), 0);
    let page = std::fs::read_to_string(&html).expect("lab4.html");
    assert!(page.contains("id=\"on-path\""));
}

/// `summary.csv` of a sweep: (grid values joined by '/', metric) -> mean.
fn summary_means(csv: &str) -> std::collections::BTreeMap<(String, String), f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (metric, mean) = (col("metric"), col("mean"));
    let grid: Vec<usize> = (1..metric).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let point = grid.iter().map(|&i| f[i]).collect::<Vec<_>>().join("/");
            let m: f64 = f[mean].parse().expect("mean");
            ((point, f[metric].to_owned()), m)
        })
        .collect()
}

#[test]
fn lab5_traffic_analysis_and_what_countermeasures_cost() {
    // 1. No countermeasure: nothing read, yet every visible recipient ranked first and every
    //    scored length exact (far above the base rate).
    let r = run_json(&lab("lab5.toml"), &[]);
    let p = row(&r, "noise:XX");
    assert!(n(&p["messages"]) > 0);
    assert_eq!(n(&p["messages_read_by_adversary"]), 0);
    let c = &r["metadata"]["correlation"];
    assert!(n(&c["scored_visible"]) > 0);
    assert_eq!(c["top1_correct"], c["scored_visible"]);
    let s = &r["metadata"]["sizes"];
    assert!(n(&s["scored_messages"]) > 0);
    assert_eq!(s["exact_correct"], s["scored_messages"]);
    assert!(f(&s["exact_accuracy"]) > f(&s["exact_base_rate"]));

    // 2-5. The sweep, from its summary.
    let dir = tempdir("lab5-sweep");
    ok([
        "sweep".as_ref(),
        lab("lab5-sweep.toml").as_os_str(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--quiet".as_ref(),
    ]);
    let means = summary_means(&std::fs::read_to_string(dir.join("summary.csv")).expect("csv"));
    let get = |point: &str, metric: &str| -> f64 {
        *means
            .get(&(point.to_owned(), metric.to_owned()))
            .unwrap_or_else(|| panic!("no {metric} at {point}"))
    };
    let top1 = |p: &str| get(p, "metadata.correlation.top1_accuracy");
    let degree = |p: &str| get(p, "metadata.correlation.mean_degree");
    let exact = |p: &str| get(p, "metadata.sizes.exact_accuracy");
    let base_rate = |p: &str| get(p, "metadata.sizes.exact_base_rate");
    let bytes = |p: &str| get(p, "costs.apps.chat.bytes_overhead");
    let p50 = |p: &str| get(p, "costs.latency.noise:XX.p50_s");
    let (none, pad, cover, mix, all) = (
        "none/none/0",
        "block/none/0",
        "none/poisson/0",
        "none/none/30s",
        "block/poisson/30s",
    );
    assert_eq!(top1(none), 1.0);
    assert_eq!(exact(none), 1.0);
    assert_eq!(bytes(none), 0.0);
    // 2. Padding: the exact length at or below the base rate, for bytes, no delay; timing
    //    untouched.
    assert!(
        exact(pad) <= base_rate(pad),
        "{} {}",
        exact(pad),
        base_rate(pad)
    );
    assert!(bytes(pad) > 0.0);
    assert!((p50(pad) - p50(none)).abs() < 0.05);
    assert!(top1(pad) >= 0.99);
    // 3. Cover traffic: more uncertainty over all uplinks, the most bytes of one countermeasure,
    //    no delay, and every real message still linked.
    assert!(degree(cover) > degree(none) + 0.3);
    assert!(bytes(cover) > bytes(pad));
    assert!((p50(cover) - p50(none)).abs() < 0.05);
    assert!(top1(cover) >= 0.99);
    // 4. Mixing: breaks the link, costs delay, few bytes.
    assert!(top1(mix) < 0.5, "{}", top1(mix));
    assert!(get(mix, "metadata.correlation.edges_visible.recall") < 0.5);
    assert!(p50(mix) > p50(none) + 10.0);
    assert!(bytes(mix) < bytes(pad));
    // 5. All three: no more linked and no cheaper than any one alone.
    for one in [pad, cover, mix] {
        assert!(top1(all) <= top1(one), "{one}");
        assert!(degree(all) >= degree(one), "{one}");
        assert!(bytes(all) >= bytes(one), "{one}");
    }
    assert!(exact(all) <= base_rate(all));
    assert!(p50(all) > p50(none) + 10.0);
}
