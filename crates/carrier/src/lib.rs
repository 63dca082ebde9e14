//! The carrier model: who the subscribers are, how their networks are wired, what traffic they
//! send, and what every carrier system records.
//!
//! [`run`] turns a validated [`scenario::Scenario`] and a seed into a [`RunOutput`]: the
//! captures of the adversary's vantage points (the adversary's only input) and the
//! [`GroundTruth`] (what was really sent), kept apart so that only the scorer sees both.
//!
//! Inside, a [`netsim::Network`] carries real IPv4/UDP packets between nodes whose behaviour
//! lives here: subscribers running `proto` sessions, packet gateways terminating the
//! carrier-encrypted radio hop, SMS centres storing and forwarding, an OTT server relaying
//! end-to-end sessions, a point of interception duplicating warrant targets' traffic to a
//! mediation node, and a charging function writing call records.
#![warn(missing_docs)]

mod attack;
mod build;
mod capability;
mod collect;
pub mod countermeasures;
mod directory;
mod endpoint;
mod error;
mod gateway;
mod handset;
mod ids;
mod io;
mod li;
pub mod live;
mod mediation;
mod mobility;
mod nodes;
mod ott;
mod signal_app;
mod smsc;
mod text;
mod timer;
mod topology;
mod traffic;
mod truth;
mod voice;
mod world;

pub use countermeasures::{
    latencies, padded_len, padme, strip, AppCosts, Baseline, Costs, BLOCK, COVER_SESSION,
};
pub use error::CarrierError;
pub use ids::Subscriber;
pub use mobility::LocationTrace;
pub use truth::{AttackTruth, GroundTruth, SessionFailure, TruthChain, TruthMessage};
pub use voice::{clear_frame, TruthCall, FRAME_MARKER};
pub use world::{run, run_watched, RunOutput, RunStats, MAX_DRAIN};
