//! The countermeasure keys of end-to-end apps (`padding`, `padding_block`, `receipts_delay`,
//! `cover_traffic`,
//! `cover_interval`, `mixing_delay`; `receipts` on noise apps) and the traffic-realism keys of
//! `[traffic]` (`community_size`, `community_mixing`, `diurnal`, `message_length.distribution`).
//! References: `docs/countermeasures.md`, `docs/traffic.md`.

use serde::Serialize;
use simcore::Duration;
use toml::Spanned;

use crate::error::ScenarioError;
use crate::raw::{RawApp, RawAppKind, RawCover, RawDiurnal, RawPadding};
use crate::units::serialize_duration;
use crate::validate::Ctx;

/// How an app pads end-to-end plaintexts before encrypting them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// No padding: ciphertext length follows plaintext length byte for byte.
    #[default]
    None,
    /// Pad to a multiple of [`Countermeasures::padding_block`] bytes (160 by default, as
    /// Signal does).
    Block,
    /// Padmé (Nikitin et al., PETS 2019): at most 12 % overhead, O(log log L) bits leak.
    Padme,
}

impl Padding {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Padding::None => "none",
            Padding::Block => "block",
            Padding::Padme => "padme",
        }
    }
}

/// Dummy messages from each handset to the OTT server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoverTraffic {
    /// No cover traffic.
    #[default]
    None,
    /// One dummy every `cover_interval` (seeded phase per handset).
    Constant,
    /// Dummies as a Poisson process of mean gap `cover_interval`.
    Poisson,
}

impl CoverTraffic {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            CoverTraffic::None => "none",
            CoverTraffic::Constant => "constant",
            CoverTraffic::Poisson => "poisson",
        }
    }
}

/// The countermeasures of one end-to-end app (all off for SMS and carrier-encrypted apps).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Countermeasures {
    /// Padding of end-to-end payloads, inside the encryption.
    pub padding: Padding,
    /// The block of [`Padding::Block`], bytes (`padding_block`; 160, Signal's, by default).
    pub padding_block: u32,
    /// Noise apps: the recipient answers every message with an end-to-end delivery receipt.
    /// (Signal apps: see [`crate::SignalOptions::receipts`].)
    pub noise_receipts: bool,
    /// Mean of the exponential delay before a receipt is sent (`0`: at once).
    #[serde(serialize_with = "serialize_duration")]
    pub receipts_delay: Duration,
    /// Dummy messages to the OTT server.
    pub cover_traffic: CoverTraffic,
    /// Gap (constant) or mean gap (poisson) between a handset's dummies.
    #[serde(serialize_with = "serialize_duration")]
    pub cover_interval: Duration,
    /// Mean of the exponential delay the OTT server holds each envelope of this app before
    /// forwarding it (`0`: none).
    #[serde(serialize_with = "serialize_duration")]
    pub mixing_delay: Duration,
}

impl Default for Countermeasures {
    fn default() -> Self {
        Countermeasures {
            padding: Padding::None,
            padding_block: DEFAULT_PADDING_BLOCK,
            noise_receipts: false,
            receipts_delay: Duration::ZERO,
            cover_traffic: CoverTraffic::None,
            cover_interval: Duration::from_secs(60),
            mixing_delay: Duration::ZERO,
        }
    }
}

impl Countermeasures {
    /// Whether any countermeasure that changes bytes or timing is on (Noise receipts count:
    /// they are extra traffic).
    pub fn any(&self) -> bool {
        self.padding != Padding::None
            || self.noise_receipts
            || self.receipts_delay > Duration::ZERO
            || self.cover_traffic != CoverTraffic::None
            || self.mixing_delay > Duration::ZERO
    }
}

/// Signal's padding block, bytes: the default of `padding_block`.
pub const DEFAULT_PADDING_BLOCK: u32 = 160;
/// Largest allowed `padding_block`, bytes (a message is at most 64 KiB).
pub const MAX_PADDING_BLOCK: u32 = 65_536;

/// Longest allowed mixing or receipt delay (a day): beyond, nothing would arrive in a run.
const MAX_DELAY: Duration = Duration::from_secs(86_400);

/// The countermeasures of `app` (whose kind is already validated as `kind`).
pub(crate) fn app_countermeasures(
    ctx: &Ctx<'_>,
    app: &RawApp,
    kind: &crate::model::AppKind,
) -> Result<Countermeasures, ScenarioError> {
    let e2e = matches!(*app.kind.get_ref(), RawAppKind::Noise | RawAppKind::Signal);
    let keys = [
        ("padding", app.padding.as_ref().map(Spanned::span)),
        (
            "padding_block",
            app.padding_block.as_ref().map(Spanned::span),
        ),
        (
            "receipts_delay",
            app.receipts_delay.as_ref().map(Spanned::span),
        ),
        (
            "cover_traffic",
            app.cover_traffic.as_ref().map(Spanned::span),
        ),
        (
            "cover_interval",
            app.cover_interval.as_ref().map(Spanned::span),
        ),
        ("mixing_delay", app.mixing_delay.as_ref().map(Spanned::span)),
        ("receipts", app.receipts.as_ref().map(Spanned::span)),
    ];
    if !e2e {
        if let Some((key, Some(span))) = keys.into_iter().find(|(_, s)| s.is_some()) {
            return Err(ctx.err(
                span,
                format!("`{key}` applies only to end-to-end apps (kind = \"noise\" or \"signal\")"),
                Some(format!(
                    "remove `{key}`: the carrier reads this app's messages, so padding, receipts, \
                     cover traffic and mixing hide nothing from it"
                )),
            ));
        }
        return Ok(Countermeasures::default());
    }
    let mut c = Countermeasures::default();
    if let Some(p) = &app.padding {
        c.padding = match p.get_ref() {
            RawPadding::None => Padding::None,
            RawPadding::Block => Padding::Block,
            RawPadding::Padme => Padding::Padme,
        };
    }
    if let Some(b) = &app.padding_block {
        // Accepted with any padding (so a sweep can set it alone), used by "block" only; the
        // report's scenario echo shows it.
        let v = *b.get_ref();
        if !(1..=MAX_PADDING_BLOCK).contains(&v) {
            return Err(ctx.err(
                b.span(),
                format!("padding_block must be between 1 and {MAX_PADDING_BLOCK} bytes"),
                Some("a block such as padding_block = 160 (Signal's)".into()),
            ));
        }
        c.padding_block = v;
    }
    let (receipts, one_way) = match kind {
        crate::model::AppKind::Signal(o) => (o.receipts, false),
        crate::model::AppKind::Noise { protocol, .. } => {
            let one_way = protocol
                .parse::<snow::params::NoiseParams>()
                .is_ok_and(|p| p.handshake.pattern.is_oneway());
            let r = app.receipts.as_ref().is_some_and(|b| *b.get_ref());
            if r && one_way {
                let span = app.receipts.as_ref().map(Spanned::span).unwrap_or_default();
                return Err(ctx.err(
                    span,
                    "a one-way pattern cannot carry receipts: the responder never sends",
                    Some("remove `receipts`, or use an interactive pattern such as \"XX\"".into()),
                ));
            }
            c.noise_receipts = r;
            (r, one_way)
        }
        _ => (false, false),
    };
    let _ = one_way;
    let delay = |d: &Option<Spanned<crate::raw::Dur>>, key: &str| match d {
        Some(d) if d.get_ref().0 > MAX_DELAY => Err(ctx.err(
            d.span(),
            format!("{key} is above a day"),
            Some(format!("a mean such as {key} = \"5s\"; \"0\" turns it off")),
        )),
        Some(d) => Ok(d.get_ref().0),
        None => Ok(Duration::ZERO),
    };
    c.receipts_delay = delay(&app.receipts_delay, "receipts_delay")?;
    if c.receipts_delay > Duration::ZERO && !receipts {
        let span = app
            .receipts_delay
            .as_ref()
            .map(Spanned::span)
            .unwrap_or_default();
        return Err(ctx.err(
            span,
            "receipts_delay needs receipts",
            Some("add `receipts = true`, or remove `receipts_delay`".into()),
        ));
    }
    c.mixing_delay = delay(&app.mixing_delay, "mixing_delay")?;
    if let Some(k) = &app.cover_traffic {
        c.cover_traffic = match k.get_ref() {
            RawCover::None => CoverTraffic::None,
            RawCover::Constant => CoverTraffic::Constant,
            RawCover::Poisson => CoverTraffic::Poisson,
        };
    }
    if let Some(i) = &app.cover_interval {
        if i.get_ref().0 < Duration::from_millis(100) || i.get_ref().0 > MAX_DELAY {
            return Err(ctx.err(
                i.span(),
                "cover_interval must be between 100ms and a day",
                Some("the (mean) gap between a handset's dummy messages, e.g. \"30s\"".into()),
            ));
        }
        c.cover_interval = i.get_ref().0;
    }
    Ok(c)
}

/// The default hour-of-day activity curve: relative message rates for hours 0..24, mean 1
/// (`docs/traffic.md`).
pub const DEFAULT_DIURNAL: [f64; 24] = [
    0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.25, 0.6, 1.0, 1.2, 1.3, 1.35, 1.4, 1.35, 1.3, 1.3, 1.35,
    1.45, 1.55, 1.6, 1.6, 1.5, 1.2, 0.8,
];

/// `diurnal`: empty (flat), the default curve, or 24 weights normalised to mean 1.
pub(crate) fn diurnal(
    ctx: &Ctx<'_>,
    raw: &Option<Spanned<RawDiurnal>>,
) -> Result<Vec<f64>, ScenarioError> {
    let Some(d) = raw else {
        return Ok(Vec::new());
    };
    let hint = "diurnal = \"flat\", \"default\", or 24 non-negative hourly weights (hour 0 first)";
    let w: Vec<f64> = match d.get_ref() {
        RawDiurnal::Named(n) if n == "flat" => return Ok(Vec::new()),
        RawDiurnal::Named(n) if n == "default" => DEFAULT_DIURNAL.to_vec(),
        RawDiurnal::Named(n) => {
            return Err(ctx.err(
                d.span(),
                format!("unknown diurnal curve `{n}`"),
                Some(hint.into()),
            ))
        }
        RawDiurnal::Weights(w) => w.clone(),
    };
    let sum: f64 = w.iter().sum();
    if w.len() != 24 || w.iter().any(|x| !x.is_finite() || *x < 0.0) || sum <= 0.0 {
        return Err(ctx.err(
            d.span(),
            format!(
                "diurnal needs 24 non-negative weights, not all 0 (got {})",
                w.len()
            ),
            Some(hint.into()),
        ));
    }
    Ok(w.iter().map(|x| x * 24.0 / sum).collect())
}
