//! Scenario files for wiretap: TOML text → a validated [`Scenario`], or a [`ScenarioError`] at
//! `file:line:column` with a hint.
//!
//! A scenario describes the carriers and their subscribers, the messaging apps they use, the
//! links between them, the traffic, the lawful-intercept warrants, and where the adversary sits.
//! The full reference is `docs/scenario.md`; the shipped scenarios live in `sim/` and are also
//! compiled in (see [`builtin`]).
//!
//! This crate reads no files and no clock: it turns text into values. Parsing never panics, and
//! every error points into the text (line and column are 1-based, columns count characters).
//!
//! ```
//! let text = scenario::builtin(scenario::DEFAULT_SCENARIO_NAME).unwrap();
//! let s = scenario::parse("sim/salt-typhoon.toml", text).unwrap();
//! assert_eq!(s.carriers.len(), 3);
//! ```
#![warn(missing_docs)]

mod capability;
mod countermeasures;
mod error;
mod model;
mod raw;
mod signal;
mod units;
mod validate;

pub use countermeasures::{Countermeasures, CoverTraffic, Padding, DEFAULT_DIURNAL};
pub use error::{edit_distance, line_column, ScenarioError};
pub use model::{
    Adversary, App, AppKind, Carrier, ExplicitWarrant, LengthDistribution, LinkSpec, Links,
    MessageLength, Mobility, OnPath, OnPathMode, Scenario, SecretKind, SignalOptions, Theft,
    Traffic, Vantage, VantageKind, VoiceMode, WarrantKind, Warrants, WeakRngSpec, Who,
};
pub use units::{format_duration, parse_duration, parse_rate};

/// The scenario run when none is named: `sim/salt-typhoon.toml`.
pub const DEFAULT_SCENARIO_NAME: &str = "salt-typhoon";

/// The shipped scenarios, `(name, TOML text)`, in the order a lab sheet introduces them.
pub const BUILTIN_SCENARIOS: &[(&str, &str)] = &[
    (
        "salt-typhoon",
        include_str!("../../../sim/salt-typhoon.toml"),
    ),
    ("small-lab", include_str!("../../../sim/small-lab.toml")),
    ("lossy-radio", include_str!("../../../sim/lossy-radio.toml")),
    ("early-data", include_str!("../../../sim/early-data.toml")),
    (
        "active-intercept",
        include_str!("../../../sim/active-intercept.toml"),
    ),
    (
        "harvest-now-decrypt-later",
        include_str!("../../../sim/harvest-now-decrypt-later.toml"),
    ),
    ("quantum", include_str!("../../../sim/quantum.toml")),
    (
        "signal-state-theft",
        include_str!("../../../sim/signal-state-theft.toml"),
    ),
    (
        "signal-skipped-keys",
        include_str!("../../../sim/signal-skipped-keys.toml"),
    ),
    (
        "signal-prekeys",
        include_str!("../../../sim/signal-prekeys.toml"),
    ),
    (
        "signal-quantum",
        include_str!("../../../sim/signal-quantum.toml"),
    ),
    (
        "signal-active",
        include_str!("../../../sim/signal-active.toml"),
    ),
    ("metadata", include_str!("../../../sim/metadata.toml")),
    (
        "countermeasures",
        include_str!("../../../sim/countermeasures.toml"),
    ),
];

/// The text of the shipped scenario called `name` (`sim/<name>.toml`), if there is one.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN_SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Parses and validates a scenario. `source_name` is used only in errors (usually the path).
pub fn parse(source_name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let raw: raw::RawFile =
        toml::from_str(text).map_err(|e| ScenarioError::from_toml(source_name, text, &e))?;
    let ctx = validate::Ctx {
        file: source_name,
        text,
    };
    validate::validate(&ctx, raw)
}
