//! Fault-injection cases for the "nothing silently wrong" invariants (issue 14), shared by the
//! property tests (`tests/faults.rs`) and the long campaign (`examples/fault_campaign.rs`).
//!
//! A [`Case`] is a seed, per-packet faults on every link class (loss, frame-check-caught
//! corruption, duplication, reordering) and up to two scheduled partitions; [`scenario_text`]
//! turns it into a two-carrier scenario with SMS, carrier-encrypted, Noise (XX) and Signal apps
//! and [`check`] runs it through the pipeline and checks the invariants: no wrong or duplicated
//! text delivered, no false recovery, every message delivered or failed with a reason.

use std::fmt::Write as _;

/// What a partition takes down: the TOML keys of one `[[faults.partition]]` (without times).
pub const PARTITION_TARGETS: &[&str] = &[
    r#"link = "radio""#,
    r#"link = "radio", carrier = "east""#,
    r#"link = "core", carrier = "west""#,
    r#"link = "interconnect""#,
    r#"link = "internet""#,
    r#"node = "ott""#,
    r#"node = "ix""#,
    r#"node = "smsc", carrier = "east""#,
    r#"node = "pgw", carrier = "west""#,
    r#"node = "core", carrier = "east""#,
    r#"node = "edge", carrier = "west""#,
];

/// One fault-injected run.
#[derive(Clone, Debug)]
pub struct Case {
    pub seed: u64,
    pub loss: f64,
    pub corrupt: f64,
    pub duplicate: f64,
    pub reorder: f64,
    /// `(index into PARTITION_TARGETS, from in minutes, length in minutes)`.
    pub partitions: Vec<(usize, u32, u32)>,
}

/// The scenario of a case: two carriers, 30 subscribers, one hour of traffic.
pub fn scenario_text(c: &Case) -> String {
    let link = format!(
        "{{ loss = {}, corrupt = {}, duplicate = {}, reorder = {}, reorder_delay = \"40ms\" }}",
        c.loss, c.corrupt, c.duplicate, c.reorder
    );
    let mut text = format!(
        r#"
[scenario]
name = "faults"
description = "fault-injection case"
duration = "1h"

[links]
radio = {link}
core = {link}
interconnect = {link}
internet = {link}

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
name = "sig"
kind = "signal"

[[carrier]]
name = "east"
subscribers = 16
cells = 2
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
[carrier.population]
sms = 0.25
rcs = 0.25
xx = 0.25
sig = 0.25

[[carrier]]
name = "west"
subscribers = 14
cells = 1
mcc = "001"
mnc = "02"
msisdn_prefix = "+1666"
[carrier.population]
sms = 0.25
rcs = 0.25
xx = 0.25
sig = 0.25

[traffic]
mean_degree = 3.0
cross_carrier = 0.3
messages_per_contact_per_day = 48.0
reply_delay = "2m"

[adversary]
name = "campaign"
[[adversary.vantage]]
kind = "mediation"
carrier = "east"
[[adversary.vantage]]
kind = "core-tap"
carrier = "east"
[[adversary.vantage]]
kind = "core-tap"
carrier = "west"
"#
    );
    for &(target, from, len) in &c.partitions {
        let _ = write!(
            text,
            "\n[[faults.partition]]\n{}\nfrom = \"{from}m\"\nuntil = \"{}m\"\n",
            PARTITION_TARGETS[target % PARTITION_TARGETS.len()].replace(", ", "\n"),
            from + len.max(1)
        );
    }
    text
}

/// What one case produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages sent.
    pub messages: usize,
    /// Messages delivered.
    pub delivered: usize,
    /// Messages failed, with a reason.
    pub failed: usize,
    /// End-to-end sessions plus SMS conversations, from the report.
    pub sessions: usize,
    /// Failed messages by reason (the reason's text up to its first `:`).
    pub reasons: std::collections::BTreeMap<String, usize>,
}

/// Runs a case and checks the invariants; `Err` says which failed.
pub fn check(c: &Case) -> Result<Outcome, String> {
    let text = scenario_text(c);
    let sc = scenario::parse("case.toml", &text).map_err(|e| format!("{e}\n{text}"))?;
    let run = pipeline::run(&sc, c.seed).map_err(|e| format!("run failed: {e}"))?;
    let t = &run.output.truth;
    let ctx = || format!("{c:?}");
    if t.integrity_errors != 0 {
        return Err(format!(
            "{} wrong texts delivered: {}",
            t.integrity_errors,
            ctx()
        ));
    }
    if t.duplicate_deliveries != 0 {
        return Err(format!(
            "{} duplicate deliveries: {}",
            t.duplicate_deliveries,
            ctx()
        ));
    }
    let false_rec = run.report.adversary.false_recoveries;
    if false_rec != 0 {
        return Err(format!("{false_rec} false recoveries: {}", ctx()));
    }
    let mut out = Outcome {
        messages: t.messages.len(),
        ..Outcome::default()
    };
    for m in &t.messages {
        match (&m.delivered_at, &m.failure) {
            (Some(_), None) => out.delivered += 1,
            (None, Some(why)) if !why.is_empty() => {
                out.failed += 1;
                let head = why.split(':').next().unwrap_or(why).to_owned();
                *out.reasons.entry(head).or_default() += 1;
            }
            other => {
                return Err(format!(
                    "message {} neither delivered nor failed with a reason ({other:?}): {}",
                    m.id,
                    ctx()
                ))
            }
        }
    }
    if out.delivered + out.failed != out.messages {
        return Err(format!("delivered + failed != messages: {out:?} {}", ctx()));
    }
    out.sessions = run.report.protocols.iter().map(|p| p.sessions).sum();
    if out.messages == 0 {
        return Err(format!("no traffic: the case proves nothing: {}", ctx()));
    }
    Ok(out)
}
