//! The traffic planner's arithmetic, in one place for the two that need it: the planner
//! (`carrier::traffic` and `carrier::voice`, which draw with it) and the work estimate
//! ([`crate::Scenario::estimated_work`]: `validate`'s budget, `run`'s, and a sweep's), which
//! takes its expectation ([`expect`]). The estimate cannot drift from what the planner does.
//!
//! What the planner does (`docs/traffic.md`):
//!
//! - Each subscriber gets a degree from a Pareto distribution of mean `mean_degree` and tail
//!   exponent `degree_exponent`, rounded and clamped to `[1, subscribers − 1]`
//!   ([`DegreeDistribution`]), and draws [`contacts_drawn`] of its contacts itself — half its
//!   degree, rounded up: the other half are the contacts that draw it. So a scenario has about
//!   `subscribers × mean_degree / 2` contact **pairs**, not `subscribers × mean_degree`.
//! - Each pair starts conversations as one Poisson process of `messages_per_contact_per_day`
//!   (thinned by the `diurnal` weight of the hour), in a random direction: the rate is per
//!   pair, not per subscriber and contact.
//! - A conversation is its first message and then replies, each with `reply_probability`,
//!   alternating sides, at most [`MAX_CONVERSATION_MESSAGES`] messages in all, each reply at
//!   least [`MIN_REPLY_GAP_SECS`] after the one it answers; a reply that would fall after the
//!   traffic ends is not sent. So a conversation holds `1 + p + p² + p³ + p⁴` messages (less
//!   near the end of the traffic), not `1 + p`.
//! - Calls: one Poisson process of `calls_per_contact_per_day` per pair; a call is answered
//!   with [`answered_share`] of the calls.
//!
//! The expectation counts contact pairs as draws (at most every pair of subscribers): a draw
//! that lands on a pair already drawn (or on the subscriber itself) adds none, so
//! [`Expected::pairs`] is an upper bound, by a few percent at thousands of subscribers and by
//! up to a third in a graph of tens, where the hubs' draws meet
//! (`docs/scenario.md#work-budget`). Calls a busy line turns away are not taken off either.

use simcore::Duration;

use crate::model::Traffic;

/// The most messages one conversation holds: the first and at most four replies.
pub const MAX_CONVERSATION_MESSAGES: usize = 5;

/// The shortest gap between a message and its reply, seconds.
pub const MIN_REPLY_GAP_SECS: f64 = 1.0;

/// The smallest tail exponent the planner uses (a smaller `degree_exponent` is raised to it:
/// at 2 the Pareto mean diverges).
pub const MIN_DEGREE_EXPONENT: f64 = 2.05;

/// Degrees below this are summed one by one in [`DegreeDistribution::drawn_moments`]; above
/// it, in bins 1 % wide.
const EXACT_DEGREES: usize = 4096;

/// The distribution subscribers' degrees are drawn from: Pareto of a given mean and tail
/// exponent, rounded to an integer and clamped to `[1, subscribers − 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DegreeDistribution {
    /// The Pareto's scale (its smallest value).
    scale: f64,
    /// Its tail index, `exponent − 1` (P(X > x) = (scale / x)^tail).
    tail: f64,
    /// The largest degree: `subscribers − 1` (0 with fewer than two subscribers).
    top: usize,
}

impl DegreeDistribution {
    /// The degrees of `subscribers` subscribers with mean `mean_degree` and tail exponent
    /// `degree_exponent` (at least [`MIN_DEGREE_EXPONENT`]).
    pub fn new(mean_degree: f64, degree_exponent: f64, subscribers: usize) -> Self {
        let a = degree_exponent.max(MIN_DEGREE_EXPONENT);
        DegreeDistribution {
            scale: mean_degree * (a - 2.0) / (a - 1.0),
            tail: a - 1.0,
            top: subscribers.saturating_sub(1),
        }
    }

    /// The degree of the draw `u`, uniform in `(0, 1]` (inverse transform), at least 1 and at
    /// most `subscribers − 1`. Only meaningful with two subscribers or more.
    pub fn degree(&self, u: f64) -> usize {
        let d = self.scale * u.powf(-1.0 / self.tail);
        (d.round() as usize).clamp(1, self.top.max(1))
    }

    /// P(X > x) of the Pareto before rounding.
    fn above(&self, x: f64) -> f64 {
        if x <= self.scale {
            1.0
        } else {
            (self.scale / x).powf(self.tail)
        }
    }

    /// P(lo − ½ ≤ X < hi − ½) after the clamp: the probability that the degree is in
    /// `lo..hi` (`1 <= lo < hi <= top + 1`).
    fn mass(&self, lo: usize, hi: usize) -> f64 {
        let from = if lo <= 1 {
            1.0
        } else {
            self.above(lo as f64 - 0.5)
        };
        let to = if hi > self.top {
            0.0
        } else {
            self.above(hi as f64 - 0.5)
        };
        (from - to).max(0.0)
    }

    /// Mean and variance of [`contacts_drawn`] of a degree: what one subscriber draws. Exact
    /// below 4,096; above, each bin of degrees 1 % wide counts at its middle.
    pub fn drawn_moments(&self) -> (f64, f64) {
        if self.top == 0 {
            return (0.0, 0.0);
        }
        let (mut m1, mut m2) = (0.0, 0.0);
        for k in 1..=self.top.min(EXACT_DEGREES) {
            let (p, s) = (self.mass(k, k + 1), contacts_drawn(k) as f64);
            m1 += p * s;
            m2 += p * s * s;
        }
        let mut lo = EXACT_DEGREES + 1;
        while lo <= self.top {
            let hi = (lo + lo / 100).clamp(lo + 1, self.top + 1);
            // ceil(k / 2) averages k / 2 + 1/4 over a bin of odd and even degrees.
            let s = (lo + hi - 1) as f64 / 4.0 + 0.25;
            let p = self.mass(lo, hi);
            m1 += p * s;
            m2 += p * s * s;
            lo = hi;
        }
        (m1, (m2 - m1 * m1).max(0.0))
    }
}

/// The contacts a subscriber of `degree` draws itself: half its degree, rounded up (the rest
/// of its contacts are those that draw it).
pub fn contacts_drawn(degree: usize) -> usize {
    degree.div_ceil(2)
}

/// The share of planned calls that are answered: not busy (`busy`), then answered (`answer`).
pub fn answered_share(busy: f64, answer: f64) -> f64 {
    (1.0 - busy) * answer
}

/// What the planner is expected to plan for a scenario's traffic ([`expect`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expected {
    /// Contact pairs, as drawn, at most every pair of subscribers (an upper bound: see the
    /// module docs).
    pub pairs: f64,
    /// Variance of the number of pairs drawn (subscribers' draws are independent).
    pub pairs_variance: f64,
    /// Conversations each pair starts: `messages_per_contact_per_day` × days, weighted by the
    /// `diurnal` weights of the hours the traffic covers.
    pub conversations_per_pair: f64,
    /// Messages per conversation: the first, and each reply with its probability and the chance
    /// that it still falls within the traffic.
    pub messages_per_conversation: f64,
    /// The mean of the square of the messages per conversation.
    pub messages_per_conversation_squared: f64,
    /// Calls each pair makes: `calls_per_contact_per_day` × days.
    pub calls_per_pair: f64,
}

impl Expected {
    /// Messages, replies included.
    pub fn messages(&self) -> f64 {
        self.pairs * self.conversations_per_pair * self.messages_per_conversation
    }

    /// The standard deviation of the number of messages over seeds: conversations are a
    /// compound Poisson sum given the pairs (variance pairs × conversations × E[L²]), plus the
    /// spread of the pairs themselves (times the messages per pair, squared).
    pub fn messages_sd(&self) -> f64 {
        let per_pair = self.conversations_per_pair * self.messages_per_conversation;
        (self.pairs * self.conversations_per_pair * self.messages_per_conversation_squared
            + per_pair * per_pair * self.pairs_variance)
            .sqrt()
    }

    /// Calls planned (before busy lines turn some away).
    pub fn calls(&self) -> f64 {
        self.pairs * self.calls_per_pair
    }
}

/// What the planner is expected to plan for `traffic` among `subscribers` subscribers over
/// `duration`: the expectation of the planner's own draws (see the module docs).
pub fn expect(traffic: &Traffic, subscribers: u64, duration: Duration) -> Expected {
    let n = usize::try_from(subscribers).unwrap_or(usize::MAX);
    let degrees = DegreeDistribution::new(traffic.mean_degree, traffic.degree_exponent, n);
    let (drawn, drawn_variance) = degrees.drawn_moments();
    let secs = duration.as_secs_f64();
    let days = secs / 86_400.0;
    let (l1, l2) = conversation_moments(
        traffic.reply_probability,
        traffic.reply_delay.as_secs_f64(),
        secs,
    );
    // At most every pair of subscribers: the draws of a graph this dense mostly meet.
    let possible = subscribers as f64 * subscribers.saturating_sub(1) as f64 / 2.0;
    Expected {
        pairs: (subscribers as f64 * drawn).min(possible),
        pairs_variance: subscribers as f64 * drawn_variance,
        conversations_per_pair: traffic.messages_per_contact_per_day
            * diurnal_days(&traffic.diurnal, secs),
        messages_per_conversation: l1,
        messages_per_conversation_squared: l2,
        calls_per_pair: traffic.calls_per_contact_per_day * days,
    }
}

/// Days of traffic in `secs`, each hour weighted by its `diurnal` weight (flat when empty), as
/// the planner thins conversation starts: ∫ w(hour of t) dt / 1 day.
fn diurnal_days(diurnal: &[f64], secs: f64) -> f64 {
    if diurnal.is_empty() {
        return secs / 86_400.0;
    }
    let hours = diurnal.len() as f64;
    let day = 3600.0 * hours;
    let full = (secs / day).floor();
    let mut weighted = full * diurnal.iter().sum::<f64>() * 3600.0;
    let mut rest = secs - full * day;
    for &w in diurnal {
        if rest <= 0.0 {
            break;
        }
        weighted += w * rest.min(3600.0);
        rest -= 3600.0;
    }
    weighted / 86_400.0
}

/// E[L] and E[L²] of the messages L of one conversation: P(L ≥ j) = p^(j−1) × the chance that
/// j − 1 replies still fall before the end, for a start uniform over the traffic:
/// 1 − (j − 1) × gap / duration, where a gap is E[max(Exp(delay), 1 s)] = 1 + delay·e^(−1/delay).
fn conversation_moments(p: f64, delay: f64, secs: f64) -> (f64, f64) {
    let gap = if delay > 0.0 {
        MIN_REPLY_GAP_SECS + delay * (-MIN_REPLY_GAP_SECS / delay).exp()
    } else {
        MIN_REPLY_GAP_SECS
    };
    let (mut l1, mut l2) = (0.0, 0.0);
    for j in 1..=MAX_CONVERSATION_MESSAGES {
        let replies = (j - 1) as f64;
        let within = (1.0 - replies * gap / secs.max(1e-9)).max(0.0);
        let at_least = p.powf(replies) * within;
        l1 += at_least;
        l2 += (2.0 * j as f64 - 1.0) * at_least;
    }
    (l1, l2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_are_clamped_and_their_masses_sum_to_one() {
        let d = DegreeDistribution::new(6.0, 2.5, 2000);
        assert_eq!(d.degree(1.0), 2);
        assert_eq!(d.degree(1e-30), 1999);
        for n in [2, 20, 2000, 100_000] {
            let d = DegreeDistribution::new(3.0, 2.5, n);
            let mut total = 0.0;
            let mut lo = 1;
            while lo < n {
                let hi = (lo + 1 + lo / 100).min(n);
                total += d.mass(lo, hi);
                lo = hi;
            }
            assert!((total - 1.0).abs() < 1e-9, "{n}: {total}");
        }
    }

    #[test]
    fn drawn_moments_match_the_draws() {
        // The mean of contacts_drawn over an even grid of u (the inverse transform) agrees with
        // the summed masses.
        for (mean, a, n) in [
            (6.0, 2.5, 2000),
            (3.0, 2.5, 20),
            (4.0, 3.0, 28),
            (3.0, 2.5, 20_000),
        ] {
            let d = DegreeDistribution::new(mean, a, n);
            let grid = 2_000_000;
            let by_draws = (0..grid)
                .map(|i| contacts_drawn(d.degree((i as f64 + 0.5) / grid as f64)) as f64)
                .sum::<f64>()
                / grid as f64;
            let (m, _) = d.drawn_moments();
            assert!(
                (m - by_draws).abs() < 0.01 * m,
                "{mean} {a} {n}: {m} vs {by_draws}"
            );
        }
    }

    #[test]
    fn two_subscribers_make_one_pair() {
        // Each draws the other: two draws, one pair.
        let traffic = crate::parse("t.toml", crate::builtin("small-lab").expect("built in"))
            .expect("parses")
            .traffic;
        let e = expect(&traffic, 2, Duration::from_secs(3600));
        assert_eq!(e.pairs, 1.0);
        assert_eq!(
            DegreeDistribution::new(3.0, 2.5, 2).drawn_moments(),
            (1.0, 0.0)
        );
    }

    #[test]
    fn a_conversation_holds_at_most_five_messages() {
        // A day with short delays: 1 + p + p² + p³ + p⁴.
        let (l1, _) = conversation_moments(0.6, 0.0, 86_400.0);
        assert!((l1 - 2.3056).abs() < 1e-3, "{l1}");
        let (l1, l2) = conversation_moments(1.0, 0.0, 86_400.0);
        assert!(
            (l1 - 5.0).abs() < 1e-3 && (l2 - 25.0).abs() < 1e-2,
            "{l1} {l2}"
        );
        // Replies that would fall after the end are not sent.
        let (l1, _) = conversation_moments(1.0, 10.0, 20.0);
        assert!(l1 < 2.0, "{l1}");
    }

    #[test]
    fn diurnal_weights_of_mean_one_keep_whole_days() {
        let w: Vec<f64> = (0..24).map(|h| if h < 12 { 0.5 } else { 1.5 }).collect();
        assert!((diurnal_days(&w, 2.0 * 86_400.0) - 2.0).abs() < 1e-12);
        assert!((diurnal_days(&w, 3600.0) - 0.5 / 24.0).abs() < 1e-12);
        assert!((diurnal_days(&[], 3600.0) - 1.0 / 24.0).abs() < 1e-12);
    }
}
