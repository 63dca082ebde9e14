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
//! 3. **Likelihoods.** True pairs are the histogram's excess over the background (bins above
//!    the median by more than 3 Poisson standard deviations, at the resolution of 1, 10 or 100
//!    merged bins that shows the most): `f_true(b)` = excess(b) / E.
//!    Chance pairs follow the background, and match the size offset with probability `m`
//!    (matched over all chance pairs). A size-matched candidate in bin b has likelihood ratio
//!    `LR = f_true(b) / f_chance(b) / m`, a mismatched one `10⁻³` of that. The prior
//!    probability that an uplink's true downlink is a visible one inside its window is
//!    `q0 = min(1, E / uplinks)`.
//! 4. **Posterior.** Given K window candidates, the true downlink is among them with
//!    `P(in) = q0·mean(LR) / (q0·mean(LR) + 1 − q0)`, each in proportion to its LR; otherwise
//!    the recipient is anyone, by the prior (each recipient's share of all downlinks). Every
//!    party's probability is `P(in)·share + (1 − P(in))·prior`. When the delay histogram shows
//!    no signal (heavy mixing), E ≈ 0 and the posterior is the prior: the adversary knows it
//!    cannot tell, and says so.
//!
//! Per uplink it reports the **anonymity set** (the distinct recipients in the window), the
//! Shannon entropy H of the posterior over *all* recipients (the window's in O(K), everyone
//! else's in O(1) from the prior's entropy) and the **degree of anonymity** d = H / log2(N) of
//! Díaz, Seys, Claessens and Preneel (PET 2002), where N is the number of distinct recipients
//! the adversary ever saw (the user population it can observe): d = 0 means identified, d = 1
//! means any observed user is equally likely. Because H is the entropy of the posterior the
//! adversary ranks with, d is consistent with its accuracy: near 1 when its top-1 accuracy is at
//! chance, near 0 when it identifies every recipient. An uplink is **claimed** (a contact edge) when its
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
    /// Distinct recipients in the window.
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

/// Standard deviations of a Poisson background a delay bin must exceed to count as signal.
const NOISE_Z: f64 = 3.0;

/// Per bin, the count of true pairs the histogram shows above chance: at the resolution (the
/// bins merged by 1, 10 or 100) where the total excess over the median, less `NOISE_Z` Poisson
/// standard deviations, is largest, spread evenly over the bins merged. A relay's fixed delay
/// shows at the finest resolution; a mixing delay spread over a second shows only when bins
/// are merged; a delay spread over the whole window shows at none.
fn excess_at_best_resolution(counts: &[u64]) -> Vec<f64> {
    let mut best: (f64, Vec<f64>) = (0.0, vec![0.0; counts.len()]);
    for f in [1usize, 10, 100] {
        if f > 1 && counts.len() < 3 * f {
            break;
        }
        let coarse: Vec<f64> = counts
            .chunks(f)
            .map(|c| c.iter().sum::<u64>() as f64 * f as f64 / c.len() as f64)
            .collect();
        let mut sorted = coarse.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let bg = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let noise = NOISE_Z * bg.sqrt();
        let ex: Vec<f64> = coarse.iter().map(|&c| (c - bg - noise).max(0.0)).collect();
        let total: f64 = ex.iter().sum();
        if total > best.0 {
            let per_bin = (0..counts.len()).map(|i| ex[i / f] / f as f64).collect();
            best = (total, per_bin);
        }
    }
    best.1
}
/// Likelihood factor of a candidate whose size does not match the learned offset.
const MISMATCH: f64 = 1e-3;

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

    // 3. The likelihood model. True pairs are the excess over chance: per bin, the count above
    //    the background by more than NOISE_Z standard deviations of a Poisson background.
    //    `f_true(b)` = excess(b) / E, `f_chance(b)` ∝ min(count(b), background) + 1, and a
    //    chance pair matches the size offset with probability `m` (matched chance pairs over
    //    all chance pairs in windows). E / (uplinks) is the prior probability `q0` that an
    //    uplink's true downlink is a visible one inside its window.
    let excess = excess_at_best_resolution(&counts);
    let e_total: f64 = excess.iter().sum();
    let chance: Vec<f64> = counts
        .iter()
        .map(|&c| (c as f64).min(background) + 1.0)
        .collect();
    let c_total: f64 = chance.iter().sum();
    let all_pairs: f64 = diffs.values().map(|&n| n as f64).sum();
    let matched: f64 = counts.iter().map(|&n| n as f64).sum();
    let m = ((matched - e_total).max(0.0) / (all_pairs - e_total).max(1.0)).clamp(1e-9, 1.0);
    let q0 = if ups.is_empty() {
        0.0
    } else {
        (e_total / ups.len() as f64).min(1.0)
    };
    let lr: Vec<f64> = (0..bins)
        .map(|b| {
            if e_total > 0.0 {
                (excess[b] / e_total) / (chance[b] / c_total) / m
            } else {
                0.0
            }
        })
        .collect();

    // The prior over recipients: each one's share of all downlinks.
    let mut prior_of: BTreeMap<u32, f64> = BTreeMap::new();
    for d in downs {
        *prior_of.entry(d.party).or_default() += 1.0;
    }
    let n_down = downs.len().max(1) as f64;
    for v in prior_of.values_mut() {
        *v /= n_down;
    }
    let g = |x: f64| if x > 0.0 { -x * x.log2() } else { 0.0 };
    let h_prior: f64 = prior_of.values().map(|&p| g(p)).sum();
    let mut by_prior: Vec<(u32, f64)> = prior_of.iter().map(|(&r, &p)| (r, p)).collect();
    by_prior.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    by_prior.truncate(3);

    // 4. Posterior per uplink: with P(in) the true downlink is one of the window's, each in
    //    proportion to its likelihood ratio; otherwise the recipient is anyone, by the prior.
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
            let b = bin_of(u, d);
            let (w, claim_r) = if matches(u, d) {
                (lr[b], ratio[b])
            } else {
                (lr[b] * MISMATCH, 0.0)
            };
            cand.push((d.party, w, claim_r));
        }
        let k = cand.len();
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
        let window_set = merged.len();
        let total: f64 = merged.iter().map(|c| c.1).sum();
        let p_in = if k > 0 && total > 0.0 {
            let mean_lr = total / k as f64;
            q0 * mean_lr / (q0 * mean_lr + (1.0 - q0))
        } else {
            0.0
        };
        let out = 1.0 - p_in;
        // Window parties: p = P(in)·share + P(out)·prior.
        let (mut h_in, mut prior_in, mut g_prior_in) = (0.0, 0.0, 0.0);
        for c in &mut merged {
            let pi = prior_of.get(&c.0).copied().unwrap_or(0.0);
            prior_in += pi;
            g_prior_in += g(pi);
            let share = if total > 0.0 { c.1 / total } else { 0.0 };
            c.1 = p_in * share + out * pi;
            h_in += g(c.1);
        }
        // Everyone else: p = P(out)·prior, summed in O(1) from the prior's entropy.
        let h_out = if out > 0.0 {
            out * (h_prior - g_prior_in) - out * out.log2() * (1.0 - prior_in).max(0.0)
        } else {
            0.0
        };
        let entropy = (h_in + h_out).max(0.0);
        for &(r, pi) in &by_prior {
            if out > 0.0 && !merged.iter().any(|c| c.0 == r) {
                merged.push((r, out * pi, 0.0));
            }
        }
        merged.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut top = [(u32::MAX, 0.0f32); 3];
        for (slot, c) in top.iter_mut().zip(merged.iter().filter(|c| c.1 > 0.0)) {
            *slot = (c.0, c.1 as f32);
        }
        let claimed = merged
            .first()
            .is_some_and(|c| c.1 >= cfg.claim_probability && c.2 >= cfg.min_ratio);
        links.push(IdLink {
            up: u32::try_from(i).unwrap_or(u32::MAX),
            set: u32::try_from(window_set).unwrap_or(u32::MAX),
            entropy: entropy as f32,
            degree: if log_n > 0.0 {
                (entropy / log_n).min(1.0) as f32
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

    /// Uplinks and downlinks with nothing in common: downlinks go to pseudo-random parties at
    /// pseudo-random times. Top-1 is at chance, so the degree of anonymity must be near 1.
    #[test]
    fn degree_is_near_one_at_chance_and_near_zero_when_identified() {
        let (ups, downs) = trace(0);
        let c = correlate_ids(&ups, &downs, &CorrelationConfig::default());
        let mean = |c: &IdCorrelation| {
            c.links.iter().map(|l| f64::from(l.degree)).sum::<f64>() / c.links.len() as f64
        };
        assert!(mean(&c) < 0.1, "identified: {}", mean(&c));
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for k in 0..2_000u64 {
            ups.push(s(k * 500 + (k * 7_919) % 300, (k % 20) as u32, 100));
            let h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            downs.push(s(k * 500 + h % 500, 20 + (h % 20) as u32, 100));
        }
        ups.sort_unstable();
        downs.sort_unstable();
        let c = correlate_ids(&ups, &downs, &CorrelationConfig::default());
        assert!(mean(&c) > 0.9, "at chance: {}", mean(&c));
        assert!(c.links.iter().all(|l| !l.claimed));
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
