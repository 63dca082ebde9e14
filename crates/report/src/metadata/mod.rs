//! Scoring the metadata analyses against ground truth: what encryption did not hide.
//!
//! The adversary's `metadata` findings name subscribers by MSISDN or by address; this module
//! resolves both through the ground truth's subscriber list (an unresolvable name counts as
//! wrong) and compares each analysis with the truth. It holds what they share — the report's
//! [`MetadataScore`], the [`Truth`] they read, the resolver, [`Prf`] and the terminal section's
//! outline — and each analysis is a file of its own with its score struct, its scoring function,
//! its lines of the terminal section and its tests:
//!
//! - `contacts.rs` — **contacts** ([`ContactGraphScore`]): edges against the true pairs; the
//!   record-derived edges against the person-to-person pairs on carriers whose records the
//!   adversary holds (they must be *equal*); timing edges against the end-to-end pairs;
//! - `locations.rs` — **locations** ([`LocationScore`]): (subscriber, hour) cells, home and work;
//! - `warrants.rs` — **warrants** ([`WarrantExposureScore`]): targets, (target, agency) and
//!   (target, agency, since);
//! - `correlation.rs` — **correlation** ([`CorrelationScore`]): each end-to-end message scored
//!   at its sender's first uplink within its flight; top-1 accuracy, anonymity set, degree of
//!   anonymity, edges;
//! - `disclosure.rs` — **disclosure** ([`DisclosureScore`]): per target, the messages it took
//!   until the top k candidates were its visible contacts;
//! - `khop.rs` — **k-hop expansion** ([`KHopScore`]): the true and the recovered neighbourhoods
//!   within 1, 2 and 3 hops of the targets;
//! - `sizes.rs` — **sizes** ([`SizeScore`]): packet types and message lengths from sizes, beside
//!   the base rates of a guess that ignores sizes;
//! - **the messaging server**: see [`crate::server`]; **ratchet headers**: [`crate::ratchet`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use adversary::metadata::MetadataFindings;
use adversary::Findings;
use carrier::RunOutput;
use scenario::{AppKind, Scenario, VantageKind};
use serde::Serialize;
use simcore::Timestamp;

mod contacts;
mod correlation;
mod disclosure;
mod khop;
mod locations;
mod sizes;
mod warrants;

pub use contacts::ContactGraphScore;
pub use correlation::CorrelationScore;
pub(crate) use disclosure::score_disclosure;
pub use disclosure::{DisclosureOutcome, DisclosureScore};
pub use khop::{HopScore, KHopScore};
pub use locations::LocationScore;
pub use sizes::SizeScore;
pub use warrants::WarrantExposureScore;

/// Precision and recall of a reported set against a true set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Prf {
    /// Size of the true set.
    pub truth: usize,
    /// Size of the reported set.
    pub reported: usize,
    /// Reported and true.
    pub correct: usize,
    /// correct / reported (1 when nothing was reported).
    pub precision: f64,
    /// correct / truth (0 when the truth is empty).
    pub recall: f64,
}

impl Prf {
    /// Scores `reported` against `truth`.
    pub fn of<T: Ord>(reported: &BTreeSet<T>, truth: &BTreeSet<T>) -> Prf {
        let correct = reported.intersection(truth).count();
        Prf::counts(truth.len(), reported.len(), correct)
    }

    /// From counts.
    pub fn counts(truth: usize, reported: usize, correct: usize) -> Prf {
        Prf {
            truth,
            reported,
            correct,
            precision: ratio(correct, reported, 1.0),
            recall: ratio(correct, truth, 0.0),
        }
    }
}

pub(crate) fn ratio(n: usize, d: usize, empty: f64) -> f64 {
    if d == 0 {
        empty
    } else {
        n as f64 / d as f64
    }
}

/// The report's `metadata` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetadataScore {
    /// Contact graph.
    pub contacts: ContactGraphScore,
    /// Location traces.
    pub locations: LocationScore,
    /// Warrant exposure.
    pub warrants: WarrantExposureScore,
    /// Traffic correlation.
    pub correlation: CorrelationScore,
    /// Statistical disclosure.
    pub disclosure: DisclosureScore,
    /// Size fingerprinting.
    pub sizes: SizeScore,
    /// k-hop expansion from the targets through the recovered contact graph.
    pub k_hops: KHopScore,
    /// The compromised messaging server's view (left out of the JSON when the adversary does
    /// not hold the server).
    #[serde(skip_serializing_if = "crate::server::ServerScore::not_held")]
    pub server: crate::server::ServerScore,
    /// What clear Double Ratchet headers revealed ([`crate::ratchet`]).
    pub ratchet: crate::ratchet::RatchetScore,
}

/// The ground truth this module needs, in plain values (so tests can build it by hand).
#[derive(Clone, Debug, Default)]
pub struct Truth {
    /// Per subscriber: (MSISDN, address, carrier index).
    pub subscribers: Vec<(String, Ipv4Addr, usize)>,
    /// Per subscriber: `(from, cell)` changes, time-ordered, first at 0.
    pub cells: Vec<Vec<(Timestamp, u32)>>,
    /// Messages: (from, to, end-to-end?, sent_at, end of flight, text length).
    pub messages: Vec<TruthMsg>,
    /// Voice calls: (caller, callee, end-to-end over an OTT app?).
    pub calls: Vec<(usize, usize, bool)>,
    /// Pairs (lower, higher) of peer-to-peer end-to-end calls (media handset to handset).
    pub p2p_calls: BTreeSet<(usize, usize)>,
    /// Warrants: (target MSISDN, agency, since).
    pub warrants: Vec<(String, String, Timestamp)>,
    /// Subscribers whose app is an end-to-end (OTT) app.
    pub ott_users: BTreeSet<usize>,
    /// Carriers whose call records the adversary holds.
    pub records_held: BTreeSet<usize>,
    /// Carriers whose subscribers' packets a packet vantage sees.
    pub packets_seen: BTreeSet<usize>,
    /// Subscribers whose app sends with sealed sender.
    pub sealed_senders: BTreeSet<usize>,
    /// Whether the adversary holds the messaging server.
    pub server_held: bool,
    /// Hours of the run.
    pub hours: u64,
    /// Signal apps: every true sending chain by ratchet public key ([`crate::ratchet`]).
    pub signal_chains: BTreeMap<[u8; 32], crate::ratchet::ChainTruth>,
}

/// One message of the truth.
#[derive(Clone, Debug)]
pub struct TruthMsg {
    /// Sender index.
    pub from: usize,
    /// Recipient index.
    pub to: usize,
    /// End-to-end (an OTT app) rather than SMS-like.
    pub e2e: bool,
    /// Sent at.
    pub sent_at: Timestamp,
    /// Delivered at, or a bound on the flight.
    pub end: Timestamp,
    /// Plaintext length, bytes.
    pub len: usize,
}

impl Truth {
    /// Extracts the truth of a run.
    pub fn of(sc: &Scenario, run: &RunOutput) -> Truth {
        let t = &run.truth;
        let mut records_held = BTreeSet::new();
        let mut packets_seen = BTreeSet::new();
        for v in &sc.adversary.vantage {
            let Some(c) = sc.carriers.iter().position(|x| x.name == v.carrier) else {
                continue;
            };
            match v.kind {
                VantageKind::CallRecords => {
                    records_held.insert(c);
                }
                VantageKind::Mediation => {}
                // Core taps, and edge routers (which see a share of the subscribers: counted as
                // seeing the carrier's).
                #[allow(unreachable_patterns)]
                _ => {
                    packets_seen.insert(c);
                }
            }
        }
        Truth {
            subscribers: t
                .subscribers
                .iter()
                .map(|s| (s.msisdn.clone(), s.ip, s.carrier))
                .collect(),
            cells: t
                .subscribers
                .iter()
                .map(|s| {
                    t.locations
                        .get(s.index)
                        .filter(|l| l.subscriber == s.index && !l.changes.is_empty())
                        .map_or_else(|| vec![(Timestamp::ZERO, s.cell)], |l| l.changes.clone())
                })
                .collect(),
            messages: t
                .messages
                .iter()
                .map(|m| TruthMsg {
                    from: m.from,
                    to: m.to,
                    e2e: m.protocol.is_end_to_end(),
                    sent_at: m.sent_at,
                    end: m.delivered_at.unwrap_or(
                        m.sent_at
                            .saturating_add(core::time::Duration::from_secs(60)),
                    ),
                    len: m.text.len(),
                })
                .collect(),
            calls: t
                .calls
                .iter()
                .map(|c| (c.caller, c.callee, c.kind != "carrier"))
                .collect(),
            p2p_calls: t
                .calls
                .iter()
                .filter(|c| c.kind == "ott-p2p")
                .map(|c| (c.caller.min(c.callee), c.caller.max(c.callee)))
                .collect(),
            ott_users: t
                .subscribers
                .iter()
                .filter(|s| {
                    sc.apps
                        .get(s.app)
                        .is_some_and(|a| a.kind.protocol_id().is_end_to_end())
                })
                .map(|s| s.index)
                .collect(),
            warrants: run
                .warrants
                .iter()
                .map(|w| (w.target_msisdn.clone(), w.agency.clone(), w.since))
                .collect(),
            records_held,
            packets_seen,
            sealed_senders: t
                .subscribers
                .iter()
                .filter(|s| {
                    sc.apps
                        .get(s.app)
                        .is_some_and(|a| matches!(&a.kind, AppKind::Signal(o) if o.sealed_sender))
                })
                .map(|s| s.index)
                .collect(),
            server_held: sc
                .adversary
                .vantage
                .iter()
                .any(|v| v.kind == VantageKind::OttServer),
            hours: sc.duration.as_secs().div_ceil(3600),
            signal_chains: t
                .signal_chains
                .iter()
                .map(|(k, c)| (*k, (c.from, c.to, c.messages)))
                .collect(),
        }
    }

    fn cell_at(&self, sub: usize, t: Timestamp) -> Option<u32> {
        let c = self.cells.get(sub)?;
        let i = c.partition_point(|(from, _)| *from <= t);
        c.get(i.saturating_sub(1)).map(|x| x.1)
    }
}

/// Resolves adversary names (MSISDN or dotted address) to subscriber indices.
pub(crate) struct Resolver {
    /// Lookups only, never iterated: by hash (a B-tree of two names a subscriber compared
    /// strings at every level, 1.5 % of a large run).
    by_name: simcore::FixedMap<Box<str>, usize>,
}

impl Resolver {
    fn new(t: &Truth) -> Resolver {
        let mut by_name = simcore::FixedMap::default();
        by_name.reserve(2 * t.subscribers.len());
        for (i, (m, ip, _)) in t.subscribers.iter().enumerate() {
            by_name.insert(m.as_str().into(), i);
            by_name.insert(ip.to_string().into(), i);
        }
        Resolver { by_name }
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// An unordered pair; unresolvable ends become `usize::MAX` (never true).
    pub(crate) fn pair(&self, a: &str, b: &str) -> (usize, usize) {
        let (x, y) = (
            self.get(a).unwrap_or(usize::MAX),
            self.get(b).unwrap_or(usize::MAX - 1),
        );
        (x.min(y), x.max(y))
    }
}

/// Scores the metadata findings of a run.
pub fn score(sc: &Scenario, run: &RunOutput, findings: &Findings) -> MetadataScore {
    score_truth(&Truth::of(sc, run), &findings.metadata)
}

/// Scores `m` against a plain truth.
pub fn score_truth(t: &Truth, m: &MetadataFindings) -> MetadataScore {
    let r = Resolver::new(t);
    MetadataScore {
        contacts: contacts::contacts(t, &r, m),
        locations: locations::locations(t, &r, m),
        warrants: warrants::warrants(t, m),
        correlation: correlation::correlation(t, &r, m),
        disclosure: disclosure::disclosure(t, &r, m),
        sizes: sizes::sizes(t, &r, m),
        k_hops: khop::k_hops(t, &r, m),
        server: crate::server::score(t, &r, m),
        ratchet: crate::ratchet::score(&m.ratchet, &t.signal_chains, &|a| r.get(a)),
    }
}

fn unordered(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

pub(crate) fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| x.to_string())
}

/// A precision as the terminal prints it: `n/a` when nothing was reported (the JSON keeps 1,
/// the convention of an empty report; the terminal must not claim a perfect score for nothing).
pub fn precision_text(reported: usize, precision: f64) -> String {
    if reported == 0 {
        "n/a".to_owned()
    } else {
        format!("{precision:.2}")
    }
}

/// The terminal section "Metadata: what encryption did not hide".
pub fn render(o: &mut String, m: &MetadataScore) {
    use std::fmt::Write;
    let _ = writeln!(o);
    let _ = writeln!(o, "Metadata: what encryption did not hide");
    contacts::render(o, &m.contacts);
    locations::render(o, &m.locations);
    warrants::render(o, &m.warrants);
    correlation::render(o, &m.correlation);
    disclosure::render(o, &m.disclosure);
    khop::render(o, &m.k_hops);
    crate::server::render(o, &m.server);
    sizes::render(o, &m.sizes);
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn ts(s: u64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    /// Four subscribers on one carrier; 0 messages 1 (e2e) at 10 s, in flight until 11 s.
    pub(super) fn truth() -> Truth {
        Truth {
            subscribers: (0..4)
                .map(|i| {
                    (
                        format!("+1000000000{i}"),
                        Ipv4Addr::new(10, 0, 0, i as u8 + 1),
                        0,
                    )
                })
                .collect(),
            cells: vec![
                vec![(ts(0), 1)],
                vec![(ts(0), 2), (ts(3600), 3)],
                vec![(ts(0), 1)],
                vec![(ts(0), 1)],
            ],
            messages: vec![TruthMsg {
                from: 0,
                to: 1,
                e2e: true,
                sent_at: ts(10),
                end: ts(11),
                len: 45,
            }],
            warrants: vec![("+10000000002".into(), "FBI-NY".into(), ts(0))],
            packets_seen: [0].into_iter().collect(),
            hours: 2,
            ..Truth::default()
        }
    }

    #[test]
    fn prf_by_hand() {
        let r: BTreeSet<u32> = [1, 2, 3, 4].into_iter().collect();
        let t: BTreeSet<u32> = [2, 4, 6].into_iter().collect();
        let p = Prf::of(&r, &t);
        assert_eq!((p.correct, p.precision, p.recall), (2, 0.5, 2.0 / 3.0));
        let e = Prf::of(&BTreeSet::<u32>::new(), &t);
        assert_eq!((e.precision, e.recall), (1.0, 0.0));
    }
}
