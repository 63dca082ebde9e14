//! The scorer and the report.
//!
//! This is the only crate that sees both sides: the adversary's [`adversary::Findings`] (what
//! it claims to have read, as plaintext it produced) and the run's [`carrier::GroundTruth`]
//! (what was really sent). A message counts as read only when the adversary produced its exact
//! text. The report says, per protocol, how many messages there were, how many arrived, and how
//! many the adversary read; what else it learned (warrant targets, contacts); and why the rest
//! stayed unreadable.
//!
//! Output: [`Report`] serializes to the JSON documented in `docs/report-schema.md`;
//! [`render_terminal`] writes the human summary.
#![warn(missing_docs)]

mod attacks;
pub mod costs;
pub mod export;
pub mod html;
pub mod metadata;
mod protocols;
pub mod ratchet;
mod rows;
mod score;
pub mod server;
pub mod svg;
mod terminal;
mod theft;

pub use attacks::AttackScore;
pub use costs::CostScore;
pub use metadata::MetadataScore;
pub use score::{
    score, verdicts, AdversarySummary, ContactScore, Example, NetworkSummary, ProtocolScore,
    Report, RowKey, UnreadableReason, Verdict, WarrantScore,
};
pub use terminal::render_terminal;
pub use theft::{SignalTheftScore, TheftScore};
