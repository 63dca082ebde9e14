//! The pcaps of every shipped scenario open in tshark with no expert error and no malformed
//! packet: tshark dissects every UDP payload as plain data, because the ports have no Wireshark
//! dissector and no heuristic dissector takes the payloads for its protocol
//! (`docs/wire-format.md`, "UDP ports").

use std::path::Path;
use std::process::Command;

use crate::support::{shipped_outputs, tool_available};

/// Frames in `pcap`, and of them those tshark marks malformed and those with an expert item of
/// severity error or worse, from one pass of `tshark -z io,stat`.
pub(crate) fn tshark_counts(pcap: &Path) -> (u64, u64, u64) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-q",
            "-z",
            "io,stat,0,frame,_ws.malformed,_ws.expert.severity>=\"error\"",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The one interval's row: "|   0.0 <> 3600.0 | frames | bytes | frames | bytes | ... |".
    let row = text
        .lines()
        .find(|l| l.contains("<>"))
        .unwrap_or_else(|| panic!("no statistics row in tshark's output:\n{text}"));
    let cells: Vec<u64> = row
        .split('|')
        .skip(2)
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    assert_eq!(cells.len(), 6, "frames and bytes of 3 columns: {row}");
    (cells[0], cells[2], cells[4])
}

#[test]
fn every_shipped_scenario_opens_in_tshark_without_errors() {
    if !tool_available(
        "tshark",
        &["--version"],
        "that tshark dissects the pcaps cleanly",
    ) {
        return;
    }
    let mut checked = 0;
    let mut bad = Vec::new();
    for (name, dir) in shipped_outputs() {
        let mut pcaps: Vec<_> = std::fs::read_dir(dir)
            .expect("out dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        pcaps.sort();
        assert!(!pcaps.is_empty(), "{name}: no pcap in --out");
        for p in pcaps {
            let (frames, malformed, errors) = tshark_counts(&p);
            let file = p.file_name().expect("a file").to_string_lossy();
            assert!(frames > 0, "{name}/{file}: tshark read no packet");
            if malformed > 0 || errors > 0 {
                bad.push(format!(
                    "{name}/{file}: {malformed} malformed, {errors} with expert errors, of {frames} frames"
                ));
            }
            checked += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "tshark finds errors (see them with `tshark -r FILE -q -z expert`):\n{}",
        bad.join("\n")
    );
    eprintln!(
        "tshark: {checked} pcaps of {} scenarios, no error",
        shipped_outputs().len()
    );
}
