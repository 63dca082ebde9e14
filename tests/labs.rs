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
