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
mod docs;
mod error;
mod faults;
mod model;
pub mod planner;
mod raw;
mod signal;
mod units;
mod validate;

pub use countermeasures::{
    Countermeasures, CoverTraffic, Padding, DEFAULT_DIURNAL, DEFAULT_PADDING_BLOCK,
    MAX_PADDING_BLOCK,
};
pub use error::{edit_distance, line_column, ScenarioError};
pub use faults::{Faults, LinkClass, NodeRole, Partition, PartitionTarget, MAX_PARTITIONS};
pub use model::{
    Adversary, App, AppKind, Carrier, DropHow, EarlyData, ExplicitWarrant, LengthDistribution,
    LinkSpec, Links, MessageLength, Mobility, OnPath, OnPathMode, Scenario, SecretKind,
    SignalOptions, Theft, Traffic, Vantage, VantageKind, VoiceMode, WarrantKind, Warrants,
    WeakRngSpec, Who,
};
pub use units::{format_duration, parse_duration, parse_rate};
pub use validate::{RETRANSMISSION_CAP, RETRY_BUDGET};

/// The scenario run when none is named: `sim/salt-typhoon.toml`.
pub const DEFAULT_SCENARIO_NAME: &str = "salt-typhoon";

/// The built-in scenario `wiretap live` runs when given none: the default scenario's small
/// variant, which runs in real time.
pub const DEFAULT_LIVE_SCENARIO_NAME: &str = "salt-typhoon-live";

/// The shipped scenarios, `(name, TOML text)`, in the order a lab sheet introduces them.
pub const BUILTIN_SCENARIOS: &[(&str, &str)] = &[
    (
        "salt-typhoon",
        include_str!("../../../sim/salt-typhoon.toml"),
    ),
    (
        "salt-typhoon-live",
        include_str!("../../../sim/salt-typhoon-live.toml"),
    ),
    ("small-lab", include_str!("../../../sim/small-lab.toml")),
    ("lossy-radio", include_str!("../../../sim/lossy-radio.toml")),
    ("early-data", include_str!("../../../sim/early-data.toml")),
    (
        "early-data-xx3",
        include_str!("../../../sim/early-data-xx3.toml"),
    ),
    (
        "active-intercept",
        include_str!("../../../sim/active-intercept.toml"),
    ),
    (
        "selective-drop",
        include_str!("../../../sim/selective-drop.toml"),
    ),
    ("replay-0rtt", include_str!("../../../sim/replay-0rtt.toml")),
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
    (
        "signal-quantum-theft",
        include_str!("../../../sim/signal-quantum-theft.toml"),
    ),
    ("metadata", include_str!("../../../sim/metadata.toml")),
    ("ott-server", include_str!("../../../sim/ott-server.toml")),
    (
        "countermeasures",
        include_str!("../../../sim/countermeasures.toml"),
    ),
    (
        "carrier-scale",
        include_str!("../../../sim/carrier-scale.toml"),
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
    parse_with(source_name, text, Limits::default())
}

/// Like [`parse`], with the work budget of `limits` instead of the default.
///
/// # Errors
/// As [`parse`]; a scenario whose estimated work exceeds `limits.max_work` is refused at the
/// key that makes it large.
pub fn parse_with(
    source_name: &str,
    text: &str,
    limits: Limits,
) -> Result<Scenario, ScenarioError> {
    let raw: raw::RawFile =
        toml::from_str(text).map_err(|e| ScenarioError::from_toml(source_name, text, &e))?;
    let ctx = validate::Ctx {
        file: source_name,
        text,
        limits,
    };
    validate::validate(&ctx, raw)
}

/// Subscribers one address block holds: a `/16` with hosts `.0.1` to `.255.255`.
///
/// Carrier `c`'s first block is `10.c.0.0/16`; a carrier with more subscribers takes further
/// blocks from the shared address space `100.64.0.0/10` (RFC 6598, where real carriers number
/// their subscribers behind carrier-grade NAT), handed out in carrier order.
pub const SUBSCRIBERS_PER_BLOCK: u32 = 65_535;
/// The `/16` blocks of `100.64.0.0/10` that carriers' subscribers beyond their first block share.
pub const OVERFLOW_BLOCKS: u32 = 64;
/// Most subscribers one carrier may have: its own block and every overflow block.
pub const MAX_SUBSCRIBERS_PER_CARRIER: u32 = SUBSCRIBERS_PER_BLOCK * (1 + OVERFLOW_BLOCKS);

/// The address blocks a carrier of `subscribers` subscribers takes: its own `10.c.0.0/16` and
/// then `blocks - 1` overflow blocks of `100.64.0.0/10`.
pub fn address_blocks(subscribers: u32) -> u32 {
    subscribers.div_ceil(SUBSCRIBERS_PER_BLOCK).max(1)
}
/// Most cells one carrier may have.
pub const MAX_CELLS_PER_CARRIER: u32 = 250;
/// Most carriers a scenario may have.
pub const MAX_CARRIERS: usize = 200;
/// Default work budget: messages plus voice media frames a scenario may ask for. `salt-typhoon`
/// asks for about 29,000 (`wiretap validate salt-typhoon`: 28,983; its run at seed 1 sends
/// 27,548) and runs in about 1.8 s on the 2-core reference machine (`/usr/bin/time -f "%e s"
/// target/release/wiretap run salt-typhoon --json --quiet`), so the default allows runs of
/// roughly five minutes.
pub const DEFAULT_MAX_WORK: u64 = 5_000_000;
/// Default width of the size analysis' length buckets, bytes (`[adversary] size_bucket`).
pub const DEFAULT_SIZE_BUCKET: u32 = 20;
/// Largest allowed `size_bucket`, bytes.
pub const MAX_SIZE_BUCKET: u32 = 65_536;

/// Limits a scenario is validated against, beyond its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Estimated messages plus voice media frames ([`Scenario::estimated_work`]) allowed.
    pub max_work: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_work: DEFAULT_MAX_WORK,
        }
    }
}

impl Scenario {
    /// What the traffic planner is expected to plan for this scenario ([`planner::expect`]).
    pub fn expected_traffic(&self) -> planner::Expected {
        planner::expect(&self.traffic, self.total_subscribers(), self.duration)
    }

    /// The work the scenario asks for, as [`parse`] estimates it.
    pub fn estimated_work(&self) -> Work {
        validate::estimate(
            &self.traffic,
            self.total_subscribers(),
            self.duration,
            &self.faults,
        )
    }
}

/// The work a scenario asks for ([`Scenario::estimated_work`]), which the budget
/// ([`Limits::max_work`]) bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    /// Messages, replies included.
    pub messages: f64,
    /// Voice media frames, both directions of every answered call.
    pub frames: f64,
    /// Retransmissions while `[[faults.partition]]` outages are down: an upper bound, as if
    /// every message sent during an outage crossed it and was retransmitted until it ends.
    pub retries: f64,
}

impl Work {
    /// Messages, frames and retransmissions together: what the budget bounds.
    pub fn total(&self) -> f64 {
        self.messages + self.frames + self.retries
    }

    /// The peak memory a run of this much work needs, in bytes: a fixed part and a share per
    /// message and per voice frame, since the run keeps what happened (captures, records,
    /// ground truth) until the end (BENCHMARKING.md § "Memory a run needs" has the
    /// measurements, max RSS against this estimate for shipped and scaled scenarios). A
    /// little above the measured peaks, so a run it lets through fits.
    pub fn peak_memory_bytes(&self) -> f64 {
        PEAK_MEMORY_BASE
            + PEAK_MEMORY_PER_MESSAGE * self.messages
            + PEAK_MEMORY_PER_FRAME * self.frames
    }
}

/// [`Work::peak_memory_bytes`]: the fixed part (the program, the world's infrastructure, and
/// the allocator's first arena: 72 → 82 MB for the default scenario with mimalloc, session 11).
const PEAK_MEMORY_BASE: f64 = 48e6;
/// [`Work::peak_memory_bytes`]: per estimated message (1.5–1.6 KB measured from 146,000 to
/// 14.8 million messages with mimalloc, session 11; 1.3–2.4 KB with glibc's malloc before).
const PEAK_MEMORY_PER_MESSAGE: f64 = 1_700.0;
/// [`Work::peak_memory_bytes`]: per estimated voice frame (0.86 KB measured on `metadata`).
const PEAK_MEMORY_PER_FRAME: f64 = 900.0;
