//! The file as written: serde types mirroring the TOML, before cross-field validation.
//!
//! Every table denies unknown keys, so a typo is an error at the key. Values whose shape alone
//! decides validity (durations, rates, probabilities, names) are checked while deserializing, so
//! `toml` reports them at the value. Fields that a later check needs to point at are
//! [`Spanned`].

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use simcore::Duration;
use toml::Spanned;

use crate::error::HINT_MARKER;
use crate::units::{parse_duration, parse_rate, DURATION_EXPECTED, RATE_EXPECTED};

/// A custom serde error carrying a hint through `toml`.
fn hinted<E: de::Error>(message: impl fmt::Display, hint: impl fmt::Display) -> E {
    E::custom(format!("{message}{HINT_MARKER}{hint}"))
}

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub scenario: RawHeader,
    #[serde(default)]
    pub links: RawLinks,
    #[serde(default)]
    pub faults: crate::faults::RawFaults,
    #[serde(default)]
    pub app: Option<Spanned<Vec<RawApp>>>,
    #[serde(default)]
    pub carrier: Option<Spanned<Vec<RawCarrier>>>,
    #[serde(default)]
    pub traffic: RawTraffic,
    #[serde(default)]
    pub mobility: RawMobility,
    pub adversary: RawAdversary,
}

/// `[mobility]`; every key optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMobility {
    pub enabled: Option<bool>,
    pub work_share: Option<Prob>,
    pub day_start: Option<Spanned<Dur>>,
    pub day_end: Option<Spanned<Dur>>,
    pub jitter: Option<Dur>,
    pub commute: Option<Dur>,
    pub commute_cells: Option<Spanned<u32>>,
}

/// `[scenario]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeader {
    pub name: Name,
    pub description: String,
    #[serde(default)]
    pub seed: Option<u64>,
    pub duration: Spanned<Dur>,
    #[serde(default)]
    pub early_data: Option<Spanned<RawEarlyData>>,
}

/// `early_data`: `true`/`false`, or `"first"`/`"last"`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawEarlyData {
    Bool(bool),
    Named(String),
}

/// `[links]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLinks {
    pub radio: Option<RawLink>,
    pub core: Option<RawLink>,
    pub interconnect: Option<RawLink>,
    pub internet: Option<RawLink>,
}

/// One `[links.*]` table; every key optional (defaults depend on the link).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLink {
    pub latency: Option<Dur>,
    pub jitter: Option<Dur>,
    pub bandwidth: Option<Spanned<Rate>>,
    pub loss: Option<Spanned<Prob>>,
    pub duplicate: Option<Prob>,
    pub reorder: Option<Prob>,
    pub reorder_delay: Option<Dur>,
    pub corrupt: Option<Spanned<Prob>>,
    pub undetected_corrupt: Option<Spanned<Prob>>,
    pub queue_limit: Option<Spanned<u64>>,
}

/// One `[[app]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApp {
    pub name: Spanned<Name>,
    pub kind: Spanned<RawAppKind>,
    pub pattern: Option<Spanned<String>>,
    pub server_tunnel: Option<Spanned<bool>>,
    pub pin_keys: Option<Spanned<bool>>,
    pub sealed_sender: Option<Spanned<bool>>,
    pub receipts: Option<Spanned<bool>>,
    pub header_encryption: Option<Spanned<bool>>,
    pub post_quantum: Option<Spanned<bool>>,
    pub one_time_prekeys: Option<Spanned<u32>>,
    pub offline_share: Option<Spanned<Prob>>,
    pub offline_period: Option<Spanned<Dur>>,
    pub voice: Option<Spanned<RawVoiceMode>>,
    pub padding: Option<Spanned<RawPadding>>,
    pub padding_block: Option<Spanned<u32>>,
    pub receipts_delay: Option<Spanned<Dur>>,
    pub cover_traffic: Option<Spanned<RawCover>>,
    pub cover_interval: Option<Spanned<Dur>>,
    pub mixing_delay: Option<Spanned<Dur>>,
}

/// `padding` of an end-to-end app.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawPadding {
    None,
    Block,
    Padme,
}

/// `cover_traffic` of an end-to-end app.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawCover {
    None,
    Constant,
    Poisson,
}

/// `voice` of a noise app.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawVoiceMode {
    Relay,
    P2p,
    Off,
}

/// `kind` of an app.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawAppKind {
    Sms,
    CarrierEncrypted,
    Noise,
    Signal,
}

/// One `[[carrier]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCarrier {
    pub name: Spanned<Name>,
    pub subscribers: Spanned<u32>,
    pub cells: Spanned<u32>,
    pub mcc: Spanned<Digits>,
    pub mnc: Spanned<Digits>,
    pub msisdn_prefix: Spanned<String>,
    pub population: Spanned<Entries<Spanned<Prob>>>,
    #[serde(default)]
    pub warrants: Option<RawWarrants>,
}

/// `[carrier.warrants]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWarrants {
    pub count: Option<Spanned<u32>>,
    pub content_share: Option<Prob>,
    #[serde(default)]
    pub explicit: Vec<RawExplicitWarrant>,
}

/// One entry of `explicit = [...]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExplicitWarrant {
    pub subscriber: Spanned<u32>,
    pub kind: RawWarrantKind,
    pub agency: Option<String>,
}

/// `kind` of an explicit warrant.
#[derive(Clone, Copy, Deserialize)]
pub(crate) enum RawWarrantKind {
    #[serde(rename = "iri")]
    Iri,
    #[serde(rename = "iri+content")]
    IriAndContent,
}

/// `[traffic]`; every key optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraffic {
    pub mean_degree: Option<Spanned<f64>>,
    pub degree_exponent: Option<Spanned<f64>>,
    pub cross_carrier: Option<Prob>,
    pub messages_per_contact_per_day: Option<Spanned<f64>>,
    pub reply_probability: Option<Prob>,
    pub reply_delay: Option<Dur>,
    pub message_length: Option<RawMessageLength>,
    pub calls_per_contact_per_day: Option<Spanned<f64>>,
    pub call_duration: Option<Spanned<Dur>>,
    pub answer_probability: Option<Prob>,
    pub busy_probability: Option<Prob>,
    pub call_drop_probability: Option<Prob>,
    pub media_interval: Option<Spanned<Dur>>,
    pub media_payload: Option<Spanned<u32>>,
    pub community_size: Option<Spanned<u32>>,
    pub community_mixing: Option<Prob>,
    pub diurnal: Option<Spanned<RawDiurnal>>,
}

/// `diurnal`: `"flat"`, `"default"` or 24 hourly weights.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDiurnal {
    Named(String),
    Weights(Vec<f64>),
}

/// `message_length = { min, max }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMessageLength {
    pub min: Spanned<u32>,
    pub max: Spanned<u32>,
    pub distribution: Option<Spanned<RawLengthDistribution>>,
    pub median: Option<Spanned<f64>>,
    pub sigma: Option<Spanned<f64>>,
}

/// `message_length.distribution`.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawLengthDistribution {
    Lognormal,
    Natural,
}

/// `[adversary]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdversary {
    pub name: Option<String>,
    pub quantum: Option<bool>,
    pub size_bucket: Option<Spanned<u32>>,
    pub vantage: Spanned<Vec<RawVantage>>,
    #[serde(default)]
    pub theft: Vec<RawTheft>,
    #[serde(default)]
    pub weak_rng: Vec<RawWeakRng>,
    #[serde(default)]
    pub onpath: Vec<RawOnPath>,
}

/// One `[[adversary.theft]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTheft {
    pub at: Spanned<Dur>,
    pub secret: Spanned<RawSecretKind>,
    pub who: Spanned<RawWho>,
    pub app: Option<Spanned<String>>,
    pub carrier: Option<Spanned<String>>,
    pub share: Option<Spanned<Prob>>,
}

/// `secret` of a theft.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawSecretKind {
    Static,
    Psk,
    SessionState,
    DeviceState,
}

/// `who` of a theft.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawWho {
    Subscribers,
    OttServer,
    CarrierGateway,
}

/// One `[[adversary.weak_rng]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeakRng {
    pub app: Spanned<String>,
    pub share: Option<Prob>,
    pub entropy_bits: Option<Spanned<i64>>,
}

/// One `[[adversary.onpath]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOnPath {
    pub carrier: Spanned<String>,
    pub mode: Spanned<RawOnPathMode>,
    pub app: Spanned<String>,
    pub share: Option<Prob>,
    pub from: Option<Dur>,
    pub own_static: Option<Spanned<bool>>,
    pub drop_every: Option<Spanned<u32>>,
    pub drop_how: Option<Spanned<RawDropHow>>,
}

/// `mode` of an on-path component.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawOnPathMode {
    Mitm,
    Tamper,
    Replay,
    Drop,
    Inject,
    #[serde(rename = "replay-0rtt")]
    Replay0Rtt,
}

/// `drop_how` of a drop component.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawDropHow {
    Delete,
    Once,
    Always,
}

/// One `[[adversary.vantage]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVantage {
    pub kind: Spanned<RawVantageKind>,
    /// Required for every kind but `ott-server` (which belongs to no carrier).
    pub carrier: Option<Spanned<String>>,
    pub share: Option<Spanned<Prob>>,
}

/// `kind` of a vantage point.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawVantageKind {
    Mediation,
    CoreTap,
    CallRecords,
    EdgeRouter,
    OttServer,
}

/// A name: non-empty `[a-z0-9-]+`, at most 64 characters.
pub(crate) struct Name(pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name made of lowercase letters, digits and `-`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
                let ok = !v.is_empty()
                    && v.len() <= 64
                    && v.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if ok {
                    return Ok(Name(v.to_owned()));
                }
                let fixed: String = v
                    .chars()
                    .map(|c| c.to_ascii_lowercase())
                    .map(|c| {
                        if c.is_ascii_lowercase() || c.is_ascii_digit() {
                            c
                        } else {
                            '-'
                        }
                    })
                    .take(64)
                    .collect();
                let fixed = fixed.trim_matches('-');
                let hint = if fixed.is_empty() {
                    "use 1 to 64 lowercase letters, digits and `-`".to_owned()
                } else {
                    format!("use lowercase letters, digits and `-`, e.g. \"{fixed}\"")
                };
                Err(hinted(
                    format!("invalid name {v:?}: expected [a-z0-9-]+"),
                    hint,
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string of ASCII digits (MCC, MNC).
pub(crate) struct Digits(pub String);

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Digits;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of digits like \"310\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Digits, E> {
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Digits(v.to_owned()))
                } else {
                    Err(hinted(
                        format!("expected a string of digits, got {v:?}"),
                        "write codes as quoted digits, e.g. mcc = \"310\", mnc = \"410\"",
                    ))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration string such as `"30ms"`.
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DURATION_EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).ok_or_else(|| {
                    hinted(
                        format!("expected {DURATION_EXPECTED}, got {v:?}"),
                        "a number then a unit: ns, us, ms, s, m, h or d (e.g. \"2.5s\", \"30d\")",
                    )
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A rate string such as `"10Mbps"`, or `"unlimited"` (`None`).
pub(crate) struct Rate(pub Option<u64>);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(RATE_EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                if v == "unlimited" {
                    return Ok(Rate(None));
                }
                match parse_rate(v) {
                    Some(0) => Err(hinted(
                        "bandwidth must be positive",
                        "use \"unlimited\" for a link with no rate limit",
                    )),
                    Some(bps) => Ok(Rate(Some(bps))),
                    None => Err(hinted(
                        format!("expected {RATE_EXPECTED}, got {v:?}"),
                        "a number then a unit: bps, kbps, Mbps, Gbps or Tbps; or \"unlimited\"",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A probability in `[0, 1]` (integers 0 and 1 accepted).
#[derive(Clone, Copy)]
pub(crate) struct Prob(pub f64);

impl<'de> Deserialize<'de> for Prob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Prob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a probability between 0 and 1")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Prob, E> {
                if (0.0..=1.0).contains(&v) {
                    Ok(Prob(v))
                } else {
                    Err(hinted(
                        format!("probability {v} is outside [0, 1]"),
                        "write a probability as a number from 0.0 to 1.0, e.g. 0.25 for 25%",
                    ))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Prob, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Prob, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// A table's entries in file order, keys spanned (`[carrier.population]`).
pub(crate) struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of `app-name = share`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<V>()?;
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(EntriesVisitor(PhantomData))
    }
}
