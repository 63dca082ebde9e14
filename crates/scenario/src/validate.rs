//! Cross-field checks: raw file → [`Scenario`], or the first problem in file order.
//!
//! Shape checks (types, units, ranges of single values) already happened while deserializing;
//! here live the rules that relate values: references between tables, uniqueness, sums, and
//! bounds that depend on another key.

use core::ops::Range;

use simcore::Duration;
use toml::Spanned;

use crate::error::{line_column, suggest, ScenarioError};
use crate::faults::{Faults, Partition};
use crate::model::{
    Adversary, App, AppKind, Carrier, ExplicitWarrant, LengthDistribution, LinkSpec, Links,
    MessageLength, Mobility, Scenario, Traffic, Vantage, VantageKind, VoiceMode, WarrantKind,
    Warrants,
};
use crate::raw::{
    RawAdversary, RawApp, RawAppKind, RawCarrier, RawFile, RawLengthDistribution, RawLink,
    RawLinks, RawMobility, RawTraffic, RawVantageKind, RawVoiceMode, RawWarrantKind,
};
use crate::Work;

/// Tolerance on the sum of population shares.
const SHARE_TOLERANCE: f64 = 1e-9;
/// Longest MSISDN in digits (E.164).
const MAX_MSISDN_DIGITS: usize = 15;
/// Shortest and longest allowed message, in characters.
const MESSAGE_LENGTH_BOUNDS: (u32, u32) = (16, 1000);
/// Default median message length, characters (`docs/traffic.md`).
const DEFAULT_MEDIAN_LENGTH: f64 = 40.0;
/// Default standard deviation of ln(length) (`docs/traffic.md`).
const DEFAULT_LENGTH_SIGMA: f64 = 0.7;
/// Noise suite used when an app gives only a pattern.
const DEFAULT_SUITE: &str = "25519_ChaChaPoly_BLAKE2s";
const PATTERN_HINT: &str = "use a pattern such as \"XX\", \"IK\", \"NK\", \"NN\", \"X\", \
    \"XXpsk3\", or a full name such as \"Noise_XX_25519_ChaChaPoly_BLAKE2s\"";

type Result<T> = core::result::Result<T, ScenarioError>;

/// Where errors are reported.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub limits: crate::Limits,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> ScenarioError {
        ScenarioError::at(self.file, self.text, Some(span), message, hint.into())
    }

    fn err_at_start(&self, message: impl Into<String>, hint: String) -> ScenarioError {
        ScenarioError::at(self.file, self.text, None, message, Some(hint))
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }
}

/// Validates a deserialized file.
pub(crate) fn validate(ctx: &Ctx<'_>, raw: RawFile) -> Result<Scenario> {
    let header = raw.scenario;
    let duration = header.duration.get_ref().0;
    if duration == Duration::ZERO {
        return Err(ctx.err(
            header.duration.span(),
            "duration must be positive",
            Some("traffic is generated for this long, e.g. \"1h\" or \"24h\"".to_owned()),
        ));
    }
    let early_data = early_data(ctx, header.early_data)?;
    let links = links(ctx, raw.links)?;
    let apps = apps(ctx, raw.app)?;
    // Where the work a scenario asks for is set: (span, how far above its default).
    let mut work_keys: Vec<(Range<usize>, f64, &str)> = vec![(
        header.duration.span(),
        duration.as_secs_f64() / 86_400.0,
        "duration",
    )];
    let t = &raw.traffic;
    for (v, default, key) in [
        (
            &t.messages_per_contact_per_day,
            2.0,
            "messages_per_contact_per_day",
        ),
        (&t.mean_degree, 6.0, "mean_degree"),
        (
            &t.calls_per_contact_per_day,
            0.05,
            "calls_per_contact_per_day",
        ),
    ] {
        if let Some(s) = v {
            work_keys.push((s.span(), s.get_ref() / default, key));
        }
    }
    if let Some(c) = raw
        .carrier
        .as_ref()
        .and_then(|cs| cs.get_ref().iter().max_by_key(|c| *c.subscribers.get_ref()))
    {
        work_keys.push((
            c.subscribers.span(),
            f64::from(*c.subscribers.get_ref()) / 1000.0,
            "subscribers",
        ));
    }
    let carriers = carriers(ctx, raw.carrier, &apps)?;
    let until_spans: Vec<Range<usize>> = raw
        .faults
        .partition
        .iter()
        .map(|p| p.until.span())
        .collect();
    let faults = crate::faults::faults(ctx, raw.faults, &carriers)?;
    let total: u64 = carriers.iter().map(|c| u64::from(c.subscribers)).sum();
    let traffic = traffic(ctx, raw.traffic, total)?;
    let work = estimate(&traffic, total, duration, &faults);
    budget(ctx, &work, &faults, duration, &until_spans, &work_keys)?;
    let mobility = mobility(ctx, raw.mobility)?;
    let adversary = adversary(ctx, raw.adversary, &apps, &carriers, duration, early_data)?;
    Ok(Scenario {
        name: header.name.0,
        description: header.description,
        seed: header.seed.unwrap_or(1),
        duration,
        early_data,
        links,
        faults,
        apps,
        carriers,
        traffic,
        mobility,
        adversary,
    })
}

/// `early_data`: `false` (the default), `true` (= `"first"`), `"first"` or `"last"`.
fn early_data(
    ctx: &Ctx<'_>,
    raw: Option<Spanned<crate::raw::RawEarlyData>>,
) -> Result<crate::model::EarlyData> {
    use crate::model::EarlyData;
    use crate::raw::RawEarlyData;
    let Some(raw) = raw else {
        return Ok(EarlyData::Off);
    };
    let span = raw.span();
    match raw.into_inner() {
        RawEarlyData::Bool(b) => Ok(if b { EarlyData::First } else { EarlyData::Off }),
        RawEarlyData::Named(n) => match n.as_str() {
            "first" => Ok(EarlyData::First),
            "last" => Ok(EarlyData::Last),
            _ => Err(ctx.err(
                span,
                format!("unknown early_data `{n}`"),
                Some(
                    "use true or \"first\" (handshake message 1), \"last\" (the initiator's \
                     last handshake message, e.g. message 3 of XX) or false"
                        .to_owned(),
                ),
            )),
        },
    }
}

/// The work a scenario asks for, estimated from its traffic parameters and faults with the
/// planner's own arithmetic ([`crate::planner::expect`]): messages (with replies), voice media
/// frames (both directions of every answered call), and the retransmissions its partitions
/// cause ([`partition_retries`]).
pub(crate) fn estimate(
    traffic: &Traffic,
    subscribers: u64,
    duration: Duration,
    faults: &Faults,
) -> Work {
    let expected = crate::planner::expect(traffic, subscribers, duration);
    let messages = expected.messages();
    let interval = traffic.media_interval.as_secs_f64().max(1e-3);
    let frames_per_call = 2.0 * traffic.call_duration.as_secs_f64() / interval;
    let answered =
        crate::planner::answered_share(traffic.busy_probability, traffic.answer_probability);
    let frames = expected.calls() * answered * frames_per_call;
    let retries = faults
        .partitions
        .iter()
        .map(|p| partition_retries(p, messages, duration))
        .sum();
    Work {
        messages,
        frames,
        retries,
    }
}

/// The reliable layer's back-off (`proto::reliable::ReliableConfig`'s defaults, which
/// `tests/faults.rs` checks these against): first retransmission after 1 s, doubling to a cap.
pub const RETRANSMISSION_CAP: Duration = Duration::from_secs(60);
/// How long after the traffic stops a run keeps retrying messages not yet delivered (the
/// simulator's retry budget, `carrier::MAX_DRAIN`); a message still open then fails.
pub const RETRY_BUDGET: Duration = Duration::from_secs(7 * 86_400);
/// Retransmissions of a frame before its back-off reaches [`RETRANSMISSION_CAP`] (1, 2, 4, 8,
/// 16 and 32 s).
const RETRIES_BEFORE_CAP: f64 = 6.0;

/// The retransmissions a partition can cause: as if every message sent while it is down
/// crossed it (an upper bound), each one retransmitted until the partition ends (or the
/// [`RETRY_BUDGET`] runs out) — a few times
/// while its back-off grows, then once a [`RETRANSMISSION_CAP`]. `messages` are spread evenly
/// over `duration`.
fn partition_retries(p: &Partition, messages: f64, duration: Duration) -> f64 {
    let rate = messages / duration.as_secs_f64().max(1e-9);
    // Retransmissions stop when the run gives up, at the end of the retry budget.
    let until = p.until.min(duration + RETRY_BUDGET).as_secs_f64();
    let (a, b) = (p.from.as_secs_f64(), until.min(duration.as_secs_f64()));
    if b <= a {
        return 0.0;
    }
    // Each message sent at t in [a, b) waits until - t: the integral of that over the window.
    let waiting = ((until - a).powi(2) - (until - b).powi(2)) / 2.0;
    rate * ((b - a) * RETRIES_BEFORE_CAP + waiting / RETRANSMISSION_CAP.as_secs_f64())
}

/// Refuses a scenario whose estimated work is beyond [`crate::Limits`], at the key furthest
/// above its default (or the `until` of the partition whose retransmissions weigh most, when
/// they outweigh the traffic), with the estimate and how to raise the budget.
fn budget(
    ctx: &Ctx<'_>,
    work: &Work,
    faults: &Faults,
    duration: Duration,
    until_spans: &[Range<usize>],
    keys: &[(Range<usize>, f64, &str)],
) -> Result<()> {
    let max = ctx.limits.max_work as f64;
    if work.total() <= max {
        return Ok(());
    }
    let (span, _, key) = keys
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .cloned()
        .unwrap_or((0..0, 0.0, "duration"));
    let traffic = work.messages + work.frames;
    let heaviest = faults
        .partitions
        .iter()
        .zip(until_spans)
        .map(|(p, span)| (partition_retries(p, work.messages, duration), span))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let (span, hint) = match heaviest {
        Some((_, until)) if work.retries > traffic => (
            until.clone(),
            "end this outage earlier (`until`), or raise the budget with --max-work N \
             (docs/scenario.md#work-budget)"
                .to_owned(),
        ),
        _ => (
            span,
            if key == "subscribers" {
                "lower `subscribers` (or run every carrier smaller with --scale F), or raise the \
                 budget with --max-work N (docs/scenario.md#work-budget)"
                    .to_owned()
            } else {
                format!(
                    "lower `{key}`, or raise the budget with --max-work N (docs/scenario.md#work-budget)"
                )
            },
        ),
    };
    let retries = if work.retries > 0.0 {
        format!(
            " and {:.3e} retransmissions while partitions are down",
            work.retries
        )
    } else {
        String::new()
    };
    Err(ctx.err(
        span,
        format!(
            "this scenario asks for about {:.3e} messages and {:.3e} voice media frames{retries}, \
             above the work budget of {} (the default allows runs of about five minutes on 2 cores)",
            work.messages, work.frames, ctx.limits.max_work
        ),
        Some(hint),
    ))
}

fn mobility(ctx: &Ctx<'_>, raw: RawMobility) -> Result<Mobility> {
    let h = |n: u64| Duration::from_secs(n * 3600);
    let day_start = raw.day_start.as_ref().map_or(h(8), |d| d.get_ref().0);
    let day_end = raw.day_end.as_ref().map_or(h(17), |d| d.get_ref().0);
    if day_start >= day_end || day_end >= h(24) {
        let span = raw
            .day_end
            .as_ref()
            .or(raw.day_start.as_ref())
            .map(Spanned::span);
        let message = "mobility needs day_start < day_end < 24h".to_owned();
        let hint = "times of day from midnight, e.g. day_start = \"8h\", day_end = \"17h\"";
        return Err(match span {
            Some(span) => ctx.err(span, message, Some(hint.to_owned())),
            None => ctx.err_at_start(message, hint.to_owned()),
        });
    }
    let commute_cells = match &raw.commute_cells {
        Some(c) if *c.get_ref() > 16 => {
            return Err(ctx.err(
                c.span(),
                format!("commute_cells {} is above 16", c.get_ref()),
                Some("cells passed on the way to work: 0 to 16".to_owned()),
            ))
        }
        Some(c) => *c.get_ref(),
        None => 2,
    };
    Ok(Mobility {
        enabled: raw.enabled.unwrap_or(false),
        work_share: raw.work_share.map_or(0.6, |p| p.0),
        day_start,
        day_end,
        jitter: raw.jitter.map_or(h(1), |d| d.0),
        commute: raw.commute.map_or(Duration::from_secs(40 * 60), |d| d.0),
        commute_cells,
    })
}

fn links(ctx: &Ctx<'_>, raw: RawLinks) -> Result<Links> {
    let ms = Duration::from_millis;
    Ok(Links {
        radio: link(ctx, raw.radio, (ms(20), ms(10), 20_000_000, 0.01))?,
        core: link(ctx, raw.core, (ms(1), ms(0), 10_000_000_000, 0.0))?,
        interconnect: link(ctx, raw.interconnect, (ms(10), ms(2), 1_000_000_000, 0.0))?,
        internet: link(ctx, raw.internet, (ms(25), ms(5), 1_000_000_000, 0.0))?,
    })
}

/// One link, filling absent keys from that link's defaults `(latency, jitter, bps, loss)`.
fn link(
    ctx: &Ctx<'_>,
    raw: Option<RawLink>,
    (latency, jitter, bps, loss): (Duration, Duration, u64, f64),
) -> Result<LinkSpec> {
    let mut spec = LinkSpec {
        latency,
        jitter,
        bandwidth_bps: Some(bps),
        loss,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_delay: Duration::from_millis(10),
        corrupt: 0.0,
        undetected_corrupt: 0.0,
        queue_limit_bytes: None,
    };
    let Some(raw) = raw else { return Ok(spec) };
    let below_one = |p: &Spanned<crate::raw::Prob>, what: &str| {
        if p.get_ref().0 >= 1.0 {
            Err(ctx.err(
                p.span(),
                format!("{what} = 1 damages every packet: nothing would ever be delivered"),
                Some("use a value below 1, e.g. 0.2".to_owned()),
            ))
        } else {
            Ok(p.get_ref().0)
        }
    };
    if let Some(v) = raw.latency {
        spec.latency = v.0;
    }
    if let Some(v) = raw.jitter {
        spec.jitter = v.0;
    }
    if let Some(v) = raw.bandwidth {
        spec.bandwidth_bps = v.into_inner().0;
    }
    if let Some(v) = &raw.loss {
        spec.loss = below_one(v, "loss")?;
    }
    if let Some(v) = raw.duplicate {
        spec.duplicate = v.0;
    }
    if let Some(v) = raw.reorder {
        spec.reorder = v.0;
    }
    if let Some(v) = raw.reorder_delay {
        spec.reorder_delay = v.0;
    }
    if let Some(v) = &raw.corrupt {
        spec.corrupt = below_one(v, "corrupt")?;
    }
    if let Some(v) = &raw.undetected_corrupt {
        spec.undetected_corrupt = below_one(v, "undetected_corrupt")?;
    }
    if let Some(v) = raw.queue_limit {
        let bytes = usize::try_from(*v.get_ref()).ok().filter(|b| *b > 0);
        let Some(bytes) = bytes else {
            return Err(ctx.err(
                v.span(),
                "queue_limit must be a positive number of bytes",
                Some("leave it out for an unlimited queue".to_owned()),
            ));
        };
        spec.queue_limit_bytes = Some(bytes);
    }
    Ok(spec)
}

fn apps(ctx: &Ctx<'_>, raw: Option<Spanned<Vec<RawApp>>>) -> Result<Vec<App>> {
    let hint = "add an app, e.g.\n    [[app]]\n    name = \"sms\"\n    kind = \"sms\"".to_owned();
    let Some(raw) = raw else {
        return Err(ctx.err_at_start("the scenario defines no [[app]]", hint));
    };
    let span = raw.span();
    let raw = raw.into_inner();
    if raw.is_empty() {
        return Err(ctx.err(span, "the scenario defines no [[app]]", hint));
    }
    let mut out: Vec<App> = Vec::with_capacity(raw.len());
    // Names seen so far and where (a map: validation stays linear in the number of apps).
    let mut seen: std::collections::BTreeMap<String, Range<usize>> = Default::default();
    for app in raw {
        let name_span = app.name.span();
        let name = app.name.get_ref().0.clone();
        if let Some(first) = seen.get(&name) {
            return Err(ctx.err(
                name_span,
                format!("duplicate app name `{name}`"),
                Some(format!(
                    "`{name}` is already defined on line {}; app names must be unique",
                    ctx.line_of(first)
                )),
            ));
        }
        seen.insert(name.clone(), name_span);
        let kind = app_kind(ctx, &app)?;
        let voice =
            match (&app.voice, &kind) {
                (None, AppKind::Noise { .. }) => VoiceMode::Relay,
                (None, _) => VoiceMode::Off,
                (Some(v), AppKind::Noise { .. }) => match v.get_ref() {
                    RawVoiceMode::Relay => VoiceMode::Relay,
                    RawVoiceMode::P2p => VoiceMode::P2p,
                    RawVoiceMode::Off => VoiceMode::Off,
                },
                (Some(v), _) => return Err(ctx.err(
                    v.span(),
                    "`voice` applies only to noise apps: other apps' users call over carrier voice",
                    Some("remove `voice`, or set kind = \"noise\"".to_owned()),
                )),
            };
        let countermeasures = crate::countermeasures::app_countermeasures(ctx, &app, &kind)?;
        out.push(App {
            name,
            kind,
            voice,
            countermeasures,
        });
    }
    Ok(out)
}

fn app_kind(ctx: &Ctx<'_>, app: &RawApp) -> Result<AppKind> {
    if let Some(signal) = crate::signal::signal_app_kind(ctx, app)? {
        return Ok(signal);
    }
    let kind = *app.kind.get_ref();
    if kind != RawAppKind::Noise {
        let kind_text = if kind == RawAppKind::Sms {
            "sms"
        } else {
            "carrier-encrypted"
        };
        let noise_only = [
            ("pattern", app.pattern.as_ref().map(Spanned::span)),
            (
                "server_tunnel",
                app.server_tunnel.as_ref().map(Spanned::span),
            ),
            ("pin_keys", app.pin_keys.as_ref().map(Spanned::span)),
        ];
        if let Some((key, Some(span))) = noise_only.into_iter().find(|(_, s)| s.is_some()) {
            return Err(ctx.err(
                span,
                format!(
                    "`{key}` applies only to noise apps, and this app is kind = \"{kind_text}\""
                ),
                Some(format!("remove `{key}`, or set kind = \"noise\"")),
            ));
        }
        return Ok(match kind {
            RawAppKind::Sms => AppKind::Sms,
            _ => AppKind::CarrierEncrypted,
        });
    }
    let Some(pattern) = &app.pattern else {
        return Err(ctx.err(
            app.kind.span(),
            "a noise app needs a `pattern`",
            Some(format!("add `pattern = \"XX\"`; {PATTERN_HINT}")),
        ));
    };
    let written = pattern.get_ref().as_str();
    let protocol = if written.starts_with("Noise_") {
        written.to_owned()
    } else {
        format!("Noise_{written}_{DEFAULT_SUITE}")
    };
    let params = match protocol.parse::<snow::params::NoiseParams>() {
        Ok(params) => params,
        Err(e) => {
            return Err(ctx.err(
                pattern.span(),
                format!("Noise protocol `{protocol}` is not valid: {e}"),
                Some(PATTERN_HINT.to_owned()),
            ))
        }
    };
    if params.dh != snow::params::DHChoice::Curve25519 {
        return Err(ctx.err(
            pattern.span(),
            format!("Noise protocol `{protocol}`: only the 25519 key exchange is available"),
            Some(format!("use `_{DEFAULT_SUITE}` or another 25519 suite")),
        ));
    }
    if params.handshake.is_fallback() {
        return Err(ctx.err(
            pattern.span(),
            format!("Noise protocol `{protocol}`: the fallback modifier is not simulated"),
            Some(PATTERN_HINT.to_owned()),
        ));
    }
    let pattern_part = protocol.split('_').nth(1).unwrap_or_default().to_owned();
    Ok(AppKind::Noise {
        protocol,
        pattern: pattern_part,
        server_tunnel: app.server_tunnel.as_ref().is_none_or(|b| *b.get_ref()),
        pin_keys: app.pin_keys.as_ref().is_none_or(|b| *b.get_ref()),
    })
}

fn carriers(
    ctx: &Ctx<'_>,
    raw: Option<Spanned<Vec<RawCarrier>>>,
    apps: &[App],
) -> Result<Vec<Carrier>> {
    let hint = "add a carrier, e.g.\n    [[carrier]]\n    name = \"atlantic\"\n    subscribers = 20\n    ...".to_owned();
    let Some(raw) = raw else {
        return Err(ctx.err_at_start("the scenario defines no [[carrier]]", hint));
    };
    let span = raw.span();
    let raw = raw.into_inner();
    if raw.is_empty() {
        return Err(ctx.err(span, "the scenario defines no [[carrier]]", hint));
    }
    if raw.len() > crate::MAX_CARRIERS {
        return Err(ctx.err(
            raw[crate::MAX_CARRIERS].name.span(),
            format!(
                "the scenario defines {} carriers; the model addresses at most {}",
                raw.len(),
                crate::MAX_CARRIERS
            ),
            Some(format!(
                "keep {} [[carrier]] tables or fewer",
                crate::MAX_CARRIERS
            )),
        ));
    }
    let mut out: Vec<Carrier> = Vec::with_capacity(raw.len());
    // (name span, mnc span, prefix span) of earlier carriers, for duplicate hints.
    let mut spans: Vec<(Range<usize>, Range<usize>, Range<usize>)> = Vec::new();
    // Overflow address blocks (of 100.64.0.0/10) taken by the carriers so far.
    let mut overflow = 0u32;
    for c in raw {
        let carrier = carrier(ctx, &c, apps)?;
        overflow += crate::address_blocks(carrier.subscribers) - 1;
        if overflow > crate::OVERFLOW_BLOCKS {
            return Err(ctx.err(
                c.subscribers.span(),
                format!(
                    "with carrier `{}`, the carriers' subscribers beyond the first {} of each need {overflow} address blocks of 100.64.0.0/10; the model has {}",
                    carrier.name,
                    crate::SUBSCRIBERS_PER_BLOCK,
                    crate::OVERFLOW_BLOCKS
                ),
                Some(format!(
                    "every carrier numbers {} subscribers in its own 10.c.0.0/16 and takes a further block of 100.64.0.0/10 for every {} more; all carriers together have {} such blocks ({} subscribers): give the large carriers fewer subscribers",
                    crate::SUBSCRIBERS_PER_BLOCK,
                    crate::SUBSCRIBERS_PER_BLOCK,
                    crate::OVERFLOW_BLOCKS,
                    crate::OVERFLOW_BLOCKS * crate::SUBSCRIBERS_PER_BLOCK
                )),
            ));
        }
        for (earlier, (name_span, mnc_span, prefix_span)) in out.iter().zip(&spans) {
            if earlier.name == carrier.name {
                return Err(ctx.err(
                    c.name.span(),
                    format!("duplicate carrier name `{}`", carrier.name),
                    Some(format!(
                        "`{}` is already defined on line {}; carrier names must be unique",
                        carrier.name,
                        ctx.line_of(name_span)
                    )),
                ));
            }
            if earlier.mcc == carrier.mcc && earlier.mnc == carrier.mnc {
                return Err(ctx.err(
                    c.mnc.span(),
                    format!(
                        "carriers `{}` and `{}` share MCC {} / MNC {}",
                        earlier.name, carrier.name, carrier.mcc, carrier.mnc
                    ),
                    Some(format!(
                        "IMSIs would collide; give this carrier another mnc (line {} has {})",
                        ctx.line_of(mnc_span),
                        earlier.mnc
                    )),
                ));
            }
            let (a, b) = (&earlier.msisdn_prefix, &carrier.msisdn_prefix);
            if a.starts_with(b.as_str()) || b.starts_with(a.as_str()) {
                return Err(ctx.err(
                    c.msisdn_prefix.span(),
                    format!("MSISDN prefix +{b} overlaps +{a} of carrier `{}`", earlier.name),
                    Some(format!("numbers are routed by prefix, so no prefix may start another (line {}); e.g. use +{a}0 and +{a}1, or different digits", ctx.line_of(prefix_span))),
                ));
            }
        }
        spans.push((c.name.span(), c.mnc.span(), c.msisdn_prefix.span()));
        out.push(carrier);
    }
    Ok(out)
}

fn carrier(ctx: &Ctx<'_>, c: &RawCarrier, apps: &[App]) -> Result<Carrier> {
    let name = c.name.get_ref().0.clone();
    let subscribers = *c.subscribers.get_ref();
    if subscribers < 2 {
        return Err(ctx.err(
            c.subscribers.span(),
            format!("carrier `{name}` needs at least 2 subscribers, not {subscribers}"),
            Some("subscribers message each other; use 2 or more".to_owned()),
        ));
    }
    if *c.cells.get_ref() < 1 {
        return Err(ctx.err(
            c.cells.span(),
            "a carrier needs at least 1 cell",
            Some("set cells = 1 or more".to_owned()),
        ));
    }
    // The model's addressing (10.<carrier>.x.y and blocks of 100.64.0.0/10 for subscribers, one
    // /24 of cells per carrier) bounds these; the simulator enforces them too.
    if subscribers > crate::MAX_SUBSCRIBERS_PER_CARRIER {
        return Err(ctx.err(
            c.subscribers.span(),
            format!(
                "carrier `{name}` has {subscribers} subscribers; the model addresses at most {} per carrier",
                crate::MAX_SUBSCRIBERS_PER_CARRIER
            ),
            Some(format!(
                "a carrier numbers its subscribers in its own /16 and at most {} blocks of 100.64.0.0/10; split them over several [[carrier]] tables",
                crate::OVERFLOW_BLOCKS
            )),
        ));
    }
    if *c.cells.get_ref() > crate::MAX_CELLS_PER_CARRIER {
        return Err(ctx.err(
            c.cells.span(),
            format!(
                "carrier `{name}` has {} cells; the model addresses at most {} per carrier",
                c.cells.get_ref(),
                crate::MAX_CELLS_PER_CARRIER
            ),
            Some(format!(
                "use cells = {} or fewer",
                crate::MAX_CELLS_PER_CARRIER
            )),
        ));
    }
    let mcc = &c.mcc.get_ref().0;
    if mcc.len() != 3 {
        return Err(ctx.err(
            c.mcc.span(),
            format!("MCC {mcc:?} must be exactly 3 digits"),
            Some("e.g. mcc = \"310\"".to_owned()),
        ));
    }
    let mnc = &c.mnc.get_ref().0;
    if !(2..=3).contains(&mnc.len()) {
        return Err(ctx.err(
            c.mnc.span(),
            format!("MNC {mnc:?} must be 2 or 3 digits"),
            Some("e.g. mnc = \"410\"".to_owned()),
        ));
    }
    let prefix = c.msisdn_prefix.get_ref();
    let digits = prefix
        .strip_prefix('+')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let Some(digits) = digits else {
        return Err(ctx.err(
            c.msisdn_prefix.span(),
            format!("MSISDN prefix {prefix:?} must be `+` followed by digits"),
            Some("e.g. msisdn_prefix = \"+1202\"".to_owned()),
        ));
    };
    let index_digits = (subscribers - 1).to_string().len();
    if digits.len() + index_digits > MAX_MSISDN_DIGITS {
        return Err(ctx.err(
            c.msisdn_prefix.span(),
            format!("MSISDN prefix +{digits} leaves too few digits for {subscribers} subscribers"),
            Some(format!("an MSISDN has at most {MAX_MSISDN_DIGITS} digits; this carrier needs {index_digits} after the prefix")),
        ));
    }
    let population = population(ctx, c, apps)?;
    let warrants = warrants(ctx, c, subscribers)?;
    Ok(Carrier {
        name,
        subscribers,
        cells: *c.cells.get_ref(),
        mcc: mcc.clone(),
        mnc: mnc.clone(),
        msisdn_prefix: digits.to_owned(),
        population,
        warrants,
    })
}

fn population(ctx: &Ctx<'_>, c: &RawCarrier, apps: &[App]) -> Result<Vec<(String, f64)>> {
    let entries = &c.population.get_ref().0;
    let app_names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    if entries.is_empty() {
        return Err(ctx.err(
            c.population.span(),
            "the population table is empty",
            Some(format!(
                "give each app a share, e.g. `{} = 1.0`",
                app_names[0]
            )),
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (key, share) in entries {
        let app = key.get_ref();
        if !app_names.contains(&app.as_str()) {
            let hint =
                suggest(app, &app_names).map(|h| format!("{h}; population keys are [[app]] names"));
            return Err(ctx.err(
                key.span(),
                format!("unknown app `{app}` in population"),
                hint,
            ));
        }
        out.push((app.clone(), share.get_ref().0));
    }
    let sum: f64 = out.iter().map(|(_, s)| s).sum();
    if (sum - 1.0).abs() > SHARE_TOLERANCE {
        let listed = out
            .iter()
            .map(|(a, s)| format!("{a} = {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ctx.err(
            c.population.span(),
            format!(
                "population shares of carrier `{}` sum to {sum}, not 1",
                c.name.get_ref().0
            ),
            Some(format!(
                "shares are fractions of the subscribers and must add up to 1 ({listed})"
            )),
        ));
    }
    Ok(out)
}

fn warrants(ctx: &Ctx<'_>, c: &RawCarrier, subscribers: u32) -> Result<Warrants> {
    let Some(raw) = &c.warrants else {
        return Ok(Warrants {
            count: 0,
            content_share: 1.0,
            explicit: Vec::new(),
        });
    };
    let name = &c.name.get_ref().0;
    let mut explicit: Vec<ExplicitWarrant> = Vec::with_capacity(raw.explicit.len());
    for w in &raw.explicit {
        let subscriber = *w.subscriber.get_ref();
        if subscriber >= subscribers {
            return Err(ctx.err(
                w.subscriber.span(),
                format!("subscriber {subscriber} is out of range: carrier `{name}` has {subscribers} subscribers"),
                Some(format!("subscribers are numbered 0 to {}", subscribers - 1)),
            ));
        }
        if explicit.iter().any(|e| e.subscriber == subscriber) {
            return Err(ctx.err(
                w.subscriber.span(),
                format!("subscriber {subscriber} of carrier `{name}` has two explicit warrants"),
                Some("list each target once; use kind = \"iri+content\" for both kinds".to_owned()),
            ));
        }
        explicit.push(ExplicitWarrant {
            subscriber,
            kind: match w.kind {
                RawWarrantKind::Iri => WarrantKind::Iri,
                RawWarrantKind::IriAndContent => WarrantKind::IriAndContent,
            },
            agency: w.agency.clone(),
        });
    }
    let count = raw.count.as_ref().map_or(0, |c| *c.get_ref());
    if let Some(spanned) = &raw.count {
        let available = u64::from(subscribers) - explicit.len() as u64;
        if u64::from(count) > available {
            let hint = if explicit.is_empty() {
                format!("use a count from 0 to {subscribers}")
            } else {
                format!("drawn targets are distinct from the {} explicit ones: use a count from 0 to {available}", explicit.len())
            };
            return Err(ctx.err(
                spanned.span(),
                format!("warrant count {count} exceeds the {available} subscribers of carrier `{name}` available"),
                Some(hint),
            ));
        }
    }
    Ok(Warrants {
        count,
        content_share: raw.content_share.map_or(1.0, |p| p.0),
        explicit,
    })
}

fn traffic(ctx: &Ctx<'_>, raw: RawTraffic, total_subscribers: u64) -> Result<Traffic> {
    let number = |v: &Option<Spanned<f64>>,
                  default: f64,
                  key: &str,
                  ok: &dyn Fn(f64) -> bool,
                  rule: &str| {
        match v {
            None => Ok(default),
            Some(s) if s.get_ref().is_finite() && ok(*s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(ctx.err(
                s.span(),
                format!("{key} must be {rule}, not {}", s.get_ref()),
                Some(format!("e.g. {key} = {default:?}")),
            )),
        }
    };
    let max_degree = total_subscribers.saturating_sub(1) as f64;
    let mean_degree = number(
        &raw.mean_degree,
        6.0,
        "mean_degree",
        &|x| x > 0.0,
        "greater than 0",
    )?;
    if mean_degree > max_degree {
        // Present only when given: the default 6.0 may exceed a tiny lab's size.
        let span = raw.mean_degree.as_ref().map(Spanned::span);
        let message = format!("mean_degree {mean_degree} exceeds the {max_degree} other subscribers a subscriber can know");
        let hint = format!("use a mean_degree of at most {max_degree}");
        return Err(match span {
            Some(span) => ctx.err(span, message, Some(hint)),
            None => ctx.err_at_start(
                message,
                format!("add [traffic] mean_degree = {max_degree} or fewer"),
            ),
        });
    }
    let degree_exponent = number(
        &raw.degree_exponent,
        2.5,
        "degree_exponent",
        &|x| x > 2.0,
        "greater than 2",
    )?;
    let messages = number(
        &raw.messages_per_contact_per_day,
        2.0,
        "messages_per_contact_per_day",
        &|x| x >= 0.0,
        "0 or more",
    )?;
    let message_length = match raw.message_length {
        None => MessageLength {
            min: 20,
            max: 160,
            distribution: LengthDistribution::Lognormal,
            median: DEFAULT_MEDIAN_LENGTH,
            sigma: DEFAULT_LENGTH_SIGMA,
        },
        Some(len) => {
            let (lo, hi) = MESSAGE_LENGTH_BOUNDS;
            let (min, max) = (*len.min.get_ref(), *len.max.get_ref());
            let bounds = format!("{lo} <= min <= max <= {hi}");
            if min < lo {
                return Err(ctx.err(
                    len.min.span(),
                    format!("message_length.min {min} is below {lo}"),
                    Some(bounds),
                ));
            }
            if max > hi {
                return Err(ctx.err(
                    len.max.span(),
                    format!("message_length.max {max} is above {hi}"),
                    Some(bounds),
                ));
            }
            if min > max {
                return Err(ctx.err(
                    len.max.span(),
                    format!("message_length.max {max} is below min {min}"),
                    Some(bounds),
                ));
            }
            let positive = |v: &Option<Spanned<f64>>, key: &str, default: f64, hi: f64| match v {
                None => Ok(default),
                Some(x) if x.get_ref().is_finite() && *x.get_ref() > 0.0 && *x.get_ref() <= hi => {
                    Ok(*x.get_ref())
                }
                Some(x) => Err(ctx.err(
                    x.span(),
                    format!("message_length.{key} must be above 0 and at most {hi}"),
                    Some(format!("e.g. {key} = {default}")),
                )),
            };
            let median = positive(&len.median, "median", DEFAULT_MEDIAN_LENGTH, 1000.0)?;
            let sigma = positive(&len.sigma, "sigma", DEFAULT_LENGTH_SIGMA, 3.0)?;
            let distribution = match len.distribution.as_ref().map(|d| *d.get_ref()) {
                None | Some(RawLengthDistribution::Lognormal) => LengthDistribution::Lognormal,
                Some(RawLengthDistribution::Natural) => LengthDistribution::Natural,
            };
            MessageLength {
                min,
                max,
                distribution,
                median,
                sigma,
            }
        }
    };
    let community_size = raw.community_size.as_ref().map_or(0, |c| *c.get_ref());
    if community_size == 1 {
        let span = raw
            .community_size
            .as_ref()
            .map(Spanned::span)
            .unwrap_or_default();
        return Err(ctx.err(
            span,
            "community_size 1 leaves nobody to know inside a community",
            Some("use 0 (no communities) or 2 or more, e.g. community_size = 50".to_owned()),
        ));
    }
    let diurnal = crate::countermeasures::diurnal(ctx, &raw.diurnal)?;
    let calls = number(
        &raw.calls_per_contact_per_day,
        0.0,
        "calls_per_contact_per_day",
        &|x| x >= 0.0,
        "0 or more",
    )?;
    let call_duration = match &raw.call_duration {
        None => Duration::from_secs(120),
        Some(d) if d.get_ref().0 >= Duration::from_secs(1) => d.get_ref().0,
        Some(d) => {
            return Err(ctx.err(
                d.span(),
                "call_duration must be at least 1s",
                Some("the mean from answer to hang-up, e.g. call_duration = \"2m\"".to_owned()),
            ))
        }
    };
    let media_interval = match &raw.media_interval {
        None => Duration::from_millis(20),
        Some(d) if d.get_ref().0 >= Duration::from_millis(1) => d.get_ref().0,
        Some(d) => {
            return Err(ctx.err(
                d.span(),
                "media_interval must be at least 1ms",
                Some("one codec frame per packet: \"20ms\" is 50 packets/s; a larger interval sends fewer, bigger packets".to_owned()),
            ))
        }
    };
    let media_payload = match &raw.media_payload {
        None => 32,
        Some(p) if (16..=1200).contains(p.get_ref()) => *p.get_ref(),
        Some(p) => {
            return Err(ctx.err(
                p.span(),
                format!("media_payload {} is outside 16..=1200 bytes", p.get_ref()),
                Some("codec bytes per packet, e.g. 32 (AMR 12.2 kbit/s, 20 ms)".to_owned()),
            ))
        }
    };
    let answer_probability = raw.answer_probability.map_or(0.8, |p| p.0);
    let busy_probability = raw.busy_probability.map_or(0.05, |p| p.0);
    Ok(Traffic {
        calls_per_contact_per_day: calls,
        call_duration,
        answer_probability,
        busy_probability,
        call_drop_probability: raw.call_drop_probability.map_or(0.01, |p| p.0),
        media_interval,
        media_payload,
        mean_degree,
        degree_exponent,
        cross_carrier: raw.cross_carrier.map_or(0.3, |p| p.0),
        messages_per_contact_per_day: messages,
        reply_probability: raw.reply_probability.map_or(0.6, |p| p.0),
        reply_delay: raw.reply_delay.map_or(Duration::from_secs(180), |d| d.0),
        message_length,
        community_size,
        community_mixing: raw.community_mixing.map_or(0.2, |p| p.0),
        diurnal,
    })
}

fn adversary(
    ctx: &Ctx<'_>,
    raw: RawAdversary,
    apps: &[App],
    carriers: &[Carrier],
    duration: Duration,
    early_data: crate::model::EarlyData,
) -> Result<Adversary> {
    let names: Vec<&str> = carriers.iter().map(|c| c.name.as_str()).collect();
    if raw.vantage.get_ref().is_empty() {
        return Err(ctx.err(
            raw.vantage.span(),
            "the adversary has no vantage point",
            Some(format!(
                "add [[adversary.vantage]] with kind = \"mediation\" and carrier = \"{}\"",
                names[0]
            )),
        ));
    }
    let mut vantage: Vec<Vantage> = Vec::new();
    for v in raw.vantage.get_ref() {
        let kind = match *v.kind.get_ref() {
            RawVantageKind::Mediation => VantageKind::Mediation,
            RawVantageKind::CoreTap => VantageKind::CoreTap,
            RawVantageKind::CallRecords => VantageKind::CallRecords,
            RawVantageKind::EdgeRouter => VantageKind::EdgeRouter,
            RawVantageKind::OttServer => VantageKind::OttServer,
        };
        let carrier = match (&v.carrier, kind) {
            (Some(c), VantageKind::OttServer) => {
                return Err(ctx.err(
                    c.span(),
                    "an ott-server vantage belongs to no carrier: it is the messaging \
                     provider's own server",
                    Some("remove `carrier` from this [[adversary.vantage]]".to_owned()),
                ))
            }
            (None, VantageKind::OttServer) => String::new(),
            (None, _) => {
                return Err(ctx.err(
                    v.kind.span(),
                    format!("a {} vantage needs `carrier`", kind.as_str()),
                    Some(format!(
                        "add carrier = \"{}\": the carrier whose system is compromised",
                        names[0]
                    )),
                ))
            }
            (Some(c), _) => {
                let carrier = c.get_ref();
                if !names.contains(&carrier.as_str()) {
                    let hint = suggest(carrier, &names)
                        .map(|h| format!("{h}; a vantage names a [[carrier]]"));
                    return Err(ctx.err(c.span(), format!("unknown carrier `{carrier}`"), hint));
                }
                carrier.clone()
            }
        };
        let share =
            match (&v.share, kind) {
                (None, VantageKind::EdgeRouter) => 0.05,
                (None, _) => 1.0,
                (Some(s), VantageKind::EdgeRouter) => s.get_ref().0,
                (Some(s), _) => return Err(ctx.err(
                    s.span(),
                    format!(
                        "`share` applies only to edge-router vantage points, not {}",
                        kind.as_str()
                    ),
                    Some(
                        "remove `share`; a mediation node, core tap or record store is held whole"
                            .to_owned(),
                    ),
                )),
            };
        if vantage
            .iter()
            .any(|x| x.kind == kind && x.carrier == carrier)
        {
            let span = v.carrier.as_ref().map_or(v.kind.span(), Spanned::span);
            let what = if carrier.is_empty() {
                format!("vantage {} is listed twice", kind.as_str())
            } else {
                format!("vantage {} of `{carrier}` is listed twice", kind.as_str())
            };
            return Err(ctx.err(
                span,
                what,
                Some("list each (kind, carrier) once".to_owned()),
            ));
        }
        vantage.push(Vantage {
            kind,
            carrier,
            share,
        });
    }
    let known = crate::capability::Known {
        apps,
        carriers,
        duration,
    };
    let theft = crate::capability::thefts(ctx, &raw.theft, &known)?;
    let size_bucket = match &raw.size_bucket {
        Some(b) if !(1..=crate::MAX_SIZE_BUCKET).contains(b.get_ref()) => {
            return Err(ctx.err(
                b.span(),
                format!(
                    "size_bucket must be between 1 and {} bytes",
                    crate::MAX_SIZE_BUCKET
                ),
                Some("a bucket width such as size_bucket = 20".to_owned()),
            ))
        }
        Some(b) => *b.get_ref(),
        None => crate::DEFAULT_SIZE_BUCKET,
    };
    Ok(Adversary {
        name: raw.name.unwrap_or_else(|| "adversary".to_owned()),
        vantage,
        quantum: raw.quantum.unwrap_or(false),
        size_bucket,
        weak_rng: crate::capability::weak_rngs(ctx, &raw.weak_rng, &known)?,
        onpath: crate::capability::onpaths(ctx, &raw.onpath, &known, &theft, early_data)?,
        theft,
    })
}
