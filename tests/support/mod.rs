//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod campaign;

use std::collections::BTreeSet;
use std::path::PathBuf;

use adversary::Findings;
use carrier::RunOutput;
use report::Report;
use scenario::Scenario;

/// A run through the whole pipeline.
pub struct Run {
    pub scenario: Scenario,
    pub output: RunOutput,
    pub findings: Findings,
    pub report: Report,
}

/// Parses `text`, panicking with the scenario error (tests feed valid scenarios).
pub fn parse(text: &str) -> Scenario {
    scenario::parse("test.toml", text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

/// Runs a scenario through the one pipeline (simulation with the adversary's on-path
/// components, analysis with every declared capability, scoring).
pub fn run(sc: Scenario, seed: u64) -> Run {
    let pipeline::Run {
        output,
        findings,
        report,
    } = pipeline::run(&sc, seed).expect("run");
    Run {
        scenario: sc,
        output,
        findings,
        report,
    }
}

/// Fault settings of the radio links.
#[derive(Clone, Debug)]
pub struct Faults {
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub corrupt: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        corrupt: 0.0,
    };
}

/// Two carriers, ~60 subscribers, two hours, a mix of SMS, carrier-encrypted and Noise apps
/// (interactive, one-way, psk and deferred patterns), every vantage point the model has.
pub fn mixed(faults: &Faults, early_data: bool) -> String {
    format!(
        r#"
[scenario]
name = "mixed"
description = "test mix"
seed = 1
duration = "2h"
early_data = {early_data}

[links]
radio = {{ latency = "20ms", jitter = "10ms", bandwidth = "20Mbps", loss = {loss}, duplicate = {dup}, reorder = {reorder}, reorder_delay = "40ms", corrupt = {corrupt} }}

[[app]]
name = "sms"
kind = "sms"
[[app]]
name = "rcs"
kind = "carrier-encrypted"
[[app]]
name = "xx"
kind = "noise"
pattern = "XX"
[[app]]
name = "ik"
kind = "noise"
pattern = "IK"
[[app]]
name = "nn"
kind = "noise"
pattern = "NN"
server_tunnel = false
[[app]]
name = "x1"
kind = "noise"
pattern = "X"
server_tunnel = false
[[app]]
name = "kkpsk"
kind = "noise"
pattern = "KKpsk2"
server_tunnel = false
[[app]]
name = "deferred"
kind = "noise"
pattern = "X1X1"
server_tunnel = false

[[carrier]]
name = "east"
subscribers = 32
cells = 3
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
[carrier.population]
sms = 0.2
rcs = 0.1
xx = 0.2
ik = 0.1
nn = 0.1
x1 = 0.1
kkpsk = 0.1
deferred = 0.1
[carrier.warrants]
count = 4
content_share = 0.75

[[carrier]]
name = "west"
subscribers = 28
cells = 2
mcc = "001"
mnc = "02"
msisdn_prefix = "+1666"
[carrier.population]
sms = 0.25
rcs = 0.25
xx = 0.2
nn = 0.15
deferred = 0.15
[carrier.warrants]
count = 2
content_share = 1.0

[traffic]
mean_degree = 4.0
cross_carrier = 0.3
messages_per_contact_per_day = 60.0
reply_delay = "2m"

[adversary]
name = "test"
[[adversary.vantage]]
kind = "mediation"
carrier = "east"
[[adversary.vantage]]
kind = "core-tap"
carrier = "east"
[[adversary.vantage]]
kind = "mediation"
carrier = "west"
[[adversary.vantage]]
kind = "core-tap"
carrier = "west"
[[adversary.vantage]]
kind = "call-records"
carrier = "east"
"#,
        loss = faults.loss,
        dup = faults.duplicate,
        reorder = faults.reorder,
        corrupt = faults.corrupt,
    )
}

/// Every 16-byte window of every captured packet.
pub fn capture_windows(output: &RunOutput) -> BTreeSet<[u8; 16]> {
    let mut set = BTreeSet::new();
    for v in &output.captures.vantages {
        for p in v.packets.iter().flat_map(|c| &c.packets) {
            for w in p.bytes.windows(16) {
                let mut a = [0u8; 16];
                a.copy_from_slice(w);
                set.insert(a);
            }
        }
    }
    set
}

/// Runs the `wiretap` binary with `args` and returns what it did.
pub fn wiretap<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    std::process::Command::new(bin())
        .args(args)
        .output()
        .expect("run wiretap")
}

/// The `wiretap` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wiretap"))
}

/// A fresh empty directory under the target dir.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The same as [`run`] (kept for the tests that say they rely on capabilities).
pub fn run_with_capabilities(sc: Scenario, seed: u64) -> Run {
    run(sc, seed)
}

/// The shipped scenario files (`sim/*.toml`), sorted by name.
pub fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sim");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read sim/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// Extra `wiretap run` flags the tests give a shipped scenario: `carrier-scale` (a million
/// subscribers, far above the default work budget) runs at 2,000 subscribers, the size of
/// `salt-typhoon`; every other one as written. `scenario::parse`'s budget check is what keeps
/// this list honest: a shipped scenario above the default budget and not listed here fails.
pub fn test_flags(name: &str) -> &'static [&'static str] {
    match name {
        "carrier-scale" => &["--scale", "0.002"],
        _ => &[],
    }
}

/// The `--scale` of [`test_flags`], for tests that parse the scenario at the size it ran.
pub fn test_scale(name: &str) -> Option<f64> {
    match test_flags(name) {
        ["--scale", f] => f.parse().ok(),
        _ => None,
    }
}

/// `wiretap run SCENARIO --seed 1 --out DIR` for every shipped scenario, once per test process
/// (the tests that read these files share them): (scenario name, DIR), sorted by name.
pub fn shipped_outputs() -> &'static [(String, PathBuf)] {
    static OUTPUTS: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    OUTPUTS.get_or_init(|| {
        shipped_scenarios()
            .iter()
            .map(|file| {
                let name = file
                    .file_stem()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                let dir = tempdir(&format!("shipped-out/{name}"));
                let mut args: Vec<&std::ffi::OsStr> = vec![
                    "run".as_ref(),
                    file.as_os_str(),
                    "--seed".as_ref(),
                    "1".as_ref(),
                    "--out".as_ref(),
                    dir.as_os_str(),
                ];
                args.extend(test_flags(&name).iter().map(std::ffi::OsStr::new));
                let out = wiretap(args);
                assert!(
                    out.status.success(),
                    "wiretap run {} --out: {}",
                    file.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                (name, dir)
            })
            .collect()
    })
}

/// Whether the outside program `program` runs (`program ARGS` exits 0). When it does not, a test
/// that needs it says so on stderr and returns early, except under CI (`CI` set), whose
/// `.ci/run` installs it: there a missing tool fails the test.
pub fn tool_available(program: &str, args: &[&str], why: &str) -> bool {
    let ok = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {program} ({why}): `{program} {}` did not run",
            args.join(" ")
        );
        eprintln!(
            "SKIPPED: `{program} {}` does not run on this machine, so {why} is not checked here (CI installs it)",
            args.join(" ")
        );
    }
    ok
}
