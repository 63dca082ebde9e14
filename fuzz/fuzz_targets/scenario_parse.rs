//! `scenario::parse` and `scenario::parse_with` on arbitrary UTF-8: a scenario file is either a
//! validated `Scenario` or a `ScenarioError` pointing into the text, never a panic or a hang.
//! With a small work budget (`Limits { max_work: 1_000 }`) the same text must not panic either,
//! and whatever it accepts the default budget accepts too. An accepted scenario serializes (the
//! report echoes it), and a duration read by `parse_duration` reads back from its
//! `format_duration` text unchanged.
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
        if let Err(e) = serde_json::to_string(s) {
            panic!("an accepted scenario does not serialize: {e}");
        }
    }
    if let Some(d) = scenario::parse_duration(text.trim()) {
        let echoed = scenario::format_duration(d);
        assert_eq!(
            scenario::parse_duration(&echoed),
            Some(d),
            "{text:?} reads as {d:?}, echoed as {echoed:?}"
        );
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
