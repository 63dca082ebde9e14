//! `[[faults.partition]]`: scheduled outages of a class of links or of a node, on top of the
//! per-packet faults of `[links]` (`docs/scenario.md#faults`).
//!
//! A partition names either `link` (a `[links]` class: `radio`, `core`, `interconnect`,
//! `internet`) or `node` (`ott`, `ix`, or a carrier's `pgw`, `core`, `smsc`, `edge`), optionally
//! restricted to one `carrier`, and the window `[from, until)` in simulated time from the start
//! of the run. The simulator drops every frame put on (or due to arrive over) a link that is
//! down; timers keep firing and retransmissions keep trying, so a partition costs time, and a
//! message still undelivered when the retry budget ends fails with a stated reason.

use serde::{Deserialize, Serialize};
use simcore::Duration;
use toml::Spanned;

use crate::error::{suggest, ScenarioError};
use crate::model::Carrier;
use crate::raw::Dur;
use crate::units::serialize_duration;
use crate::validate::Ctx;

/// Most partitions a scenario may schedule (each is checked per frame on the links it cuts).
pub const MAX_PARTITIONS: usize = 64;

/// `[faults]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaults {
    #[serde(default)]
    pub partition: Vec<RawPartition>,
}

/// One `[[faults.partition]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartition {
    pub link: Option<Spanned<LinkClass>>,
    pub node: Option<Spanned<NodeRole>>,
    pub carrier: Option<Spanned<String>>,
    pub from: Spanned<Dur>,
    pub until: Spanned<Dur>,
}

/// Scheduled faults beyond the per-packet ones of `[links]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Faults {
    /// Outages, in file order.
    pub partitions: Vec<Partition>,
}

impl Faults {
    /// No fault scheduled.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The partitions in effect at `t` (from the start of the run), in file order.
    pub fn down_at(&self, t: Duration) -> impl Iterator<Item = &Partition> {
        self.partitions
            .iter()
            .filter(move |p| p.from <= t && t < p.until)
    }
}

/// One outage: what is down, and when (`[from, until)`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Partition {
    /// What goes down.
    pub target: PartitionTarget,
    /// Only this carrier's links or node; `None`: every carrier's (links), or a node that
    /// belongs to no carrier (`ott`, `ix`).
    pub carrier: Option<String>,
    /// Start of the outage.
    #[serde(serialize_with = "serialize_duration")]
    pub from: Duration,
    /// End of the outage (exclusive); after `from`.
    #[serde(serialize_with = "serialize_duration")]
    pub until: Duration,
}

/// What a partition takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionTarget {
    /// Every link of a `[links]` class (of one carrier, if given).
    Link(LinkClass),
    /// One node: every link with it at one end.
    Node(NodeRole),
}

/// A `[links]` class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkClass {
    /// Handset to cell.
    Radio,
    /// Inside a carrier (the lawful-intercept link from core to mediation excepted).
    Core,
    /// Between a carrier's edge and the exchange, and from mediation to the agency.
    Interconnect,
    /// Between the exchange and the OTT server.
    Internet,
}

impl LinkClass {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkClass::Radio => "radio",
            LinkClass::Core => "core",
            LinkClass::Interconnect => "interconnect",
            LinkClass::Internet => "internet",
        }
    }
}

/// A node a partition can take down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// The OTT messaging server.
    Ott,
    /// The internet exchange between carriers and the OTT server.
    Ix,
    /// A carrier's packet gateway.
    Pgw,
    /// A carrier's core router.
    Core,
    /// A carrier's SMS centre.
    Smsc,
    /// A carrier's internet edge router.
    Edge,
}

impl NodeRole {
    /// Whether the node belongs to a carrier (needs `carrier`).
    pub fn per_carrier(self) -> bool {
        !matches!(self, NodeRole::Ott | NodeRole::Ix)
    }

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Ott => "ott",
            NodeRole::Ix => "ix",
            NodeRole::Pgw => "pgw",
            NodeRole::Core => "core",
            NodeRole::Smsc => "smsc",
            NodeRole::Edge => "edge",
        }
    }
}

type Result<T> = core::result::Result<T, ScenarioError>;

/// Validates `[[faults.partition]]` against the carriers.
pub(crate) fn faults(ctx: &Ctx<'_>, raw: RawFaults, carriers: &[Carrier]) -> Result<Faults> {
    let names: Vec<&str> = carriers.iter().map(|c| c.name.as_str()).collect();
    let mut partitions = Vec::with_capacity(raw.partition.len());
    for (i, p) in raw.partition.into_iter().enumerate() {
        if i == MAX_PARTITIONS {
            return Err(ctx.err(
                p.from.span(),
                format!("more than {MAX_PARTITIONS} [[faults.partition]] tables"),
                Some("merge overlapping outages of the same link or node".to_owned()),
            ));
        }
        let target = match (&p.link, &p.node) {
            (Some(l), None) => PartitionTarget::Link(*l.get_ref()),
            (None, Some(n)) => PartitionTarget::Node(*n.get_ref()),
            (Some(_), Some(n)) => {
                return Err(ctx.err(
                    n.span(),
                    "a partition names either `link` or `node`, not both",
                    Some("split it into two [[faults.partition]] tables".to_owned()),
                ))
            }
            (None, None) => {
                return Err(ctx.err(
                    p.from.span(),
                    "this partition names neither a `link` nor a `node`",
                    Some(
                        "add link = \"radio\" (or core, interconnect, internet), or node = \
                         \"ott\" (or ix, or with `carrier`: pgw, core, smsc, edge)"
                            .to_owned(),
                    ),
                ))
            }
        };
        let carrier = match &p.carrier {
            None => None,
            Some(c) => {
                let name = c.get_ref();
                if !names.contains(&name.as_str()) {
                    let hint = suggest(name, &names)
                        .map(|h| format!("{h}; a partition's `carrier` names a [[carrier]]"));
                    return Err(ctx.err(c.span(), format!("unknown carrier `{name}`"), hint));
                }
                Some(name.clone())
            }
        };
        match (target, &p.carrier, &p.node) {
            (PartitionTarget::Node(n), None, Some(span)) if n.per_carrier() => {
                return Err(ctx.err(
                    span.span(),
                    format!(
                        "node = \"{}\" needs a `carrier`: every carrier has one",
                        n.as_str()
                    ),
                    Some(format!(
                        "add carrier = \"{}\"",
                        names.first().copied().unwrap_or("name")
                    )),
                ))
            }
            (PartitionTarget::Node(n), Some(c), _) if !n.per_carrier() => {
                return Err(ctx.err(
                    c.span(),
                    format!("node = \"{}\" belongs to no carrier", n.as_str()),
                    Some("remove `carrier`".to_owned()),
                ))
            }
            (PartitionTarget::Link(LinkClass::Internet), Some(c), _) => {
                return Err(ctx.err(
                    c.span(),
                    "the internet link (exchange to OTT server) belongs to no carrier",
                    Some(
                        "remove `carrier`, or partition that carrier's node = \"edge\"".to_owned(),
                    ),
                ))
            }
            _ => {}
        }
        let (from, until) = (p.from.get_ref().0, p.until.get_ref().0);
        if until <= from {
            return Err(ctx.err(
                p.until.span(),
                "a partition's `until` must be after its `from`",
                Some(format!(
                    "times from the start of the run, e.g. from = \"{}\", until = \"{}\"",
                    crate::units::format_duration(from),
                    crate::units::format_duration(from + Duration::from_secs(600))
                )),
            ));
        }
        partitions.push(Partition {
            target,
            carrier,
            from,
            until,
        });
    }
    Ok(Faults { partitions })
}
