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
//! The stages stay in their crates; this crate only wires them.

use adversary::{Adversary, Findings};
use carrier::RunOutput;
use report::Report;
use scenario::Scenario;

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The simulation failed (a scenario the model cannot build or set up).
    #[error("running the simulation: {0}")]
    Simulation(#[from] carrier::CarrierError),
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
    let output = carrier::run(sc, seed, &onpath::Armory)?;
    let findings = analyze(sc, &output);
    let report = report::score(sc, seed, &output, &findings);
    Ok(Run {
        output,
        findings,
        report,
    })
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
