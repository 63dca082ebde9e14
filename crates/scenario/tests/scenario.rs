//! Scenario tests, one binary. Contents:
//!
//! - `shipped`: every `sim/*.toml` parses, is compiled in, and has the numbers its comments claim.
//! - `defaults`: absent keys take the documented defaults; the report echo is readable.
//! - `errors`: each semantic and syntax error lands on the exact line:column, with a hint.
//! - `no_panic`: property tests: arbitrary and mutated text never panics, errors point inside.
//! - `hostile`: deep nesting and empty input.
//! - `docs`: the example in docs/scenario.md parses; every key is documented; every error
//!   links the entry of its key (`docs_links`).
//! - `bounded`: runaway work and the model's limits are refused by validation, at their key.

use scenario::{parse, AppKind, Scenario, ScenarioError, VantageKind, WarrantKind};

/// A minimal valid scenario; the error tests change one line of it.
const BASE: &str = r#"[scenario]
name = "t"
description = "d"
duration = "1h"

[[app]]
name = "sms"
kind = "sms"

[[carrier]]
name = "a"
subscribers = 10
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"

[carrier.population]
sms = 1.0

[traffic]
mean_degree = 2.0

[adversary]
[[adversary.vantage]]
kind = "mediation"
carrier = "a"
"#;

fn ok(text: &str) -> Scenario {
    parse("test.toml", text).unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"))
}

fn err(text: &str) -> ScenarioError {
    match parse("test.toml", text) {
        Ok(_) => panic!("expected an error for\n{text}"),
        Err(e) => {
            docs_link(&e);
            e
        }
    }
}

/// The anchors GitHub gives the headings of docs/scenario.md (outside code blocks): the
/// heading's text lower-cased, characters other than letters, digits, spaces, `-` and `_`
/// dropped, spaces as `-`; a repeated anchor gets `-1`, `-2`, ...
fn doc_anchors() -> Vec<String> {
    let doc = include_str!("../../../docs/scenario.md");
    let mut out: Vec<String> = Vec::new();
    let mut fence = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#').trim();
        let base: String = text
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = out
            .iter()
            .filter(|a| {
                **a == base
                    || a.strip_prefix(&format!("{base}-"))
                        .is_some_and(|r| r.parse::<u32>().is_ok())
            })
            .count();
        out.push(if n == 0 { base } else { format!("{base}-{n}") });
    }
    out
}

/// Issue 10: every scenario error's hint ends with `see docs/scenario.md#ANCHOR` (or links an
/// entry of the reference inside it), and ANCHOR is a heading of docs/scenario.md. Returns the
/// anchor.
fn docs_link(e: &ScenarioError) -> String {
    let hint = e.hint.as_deref().unwrap_or_else(|| panic!("no hint: {e}"));
    let (_, rest) = hint
        .split_once("docs/scenario.md#")
        .unwrap_or_else(|| panic!("the hint links no entry of docs/scenario.md: {e}"));
    let anchor: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    assert!(
        doc_anchors().contains(&anchor),
        "#{anchor} is not a heading of docs/scenario.md: {e}"
    );
    anchor
}

/// `BASE` with the first `from` replaced by `to` (which must exist).
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

mod shipped {
    use super::*;
    use std::path::PathBuf;

    fn sim_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sim")
    }

    fn load(name: &str) -> Scenario {
        let path = sim_dir().join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        ok(&text)
    }

    #[test]
    fn every_sim_file_parses_and_is_builtin() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(sim_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                // Checked whole, beyond the default budget (`carrier-scale`: see below).
                let s = scenario::parse_with(
                    &path.display().to_string(),
                    &text,
                    scenario::Limits { max_work: u64::MAX },
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
                assert_eq!(s.name, stem, "a scenario's name is its file name");
                assert_eq!(
                    scenario::builtin(&stem),
                    Some(text.as_str()),
                    "{stem} not built in"
                );
                names.push(stem);
            }
        }
        names.sort();
        let mut builtin: Vec<String> = scenario::BUILTIN_SCENARIOS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        builtin.sort();
        assert_eq!(names, builtin);
    }

    #[test]
    fn default_scenario_has_three_carriers_and_two_thousand_subscribers() {
        let s = load(scenario::DEFAULT_SCENARIO_NAME);
        assert_eq!(s.name, scenario::DEFAULT_SCENARIO_NAME);
        let carriers: Vec<(&str, u32, u32)> = s
            .carriers
            .iter()
            .map(|c| (c.name.as_str(), c.subscribers, c.cells))
            .collect();
        assert_eq!(
            carriers,
            [
                ("atlantic", 800, 8),
                ("pacific", 700, 7),
                ("prairie", 500, 5)
            ]
        );
        assert_eq!(s.total_subscribers(), 2000);
        assert_eq!(s.duration, simcore::Duration::from_secs(86_400));
        let targets: u32 = s
            .carriers
            .iter()
            .map(|c| c.warrants.count + c.warrants.explicit.len() as u32)
            .sum();
        assert_eq!(targets, 12);
        let atlantic = &s.carriers[0];
        assert_eq!(
            atlantic.warrants.explicit[0].kind,
            WarrantKind::IriAndContent
        );
        assert_eq!(
            atlantic.warrants.explicit[0].agency.as_deref(),
            Some("FBI-NY")
        );
        let labels: Vec<String> = s.apps.iter().map(|a| s.protocol_label(&a.name)).collect();
        assert_eq!(
            labels,
            [
                "sms",
                "carrier-encrypted",
                "noise:XX",
                "noise:IK",
                "noise:NN"
            ]
        );
        let nn = s.app("chat-nn").unwrap();
        assert!(matches!(
            nn.kind,
            AppKind::Noise {
                server_tunnel: false,
                ..
            }
        ));
        let vantage: Vec<(VantageKind, &str)> = s
            .adversary
            .vantage
            .iter()
            .map(|v| (v.kind, v.carrier.as_str()))
            .collect();
        for carrier in ["atlantic", "pacific"] {
            for kind in [
                VantageKind::Mediation,
                VantageKind::CoreTap,
                VantageKind::CallRecords,
            ] {
                assert!(vantage.contains(&(kind, carrier)), "{kind:?} at {carrier}");
            }
        }
        assert!(vantage.iter().all(|(_, c)| *c != "prairie"));
        // Population keeps file order.
        let apps: Vec<&str> = atlantic
            .population
            .iter()
            .map(|(a, _)| a.as_str())
            .collect();
        assert_eq!(
            apps,
            ["sms", "carrier-rcs", "chat-xx", "chat-ik", "chat-nn"]
        );
    }

    #[test]
    fn small_lab_is_tiny() {
        let s = load("small-lab");
        assert_eq!(s.carriers.len(), 1);
        assert_eq!(s.total_subscribers(), 20);
        assert_eq!(s.duration, simcore::Duration::from_secs(3600));
        let w = &s.carriers[0].warrants;
        assert_eq!(w.count as usize + w.explicit.len(), 2);
        let kinds: Vec<VantageKind> = s.adversary.vantage.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, [VantageKind::Mediation, VantageKind::CoreTap]);
    }

    #[test]
    fn lossy_radio_loses_duplicates_and_reorders() {
        let s = load("lossy-radio");
        assert_eq!(s.links.radio.loss, 0.2);
        assert!(s.links.radio.duplicate > 0.0 && s.links.radio.reorder > 0.0);
        assert_eq!(s.carriers.len(), 2);
        assert_eq!(s.total_subscribers(), 200);
    }

    #[test]
    fn early_data_covers_each_pattern_without_tunnel() {
        let s = load("early-data");
        assert!(s.early_data.is_on());
        let mut patterns = Vec::new();
        for app in &s.apps {
            let AppKind::Noise {
                pattern,
                server_tunnel,
                protocol,
                ..
            } = &app.kind
            else {
                panic!("{} is not noise", app.name);
            };
            assert!(!server_tunnel);
            assert_eq!(
                *protocol,
                format!("Noise_{pattern}_25519_ChaChaPoly_BLAKE2s")
            );
            patterns.push(pattern.as_str());
        }
        assert_eq!(patterns, ["NN", "XX", "NK", "IK", "X", "NNpsk2", "NNpsk0"]);
    }
}

mod defaults {
    use super::*;
    use simcore::Duration;

    #[test]
    fn absent_keys_take_documented_defaults() {
        let s = ok(BASE);
        assert_eq!(s.seed, 1);
        assert!(!s.early_data.is_on());
        let r = &s.links.radio;
        assert_eq!(
            (r.latency, r.jitter, r.bandwidth_bps, r.loss),
            (
                Duration::from_millis(20),
                Duration::from_millis(10),
                Some(20_000_000),
                0.01
            )
        );
        assert_eq!(s.links.core.bandwidth_bps, Some(10_000_000_000));
        assert_eq!(s.links.interconnect.latency, Duration::from_millis(10));
        assert_eq!(s.links.internet.latency, Duration::from_millis(25));
        assert_eq!(r.queue_limit_bytes, None);
        assert_eq!(s.traffic.degree_exponent, 2.5);
        assert_eq!(s.traffic.reply_delay, Duration::from_secs(180));
        assert_eq!(
            (s.traffic.message_length.min, s.traffic.message_length.max),
            (20, 160)
        );
        assert_eq!(s.carriers[0].warrants.count, 0);
        assert_eq!(s.adversary.name, "adversary");
    }

    #[test]
    fn a_link_overrides_only_what_it_names() {
        let text = base_with(
            "[[app]]",
            "[links]\nradio = { loss = 0.2, bandwidth = \"unlimited\", queue_limit = 65536 }\n\n[[app]]",
        );
        let s = ok(&text);
        assert_eq!(s.links.radio.loss, 0.2);
        assert_eq!(s.links.radio.bandwidth_bps, None);
        assert_eq!(s.links.radio.queue_limit_bytes, Some(65536));
        assert_eq!(s.links.radio.latency, Duration::from_millis(20));
    }

    #[test]
    fn full_noise_names_are_kept_and_short_ones_expanded() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\n\n[[app]]\nname = \"x\"\nkind = \"noise\"\npattern = \"Noise_XXpsk3_25519_AESGCM_SHA256\"\n",
        );
        let s = ok(&text);
        assert_eq!(s.protocol_label("x"), "noise:XXpsk3");
        assert_eq!(s.protocol_label("nope"), "unknown");
        let AppKind::Noise {
            protocol,
            server_tunnel,
            pin_keys,
            ..
        } = &s.apps[1].kind
        else {
            panic!()
        };
        assert_eq!(protocol, "Noise_XXpsk3_25519_AESGCM_SHA256");
        assert!(*server_tunnel && *pin_keys);
    }

    #[test]
    fn report_echo_has_readable_durations() {
        let s = ok(scenario::builtin("salt-typhoon").unwrap());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["duration"], "24h");
        assert_eq!(json["links"]["radio"]["latency"], "20ms");
        assert_eq!(json["traffic"]["reply_delay"], "3m");
        assert_eq!(json["apps"][2]["kind"], "noise");
        assert_eq!(json["apps"][2]["pattern"], "XX");
        assert_eq!(json["adversary"]["vantage"][1]["kind"], "core-tap");
        assert_eq!(
            json["carriers"][0]["warrants"]["explicit"][0]["kind"],
            "iri+content"
        );
    }
}

mod errors {
    use super::*;

    /// Asserts the error's position, that its message contains `message`, and its hint `hint`.
    fn check(text: &str, (line, column): (usize, usize), message: &str, hint: &str) {
        let e = err(text);
        assert_eq!((e.line, e.column), (line, column), "{e}");
        assert!(
            e.message.contains(message),
            "message {:?} lacks {message:?}",
            e.message
        );
        let h = e.hint.clone().unwrap_or_default();
        assert!(h.contains(hint), "hint {h:?} lacks {hint:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("test.toml:{line}:{column}: ")),
            "{e}"
        );
    }

    #[test]
    fn unknown_app_in_population_points_at_the_key() {
        let text = base_with("sms = 1.0", "sms = 0.5\nsmss = 0.5");
        check(
            &text,
            (20, 1),
            "unknown app `smss` in population",
            "did you mean `sms`?",
        );
    }

    #[test]
    fn shares_not_summing_to_one_point_at_the_table() {
        let text = base_with("sms = 1.0", "sms = 0.9");
        check(&text, (18, 1), "sum to 0.9, not 1", "must add up to 1");
    }

    #[test]
    fn shares_within_tolerance_are_accepted() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\n\n[[app]]\nname = \"b\"\nkind = \"sms\"\n\n[[app]]\nname = \"c\"\nkind = \"sms\"\n",
        )
        .replace("sms = 1.0", "sms = 0.1\nb = 0.2\nc = 0.7");
        ok(&text);
    }

    #[test]
    fn duplicate_app_name_points_at_the_second() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\n\n[[app]]\nname = \"sms\"\nkind = \"sms\"\n",
        );
        check(
            &text,
            (11, 8),
            "duplicate app name `sms`",
            "already defined on line 7",
        );
    }

    #[test]
    fn duplicate_carrier_name_points_at_the_second() {
        let text = base_with(
            "[traffic]",
            "[[carrier]]\nname = \"a\"\nsubscribers = 5\ncells = 1\nmcc = \"001\"\nmnc = \"02\"\nmsisdn_prefix = \"+1666\"\npopulation = { sms = 1.0 }\n\n[traffic]",
        );
        check(&text, (22, 8), "duplicate carrier name `a`", "line 11");
    }

    #[test]
    fn overlapping_msisdn_prefixes_are_rejected() {
        let text = base_with(
            "[traffic]",
            "[[carrier]]\nname = \"b\"\nsubscribers = 5\ncells = 1\nmcc = \"001\"\nmnc = \"02\"\nmsisdn_prefix = \"+15551\"\npopulation = { sms = 1.0 }\n\n[traffic]",
        );
        check(&text, (27, 17), "overlaps +1555", "prefix");
    }

    #[test]
    fn unknown_vantage_carrier_points_at_the_value() {
        let text = base_with("carrier = \"a\"\n", "carrier = \"b\"\n");
        check(&text, (27, 11), "unknown carrier `b`", "allowed: `a`");
    }

    #[test]
    fn explicit_warrant_out_of_range_points_at_the_subscriber() {
        let text = base_with(
            "[traffic]",
            "[carrier.warrants]\nexplicit = [{ subscriber = 10, kind = \"iri\" }]\n\n[traffic]",
        );
        check(
            &text,
            (22, 28),
            "subscriber 10 is out of range",
            "numbered 0 to 9",
        );
    }

    #[test]
    fn warrant_count_above_subscribers_points_at_count() {
        let text = base_with("[traffic]", "[carrier.warrants]\ncount = 11\n\n[traffic]");
        check(&text, (22, 9), "warrant count 11 exceeds", "from 0 to 10");
    }

    #[test]
    fn probability_outside_unit_interval_points_at_the_value() {
        let text = base_with("[traffic]\n", "[traffic]\nreply_probability = 1.5\n");
        check(&text, (22, 21), "probability 1.5 is outside [0, 1]", "0.25");
    }

    #[test]
    fn total_loss_is_rejected() {
        let text = base_with("[[app]]", "[links]\nradio = { loss = 1.0 }\n\n[[app]]");
        check(&text, (7, 18), "loss = 1", "below 1");
    }

    #[test]
    fn bad_duration_says_what_a_duration_looks_like() {
        let text = base_with("duration = \"1h\"", "duration = \"1x\"");
        check(
            &text,
            (4, 12),
            "expected a duration like \"30ms\" or \"2h\", got \"1x\"",
            "ns, us, ms",
        );
        let text = base_with("duration = \"1h\"", "duration = 60");
        check(
            &text,
            (4, 12),
            "expected a duration like \"30ms\" or \"2h\"",
            "",
        );
    }

    #[test]
    fn bad_rate_says_what_a_rate_looks_like() {
        let text = base_with(
            "[[app]]",
            "[links]\nradio = { bandwidth = \"10MB\" }\n\n[[app]]",
        );
        check(&text, (7, 23), "expected a rate like \"10Mbps\"", "Gbps");
    }

    #[test]
    fn noise_pattern_rejected_by_snow_points_at_the_pattern() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\n\n[[app]]\nname = \"c\"\nkind = \"noise\"\npattern = \"QQ\"\n",
        );
        check(
            &text,
            (13, 11),
            "Noise protocol `Noise_QQ_25519_ChaChaPoly_BLAKE2s`",
            "\"XX\"",
        );
    }

    #[test]
    fn noise_app_without_pattern_points_at_kind() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\n\n[[app]]\nname = \"c\"\nkind = \"noise\"\n",
        );
        check(&text, (12, 8), "needs a `pattern`", "pattern = \"XX\"");
    }

    #[test]
    fn noise_options_on_sms_point_at_the_option() {
        let text = base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\nserver_tunnel = false\n",
        );
        check(
            &text,
            (9, 17),
            "`server_tunnel` applies only to noise apps",
            "remove `server_tunnel`",
        );
        let text = base_with("kind = \"sms\"\n", "kind = \"sms\"\npin_keys = true\n");
        check(
            &text,
            (9, 12),
            "`pin_keys` applies only to noise apps",
            "kind = \"noise\"",
        );
    }

    #[test]
    fn padding_block_and_size_bucket_are_parameters_with_bounds() {
        let noise = "name = \"sms\"\nkind = \"noise\"\npattern = \"XX\"\n";
        let app = |extra: &str| {
            base_with(
                "name = \"sms\"\nkind = \"sms\"\n",
                &format!("{noise}{extra}"),
            )
        };
        // Defaults: Signal's block, 20-byte buckets.
        let s = ok(&app(""));
        assert_eq!(s.apps[0].countermeasures.padding_block, 160);
        assert_eq!(s.adversary.size_bucket, 20);
        let s = ok(&app("padding = \"block\"\npadding_block = 64\n")
            .replace("[adversary]\n", "[adversary]\nsize_bucket = 50\n"));
        assert_eq!(s.apps[0].countermeasures.padding_block, 64);
        assert_eq!(s.adversary.size_bucket, 50);
        // Accepted alone (a sweep sets it alone); used by block padding only.
        let s = ok(&app("padding_block = 64\n"));
        assert_eq!(s.apps[0].countermeasures.padding_block, 64);
        let e = err(&app("padding = \"block\"\npadding_block = 0\n")).to_string();
        assert!(e.contains("padding_block must be between 1 and"), "{e}");
        let e =
            err(&app("").replace("[adversary]\n", "[adversary]\nsize_bucket = 0\n")).to_string();
        assert!(e.contains("size_bucket must be between 1 and"), "{e}");
        // Not on apps the carrier reads.
        let e = err(&base_with(
            "kind = \"sms\"\n",
            "kind = \"sms\"\npadding_block = 64\n",
        ))
        .to_string();
        assert!(
            e.contains("`padding_block` applies only to end-to-end apps"),
            "{e}"
        );
    }

    #[test]
    fn message_length_bounds() {
        let text = base_with(
            "mean_degree = 2.0",
            "mean_degree = 2.0\nmessage_length = { min = 8, max = 100 }",
        );
        check(
            &text,
            (23, 26),
            "min 8 is below 16",
            "16 <= min <= max <= 1000",
        );
        let text = base_with(
            "mean_degree = 2.0",
            "mean_degree = 2.0\nmessage_length = { min = 20, max = 1001 }",
        );
        check(&text, (23, 36), "max 1001 is above 1000", "<= 1000");
        let text = base_with(
            "mean_degree = 2.0",
            "mean_degree = 2.0\nmessage_length = { min = 50, max = 40 }",
        );
        check(&text, (23, 36), "max 40 is below min 50", "min <= max");
    }

    #[test]
    fn too_few_subscribers() {
        let text = base_with("subscribers = 10", "subscribers = 1");
        check(&text, (12, 15), "at least 2 subscribers", "2 or more");
    }

    #[test]
    fn unknown_key_gets_did_you_mean() {
        let text = base_with(
            "[[app]]",
            "[links]\nradio = { latncy = \"5ms\" }\n\n[[app]]",
        );
        check(
            &text,
            (7, 11),
            "unknown key `latncy`",
            "did you mean `latency`?",
        );
        let text = base_with("[traffic]", "[trafic]");
        check(
            &text,
            (21, 2),
            "unknown key `trafic`",
            "did you mean `traffic`?",
        );
    }

    #[test]
    fn unknown_value_lists_allowed_values() {
        let text = base_with("kind = \"mediation\"", "kind = \"mediaton\"");
        check(
            &text,
            (26, 8),
            "unknown value `mediaton`",
            "did you mean `mediation`?",
        );
        let text = base_with("kind = \"sms\"", "kind = \"e2e\"");
        check(
            &text,
            (8, 8),
            "unknown value `e2e`",
            "`sms`, `carrier-encrypted`, `noise`",
        );
    }

    #[test]
    fn invalid_name_suggests_a_fixed_one() {
        let text = base_with("name = \"t\"", "name = \"Salt Typhoon\"");
        check(&text, (2, 8), "invalid name", "\"salt-typhoon\"");
    }

    #[test]
    fn missing_keys_and_tables() {
        let text = base_with("cells = 1\n", "");
        check(
            &text,
            (10, 1),
            "missing required key `cells`",
            "cells = ...",
        );
        let text = base_with(
            "[adversary]\n[[adversary.vantage]]\nkind = \"mediation\"\ncarrier = \"a\"\n",
            "",
        );
        check(
            &text,
            (1, 1),
            "missing required table `[adversary]`",
            "[adversary]",
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let text = base_with("cells = 1", "cells = = 1");
        let e = err(&text);
        assert_eq!((e.line, e.column), (13, 9), "{e}");
        assert!(!e.message.contains('\n'), "{e}");
        let text = base_with("cells = 1\n", "cells = 1\ncells = 2\n");
        check(&text, (14, 1), "duplicate key `cells`", "");
        check("[scenario\n", (1, 10), "", "");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let text = base_with("subscribers = 10", "subscribers = -3");
        check(&text, (12, 15), "expected u32", "");
        let text = base_with("subscribers = 10", "subscribers = \"ten\"");
        check(&text, (12, 15), "invalid type", "");
    }

    #[test]
    fn display_is_file_line_column_message_then_hint() {
        let text = base_with("carrier = \"a\"\n", "carrier = \"b\"\n");
        assert_eq!(
            err(&text).to_string(),
            "test.toml:27:11: unknown carrier `b`\n  hint: allowed: `a`; a vantage names a [[carrier]]; see docs/scenario.md#adversary-required"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = base_with("description = \"d\"", "description = \"déjà vu\"")
            .replace("duration = \"1h\"", "duration = \"1x\"");
        check(&text, (4, 12), "expected a duration", "");
        let text = base_with("carrier = \"a\"\n", "carrier = \"é\"\n");
        check(&text, (27, 11), "unknown carrier `é`", "");
    }
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    /// Every error points at a character of the text (or just past a line's end).
    fn assert_inside(text: &str, e: &ScenarioError) {
        assert!(e.line >= 1 && e.column >= 1, "{e}");
        // Issue 14: every error says something and hints at the fix, and echoes no huge value.
        assert!(!e.message.trim().is_empty(), "empty message: {e}");
        assert!(e.hint.is_some(), "no hint: {e}");
        docs_link(e);
        assert!(e.message.chars().count() <= 300, "message too long: {e}");
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(e.line <= lines.len().max(1), "line beyond text: {e}");
        let len = lines.get(e.line - 1).map_or(0, |l| l.chars().count());
        assert!(e.column <= len + 1, "column beyond line: {e}");
    }

    fn shipped() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(
            scenario::BUILTIN_SCENARIOS
                .iter()
                .map(|(_, t)| *t)
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            if let Err(e) = parse("fuzz.toml", &text) {
                assert_inside(&text, &e);
            }
        }

        #[test]
        fn toml_like_text_never_panics(text in "[\\[\\]a-z_ =\"0-9.{},\n#+-]{0,300}") {
            if let Err(e) = parse("fuzz.toml", &text) {
                assert_inside(&text, &e);
            }
        }

        #[test]
        fn mutated_scenarios_never_panic(
            base in shipped(),
            cut in 0.0..1.0f64,
            len in 0usize..40,
            insert in "\\PC{0,8}",
        ) {
            let mut at = (base.len() as f64 * cut) as usize;
            while !base.is_char_boundary(at) { at -= 1; }
            let mut end = (at + len).min(base.len());
            while !base.is_char_boundary(end) { end -= 1; }
            let text = format!("{}{}{}", &base[..at], insert, &base[end..]);
            if let Err(e) = parse("fuzz.toml", &text) {
                assert_inside(&text, &e);
            }
        }

        #[test]
        fn mutated_values_never_panic(
            base in shipped(),
            line in 0usize..200,
            value in prop_oneof![
                Just("-1".to_owned()), Just("1e400".to_owned()), Just("nan".to_owned()),
                Just("\"\"".to_owned()), Just("[]".to_owned()), Just("{}".to_owned()),
                Just("99999999999999999999".to_owned()), Just("\"99999999999999d\"".to_owned()),
                "[a-zA-Z0-9_\" .]{0,12}",
            ],
        ) {
            let lines: Vec<&str> = base.lines().collect();
            let i = line % lines.len();
            let replaced = match lines[i].split_once('=') {
                Some((key, _)) => format!("{key}= {value}"),
                None => lines[i].to_owned(),
            };
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            out[i] = replaced;
            let text = out.join("\n");
            if let Err(e) = parse("fuzz.toml", &text) {
                assert_inside(&text, &e);
            }
        }
    }
}

mod hostile {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for (open, close) in [("[", "]"), ("{a=", "}")] {
            let text = format!("x = {}1{}", open.repeat(5000), close.repeat(5000));
            let e = err(&text);
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
        let text = format!("{}= 1", "a.".repeat(5000));
        err(&text);
    }

    #[test]
    fn empty_text_reports_the_first_missing_table() {
        let e = err("");
        assert_eq!((e.line, e.column), (1, 1));
        assert!(
            e.message.contains("missing required table `[scenario]`"),
            "{e}"
        );
    }
}

mod docs {
    use super::*;

    #[test]
    fn reference_example_parses() {
        let doc = include_str!("../../../docs/scenario.md");
        let start = doc.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let len = doc[start..].find("```").unwrap();
        let s = ok(&doc[start..start + len]);
        assert_eq!(s.carriers[0].warrants.count, 2);
        assert_eq!(s.carriers[0].population.len(), 2);
    }

    /// Every key the parser accepts (a field of a `Raw*` struct in `raw.rs`) is documented in
    /// docs/scenario.md or in a page it links for that section, so the reference cannot fall
    /// behind the schema (issue 15: `[mobility]` and the voice keys were missing).
    #[test]
    fn every_accepted_key_is_documented() {
        let raw = include_str!("../src/raw.rs");
        let docs = [
            include_str!("../../../docs/scenario.md"),
            include_str!("../../../docs/countermeasures.md"),
            include_str!("../../../docs/traffic.md"),
            include_str!("../../../docs/signal.md"),
        ]
        .concat();
        // Every word inside an inline code span of the docs (`key`, `[key]`, `{ min, max }`,
        // `message_length.distribution`, `quantum = true`).
        let words: std::collections::BTreeSet<&str> = docs
            .split('`')
            .skip(1)
            .step_by(2)
            .flat_map(|code| code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
            .filter(|w| !w.is_empty())
            .collect();
        let mut missing = Vec::new();
        for line in raw.lines() {
            let Some(rest) = line.trim().strip_prefix("pub ") else {
                continue;
            };
            let Some((key, _)) = rest.split_once(':') else {
                continue;
            };
            if key.contains(' ') || key.contains('(') {
                continue;
            }
            if !words.contains(key) {
                missing.push(key.to_owned());
            }
        }
        assert!(
            missing.is_empty(),
            "undocumented scenario keys: {missing:?}"
        );
    }
}

mod capabilities {
    //! `[adversary]` capabilities: quantum, theft, weak RNG, on-path components.
    use super::*;
    use scenario::{OnPathMode, SecretKind, Who};
    use simcore::Duration;

    /// Two carriers, an SMS app, a plain XX app and an XXpsk3 app; the adversary section ends
    /// the text so tests append capability tables.
    const CAPS: &str = r#"[scenario]
name = "t"
description = "d"
duration = "1h"

[[app]]
name = "sms"
kind = "sms"

[[app]]
name = "xx"
kind = "noise"
pattern = "XX"

[[app]]
name = "xxpsk"
kind = "noise"
pattern = "XXpsk3"

[[carrier]]
name = "east"
subscribers = 10
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
population = { sms = 0.5, xx = 0.25, xxpsk = 0.25 }

[[carrier]]
name = "west"
subscribers = 10
cells = 1
mcc = "001"
mnc = "02"
msisdn_prefix = "+1666"
population = { xx = 1.0 }

[traffic]
mean_degree = 2.0

[adversary]
name = "salt-typhoon"
[[adversary.vantage]]
kind = "core-tap"
carrier = "east"
"#;

    fn with(extra: &str) -> String {
        format!("{CAPS}{extra}")
    }

    /// 1-based (line, column) of the first `needle` at or after the capabilities part.
    fn pos(text: &str, needle: &str) -> (usize, usize) {
        let at = CAPS.len() + text[CAPS.len()..].find(needle).expect("needle in text");
        let line = text[..at].matches('\n').count() + 1;
        let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    fn check(text: &str, needle: &str, message: &str, hint: &str) {
        let e = err(text);
        assert_eq!((e.line, e.column), pos(text, needle), "{e}");
        assert!(e.message.contains(message), "{e}");
        let h = e.hint.clone().unwrap_or_default();
        assert!(h.contains(hint), "hint {h:?} lacks {hint:?}\n{e}");
    }

    #[test]
    fn absent_capabilities_are_empty() {
        let s = ok(CAPS);
        assert!(!s.adversary.quantum);
        assert!(s.adversary.theft.is_empty());
        assert!(s.adversary.weak_rng.is_empty());
        assert!(s.adversary.onpath.is_empty());
    }

    #[test]
    fn full_section_parses_with_defaults() {
        let s = ok(&with(
            r#"[[adversary.theft]]
at = "30d"
secret = "static"
who = "subscribers"
app = "xx"
carrier = "east"
share = 0.5
[[adversary.theft]]
at = "2h"
secret = "static"
who = "ott-server"
[[adversary.theft]]
at = "1d"
secret = "static"
who = "carrier-gateway"
carrier = "west"
[[adversary.theft]]
at = "30m"
secret = "session-state"
who = "subscribers"
app = "xx"
[[adversary.theft]]
at = "5d"
secret = "psk"
who = "subscribers"
app = "xxpsk"
[[adversary.weak_rng]]
app = "xx"
share = 0.5
entropy_bits = 16
[[adversary.weak_rng]]
app = "xxpsk"
[[adversary.onpath]]
carrier = "east"
mode = "mitm"
app = "xx"
share = 0.25
from = "10m"
own_static = false
[[adversary.onpath]]
carrier = "west"
mode = "drop"
app = "sms"
"#,
        )
        .replace(
            "name = \"salt-typhoon\"",
            "name = \"salt-typhoon\"\nquantum = true",
        ));
        let a = &s.adversary;
        assert_eq!(a.name, "salt-typhoon");
        assert!(a.quantum);
        let t = &a.theft;
        assert_eq!(t.len(), 5);
        assert_eq!(t[0].at, Duration::from_secs(30 * 86_400));
        assert_eq!(
            (
                t[0].secret,
                t[0].who,
                t[0].app.as_deref(),
                t[0].carrier.as_deref(),
                t[0].share
            ),
            (
                SecretKind::Static,
                Who::Subscribers,
                Some("xx"),
                Some("east"),
                0.5
            )
        );
        assert_eq!(
            (t[1].who, t[1].app.as_deref(), t[1].share),
            (Who::OttServer, None, 1.0)
        );
        assert_eq!(
            (t[2].who, t[2].carrier.as_deref()),
            (Who::CarrierGateway, Some("west"))
        );
        assert_eq!((t[3].secret.as_str(), t[3].share), ("session-state", 1.0));
        assert_eq!(t[4].secret, SecretKind::Psk);
        assert_eq!(
            (
                a.weak_rng[0].app.as_str(),
                a.weak_rng[0].share,
                a.weak_rng[0].entropy_bits
            ),
            ("xx", 0.5, 16)
        );
        assert_eq!((a.weak_rng[1].share, a.weak_rng[1].entropy_bits), (1.0, 12));
        let o = &a.onpath;
        assert_eq!(
            (
                o[0].carrier.as_str(),
                o[0].mode,
                o[0].app.as_str(),
                o[0].share,
                o[0].from,
                o[0].own_static
            ),
            (
                "east",
                OnPathMode::Mitm,
                "xx",
                0.25,
                Duration::from_secs(600),
                false
            )
        );
        assert_eq!(
            (o[1].mode.as_str(), o[1].share, o[1].from, o[1].own_static),
            ("drop", 1.0, Duration::ZERO, true)
        );
        assert_eq!(a.theft[1].who.as_str(), "ott-server");
    }

    #[test]
    fn unknown_keys_and_values_get_did_you_mean() {
        let text =
            with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"statik\"\nwho = \"ott-server\"\n");
        check(
            &text,
            "\"statik\"",
            "unknown value `statik`",
            "did you mean `static`?",
        );
        let text =
            with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"ott-servr\"\n");
        check(
            &text,
            "\"ott-servr\"",
            "unknown value `ott-servr`",
            "did you mean `ott-server`?",
        );
        let text =
            with("[[adversary.theft]]\nat = \"1d\"\nsecrt = \"static\"\nwho = \"ott-server\"\n");
        check(
            &text,
            "secrt",
            "unknown key `secrt`",
            "did you mean `secret`?",
        );
        let text =
            with("[[adversary.onpath]]\ncarrier = \"east\"\nmode = \"mitn\"\napp = \"xx\"\n");
        check(
            &text,
            "\"mitn\"",
            "unknown value `mitn`",
            "did you mean `mitm`?",
        );
        let text = with("[[adversary.weak_rng]]\napp = \"xx\"\nentropy_bit = 3\n");
        check(
            &text,
            "entropy_bit",
            "unknown key `entropy_bit`",
            "did you mean `entropy_bits`?",
        );
        let text = CAPS.replace("name = \"salt-typhoon\"", "quantom = true");
        let e = err(&text);
        assert!(e.message.contains("unknown key `quantom`"), "{e}");
        assert!(e
            .hint
            .unwrap_or_default()
            .contains("did you mean `quantum`?"));
    }

    #[test]
    fn unknown_app_and_carrier_point_at_the_name() {
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"subscribers\"\napp = \"xy\"\n");
        check(&text, "\"xy\"", "unknown app `xy`", "did you mean `xx`?");
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"subscribers\"\napp = \"xx\"\ncarrier = \"easy\"\n");
        check(
            &text,
            "\"easy\"",
            "unknown carrier `easy`",
            "did you mean `east`?",
        );
        let text = with("[[adversary.weak_rng]]\napp = \"xxx\"\n");
        check(&text, "\"xxx\"", "unknown app `xxx`", "did you mean `xx`?");
        let text = with("[[adversary.onpath]]\ncarrier = \"wes\"\nmode = \"drop\"\napp = \"xx\"\n");
        check(
            &text,
            "\"wes\"",
            "unknown carrier `wes`",
            "did you mean `west`?",
        );
        let text =
            with("[[adversary.onpath]]\ncarrier = \"west\"\nmode = \"drop\"\napp = \"smss\"\n");
        check(
            &text,
            "\"smss\"",
            "unknown app `smss`",
            "did you mean `sms`?",
        );
    }

    #[test]
    fn share_outside_unit_interval_points_at_the_value() {
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"subscribers\"\napp = \"xx\"\nshare = 1.5\n");
        check(
            &text,
            "1.5",
            "probability 1.5 is outside [0, 1]",
            "0.0 to 1.0",
        );
        let text = with("[[adversary.weak_rng]]\napp = \"xx\"\nshare = -0.1\n");
        check(&text, "-0.1", "outside [0, 1]", "0.0 to 1.0");
        let text = with("[[adversary.onpath]]\ncarrier = \"east\"\nmode = \"tamper\"\napp = \"xx\"\nshare = 2\n");
        check(&text, "2\n", "outside [0, 1]", "0.0 to 1.0");
    }

    #[test]
    fn entropy_bits_range() {
        for bad in ["0", "17", "-3"] {
            let text = with(&format!(
                "[[adversary.weak_rng]]\napp = \"xx\"\nentropy_bits = {bad}\n"
            ));
            check(
                &text,
                &format!("{bad}\n"),
                "outside 1..=16",
                "use 1 to 16 bits",
            );
        }
        for good in ["1", "16"] {
            ok(&with(&format!(
                "[[adversary.weak_rng]]\napp = \"xx\"\nentropy_bits = {good}\n"
            )));
        }
    }

    #[test]
    fn psk_theft_needs_a_psk_app() {
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"psk\"\nwho = \"subscribers\"\napp = \"xx\"\n");
        check(
            &text,
            "\"xx\"",
            "uses no pre-shared key",
            "psk apps: `xxpsk`",
        );
    }

    #[test]
    fn handset_secrets_need_a_noise_app() {
        for secret in ["static", "session-state"] {
            let text = with(&format!("[[adversary.theft]]\nat = \"1m\"\nsecret = \"{secret}\"\nwho = \"subscribers\"\napp = \"sms\"\n"));
            check(
                &text,
                "\"sms\"",
                "app `sms` is sms",
                "noise apps: `xx`, `xxpsk`",
            );
        }
        let text = with("[[adversary.weak_rng]]\napp = \"sms\"\n");
        check(&text, "\"sms\"", "app `sms` is sms", "noise apps");
        let text =
            with("[[adversary.onpath]]\ncarrier = \"east\"\nmode = \"mitm\"\napp = \"sms\"\n");
        check(&text, "\"sms\"", "man in the middle", "noise apps");
    }

    #[test]
    fn session_state_must_be_stolen_within_the_run() {
        let text = with("[[adversary.theft]]\nat = \"2h\"\nsecret = \"session-state\"\nwho = \"subscribers\"\napp = \"xx\"\n");
        check(&text, "\"2h\"", "after the traffic ends (1h)", "up to 1h");
        ok(&with("[[adversary.theft]]\nat = \"1h\"\nsecret = \"session-state\"\nwho = \"subscribers\"\napp = \"xx\"\n"));
        // A static may be stolen long after: harvest now, decrypt later.
        ok(&with("[[adversary.theft]]\nat = \"365d\"\nsecret = \"static\"\nwho = \"subscribers\"\napp = \"xx\"\n"));
    }

    #[test]
    fn who_decides_which_keys_apply() {
        let text =
            with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"subscribers\"\n");
        check(&text, "\"subscribers\"", "needs `app`", "`xx`, `xxpsk`");
        let text = with(
            "[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"carrier-gateway\"\n",
        );
        check(
            &text,
            "\"carrier-gateway\"",
            "needs `carrier`",
            "carrier = ",
        );
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"ott-server\"\ncarrier = \"east\"\n");
        check(
            &text,
            "\"east\"",
            "`carrier` does not apply",
            "remove `carrier`",
        );
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"ott-server\"\napp = \"xx\"\n");
        check(&text, "\"xx\"", "`app` does not apply", "remove `app`");
        let text = with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"static\"\nwho = \"carrier-gateway\"\ncarrier = \"east\"\nshare = 0.5\n");
        check(&text, "0.5", "`share` does not apply", "remove `share`");
        let text =
            with("[[adversary.theft]]\nat = \"1d\"\nsecret = \"psk\"\nwho = \"ott-server\"\n");
        check(
            &text,
            "\"psk\"",
            "the OTT server holds no psk secret",
            "secret = \"static\"",
        );
        let text = with("[[adversary.theft]]\nat = \"1m\"\nsecret = \"session-state\"\nwho = \"carrier-gateway\"\ncarrier = \"east\"\n");
        check(
            &text,
            "\"session-state\"",
            "a carrier gateway holds no session-state",
            "static",
        );
    }

    #[test]
    fn own_static_only_for_mitm() {
        let text = with("[[adversary.onpath]]\ncarrier = \"east\"\nmode = \"replay\"\napp = \"xx\"\nown_static = false\n");
        check(
            &text,
            "false",
            "`own_static` does not apply to mode = \"replay\"",
            "remove `own_static`",
        );
    }

    #[test]
    fn missing_required_keys() {
        let text = with("[[adversary.theft]]\nsecret = \"static\"\nwho = \"ott-server\"\n");
        let e = err(&text);
        assert!(e.message.contains("missing required key `at`"), "{e}");
        let text = with("[[adversary.onpath]]\ncarrier = \"east\"\napp = \"xx\"\n");
        let e = err(&text);
        assert!(e.message.contains("missing required key `mode`"), "{e}");
    }

    #[test]
    fn hybrid_pattern_is_accepted() {
        let text = CAPS.replace(
            "pattern = \"XX\"",
            "pattern = \"Noise_XXhfs_25519+Kyber1024_ChaChaPoly_BLAKE2s\"",
        );
        let s = ok(&text);
        assert_eq!(s.protocol_label("xx"), "noise:XXhfs");
    }
}

/// Inputs the fuzz targets crashed on (`fuzz/README.md`), kept as files: each must parse to a
/// scenario or an error, never a panic.
mod fuzz_regressions {
    #[test]
    fn a_key_after_a_multi_byte_character() {
        // scenario_parse, 2026-12-06: the type-error hint sliced inside '—' looking for the key.
        let text = include_str!("fuzz_regressions/key-after-multibyte.toml");
        let e = scenario::parse("fuzz.toml", text).expect_err("not a valid scenario");
        assert!(e.hint.is_some(), "{e}");
    }
}

mod type_errors {
    //! Issue 14: type and syntax errors from the TOML layer carry a hint naming the key, what it
    //! takes and where it is documented; huge values are cut.
    use super::*;

    #[test]
    fn a_wrong_type_names_the_key_and_what_it_takes() {
        let e = err(&base_with("mean_degree = 2.0", "mean_degree = \"six\""));
        assert_eq!((e.line, e.column), (22, 15), "{e}");
        let hint = e.hint.expect("a hint");
        assert!(hint.contains("`mean_degree` takes a number"), "{hint}");
        assert!(hint.contains("docs/scenario.md"), "{hint}");
        let e = err(&base_with("subscribers = 10", "subscribers = -4"));
        assert!(e
            .hint
            .expect("a hint")
            .contains("`subscribers` takes a whole number"));
    }

    #[test]
    fn syntax_errors_get_a_hint_and_huge_values_are_cut() {
        let e = err("[scenario\nname = \"t\"\n");
        assert!(e.hint.expect("a hint").contains("TOML syntax"));
        let huge = "x".repeat(1_000_000);
        let e = err(&base_with("name = \"t\"", &format!("name = 7{huge}")));
        assert!(e.to_string().len() < 2_000, "{} bytes", e.to_string().len());
    }
}

/// Issue 14: valid-looking input that would run for hours or exceed what the model addresses
/// is refused by `validate`, at the key that makes it large, with the estimate and a hint.
mod bounded {
    use super::*;

    fn refused(text: &str, line: usize, needle: &str, hint: &str) {
        let e = err(text).to_string();
        assert!(e.starts_with(&format!("test.toml:{line}:")), "{e}");
        assert!(e.contains(needle), "{e}");
        assert!(e.contains(hint), "{e}");
    }

    #[test]
    fn runaway_traffic_is_refused_at_its_key() {
        refused(
            &base_with(
                "mean_degree = 2.0",
                "mean_degree = 2.0\nmessages_per_contact_per_day = 1e9",
            ),
            23,
            "work budget",
            "lower `messages_per_contact_per_day`, or raise the budget with --max-work",
        );
        refused(
            &base_with("duration = \"1h\"", "duration = \"100000d\""),
            4,
            "work budget",
            "lower `duration`",
        );
    }

    #[test]
    fn a_larger_budget_lets_it_through() {
        let text = base_with("duration = \"1h\"", "duration = \"100000d\"");
        let sc = scenario::parse_with("test.toml", &text, scenario::Limits { max_work: u64::MAX })
            .expect("within a raised budget");
        let w = sc.estimated_work();
        assert!(
            w.messages > 5e6 && w.frames == 0.0 && w.retries == 0.0,
            "{w:?}"
        );
    }

    #[test]
    fn a_long_partition_counts_its_retransmissions_and_is_refused_at_its_until() {
        // A day of 1,000 subscribers' traffic with the OTT server down from 1h for 30 days:
        // every message sent in the outage may be retransmitted once a minute until the run's
        // retry budget (7 days after the traffic) runs out.
        let day = base_with("duration = \"1h\"", "duration = \"24h\"").replacen(
            "subscribers = 10",
            "subscribers = 1000",
            1,
        );
        let long = format!(
            "{day}\n[[faults.partition]]\nnode = \"ott\"\nfrom = \"1h\"\nuntil = \"30d\"\n"
        );
        let lines = long.lines().count();
        let e = err(&long).to_string();
        assert!(e.starts_with(&format!("test.toml:{lines}:")), "{e}");
        assert!(
            e.contains("retransmissions while partitions are down"),
            "{e}"
        );
        assert!(e.contains("end this outage earlier (`until`)"), "{e}");
        // The same outage over ten minutes is cheap, and counted.
        let short = format!(
            "{day}\n[[faults.partition]]\nnode = \"ott\"\nfrom = \"1h\"\nuntil = \"70m\"\n"
        );
        let w = ok(&short).estimated_work();
        assert!(w.retries > 0.0 && w.retries < w.messages, "{w:?}");
        // A raised budget lets the long one through, with its estimate above the traffic.
        let sc = scenario::parse_with("test.toml", &long, scenario::Limits { max_work: u64::MAX })
            .expect("within a raised budget");
        let w = sc.estimated_work();
        assert!(w.retries > 100.0 * w.messages, "{w:?}");
        // Past the retry budget an outage adds nothing: the run has given up by then.
        let longer = long.replacen("until = \"30d\"", "until = \"300d\"", 1);
        let sc = scenario::parse_with(
            "test.toml",
            &longer,
            scenario::Limits { max_work: u64::MAX },
        )
        .expect("within a raised budget");
        assert_eq!(sc.estimated_work(), w);
    }

    #[test]
    fn limits_the_simulator_enforces_are_checked_here() {
        refused(
            &base_with("subscribers = 10", "subscribers = 5000000"),
            12,
            "at most 4259775 per carrier",
            "hint:",
        );
        refused(
            &base_with("cells = 1", "cells = 300"),
            13,
            "at most 250",
            "hint:",
        );
    }

    /// Beyond its own `10.c.0.0/16`, a carrier numbers subscribers in blocks of
    /// 100.64.0.0/10 that all carriers share: 64 blocks, refused at the carrier that runs out.
    #[test]
    fn the_shared_overflow_blocks_are_counted_over_all_carriers() {
        let carriers = |subscribers: &[u32]| {
            let mut text = BASE.replacen(
                "subscribers = 10",
                &format!("subscribers = {}", subscribers[0]),
                1,
            );
            for (i, n) in subscribers.iter().enumerate().skip(1) {
                text.push_str(&format!(
                    "\n[[carrier]]\nname = \"c{i}\"\nsubscribers = {n}\ncells = 1\nmcc = \"001\"\nmnc = \"{:02}\"\nmsisdn_prefix = \"+1{:03}\"\n[carrier.population]\nsms = 1.0\n",
                    i + 10,
                    i + 600
                ));
            }
            text
        };
        let raised = |text: &str| {
            scenario::parse_with("test.toml", text, scenario::Limits { max_work: u64::MAX })
        };
        // 65,535 fit in a carrier's own block; one more takes an overflow block.
        assert_eq!(scenario::address_blocks(65_535), 1);
        assert_eq!(scenario::address_blocks(65_536), 2);
        // Four carriers of 1,000,000 take 4 x 15 = 60 blocks: accepted.
        raised(&carriers(&[1_000_000; 4])).unwrap_or_else(|e| panic!("{e}"));
        // A fifth needs 75: refused at its `subscribers`, with what the blocks are.
        let text = carriers(&[1_000_000; 5]);
        let e = raised(&text).expect_err("75 overflow blocks").to_string();
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("subscribers"))
            .nth(4)
            .map(|(i, _)| i + 1);
        assert!(
            e.starts_with(&format!("test.toml:{}:", line.unwrap_or(0))),
            "{e}"
        );
        assert!(
            e.contains("with carrier `c4`")
                && e.contains("need 75 address blocks of 100.64.0.0/10"),
            "{e}"
        );
        assert!(
            e.contains("hint: every carrier numbers 65535 subscribers"),
            "{e}"
        );
    }

    #[test]
    fn every_shipped_scenario_is_within_the_default_budget() {
        for (name, text) in scenario::BUILTIN_SCENARIOS {
            if *name == "carrier-scale" {
                // Issue 16's million subscribers: refused by default at a carrier's size, with
                // the flag that raises the budget, and accepted with it.
                let e = parse(name, text)
                    .expect_err("a million subscribers")
                    .to_string();
                assert!(e.contains("subscribers") && e.contains("--max-work"), "{e}");
                let sc = scenario::parse_with(
                    name,
                    text,
                    scenario::Limits {
                        max_work: 100_000_000,
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(sc.total_subscribers(), 1_000_000);
                continue;
            }
            let sc = parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            let w = sc.estimated_work();
            assert!(
                w.total() <= scenario::DEFAULT_MAX_WORK as f64,
                "{name}: {w:?}"
            );
        }
    }
}

/// `[[faults.partition]]`: scheduled outages parse into the model, and every mistake is
/// refused at its key with a hint.
mod partitions {
    use super::*;
    use scenario::{LinkClass, NodeRole, PartitionTarget};
    use simcore::Duration;

    fn with(table: &str) -> String {
        format!("{BASE}\n[[faults.partition]]\n{table}\n")
    }

    #[test]
    fn links_and_nodes_parse_with_their_windows() {
        let s = ok(&format!(
            "{}\n[[faults.partition]]\nnode = \"smsc\"\ncarrier = \"a\"\nfrom = \"1h\"\nuntil = \"3h\"\n",
            with("link = \"radio\"\nfrom = \"10m\"\nuntil = \"40m\"")
        ));
        let p = &s.faults.partitions;
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].target, PartitionTarget::Link(LinkClass::Radio));
        assert_eq!(p[0].carrier, None);
        assert_eq!(
            (p[0].from, p[0].until),
            (Duration::from_secs(600), Duration::from_secs(2400))
        );
        assert_eq!(p[1].target, PartitionTarget::Node(NodeRole::Smsc));
        assert_eq!(p[1].carrier.as_deref(), Some("a"));
        assert_eq!(s.faults.down_at(Duration::from_secs(700)).count(), 1);
        assert_eq!(s.faults.down_at(Duration::from_secs(2400)).count(), 0);
        // A scenario without partitions echoes no `faults` (reports keep their bytes).
        let plain = serde_json::to_string(&ok(BASE)).expect("json");
        assert!(!plain.contains("faults"), "{plain}");
    }

    #[test]
    fn mistakes_are_refused_at_their_key_with_a_hint() {
        let line_of = |text: &str, needle: &str| {
            text.lines()
                .position(|l| l.starts_with(needle))
                .expect("line")
                + 1
        };
        for (table, at, says) in [
            (
                "link = \"radio\"\nfrom = \"40m\"\nuntil = \"10m\"",
                "until",
                "after its `from`",
            ),
            (
                "link = \"radio\"\nnode = \"ott\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "node",
                "not both",
            ),
            ("from = \"1m\"\nuntil = \"2m\"", "from", "neither"),
            (
                "node = \"smsc\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "node",
                "needs a `carrier`",
            ),
            (
                "node = \"ott\"\ncarrier = \"a\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "carrier",
                "belongs to no carrier",
            ),
            (
                "link = \"internet\"\ncarrier = \"a\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "carrier",
                "belongs to no carrier",
            ),
            (
                "link = \"core\"\ncarrier = \"b\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "carrier",
                "unknown carrier `b`",
            ),
            (
                "link = \"radi\"\nfrom = \"1m\"\nuntil = \"2m\"",
                "link",
                "radi",
            ),
            (
                "node = \"ott\"\nfrom = \"1m\"\nuntil = \"2m\"\nbogus = 1",
                "bogus",
                "bogus",
            ),
        ] {
            let text = with(table);
            let e = err(&text);
            let want = line_of(&text[BASE.len()..], at) + BASE.lines().count();
            assert_eq!(e.line, want, "{table}: {e}");
            assert!(e.message.contains(says), "{table}: {e}");
            assert!(e.hint.is_some(), "{table}: {e}");
        }
        let many: String = (0..=scenario::MAX_PARTITIONS)
            .map(|_| "\n[[faults.partition]]\nnode = \"ott\"\nfrom = \"1m\"\nuntil = \"2m\"\n")
            .collect();
        let e = err(&format!("{BASE}{many}"));
        assert!(e.message.contains("more than 64"), "{e}");
    }
}

/// Issue 10: `wiretap validate` errors point to the field's entry in docs/scenario.md. Every
/// error of this file is checked by `err` (and the property tests by `assert_inside`) to link an
/// existing heading; these check that the heading is the one documenting the key.
mod docs_links {
    use super::*;

    const NOISE: &str = "[[app]]\nname = \"chat\"\nkind = \"noise\"\npattern = \"XX\"\n";
    const SIGNAL: &str = "[[app]]\nname = \"sig\"\nkind = \"signal\"\n";

    fn anchor_of(text: &str) -> String {
        docs_link(&err(text))
    }

    #[test]
    fn each_mistake_links_the_section_of_its_key() {
        let app = |extra: &str, app: &str| {
            base_with("[[carrier]]", &format!("{app}{extra}\n\n[[carrier]]"))
        };
        let cases: Vec<(String, &str)> = vec![
            (base_with("duration = \"1h\"", "duration = \"1x\""), "scenario-required"),
            (base_with("description = \"d\"", "description = \"d\"\nseeed = 1"), "scenario-required"),
            (base_with("mean_degree = 2.0", "mean_degree = \"six\""), "traffic-optional"),
            (base_with("mean_degree = 2.0", "mean_degree = 2.0\nreply_probability = 2.0"), "traffic-optional"),
            (
                base_with("[traffic]", "[links.radio]\nlatncy = \"1ms\"\n\n[traffic]"),
                "links-optional",
            ),
            (
                base_with("[traffic]", "[links.core]\nloss = 1.0\n\n[traffic]"),
                "links-optional",
            ),
            (base_with("sms = 1.0", "sms = 0.5\nsmss = 0.5"), "carrierpopulation-required"),
            (base_with("sms = 1.0", "sms = 0.5"), "carrierpopulation-required"),
            (
                base_with("msisdn_prefix = \"+1555\"", "msisdn_prefix = \"+1555\"\nwarrants = { count = 99 }"),
                "carrierwarrants-optional",
            ),
            (
                base_with(
                    "msisdn_prefix = \"+1555\"",
                    "msisdn_prefix = \"+1555\"\nwarrants = { explicit = [{ subscriber = 3, kind = \"irri\" }] }",
                ),
                "carrierwarrants-optional",
            ),
            (base_with("subscribers = 10", "subscribers = 1"), "carrier-at-least-one"),
            (base_with("kind = \"sms\"", "kind = \"smss\""), "app-at-least-one"),
            (app("pin_keys = 3", NOISE), "app-at-least-one"),
            (app("one_time_prekeys = 5000", SIGNAL), "signal-apps-kind--signal"),
            (app("sealed_sender = 1", SIGNAL), "signal-apps-kind--signal"),
            (app("padding = \"bogus\"", NOISE), "countermeasures-of-end-to-end-apps"),
            (base_with("kind = \"mediation\"", "kind = \"mediator\""), "adversary-required"),
            (base_with("carrier = \"a\"\n", "carrier = \"b\"\n"), "adversary-required"),
            (
                format!("{BASE}\n[mobility]\ncommute_cells = 99\n"),
                "mobility-optional",
            ),
            (
                format!("{BASE}\n[mobility]\njitter = \"1x\"\n"),
                "mobility-optional",
            ),
            (
                format!("{BASE}\n[[adversary.theft]]\nat = \"1h\"\nsecret = \"bogus\"\nwho = \"subscribers\"\n"),
                "capabilities-beyond-the-taps-optional",
            ),
            (
                format!("{BASE}\n[[adversary.weak_rng]]\napp = \"sms\"\nentropy_bits = 99\n"),
                "capabilities-beyond-the-taps-optional",
            ),
            (
                format!("{BASE}\n[[faults.partition]]\nlink = \"radioo\"\nfrom = \"1m\"\nuntil = \"2m\"\n"),
                "faultspartition-optional",
            ),
            (
                base_with("mean_degree = 2.0", "mean_degree = 2.0\nmessages_per_contact_per_day = 1e9"),
                "work-budget",
            ),
            (base_with("[[app]]\nname = \"sms\"\nkind = \"sms\"\n", ""), "app-at-least-one"),
            (String::new(), "scenario-required"),
        ];
        let mut wrong = Vec::new();
        for (text, want) in &cases {
            let got = anchor_of(text);
            if got != *want {
                wrong.push(format!("want #{want}, got #{got}: {}", err(text)));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    }

    #[test]
    fn the_link_ends_the_hint_and_keeps_the_fix_first() {
        let e = err(&base_with("mean_degree = 2.0", "mean_degree = \"six\""));
        let hint = e.hint.unwrap();
        assert!(hint.starts_with("`mean_degree` takes a number"), "{hint}");
        assert!(
            hint.ends_with("; see docs/scenario.md#traffic-optional"),
            "{hint}"
        );
        // Exactly one link.
        assert_eq!(hint.matches("docs/scenario.md").count(), 1, "{hint}");
    }
}
