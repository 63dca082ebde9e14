//! Location traces' score ([`LocationScore`]): a (subscriber, hour) is recovered when the
//! trace has a point in that hour naming the subscriber's true cell at that point's time; home
//! (22:00–06:00) and work (09:00–17:00) cells against the true most frequent cells in those
//! hours. With its line of the terminal section.

use std::collections::BTreeMap;

use adversary::metadata::MetadataFindings;
use serde::Serialize;
use simcore::Timestamp;

use super::{ratio, Prf, Resolver, Truth};

/// Location traces' score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LocationScore {
    /// Subscribers with a trace.
    pub subscribers_traced: usize,
    /// Subscribers × hours of the run.
    pub subscriber_hours: usize,
    /// Of those, recovered (a point in the hour naming the true cell).
    pub recovered: usize,
    /// recovered / subscriber_hours.
    pub fraction: f64,
    /// (subscriber, hour) with a point, and of those with the true cell.
    pub hours_with_points: usize,
    /// Accuracy of the points: recovered / hours_with_points.
    pub accuracy: f64,
    /// Home cells inferred, and correct.
    pub home: Prf,
    /// Work cells inferred, and correct.
    pub work: Prf,
}

fn hour(t: Timestamp) -> u64 {
    t.as_nanos() / adversary::metadata::HOUR_NS
}

fn mode(v: &mut [u32]) -> Option<u32> {
    v.sort_unstable();
    let mut best: Option<(usize, u32)> = None;
    for chunk in v.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(n, _)| chunk.len() > n) {
            best = Some((chunk.len(), chunk[0]));
        }
    }
    best.map(|(_, c)| c)
}

pub(super) fn locations(t: &Truth, r: &Resolver, m: &MetadataFindings) -> LocationScore {
    let mut recovered = 0;
    let mut with_points = 0;
    let (mut home_claimed, mut home_ok, mut work_claimed, mut work_ok) = (0, 0, 0, 0);
    for tr in &m.locations {
        let Some(s) = r.get(&tr.msisdn) else { continue };
        // Per hour: the last point in it.
        let mut last: BTreeMap<u64, (Timestamp, u32)> = BTreeMap::new();
        for p in &tr.points {
            last.insert(hour(p.time), (p.time, p.cell));
        }
        for (_, (time, cell)) in last.range(..t.hours) {
            with_points += 1;
            if t.cell_at(s, *time) == Some(*cell) {
                recovered += 1;
            }
        }
        // True home and work: the most frequent true cell over those hours' midpoints.
        let (mut night, mut day) = (Vec::new(), Vec::new());
        for h in 0..t.hours {
            let mid = Timestamp::from_nanos(
                h * adversary::metadata::HOUR_NS + adversary::metadata::HOUR_NS / 2,
            );
            if let Some(c) = t.cell_at(s, mid) {
                match h % 24 {
                    0..6 | 22..24 => night.push(c),
                    9..17 => day.push(c),
                    _ => {}
                }
            }
        }
        if let Some(c) = tr.home_cell {
            home_claimed += 1;
            home_ok += usize::from(mode(&mut night) == Some(c));
        }
        if let Some(c) = tr.work_cell {
            work_claimed += 1;
            work_ok += usize::from(mode(&mut day) == Some(c));
        }
    }
    let subscriber_hours = t.subscribers.len() * t.hours as usize;
    let n = t.subscribers.len();
    LocationScore {
        subscribers_traced: m.locations.len(),
        subscriber_hours,
        recovered,
        fraction: ratio(recovered, subscriber_hours, 0.0),
        hours_with_points: with_points,
        accuracy: ratio(recovered, with_points, 1.0),
        home: Prf::counts(n, home_claimed, home_ok),
        work: Prf::counts(n, work_claimed, work_ok),
    }
}

/// The location traces' line of the terminal section.
pub(super) fn render(o: &mut String, l: &LocationScore) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  locations: {} subscribers traced; {:.1}% of subscriber-hours recovered ({} hours with a \
         point, {:.1}% right); home cell {} right of {} inferred, work cell {} of {}",
        l.subscribers_traced,
        100.0 * l.fraction,
        l.hours_with_points,
        100.0 * l.accuracy,
        l.home.correct,
        l.home.reported,
        l.work.correct,
        l.work.reported
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::{truth, ts};
    use adversary::metadata::LocationTrace;

    #[test]
    fn locations_by_hand() {
        let m = MetadataFindings {
            locations: vec![LocationTrace {
                msisdn: "+10000000001".into(),
                // Hour 0 right (cell 2), hour 1 wrong (cell 2, truth 3), hour 2 beyond the run.
                points: vec![
                    adversary::metadata::records::TracePoint {
                        time: ts(100),
                        cell: 2,
                    },
                    adversary::metadata::records::TracePoint {
                        time: ts(4000),
                        cell: 2,
                    },
                    adversary::metadata::records::TracePoint {
                        time: ts(8000),
                        cell: 3,
                    },
                ],
                home_cell: Some(2),
                work_cell: None,
            }],
            ..MetadataFindings::default()
        };
        let s = score_truth(&truth(), &m);
        let l = &s.locations;
        assert_eq!(
            (l.subscriber_hours, l.hours_with_points, l.recovered),
            (8, 2, 1)
        );
        assert_eq!((l.fraction, l.accuracy), (0.125, 0.5));
        // Hours 0 and 1 are night hours: true cells 2 and 3, a tie broken by the lower cell.
        assert_eq!((l.home.reported, l.home.correct), (1, 1));
    }
}
