//! Metadata analyses: what encryption did not hide.
//!
//! Every analysis here reads only [`capture::Captures`], through the observation table of
//! [`crate::observe`] (packets dissected once, roles learned once), and the adversary's own
//! findings from the passive pass; a separate scorer (`report::metadata`) compares the output
//! with ground truth. Each analysis states its cost in the number `n` of call records, IRI
//! records or captured packets; none is worse than O(n log n).
//!
//! | analysis | module | input | output |
//! |---|---|---|---|
//! | contact graph | [`records`] | call records, IRI, clear SMS/OTT envelopes | [`ContactEdge`]s, [`ServerEdge`]s |
//! | location traces | [`records`] | cell ids in call records and IRI | [`LocationTrace`]s with home/work cells |
//! | warrant exposure | [`warrants`] | warrant lists, IRI/CC records | [`ExposedWarrant`]s |
//! | traffic correlation | [`correlation`] | encrypted packets to/from an OTT relay | [`CorrelationFindings`] |
//! | statistical disclosure | [`disclosure`] | the same packets, aggregated per target | [`DisclosureTarget`]s |
//! | size fingerprinting | [`sizes`] | encrypted message sizes, clear envelope bodies | [`SizeFindings`] |
//! | the messaging server's view | [`server`] | the `ott-server` vantage's log of envelopes | [`ServerFindings`] |
//! | ratchet headers | [`ratchet`] | clear Double Ratchet headers of Signal envelopes | [`RatchetFindings`] |
//!
//! **Parties.** The adversary names a subscriber by MSISDN when the captures tie its address to
//! a number (a clear SMS PDU or OTT envelope it sent or received, or a CC copy under a warrant
//! whose list it holds), and otherwise by its IPv4 address in dotted form. The scorer resolves
//! both.
//!
//! Everything is deterministic: ordered maps only, sorted outputs, no floating-point reductions
//! whose order depends on anything but the input.

use serde::Serialize;
use simcore::Timestamp;

use crate::findings::Findings;
use crate::observe::Observations;

pub mod correlation;
pub mod disclosure;
pub mod packets;
pub mod ratchet;
pub mod records;
pub mod server;
pub mod sizes;
pub mod warrants;

pub use correlation::{CorrelationConfig, CorrelationFindings, MessageLink};
pub use disclosure::{DisclosureSnapshot, DisclosureTarget};
pub use ratchet::{RatchetChain, RatchetConversation, RatchetFindings};
pub use records::{ContactEdge, LocationTrace, ServerEdge};
pub use server::ServerFindings;
pub use sizes::{Encoding, SizeClass, SizeFindings, SizeLabel};
pub use warrants::ExposedWarrant;

/// Tunable parameters of the metadata analyses (the adversary's choices, not the truth's).
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataConfig {
    /// Timing/size correlation (and the windows SDA uses).
    pub correlation: CorrelationConfig,
    /// At most this many targets for statistical disclosure (busiest senders first).
    pub disclosure_targets: usize,
    /// Width in bytes of the size analysis' length buckets.
    pub size_bucket: u32,
    /// How many top-ranked candidates each disclosure snapshot keeps (every candidate with a
    /// positive score, up to this many: far more than any target's contacts, so that a scorer
    /// can look at the top k for a target with k contacts).
    pub disclosure_top: usize,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            correlation: CorrelationConfig::default(),
            disclosure_targets: 24,
            disclosure_top: 256,
            size_bucket: sizes::BUCKET,
        }
    }
}

/// Everything the metadata analyses produced: the `metadata` part of [`Findings`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetadataFindings {
    /// The consolidated contact graph between subscribers, sorted by `(a, b)`.
    pub contacts: Vec<ContactEdge>,
    /// Subscriber ↔ server edges (data sessions, OTT tunnels), sorted.
    pub server_edges: Vec<ServerEdge>,
    /// One time-ordered cell trace per subscriber seen in records or IRI, sorted by MSISDN.
    pub locations: Vec<LocationTrace>,
    /// Who is under investigation, by whom, since when, sorted by (target, LIID).
    pub warrants: Vec<ExposedWarrant>,
    /// Timing/size correlation of encrypted traffic through OTT relays.
    pub correlation: CorrelationFindings,
    /// Statistical disclosure per target sender.
    pub disclosure: Vec<DisclosureTarget>,
    /// What encrypted packet sizes reveal.
    pub sizes: SizeFindings,
    /// What the messaging provider's own server saw (an `ott-server` vantage).
    pub server: ServerFindings,
    /// What clear ratchet headers reveal: turns, messages per turn, conversations linked.
    pub ratchet: RatchetFindings,
}

/// Runs every metadata analysis with the default configuration over the observation table.
///
/// Cost: O(r log r + p log p) for r records and p packets (see each module).
pub fn analyze(obs: &Observations<'_>, findings: &Findings) -> MetadataFindings {
    analyze_with(obs, findings, &MetadataConfig::default())
}

/// Runs every metadata analysis with `config` over the observation table.
pub fn analyze_with(
    obs: &Observations<'_>,
    findings: &Findings,
    config: &MetadataConfig,
) -> MetadataFindings {
    let traffic = packets::Traffic::from_observations(obs);
    let server = server::analyze(obs, config);
    let ratchet = ratchet::analyze(obs);
    from_traffic(obs.captures(), traffic, server, ratchet, findings, config)
}

/// [`analyze_with`], consuming the observation table: the analyses that read it run first and
/// it is freed before the record table, the correlation and the contact graph are built, so the
/// table and those never take memory at the same time (the run's analysis peak: about a sixth
/// of the adversary's working memory at 10,000 subscribers). The same findings.
pub fn analyze_consuming(
    obs: Observations<'_>,
    findings: &Findings,
    config: &MetadataConfig,
) -> MetadataFindings {
    let captures = obs.captures();
    let traffic = packets::Traffic::from_observations(&obs);
    let server = server::analyze(&obs, config);
    let ratchet = ratchet::analyze(&obs);
    drop(obs);
    from_traffic(captures, traffic, server, ratchet, findings, config)
}

/// The analyses that read the traffic, records and warrant lists, not the observation table.
fn from_traffic(
    captures: &capture::Captures,
    traffic: packets::Traffic,
    server: ServerFindings,
    ratchet: RatchetFindings,
    findings: &Findings,
    config: &MetadataConfig,
) -> MetadataFindings {
    let table = records::RecordTable::from_captures(captures, &traffic);
    let corr = correlation::correlate(&traffic, &config.correlation);
    let linked: Vec<(String, String)> = corr
        .edges
        .iter()
        .map(|e| (e.0.clone(), e.1.clone()))
        .collect();
    let contacts = records::consolidate(
        &table,
        &records::contact_graph(&table),
        &[
            (
                &findings.contact_pairs,
                records::SRC_CLEAR,
                records::KIND_CLEAR,
            ),
            (&traffic.calls, records::SRC_CLEAR, records::KIND_VOICE),
            (&linked, records::SRC_TIMING, records::KIND_OTT),
        ],
    );
    let server_edges = records::server_edges(&table, &findings.flows);
    let locations = records::name_traces(&table, records::location_traces(&table));
    let warrants = warrants::exposed(captures, &traffic);
    let disclosure = disclosure::analyze(
        &traffic,
        &config.correlation,
        &warrants,
        config.disclosure_targets,
        config.disclosure_top,
    );
    let sizes = sizes::analyze(&traffic, config.size_bucket);
    MetadataFindings {
        contacts,
        server_edges,
        locations,
        warrants,
        correlation: corr,
        disclosure,
        sizes,
        server,
        ratchet,
    }
}

/// Nanoseconds in an hour.
pub const HOUR_NS: u64 = 3_600_000_000_000;

/// The hour of day (0..24) of a virtual time; time 0 is midnight.
pub fn hour_of_day(t: Timestamp) -> u64 {
    (t.as_nanos() / HOUR_NS) % 24
}
