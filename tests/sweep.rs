//! `wiretap sweep` and `wiretap merge` as a user meets them: the files do not depend on the
//! thread count or on sharding, merges refuse what does not fit, bad sweep files are reported
//! at file:line:column with a hint.
//!
//! Every sweep here runs a tiny scenario (6 subscribers, 10 minutes) so the module stays fast.

use std::path::{Path, PathBuf};

use crate::support::{tempdir, wiretap};

/// One carrier, 6 subscribers, 10 minutes of SMS and Noise XX.
const TINY: &str = r#"
[scenario]
name = "tiny"
description = "sweep test"
duration = "10m"

[[app]]
name = "sms"
kind = "sms"
[[app]]
name = "chat-xx"
kind = "noise"
pattern = "XX"

[[carrier]]
name = "lab"
subscribers = 6
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
[carrier.population]
sms = 0.5
chat-xx = 0.5
[carrier.warrants]
count = 1

[traffic]
mean_degree = 2.0
cross_carrier = 0.0
messages_per_contact_per_day = 200.0
reply_delay = "1m"

[adversary]
[[adversary.vantage]]
kind = "mediation"
carrier = "lab"
[[adversary.vantage]]
kind = "core-tap"
carrier = "lab"
"#;

/// 2 × 2 grid points × 3 seeds = 12 runs.
const SWEEP: &str = r#"
[sweep]
name = "tiny-sweep"
scenario = "tiny.toml"
seeds = { from = 1, count = 3 }
metrics = [
    "adversary.contacts.recall",
    "adversary.messages_read",
    "protocols.noise:XX.messages",
]
[grid]
"traffic.mean_degree" = [1.0, 3.0]
"links.radio.loss" = [0.0, 0.2]
"#;

const FILES: [&str; 5] = [
    "runs.csv",
    "runs.jsonl",
    "summary.csv",
    "summary.jsonl",
    "sweep.json",
];

/// A directory holding `tiny.toml` and `sweep.toml` (= `sweep`).
fn setup(name: &str, sweep: &str) -> PathBuf {
    let dir = tempdir(name);
    std::fs::write(dir.join("tiny.toml"), TINY).expect("write scenario");
    std::fs::write(dir.join("sweep.toml"), sweep).expect("write sweep");
    dir
}

/// Runs `wiretap` with `args`, asserting success; returns stdout and stderr.
fn ok<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> (String, String) {
    let out = wiretap(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Runs `wiretap` with `args`, asserting exit code 2 and no panic; returns stderr.
fn bad<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> String {
    let out = wiretap(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn sweep(dir: &Path, out: &str, extra: &[&str]) {
    let mut args = vec![
        "sweep".to_owned(),
        dir.join("sweep.toml").display().to_string(),
        "--out".to_owned(),
        dir.join(out).display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    ok(args);
}

fn merge(dir: &Path, slices: &[&str], out: &str) -> std::process::Output {
    let mut args = vec!["merge".to_owned()];
    args.extend(slices.iter().map(|s| dir.join(s).display().to_string()));
    args.push("--out".to_owned());
    args.push(dir.join(out).display().to_string());
    wiretap(args)
}

fn read(dir: &Path, sub: &str, file: &str) -> String {
    std::fs::read_to_string(dir.join(sub).join(file)).expect("read output")
}

/// Every file under `dir/sub` (charts/ included), by path relative to it.
fn all_files(dir: &Path, sub: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let root = dir.join(sub);
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

#[test]
fn rows_do_not_depend_on_the_thread_count() {
    let dir = setup("sweep-threads", SWEEP);
    sweep(&dir, "t1", &["--threads", "1"]);
    sweep(&dir, "t2", &["--threads", "2"]);
    for f in FILES {
        assert_eq!(read(&dir, "t1", f), read(&dir, "t2", f), "{f}");
    }
    // Charts and the page too: every file, byte for byte.
    let (t1, t2) = (all_files(&dir, "t1"), all_files(&dir, "t2"));
    assert_eq!(t1.keys().collect::<Vec<_>>(), t2.keys().collect::<Vec<_>>());
    for (name, bytes) in &t1 {
        assert!(*bytes == t2[name], "{name} differs between 1 and 2 threads");
    }
    // 3 metrics x 2 grid keys.
    assert_eq!(
        t1.keys().filter(|k| k.starts_with("charts")).count(),
        6,
        "{:?}",
        t1.keys()
    );
    assert!(t1.contains_key("sweep.html"));
    let csv = read(&dir, "t1", "runs.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "run,point,traffic.mean_degree,links.radio.loss,seed,adversary.contacts.recall,\
             adversary.messages_read,protocols.noise:XX.messages,events"
        )
    );
    assert_eq!(lines.clone().count(), 12);
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 9, "{line}");
        assert_eq!(cells[0], i.to_string());
        assert_eq!(cells[1], (i / 3).to_string());
        assert_eq!(cells[4], (i % 3 + 1).to_string());
        // A protocol without traffic in a run has no line in the report: its cell may be empty.
        assert!(cells[..6].iter().all(|c| !c.is_empty()), "{line}");
        assert!(!cells[8].is_empty(), "{line}");
    }
    // 4 points × (3 metrics + events), plus the header.
    assert_eq!(read(&dir, "t1", "summary.csv").lines().count(), 17);
}

#[test]
fn shards_merge_into_the_bytes_of_one_run() {
    let dir = setup("sweep-shards", SWEEP);
    sweep(&dir, "all", &["--threads", "2"]);
    for i in 0..3 {
        sweep(
            &dir,
            &format!("s{i}"),
            &["--shard", &format!("{i}/3"), "--threads", "1"],
        );
    }
    assert_eq!(
        read(&dir, "s1", "runs.csv").lines().count(),
        5,
        "runs 1, 4, 7, 10"
    );
    let out = merge(&dir, &["s2", "s0", "s1"], "merged");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in FILES {
        assert_eq!(read(&dir, "all", f), read(&dir, "merged", f), "{f}");
    }
    // The merge writes the charts and the page of the unsharded sweep, byte for byte.
    let (all, merged) = (all_files(&dir, "all"), all_files(&dir, "merged"));
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &all {
        assert!(
            *bytes == merged[name],
            "{name}: merged differs from the unsharded sweep"
        );
    }
    // Merging a whole sweep again changes nothing.
    let out = merge(&dir, &["all"], "again");
    assert!(out.status.success());
    assert_eq!(
        read(&dir, "all", "runs.csv"),
        read(&dir, "again", "runs.csv")
    );
}

#[test]
fn merge_refuses_other_sweeps_overlaps_and_gaps() {
    let dir = setup("sweep-merge-refusals", SWEEP);
    for i in 0..3 {
        sweep(&dir, &format!("s{i}"), &["--shard", &format!("{i}/3")]);
    }
    // Another sweep: one more seed.
    std::fs::write(
        dir.join("sweep.toml"),
        SWEEP.replace("count = 3", "count = 4"),
    )
    .expect("write");
    sweep(&dir, "other", &["--shard", "2/3"]);

    let err = |slices: &[&str]| {
        let out = merge(&dir, slices, "m");
        assert_eq!(out.status.code(), Some(2));
        let e = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(e.contains("hint:") && !e.contains("panicked"), "{e}");
        e
    };
    let e = err(&["s0", "s1", "other"]);
    assert!(
        e.contains("different sweeps") && e.contains("fingerprint"),
        "{e}"
    );
    let e = err(&["s0", "s1", "s1", "s2"]);
    assert!(
        e.contains("overlapping") && e.contains("both hold runs 1, 4, 7, 10"),
        "{e}"
    );
    let e = err(&["s0", "s2"]);
    assert!(e.contains("4 of 12 runs are missing: 1, 4, 7, 10"), "{e}");
    assert!(e.contains("shard 1/3"), "{e}");
    let e = err(&["s0", "no-such-dir"]);
    assert!(
        e.contains("no-such-dir") && e.contains("not a sweep output"),
        "{e}"
    );

    // A damaged slice: a row cut off.
    let csv = read(&dir, "s1", "runs.csv");
    let cut: Vec<&str> = csv.lines().collect();
    std::fs::write(
        dir.join("s1").join("runs.csv"),
        cut[..cut.len() - 1].join("\n") + "\n",
    )
    .expect("write");
    let e = err(&["s0", "s1", "s2"]);
    assert!(e.contains("s1/runs.csv") && e.contains("truncated"), "{e}");

    // Issue 14: a runs.csv cut inside its last field (no final newline) is refused, not merged.
    sweep(&dir, "s1", &["--shard", "1/3"]);
    let csv = read(&dir, "s1", "runs.csv");
    std::fs::write(dir.join("s1").join("runs.csv"), &csv[..csv.len() - 3]).expect("write");
    let e = err(&["s0", "s1", "s2"]);
    assert!(e.contains("s1/runs.csv") && e.contains("cut short"), "{e}");
    sweep(&dir, "s1", &["--shard", "1/3"]);

    // --out may not be one of the slices (it would be overwritten while read).
    let out = merge(&dir, &["s0", "s1", "s2"], "s2");
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("is one of the slices being merged"), "{e}");
    assert!(
        read(&dir, "s2", "runs.csv").lines().count() > 1,
        "s2 was left intact"
    );

    // A slice file that never ends (a link to /dev/zero) is refused after 1 GiB at most,
    // never read until memory runs out.
    if std::path::Path::new("/dev/zero").exists() {
        let z = dir.join("zero");
        std::fs::create_dir_all(&z).expect("mkdir");
        let _ = std::fs::remove_file(z.join("sweep.json"));
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/zero", z.join("sweep.json")).expect("symlink");
        std::fs::write(z.join("runs.csv"), "x\n").expect("write");
        let e = err(&["s0", "zero"]);
        assert!(e.contains("larger than 1024 MiB"), "{e}");
    }
}

#[test]
fn bad_sweep_files_are_reported_where_they_are_wrong() {
    let head = "[sweep]\nname = \"t\"\nscenario = \"tiny.toml\"\nseeds = [1, 2]\n[grid]\n";
    // 101 × 101 grid points: above the cap, refused before any point is validated (issue 14).
    let many: Vec<String> = (0..101).map(|i| format!("{}.0", i + 1)).collect();
    let probs: Vec<String> = (0..101)
        .map(|i| format!("{:.3}", f64::from(i) / 101.0))
        .collect();
    let big_grid = format!(
        "\"traffic.mean_degree\" = [{}]\n\"traffic.reply_probability\" = [{}]\n",
        many.join(", "),
        probs.join(", ")
    );
    for (name, grid, at, needle) in [
        (
            "too-many-points",
            big_grid.as_str(),
            "sweep.toml:5:",
            "too many grid points (10201; at most 10000)",
        ),
        (
            "unknown-key",
            "\"traffic.mean_degre\" = [2.0]\n",
            "sweep.toml:6:1:",
            "did you mean `mean_degree`",
        ),
        (
            "wrong-type",
            "\"traffic.mean_degree\" = [\"many\"]\n",
            "sweep.toml:6:26:",
            "wrong type",
        ),
        (
            "no-entry",
            "\"carrier.2.subscribers\" = [4]\n",
            "sweep.toml:6:1:",
            "carrier.lab",
        ),
        ("empty-grid", "", "sweep.toml:5:1:", "empty grid"),
        (
            "empty-values",
            "\"traffic.mean_degree\" = []\n",
            "sweep.toml:6:",
            "empty grid",
        ),
        (
            "refused-value",
            "\"links.radio.loss\" = [0.1, 1.0]\n",
            "sweep.toml:6:28:",
            "below 1",
        ),
        // Issue 14: a key ending at an entry of an array of tables panicked.
        (
            "array-entry",
            "\"carrier.0\" = [{}]\n",
            "sweep.toml:6:1:",
            "is a table, not a value",
        ),
        (
            "array-entry-by-name",
            "\"carrier.lab\" = [1]\n",
            "sweep.toml:6:1:",
            "is a table, not a value",
        ),
    ] {
        let dir = setup(&format!("sweep-bad-{name}"), &format!("{head}{grid}"));
        let e = bad(["sweep".as_ref(), dir.join("sweep.toml").as_os_str()]);
        assert!(e.contains(at), "{name}: {e}");
        assert!(e.contains(needle), "{name}: {e}");
        assert!(e.contains("hint:"), "{name}: {e}");
        assert!(!dir.join("sweep-t").exists());
    }

    let dir = setup("sweep-bad-shard", SWEEP);
    // A shard beyond the runs selects nothing: refused, not an empty slice.
    let e = bad([
        "sweep",
        &dir.join("sweep.toml").display().to_string(),
        "--shard",
        "50/1000",
    ]);
    assert!(e.contains("selects no run") && e.contains("hint:"), "{e}");
    for spec in ["3/3", "1/0", "x/2", "2"] {
        let e = bad([
            "sweep",
            &dir.join("sweep.toml").display().to_string(),
            "--shard",
            spec,
        ]);
        assert!(e.contains("--shard") && e.contains("hint:"), "{spec}: {e}");
    }
    let e = bad(["sweep", "no-such-sweep.toml"]);
    assert!(
        e.contains("no-such-sweep.toml") && e.contains("hint:"),
        "{e}"
    );
}

#[test]
fn a_row_holds_what_wiretap_run_reports() {
    let sweep_text = "[sweep]\nname = \"plain\"\nscenario = \"tiny.toml\"\nseeds = [7]\n\
                      metrics = [\"adversary.contacts.recall\", \"protocols.sms.messages\", \
                      \"adversary.contact.recall\"]\n";
    let dir = setup("sweep-vs-run", sweep_text);
    let (_, stderr) = ok([
        "sweep",
        &dir.join("sweep.toml").display().to_string(),
        "--out",
        &dir.join("o").display().to_string(),
    ]);
    // A metric the report lacks: one warning with a did-you-mean, empty cells.
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("did you mean `adversary.contacts.recall`"),
        "{stderr}"
    );

    let (json, _) = ok([
        "run",
        &dir.join("tiny.toml").display().to_string(),
        "--seed",
        "7",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("report");
    let row: serde_json::Value = serde_json::from_str(
        read(&dir, "o", "runs.jsonl")
            .lines()
            .next()
            .expect("one row"),
    )
    .expect("row");
    assert_eq!(
        row["metrics"]["adversary.contacts.recall"],
        report["adversary"]["contacts"]["recall"]
    );
    let sms = report["protocols"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["protocol"] == "sms"))
        .expect("sms line");
    assert_eq!(row["metrics"]["protocols.sms.messages"], sms["messages"]);
    assert_eq!(
        row["metrics"]["adversary.contact.recall"],
        serde_json::Value::Null
    );
    assert_eq!(row["events"], report["network"]["events"]);
    assert_eq!(row["params"], serde_json::json!({}));
}

/// Every shipped sweep file plans, and its first run reports every metric it asks for (a typo
/// in a metric path would otherwise only show as empty cells and a warning).
#[test]
fn shipped_sweep_files_plan_and_name_real_metrics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/sweeps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("sim/sweeps")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let name = f.file_stem().expect("stem").to_string_lossy().to_string();
        let out = tempdir(&format!("shipped-{name}"));
        let (_, stderr) = ok([
            "sweep".as_ref(),
            f.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--shard".as_ref(),
            "0/100000".as_ref(),
        ]);
        assert!(!stderr.contains("is not in the report"), "{name}: {stderr}");
        assert!(
            read(&out, "", "runs.csv").lines().count() >= 2,
            "{name}: no run row"
        );
    }
}

/// Issue 14: `sweep.json` records the SHA-256 of its `runs.csv`; a cell edited into another
/// well-formed number passes every other check and is refused by the digest. Cells that are
/// not finite numbers are refused at file:line:column.
#[test]
fn merge_refuses_a_digest_mismatch_and_non_finite_cells() {
    let dir = setup("sweep-merge-digest", SWEEP);
    sweep(&dir, "w", &[]);
    let json = read(&dir, "w", "sweep.json");
    assert!(json.contains("\"rows_sha256\": \""), "{json}");
    assert!(json.contains("\"format\": \"wiretap-sweep/2\""), "{json}");
    let csv = read(&dir, "w", "runs.csv");
    let lines: Vec<&str> = csv.lines().collect();
    // Row 0: run, point, the two grid values, seed, then the first metric (field 5).
    let fields: Vec<&str> = lines[1].split(',').collect();
    let column = fields[..5].iter().map(|f| f.len() + 1).sum::<usize>() + 1;
    let with_cell = |cell: &str| {
        let mut f = fields.clone();
        f[5] = cell;
        let mut l = lines.clone();
        let row = f.join(",");
        l[1] = &row;
        l.join("\n") + "\n"
    };
    let write = |text: String| std::fs::write(dir.join("w").join("runs.csv"), text).expect("write");

    // A different number that parses: only the digest tells.
    let other = if fields[5] == "0.25" { "0.5" } else { "0.25" };
    write(with_cell(other));
    let out = merge(&dir, &["w"], "m");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("w/runs.csv:0: the rows do not match the digest sweep.json records"),
        "{e}"
    );
    assert!(!dir.join("m").exists(), "nothing written");

    for cell in ["NaN", "inf", "-inf", "1e400", "0.5.5", "twelve"] {
        write(with_cell(cell));
        let out = merge(&dir, &["w"], "m");
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cell}: {e}");
        let at = format!("w/runs.csv:2:{column}: `{cell}` (metric `adversary.contacts.recall`)");
        assert!(e.contains(&at), "{cell}: want {at}\n{e}");
        assert!(e.contains("hint:") && !e.contains("panicked"), "{e}");
    }
    // The file as written merges again.
    std::fs::write(dir.join("w").join("runs.csv"), &csv).expect("write");
    assert_eq!(merge(&dir, &["w"], "m").status.code(), Some(0));
}

/// Issue 14: runs × estimated work per run is checked before a sweep starts and by
/// `validate` on a sweep file; above the budget it is refused at the key that multiplies the
/// runs most, with the estimate and the flag that raises it. A shard is checked for its share.
#[test]
fn a_sweep_above_its_work_budget_is_refused_before_it_runs() {
    let dir = setup("sweep-work-budget", SWEEP);
    let file = dir.join("sweep.toml").display().to_string();
    let file = file.as_str();
    let never = dir.join("never").display().to_string();
    let (stdout, _) = ok(["validate", file]);
    assert!(
        stdout.contains("ok — sweep tiny-sweep: 12 runs"),
        "{stdout}"
    );

    // seeds (3) multiplies the runs more than either grid key (2 values each).
    let seeds_at = format!(
        "{file}:{}:1:",
        SWEEP
            .lines()
            .position(|l| l.starts_with("seeds"))
            .expect("seeds")
            + 1
    );
    for args in [
        vec!["validate", file, "--max-sweep-work", "10"],
        vec!["sweep", file, "--max-sweep-work", "10", "--out", &never],
    ] {
        let e = bad(&args);
        assert!(e.contains(&seeds_at), "want {seeds_at}\n{e}");
        assert!(e.contains("above the sweep work budget of 10"), "{e}");
        assert!(e.contains("12 runs"), "{e}");
        assert!(e.contains("`seeds` multiplies the runs most"), "{e}");
        assert!(e.contains("--max-sweep-work N"), "{e}");
    }
    assert!(!dir.join("never").exists());

    // The estimate, from the library: shards split it exactly.
    let read = |_: &str| -> sweep::ScenarioFile { Ok(Some(("tiny.toml".into(), TINY.into()))) };
    let plan = sweep::plan("sweep.toml", SWEEP, &read).expect("plans");
    let whole = plan.estimate(None);
    assert_eq!(whole.runs, 12);
    assert!(whole.work > 0.0);
    let mut parts = (0.0, 0);
    for i in 0..5 {
        let s = plan.estimate(Some(format!("{i}/5").parse().expect("shard")));
        parts.0 += s.work;
        parts.1 += s.runs;
    }
    assert_eq!(parts.1, 12);
    assert!((parts.0 - whole.work).abs() < 1e-6 * whole.work);
    // A shard's share passes a budget the whole sweep does not.
    let budget = (whole.work * 0.6) as u64;
    assert!(plan.check_work(None, budget).is_err());
    assert!(plan
        .check_work(Some("1/2".parse().expect("shard")), budget)
        .is_ok());
}

/// Issue 10: the charts draw summary.csv's numbers: each marker sits at its mean on one
/// decreasing affine y scale, x grows with the grid value, and an error bar is drawn exactly
/// where summary.csv has an interval.
#[test]
fn charts_draw_the_summary_with_confidence_intervals() {
    let dir = setup("sweep-charts", SWEEP);
    sweep(&dir, "out", &[]);
    let summary = read(&dir, "out", "summary.csv");
    // (point, metric) -> [n, mean, ci95_low, ci95_high] (no quoted cells in this sweep).
    let mut cells = std::collections::BTreeMap::new();
    for line in summary.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        cells.insert(
            (f[0].to_owned(), f[3].to_owned()),
            [
                f[4].to_owned(),
                f[5].to_owned(),
                f[7].to_owned(),
                f[8].to_owned(),
            ],
        );
    }
    let charts: Vec<(String, Vec<u8>)> = all_files(&dir, "out")
        .into_iter()
        .filter(|(k, _)| k.starts_with("charts"))
        .collect();
    let mut bars = 0;
    for (name, bytes) in &charts {
        let text = String::from_utf8(bytes.clone()).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let svg = doc.root_element();
        assert_eq!(svg.attribute("role"), Some("img"), "{name}");
        assert!(svg.children().any(|c| c.has_tag_name("title")), "{name}");
        let metric = [
            "adversary.contacts.recall",
            "adversary.messages_read",
            "protocols.noise_XX.messages",
        ]
        .into_iter()
        .find(|m| name.contains(&format!("{m}--vs--")))
        .unwrap_or_else(|| panic!("{name}"))
        .replace("noise_XX", "noise:XX");
        let num = |n: roxmltree::Node<'_, '_>, a: &str| -> f64 {
            n.attribute(a).unwrap().parse().unwrap()
        };
        let mut marks = Vec::new();
        for p in doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("point"))
        {
            let point = p.attribute("data-point").unwrap().to_owned();
            let c = &cells[&(point.clone(), metric.clone())];
            assert_eq!(
                p.attribute("data-mean"),
                Some(c[1].as_str()),
                "{name} point {point}"
            );
            assert_eq!(p.attribute("data-n"), Some(c[0].as_str()));
            let ci = p
                .children()
                .filter(|n| n.attribute("class") == Some("ci"))
                .count();
            assert_eq!(
                ci,
                usize::from(!c[2].is_empty()),
                "{name} point {point}: bar iff interval"
            );
            bars += ci;
            marks.push((
                c[1].parse::<f64>().unwrap(),
                num(p, "data-cy"),
                point.parse::<u64>().unwrap(),
                num(p, "data-cx"),
            ));
        }
        assert!(!marks.is_empty(), "{name}");
        // One decreasing affine map from value to y.
        if let Some(b) = marks.iter().find(|m| (m.0 - marks[0].0).abs() > 1e-9) {
            let slope = (b.1 - marks[0].1) / (b.0 - marks[0].0);
            assert!(slope < 0.0, "{name}");
            for m in &marks {
                assert!(
                    (marks[0].1 + slope * (m.0 - marks[0].0) - m.1).abs() < 0.05,
                    "{name}: {m:?}"
                );
            }
        }
        // x grows with traffic.mean_degree (1.0 at points 0 and 1, 3.0 at 2 and 3).
        if name.contains("--vs--traffic.mean_degree") {
            for (lo, hi) in [(0, 2), (1, 3)] {
                let x = |p: u64| marks.iter().find(|m| m.2 == p).map(|m| m.3);
                if let (Some(a), Some(b)) = (x(lo), x(hi)) {
                    assert!(a < b, "{name}: point {lo} at {a}, point {hi} at {b}");
                }
            }
        }
    }
    assert!(bars > 0, "3 seeds: intervals exist and are drawn");
    let page = read(&dir, "out", "sweep.html");
    for (name, _) in &charts {
        assert!(
            page.contains(&format!("href=\"{name}\"")),
            "the page links {name}"
        );
    }
}
