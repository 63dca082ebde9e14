//! Timing and size correlation of end-to-end encrypted traffic through an OTT relay.
//!
//! A message from A to B crosses the relay as an uplink (A → relay, at time t, size s) and a
//! downlink (relay → B, at t + δ, size s'). Tunnels hide the envelope's `to`, but not t, δ or s.
//! For every uplink the adversary scores each downlink in the window `[t + min, t + max]`:
//!
//! 1. **Size offset.** The mode of `s' − s` over all (uplink, downlink) pairs in the window: a
//!    relay that re-wraps the same envelope in another tunnel adds a constant.
//! 2. **Delay model.** A histogram of δ (bins of `bin`) over the size-matched pairs. Chance
//!    coincidences spread evenly over the window; true pairs pile up at the network's delay. The
//!    background is the median bin count, and the likelihood ratio of a delay in bin b is
//!    `(count[b] + 1) / (background + 1)`: learned from the captures alone, no ground truth.
//! 3. **Posterior.** A candidate's weight is the delay ratio times 1 (size matches the offset
//!    within `size_tolerance`) or `1e-3` (it does not); weights of downlinks to the same party
//!    add up, and normalise to a distribution over candidate recipients.
//!
//! Per uplink it reports the **anonymity set** (candidates with non-zero probability), the
//! Shannon entropy H of the distribution and the **degree of anonymity** d = H / log2(N) of
//! Díaz, Seys, Claessens and Preneel (PET 2002), where N is the number of distinct recipients
//! the adversary ever saw (the user population it can observe): d = 0 means identified, d = 1
//! means any observed user is equally likely. An uplink is **claimed** (a contact edge) when its
//! best candidate has probability at least `claim_probability`, a matching size and a delay
//! ratio of at least `min_ratio`; edges with at least `min_votes` claims are reported.
//!
//! Cost: O(n log n + n·K log K) for n uplinks and downlinks, with at most K =
//! `max_candidates` candidates per uplink (the earliest in the window): O(n log n) for fixed K.

use std::collections::BTreeMap;

use serde::Serialize;
use simcore::Timestamp;

use super::packets::{Sighting, Traffic};

/// The adversary's correlation parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationConfig {
    /// Shortest relay delay considered, nanoseconds.
    pub window_min_ns: u64,
    /// Longest relay delay considered, nanoseconds.
    pub window_ns: u64,
    /// Width of a delay-histogram bin, nanoseconds.
    pub bin_ns: u64,
    /// Sizes within this many bytes of the learned offset match.
    pub size_tolerance: u32,
    /// At most this many downlinks are scored per uplink (the earliest in the window).
    pub max_candidates: usize,
    /// A claim needs the best candidate at least this likely.
    pub claim_probability: f64,
    /// A claim needs the best candidate's delay bin at least this many times the background.
    pub min_ratio: f64,
    /// An edge needs at least this many claims.
    pub min_votes: u32,
    /// How many most likely candidates each [`MessageLink`] lists.
    pub keep_top: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            window_min_ns: 0,
            window_ns: 10_000_000_000,
            bin_ns: 10_000_000,
            size_tolerance: 0,
            max_candidates: 64,
            claim_probability: 0.5,
            min_ratio: 4.0,
            min_votes: 1,
            keep_top: 3,
        }
    }
}

/// What the adversary concluded about one uplink message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageLink {
    /// When the uplink was first seen.
    pub time: Timestamp,
    /// The sender (MSISDN or address).
    pub sender: String,
    /// The uplink's IPv4 size.
    pub size: u32,
    /// Candidate recipients with non-zero probability.
    pub anonymity_set: u32,
    /// Shannon entropy of the recipient distribution, bits.
    pub entropy_bits: f64,
    /// Degree of anonymity H / log2(N) (0 when N ≤ 1).
    pub degree: f64,
    /// The most likely recipients with their probabilities, most likely first.
    pub top: Vec<(String, f64)>,
    /// Whether the best candidate is claimed as the recipient.
    pub claimed: bool,
}

/// A compact per-uplink result (what [`correlate_ids`] returns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdLink {
    /// Index of the uplink in the input.
    pub up: u32,
    /// Candidates with non-zero probability.
    pub set: u32,
    /// Entropy, bits.
    pub entropy: f32,
    /// Degree of anonymity.
    pub degree: f32,
    /// Up to three best candidates `(party, probability)`; unused slots have probability 0.
    pub top: [(u32, f32); 3],
    /// Whether the best candidate is claimed.
    pub claimed: bool,
}

/// The learned model and per-uplink results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdCorrelation {
    /// Learned size offset `s' − s`.
    pub size_offset: i64,
    /// Learned delay of the fullest bin, nanoseconds (bin start).
    pub delay_peak_ns: u64,
    /// Median bin count of size-matched pairs.
    pub background: f64,
    /// Distinct downlink recipients (N of the degree of anonymity).
    pub recipients: usize,
    /// One entry per uplink, in input order.
    pub links: Vec<IdLink>,
}

/// Everything the correlation analysis reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CorrelationFindings {
    /// Relay addresses found.
    pub relays: Vec<String>,
    /// Distinct encrypted uplink messages.
    pub uplinks: usize,
    /// Distinct encrypted downlink messages.
    pub downlinks: usize,
    /// Distinct recipients seen (N).
    pub recipients_seen: usize,
    /// Learned size offset, bytes.
    pub size_offset: i64,
    /// Learned most common relay delay, nanoseconds.
    pub delay_peak_ns: u64,
    /// Per uplink, in time order.
    pub messages: Vec<MessageLink>,
    /// Claimed contact edges `(a, b, claims)` with `a < b`, sorted.
    pub edges: Vec<(String, String, u32)>,
}

/// The downlinks in `[t + min, t + max]` of an uplink at `t`, at most `cap`, skipping `party`.
fn window<'a>(
    downs: &'a [Sighting],
    lo: usize,
    up: &Sighting,
    cfg: &CorrelationConfig,
) -> impl Iterator<Item = &'a Sighting> + 'a {
    let end = up.time.saturating_add(cfg.window_ns);
    let party = up.party;
    downs[lo.min(downs.len())..]
        .iter()
        .take_while(move |d| d.time <= end)
        .filter(move |d| d.party != party)
        .take(cfg.max_candidates)
}

/// Runs the correlation on compact sightings (both slices sorted by time).
///
/// Cost: O(n log n + n·K log K), see the module docs.
pub fn correlate_ids(
    ups: &[Sighting],
    downs: &[Sighting],
    cfg: &CorrelationConfig,
) -> IdCorrelation {
    let bin = cfg.bin_ns.max(1);
    let span = cfg.window_ns.saturating_sub(cfg.window_min_ns);
    let bins = usize::try_from(span / bin + 1)
        .unwrap_or(1)
        .clamp(1, 1 << 20);
    let mut recipients: Vec<u32> = downs.iter().map(|d| d.party).collect();
    recipients.sort_unstable();
    recipients.dedup();

    // Start indices of each uplink's window (monotone: ups are sorted).
    let mut starts = Vec::with_capacity(ups.len());
    let mut lo = 0usize;
    for u in ups {
        let from = u.time.saturating_add(cfg.window_min_ns);
        while lo < downs.len() && downs[lo].time < from {
            lo += 1;
        }
        starts.push(lo);
    }

    // 1. Size offset: the mode of s' - s.
    let mut diffs: BTreeMap<i64, u64> = BTreeMap::new();
    for (u, &lo) in ups.iter().zip(&starts) {
        for d in window(downs, lo, u, cfg) {
            *diffs
                .entry(i64::from(d.size) - i64::from(u.size))
                .or_default() += 1;
        }
    }
    let size_offset = diffs
        .iter()
        .max_by_key(|(k, n)| (**n, core::cmp::Reverse(k.abs())))
        .map_or(0, |(k, _)| *k);
    let matches = |u: &Sighting, d: &Sighting| {
        (i64::from(d.size) - i64::from(u.size) - size_offset).unsigned_abs()
            <= u64::from(cfg.size_tolerance)
    };
    let bin_of = |u: &Sighting, d: &Sighting| {
        let delay = d
            .time
            .saturating_sub(u.time)
            .saturating_sub(cfg.window_min_ns);
        usize::try_from(delay / bin)
            .unwrap_or(usize::MAX)
            .min(bins - 1)
    };

    // 2. Delay histogram of size-matched pairs.
    let mut counts = vec![0u64; bins];
    for (u, &lo) in ups.iter().zip(&starts) {
        for d in window(downs, lo, u, cfg).filter(|d| matches(u, d)) {
            counts[bin_of(u, d)] += 1;
        }
    }
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    let background = sorted.get(sorted.len() / 2).copied().unwrap_or(0) as f64;
    let peak = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, core::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i);
    let ratio: Vec<f64> = counts
        .iter()
        .map(|&c| (c as f64 + 1.0) / (background + 1.0))
        .collect();

    // 3. Posterior per uplink.
    let log_n = if recipients.len() > 1 {
        (recipients.len() as f64).log2()
    } else {
        0.0
    };
    let mut links = Vec::with_capacity(ups.len());
    let mut cand: Vec<(u32, f64, f64)> = Vec::with_capacity(cfg.max_candidates);
    for (i, (u, &lo)) in ups.iter().zip(&starts).enumerate() {
        cand.clear();
        for d in window(downs, lo, u, cfg) {
            let r = ratio[bin_of(u, d)];
            let (w, claim_r) = if matches(u, d) {
                (r, r)
            } else {
                (r * 1e-3, 0.0)
            };
            cand.push((d.party, w, claim_r));
        }
        cand.sort_unstable_by_key(|a| a.0);
        let mut merged: Vec<(u32, f64, f64)> = Vec::with_capacity(cand.len());
        for &(p, w, r) in &cand {
            match merged.last_mut() {
                Some(last) if last.0 == p => {
                    last.1 += w;
                    last.2 = last.2.max(r);
                }
                _ => merged.push((p, w, r)),
            }
        }
        let total: f64 = merged.iter().map(|c| c.1).sum();
        let mut entropy = 0.0;
        if total > 0.0 {
            for c in &mut merged {
                c.1 /= total;
                if c.1 > 0.0 {
                    entropy -= c.1 * c.1.log2();
                }
            }
        }
        merged.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut top = [(u32::MAX, 0.0f32); 3];
        for (slot, c) in top.iter_mut().zip(&merged) {
            *slot = (c.0, c.1 as f32);
        }
        let claimed = merged
            .first()
            .is_some_and(|c| c.1 >= cfg.claim_probability && c.2 >= cfg.min_ratio);
        links.push(IdLink {
            up: u32::try_from(i).unwrap_or(u32::MAX),
            set: u32::try_from(merged.len()).unwrap_or(u32::MAX),
            entropy: entropy.max(0.0) as f32,
            degree: if log_n > 0.0 {
                (entropy.max(0.0) / log_n) as f32
            } else {
                0.0
            },
            top,
            claimed,
        });
    }
    IdCorrelation {
        size_offset,
        delay_peak_ns: cfg.window_min_ns + peak as u64 * bin,
        background,
        recipients: recipients.len(),
        links,
    }
}

/// Claimed edges `(a, b, claims)` over party ids with `a < b`, at least `min_votes` claims.
pub fn edges_ids(ups: &[Sighting], c: &IdCorrelation, min_votes: u32) -> Vec<(u32, u32, u32)> {
    let mut votes: Vec<(u32, u32)> = c
        .links
        .iter()
        .filter(|l| l.claimed)
        .filter_map(|l| {
            let a = ups.get(l.up as usize)?.party;
            let b = l.top[0].0;
            Some((a.min(b), a.max(b)))
        })
        .collect();
    votes.sort_unstable();
    let mut out: Vec<(u32, u32, u32)> = Vec::new();
    for (a, b) in votes {
        match out.last_mut() {
            Some(last) if (last.0, last.1) == (a, b) => last.2 += 1,
            _ => out.push((a, b, 1)),
        }
    }
    out.retain(|e| e.2 >= min_votes.max(1));
    out
}

/// Runs the correlation over decoded traffic and names the parties.
pub fn correlate(t: &Traffic, cfg: &CorrelationConfig) -> CorrelationFindings {
    let c = correlate_ids(&t.ups, &t.downs, cfg);
    let name = |p: u32| t.name(p).to_owned();
    let messages = c
        .links
        .iter()
        .filter_map(|l| {
            let u = t.ups.get(l.up as usize)?;
            Some(MessageLink {
                time: Timestamp::from_nanos(u.time),
                sender: name(u.party),
                size: u.size,
                anonymity_set: l.set,
                entropy_bits: f64::from(l.entropy),
                degree: f64::from(l.degree),
                top: l
                    .top
                    .iter()
                    .take(cfg.keep_top)
                    .filter(|x| x.1 > 0.0)
                    .map(|&(p, pr)| (name(p), f64::from(pr)))
                    .collect(),
                claimed: l.claimed,
            })
        })
        .collect();
    let mut edges: Vec<(String, String, u32)> = edges_ids(&t.ups, &c, cfg.min_votes)
        .into_iter()
        .map(|(a, b, n)| {
            let (x, y) = (name(a), name(b));
            if x <= y {
                (x, y, n)
            } else {
                (y, x, n)
            }
        })
        .collect();
    edges.sort();
    CorrelationFindings {
        relays: t.relays.iter().map(ToString::to_string).collect(),
        uplinks: t.ups.len(),
        downlinks: t.downs.len(),
        recipients_seen: c.recipients,
        size_offset: c.size_offset,
        delay_peak_ns: c.delay_peak_ns,
        messages,
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(time_ms: u64, party: u32, size: u32) -> Sighting {
        Sighting {
            time: time_ms * 1_000_000,
            party,
            size,
        }
    }

    /// Sender 0 talks to 1 many times; 2 and 3 get unrelated traffic at random-looking delays.
    fn trace(mix_ms: u64) -> (Vec<Sighting>, Vec<Sighting>) {
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for k in 0..200u64 {
            let t = k * 20_000;
            let size = 100 + (k % 50) as u32;
            ups.push(s(t, 0, size));
            // Deterministic "mixing": delay spread over [70, 70 + mix] ms.
            let jitter = if mix_ms == 0 { 0 } else { (k * 7919) % mix_ms };
            downs.push(s(t + 70 + jitter, 1, size));
            downs.push(s(
                t + 1_000 + (k * 37) % 3_000,
                2,
                100 + ((k * 13) % 50) as u32,
            ));
            downs.push(s(
                t + 4_000 + (k * 53) % 3_000,
                3,
                100 + ((k * 17) % 50) as u32,
            ));
        }
        ups.sort_unstable();
        downs.sort_unstable();
        (ups, downs)
    }

    #[test]
    fn a_fast_relay_links_every_message() {
        let (ups, downs) = trace(0);
        let c = correlate_ids(&ups, &downs, &CorrelationConfig::default());
        assert_eq!(c.size_offset, 0);
        assert_eq!(c.delay_peak_ns, 70_000_000);
        assert!(c.links.iter().all(|l| l.claimed && l.top[0].0 == 1));
        assert_eq!(edges_ids(&ups, &c, 1), vec![(0, 1, 200)]);
    }

    #[test]
    fn mixing_delay_raises_entropy() {
        let (ups, downs) = trace(0);
        let (ups2, downs2) = trace(9_000);
        let cfg = CorrelationConfig::default();
        let a = correlate_ids(&ups, &downs, &cfg);
        let b = correlate_ids(&ups2, &downs2, &cfg);
        let mean = |c: &IdCorrelation| {
            c.links.iter().map(|l| f64::from(l.entropy)).sum::<f64>() / c.links.len() as f64
        };
        assert!(mean(&b) > mean(&a), "{} vs {}", mean(&b), mean(&a));
    }

    #[test]
    fn empty_input_is_fine() {
        let c = correlate_ids(&[], &[], &CorrelationConfig::default());
        assert!(c.links.is_empty());
        let c = correlate_ids(&[s(0, 0, 10)], &[], &CorrelationConfig::default());
        assert_eq!(c.links[0].set, 0);
        assert!(!c.links[0].claimed);
    }
}
