//! The Salt Typhoon adversary: what an intruder inside a carrier's lawful-intercept systems can
//! recover from what it captured.
//!
//! **Architecture invariant: the honest adversary.** Its only inputs are [`capture::Captures`]
//! (bytes, warrant lists and call records recorded at its vantage points) and its declared
//! capabilities. It never reads ground truth: this crate depends on `simcore`, `capture`,
//! `proto` (for the public wire formats and the ML-KEM primitive) and serde/thiserror/tracing only, never on `carrier`,
//! `netsim`, `scenario` or `report`, and CI checks that with `cargo tree -i`. A message counts as
//! recovered only when the adversary extracted its exact plaintext from captured bytes; it
//! outputs the strings, and a separate scorer compares them with the truth.
//!
//! # What the passive adversary does
//! [`Adversary::analyze`] dissects every captured packet once into an observation table
//! ([`observe`]; IPv4/UDP via [`capture::ip`], then `proto::wire`): frames on `FRAME_PORT` carry
//! application PDUs; at a mediation vantage, `LI_PORT` carries LI records whose CC payloads are
//! intercepted packets, dissected recursively, and whose IRI payloads are metadata. Roles (who is
//! a subscriber, who a server, which channel) are learned once over that table, and every
//! analysis below reads the table. Then:
//!
//! - **SMS PDUs** are plaintext: recovered, and their `from`/`to` make a contact pair.
//! - **Tunnel PDUs** (Noise_NK to a gateway or server) are unreadable. Their channel is decided
//!   from the captures alone: the far end is the responder of the earliest tunnel handshake seen
//!   between the pair (or else a known server); if that address relays clear OTT envelopes
//!   between accounts it is an OTT server ([`Channel::OttTunnel`]); if it exchanges clear SMS PDUs
//!   it is a carrier gateway ([`Channel::CarrierTunnel`]); otherwise [`Channel::Tunnel`].
//! - **OTT envelopes** in the clear give a contact pair. Handshake messages are walked token by
//!   token with the adversary's own pattern table ([`noise::patterns`]): a static key sent before
//!   any key is set is an identity exposure ([`StaticKeySighting`]), and a payload sent before any
//!   key is set is the plaintext, recovered. Everything else is unreadable with a reason naming
//!   the DHs it would need.
//! - **Warrant lists** become [`LearnedWarrant`]s; **call records** give contact pairs (SMS) and
//!   [`DataSessionObservation`]s (data).
//!
//! Metadata of unreadable traffic is kept as [`FlowObservation`]s, oriented (subscriber, server)
//! by the same evidence: the initiator of a tunnel handshake is the subscriber; else an address
//! known as a server (OTT relay or tunnel responder) is the server; else the lower address is
//! called the subscriber. A packet found inside a CC record is dated by the record's timestamp
//! (the time at the point of interception). Copies of one plaintext, or of one ciphertext, seen
//! several times or at several vantages count once. The output is deterministic: only ordered
//! maps and sets are used, and every list in [`Findings`] is sorted.
//!
//! # Code map
//! - [`findings`]: the output types.
//! - [`noise`]: protocol-name parsing, the pattern table, and what a handshake message reveals.
//! - [`observe`]: the observation table: captures dissected once, damaged packets counted, roles
//!   learned once.
//! - `passive`: reading the table (plaintexts, unreadable summaries, flows, contacts).
//! - [`metadata`]: what encryption did not hide — contact graph, location traces, warrant
//!   exposure, timing/size correlation, statistical disclosure, size fingerprinting.
//! - `keys`: captured end-to-end transcripts read with declared capabilities (stolen keys and
//!   session state, weak RNGs, a quantum computer) through [`engine`].
//!
//! - `active`: what the adversary's own on-path components read (their
//!   [`capture::ActiveRecord`] log) becomes recovered messages.
//! - [`ratchet`] and `signal_read`: Signal-style sessions read with stolen device state or keys.
//!
//! The on-path components themselves (man in the middle, tamper, replay, drop, inject, the Signal
//! takeover) are sans-IO machines in the `onpath` crate, on this side of the wall: they use this
//! crate's [`engine`], and the simulator drives them only through `capture::active`.
#![warn(missing_docs)]

mod active;
pub mod engine;
mod error;
pub mod findings;
mod keys;
pub mod metadata;
pub mod noise;
pub mod observe;
mod passive;
pub mod ratchet;
mod readers;
mod sealed;
pub mod signal_read;

pub use error::AdversaryError;
pub use findings::{
    Channel, DataSessionObservation, Findings, FlowObservation, LearnedWarrant, Recovered,
    SealedMessage, StaticKeySighting, TheftExposure, UnknownChannel, UnreadableSummary,
};
pub use keys::OTT_PROLOGUE;
pub use passive::{looks_like_msisdn, TUNNEL_REASON};

use capture::Captures;

/// The adversary: it reads captures, and whatever its declared capabilities let it decrypt.
#[derive(Clone, Debug)]
pub struct Adversary {
    name: String,
    capabilities: Option<capture::Capabilities>,
    metadata: metadata::MetadataConfig,
}

impl Adversary {
    /// A passive adversary called `name` (used to label its findings).
    pub fn new(name: &str) -> Self {
        Adversary {
            name: name.to_owned(),
            capabilities: None,
            metadata: metadata::MetadataConfig::default(),
        }
    }

    /// The same adversary holding `capabilities` (stolen secrets, weak-RNG devices, a quantum
    /// computer, the key directory): [`Adversary::analyze`] then also reads the end-to-end
    /// transcripts they open, and fills [`Findings::key_theft`].
    pub fn with_capabilities(mut self, capabilities: capture::Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// The same adversary running its metadata analyses with `config` (its own parameters,
    /// such as the size analysis' bucket width).
    pub fn with_metadata_config(mut self, config: metadata::MetadataConfig) -> Self {
        self.metadata = config;
        self
    }

    /// The adversary's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Analyses everything captured at the adversary's vantage points. Never panics on
    /// malformed bytes: they are counted in [`Findings::parse_errors`].
    pub fn analyze(&self, captures: &Captures) -> Findings {
        // Every packet is dissected once; every analysis reads the table.
        let obs = observe::Observations::decode(captures);
        let (mut findings, mut sealed) = passive::analyze(&self.name, &obs);
        // Without declared capabilities the engine still reads what public values alone open.
        let none = capture::Capabilities::default();
        let caps = self.capabilities.as_ref().unwrap_or(&none);
        for reader in readers::READERS {
            reader.read(&mut findings, &obs, caps, &mut sealed);
        }
        // What stayed sealed, with the reasons of the messages left unread after every reader.
        findings.unreadable = sealed.summaries();
        drop(sealed);
        active::merge(&mut findings, &obs, &caps.active);
        // The metadata analyses free the table as soon as they no longer read it.
        findings.metadata = metadata::analyze_consuming(obs, &findings, &self.metadata);
        findings
    }
}
