//! What every node may read: the carrier's numbering plan and subscriber database, the apps
//! and where each subscriber is. Read-only while the run goes on; nodes never see the network or
//! the ground truth.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use scenario::AppKind;
use simcore::{Duration, FixedMap, Timestamp};

use crate::error::CarrierError;
use crate::ids::{Identity, Subscriber};
use crate::mobility::Mobility;

/// The read-only directory of a run.
#[derive(Clone)]
pub(crate) struct Directory {
    /// Every subscriber, by index.
    pub subs: Vec<Subscriber>,
    /// Every subscriber's identities as shared strings, by index: what its call records hold.
    pub ids: Vec<Identity>,
    /// Subscriber index by MSISDN (the numbering plan / home location register); lookups only.
    pub by_msisdn: FixedMap<String, usize>,
    /// Every app, in scenario order.
    pub apps: Vec<AppInfo>,
    /// Where every subscriber is over time (the location register).
    pub mobility: Arc<Mobility>,
    /// When Signal devices are connected to their server (set up before the run starts).
    pub presence: Presence,
}

/// Offline schedule of one subscriber: offline while `(t + phase) mod 2P < P`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offline {
    pub period: u64,
    pub phase: u64,
}

impl Offline {
    pub(crate) fn online(&self, t: Timestamp) -> bool {
        (t.as_nanos().wrapping_add(self.phase)) % (2 * self.period) >= self.period
    }
    pub(crate) fn next_online(&self, t: Timestamp) -> Timestamp {
        let pos = t.as_nanos().wrapping_add(self.phase) % (2 * self.period);
        if pos >= self.period {
            t
        } else {
            t + Duration::from_nanos(self.period - pos)
        }
    }
}

/// Which devices are connected when: subscribers with no schedule are always online.
#[derive(Clone, Debug, Default)]
pub(crate) struct Presence {
    pub offline: BTreeMap<usize, Offline>,
}

impl Presence {
    /// Whether subscriber `sub`'s device is connected at `t`.
    pub(crate) fn online(&self, sub: usize, t: Timestamp) -> bool {
        self.offline.get(&sub).is_none_or(|o| o.online(t))
    }
    /// The first time from `t` on when subscriber `sub`'s device is connected.
    pub(crate) fn next_online(&self, sub: usize, t: Timestamp) -> Timestamp {
        self.offline.get(&sub).map_or(t, |o| o.next_online(t))
    }
}

impl Directory {
    /// The subscriber with `msisdn`, if any.
    pub(crate) fn lookup(&self, msisdn: &str) -> Option<usize> {
        self.by_msisdn.get(msisdn).copied()
    }

    /// The app subscriber `sub` uses.
    pub(crate) fn app_of(&self, sub: usize) -> &AppInfo {
        &self.apps[self.subs[sub].app]
    }

    /// Whether subscriber `sub` is provisioned for the carrier's encrypted messaging (its SMS
    /// reach it through the packet gateway's tunnel), as the subscriber database says.
    pub(crate) fn uses_carrier_encryption(&self, sub: usize) -> bool {
        matches!(self.app_of(sub).kind, AppKind::CarrierEncrypted)
    }

    /// The address of subscriber `sub`.
    pub(crate) fn ip(&self, sub: usize) -> Ipv4Addr {
        self.subs[sub].ip
    }
}

/// An app with what its Noise pattern needs.
#[derive(Clone, Debug)]
pub(crate) struct AppInfo {
    pub name: String,
    pub label: String,
    pub kind: AppKind,
    pub init_needs_rs: bool,
    pub resp_needs_rs: bool,
    pub init_needs_s: bool,
    pub resp_needs_s: bool,
    pub psk: bool,
    pub one_way: bool,
}

impl AppInfo {
    pub(crate) fn new(app: &scenario::App) -> Result<Self, CarrierError> {
        let mut info = AppInfo {
            name: app.name.clone(),
            label: app.kind.label(),
            kind: app.kind.clone(),
            init_needs_rs: false,
            resp_needs_rs: false,
            init_needs_s: false,
            resp_needs_s: false,
            psk: false,
            one_way: false,
        };
        if let AppKind::Noise { protocol, .. } = &app.kind {
            let p: snow::params::NoiseParams = protocol
                .parse()
                .map_err(|_| proto::ProtoError::UnknownProtocol(protocol.clone()))?;
            let pat = p.handshake.pattern;
            info.init_needs_rs = pat.need_known_remote_pubkey(true);
            info.resp_needs_rs = pat.need_known_remote_pubkey(false);
            info.init_needs_s = pat.needs_local_static_key(true);
            info.resp_needs_s = pat.needs_local_static_key(false);
            info.psk = p.handshake.is_psk();
            info.one_way = pat.is_oneway();
        }
        Ok(info)
    }

    pub(crate) fn protocol(&self) -> Option<&str> {
        match &self.kind {
            AppKind::Noise { protocol, .. } => Some(protocol),
            _ => None,
        }
    }

    pub(crate) fn server_tunnel(&self) -> bool {
        matches!(
            self.kind,
            AppKind::Noise {
                server_tunnel: true,
                ..
            }
        ) || matches!(&self.kind, AppKind::Signal(o) if o.server_tunnel)
    }

    pub(crate) fn pin(&self) -> bool {
        matches!(self.kind, AppKind::Noise { pin_keys: true, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_schedule_alternates() {
        let o = Offline {
            period: 10,
            phase: 0,
        };
        let t = |n| Timestamp::ZERO + Duration::from_nanos(n);
        assert!(!o.online(t(0)) && !o.online(t(9)) && o.online(t(10)) && !o.online(t(20)));
        assert_eq!(o.next_online(t(3)), t(10));
        assert_eq!(o.next_online(t(12)), t(12));
    }
}
