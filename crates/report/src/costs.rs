//! The report's `costs` section: each app's countermeasures, what they cost (bytes on the wire
//! against the same run without them, added delivery latency p50/p99 per protocol), and the
//! metadata leakage they are meant to reduce, side by side (`docs/countermeasures.md`).
//!
//! Latency is ground truth: `delivered_at − sent_at` of every delivered message of the protocol.
//! Percentiles are nearest-rank (the value at rank ⌈p·n⌉ of the sorted latencies). The baseline
//! is the run of the same scenario and seed with every countermeasure off, which the carrier
//! makes when any is on ([`carrier::Baseline`]); without countermeasures the run is its own
//! baseline and the added costs are 0.

use carrier::RunOutput;
use serde::Serialize;

use crate::metadata::MetadataScore;

/// One end-to-end app's countermeasures and their cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppCost {
    /// The app.
    pub app: String,
    /// Its protocol label.
    pub protocol: String,
    /// `none`, `block` or `padme`.
    pub padding: String,
    /// Receipts: `off`, `on` or `delayed` (Signal apps: their `receipts`; Noise: `receipts`).
    pub receipts: String,
    /// Mean receipt delay, e.g. `"2s"` (`"0s"` when not delayed).
    pub receipts_delay: String,
    /// Sealed sender (Signal apps).
    pub sealed_sender: bool,
    /// `none`, `constant` or `poisson`.
    pub cover_traffic: String,
    /// Gap between dummies (when cover traffic is on).
    pub cover_interval: String,
    /// Mean mixing delay at the server.
    pub mixing_delay: String,
    /// End-to-end messages sent.
    pub messages: u64,
    /// Bytes of their texts.
    pub payload_bytes: u64,
    /// IPv4 bytes between the app's handsets and the OTT server on the radio, both ways.
    pub wire_bytes: u64,
    /// The same without countermeasures.
    pub baseline_wire_bytes: u64,
    /// `wire_bytes / baseline_wire_bytes − 1` (0 when the baseline carried nothing).
    pub bytes_overhead: f64,
    /// `wire_bytes / payload_bytes` (0 without payload).
    pub wire_per_payload_byte: f64,
    /// Cover envelopes sent.
    pub cover_messages: u64,
    /// Noise receipts sent.
    pub receipts_sent: u64,
    /// Envelopes held for mixing.
    pub mixed: u64,
}

/// Delivery latency of one protocol, with and without countermeasures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatencyCost {
    /// Protocol label.
    pub protocol: String,
    /// Delivered messages.
    pub delivered: usize,
    /// Median latency, seconds.
    pub p50_s: f64,
    /// 99th percentile, seconds.
    pub p99_s: f64,
    /// The baseline's median, seconds.
    pub baseline_p50_s: f64,
    /// The baseline's 99th percentile, seconds.
    pub baseline_p99_s: f64,
    /// `p50_s − baseline_p50_s`.
    pub added_p50_s: f64,
    /// `p99_s − baseline_p99_s`.
    pub added_p99_s: f64,
}

/// The metadata leakage the countermeasures target (copied from the `metadata` section).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Leakage {
    /// Timing correlation: top-1 accuracy over scored visible uplinks.
    pub correlation_top1: f64,
    /// Claimed edges: precision against end-to-end pairs.
    pub correlation_precision: f64,
    /// Claimed edges: recall against end-to-end pairs with both ends visible.
    pub correlation_recall: f64,
    /// Mean anonymity set of an uplink.
    pub mean_anonymity_set: f64,
    /// Mean degree of anonymity (0 identified … 1 anyone).
    pub mean_degree_of_anonymity: f64,
    /// Statistical disclosure: targets whose visible contacts were all identified.
    pub disclosure_identified: usize,
    /// Of how many targets.
    pub disclosure_targets: usize,
    /// Size fingerprinting: exact text length recovered.
    pub size_exact_accuracy: f64,
}

/// The report's `costs` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostScore {
    /// Whether any countermeasure is on (else the run is its own baseline).
    pub countermeasures: bool,
    /// Per end-to-end app, in scenario order.
    pub apps: Vec<AppCost>,
    /// Per protocol label with deliveries, sorted.
    pub latency: Vec<LatencyCost>,
    /// What the adversary still learned.
    pub leakage: Leakage,
}

/// Nearest-rank percentile of sorted nanoseconds, in seconds (0 when empty).
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e9
}

/// Scores the costs of `run` beside the leakage in `metadata`.
pub fn score(run: &RunOutput, metadata: &MetadataScore) -> CostScore {
    let c = &run.costs;
    let now = carrier::latencies(&run.truth);
    let base = c.baseline.as_ref();
    let base_lat = base.map_or_else(|| now.clone(), |b| b.latency_ns.clone());
    let latency = now
        .iter()
        .filter(|(p, _)| capture::ProtocolId::from_label(p).is_some_and(|p| p.is_end_to_end()))
        .map(|(p, v)| {
            let b = base_lat.get(p).map_or(&[][..], Vec::as_slice);
            let (p50, p99) = (percentile(v, 0.5), percentile(v, 0.99));
            let (b50, b99) = (percentile(b, 0.5), percentile(b, 0.99));
            LatencyCost {
                protocol: p.clone(),
                delivered: v.len(),
                p50_s: p50,
                p99_s: p99,
                baseline_p50_s: b50,
                baseline_p99_s: b99,
                added_p50_s: p50 - b50,
                added_p99_s: p99 - b99,
            }
        })
        .collect();
    let apps = c
        .apps
        .iter()
        .zip(&c.settings)
        .map(|(a, (_, s))| {
            let wire = a.wire_bytes_up + a.wire_bytes_down;
            let b = base
                .and_then(|b| b.apps.iter().find(|x| x.app == a.app))
                .map_or(wire, |x| x.wire_bytes_up + x.wire_bytes_down);
            AppCost {
                app: a.app.clone(),
                protocol: a.protocol.clone(),
                padding: s.padding.as_str().to_owned(),
                receipts: String::new(),
                receipts_delay: scenario::format_duration(s.receipts_delay),
                sealed_sender: false,
                cover_traffic: s.cover_traffic.as_str().to_owned(),
                cover_interval: scenario::format_duration(s.cover_interval),
                mixing_delay: scenario::format_duration(s.mixing_delay),
                messages: a.messages,
                payload_bytes: a.payload_bytes,
                wire_bytes: wire,
                baseline_wire_bytes: b,
                bytes_overhead: if b == 0 {
                    0.0
                } else {
                    wire as f64 / b as f64 - 1.0
                },
                wire_per_payload_byte: if a.payload_bytes == 0 {
                    0.0
                } else {
                    wire as f64 / a.payload_bytes as f64
                },
                cover_messages: a.cover_messages,
                receipts_sent: a.receipts,
                mixed: a.mixed,
            }
        })
        .collect();
    let x = &metadata.correlation;
    CostScore {
        countermeasures: base.is_some(),
        apps,
        latency,
        leakage: Leakage {
            correlation_top1: x.top1_accuracy,
            correlation_precision: x.edges.precision,
            correlation_recall: x.edges_visible.recall,
            mean_anonymity_set: x.mean_anonymity_set,
            mean_degree_of_anonymity: x.mean_degree,
            disclosure_identified: metadata.disclosure.identified,
            disclosure_targets: metadata.disclosure.targets,
            size_exact_accuracy: metadata.sizes.exact_accuracy,
        },
    }
}

/// Fills the per-app receipt and sealed-sender columns from the scenario.
pub fn with_scenario(mut s: CostScore, sc: &scenario::Scenario) -> CostScore {
    for a in &mut s.apps {
        let Some(app) = sc.app(&a.app) else { continue };
        let (on, sealed) = match &app.kind {
            scenario::AppKind::Signal(o) => (o.receipts, o.sealed_sender),
            _ => (app.countermeasures.noise_receipts, false),
        };
        a.sealed_sender = sealed;
        a.receipts = if !on {
            "off"
        } else if app.countermeasures.receipts_delay > simcore::Duration::ZERO {
            "delayed"
        } else {
            "on"
        }
        .to_owned();
    }
    s
}

/// The terminal section "Countermeasures and their cost".
pub fn render(o: &mut String, c: &CostScore) {
    use std::fmt::Write;
    // Without any countermeasure the run is its own baseline: every line would read +0.0 %.
    if !c.countermeasures {
        return;
    }
    let _ = writeln!(o, "\nCountermeasures and their cost");
    for a in &c.apps {
        let _ = writeln!(
            o,
            "  {} ({}): padding {}, receipts {}{}, sealed sender {}, cover {}{}, mixing {}",
            a.app,
            a.protocol,
            a.padding,
            a.receipts,
            if a.receipts == "delayed" {
                format!(" (mean {})", a.receipts_delay)
            } else {
                String::new()
            },
            if a.sealed_sender { "on" } else { "off" },
            a.cover_traffic,
            if a.cover_traffic == "none" {
                String::new()
            } else {
                format!(" every {}", a.cover_interval)
            },
            a.mixing_delay,
        );
        let _ = writeln!(
            o,
            "    bytes on the radio {} vs {} without countermeasures: overhead {:+.1} %; {:.1} wire bytes per text byte; {} cover, {} receipts, {} envelopes mixed",
            a.wire_bytes,
            a.baseline_wire_bytes,
            a.bytes_overhead * 100.0,
            a.wire_per_payload_byte,
            a.cover_messages,
            a.receipts_sent,
            a.mixed
        );
    }
    for l in &c.latency {
        let _ = writeln!(
            o,
            "  latency {}: p50 {:.2} s ({:+.2}), p99 {:.2} s ({:+.2}) over {} messages",
            l.protocol, l.p50_s, l.added_p50_s, l.p99_s, l.added_p99_s, l.delivered
        );
    }
    let x = &c.leakage;
    let _ = writeln!(
        o,
        "  leakage left: correlation top-1 {:.2}, edges precision {:.2} recall {:.2}, anonymity set {:.1}, degree {:.2}; disclosure {} of {} targets; exact sizes {:.2}",
        x.correlation_top1,
        x.correlation_precision,
        x.correlation_recall,
        x.mean_anonymity_set,
        x.mean_degree_of_anonymity,
        x.disclosure_identified,
        x.disclosure_targets,
        x.size_exact_accuracy
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|s| s * 1_000_000_000).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7_000_000_000], 0.99), 7.0);
    }
}
