//! Progress on stderr: never on stdout or in files, no bar when stderr is not a terminal, one
//! summary line with the wall time, nothing at all with `--quiet`. Long runs stop cleanly on
//! Ctrl-C (exit 130, no output files) and when a `simcore::Watch` asks, at every stage.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{bin, tempdir, wiretap};

#[test]
fn run_without_a_terminal_prints_one_summary_line_and_quiet_prints_nothing() {
    let loud = wiretap(["run", "small-lab"]);
    let quiet = wiretap(["run", "small-lab", "--quiet"]);
    assert!(loud.status.success() && quiet.status.success());
    assert_eq!(
        loud.stdout, quiet.stdout,
        "stdout does not depend on progress"
    );
    let err = String::from_utf8(loud.stderr).unwrap();
    assert!(
        !err.contains('\r') && !err.contains('\u{1b}'),
        "no bar drawn off a terminal: {err:?}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("wiretap: ran small-lab (seed 1): ")
            && lines[0].ends_with(" s wall time)"),
        "{err}"
    );
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

#[test]
fn sweep_summary_goes_to_stderr_and_files_do_not_change_with_quiet() {
    let dir = tempdir("progress-sweep");
    let sweep = concat!(env!("CARGO_MANIFEST_DIR"), "/sim/sweeps/sweep-example.toml");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let loud = wiretap([
        "sweep".as_ref(),
        sweep.as_ref(),
        "--out".as_ref(),
        a.as_os_str(),
    ]);
    let quiet = wiretap([
        "sweep".as_ref(),
        sweep.as_ref(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        b.as_os_str(),
    ]);
    assert!(
        loud.status.success(),
        "{}",
        String::from_utf8_lossy(&loud.stderr)
    );
    assert!(quiet.status.success());
    let err = String::from_utf8(loud.stderr).unwrap();
    assert!(
        err.lines()
            .any(|l| l.starts_with("wiretap: sweep ") && l.ends_with(" s wall time)")),
        "{err}"
    );
    assert!(!err.contains('\r'), "{err:?}");
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    for f in [
        "runs.csv",
        "runs.jsonl",
        "summary.csv",
        "summary.jsonl",
        "sweep.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Sends SIGINT to `child` once it has run for `after`, then waits (at most a minute: a hang
/// fails the test instead of stalling it) and returns its exit code and stderr.
#[cfg(unix)]
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // a real process, in real time
fn interrupt(mut child: Child, after: Duration) -> (Option<i32>, String) {
    std::thread::sleep(after);
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the command ended before it could be interrupted: make its work larger"
    );
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let start = std::time::Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("still running a minute after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The files in `dir` (none if it does not exist), hidden partial files included.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_run_with_code_130_and_no_output_files() {
    let dir = tempdir("ctrl-c-run");
    let out = dir.join("out");
    // The default scenario over twenty days: far more than two seconds of work in any build.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sim/salt-typhoon.toml"
    ))
    .unwrap()
    .replacen("duration = \"24h\"", "duration = \"20d\"", 1);
    assert!(
        text.contains("\"20d\""),
        "the scenario's duration line moved"
    );
    let file = dir.join("long.toml");
    std::fs::write(&file, text).unwrap();
    let child = Command::new(bin())
        .args([
            "run".as_ref(),
            file.as_os_str(),
            "--max-work".as_ref(),
            "1000000000".as_ref(),
        ])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wiretap");
    let (code, err) = interrupt(child, Duration::from_secs(2));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted at simulated time"), "{err}");
    assert!(err.contains("no output written"), "{err}");
    assert_eq!(files_in(&out), Vec::<String>::new(), "{err}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_sweep_with_code_130_and_no_files() {
    let dir = tempdir("ctrl-c-sweep");
    let out = dir.join("out");
    let sweep = dir.join("long-sweep.toml");
    std::fs::write(
        &sweep,
        "[sweep]\nname = \"long\"\nscenario = \"salt-typhoon\"\nseeds = { from = 1, count = 8 }\n\n[grid]\n\"traffic.reply_probability\" = [0.2, 0.4]\n",
    )
    .unwrap();
    let child = Command::new(bin())
        .arg("sweep")
        .arg(&sweep)
        .args(["--threads", "1", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wiretap");
    let (code, err) = interrupt(child, Duration::from_secs(2));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted after"), "{err}");
    assert!(err.contains("of 16 runs"), "{err}");
    assert_eq!(files_in(&out), Vec::<String>::new(), "{err}");
}

#[test]
fn a_watched_run_stops_in_every_stage_it_is_asked_to() {
    // Two hours of the default scenario: tens of thousands of events, several looks at the watch.
    let text = scenario::builtin("salt-typhoon").unwrap().replacen(
        "duration = \"24h\"",
        "duration = \"2h\"",
        1,
    );
    assert!(
        text.contains("\"2h\""),
        "the scenario's duration line moved"
    );
    let sc = scenario::parse("salt-typhoon-2h", &text).unwrap();
    // Asked before it starts: stops while building the world.
    let watch = simcore::Watch::new();
    watch.request_stop();
    let e = pipeline::run_watched(&sc, 1, &watch).expect_err("stopped");
    assert!(e.is_interrupted(), "{e}");
    // Asked once events flow: stops in the simulation, after time has passed.
    let watch = simcore::Watch::new();
    let stopped = std::thread::scope(|s| {
        s.spawn(|| {
            while watch.events() == 0 {
                std::thread::yield_now();
            }
            watch.request_stop();
        });
        pipeline::run_watched(&sc, 1, &watch)
    });
    let e = stopped.expect_err("stopped");
    assert!(e.is_interrupted(), "{e}");
    assert!(
        e.to_string().contains("interrupted at simulated time"),
        "{e}"
    );
    // Never asked: the same report as an unwatched run, whatever the watch saw.
    let watch = simcore::Watch::new();
    let watched = pipeline::run_watched(&sc, 1, &watch).expect("runs");
    let plain = pipeline::run(&sc, 1).expect("runs");
    assert_eq!(
        serde_json::to_string(&watched.report).unwrap(),
        serde_json::to_string(&plain.report).unwrap()
    );
    assert!(watch.events() > 0 && watch.sim_time() > simcore::Timestamp::ZERO);
}
