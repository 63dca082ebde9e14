//! Progress on stderr: never on stdout or in files, no bar when stderr is not a terminal, one
//! summary line with the wall time, nothing at all with `--quiet`.

use crate::support::{tempdir, wiretap};

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
