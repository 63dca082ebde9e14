//! The one trait a messaging protocol implements at the handset: how the phone runs an
//! end-to-end app over the OTT server. The implementations are [`super::noise::NoiseApp`] and
//! [`super::signal::Client`]; `build.rs` (Noise) and `signal_app.rs` (Signal) install one in each
//! handset of an end-to-end app. The handset owns what every app shares (the reliable link and
//! the tunnel to the server, countermeasure framing, voice) and hands the app the rest: the
//! user's messages that go end to end and the envelopes that come back.

use capture::Secret;
use proto::wire::OttEnvelope;

use super::{Env, Handset};
use crate::io::Io;
use crate::nodes::Outgoing;

/// An end-to-end messaging app as a handset runs it.
pub(crate) trait E2eApp {
    /// Sends the user's planned message `id`, now.
    fn send(
        &mut self,
        h: &mut Handset,
        env: &mut Env<'_>,
        io: &mut Io,
        id: usize,
        message: Outgoing,
    );

    /// An envelope of this app arrived from the OTT server.
    fn receive(&mut self, h: &mut Handset, env: &mut Env<'_>, io: &mut Io, envelope: OttEnvelope);

    /// A delayed receipt for session `session` is due (apps that hold receipts).
    fn receipt_due(
        &mut self,
        _h: &mut Handset,
        _env: &mut Env<'_>,
        _io: &mut Io,
        _session: u64,
        _content: Vec<u8>,
    ) {
    }

    /// The key server handed out some of this device's prekeys (apps with prekeys).
    fn prekeys_taken(&mut self, _h: &mut Handset, _env: &mut Env<'_>, _io: &mut Io) {}

    /// What a thief who copies the app's state now gets: everything it holds (`full`), or only
    /// its long-term identity (`!full`).
    fn secrets(&self, full: bool) -> Vec<Secret>;
}

impl Handset {
    /// Runs `f` on the handset's app (if it has one) with the handset beside it.
    pub(super) fn with_app(&mut self, f: impl FnOnce(&mut dyn E2eApp, &mut Handset)) {
        if let Some(mut app) = self.app.take() {
            f(app.as_mut(), self);
            self.app = Some(app);
        }
    }

    /// The key server handed out this device's prekeys.
    pub(crate) fn prekeys_taken(&mut self, env: &mut Env<'_>, io: &mut Io) {
        self.with_app(|app, h| app.prekeys_taken(h, env, io));
    }

    /// What a thief copying the handset's app state now gets (see [`E2eApp::secrets`]).
    pub(crate) fn app_secrets(&self, full: bool) -> Vec<Secret> {
        self.app
            .as_ref()
            .map(|a| a.secrets(full))
            .unwrap_or_default()
    }
}
