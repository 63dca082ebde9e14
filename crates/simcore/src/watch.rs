//! A [`Watch`] is shared between a long computation (a run, a sweep) and whoever watches it: the
//! computation publishes how far it has come (simulated time reached, events handled), and the
//! watcher may ask it to stop (the CLI's Ctrl-C handler does).
//!
//! Nothing flows the other way: what the computation produces never depends on the watch, only
//! whether it finishes. A run that is asked to stop returns an error at its next check and
//! writes nothing, so an interrupted run leaves no output rather than a wrong one.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use crate::Timestamp;

/// The stage a run is in, as published to a [`Watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Building the world: network, subscribers, keys, the traffic plan.
    Building,
    /// Simulating: see [`Watch::sim_time`] and [`Watch::events`].
    Simulating,
    /// The adversary is analysing its captures.
    Analysing,
    /// The findings are being scored against the ground truth.
    Scoring,
}

/// Progress published by a computation, and a request to stop it.
#[derive(Debug, Default)]
pub struct Watch {
    stop: AtomicBool,
    stage: AtomicU8,
    sim_ns: AtomicU64,
    events: AtomicU64,
}

impl Watch {
    /// A watch with no progress and no stop requested (usable in a `static`).
    pub const fn new() -> Watch {
        Watch {
            stop: AtomicBool::new(false),
            stage: AtomicU8::new(0),
            sim_ns: AtomicU64::new(0),
            events: AtomicU64::new(0),
        }
    }

    /// Asks the computation to stop at its next check.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Publishes the stage the run has reached.
    pub fn enter(&self, stage: Stage) {
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// The stage last published ([`Stage::Building`] before any).
    pub fn stage(&self) -> Stage {
        match self.stage.load(Ordering::Relaxed) {
            0 => Stage::Building,
            1 => Stage::Simulating,
            2 => Stage::Analysing,
            _ => Stage::Scoring,
        }
    }

    /// Publishes progress: simulated time reached and events handled so far (and the
    /// [`Stage::Simulating`] stage).
    pub fn publish(&self, now: Timestamp, events: u64) {
        self.enter(Stage::Simulating);
        self.sim_ns.store(now.as_nanos(), Ordering::Relaxed);
        self.events.store(events, Ordering::Relaxed);
    }

    /// The simulated time last published.
    pub fn sim_time(&self) -> Timestamp {
        Timestamp::from_nanos(self.sim_ns.load(Ordering::Relaxed))
    }

    /// The number of events last published.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_and_stops() {
        let w = Watch::new();
        assert!(!w.stop_requested());
        assert_eq!(w.stage(), Stage::Building);
        w.publish(Timestamp::from_millis(1500), 42);
        assert_eq!(w.sim_time(), Timestamp::from_millis(1500));
        assert_eq!(w.events(), 42);
        assert_eq!(w.stage(), Stage::Simulating);
        for stage in [
            Stage::Building,
            Stage::Simulating,
            Stage::Analysing,
            Stage::Scoring,
        ] {
            w.enter(stage);
            assert_eq!(w.stage(), stage);
        }
        w.request_stop();
        assert!(w.stop_requested());
    }
}
