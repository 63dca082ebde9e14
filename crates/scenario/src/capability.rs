//! Checks of the adversary's declared capabilities: `[[adversary.theft]]`,
//! `[[adversary.weak_rng]]` and `[[adversary.onpath]]` (`quantum` needs none).
//!
//! Each rule points at the value that breaks it: an unknown app or carrier at its name (with the
//! closest known one), a key that does not apply at that key, a theft that cannot happen at the
//! value that makes it impossible.

use core::ops::Range;

use simcore::Duration;
use toml::Spanned;

use crate::error::{suggest, ScenarioError};
use crate::model::{
    App, AppKind, Carrier, DropHow, OnPath, OnPathMode, SecretKind, Theft, WeakRngSpec, Who,
};
use crate::raw::{
    RawDropHow, RawOnPath, RawOnPathMode, RawSecretKind, RawTheft, RawWeakRng, RawWho,
};
use crate::units::format_duration;
use crate::validate::Ctx;

type Result<T> = core::result::Result<T, ScenarioError>;

/// Default and bounds of `entropy_bits`.
const ENTROPY_BITS_DEFAULT: u8 = 12;
const ENTROPY_BITS_RANGE: (i64, i64) = (1, 16);

/// What the capability checks refer to.
pub(crate) struct Known<'a> {
    pub apps: &'a [App],
    pub carriers: &'a [Carrier],
    pub duration: Duration,
}

impl Known<'_> {
    fn app_names(&self) -> Vec<&str> {
        self.apps.iter().map(|a| a.name.as_str()).collect()
    }

    /// The app named by `name`, or an error at it with the closest known name.
    fn app<'k>(&'k self, ctx: &Ctx<'_>, name: &Spanned<String>) -> Result<&'k App> {
        let n = name.get_ref();
        self.apps.iter().find(|a| a.name == *n).ok_or_else(|| {
            let hint =
                suggest(n, &self.app_names()).map(|h| format!("{h}; apps are [[app]] names"));
            ctx.err(name.span(), format!("unknown app `{n}`"), hint)
        })
    }

    /// The noise app named by `name` (`what` says why a noise app is needed).
    fn noise_app<'k>(
        &'k self,
        ctx: &Ctx<'_>,
        name: &Spanned<String>,
        what: &str,
    ) -> Result<(&'k App, &'k str)> {
        let app = self.app(ctx, name)?;
        match &app.kind {
            AppKind::Noise { protocol, .. } => Ok((app, protocol.as_str())),
            other => {
                let noise: Vec<&str> = self
                    .apps
                    .iter()
                    .filter(|a| matches!(a.kind, AppKind::Noise { .. }))
                    .map(|a| a.name.as_str())
                    .collect();
                let hint = if noise.is_empty() {
                    "the scenario has no noise app".to_owned()
                } else {
                    format!("noise apps: {}", quoted(&noise))
                };
                Err(ctx.err(
                    name.span(),
                    format!("app `{}` is {}: {what}", app.name, other.label()),
                    Some(hint),
                ))
            }
        }
    }

    /// Checks that `name` is a carrier.
    fn carrier(&self, ctx: &Ctx<'_>, name: &Spanned<String>) -> Result<String> {
        let n = name.get_ref();
        if self.carriers.iter().any(|c| c.name == *n) {
            return Ok(n.clone());
        }
        let names: Vec<&str> = self.carriers.iter().map(|c| c.name.as_str()).collect();
        let hint = suggest(n, &names).map(|h| format!("{h}; carriers are [[carrier]] names"));
        Err(ctx.err(name.span(), format!("unknown carrier `{n}`"), hint))
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error at a key that does not apply.
fn not_here(ctx: &Ctx<'_>, span: Range<usize>, key: &str, why: &str) -> ScenarioError {
    ctx.err(
        span,
        format!("`{key}` does not apply {why}"),
        Some(format!("remove `{key}`")),
    )
}

/// `[[adversary.theft]]` entries.
pub(crate) fn thefts(ctx: &Ctx<'_>, raw: &[RawTheft], known: &Known<'_>) -> Result<Vec<Theft>> {
    raw.iter().map(|t| theft(ctx, t, known)).collect()
}

fn theft(ctx: &Ctx<'_>, t: &RawTheft, known: &Known<'_>) -> Result<Theft> {
    let secret = match t.secret.get_ref() {
        RawSecretKind::Static => SecretKind::Static,
        RawSecretKind::Psk => SecretKind::Psk,
        RawSecretKind::SessionState => SecretKind::SessionState,
        RawSecretKind::DeviceState => SecretKind::DeviceState,
    };
    let who = match t.who.get_ref() {
        RawWho::Subscribers => Who::Subscribers,
        RawWho::OttServer => Who::OttServer,
        RawWho::CarrierGateway => Who::CarrierGateway,
    };
    let at = t.at.get_ref().0;
    let mut app = None;
    let mut carrier = None;
    match who {
        Who::Subscribers => {
            let Some(name) = &t.app else {
                return Err(ctx.err(
                    t.who.span(),
                    "a theft from subscribers needs `app`",
                    Some(format!(
                        "add `app = \"...\"` naming a noise app ({})",
                        quoted(
                            &known
                                .apps
                                .iter()
                                .filter(|a| matches!(a.kind, AppKind::Noise { .. }))
                                .map(|a| a.name.as_str())
                                .collect::<Vec<_>>()
                        )
                    )),
                ));
            };
            let why = format!(
                "only noise apps hold {} secrets on the handset",
                secret.as_str()
            );
            let (a, protocol) =
                match crate::signal::signal_theft_app(ctx, known.apps, name, secret)? {
                    Some(()) => (known.app(ctx, name)?, ""),
                    None => known.noise_app(ctx, name, &why)?,
                };
            if secret == SecretKind::Psk && !protocol.contains("psk") {
                let psk_apps: Vec<&str> = known
                    .apps
                    .iter()
                    .filter(|a| matches!(&a.kind, AppKind::Noise { protocol, .. } if protocol.contains("psk")))
                    .map(|a| a.name.as_str())
                    .collect();
                return Err(ctx.err(
                    name.span(),
                    format!("app `{}` ({protocol}) uses no pre-shared key", a.name),
                    Some(if psk_apps.is_empty() {
                        "psk theft needs an app with a psk pattern, e.g. pattern = \"XXpsk3\""
                            .to_owned()
                    } else {
                        format!("psk apps: {}", quoted(&psk_apps))
                    }),
                ));
            }
            app = Some(a.name.clone());
            if let Some(c) = &t.carrier {
                carrier = Some(known.carrier(ctx, c)?);
            }
        }
        Who::OttServer | Who::CarrierGateway => {
            if let Some(a) = &t.app {
                return Err(not_here(
                    ctx,
                    a.span(),
                    "app",
                    &format!("to a theft from who = \"{}\"", who.as_str()),
                ));
            }
            if let Some(s) = &t.share {
                return Err(not_here(
                    ctx,
                    s.span(),
                    "share",
                    &format!("to a theft from who = \"{}\" (there is one)", who.as_str()),
                ));
            }
            if secret != SecretKind::Static {
                return Err(ctx.err(
                    t.secret.span(),
                    format!(
                        "{} holds no {} secret: only its static key",
                        if who == Who::OttServer {
                            "the OTT server"
                        } else {
                            "a carrier gateway"
                        },
                        secret.as_str()
                    ),
                    Some("use secret = \"static\", or steal from who = \"subscribers\"".to_owned()),
                ));
            }
            match (&t.carrier, who) {
                (Some(c), Who::OttServer) => {
                    return Err(not_here(
                        ctx,
                        c.span(),
                        "carrier",
                        "to the OTT server, which is outside every carrier",
                    ))
                }
                (Some(c), _) => carrier = Some(known.carrier(ctx, c)?),
                (None, Who::CarrierGateway) => {
                    return Err(ctx.err(
                        t.who.span(),
                        "a theft from a carrier gateway needs `carrier`",
                        Some("add `carrier = \"...\"` naming a [[carrier]]".to_owned()),
                    ))
                }
                (None, _) => {}
            }
        }
    }
    if matches!(secret, SecretKind::SessionState | SecretKind::DeviceState) && at > known.duration {
        return Err(ctx.err(
            t.at.span(),
            format!(
                "session state stolen at {} is after the traffic ends ({})",
                format_duration(at),
                format_duration(known.duration)
            ),
            Some(format!(
                "session keys live only while the run does: use an `at` up to {}",
                format_duration(known.duration)
            )),
        ));
    }
    Ok(Theft {
        at,
        secret,
        who,
        app,
        carrier,
        share: t.share.as_ref().map_or(1.0, |s| s.get_ref().0),
    })
}

/// `[[adversary.weak_rng]]` entries.
pub(crate) fn weak_rngs(
    ctx: &Ctx<'_>,
    raw: &[RawWeakRng],
    known: &Known<'_>,
) -> Result<Vec<WeakRngSpec>> {
    let mut out = Vec::with_capacity(raw.len());
    for w in raw {
        let (app, _) = known.noise_app(
            ctx,
            &w.app,
            "a weak RNG matters only for the ephemeral keys of noise apps",
        )?;
        let entropy_bits = match &w.entropy_bits {
            None => ENTROPY_BITS_DEFAULT,
            Some(b) => {
                let (lo, hi) = ENTROPY_BITS_RANGE;
                let v = *b.get_ref();
                if !(lo..=hi).contains(&v) {
                    return Err(ctx.err(
                        b.span(),
                        format!("entropy_bits {v} is outside {lo}..={hi}"),
                        Some(format!(
                            "use {lo} to {hi} bits (the Debian OpenSSL flaw left 15); default {ENTROPY_BITS_DEFAULT}"
                        )),
                    ));
                }
                v as u8
            }
        };
        out.push(WeakRngSpec {
            app: app.name.clone(),
            share: w.share.map_or(1.0, |p| p.0),
            entropy_bits,
        });
    }
    Ok(out)
}

/// A `mitm` on a signal app: the takeover of the victims' sessions with their stolen device
/// state (`carrier::onpath`, `signal_mitm`). It needs a `device-state` theft of the app's
/// subscribers, envelopes the core can see (no server tunnel), clear sender addresses (the
/// thief cannot open the victim's envelopes sealed to the peer's identity key) and clear
/// ratchet headers (header keys are not followed).
fn signal_mitm<'k>(
    ctx: &Ctx<'_>,
    name: &Spanned<String>,
    known: &'k Known<'_>,
    thefts: &[Theft],
) -> Result<&'k App> {
    let app = known.app(ctx, name)?;
    let AppKind::Signal(opts) = &app.kind else {
        return Ok(app);
    };
    let stolen = thefts.iter().any(|t| {
        t.secret == SecretKind::DeviceState
            && t.who == Who::Subscribers
            && t.app.as_deref() == Some(app.name.as_str())
    });
    let bad = |what: &str, hint: String| {
        ctx.err(
            name.span(),
            format!("mitm on signal app `{}` {what}", app.name),
            Some(hint),
        )
    };
    if !stolen {
        return Err(bad(
            "needs the victims' device state: a Signal session has no handshake to answer, \
             only a stolen ratchet state lets a man in the middle take it over",
            format!(
                "add [[adversary.theft]] with secret = \"device-state\", who = \"subscribers\", \
                 app = \"{}\" (the mitm takes over the victims' sessions from its `at`)",
                app.name
            ),
        ));
    }
    if opts.server_tunnel {
        return Err(bad(
            "cannot see the envelopes: they are inside the server tunnel",
            "set server_tunnel = false in the app".to_owned(),
        ));
    }
    if opts.sealed_sender {
        return Err(bad(
            "cannot take over sealed-sender sessions: the victim's envelopes are sealed to the \
             peer's identity key, which the thief does not hold",
            "set sealed_sender = false in the app".to_owned(),
        ));
    }
    if opts.header_encryption {
        return Err(bad(
            "does not follow header keys",
            "set header_encryption = false in the app".to_owned(),
        ));
    }
    Ok(app)
}

/// `[[adversary.onpath]]` entries.
pub(crate) fn onpaths(
    ctx: &Ctx<'_>,
    raw: &[RawOnPath],
    known: &Known<'_>,
    thefts: &[Theft],
    early_data: crate::model::EarlyData,
) -> Result<Vec<OnPath>> {
    let mut out = Vec::with_capacity(raw.len());
    for o in raw {
        let carrier = known.carrier(ctx, &o.carrier)?;
        let mode = match o.mode.get_ref() {
            RawOnPathMode::Mitm => OnPathMode::Mitm,
            RawOnPathMode::Tamper => OnPathMode::Tamper,
            RawOnPathMode::Replay => OnPathMode::Replay,
            RawOnPathMode::Drop => OnPathMode::Drop,
            RawOnPathMode::Inject => OnPathMode::Inject,
            RawOnPathMode::Replay0Rtt => OnPathMode::Replay0Rtt,
        };
        let app = if mode == OnPathMode::Mitm
            && matches!(known.app(ctx, &o.app)?.kind, AppKind::Signal(_))
        {
            signal_mitm(ctx, &o.app, known, thefts)?
        } else if mode == OnPathMode::Mitm {
            known
                .noise_app(
                    ctx,
                    &o.app,
                    "a man in the middle attacks end-to-end Noise handshakes",
                )?
                .0
        } else if mode == OnPathMode::Replay0Rtt {
            let app = known
                .noise_app(
                    ctx,
                    &o.app,
                    "replay-0rtt replays a Noise handshake's first message",
                )?
                .0;
            if early_data != crate::model::EarlyData::First {
                return Err(ctx.err(
                    o.mode.span(),
                    "replay-0rtt replays the early data of handshake message 1, but no app \
                     sends any there",
                    Some(
                        "set early_data = true (or \"first\") in [scenario], so that message 1 \
                         carries each session's first text"
                            .to_owned(),
                    ),
                ));
            }
            app
        } else {
            known.app(ctx, &o.app)?
        };
        if mode != OnPathMode::Mitm {
            if let Some(s) = &o.own_static {
                return Err(not_here(
                    ctx,
                    s.span(),
                    "own_static",
                    &format!("to mode = \"{}\", only to \"mitm\"", mode.as_str()),
                ));
            }
        }
        if mode != OnPathMode::Drop {
            let extra = [
                ("drop_every", o.drop_every.as_ref().map(Spanned::span)),
                ("drop_how", o.drop_how.as_ref().map(Spanned::span)),
            ];
            if let Some((key, Some(span))) = extra.into_iter().find(|(_, s)| s.is_some()) {
                return Err(not_here(
                    ctx,
                    span,
                    key,
                    &format!("to mode = \"{}\", only to \"drop\"", mode.as_str()),
                ));
            }
        }
        let drop_every =
            match &o.drop_every {
                Some(n) if *n.get_ref() == 0 => return Err(ctx.err(
                    n.span(),
                    "drop_every must be at least 1",
                    Some(
                        "1 drops every envelope of the session, 3 every third (the 3rd, 6th, ...)"
                            .to_owned(),
                    ),
                )),
                Some(n) => *n.get_ref(),
                None => 1,
            };
        let drop_how = match o.drop_how.as_ref().map(|h| *h.get_ref()) {
            None | Some(RawDropHow::Delete) => DropHow::Delete,
            Some(RawDropHow::Once) => DropHow::Once,
            Some(RawDropHow::Always) => DropHow::Always,
        };
        out.push(OnPath {
            carrier,
            mode,
            drop_every,
            drop_how,
            app: app.name.clone(),
            share: o.share.map_or(1.0, |p| p.0),
            from: o.from.as_ref().map_or(Duration::ZERO, |d| d.0),
            own_static: o.own_static.as_ref().is_none_or(|b| *b.get_ref()),
        });
    }
    Ok(out)
}
