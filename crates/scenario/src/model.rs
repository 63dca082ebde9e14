//! The validated scenario: what the simulator, the adversary and the report consume.
//!
//! Every value here has passed the checks in `docs/scenario.md`; consumers need not re-check
//! ranges, names or references. Order is always the file's order (vectors, never hash maps), so a
//! scenario echoed into a report reads like its file.

use serde::Serialize;
use simcore::Duration;

use crate::units::serialize_duration;

/// Kinds shared with the capture types (one definition each): what a warrant authorises, where
/// a vantage point sits, and what an on-path component does.
pub use capture::active::DropHow;
pub use capture::{OnPathMode, VantageKind, WarrantKind};

/// A whole scenario: network, apps, carriers, traffic and adversary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Short identifier, `[a-z0-9-]+`.
    pub name: String,
    /// One-paragraph description for people.
    pub description: String,
    /// Default seed; the CLI may override it.
    pub seed: u64,
    /// Simulated time during which traffic is generated (the run then drains).
    #[serde(serialize_with = "serialize_duration")]
    pub duration: Duration,
    /// Which handshake message, if any, carries an end-to-end session's first text
    /// (`early_data`).
    pub early_data: EarlyData,
    /// The four kinds of links.
    pub links: Links,
    /// Scheduled partitions (`[[faults.partition]]`); left out of the echo when there are none.
    #[serde(skip_serializing_if = "crate::faults::Faults::is_empty")]
    pub faults: crate::faults::Faults,
    /// Messaging apps, in file order; names are unique.
    pub apps: Vec<App>,
    /// Carriers, in file order; names are unique.
    pub carriers: Vec<Carrier>,
    /// How subscribers talk to each other.
    pub traffic: Traffic,
    /// Where subscribers are over the day.
    pub mobility: Mobility,
    /// Where the adversary sits.
    pub adversary: Adversary,
}

impl Scenario {
    /// The app called `name`, if any.
    pub fn app(&self, name: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.name == name)
    }

    /// The carrier called `name`, if any.
    pub fn carrier(&self, name: &str) -> Option<&Carrier> {
        self.carriers.iter().find(|c| c.name == name)
    }

    /// Subscribers across all carriers.
    pub fn total_subscribers(&self) -> u64 {
        self.carriers.iter().map(|c| u64::from(c.subscribers)).sum()
    }

    /// The protocol label of the app called `app` for reports: `"sms"`, `"carrier-encrypted"` or
    /// `"noise:XX"` (see [`AppKind::label`]); `"unknown"` if there is no such app.
    pub fn protocol_label(&self, app: &str) -> String {
        self.app(app)
            .map_or_else(|| "unknown".to_owned(), |a| a.kind.label())
    }
}

/// The link profile of each part of the network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Links {
    /// Handset to cell.
    pub radio: LinkSpec,
    /// Inside a carrier (cells, gateway, core router, SMS centre, LI chain, record store).
    pub core: LinkSpec,
    /// Between carriers.
    pub interconnect: LinkSpec,
    /// Between a carrier's internet edge and the OTT messaging server.
    pub internet: LinkSpec,
}

/// How one kind of link delays, limits and damages packets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkSpec {
    /// Fixed one-way propagation delay.
    #[serde(serialize_with = "serialize_duration")]
    pub latency: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per packet.
    #[serde(serialize_with = "serialize_duration")]
    pub jitter: Duration,
    /// Serialization rate in bits per second; `None` is unlimited.
    pub bandwidth_bps: Option<u64>,
    /// Probability a packet is dropped, in `[0, 1)`.
    pub loss: f64,
    /// Probability a packet is delivered twice, in `[0, 1]`.
    pub duplicate: f64,
    /// Probability a packet is held back by `reorder_delay`, in `[0, 1]`.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    #[serde(serialize_with = "serialize_duration")]
    pub reorder_delay: Duration,
    /// Probability a frame is damaged on the link, in `[0, 1)`: the next hop's frame check
    /// drops it (it costs time, like loss).
    pub corrupt: f64,
    /// Probability a packet has one bit flipped that the frame check misses, in `[0, 1)`: the
    /// end-to-end checksum and the AEAD must catch it. `0` unless asked for.
    pub undetected_corrupt: f64,
    /// Bytes a link queues before tail-dropping; `None` is unlimited.
    pub queue_limit_bytes: Option<usize>,
}

/// A messaging app that subscribers use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct App {
    /// Unique name, `[a-z0-9-]+`, used in `[carrier.population]`.
    pub name: String,
    /// Protocol and its options (serialized inline: `kind`, then the Noise options).
    #[serde(flatten)]
    pub kind: AppKind,
    /// Noise apps: how the app's voice calls carry media; other apps: [`VoiceMode::Off`]
    /// (their users call over carrier voice).
    pub voice: VoiceMode,
    /// Padding, receipts, cover traffic and mixing (`docs/countermeasures.md`); all off for
    /// SMS and carrier-encrypted apps.
    pub countermeasures: crate::countermeasures::Countermeasures,
}

/// How an end-to-end app's voice calls carry their (encrypted) media.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VoiceMode {
    /// Through the OTT server, which relays media packets between the parties.
    Relay,
    /// Directly between the two handsets' addresses (after signalling through the server).
    P2p,
    /// The app has no calls: its users call each other over carrier voice.
    Off,
}

/// What protects an app's messages.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum AppKind {
    /// Plain SMS through the carrier's SMS centre: readable by the carrier.
    Sms,
    /// Encrypted between handset and carrier, decrypted in the carrier's core (RCS-like).
    CarrierEncrypted,
    /// End-to-end Noise sessions relayed by an over-the-top server.
    Noise {
        /// Full Noise protocol name, e.g. `Noise_XX_25519_ChaChaPoly_BLAKE2s`.
        protocol: String,
        /// The handshake-pattern part of `protocol`, with modifiers, e.g. `XX` or `XXpsk3`.
        pattern: String,
        /// The client to OTT-server hop is wrapped in a Noise NK tunnel (like TLS).
        server_tunnel: bool,
        /// Received static keys are checked against the key directory.
        pin_keys: bool,
    },
    /// Signal-style messaging (`crates/signal`): X3DH/PQXDH and the Double Ratchet between
    /// handsets, envelopes stored and forwarded by the OTT server (`docs/signal.md`).
    Signal(SignalOptions),
}

/// The options of a `kind = "signal"` app (`docs/scenario.md`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalOptions {
    /// Envelopes hide the sender's address (sealed sender).
    pub sealed_sender: bool,
    /// Recipients send a delivery receipt for every message.
    pub receipts: bool,
    /// Double Ratchet headers are encrypted.
    pub header_encryption: bool,
    /// PQXDH (ML-KEM-1024 prekeys) instead of X3DH.
    pub post_quantum: bool,
    /// One-time prekeys each device uploads (and tops up to); 0: sessions without one.
    pub one_time_prekeys: u32,
    /// The client to OTT-server hop is wrapped in a Noise NK tunnel (like TLS).
    pub server_tunnel: bool,
    /// Share of the app's subscribers that are periodically offline (chosen with the seed).
    pub offline_share: f64,
    /// Length of each offline (and each online) interval of those subscribers.
    #[serde(serialize_with = "serialize_duration")]
    pub offline_period: Duration,
}

impl AppKind {
    /// The app's protocol as a typed id.
    pub fn protocol_id(&self) -> capture::ProtocolId {
        match self {
            AppKind::Sms => capture::ProtocolId::Sms,
            AppKind::CarrierEncrypted => capture::ProtocolId::CarrierEncrypted,
            AppKind::Noise { pattern, .. } => capture::ProtocolId::Noise {
                pattern: pattern.as_str().into(),
            },
            AppKind::Signal(o) => capture::ProtocolId::Signal {
                post_quantum: o.post_quantum,
            },
        }
    }

    /// `"sms"`, `"carrier-encrypted"`, `"noise:<pattern>"`, `"signal"` (X3DH) or
    /// `"signal+pq"` (PQXDH): the label of [`AppKind::protocol_id`].
    pub fn label(&self) -> String {
        self.protocol_id().label()
    }
}

/// One carrier network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Carrier {
    /// Unique name, `[a-z0-9-]+`.
    pub name: String,
    /// Number of subscribers, at least 2.
    pub subscribers: u32,
    /// Number of radio cells, at least 1.
    pub cells: u32,
    /// Mobile country code: 3 digits.
    pub mcc: String,
    /// Mobile network code: 2 or 3 digits.
    pub mnc: String,
    /// Digits (without the `+`) that start every MSISDN of this carrier; no carrier's prefix is
    /// a prefix of another's.
    pub msisdn_prefix: String,
    /// Share of subscribers per app name, in file order; shares sum to 1.
    pub population: Vec<(String, f64)>,
    /// The carrier's lawful-intercept warrant list.
    pub warrants: Warrants,
}

/// How a carrier's warrant list is made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warrants {
    /// Targets drawn with the seed, distinct from each other and from the explicit ones.
    pub count: u32,
    /// Share of drawn warrants that are IRI+content (the rest are IRI-only).
    pub content_share: f64,
    /// Warrants on named subscribers, in file order; subscribers are distinct.
    pub explicit: Vec<ExplicitWarrant>,
}

/// A warrant on a named subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExplicitWarrant {
    /// Subscriber index within the carrier, `0..subscribers`.
    pub subscriber: u32,
    /// What the warrant authorises.
    pub kind: WarrantKind,
    /// The requesting agency, if given.
    pub agency: Option<String>,
}

/// The social graph and message generation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Traffic {
    /// Mean contacts per subscriber, > 0.
    pub mean_degree: f64,
    /// Power-law tail exponent of the degree distribution, > 2.
    pub degree_exponent: f64,
    /// Probability a contact is on another carrier (ignored with one carrier).
    pub cross_carrier: f64,
    /// Conversations each contact pair starts per simulated day (either side starts one, at
    /// random; replies come on top, `reply_probability`), >= 0.
    pub messages_per_contact_per_day: f64,
    /// Probability a received message is answered.
    pub reply_probability: f64,
    /// Mean of the exponential delay before a reply.
    #[serde(serialize_with = "serialize_duration")]
    pub reply_delay: Duration,
    /// Message length bounds in characters.
    pub message_length: MessageLength,
    /// Voice calls each contact pair makes per simulated day (either side calls, at random),
    /// >= 0 (0: no calls).
    pub calls_per_contact_per_day: f64,
    /// Mean call duration from answer to hang-up (exponential, clamped to
    /// `[1 s, 10 × mean]`), > 0.
    #[serde(serialize_with = "serialize_duration")]
    pub call_duration: Duration,
    /// Probability the callee answers a call (if not busy).
    pub answer_probability: f64,
    /// Probability the callee rejects a call as busy.
    pub busy_probability: f64,
    /// Probability an answered call ends by radio loss instead of a hang-up.
    pub call_drop_probability: f64,
    /// Time between media packets in each direction (one codec frame per packet), > 0.
    #[serde(serialize_with = "serialize_duration")]
    pub media_interval: Duration,
    /// Codec payload bytes per media packet, `16..=1200`.
    pub media_payload: u32,
    /// Subscribers per community of the planted-partition contact graph (0: no communities).
    pub community_size: u32,
    /// Probability a contact is drawn outside the subscriber's community.
    pub community_mixing: f64,
    /// Relative message rate per hour of day, 24 values of mean 1; empty: flat.
    pub diurnal: Vec<f64>,
}

/// How subscribers move between cells (`[mobility]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mobility {
    /// Whether subscribers move at all; when `false` everyone stays in their home cell.
    pub enabled: bool,
    /// Share of subscribers who spend the day in a work cell other than their home cell.
    pub work_share: f64,
    /// Mean time of day (from midnight) a worker leaves home.
    #[serde(serialize_with = "serialize_duration")]
    pub day_start: Duration,
    /// Mean time of day a worker leaves work; after `day_start`, below 24 h.
    #[serde(serialize_with = "serialize_duration")]
    pub day_end: Duration,
    /// Each subscriber's departure times are shifted by a uniform draw in `[-jitter, jitter]`.
    #[serde(serialize_with = "serialize_duration")]
    pub jitter: Duration,
    /// Travel time between home and work.
    #[serde(serialize_with = "serialize_duration")]
    pub commute: Duration,
    /// Cells passed through on the way, each for an equal share of `commute`.
    pub commute_cells: u32,
}

/// Message length in characters: inclusive bounds `16 <= min <= max <= 1000` and a
/// distribution inside them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MessageLength {
    /// Shortest message.
    pub min: u32,
    /// Longest message.
    pub max: u32,
    /// How lengths are drawn.
    pub distribution: LengthDistribution,
    /// `lognormal`: median length, characters.
    pub median: f64,
    /// `lognormal`: standard deviation of ln(length).
    pub sigma: f64,
}

/// How message lengths are drawn (`docs/traffic.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LengthDistribution {
    /// Log-normal of `median` and `sigma`, redrawn until inside `[min, max]`.
    Lognormal,
    /// The text generator's own sentence lengths, cut to `[min, max]` (the old behaviour).
    Natural,
}

/// The adversary: where it sits and what it holds beyond its taps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Adversary {
    /// Name for reports.
    pub name: String,
    /// Where it sits, at least one, distinct, in file order.
    pub vantage: Vec<Vantage>,
    /// It has a quantum computer: X25519 shared secrets from public keys alone (never ML-KEM).
    pub quantum: bool,
    /// Width in bytes of the length buckets its size analysis reports (`size_bucket`, 20 by
    /// default): an analysis parameter, swept to measure leakage against bucket width.
    pub size_bucket: u32,
    /// Secrets it steals, in file order.
    pub theft: Vec<Theft>,
    /// Devices whose random number generators it can predict, in file order.
    pub weak_rng: Vec<WeakRngSpec>,
    /// Its active components on the path of traffic, in file order.
    pub onpath: Vec<OnPath>,
}

/// One theft of secrets (`[[adversary.theft]]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Theft {
    /// Simulated time from the start; may be after [`Scenario::duration`] (harvest now,
    /// decrypt later), except for [`SecretKind::SessionState`], which is at most the duration.
    #[serde(serialize_with = "serialize_duration")]
    pub at: Duration,
    /// What is stolen.
    pub secret: SecretKind,
    /// From whom.
    pub who: Who,
    /// [`Who::Subscribers`]: the subscribers of this app (a noise app; a psk app for
    /// [`SecretKind::Psk`]). `None` otherwise.
    pub app: Option<String>,
    /// [`Who::Subscribers`]: only this carrier's subscribers, if given; [`Who::CarrierGateway`]:
    /// this carrier's gateway (always given). `None` for [`Who::OttServer`].
    pub carrier: Option<String>,
    /// Fraction of the matching subscribers, chosen with the seed; 1 for the other kinds.
    pub share: f64,
}

/// A kind of secret to steal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    /// The long-term X25519 static private key.
    Static,
    /// The pre-shared keys the device holds (psk apps).
    Psk,
    /// The transport keys of the live end-to-end sessions at the theft time.
    SessionState,
    /// Signal apps: everything the device holds at the theft time (identity key, prekeys,
    /// every session's ratchet state and skipped message keys).
    DeviceState,
}

impl SecretKind {
    /// The name used in scenario files: `static`, `psk`, `session-state`, `device-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Static => "static",
            SecretKind::Psk => "psk",
            SecretKind::SessionState => "session-state",
            SecretKind::DeviceState => "device-state",
        }
    }
}

/// Whose secrets are stolen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// Subscribers' handsets (of one app, optionally of one carrier).
    Subscribers,
    /// The over-the-top messaging server (its tunnel static key).
    OttServer,
    /// A carrier's packet gateway (its carrier-encrypted tunnel static key).
    CarrierGateway,
}

impl Who {
    /// The name used in scenario files: `subscribers`, `ott-server`, `carrier-gateway`.
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Subscribers => "subscribers",
            Who::OttServer => "ott-server",
            Who::CarrierGateway => "carrier-gateway",
        }
    }
}

/// Subscribers with predictable randomness (`[[adversary.weak_rng]]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeakRngSpec {
    /// The noise app whose subscribers are affected.
    pub app: String,
    /// Fraction of that app's subscribers, chosen with the seed.
    pub share: f64,
    /// Bits of entropy in each Noise session seed, `1..=16`.
    pub entropy_bits: u8,
}

/// `early_data`: which of the initiator's Noise handshake messages carries the session's first
/// text instead of a transport message after the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EarlyData {
    /// `false`: none (the text waits for the handshake to finish).
    #[default]
    Off,
    /// `true` or `"first"`: handshake message 1.
    First,
    /// `"last"`: the initiator's last handshake message (message 3 of `XX`, `XK`, `IX1`...;
    /// message 1 of two-message and one-way patterns).
    Last,
}

impl EarlyData {
    /// Whether any handshake message carries the first text.
    pub fn is_on(self) -> bool {
        self != EarlyData::Off
    }
}

/// An active component of the adversary at a carrier's core (`[[adversary.onpath]]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OnPath {
    /// The carrier at whose core node it sits.
    pub carrier: String,
    /// What it does.
    pub mode: OnPathMode,
    /// It targets the flows of this app's subscribers.
    pub app: String,
    /// Fraction of sessions targeted, chosen with the seed.
    pub share: f64,
    /// Active from this simulated time.
    #[serde(serialize_with = "serialize_duration")]
    pub from: Duration,
    /// [`OnPathMode::Mitm`]: present the adversary's own static where a static is sent (`false`:
    /// the impersonated party's directory key). Always `true` for other modes.
    pub own_static: bool,
    /// [`OnPathMode::Drop`]: drop every `drop_every`-th envelope of a session (1 for the other
    /// modes).
    pub drop_every: u32,
    /// [`OnPathMode::Drop`]: how a chosen frame is dropped ([`DropHow::Delete`] for the other
    /// modes).
    pub drop_how: DropHow,
}

/// One compromised system.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vantage {
    /// Which system.
    pub kind: VantageKind,
    /// Name of a carrier in [`Scenario::carriers`] (empty for `ott-server`, which belongs to
    /// no carrier).
    pub carrier: String,
    /// `edge-router` only: the share of the carrier's subscribers whose customer router the
    /// adversary holds, chosen with the seed; 1 for the other kinds.
    pub share: f64,
}
