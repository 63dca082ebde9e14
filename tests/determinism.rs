//! A run is a pure function of (scenario, seed).

use std::ffi::OsStr;
use std::fs;

use crate::support::{tempdir, wiretap};

fn run_cli(seed: u64, dir: &std::path::Path) -> Vec<u8> {
    let seed = seed.to_string();
    let out = wiretap([
        OsStr::new("run"),
        "small-lab".as_ref(),
        "--json".as_ref(),
        "--seed".as_ref(),
        seed.as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("read out dir")
        .map(|e| {
            let e = e.expect("dir entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read file"),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_gives_byte_identical_report_and_captures() {
    let (a, b) = (tempdir("det-a"), tempdir("det-b"));
    let ja = run_cli(11, &a);
    let jb = run_cli(11, &b);
    assert_eq!(ja, jb, "JSON reports differ");
    let (fa, fb) = (files(&a), files(&b));
    assert!(
        fa.iter().any(|(n, _)| n.ends_with(".pcap")),
        "no pcap written: {fa:?}"
    );
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between two runs of the same seed");
    }
}

#[test]
fn another_seed_gives_another_run() {
    let (a, b) = (tempdir("det-c"), tempdir("det-d"));
    let ja = run_cli(11, &a);
    let jb = run_cli(12, &b);
    assert_ne!(ja, jb);
    let pa = fs::read(a.join("lab.core.pcap")).expect("core pcap");
    let pb = fs::read(b.join("lab.core.pcap")).expect("core pcap");
    assert_ne!(pa, pb);
}

#[test]
fn in_process_runs_are_identical_too() {
    let sc = crate::support::parse(&crate::support::mixed(&crate::support::Faults::NONE, false));
    let a = crate::support::run(sc.clone(), 5);
    let b = crate::support::run(sc, 5);
    let ja = serde_json::to_string(&a.report).expect("json");
    let jb = serde_json::to_string(&b.report).expect("json");
    assert_eq!(ja, jb);
    assert_eq!(a.output.captures, b.output.captures);
}
