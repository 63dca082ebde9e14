//! The CLI as a user meets it.

use std::ffi::OsStr;
use std::process::Command;

use crate::support::{tempdir, wiretap};

#[test]
fn run_json_has_the_documented_fields() {
    let out = wiretap(["run", "small-lab", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["scenario"], "small-lab");
    assert_eq!(v["seed"], 1);
    let protocols = v["protocols"].as_array().expect("protocols[]");
    assert!(!protocols.is_empty());
    for p in protocols {
        for key in [
            "protocol",
            "sessions",
            "messages",
            "messages_delivered",
            "messages_read_by_adversary",
        ] {
            assert!(p.get(key).is_some(), "protocols[] lacks {key}: {p}");
        }
    }
    assert!(v["adversary"]["vantage_points"]
        .as_array()
        .is_some_and(|a| a.len() == 2));
    assert!(v["adversary"]["warrant_targets_learned"]
        .as_u64()
        .is_some_and(|n| n >= 1));
}

#[test]
fn run_prints_a_readable_summary() {
    let out = wiretap(["run", "small-lab"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "protocol",
        "sms",
        "noise:XX",
        "warrant list",
        "Why the rest stayed unreadable",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
}

#[test]
fn a_malformed_scenario_is_reported_at_file_line_column() {
    let dir = tempdir("cli-bad");
    let path = dir.join("bad.toml");
    let text = scenario::builtin("small-lab")
        .expect("built in")
        .replace("duration = \"1h\"", "duration = \"one hour\"");
    std::fs::write(&path, text).expect("write");
    for cmd in ["validate", "run"] {
        let out = wiretap([cmd.as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:12:"), "{cmd}: {err}");
        assert!(err.contains("hint"), "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
}

#[test]
fn an_unknown_scenario_name_says_what_exists() {
    let out = wiretap(["run", "no-such-scenario"]);
    // Bad input (issue 14): exit code 2.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("salt-typhoon") && err.contains("hint"),
        "{err}"
    );
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    for (name, _) in scenario::BUILTIN_SCENARIOS {
        let path = format!("{}/sim/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let mut args = vec!["validate", &path];
        args.extend(crate::support::test_flags(name));
        let out = wiretap(args);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Output files are written whole or not at all (a hidden `.NAME.partial`, then a rename), and
/// `report.json` last, so an interrupted run never leaves a file cut short: after a run, no
/// partial file is left and every file the report names is there; a write into a directory that
/// cannot be written leaves nothing behind and exits 2.
#[test]
fn out_files_are_written_whole_with_report_json_last() {
    let dir = tempdir("cli-atomic");
    let out = wiretap([
        OsStr::new("run"),
        "small-lab".as_ref(),
        "--out".as_ref(),
        dir.as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("out dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
    // report.json is the newest file: written after every other.
    let modified = |n: &str| {
        std::fs::metadata(dir.join(n))
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let last = modified("report.json");
    for n in &names {
        assert!(modified(n) <= last, "{n} was written after report.json");
    }
    for n in [
        "records.csv",
        "records.schema.json",
        "iri.jsonl",
        "report.html",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing: {names:?}");
    }
    // A directory that cannot be written: the run fails with 2 and leaves no partial file.
    let ro = tempdir("cli-atomic-ro");
    let mut perm = std::fs::metadata(&ro).expect("dir").permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).expect("chmod");
    let denied = std::fs::File::create(ro.join("probe")).is_err();
    if denied {
        let out = wiretap([
            OsStr::new("run"),
            "small-lab".as_ref(),
            "--out".as_ref(),
            ro.as_ref(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_dir(&ro).expect("dir").count(), 0);
    }
}

/// tshark must open every pcap with zero malformed packets. CI installs tshark; on a machine
/// without it this test says so and checks only the pcap header, unless `CI` is set, where a
/// missing tshark fails.
#[test]
fn pcaps_open_in_tshark_without_malformed_packets() {
    let dir = tempdir("cli-pcap");
    let out = wiretap([
        OsStr::new("run"),
        "small-lab".as_ref(),
        "--out".as_ref(),
        dir.as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("report.json").exists());
    let pcaps: Vec<_> = std::fs::read_dir(&dir)
        .expect("out dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    assert_eq!(pcaps.len(), 2, "{pcaps:?}");
    let have_tshark = Command::new("tshark").arg("--version").output().is_ok();
    if !have_tshark {
        assert!(std::env::var_os("CI").is_none(), "CI must install tshark");
        eprintln!("tshark not installed: checking pcap headers only (CI runs the full check)");
        for p in &pcaps {
            let b = std::fs::read(p).expect("pcap");
            let magic = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            assert_eq!(magic, 0xa1b2_3c4d, "{}", p.display());
        }
        return;
    }
    for p in &pcaps {
        let count = Command::new("tshark")
            .arg("-r")
            .arg(p)
            .output()
            .expect("tshark");
        assert!(
            count.status.success(),
            "{}",
            String::from_utf8_lossy(&count.stderr)
        );
        let total = String::from_utf8_lossy(&count.stdout).lines().count();
        assert!(total > 0, "{} has no packets", p.display());
        let bad = Command::new("tshark")
            .arg("-r")
            .arg(p)
            .args(["-Y", "_ws.malformed || _ws.expert.severity >= \"error\""])
            .output()
            .expect("tshark");
        assert!(
            bad.status.success(),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
        let n = String::from_utf8_lossy(&bad.stdout).lines().count();
        assert_eq!(
            n,
            0,
            "{}: {n} malformed of {total}:\n{}",
            p.display(),
            String::from_utf8_lossy(&bad.stdout)
        );
    }
}

/// Runs small-lab with `--trace` (and `RUST_LOG` as given) and returns the trace's events.
fn trace_events(name: &str, rust_log: Option<&str>) -> (String, Vec<serde_json::Value>) {
    let dir = tempdir(name);
    let path = dir.join("trace.jsonl");
    let mut cmd = Command::new(crate::support::bin());
    cmd.args([OsStr::new("run"), "small-lab".as_ref(), "--json".as_ref()])
        .arg("--trace")
        .arg(&path);
    match rust_log {
        Some(l) => cmd.env("RUST_LOG", l),
        None => cmd.env_remove("RUST_LOG"),
    };
    let out = cmd.output().expect("run wiretap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("trace written");
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON event"))
        .collect();
    (text, events)
}

#[test]
fn trace_file_holds_structured_json_events() {
    let (text, events) = trace_events("cli-trace", None);
    assert!(
        events.iter().any(|e| e["message"] == "run starts"),
        "{text}"
    );
    // Simulated time only: no wall-clock timestamp anywhere.
    assert!(events.iter().all(|e| e.get("timestamp").is_none()));
}

/// A researcher follows one message with jq: every message has a `sent` and a `delivered`
/// event carrying its id, each inside the span of the node it happened at, with the simulated
/// time; delivery is never before sending.
#[test]
fn trace_follows_every_message_from_sender_to_recipient_in_simulated_time() {
    let (text, events) = trace_events("cli-trace-lifecycle", None);
    let at = |what: &str| -> std::collections::BTreeMap<u64, (u64, String)> {
        events
            .iter()
            .filter(|e| e["message"] == what)
            .map(|e| {
                (
                    e["message_id"].as_u64().expect("message_id"),
                    (
                        e["span"]["t_ns"].as_u64().expect("simulated time"),
                        e["span"]["node"].as_str().expect("node").to_string(),
                    ),
                )
            })
            .collect()
    };
    let (sent, delivered) = (at("sent"), at("delivered"));
    assert!(sent.len() > 10, "{text}");
    assert_eq!(
        sent.keys().collect::<Vec<_>>(),
        delivered.keys().collect::<Vec<_>>()
    );
    for (id, (t_sent, from)) in &sent {
        let (t_del, to) = &delivered[id];
        assert!(t_del >= t_sent, "message {id} delivered before it was sent");
        assert_ne!(from, to, "message {id} sent and delivered at one node");
        assert!(
            from.contains(".sub") && to.contains(".sub"),
            "{from} -> {to}"
        );
    }
    // Packets only at trace level.
    assert!(!events.iter().any(|e| e["message"] == "packet sent"));
}

#[test]
fn trace_level_adds_packets_and_is_deterministic() {
    let (a, events) = trace_events("cli-trace-a", Some("trace"));
    let (b, _) = trace_events("cli-trace-b", Some("trace"));
    assert!(events.iter().any(|e| e["message"] == "packet sent"));
    assert!(events.iter().any(|e| e["message"] == "packet received"));
    assert!(a == b, "two runs of one seed wrote different traces");
}

#[test]
fn matrix_json_has_the_documented_shape_and_all_default_patterns() {
    let out = wiretap(["matrix", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let patterns = v["patterns"].as_array().expect("patterns array");
    assert_eq!(
        patterns.len(),
        38 + 21,
        "the 38 base and 21 psk patterns by default"
    );
    let nk = patterns.iter().find(|p| p["pattern"] == "NK").expect("NK");
    let m1 = &nk["messages"][0];
    assert_eq!(m1["index"], 1);
    assert_eq!(m1["direction"], "->");
    assert_eq!(m1["kind"], "handshake");
    assert_eq!(
        (m1["source"].as_u64(), m1["destination"].as_u64()),
        (Some(0), Some(2))
    );
    for e in 1..=8 {
        assert!(m1["experiments"][format!("E{e}")].is_boolean(), "E{e}");
        assert!(m1["evidence"][format!("E{e}")]["why"].is_array(), "E{e}");
    }
    assert_eq!(nk["identity_hiding"]["initiator"], serde_json::Value::Null);
    assert_eq!(nk["identity_hiding"]["responder"], 3);
}

#[test]
fn matrix_table_explains_levels_and_bad_patterns_get_a_hint() {
    let out = wiretap(["matrix", "--pattern", "NN", "--pattern", "XK1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NN  (Noise_NN_25519"), "{text}");
    assert!(text.contains("XK1  (Noise_XK1_25519"), "{text}");
    assert!(text.contains("destination 0: no confidentiality"), "{text}");
    let bad = wiretap(["matrix", "--pattern", "XY"]);
    // A bad pattern is bad input (issue 14): exit code 2.
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("pattern `XY`") && err.contains("hint:"),
        "{err}"
    );
}

/// Issue 14: every bad input (files, patterns, flags, unwritable outputs) exits with code 2 and
/// a message that names it; nothing is written silently into the void.
#[test]
fn bad_inputs_exit_with_code_2_and_say_why() {
    let sim = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    let missing = sim.join("no-such-scenario.toml");
    let latin1 = tempdir("cli-latin1").join("latin1.toml");
    std::fs::write(&latin1, b"[scenario]\nname = \"caf\xe9\"\n").expect("write");
    let cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            vec!["run".as_ref(), missing.as_os_str()],
            "no-such-scenario",
        ),
        (vec!["run".as_ref(), sim.as_os_str()], "is a directory"),
        (
            vec!["validate".as_ref(), latin1.as_os_str()],
            "invalid byte 0xe9 at byte offset 22 (line 2, column 12)",
        ),
        (
            vec!["matrix".as_ref(), "--pattern".as_ref(), "QQ".as_ref()],
            "hint:",
        ),
        (
            vec![
                "run".as_ref(),
                "small-lab".as_ref(),
                "--out".as_ref(),
                "/dev/full/out".as_ref(),
            ],
            "cannot write /dev/full/out",
        ),
        (
            vec![
                "run".as_ref(),
                "small-lab".as_ref(),
                "--json".as_ref(),
                "--trace".as_ref(),
                "/dev/full".as_ref(),
            ],
            "cannot write /dev/full",
        ),
    ];
    for (args, needle) in cases {
        let out = wiretap(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Issue 15: the terminal report says what the JSON says, and does not claim what did not
/// happen: warrant kinds as `iri` / `iri+content` (not Rust names), no "precision 1.00" for an
/// empty report, no countermeasure costs of "+0.0 %" when none is on, and the two contact
/// graphs named apart.
#[test]
fn terminal_report_wording_matches_the_facts() {
    let text = |name: &str| {
        let out = wiretap(["run", name]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let st = text("salt-typhoon");
    assert!(
        st.contains("  iri+content  ") && !st.contains("IriAndContent"),
        "{st}"
    );
    assert!(!st.contains("Countermeasures and their cost"), "{st}");
    assert!(st.contains("contact graph from what it read in the clear"));
    assert!(st.contains("contact graph with every analysis"));
    let cm = text("countermeasures");
    assert!(cm.contains("Countermeasures and their cost"), "{cm}");
    assert!(
        cm.contains("0 pairs reported, 0 correct (precision n/a,"),
        "{cm}"
    );
    assert!(
        !cm.contains("0 of 0 expected SMS/voice pairs (exact)"),
        "{cm}"
    );
}

/// The README's first command, `cargo run --release`, runs `wiretap` with no arguments: the
/// default scenario with every flag at its default (a default built in code once had a work
/// budget of 0 and refused it).
#[test]
fn no_arguments_runs_the_default_scenario() {
    let out = wiretap(std::iter::empty::<&str>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("scenario `salt-typhoon`"), "{text}");
}

/// Every shipped scenario has its row in docs/scenario.md's table and is named in the README, so
/// the lists cannot fall behind `sim/` again (issue 15: 9 of 14 were listed).
#[test]
fn every_shipped_scenario_is_listed_in_the_docs_and_the_readme() {
    let root = env!("CARGO_MANIFEST_DIR");
    let docs = std::fs::read_to_string(format!("{root}/docs/scenario.md")).unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(format!("{root}/sim")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !docs.contains(&format!("| `{name}.toml` |")) {
            missing.push(format!("docs/scenario.md: {name}.toml"));
        }
        if !readme.contains(&format!("`{name}`")) {
            missing.push(format!("README.md: {name}"));
        }
        assert!(
            scenario::builtin(&name).is_some(),
            "{name} is not compiled in (scenario::BUILTIN_SCENARIOS)"
        );
    }
    assert!(missing.is_empty(), "not listed: {missing:?}");
}

/// A reader that closes the pipe early (`wiretap list | head -1`) is not an error and never a
/// panic: the commands that print several lines stop quietly with exit 0.
#[test]
fn a_closed_stdout_pipe_ends_a_command_quietly() {
    for args in [&["list"][..], &["explain", "XX"][..]] {
        let mut child = std::process::Command::new(crate::support::bin())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn wiretap");
        // Close the read end before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "wiretap {args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "wiretap {args:?}: {err}");
    }
}

/// `--scale F`: the same scenario with every carrier's subscribers (and random warrant count)
/// multiplied by F; `carrier-scale` (a million subscribers) is refused at the default budget,
/// checked whole with a raised one, and runs at `salt-typhoon`'s size with `--scale 0.002`.
#[test]
fn scale_resizes_every_carrier_and_bad_factors_are_refused() {
    let stdout = |args: &[&str]| {
        let out = wiretap(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = wiretap(["validate", "carrier-scale"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("sim/carrier-scale.toml:") && err.contains("--max-work"),
        "{err}"
    );
    assert!(
        err.contains("hint: lower `subscribers` (or run every carrier smaller with --scale F)"),
        "{err}"
    );
    let whole = stdout(&["validate", "carrier-scale", "--max-work", "100000000"]);
    assert!(whole.contains("3 carriers, 1000000 subscribers"), "{whole}");
    assert!(whole.contains("; peak memory about 25."), "{whole}");
    let small = stdout(&["validate", "carrier-scale", "--scale", "0.002"]);
    assert!(small.contains("3 carriers, 2000 subscribers"), "{small}");
    let doubled = stdout(&["validate", "small-lab", "--scale", "2"]);
    assert!(doubled.contains("1 carriers, 40 subscribers"), "{doubled}");

    // A scaled run is the scenario at that size: twice the subscribers send about twice the
    // messages (the social graph is redrawn, so not exactly).
    let size = |args: &[&str]| -> (u64, u64) {
        let json: serde_json::Value =
            serde_json::from_str(&stdout(args)).expect("the report is JSON");
        let rows = json["protocols"].as_array().expect("protocol rows");
        let messages = rows.iter().filter_map(|r| r["messages"].as_u64()).sum();
        (
            json["network"]["subscribers"].as_u64().unwrap_or(0),
            messages,
        )
    };
    let (subs1, one) = size(&["run", "small-lab", "--json", "--quiet"]);
    let (subs2, two) = size(&["run", "small-lab", "--json", "--quiet", "--scale", "2"]);
    assert_eq!((subs1, subs2), (20, 40));
    let ratio = two as f64 / one as f64;
    assert!((1.4..2.6).contains(&ratio), "{one} then {two} messages");

    for bad in ["0", "-1", "nan", "inf", "abc", "20000"] {
        let out = wiretap(["run", "small-lab", &format!("--scale={bad}")]);
        assert_eq!(out.status.code(), Some(2), "--scale={bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("above 0 and at most 10000") && err.contains("hint"),
            "{err}"
        );
    }
    let sweep = format!(
        "{}/sim/sweeps/sweep-example.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = wiretap(["validate", &sweep, "--scale", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scale applies to scenarios"));
}

/// A run whose estimated peak memory is above the limit (default: what the machine has
/// available) is refused before it starts, with a `--scale` that fits, instead of being killed
/// by the kernel later; the suggested scale then runs.
#[test]
fn a_run_that_cannot_fit_in_memory_is_refused_with_a_scale_that_fits() {
    let out = wiretap([
        "run",
        "carrier-scale",
        "--max-work",
        "100000000",
        "--max-memory-gb",
        "24",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sim/carrier-scale.toml: this run needs about")
            && err.contains("above the limit given with --max-memory-gb (24.0 GB)")
            && err.contains("hint: run it smaller with --scale 0.85"),
        "{err}"
    );

    let refused = wiretap(["run", "salt-typhoon", "-q", "--max-memory-gb", "0.06"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    let scale = err
        .split("--scale ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --scale in {err}"));
    let fits = wiretap([
        "run",
        "salt-typhoon",
        "-q",
        "--max-memory-gb",
        "0.06",
        "--scale",
        scale,
    ]);
    assert!(
        fits.status.success(),
        "{}",
        String::from_utf8_lossy(&fits.stderr)
    );
    for bad in ["0", "-2", "nan", "lots"] {
        let out = wiretap(["run", "small-lab", &format!("--max-memory-gb={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
