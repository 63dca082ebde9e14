//! `sweep::merge` on arbitrary slices, as `wiretap merge` calls it: the input is split at NUL
//! bytes into `sweep.json`, `runs.csv`, `sweep.json`, `runs.csv`, ... (up to four slices, a
//! missing `runs.csv` is empty). A merge is the merged files or a `SweepError` naming the slice,
//! never a panic; a merge that succeeds gives the same files when its own output is merged again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts: Vec<String> = data
        .split(|&b| b == 0)
        .take(8)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let slices: Vec<sweep::Slice> = parts
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| sweep::Slice {
            dir: format!("slice-{i}"),
            sweep_json: pair[0].clone(),
            runs_csv: pair.get(1).cloned().unwrap_or_default(),
        })
        .collect();
    match sweep::merge(&slices) {
        Ok(merged) => {
            // The merged directory is itself a valid (whole-sweep) slice.
            let again = sweep::merge(&[sweep::Slice {
                dir: "merged".into(),
                sweep_json: merged.files.sweep_json.clone(),
                runs_csv: merged.files.runs_csv.clone(),
            }]);
            match again {
                Ok(m) => assert_eq!(m.files, merged.files, "merging a merge changed it"),
                Err(e) => panic!("the merge's own output does not merge: {e}"),
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
