//! Scoring the metadata analyses against ground truth: what encryption did not hide.
//!
//! The adversary's `metadata` findings name subscribers by MSISDN or by address; this module
//! resolves both through the ground truth's subscriber list (an unresolvable name counts as
//! wrong) and compares:
//!
//! - **contacts**: edges against the true pairs (messages of any protocol, and voice calls once
//!   the truth has them); the record-derived edges against the person-to-person pairs with at
//!   least one end on a carrier whose records the adversary holds (they must be *equal*); the
//!   timing-correlated edges against the end-to-end pairs; server edges against the OTT users;
//! - **locations**: a (subscriber, hour) is recovered when the trace has a point in that hour
//!   naming the subscriber's true cell at that point's time; home (22:00–06:00) and work
//!   (09:00–17:00) cells against the true most frequent cells in those hours;
//! - **warrants**: precision and recall of targets, (target, agency) and (target, agency,
//!   since);
//! - **correlation**: each end-to-end message is scored at one uplink, its sender's first
//!   uplink at or after it was sent and before its flight ended (the message, or the first
//!   handshake message of its session: both go to its recipient); other uplinks (cover
//!   messages, receipts, later handshake messages) are not scored. Top-1 accuracy, the probability given to the truth, the
//!   anonymity set and the degree of anonymity; edges against end-to-end pairs;
//! - **disclosure**: per target, the first snapshot whose top k (k = the target's true
//!   end-to-end contacts that the adversary's packet vantages can see) holds all of them,
//!   counted in the target's true end-to-end messages sent before the snapshot (so that
//!   receipts and handshakes, which the adversary also sees as uplinks, do not inflate it);
//! - **k-hop expansion**: from each warrant target (or, without warrants, each disclosure
//!   target), the subscribers within 1, 2 and 3 hops in the true contact graph (messages and
//!   calls) and in the recovered one (every consolidated edge whose ends resolve): mean counts,
//!   and recall and precision of the recovered neighbourhoods;
//! - **sizes**: per end-to-end message whose sender's uplinks are visible and who had no other
//!   message in flight, exactly one of the sender's uplinks during the flight carries the text
//!   and the others are handshake messages (or receipts); a length (bucket) counts as recovered
//!   when exactly one of them is labelled text, with that length estimate (bucket estimate).
//!   Beside each accuracy, the base rate: the share of the most common true length (bucket)
//!   among the scored messages, the best score of a guess that ignores sizes;
//! - **the messaging server**: see [`crate::server`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use adversary::metadata::{MetadataFindings, SizeClass};
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
mod warrants;

pub use contacts::ContactGraphScore;
pub use correlation::CorrelationScore;
pub(crate) use disclosure::score_disclosure;
pub use disclosure::{DisclosureOutcome, DisclosureScore};
pub use khop::{HopScore, KHopScore};
pub use locations::LocationScore;
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

/// Size fingerprinting's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SizeScore {
    /// Uplinks with a known type.
    pub scored_packets: usize,
    /// Of those, labelled correctly (text vs handshake vs other).
    pub type_correct: usize,
    /// type_correct / scored_packets.
    pub type_accuracy: f64,
    /// Messages scored for length.
    pub scored_messages: usize,
    /// Length bucket right.
    pub bucket_correct: usize,
    /// bucket_correct / scored_messages.
    pub bucket_accuracy: f64,
    /// Exact length right.
    pub exact_correct: usize,
    /// exact_correct / scored_messages.
    pub exact_accuracy: f64,
    /// Width of the length buckets, bytes (the adversary's `size_bucket`).
    pub bucket_width: u32,
    /// The best bucket accuracy without looking at sizes: the share of the most common true
    /// bucket among the scored messages.
    pub bucket_base_rate: f64,
    /// The same for exact lengths: the share of the most common true length.
    pub exact_base_rate: f64,
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
    by_name: BTreeMap<String, usize>,
}

impl Resolver {
    fn new(t: &Truth) -> Resolver {
        let mut by_name = BTreeMap::new();
        for (i, (m, ip, _)) in t.subscribers.iter().enumerate() {
            by_name.insert(m.clone(), i);
            by_name.insert(ip.to_string(), i);
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
        sizes: sizes(t, &r, m),
        k_hops: khop::k_hops(t, &r, m),
        server: crate::server::score(t, &r, m),
        ratchet: crate::ratchet::score(&m.ratchet, &t.signal_chains, &|a| r.get(a)),
    }
}

fn unordered(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

fn sizes(t: &Truth, r: &Resolver, m: &MetadataFindings) -> SizeScore {
    type Label = (Timestamp, SizeClass, Option<u32>, Option<u32>);
    let width = m.sizes.bucket_width.max(1);
    // Uplink labels per sender, time-ordered.
    let mut ups: BTreeMap<usize, Vec<Label>> = BTreeMap::new();
    for l in m.sizes.labels.iter().filter(|l| l.uplink) {
        if let Some(i) = r.get(&l.party) {
            ups.entry(i)
                .or_default()
                .push((l.time, l.class, l.length, l.bucket));
        }
    }
    for v in ups.values_mut() {
        v.sort_unstable_by_key(|x| x.0);
    }
    let fl = correlation::flights(t);
    let mut s = SizeScore {
        bucket_width: width,
        ..SizeScore::default()
    };
    let mut true_buckets: Vec<u32> = Vec::new();
    let mut true_lengths: Vec<u32> = Vec::new();
    for (a, list) in fl.iter().enumerate() {
        let Some(labels) = ups.get(&a) else { continue };
        for (i, &(sent, end, _, len)) in list.iter().enumerate() {
            // Alone in flight: the previous message ended before, the next starts after.
            let prev_ok = i == 0 || list[..i].iter().all(|p| p.1 < sent);
            let next_ok = list.get(i + 1).is_none_or(|n| n.0 > end);
            if !(prev_ok && next_ok) {
                continue;
            }
            let lo = labels.partition_point(|x| x.0 < sent);
            let hi = labels.partition_point(|x| x.0 <= end);
            let window = &labels[lo..hi];
            if window.is_empty() {
                continue;
            }
            // One uplink carries the text; the others are the sender's handshake messages or
            // receipts (in any order: the radio may reorder frames sent together).
            let texts: Vec<&Label> = window.iter().filter(|x| x.1 == SizeClass::Text).collect();
            let not_text = window.len() - texts.len();
            s.scored_packets += window.len();
            s.type_correct += not_text.min(window.len() - 1) + texts.len().min(1);
            s.scored_messages += 1;
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            true_buckets.push(adversary::metadata::sizes::bucket_of(len, width));
            true_lengths.push(len);
            if let [one] = texts.as_slice() {
                s.bucket_correct +=
                    usize::from(one.3 == Some(adversary::metadata::sizes::bucket_of(len, width)));
                s.exact_correct += usize::from(one.2 == Some(len));
            }
        }
    }
    s.type_accuracy = ratio(s.type_correct, s.scored_packets, 0.0);
    s.bucket_accuracy = ratio(s.bucket_correct, s.scored_messages, 0.0);
    s.exact_accuracy = ratio(s.exact_correct, s.scored_messages, 0.0);
    // The base rates: always guessing the most common true bucket (length) of these messages.
    let top = |v: &mut Vec<u32>| -> usize {
        v.sort_unstable();
        v.chunk_by(|a, b| a == b)
            .map(<[u32]>::len)
            .max()
            .unwrap_or(0)
    };
    s.bucket_base_rate = ratio(top(&mut true_buckets), s.scored_messages, 0.0);
    s.exact_base_rate = ratio(top(&mut true_lengths), s.scored_messages, 0.0);
    s
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
    let s = &m.sizes;
    let _ = writeln!(
        o,
        "  sizes: packet type right {:.1}% of {}; message length bucket ({} B) right {:.1}% \
         (base rate {:.1}%), exact {:.1}% (base rate {:.1}%) of {}",
        100.0 * s.type_accuracy,
        s.scored_packets,
        s.bucket_width,
        100.0 * s.bucket_accuracy,
        100.0 * s.bucket_base_rate,
        100.0 * s.exact_accuracy,
        100.0 * s.exact_base_rate,
        s.scored_messages
    );
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
