//! The seeded traffic generator: a social graph with a heavy-tailed degree distribution and
//! conversations with Poisson arrivals and replies.
//!
//! - Degrees are Pareto-distributed with tail exponent `degree_exponent` (P(d) ~ d^-a) and mean
//!   `mean_degree`; edges are made by stub matching, weighted by degree, with probability
//!   `cross_carrier` that a contact lives on another carrier. O(E log E).
//! - Each contact pair exchanges messages as a Poisson process of rate
//!   `messages_per_contact_per_day`, in a random direction; each message is answered with
//!   probability `reply_probability` after an exponential delay of mean `reply_delay`, and
//!   answers may be answered again (at most 4 deep).
//! - Every text is unique ([`crate::text::TextGen`]).
//! - Communities (`community_size` ≥ 2): a planted partition on top of the stub matching. Each
//!   carrier's subscribers are shuffled into communities of `community_size`; a same-carrier
//!   contact is drawn from the subscriber's own community's stubs with probability
//!   `1 − community_mixing`, else from the whole carrier's (degree weighting is kept in both).
//! - Diurnal activity (`diurnal`, 24 hourly weights of mean 1): conversation starts are a
//!   Poisson process thinned by the weight of their hour of day (time 0 is midnight); replies
//!   follow their message.
//! - Lengths (`lognormal`): a length is drawn from a log-normal of `median` and `sigma`,
//!   redrawn until within `[min, max]`, and the text is generated to that length (+ up to 8
//!   characters to end on a word). `natural`: the generator's own sentence lengths.
//!
//! Every parameter, its default and where the default comes from: `docs/traffic.md`.

use std::collections::BTreeSet;

use rand_core::RngCore;
use scenario::planner::{
    contacts_drawn, DegreeDistribution, MAX_CONVERSATION_MESSAGES, MIN_REPLY_GAP_SECS,
};
use simcore::{Duration, SeedTree, SimRng, Timestamp, Watch};

use crate::text::TextGen;

/// One message the traffic generator plans: who sends what to whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub at: Timestamp,
    pub from: usize,
    pub to: usize,
    /// Made once here and handed on: the outbox and the truth point at this copy.
    pub text: std::sync::Arc<str>,
}

/// The knobs of the generator, taken from the scenario.
#[derive(Clone, Debug)]
pub(crate) struct TrafficParams {
    pub mean_degree: f64,
    pub degree_exponent: f64,
    pub cross_carrier: f64,
    pub messages_per_contact_per_day: f64,
    pub reply_probability: f64,
    pub reply_delay: Duration,
    pub min_len: usize,
    pub max_len: usize,
    pub duration: Duration,
    /// `Some((median, sigma))`: log-normal lengths; `None`: natural lengths.
    pub lognormal: Option<(f64, f64)>,
    /// Subscribers per community (0 or 1: none).
    pub community_size: usize,
    /// Probability a same-carrier contact is drawn outside the community.
    pub community_mixing: f64,
    /// Hourly weights of mean 1; empty: flat.
    pub diurnal: Vec<f64>,
}

/// A standard normal sample (Box–Muller).
pub(crate) fn normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A message length in `[min, max]`: log-normal of `(median, sigma)`, redrawn until inside
/// (at most 64 draws, then clamped).
pub(crate) fn draw_length(
    rng: &mut SimRng,
    median: f64,
    sigma: f64,
    min: usize,
    max: usize,
) -> usize {
    let mut l = median;
    for _ in 0..64 {
        l = median * (sigma * normal(rng)).exp();
        if l >= min as f64 && l <= max as f64 + 0.999 {
            break;
        }
    }
    (l.floor() as usize).clamp(min, max)
}

/// A new unique text following `p`'s length distribution.
pub(crate) fn text(texts: &mut TextGen, rng: &mut SimRng, p: &TrafficParams) -> String {
    match p.lognormal {
        Some((median, sigma)) => {
            let l = draw_length(rng, median, sigma, p.min_len, p.max_len);
            texts.message(rng, l, (l + 8).min(p.max_len))
        }
        None => texts.message(rng, p.min_len, p.max_len),
    }
}

/// A uniform float in [0, 1).
pub(crate) fn unit(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// An exponential sample of the given mean.
pub(crate) fn exp(rng: &mut SimRng, mean: f64) -> f64 {
    -(1.0 - unit(rng)).ln() * mean
}

/// The social graph: unordered pairs (a < b) of subscriber indices.
pub(crate) fn social_graph(
    carrier_of: &[usize],
    carriers: usize,
    p: &TrafficParams,
    rng: &mut SimRng,
) -> Vec<(usize, usize)> {
    let n = carrier_of.len();
    if n < 2 {
        return Vec::new();
    }
    // The work estimate takes the expectation of the same draws (`scenario::planner`).
    let distribution = DegreeDistribution::new(p.mean_degree, p.degree_exponent, n);
    let degrees: Vec<usize> = (0..n)
        .map(|_| distribution.degree(1.0 - unit(rng)))
        .collect();
    // Stub lists per carrier: a subscriber appears once per unit of degree.
    let mut stubs: Vec<Vec<usize>> = vec![Vec::new(); carriers];
    for (i, &d) in degrees.iter().enumerate() {
        stubs[carrier_of[i]].extend(std::iter::repeat_n(i, d));
    }
    // Communities: each carrier's subscribers shuffled into groups of `community_size`.
    let community: Vec<usize> = if p.community_size >= 2 {
        let mut of = vec![0usize; n];
        let mut next = 0usize;
        for c in 0..carriers {
            let mut members: Vec<usize> = (0..n).filter(|&i| carrier_of[i] == c).collect();
            for k in (1..members.len()).rev() {
                let j = (rng.next_u64() % (k as u64 + 1)) as usize;
                members.swap(k, j);
            }
            for (k, &i) in members.iter().enumerate() {
                of[i] = next + k / p.community_size;
            }
            next += members.len().div_ceil(p.community_size);
        }
        of
    } else {
        Vec::new()
    };
    let mut community_stubs: Vec<Vec<usize>> =
        vec![Vec::new(); community.iter().max().map_or(0, |m| m + 1)];
    for (i, &d) in degrees.iter().enumerate() {
        if let Some(&k) = community.get(i) {
            community_stubs[k].extend(std::iter::repeat_n(i, d));
        }
    }
    let mut edges = BTreeSet::new();
    for (i, &d) in degrees.iter().enumerate() {
        let own = carrier_of[i];
        for _ in 0..contacts_drawn(d) {
            let c = if carriers > 1 && unit(rng) < p.cross_carrier {
                let k = (rng.next_u32() as usize) % (carriers - 1);
                if k >= own {
                    k + 1
                } else {
                    k
                }
            } else {
                own
            };
            let list = match community.get(i) {
                Some(&k) if c == own && unit(rng) >= p.community_mixing => &community_stubs[k],
                _ => &stubs[c],
            };
            if list.is_empty() {
                continue;
            }
            let j = list[(rng.next_u64() % list.len() as u64) as usize];
            if j != i {
                edges.insert((i.min(j), i.max(j)));
            }
        }
    }
    edges.into_iter().collect()
}

/// Plans every message of the run, sorted by time (ties by sender, then recipient); `None` if
/// `watch` asked to stop before the plan was complete.
pub(crate) fn plan(
    carrier_of: &[usize],
    carriers: usize,
    p: &TrafficParams,
    seeds: &SeedTree,
    watch: &Watch,
) -> Option<Vec<Planned>> {
    let mut graph_rng = seeds.stream("graph");
    let edges = social_graph(carrier_of, carriers, p, &mut graph_rng);
    let mut rng = seeds.stream("conversations");
    let mut text_rng = seeds.stream("text");
    let mut texts = TextGen::default();
    let horizon = p.duration.as_secs_f64();
    let rate_per_sec = p.messages_per_contact_per_day / 86_400.0;
    let mut out = Vec::new();
    if rate_per_sec <= 0.0 {
        return Some(out);
    }
    // Diurnal thinning: candidates at the peak rate, kept with weight / peak.
    let peak = p.diurnal.iter().copied().fold(0.0f64, f64::max);
    let thin = peak > 0.0;
    let gap = if thin {
        1.0 / (rate_per_sec * peak)
    } else {
        1.0 / rate_per_sec
    };
    for (k, &(a, b)) in edges.iter().enumerate() {
        if k % 1024 == 0 && watch.stop_requested() {
            return None;
        }
        let mut t = exp(&mut rng, gap);
        while t < horizon {
            if thin {
                let hour = ((t / 3600.0) as usize) % 24;
                if unit(&mut rng) * peak >= p.diurnal[hour] {
                    t += exp(&mut rng, gap);
                    continue;
                }
            }
            let (mut from, mut to) = if rng.next_u32() & 1 == 0 {
                (a, b)
            } else {
                (b, a)
            };
            let mut at = t;
            let mut depth = 0;
            loop {
                let text = text(&mut texts, &mut text_rng, p).into();
                out.push(Planned {
                    at: Timestamp::from_nanos((at * 1e9) as u64),
                    from,
                    to,
                    text,
                });
                depth += 1;
                if depth >= MAX_CONVERSATION_MESSAGES || unit(&mut rng) >= p.reply_probability {
                    break;
                }
                at += exp(&mut rng, p.reply_delay.as_secs_f64()).max(MIN_REPLY_GAP_SECS);
                if at >= horizon {
                    break;
                }
                std::mem::swap(&mut from, &mut to);
            }
            t += exp(&mut rng, gap);
        }
    }
    out.sort_by_key(|x| (x.at, x.from, x.to));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TrafficParams {
        TrafficParams {
            mean_degree: 6.0,
            degree_exponent: 2.5,
            cross_carrier: 0.3,
            messages_per_contact_per_day: 2.0,
            reply_probability: 0.6,
            reply_delay: Duration::from_secs(180),
            min_len: 20,
            max_len: 160,
            duration: Duration::from_secs(86_400),
            lognormal: Some((40.0, 0.7)),
            community_size: 0,
            community_mixing: 0.2,
            diurnal: Vec::new(),
        }
    }

    #[test]
    fn degree_distribution_is_heavy_tailed() {
        let carrier_of: Vec<usize> = (0..2000).map(|i| i % 3).collect();
        let mut rng = SeedTree::new(5).stream("g");
        let edges = social_graph(&carrier_of, 3, &params(), &mut rng);
        let mut deg = vec![0usize; 2000];
        for &(a, b) in &edges {
            assert!(a < b);
            deg[a] += 1;
            deg[b] += 1;
        }
        let mean = deg.iter().sum::<usize>() as f64 / 2000.0;
        let max = *deg.iter().max().unwrap_or(&0);
        assert!((3.0..12.0).contains(&mean), "mean degree {mean}");
        // A heavy tail: the best-connected subscriber has many times the mean degree.
        assert!(max as f64 > 5.0 * mean, "max {max} mean {mean}");
        let cross = edges
            .iter()
            .filter(|&&(a, b)| carrier_of[a] != carrier_of[b])
            .count() as f64
            / edges.len() as f64;
        assert!((0.15..0.45).contains(&cross), "cross-carrier share {cross}");
    }

    #[test]
    fn plan_is_deterministic_sorted_and_within_horizon() {
        let carrier_of: Vec<usize> = (0..200).map(|i| i % 2).collect();
        let a =
            plan(&carrier_of, 2, &params(), &SeedTree::new(9), &Watch::new()).expect("not stopped");
        let b =
            plan(&carrier_of, 2, &params(), &SeedTree::new(9), &Watch::new()).expect("not stopped");
        let c = plan(&carrier_of, 2, &params(), &SeedTree::new(10), &Watch::new())
            .expect("not stopped");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(a
            .iter()
            .all(|m| m.at < Timestamp::from_secs(86_400) && m.from != m.to));
        let replies = a.len() as f64;
        assert!(replies > 200.0, "{replies}");
    }
}
