//! The experiments E1–E8 and the identity-hiding experiments of
//! `docs/noise-matrix-experiments.md`, run against one pattern, and the levels derived from
//! their outcomes.
//!
//! Runs are shared: one passive run serves E1 and E3; one takeover run per (target, keys held)
//! serves every message of that target; "revealed after" keys are applied offline by replaying
//! the attacker's view of the session through a fresh [`Engine`] with the bigger keyring. No
//! table of expected levels exists here: a level is whatever the attacks achieved.

use std::collections::BTreeMap;
use std::sync::Arc;

use adversary::engine::{Blocked, Engine, EngineError, Keyring, Premessages};

use crate::harness::{peer, run, Plan, RunResult};
use crate::setup::{Kind, Setup};
use crate::{Evidence, IdentityHiding, MessageRow, PatternMatrix, Role};

/// What the offline engine made of one message of a view.
#[derive(Clone, Debug)]
struct Readout {
    payload: Option<Vec<u8>>,
    /// Statics the message revealed.
    statics: Vec<(Role, [u8; 32])>,
    /// Why there is no payload (blocked or failed).
    why: Option<String>,
    /// Whether an AEAD tag check failed here.
    bad_tag: bool,
}

/// Replays `view` through a fresh engine holding `keys` (and `psk`).
fn replay(
    setup: &Setup,
    pre: &Premessages,
    view: &[(Role, Vec<u8>)],
    keys: &Keyring,
    psk: Option<[u8; 32]>,
) -> Vec<Readout> {
    let mut out = Vec::with_capacity(view.len());
    let mut engine = match Engine::new(&setup.protocol, &setup.prologue, pre, psk) {
        Ok(e) => e,
        Err(e) => {
            return view
                .iter()
                .map(|_| Readout {
                    payload: None,
                    statics: Vec::new(),
                    why: Some(format!("engine: {e}")),
                    bad_tag: false,
                })
                .collect()
        }
    };
    let mut dead: Option<String> = None;
    for (from, bytes) in view {
        if let Some(d) = &dead {
            out.push(Readout {
                payload: None,
                statics: Vec::new(),
                why: Some(d.clone()),
                bad_tag: false,
            });
            continue;
        }
        match engine.read(*from, bytes, keys) {
            Ok(r) => out.push(Readout {
                why: r.blocked.as_ref().map(|b| match (b, engine.blocked()) {
                    (Blocked::EarlierBlock, Some(first)) => format!("no key since {first}"),
                    _ => b.to_string(),
                }),
                payload: r.payload,
                statics: r.statics_learned,
                bad_tag: false,
            }),
            Err(e) => {
                let bad_tag = matches!(e, EngineError::BadTag { .. });
                let why = e.to_string();
                dead = Some(format!("after an earlier failure: {why}"));
                out.push(Readout {
                    payload: None,
                    statics: Vec::new(),
                    why: Some(why),
                    bad_tag,
                });
            }
        }
    }
    out
}

/// The directory as pre-messages (what the attacker knows about pre-shared statics).
fn directory_premessages(setup: &Setup) -> Premessages {
    Premessages {
        initiator_static: setup.premessage_key(Role::Initiator),
        responder_static: setup.premessage_key(Role::Responder),
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Initiator => "initiator",
        Role::Responder => "responder",
    }
}

/// A set of secrets, by who holds them.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Secrets {
    initiator: bool,
    responder: bool,
    psk: bool,
}

impl Secrets {
    fn with(mut self, role: Role) -> Secrets {
        match role {
            Role::Initiator => self.initiator = true,
            Role::Responder => self.responder = true,
        }
        self
    }
    fn with_psk(mut self, yes: bool) -> Secrets {
        self.psk |= yes;
        self
    }
    fn union(self, o: Secrets) -> Secrets {
        Secrets {
            initiator: self.initiator || o.initiator,
            responder: self.responder || o.responder,
            psk: self.psk || o.psk,
        }
    }
    fn names(self, setup: &Setup) -> Vec<String> {
        let mut v = Vec::new();
        if self.initiator && setup.directory_key(Role::Initiator).is_some() {
            v.push("initiator static".to_owned());
        }
        if self.responder && setup.directory_key(Role::Responder).is_some() {
            v.push("responder static".to_owned());
        }
        if self.psk && setup.has_psk() {
            v.push("psk".to_owned());
        }
        v
    }
    fn keyring(self, setup: &Setup, base: &Keyring) -> Keyring {
        let mut k = base.clone();
        for (yes, role) in [
            (self.initiator, Role::Initiator),
            (self.responder, Role::Responder),
        ] {
            if let (true, Some(p)) = (yes, setup.private_copy(role)) {
                k.add_private(*p);
            }
        }
        k
    }
    fn psk(self, setup: &Setup) -> Option<[u8; 32]> {
        if self.psk {
            setup.psk
        } else {
            None
        }
    }
    fn label(self) -> String {
        format!(
            "i{}r{}p{}",
            u8::from(self.initiator),
            u8::from(self.responder),
            u8::from(self.psk)
        )
    }
}

/// Runs, cached by plan.
struct Runs {
    setup: Arc<Setup>,
    cache: BTreeMap<String, Arc<RunResult>>,
}

impl Runs {
    fn passive(&mut self) -> Arc<RunResult> {
        self.get("passive".into(), Plan::Passive)
    }

    fn takeover(&mut self, target: Role, held: Secrets) -> Arc<RunResult> {
        let setup = Arc::clone(&self.setup);
        let plan = Plan::Takeover {
            target,
            held: held.keyring(&setup, &Keyring::new()),
            psk: held.psk(&setup),
        };
        self.get(
            format!("takeover-{}-{}", role_name(target), held.label()),
            plan,
        )
    }

    fn get(&mut self, key: String, plan: Plan) -> Arc<RunResult> {
        if let Some(r) = self.cache.get(&key) {
            return Arc::clone(r);
        }
        let r = Arc::new(run(&self.setup, plan, &key));
        self.cache.insert(key, Arc::clone(&r));
        r
    }
}

/// Did the attacker read position `p` in run `r`, with `revealed` secrets added after the
/// session? Returns the evidence sentence either way.
fn read_in(
    setup: &Setup,
    r: &RunResult,
    p: usize,
    held: Secrets,
    revealed: Secrets,
    what: &str,
) -> (bool, String) {
    let n = p + 1;
    if r.sent[p].is_none() {
        let mut why = format!("{what}: the sender never sent message {n}");
        if let Some(f) = &r.attacker_failure {
            why.push_str(&format!(" (attacker: {f})"));
        }
        if let Some((role, d)) = r.deaths.first() {
            why.push_str(&format!(" ({} died: {d})", role_name(*role)));
        }
        return (false, why);
    }
    if r.view.len() <= p {
        return (
            false,
            format!("{what}: message {n} not in the attacker's view"),
        );
    }
    let keys = held.union(revealed);
    let out = replay(
        setup,
        &directory_premessages(setup),
        &r.view,
        &keys.keyring(setup, &r.keyring),
        keys.psk(setup),
    );
    let ro = &out[p];
    match &ro.payload {
        Some(pl) if pl[..] == setup.markers[p][..] => (
            true,
            format!("{what}: read message {n}, the marker matches"),
        ),
        Some(_) => (
            false,
            format!("{what}: message {n} decrypted to something else than the sender's marker"),
        ),
        None => (
            false,
            format!(
                "{what}: {}",
                ro.why.clone().unwrap_or_else(|| "no key".into())
            ),
        ),
    }
}

fn takeover_label(r: &RunResult) -> String {
    match r.takeover_at {
        Some(k) => format!("takeover at message {k}"),
        None => "takeover (never triggered: no message addressed to the target)".into(),
    }
}

/// One experiment's outcome over its attempts: success if any attempt succeeded.
fn combine(
    attempts: Vec<(bool, String)>,
    held: Secrets,
    revealed: Secrets,
    setup: &Setup,
) -> Evidence {
    let success = attempts.iter().any(|(ok, _)| *ok);
    let why: Vec<String> = if success {
        attempts
            .into_iter()
            .filter(|(ok, _)| *ok)
            .map(|(_, w)| w)
            .take(1)
            .collect()
    } else {
        attempts.into_iter().map(|(_, w)| w).collect()
    };
    Evidence {
        success,
        held: held.names(setup),
        revealed: revealed.names(setup),
        why,
    }
}

/// An active read experiment on message `p`: the passive attempt `no_takeover` (already run with
/// the same keys), a takeover of the sender holding `held` with `revealed` given after, and, for
/// psk patterns, the takeover with the timing reversed (`reversed`: what is held instead, the psk
/// revealed after).
fn active_read(
    runs: &mut Runs,
    setup: &Setup,
    p: usize,
    no_takeover: &(bool, String),
    held: Secrets,
    revealed: Secrets,
    reversed: Option<(Secrets, &str)>,
) -> Evidence {
    let s = setup.sequence[p].from;
    let mut attempts = vec![(no_takeover.0, format!("no takeover: {}", no_takeover.1))];
    let r = runs.takeover(s, held);
    attempts.push(read_in(setup, &r, p, held, revealed, &takeover_label(&r)));
    if let Some((held2, what)) = reversed {
        let r = runs.takeover(s, held2);
        let label = format!("{} ({what})", takeover_label(&r));
        attempts.push(read_in(
            setup,
            &r,
            p,
            held2,
            Secrets::default().with_psk(true),
            &label,
        ));
    }
    combine(attempts, held, revealed, setup)
}

/// Runs every experiment against `setup`.
pub(crate) fn run_all(setup: Setup) -> PatternMatrix {
    let setup = Arc::new(setup);
    let mut runs = Runs {
        setup: Arc::clone(&setup),
        cache: BTreeMap::new(),
    };
    let none = Secrets::default();
    let psk_all = setup.has_psk();
    let passive = runs.passive();
    let mut rows = Vec::new();
    for (p, step) in setup.sequence.iter().enumerate() {
        let s = step.from;
        let rc = peer(s);
        let mut ev: BTreeMap<String, Evidence> = BTreeMap::new();

        // E1: passive.
        let e1 = read_in(&setup, &passive, p, none, none, "passive");
        ev.insert("E1".into(), combine(vec![e1.clone()], none, none, &setup));

        // E2: active, nothing held.
        ev.insert(
            "E2".into(),
            active_read(&mut runs, &setup, p, &e1, none, none, None),
        );

        // E3: passive, psk held, recipient's static revealed after.
        let held = none.with_psk(psk_all);
        let rev = none.with(rc);
        let e3 = read_in(&setup, &passive, p, held, rev, "passive");
        ev.insert("E3".into(), combine(vec![e3.clone()], held, rev, &setup));

        // E4: active, psk held, recipient's static revealed after (or, psk patterns, the timing
        // reversed).
        let reversed = psk_all.then_some((none.with(rc), "recipient static held, psk revealed"));
        ev.insert(
            "E4".into(),
            active_read(&mut runs, &setup, p, &e3, held, rev, reversed),
        );

        // E5: active, sender's static and psk held, recipient's static revealed after.
        let held = none.with(s).with_psk(psk_all);
        let no_takeover = read_in(&setup, &passive, p, held, rev, "passive");
        let reversed = psk_all.then_some((none.with(s).with(rc), "statics held, psk revealed"));
        ev.insert(
            "E5".into(),
            active_read(&mut runs, &setup, p, &no_takeover, held, rev, reversed),
        );

        // E6 / E7: forgery toward the recipient.
        for (name, held) in [
            ("E6", none),
            (
                "E7",
                none.with(rc)
                    .with_psk(psk_all && setup.directory_key(s).is_some()),
            ),
        ] {
            let r = runs.takeover(rc, held);
            let ok = r.accepted[p].as_deref() == Some(&setup.attacker_markers[p][..]);
            let why = if ok {
                format!(
                    "{}: the {} accepted the attacker's payload at message {}",
                    takeover_label(&r),
                    role_name(rc),
                    p + 1
                )
            } else {
                let mut w = format!(
                    "{}: the {} did not accept a forged message {}",
                    takeover_label(&r),
                    role_name(rc),
                    p + 1
                );
                if let Some(f) = &r.attacker_failure {
                    w.push_str(&format!(" (attacker: {f})"));
                }
                if let Some((role, d)) = r.deaths.iter().find(|(role, _)| *role == rc) {
                    w.push_str(&format!(" ({} dropped the session: {d})", role_name(*role)));
                }
                w
            };
            ev.insert(name.into(), combine(vec![(ok, why)], held, none, &setup));
        }

        // E8: replay the sender's recorded messages 1..n to a fresh recipient.
        let recorded: Vec<(usize, Vec<u8>)> = (0..=p)
            .filter(|q| setup.sequence[*q].from == s)
            .filter_map(|q| passive.sent[q].clone().map(|b| (q, b)))
            .collect();
        let r = runs.get(
            format!("replay-{}-{p}", role_name(rc)),
            Plan::Replay {
                recipient: rc,
                recorded,
            },
        );
        let ok = r.accepted[p].as_deref() == Some(&setup.markers[p][..]);
        let why = if ok {
            format!(
                "a fresh {} accepted the recorded message {}",
                role_name(rc),
                p + 1
            )
        } else {
            match r.deaths.iter().find(|(role, _)| *role == rc) {
                Some((_, d)) => format!("a fresh {} rejected the replay: {d}", role_name(rc)),
                None => format!("a fresh {} never accepted message {}", role_name(rc), p + 1),
            }
        };
        ev.insert("E8".into(), combine(vec![(ok, why)], none, none, &setup));

        let hit = |k: &str| ev.get(k).is_some_and(|e| e.success);
        let destination = if hit("E1") {
            0
        } else if hit("E2") {
            1
        } else if hit("E3") {
            2
        } else if hit("E4") {
            3
        } else if hit("E5") {
            4
        } else {
            5
        };
        let source = if hit("E6") {
            0
        } else if hit("E7") {
            1
        } else {
            2
        };
        rows.push(MessageRow {
            index: p + 1,
            direction: if s == Role::Initiator { "->" } else { "<-" },
            kind: match step.kind {
                Kind::Handshake => "handshake",
                Kind::Transport => "transport",
            },
            tokens: step.display.clone(),
            source,
            destination,
            experiments: ev.iter().map(|(k, e)| (k.clone(), e.success)).collect(),
            evidence: ev,
        });
    }
    let (ih, ih_evidence) = identity_hiding(&setup, &mut runs);
    PatternMatrix {
        pattern: setup.pattern.clone(),
        protocol: setup.protocol.clone(),
        messages: rows,
        identity_hiding: ih,
        identity_evidence: ih_evidence,
        runs: runs.cache.len(),
    }
}

/// Whether a candidate check tells the true candidate from the false one: some message the
/// true candidate decrypts (tag verified) fails its tag under the false one.
fn distinguishes(truth: &[Readout], other: &[Readout]) -> Option<usize> {
    truth
        .iter()
        .zip(other)
        .position(|(t, o)| (t.payload.is_some() || !t.statics.is_empty()) && o.bad_tag)
}

fn learned(out: &[Readout], role: Role, key: Option<[u8; 32]>) -> Option<usize> {
    let key = key?;
    out.iter()
        .position(|r| r.statics.iter().any(|(who, k)| *who == role && *k == key))
}

/// The identity-hiding experiments (spec section 7.8) for both parties.
fn identity_hiding(
    setup: &Arc<Setup>,
    runs: &mut Runs,
) -> (IdentityHiding, BTreeMap<String, Vec<String>>) {
    let mut levels = [None, None];
    let mut evidence = BTreeMap::new();
    for (i, x) in [Role::Initiator, Role::Responder].into_iter().enumerate() {
        let Some(xkey) = setup.directory_key(x) else {
            continue;
        };
        let y = peer(x);
        let none = Secrets::default();
        let mut why = Vec::new();
        let level = if setup.transmits_static(x).is_some() {
            let pre = directory_premessages(setup);
            let passive = runs.passive();
            let t0 = learned(
                &replay(setup, &pre, &passive.view, &Keyring::new(), None),
                x,
                Some(xkey),
            );
            let t1_run = runs.takeover(x, none);
            let t1 = learned(
                &replay(setup, &pre, &t1_run.view, &t1_run.keyring, None),
                x,
                Some(xkey),
            );
            let ykeys = none.with(y).keyring(setup, &Keyring::new());
            let t3 = learned(
                &replay(setup, &pre, &passive.view, &ykeys, None),
                x,
                Some(xkey),
            );
            let t4 = learned(
                &replay(
                    setup,
                    &pre,
                    &t1_run.view,
                    &none.with(y).keyring(setup, &t1_run.keyring),
                    None,
                ),
                x,
                Some(xkey),
            );
            for (name, hit, what) in [
                ("T0", t0, "passive"),
                ("T1", t1, "active, taking over the peer's role"),
                ("T3", t3, "passive, peer's static revealed after"),
                ("T4", t4, "active, peer's static revealed after"),
            ] {
                why.push(match hit {
                    Some(q) => {
                        format!("{name} ({what}): decrypted the static in message {}", q + 1)
                    }
                    None => format!("{name} ({what}): static not recovered"),
                });
            }
            if t0.is_some() {
                0
            } else if t1.is_some() {
                if x == Role::Responder {
                    1
                } else {
                    2
                }
            } else if t3.is_some() {
                4
            } else if t4.is_some() {
                6
            } else {
                8
            }
        } else if setup.is_premessage(x) {
            candidate_checks(setup, runs, x, &mut why)
        } else {
            continue;
        };
        levels[i] = Some(level);
        evidence.insert(role_name(x).to_owned(), why);
    }
    (
        IdentityHiding {
            initiator: levels[0],
            responder: levels[1],
        },
        evidence,
    )
}

/// Q3, Q4, Q2, Q5 for a party `x` whose static is pre-shared with its peer.
fn candidate_checks(setup: &Arc<Setup>, runs: &mut Runs, x: Role, why: &mut Vec<String>) -> u8 {
    let y = peer(x);
    let truth = setup.private_copy(x).map(|k| *k).unwrap_or_default();
    let false_key = *setup.stranger.private;
    let unknown = setup.unknown.public;
    let pub_of = |k: &[u8; 32]| {
        let mut kr = Keyring::new();
        kr.add_private(*k)
    };
    let pre_with = |role: Role, key: [u8; 32], other: Option<[u8; 32]>| {
        let mut pre = Premessages {
            initiator_static: None,
            responder_static: None,
        };
        let slot = |r: Role| {
            if setup.is_premessage(r) {
                Some(unknown)
            } else {
                None
            }
        };
        pre.initiator_static = slot(Role::Initiator);
        pre.responder_static = slot(Role::Responder);
        match role {
            Role::Initiator => pre.initiator_static = Some(key),
            Role::Responder => pre.responder_static = Some(key),
        }
        if let Some(o) = other {
            match peer(role) {
                Role::Initiator => pre.initiator_static = Some(o),
                Role::Responder => pre.responder_static = Some(o),
            }
        }
        pre
    };
    let passive = runs.passive();

    // Q3: passive, candidate private key of x.
    let check = |cand: &[u8; 32]| {
        let mut kr = Keyring::new();
        let p = kr.add_private(*cand);
        replay(setup, &pre_with(x, p, None), &passive.view, &kr, None)
    };
    if let Some(q) = distinguishes(&check(&truth), &check(&false_key)) {
        why.push(format!(
            "Q3 (passive, candidate private key): message {} verifies only under the true key",
            q + 1
        ));
        return 3;
    }
    why.push("Q3 (passive, candidate private key): no tag tells the candidates apart".into());

    // Q4: passive, candidate pair (responder private key, initiator public key); x's part varies.
    let (r_true, i_true) = (
        setup.private_copy(Role::Responder).map(|k| *k),
        setup.directory_key(Role::Initiator),
    );
    if let (Some(r_priv), Some(i_pub)) = (r_true, i_true) {
        let check = |r_priv: [u8; 32], i_pub: [u8; 32]| {
            let mut kr = Keyring::new();
            let r_pub = kr.add_private(r_priv);
            let pre = Premessages {
                initiator_static: setup.is_premessage(Role::Initiator).then_some(i_pub),
                responder_static: setup.is_premessage(Role::Responder).then_some(r_pub),
            };
            // A transmitted initiator static is read off the wire; the candidate must match it.
            let out = replay(setup, &pre, &passive.view, &kr, None);
            if setup.is_premessage(Role::Initiator) {
                out
            } else {
                out.into_iter()
                    .map(|mut r| {
                        if r.statics
                            .iter()
                            .any(|(w, k)| *w == Role::Initiator && *k != i_pub)
                        {
                            r.bad_tag = true;
                        }
                        r
                    })
                    .collect()
            }
        };
        let (t, f) = match x {
            Role::Responder => (check(r_priv, i_pub), check(false_key, i_pub)),
            Role::Initiator => (check(r_priv, i_pub), check(r_priv, pub_of(&false_key))),
        };
        if let Some(q) = distinguishes(&t, &f) {
            why.push(format!("Q4 (passive, candidate pair of responder private and initiator public key): message {} verifies only under the true pair", q + 1));
            return 5;
        }
    }
    why.push("Q4 (passive, candidate responder-private/initiator-public pair): no tag tells the candidates apart".into());

    // Q2: one active run initiating to responder x with the attacker's own keys, then x's public
    // key as a candidate offline.
    if x == Role::Responder {
        let probe = Arc::new(setup.with_static(Role::Initiator, &setup.attacker_static));
        let held = {
            let mut k = Keyring::new();
            k.add_private(*setup.attacker_static.private);
            k
        };
        let r = run(
            &probe,
            Plan::Takeover {
                target: Role::Responder,
                held,
                psk: None,
            },
            "q2",
        );
        let cand = |key: [u8; 32]| {
            let pre = Premessages {
                initiator_static: probe.premessage_key(Role::Initiator),
                responder_static: Some(key),
            };
            replay(&probe, &pre, &r.view, &r.keyring, None)
        };
        if let Some(q) = distinguishes(
            &cand(setup.directory_key(x).unwrap_or(unknown)),
            &cand(setup.stranger.public),
        ) {
            why.push(format!("Q2 (one active run as initiator, candidate public key offline): message {} verifies only under the true key", q + 1));
            return 9;
        }
        why.push("Q2 (active probe as initiator): no tag tells the candidates apart".into());
    }

    // Q5: one active run to the responder claiming to be initiator x, then x's private key as
    // a candidate offline.
    if x == Role::Initiator {
        let r = runs.takeover(y, Secrets::default());
        let cand = |k: [u8; 32]| {
            let mut kr = r.keyring.clone();
            let p = kr.add_private(k);
            let pre = Premessages {
                initiator_static: Some(p),
                responder_static: setup.premessage_key(Role::Responder),
            };
            replay(setup, &pre, &r.view, &kr, None)
        };
        if let Some(q) = distinguishes(&cand(truth), &cand(false_key)) {
            why.push(format!("Q5 (active run claiming to be the initiator, candidate private key offline): message {} verifies only under the true key", q + 1));
            return 7;
        }
        why.push(
            "Q5 (active run claiming to be the initiator): no tag tells the candidates apart"
                .into(),
        );
    }
    8
}
