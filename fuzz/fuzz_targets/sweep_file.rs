//! `sweep::plan` on arbitrary sweep-file text, resolving every `scenario = "..."` name to the
//! same small valid scenario (`small-lab`), as `wiretap sweep` calls it: a sweep file is a
//! `Plan` or a `SweepError` pointing into the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The scenario every name resolves to: one carrier, 20 subscribers.
const SCENARIO: &str = include_str!("../../sim/small-lab.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let read = |_name: &str| -> sweep::ScenarioFile {
        Ok(Some(("small-lab.toml".to_owned(), SCENARIO.to_owned())))
    };
    match sweep::plan("fuzz-sweep.toml", text, &read) {
        Ok(plan) => {
            let def = plan.definition();
            let runs = def.runs();
            for point in 0..def.points().min(64) {
                let _ = plan.label(point);
            }
            let _ = def.fingerprint();
            assert!(runs >= 1, "a plan with no runs");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
