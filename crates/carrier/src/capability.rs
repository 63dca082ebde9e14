//! The adversary's declared capabilities, made real by the world that generated every key:
//! the key directory, stolen statics and psks, session state copied out of handsets at a time,
//! weak-RNG handsets, and a quantum X25519 oracle.
//!
//! Everything here is what a device or server actually held: a stolen static is the private key
//! the simulated handset used, stolen session state is the transport keys its live
//! [`NoiseSession`]s derived, and a weak handset's sessions really are seeded from
//! [`proto::weak::weak_session_seed`] of a few bits. The resulting [`capture::Capabilities`] go
//! to the adversary as values; the choices of targets are seeded draws, so a run stays a pure
//! function of `(scenario, seed)`.

use core::cell::RefCell;
use core::fmt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use capture::{Capabilities, DirectoryEntry, Owner, Secret, StolenSecret, WeakRng, X25519Oracle};
use proto::keys::{Psk, StaticKeypair};
use proto::snow::params::DHChoice;
use proto::snow::resolvers::CryptoResolver;
use rand_core::RngCore;
use scenario::{Scenario, SecretKind, Who};
use simcore::{SeedTree, Timestamp};
use zeroize::Zeroizing;

use crate::ids::Subscriber;

/// The seed-tree label of the OTT server's static key (as `World` generates it).
pub(crate) const OTT_STATIC: &str = "ott-static";
/// The seed-tree label of the packet gateways' static keys (child: the carrier name).
pub(crate) const PGW_STATIC: &str = "pgw-static";

/// Private keys by public key.
type KeyMap = BTreeMap<[u8; 32], Zeroizing<[u8; 32]>>;

/// One session-state theft still to happen: when, and from which subscribers.
struct SessionTheft {
    at: Timestamp,
    subs: BTreeSet<usize>,
}

/// The capability state of a run: built with the world, consulted when sessions are made,
/// acted on at theft times, turned into [`Capabilities`] at the end.
#[derive(Default)]
pub(crate) struct Capable {
    /// Weak-RNG subscribers and their entropy bits.
    weak: BTreeMap<usize, u8>,
    /// Session-state thefts, in time order (file order among equal times).
    session_thefts: Vec<SessionTheft>,
    /// Secrets stolen so far (statics and psks at build time, session state as it happens).
    stolen: Vec<(Timestamp, usize, StolenSecret)>,
    /// Every X25519 private key the world generated, by public key (only with `quantum`).
    keys: Option<RefCell<KeyMap>>,
    directory: Vec<DirectoryEntry>,
    weak_list: Vec<WeakRng>,
    /// `static` thefts from subscribers (signal apps take them from the device at the end).
    signal_statics: Vec<(Timestamp, BTreeSet<usize>)>,
    /// Public prekeys of Signal-style devices.
    signal_directory: Vec<capture::SignalDirectoryEntry>,
}

/// Draws `round(share * n)` distinct members of `pool` (kept in pool order) with `rng`.
fn choose(pool: &[usize], share: f64, rng: &mut simcore::SimRng) -> BTreeSet<usize> {
    let want = ((share * pool.len() as f64).round() as usize).min(pool.len());
    let mut v = pool.to_vec();
    for i in 0..want {
        let j = i + (rng.next_u64() % (v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(want);
    v.into_iter().collect()
}

impl Capable {
    /// Capabilities for `sc`: targets drawn from `seeds`, keys regenerated from it exactly as the
    /// world generates them. `statics[i]` is subscriber `i`'s static; `contacts` lists the
    /// planned (sender, recipient) pairs, for the psks a handset holds.
    pub(crate) fn new(
        sc: &Scenario,
        seeds: &SeedTree,
        subs: &[Subscriber],
        statics: &[Option<StaticKeypair>],
        contacts: &[(usize, usize)],
    ) -> Capable {
        let adv = &sc.adversary;
        let ott = StaticKeypair::generate(seeds.child(OTT_STATIC).key());
        let pgws: Vec<StaticKeypair> = sc
            .carriers
            .iter()
            .map(|c| StaticKeypair::generate(seeds.child(PGW_STATIC).child(&c.name).key()))
            .collect();
        let owner = |i: usize| Owner::Subscriber(subs[i].msisdn.clone());

        let mut directory: Vec<DirectoryEntry> = subs
            .iter()
            .filter_map(|s| {
                statics[s.index].as_ref().map(|k| DirectoryEntry {
                    owner: owner(s.index),
                    public: k.public,
                })
            })
            .collect();
        directory.push(DirectoryEntry {
            owner: Owner::OttServer,
            public: ott.public,
        });
        for (c, k) in sc.carriers.iter().zip(&pgws) {
            directory.push(DirectoryEntry {
                owner: Owner::CarrierGateway(c.name.clone()),
                public: k.public,
            });
        }

        let app_of = |i: usize| sc.apps.get(subs[i].app).map(|a| a.name.as_str());
        let mut stolen = Vec::new();
        let mut session_thefts = Vec::new();
        let mut signal_statics = Vec::new();
        for (n, t) in adv.theft.iter().enumerate() {
            let at = Timestamp::ZERO + t.at;
            let mut rng = seeds.child("theft").stream(&n.to_string());
            match t.who {
                Who::OttServer => stolen.push((
                    at,
                    n,
                    StolenSecret {
                        at,
                        owner: Owner::OttServer,
                        secret: static_secret(&ott),
                    },
                )),
                Who::CarrierGateway => {
                    let name = t.carrier.as_deref().unwrap_or_default();
                    if let Some(c) = sc.carriers.iter().position(|c| c.name == name) {
                        stolen.push((
                            at,
                            n,
                            StolenSecret {
                                at,
                                owner: Owner::CarrierGateway(name.to_owned()),
                                secret: static_secret(&pgws[c]),
                            },
                        ));
                    }
                }
                Who::Subscribers => {
                    let pool: Vec<usize> = subs
                        .iter()
                        .filter(|s| app_of(s.index) == t.app.as_deref())
                        .filter(|s| {
                            t.carrier
                                .as_deref()
                                .is_none_or(|c| sc.carriers[s.carrier].name == c)
                        })
                        .map(|s| s.index)
                        .collect();
                    let targets = choose(&pool, t.share, &mut rng);
                    match t.secret {
                        SecretKind::DeviceState => {
                            session_thefts.push(SessionTheft { at, subs: targets })
                        }
                        SecretKind::Static => {
                            signal_statics.push((at, targets.clone()));
                            for &i in &targets {
                                if let Some(k) = &statics[i] {
                                    stolen.push((
                                        at,
                                        n,
                                        StolenSecret {
                                            at,
                                            owner: owner(i),
                                            secret: static_secret(k),
                                        },
                                    ));
                                }
                            }
                        }
                        SecretKind::Psk => {
                            for &i in &targets {
                                let peers: BTreeSet<usize> = contacts
                                    .iter()
                                    .filter_map(|&(a, b)| match (a == i, b == i) {
                                        (true, _) => Some(b),
                                        (_, true) => Some(a),
                                        _ => None,
                                    })
                                    .filter(|&p| subs[p].app == subs[i].app)
                                    .collect();
                                for p in peers {
                                    let psk = session_psk(seeds, i, p);
                                    stolen.push((
                                        at,
                                        n,
                                        StolenSecret {
                                            at,
                                            owner: owner(i),
                                            secret: Secret::Psk {
                                                peer: owner(p),
                                                psk: Zeroizing::new(*psk.as_bytes()),
                                            },
                                        },
                                    ));
                                }
                            }
                        }
                        SecretKind::SessionState => {
                            session_thefts.push(SessionTheft { at, subs: targets })
                        }
                    }
                }
            }
        }
        session_thefts.sort_by_key(|t| t.at);

        let mut weak = BTreeMap::new();
        for (n, w) in adv.weak_rng.iter().enumerate() {
            let pool: Vec<usize> = subs
                .iter()
                .filter(|s| app_of(s.index) == Some(w.app.as_str()))
                .map(|s| s.index)
                .collect();
            let mut rng = seeds.child("weak-rng").stream(&n.to_string());
            for i in choose(&pool, w.share, &mut rng) {
                weak.entry(i).or_insert(w.entropy_bits);
            }
        }
        let weak_list = weak
            .iter()
            .map(|(&i, &bits)| WeakRng {
                owner: owner(i),
                address: subs[i].ip,
                entropy_bits: bits,
            })
            .collect();

        let keys = adv.quantum.then(|| {
            let mut m = BTreeMap::new();
            for k in statics.iter().flatten().chain([&ott]).chain(&pgws) {
                m.insert(k.public, k.private.clone());
            }
            RefCell::new(m)
        });
        Capable {
            weak,
            session_thefts,
            stolen,
            keys,
            directory,
            weak_list,
            signal_statics,
            signal_directory: Vec::new(),
        }
    }

    /// Whether the quantum oracle is collecting private keys.
    pub(crate) fn wants_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// Gives the quantum oracle more X25519 private keys (a Signal device's).
    pub(crate) fn learn_privates(&self, privates: Vec<&[u8; 32]>) {
        if let Some(keys) = &self.keys {
            let mut keys = keys.borrow_mut();
            for p in privates {
                let public = StaticKeypair::from_private(*p).public;
                keys.entry(public).or_insert_with(|| Zeroizing::new(*p));
            }
        }
    }

    /// `(time, subscriber)` of every `static` theft from subscribers.
    pub(crate) fn signal_static_targets(&self) -> Vec<(Timestamp, usize)> {
        self.signal_statics
            .iter()
            .flat_map(|(at, subs)| subs.iter().map(move |&i| (*at, i)))
            .collect()
    }

    /// The public prekeys of Signal-style devices, for the adversary.
    pub(crate) fn set_signal_directory(&mut self, directory: Vec<capture::SignalDirectoryEntry>) {
        self.signal_directory = directory;
    }

    /// The rng seed subscriber `sub`'s next session really uses, given the seed it would use
    /// with a good RNG (`strong`): on a weak handset, [`proto::weak::weak_session_seed`] of
    /// entropy drawn from `strong` and masked to its bits. With `quantum`, the session's
    /// ephemeral key is recorded for the oracle.
    pub(crate) fn session_seed(&self, sub: usize, strong: [u8; 32]) -> [u8; 32] {
        let seed = match self.weak.get(&sub) {
            Some(&bits) => {
                let raw = u32::from_le_bytes([strong[0], strong[1], strong[2], strong[3]]);
                proto::weak::weak_session_seed(proto::weak::mask_entropy(raw, bits))
            }
            None => strong,
        };
        if let Some(keys) = &self.keys {
            let private = proto::weak::ephemeral_private(seed, 0);
            let public = StaticKeypair::from_private(*private).public;
            keys.borrow_mut().insert(public, private);
        }
        seed
    }

    /// The times at which session state is stolen, ascending.
    pub(crate) fn session_theft_times(&self) -> Vec<Timestamp> {
        let mut v: Vec<Timestamp> = self.session_thefts.iter().map(|t| t.at).collect();
        v.dedup();
        v
    }

    /// Whether subscriber `sub`'s sessions are copied at time `at`.
    pub(crate) fn steals_sessions_of(&self, at: Timestamp, sub: usize) -> bool {
        self.session_thefts
            .iter()
            .any(|t| t.at == at && t.subs.contains(&sub))
    }

    /// Records a secret copied out of subscriber `owner`'s handset at `at` (a session-state
    /// theft, or at the end a `static` theft from a Signal device). Session keys are ordered
    /// by the theft they belong to.
    pub(crate) fn steal(&mut self, at: Timestamp, owner: Owner, secret: Secret) {
        let n = match secret {
            Secret::SessionState { .. } => self
                .session_thefts
                .iter()
                .position(|t| t.at == at)
                .unwrap_or(usize::MAX),
            _ => usize::MAX,
        };
        self.stolen
            .push((at, n, StolenSecret { at, owner, secret }));
    }

    /// The capabilities handed to the adversary (on-path records are added by the caller).
    pub(crate) fn into_capabilities(mut self) -> Capabilities {
        // Order: by theft time, then file order, then the order stolen.
        self.stolen.sort_by_key(|(at, n, _)| (*at, *n));
        Capabilities {
            stolen: self.stolen.into_iter().map(|(_, _, s)| s).collect(),
            weak_rng: self.weak_list,
            quantum: self.keys.map(|k| {
                Arc::new(WorldOracle {
                    keys: k.into_inner(),
                }) as Arc<dyn X25519Oracle>
            }),
            directory: self.directory,
            active: Vec::new(),
            signal_directory: self.signal_directory,
        }
    }
}

/// The psk subscribers `a` and `b` share, as `World` derives it.
pub(crate) fn session_psk(seeds: &SeedTree, a: usize, b: usize) -> Psk {
    let (a, b) = (a.min(b), a.max(b));
    Psk::new(seeds.child("psk").child(&format!("{a}-{b}")).key())
}

fn static_secret(k: &StaticKeypair) -> Secret {
    Secret::Static {
        public: k.public,
        private: k.private.clone(),
    }
}

/// The quantum computer: X25519 from public keys, backed by every private key the world made.
struct WorldOracle {
    keys: KeyMap,
}

impl fmt::Debug for WorldOracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorldOracle {{ {} keys }}", self.keys.len())
    }
}

impl X25519Oracle for WorldOracle {
    fn x25519(&self, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
        let (private, public) = match (self.keys.get(a), self.keys.get(b)) {
            (Some(p), _) => (p, b),
            (None, Some(p)) => (p, a),
            (None, None) => return None,
        };
        let mut dh =
            proto::crypto::SeededResolver::new([0; 32]).resolve_dh(&DHChoice::Curve25519)?;
        dh.set(&private[..]);
        let mut out = [0u8; 32];
        dh.dh(public, &mut out).ok()?;
        Some(out)
    }
}

impl crate::handset::Exposure for Capable {
    fn session_seed(&self, sub: usize, strong: [u8; 32]) -> [u8; 32] {
        Capable::session_seed(self, sub, strong)
    }

    fn wants_keys(&self) -> bool {
        Capable::wants_keys(self)
    }

    fn learn_privates(&self, privates: Vec<&[u8; 32]>) {
        Capable::learn_privates(self, privates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_answers_either_side_and_only_for_known_keys() {
        let a = StaticKeypair::from_private([1; 32]);
        let b = StaticKeypair::from_private([2; 32]);
        let stranger = StaticKeypair::from_private([3; 32]);
        let mut keys = BTreeMap::new();
        keys.insert(a.public, a.private.clone());
        let o = WorldOracle { keys };
        let ab = o.x25519(&a.public, &b.public).expect("a known");
        assert_eq!(o.x25519(&b.public, &a.public), Some(ab));
        assert!(o.x25519(&b.public, &stranger.public).is_none());
        assert_eq!(format!("{o:?}"), "WorldOracle { 1 keys }");
    }

    #[test]
    fn choose_takes_the_share_deterministically() {
        let pool: Vec<usize> = (0..10).collect();
        let mut r1 = SeedTree::new(5).stream("x");
        let mut r2 = SeedTree::new(5).stream("x");
        let a = choose(&pool, 0.5, &mut r1);
        assert_eq!(a.len(), 5);
        assert_eq!(a, choose(&pool, 0.5, &mut r2));
        let mut r = SeedTree::new(5).stream("x");
        assert_eq!(choose(&pool, 1.0, &mut r).len(), 10);
        assert!(choose(&pool, 0.0, &mut r).is_empty());
    }

    /// A small world with every kind of capability: what the world hands over is what the
    /// devices held.
    #[test]
    fn a_run_hands_over_what_devices_held() {
        let text = r#"
[scenario]
name = "caps"
description = "d"
duration = "20m"
seed = 3
[[app]]
name = "nn"
kind = "noise"
pattern = "NN"
server_tunnel = false
pin_keys = false
[[app]]
name = "xx"
kind = "noise"
pattern = "XXpsk3"
server_tunnel = false
[[carrier]]
name = "a"
subscribers = 12
cells = 1
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
population = { nn = 0.5, xx = 0.5 }
[traffic]
mean_degree = 3.0
messages_per_contact_per_day = 300.0
[adversary]
quantum = true
[[adversary.vantage]]
kind = "core-tap"
carrier = "a"
[[adversary.theft]]
at = "10m"
secret = "session-state"
who = "subscribers"
app = "xx"
[[adversary.theft]]
at = "30d"
secret = "psk"
who = "subscribers"
app = "xx"
share = 0.5
[[adversary.theft]]
at = "1d"
secret = "static"
who = "carrier-gateway"
carrier = "a"
[[adversary.weak_rng]]
app = "nn"
entropy_bits = 4
"#;
        let sc = scenario::parse("caps.toml", text).expect("valid");
        let out = crate::run(&sc, 3, &capture::active::Unarmed).expect("runs");
        let caps = &out.capabilities;
        // Directory: 12 subscriber statics, the OTT server, one gateway.
        assert_eq!(caps.directory.len(), 14);
        let kinds: Vec<(&str, u64)> = caps
            .stolen
            .iter()
            .map(|s| (s.secret.kind(), s.at.as_nanos()))
            .collect();
        let session_states = kinds.iter().filter(|k| k.0 == "session-state").count();
        assert!(session_states > 0, "{kinds:?}");
        assert!(kinds.iter().any(|k| k.0 == "psk"));
        assert!(kinds.windows(2).all(|w| w[0].1 <= w[1].1), "in time order");
        assert_eq!(caps.weak_rng.len(), 6);
        assert!(caps.weak_rng.iter().all(|w| w.entropy_bits == 4));
        // The oracle knows the gateway's static and answers DH queries with it.
        let o = caps.quantum.as_ref().expect("quantum");
        let gw = caps.directory.last().expect("gateway").public;
        let ott = caps.directory[12].public;
        assert!(o.x25519(&gw, &ott).is_some());
        assert!(o.x25519(&[9; 32], &[7; 32]).is_none());
        // Same seed, same capabilities.
        let again = crate::run(&sc, 3, &capture::active::Unarmed).expect("runs");
        assert_eq!(
            format!("{:?}", again.capabilities.stolen),
            format!("{:?}", caps.stolen)
        );
    }
}
