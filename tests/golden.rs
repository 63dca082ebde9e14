//! Golden snapshots: every shipped scenario (`sim/*.toml`) at seed 1, as a user runs it.
//!
//! For each scenario the CLI is run twice, `wiretap run FILE --seed 1` (the terminal report)
//! and `wiretap run FILE --seed 1 --json --out DIR`; the test compares with
//! `tests/golden/<name>/`:
//!
//! - `terminal.txt`: the terminal report, byte for byte;
//! - `report.json`: the `report.json` of `--out`, byte for byte;
//! - `out.sha256`: one line per file of `--out` (every pcap, CSV and JSONL): SHA-256, size and
//!   name, so a change in any capture or record export shows here without storing megabytes.
//!
//! Refactors must keep these byte-identical. A change of output on purpose is made in its own
//! commit, which says why, after rewriting the snapshots with
//! `WIRETAP_BLESS=1 cargo test --test tests golden` and reviewing the diff.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::{tempdir, test_flags, wiretap};

/// The shipped scenario files, sorted by name.
fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read sim/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension() == Some(OsStr::new("toml")))
        .collect();
    v.sort();
    v
}

fn golden_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn run_ok(args: &[&OsStr]) -> Vec<u8> {
    let out = wiretap(args);
    assert!(
        out.status.success(),
        "wiretap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// SHA-256, size and name of every file in `dir`, sorted by name (report.json excepted: it is
/// kept whole).
fn digests(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read out dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != "report.json")
        .collect();
    names.sort();
    let mut s = String::new();
    for n in names {
        let bytes = fs::read(dir.join(&n)).expect("read output file");
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(s, "{hex}  {:>9}  {n}", bytes.len());
    }
    s
}

/// What one scenario produces: (file name in the golden dir, bytes).
fn snapshot(file: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let name = file
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let flags = test_flags(&name).iter().map(OsStr::new);
    let mut args = vec![
        OsStr::new("run"),
        file.as_os_str(),
        OsStr::new("--seed"),
        OsStr::new("1"),
    ];
    args.extend(flags);
    let terminal = run_ok(&args);
    let out = tempdir(&format!("golden-{name}"));
    args.extend([OsStr::new("--json"), OsStr::new("--out"), out.as_os_str()]);
    run_ok(&args);
    let report = fs::read(out.join("report.json")).expect("report.json written");
    let sums = digests(&out).into_bytes();
    let _ = fs::remove_dir_all(&out);
    vec![
        ("terminal.txt", terminal),
        ("report.json", report),
        ("out.sha256", sums),
    ]
}

/// The first differing line of two texts, for a readable failure.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    for (i, (a, b)) in w.lines().zip(g.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n  golden: {a}\n  now:    {b}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        w.lines().count(),
        g.lines().count()
    )
}

#[test]
fn every_shipped_scenario_matches_its_golden_snapshot() {
    let bless = std::env::var_os("WIRETAP_BLESS").is_some();
    let files = scenarios();
    assert!(files.len() >= 10, "sim/ has only {} scenarios", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let dir = golden_dir(&name);
        for (part, got) in snapshot(file) {
            let path = dir.join(part);
            if bless {
                fs::create_dir_all(&dir).expect("create golden dir");
                fs::write(&path, &got).expect("write golden file");
                continue;
            }
            match fs::read(&path) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!(
                    "{name}/{part} differs; {}",
                    first_difference(&want, &got)
                )),
                Err(e) => failures.push(format!("{name}/{part}: {e} (no snapshot yet?)")),
            }
        }
    }
    // A snapshot whose scenario is gone is stale.
    if !bless {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        for e in fs::read_dir(&root).expect("read tests/golden") {
            let n = e
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if n != "README.md" && !files.iter().any(|f| f.file_stem() == Some(OsStr::new(&n))) {
                failures.push(format!("tests/golden/{n} has no scenario in sim/"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden snapshots differ (rewrite on purpose with WIRETAP_BLESS=1 and say why in the \
         commit):\n{}",
        failures.join("\n")
    );
}
