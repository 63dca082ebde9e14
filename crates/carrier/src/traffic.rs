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

use std::collections::BTreeSet;

use rand_core::RngCore;
use simcore::{Duration, SeedTree, SimRng, Timestamp};

use crate::text::TextGen;

/// One message the traffic generator plans: who sends what to whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planned {
    pub at: Timestamp,
    pub from: usize,
    pub to: usize,
    pub text: String,
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
    let a = p.degree_exponent.max(2.05);
    let xm = p.mean_degree * (a - 2.0) / (a - 1.0);
    let degrees: Vec<usize> = (0..n)
        .map(|_| {
            let u = 1.0 - unit(rng);
            let d = xm * u.powf(-1.0 / (a - 1.0));
            (d.round() as usize).clamp(1, n - 1)
        })
        .collect();
    // Stub lists per carrier: a subscriber appears once per unit of degree.
    let mut stubs: Vec<Vec<usize>> = vec![Vec::new(); carriers];
    for (i, &d) in degrees.iter().enumerate() {
        stubs[carrier_of[i]].extend(std::iter::repeat_n(i, d));
    }
    let mut edges = BTreeSet::new();
    for (i, &d) in degrees.iter().enumerate() {
        let own = carrier_of[i];
        for _ in 0..d.div_ceil(2) {
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
            let list = &stubs[c];
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

/// Plans every message of the run, sorted by time (ties by sender, then recipient).
pub(crate) fn plan(
    carrier_of: &[usize],
    carriers: usize,
    p: &TrafficParams,
    seeds: &SeedTree,
) -> Vec<Planned> {
    let mut graph_rng = seeds.stream("graph");
    let edges = social_graph(carrier_of, carriers, p, &mut graph_rng);
    let mut rng = seeds.stream("conversations");
    let mut text_rng = seeds.stream("text");
    let mut texts = TextGen::default();
    let horizon = p.duration.as_secs_f64();
    let rate_per_sec = p.messages_per_contact_per_day / 86_400.0;
    let mut out = Vec::new();
    if rate_per_sec <= 0.0 {
        return out;
    }
    for &(a, b) in &edges {
        let mut t = exp(&mut rng, 1.0 / rate_per_sec);
        while t < horizon {
            let (mut from, mut to) = if rng.next_u32() & 1 == 0 {
                (a, b)
            } else {
                (b, a)
            };
            let mut at = t;
            let mut depth = 0;
            loop {
                let text = texts.message(&mut text_rng, p.min_len, p.max_len);
                out.push(Planned {
                    at: Timestamp::from_nanos((at * 1e9) as u64),
                    from,
                    to,
                    text,
                });
                depth += 1;
                if depth > 4 || unit(&mut rng) >= p.reply_probability {
                    break;
                }
                at += exp(&mut rng, p.reply_delay.as_secs_f64()).max(1.0);
                if at >= horizon {
                    break;
                }
                std::mem::swap(&mut from, &mut to);
            }
            t += exp(&mut rng, 1.0 / rate_per_sec);
        }
    }
    out.sort_by_key(|x| (x.at, x.from, x.to));
    out
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
        let a = plan(&carrier_of, 2, &params(), &SeedTree::new(9));
        let b = plan(&carrier_of, 2, &params(), &SeedTree::new(9));
        let c = plan(&carrier_of, 2, &params(), &SeedTree::new(10));
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
