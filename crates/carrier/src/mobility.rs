//! Where each subscriber is over the day: a seeded home/work routine over the carrier's cells.
//!
//! Every subscriber has a home cell (the one drawn with its identity). With `[mobility]`
//! enabled, a share `work_share` of them also has a work cell (another cell, uniform), and every
//! day leaves home at `day_start` and work at `day_end` (each shifted per subscriber by a
//! uniform draw in `[-jitter, jitter]`, the same every day), passing `commute_cells` random
//! cells on the way, each for an equal share of `commute`. Everyone else stays home.
//!
//! The routine is the ground truth of location ([`crate::GroundTruth::locations`]) and what the
//! carrier's mobility management knows: call records, IRI and the charging function stamp the
//! serving cell from it. (The netsim radio link stays attached where it was built: cells are
//! routers that every subscriber's packets cross alike, so only the cell id, not the path, moves.)

use rand_core::RngCore;
use serde::Serialize;
use simcore::{Duration, SeedTree, Timestamp};

use crate::traffic::unit;

/// The cells one subscriber is in over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationTrace {
    /// The subscriber's index.
    pub subscriber: usize,
    /// `(from, cell)`: in `cell` from `from` until the next entry; the first entry is at 0.
    pub changes: Vec<(Timestamp, u32)>,
}

impl LocationTrace {
    /// The serving cell at `t`.
    pub fn cell_at(&self, t: Timestamp) -> u32 {
        let i = self.changes.partition_point(|(from, _)| *from <= t);
        self.changes
            .get(i.saturating_sub(1))
            .map_or(0, |&(_, cell)| cell)
    }
}

/// Every subscriber's trace, shared by the carrier functions that stamp locations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mobility {
    pub traces: Vec<LocationTrace>,
}

impl Mobility {
    /// Builds the traces of every subscriber until `horizon`: `home[i]` and `cells[i]` are
    /// subscriber `i`'s home cell and its carrier's cell count.
    pub(crate) fn build(
        spec: &scenario::Mobility,
        home: &[u32],
        cells: &[u32],
        horizon: Timestamp,
        seeds: &SeedTree,
    ) -> Self {
        let mut rng = seeds.stream("mobility");
        let day = Duration::from_secs(86_400);
        let traces = home
            .iter()
            .zip(cells)
            .enumerate()
            .map(|(i, (&home, &n))| {
                let mut changes = vec![(Timestamp::ZERO, home)];
                // Draws are made for everyone, so enabling one subscriber's routine does not
                // shift another's.
                let works = unit(&mut rng) < spec.work_share;
                let work = (home + 1 + rng.next_u32() % n.saturating_sub(1).max(1)) % n.max(1);
                let shift = |rng: &mut simcore::SimRng| {
                    let j = spec.jitter.as_nanos() as f64;
                    ((unit(rng) * 2.0 - 1.0) * j) as i64
                };
                let (s1, s2) = (shift(&mut rng), shift(&mut rng));
                let via: Vec<u32> = (0..spec.commute_cells)
                    .map(|_| rng.next_u32() % n.max(1))
                    .collect();
                if !spec.enabled || !works || n < 2 {
                    return LocationTrace {
                        subscriber: i,
                        changes,
                    };
                }
                let steps = via.len() as u64 + 1;
                let leg = spec.commute.as_nanos() as u64 / steps;
                let mut start = 0u64;
                while start < horizon.as_nanos() {
                    for (base, shift, from, to) in [
                        (spec.day_start, s1, home, work),
                        (spec.day_end, s2, work, home),
                    ] {
                        let _ = from;
                        let t0 = (start as i64 + base.as_nanos() as i64 + shift).max(1) as u64;
                        let path: Vec<u32> = if to == work {
                            via.clone()
                        } else {
                            via.iter().rev().copied().collect()
                        };
                        for (k, c) in path.iter().chain(std::iter::once(&to)).enumerate() {
                            let at = Timestamp::from_nanos(t0 + leg * k as u64);
                            if changes.last().is_some_and(|&(_, last)| last != *c) {
                                changes.push((at, *c));
                            }
                        }
                    }
                    start += day.as_nanos() as u64;
                }
                LocationTrace {
                    subscriber: i,
                    changes,
                }
            })
            .collect();
        Mobility { traces }
    }

    /// Subscriber `sub`'s serving cell at `t` (0 for an unknown subscriber).
    pub(crate) fn cell_at(&self, sub: usize, t: Timestamp) -> u32 {
        self.traces.get(sub).map_or(0, |tr| tr.cell_at(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(enabled: bool) -> scenario::Mobility {
        scenario::Mobility {
            enabled,
            work_share: 1.0,
            day_start: Duration::from_secs(8 * 3600),
            day_end: Duration::from_secs(17 * 3600),
            jitter: Duration::from_secs(1800),
            commute: Duration::from_secs(2400),
            commute_cells: 2,
        }
    }

    #[test]
    fn workers_go_to_work_by_day_and_home_at_night() {
        let horizon = Timestamp::from_secs(2 * 86_400);
        let m = Mobility::build(&spec(true), &[3; 50], &[10; 50], horizon, &SeedTree::new(4));
        for tr in &m.traces {
            assert_eq!(tr.cell_at(Timestamp::ZERO), 3);
            assert_eq!(tr.cell_at(Timestamp::from_secs(3 * 3600)), 3, "home at 3am");
            let noon = tr.cell_at(Timestamp::from_secs(12 * 3600));
            assert_ne!(noon, 3, "at work at noon");
            assert_eq!(tr.cell_at(Timestamp::from_secs(86_400 + 12 * 3600)), noon);
            assert_eq!(
                tr.cell_at(Timestamp::from_secs(23 * 3600)),
                3,
                "home at 11pm"
            );
            assert!(tr
                .changes
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1));
        }
        let off = Mobility::build(&spec(false), &[3; 5], &[10; 5], horizon, &SeedTree::new(4));
        assert!(off
            .traces
            .iter()
            .all(|t| t.changes == [(Timestamp::ZERO, 3)]));
    }
}
