//! One way through a run: simulate → analyse → score.
//!
//! [`run`] is the only place the three stages are joined, and every caller (the CLI, sweeps,
//! tests and benches) goes through it, so none can leave a stage or a capability out:
//!
//! 1. `carrier::run` simulates the scenario, with the adversary's on-path components built by
//!    `onpath::Armory` (the simulator reaches them only through `capture::active`);
//! 2. `adversary::Adversary` analyses the captures with every capability the scenario declared
//!    (stolen secrets, weak RNGs, the quantum oracle, the key directory, its on-path log);
//! 3. `report::score` compares the findings with the ground truth.
//!
//! The stages stay in their crates; this crate only wires them. [`run_watched_beside`] also
//! hands the simulation's output to other work on a second thread while stages 2 and 3 read
//! it (the CLI writes the `--out` exports there).

use adversary::{Adversary, Findings};
use carrier::RunOutput;
use report::Report;
use scenario::Scenario;
use simcore::{Stage, Watch};

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The simulation failed (a scenario the model cannot build or set up). Never
    /// `CarrierError::Interrupted`: an interrupted simulation is [`PipelineError::Interrupted`].
    #[error("running the simulation: {0}")]
    Simulation(carrier::CarrierError),
    /// The run was asked to stop (`simcore::Watch::request_stop`, e.g. Ctrl-C) before it
    /// finished; it produced nothing.
    #[error("interrupted at simulated time {at}")]
    Interrupted {
        /// The simulated time reached.
        at: simcore::Timestamp,
    },
}

/// One representation of an interruption: the simulation's becomes the pipeline's.
impl From<carrier::CarrierError> for PipelineError {
    fn from(e: carrier::CarrierError) -> Self {
        match e {
            carrier::CarrierError::Interrupted { at } => PipelineError::Interrupted { at },
            other => PipelineError::Simulation(other),
        }
    }
}

impl PipelineError {
    /// Whether the run stopped because it was asked to, not because it failed.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, PipelineError::Interrupted { .. })
    }
}

/// Everything one run produced.
#[derive(Debug)]
pub struct Run {
    /// What the simulation produced: captures, capabilities, ground truth, records, counters.
    pub output: RunOutput,
    /// What the adversary recovered from the captures and capabilities alone.
    pub findings: Findings,
    /// The findings scored against the ground truth.
    pub report: Report,
}

/// Runs `sc` with `seed` through simulation, the adversary (with its declared capabilities and
/// on-path components) and the scorer.
///
/// # Errors
/// [`PipelineError::Simulation`] if the world cannot be built or a session cannot be set up.
pub fn run(sc: &Scenario, seed: u64) -> Result<Run, PipelineError> {
    run_watched(sc, seed, &Watch::new())
}

/// [`run`], publishing the simulation's progress to `watch` and stopping with an error that
/// [`PipelineError::is_interrupted`] soon after `watch` is asked to stop (between events, and
/// between the stages). What the run computes does not depend on the watch.
///
/// # Errors
/// As [`run`], and [`PipelineError::Interrupted`] when stopped.
pub fn run_watched(sc: &Scenario, seed: u64, watch: &Watch) -> Result<Run, PipelineError> {
    run_watched_beside(sc, seed, watch, |_| ()).map(|(run, ())| run)
}

/// [`run_watched`], with `beside` given the simulation's output on a second thread while the
/// adversary analyses it and the scorer scores it (the CLI writes the `--out` captures and
/// record exports there, on the machine's second core). `beside` reads only the output, as the
/// two stages do, so what they compute does not depend on it; it is joined before this
/// returns, also when the run is interrupted during the analysis (its result is then
/// dropped). It does not run when the simulation fails or is interrupted.
///
/// # Errors
/// As [`run_watched`].
pub fn run_watched_beside<T: Send>(
    sc: &Scenario,
    seed: u64,
    watch: &Watch,
    beside: impl FnOnce(&RunOutput) -> T + Send,
) -> Result<(Run, T), PipelineError> {
    let output = carrier::run_watched(sc, seed, &onpath::Armory, watch)?;
    let stopped = || {
        watch.stop_requested().then(|| PipelineError::Interrupted {
            at: watch.sim_time(),
        })
    };
    if let Some(e) = stopped() {
        return Err(e);
    }
    let (stages, other) = std::thread::scope(|s| {
        let other = s.spawn(|| beside(&output));
        let stages = (|| {
            watch.enter(Stage::Analysing);
            let findings = analyze(sc, &output);
            if let Some(e) = stopped() {
                return Err(e);
            }
            watch.enter(Stage::Scoring);
            let report = report::score(sc, seed, &output, &findings);
            Ok((findings, report))
        })();
        let other = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stages, other)
    });
    let (findings, report) = stages?;
    Ok((
        Run {
            output,
            findings,
            report,
        },
        other,
    ))
}

/// The adversary's and the scorer's stages on a run some other driver produced (the live
/// driver, `crates/live`): the same analysis and scoring as [`run`].
pub fn score_output(sc: &Scenario, seed: u64, output: RunOutput) -> Run {
    let findings = analyze(sc, &output);
    let report = report::score(sc, seed, &output, &findings);
    Run {
        output,
        findings,
        report,
    }
}

/// The adversary's stage alone: the captures of `output`, read with every capability the run
/// handed over.
pub fn analyze(sc: &Scenario, output: &RunOutput) -> Findings {
    Adversary::new(&sc.adversary.name)
        .with_capabilities(output.capabilities.clone())
        .with_metadata_config(adversary::metadata::MetadataConfig {
            size_bucket: sc.adversary.size_bucket,
            ..adversary::metadata::MetadataConfig::default()
        })
        .analyze(&output.captures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_beside_sees_the_output_the_stages_read_and_changes_nothing() {
        let text = scenario::builtin("small-lab").expect("built in");
        let sc = scenario::parse("sim/small-lab.toml", text).expect("parses");
        let alone = run(&sc, 3).expect("runs");
        let (beside, seen) = run_watched_beside(&sc, 3, &Watch::new(), |o: &RunOutput| {
            (o.stats.events, o.captures.vantages.len())
        })
        .expect("runs");
        assert_eq!(
            seen,
            (
                alone.output.stats.events,
                alone.output.captures.vantages.len()
            )
        );
        assert!(seen.0 > 0);
        assert_eq!(
            serde_json::to_string(&beside.report).expect("serializes"),
            serde_json::to_string(&alone.report).expect("serializes")
        );
    }

    #[test]
    fn an_interrupted_simulation_is_the_pipelines_interruption() {
        let text = scenario::builtin("small-lab").expect("built in");
        let sc = scenario::parse("sim/small-lab.toml", text).expect("parses");
        let watch = Watch::new();
        watch.request_stop();
        match run_watched(&sc, 1, &watch) {
            Err(PipelineError::Interrupted { .. }) => {}
            other => panic!("expected PipelineError::Interrupted, got {other:?}"),
        }
        let e = PipelineError::from(carrier::CarrierError::Unarmed);
        assert!(matches!(e, PipelineError::Simulation(_)) && !e.is_interrupted());
    }
}
