//! Validation of `kind = "signal"` apps and of the Signal-only keys of `[[app]]`
//! (`docs/scenario.md`, section "Signal apps").

use simcore::Duration;
use toml::Spanned;

use crate::error::ScenarioError;
use crate::model::{AppKind, SignalOptions};
use crate::raw::{RawApp, RawAppKind};
use crate::validate::Ctx;

/// Default one-time prekeys per device.
pub(crate) const DEFAULT_ONE_TIME_PREKEYS: u32 = 20;
/// Most one-time prekeys a device may upload at once.
const MAX_ONE_TIME_PREKEYS: u32 = 1000;

/// `Some(kind)` for a signal app, `None` for other kinds (after checking that they carry no
/// Signal-only key).
pub(crate) fn signal_app_kind(
    ctx: &Ctx<'_>,
    app: &RawApp,
) -> Result<Option<AppKind>, ScenarioError> {
    let kind = *app.kind.get_ref();
    let signal_only = [
        (
            "sealed_sender",
            app.sealed_sender.as_ref().map(Spanned::span),
        ),
        (
            "header_encryption",
            app.header_encryption.as_ref().map(Spanned::span),
        ),
        ("post_quantum", app.post_quantum.as_ref().map(Spanned::span)),
        (
            "one_time_prekeys",
            app.one_time_prekeys.as_ref().map(Spanned::span),
        ),
        (
            "offline_share",
            app.offline_share.as_ref().map(Spanned::span),
        ),
        (
            "offline_period",
            app.offline_period.as_ref().map(Spanned::span),
        ),
    ];
    if kind != RawAppKind::Signal {
        if let Some((key, Some(span))) = signal_only.into_iter().find(|(_, s)| s.is_some()) {
            return Err(ctx.err(
                span,
                format!("`{key}` applies only to signal apps"),
                Some(format!("remove `{key}`, or set kind = \"signal\"")),
            ));
        }
        return Ok(None);
    }
    for (key, span) in [
        ("pattern", app.pattern.as_ref().map(Spanned::span)),
        ("pin_keys", app.pin_keys.as_ref().map(Spanned::span)),
    ] {
        if let Some(span) = span {
            return Err(ctx.err(
                span,
                format!("`{key}` applies only to noise apps, and this app is kind = \"signal\""),
                Some(format!(
                    "remove `{key}`: signal apps use X3DH/PQXDH and the Double Ratchet"
                )),
            ));
        }
    }
    let one_time_prekeys = match &app.one_time_prekeys {
        Some(n) if *n.get_ref() > MAX_ONE_TIME_PREKEYS => {
            return Err(ctx.err(
                n.span(),
                format!(
                    "one_time_prekeys {} is above {MAX_ONE_TIME_PREKEYS}",
                    n.get_ref()
                ),
                Some("a device uploads a batch of 0 to 1000 one-time prekeys".to_owned()),
            ))
        }
        Some(n) => *n.get_ref(),
        None => DEFAULT_ONE_TIME_PREKEYS,
    };
    let offline_period = match &app.offline_period {
        Some(d) if d.get_ref().0 == Duration::ZERO => {
            return Err(ctx.err(
                d.span(),
                "offline_period must be above 0",
                Some("e.g. offline_period = \"20m\"".to_owned()),
            ))
        }
        Some(d) => d.get_ref().0,
        None => Duration::from_secs(600),
    };
    let flag =
        |b: &Option<Spanned<bool>>, default: bool| b.as_ref().map_or(default, |b| *b.get_ref());
    Ok(Some(AppKind::Signal(SignalOptions {
        sealed_sender: flag(&app.sealed_sender, false),
        receipts: flag(&app.receipts, true),
        header_encryption: flag(&app.header_encryption, false),
        post_quantum: flag(&app.post_quantum, true),
        one_time_prekeys,
        server_tunnel: flag(&app.server_tunnel, true),
        offline_share: app.offline_share.as_ref().map_or(0.0, |p| p.get_ref().0),
        offline_period,
    })))
}

/// A theft from the subscribers of app `name`: `Some(())` when it is a signal app and the
/// secret applies (`static`: identity key and signed prekey; `device-state`: everything the
/// device holds), `None` for other apps (validated as noise apps by the caller), an error for
/// `device-state` on a non-signal app or `psk` / `session-state` on a signal app.
pub(crate) fn signal_theft_app(
    ctx: &Ctx<'_>,
    apps: &[crate::model::App],
    name: &Spanned<String>,
    secret: crate::model::SecretKind,
) -> Result<Option<()>, ScenarioError> {
    use crate::model::SecretKind;
    let signal_apps: Vec<&str> = apps
        .iter()
        .filter(|a| matches!(a.kind, AppKind::Signal(_)))
        .map(|a| a.name.as_str())
        .collect();
    let is_signal = signal_apps.contains(&name.get_ref().as_str());
    match (is_signal, secret) {
        (true, SecretKind::Static | SecretKind::DeviceState) => Ok(Some(())),
        (true, _) => Err(ctx.err(
            name.span(),
            format!(
                "app `{}` is a signal app: it holds no {} secret",
                name.get_ref(),
                secret.as_str()
            ),
            Some(
                "use secret = \"device-state\" (everything the device holds) or \"static\" \
                 (identity key and signed prekey)"
                    .to_owned(),
            ),
        )),
        (false, SecretKind::DeviceState) => Err(ctx.err(
            name.span(),
            format!(
                "app `{}` is not a signal app: device-state theft applies to signal apps",
                name.get_ref()
            ),
            Some(if signal_apps.is_empty() {
                "the scenario has no signal app; noise apps: use secret = \"session-state\""
                    .to_owned()
            } else {
                format!("signal apps: {}", signal_apps.join(", "))
            }),
        )),
        (false, _) => Ok(None),
    }
}
