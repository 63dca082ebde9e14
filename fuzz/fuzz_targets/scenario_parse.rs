//! `scenario::parse` and `scenario::parse_with` on arbitrary UTF-8: a scenario file is either a
//! validated `Scenario` or a `ScenarioError` pointing into the text, never a panic or a hang.
//! With a small work budget (`Limits { max_work: 1_000 }`) the same text must not panic either,
//! and whatever it accepts the default budget accepts too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let full = scenario::parse("fuzz.toml", text);
    if let Ok(s) = &full {
        // Accepted scenarios answer the questions the CLI asks of them.
        let _ = s.estimated_work();
        let _ = s.total_subscribers();
    }
    let small = scenario::parse_with("fuzz.toml", text, scenario::Limits { max_work: 1_000 });
    match (&small, &full) {
        (Ok(_), Err(e)) => panic!("accepted with a budget of 1,000 but refused by default: {e}"),
        (Err(e), _) => {
            // Every error renders (file:line:column, the line, the hint).
            let _ = e.to_string();
        }
        _ => {}
    }
});
