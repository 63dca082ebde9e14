//! How the adversary reads each end-to-end protocol with what it holds: the one trait a
//! protocol implements on the adversary's side, and the list that registers the readers.
//!
//! The passive stage ([`crate::passive`]) reads what every protocol leaves in the clear and files
//! everything it cannot open in the sealed table; then each reader here, in order, opens what
//! the declared capabilities (stolen keys and states, weak RNGs, a quantum computer, the key
//! directory) let it open, takes those messages out of the sealed table, and refiles what it
//! tried and could not open under what is still missing.

use capture::Capabilities;

use crate::findings::Findings;
use crate::observe::Observations;
use crate::sealed::Sealed;

/// A protocol's reader: what capabilities open in its captured transcripts.
pub(crate) trait Reader {
    /// Adds to `findings` what `caps` opens among the observations of this protocol, and
    /// updates `sealed`.
    fn read<'t>(
        &self,
        findings: &mut Findings,
        obs: &'t Observations<'_>,
        caps: &Capabilities,
        sealed: &mut Sealed<'t>,
    );
}

/// Noise sessions: stolen statics, PSKs and session states, weak RNGs, the quantum oracle, and
/// public values alone.
struct Noise;

impl Reader for Noise {
    fn read<'t>(
        &self,
        findings: &mut Findings,
        obs: &'t Observations<'_>,
        caps: &Capabilities,
        sealed: &mut Sealed<'t>,
    ) {
        crate::keys::analyze(findings, obs, caps, sealed);
    }
}

/// Signal-style sessions: stolen device states and identity keys, the quantum oracle.
struct Signal;

impl Reader for Signal {
    fn read<'t>(
        &self,
        findings: &mut Findings,
        obs: &'t Observations<'_>,
        caps: &Capabilities,
        sealed: &mut Sealed<'t>,
    ) {
        crate::signal_read::analyze(findings, obs, caps, sealed);
    }
}

/// Every reader, in the order they run (the registration of a protocol's reader is one line).
pub(crate) const READERS: &[&dyn Reader] = &[&Noise, &Signal];
