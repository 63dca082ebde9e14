//! Errors of the carrier model.

/// What went wrong while building or running a simulated world.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError {
    /// The network could not be built from the scenario (a bug in the topology builder or a
    /// scenario the validator should have refused).
    #[error("building the network: {0}")]
    Network(#[from] netsim::NetError),
    /// A protocol session could not be created from the scenario's settings.
    #[error("setting up a session: {0}")]
    Session(#[from] proto::ProtoError),
    /// The scenario asks for more than the model can address.
    #[error("scenario too large: {0}")]
    TooLarge(String),
    /// The scenario has `[[adversary.onpath]]` entries but the caller gave no way to build the
    /// adversary's on-path components (`capture::active::Unarmed`).
    #[error(
        "the scenario has [[adversary.onpath]] entries but the run was not given an on-path \
         component builder (run it through the pipeline, which passes onpath::Armory)"
    )]
    Unarmed,
    /// A live driver named a node the world does not have (`carrier::live`).
    #[error("no node {0} in this world")]
    NoSuchNode(u32),
    /// The run was asked to stop (`simcore::Watch::request_stop`, e.g. Ctrl-C) before it
    /// finished; it produced nothing.
    #[error("interrupted at simulated time {at}")]
    Interrupted {
        /// The simulated time reached.
        at: simcore::Timestamp,
    },
}
