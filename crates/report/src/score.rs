//! Scoring findings against ground truth.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use adversary::Findings;
use carrier::{GroundTruth, RunOutput, RunStats};
use scenario::{Scenario, VantageKind};
use serde::Serialize;

/// The whole report of one run: what `--json` prints and `--out` saves as `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// The scenario's one-line description.
    pub description: String,
    /// The seed of the run.
    pub seed: u64,
    /// Simulated traffic duration, e.g. `"24h"`.
    pub duration: String,
    /// Per protocol, in label order.
    pub protocols: Vec<ProtocolScore>,
    /// What the adversary learned beyond message content.
    pub adversary: AdversarySummary,
    /// Network and transport counters.
    pub network: NetworkSummary,
    /// On-path attacks per targeted app and mode (empty without `[[adversary.onpath]]`).
    pub on_path: Vec<crate::attacks::AttackScore>,
    /// The key-theft timeline: what each declared capability newly exposed (empty without
    /// thefts, weak RNGs or `quantum`).
    pub key_theft: Vec<crate::theft::TheftScore>,
    /// What encryption did not hide: the metadata analyses scored against ground truth.
    pub metadata: crate::metadata::MetadataScore,
    /// Countermeasures beside their cost: bytes, added latency, leakage left.
    pub costs: crate::costs::CostScore,
}

/// The row of the protocol table a message is counted in: its protocol and, for a Signal-style
/// app, the app. Two Signal apps with the same key agreement (e.g. with and without one-time
/// prekeys) are different experiments, so they get a row each; every other protocol has one row
/// for all its apps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    /// The protocol.
    pub protocol: capture::ProtocolId,
    /// The app, for Signal-style apps only.
    pub app: Option<String>,
}

impl RowKey {
    /// The row of a message sent with `protocol` by app `app`.
    pub fn new(protocol: &capture::ProtocolId, app: &str) -> RowKey {
        RowKey {
            protocol: protocol.clone(),
            app: crate::protocols::scorer(protocol)
                .row_per_app()
                .then(|| app.to_owned()),
        }
    }

    /// The row of a ground-truth message.
    pub fn of(m: &carrier::TruthMessage) -> RowKey {
        RowKey::new(&m.protocol, &m.app)
    }

    /// The row's name in the report: the protocol label (`sms`, `noise:XX`), and for a Signal
    /// app `<label>:<app>` (`signal:signal-opk`, `signal+pq:signal-pqxdh`).
    pub fn label(&self) -> String {
        match &self.app {
            Some(app) => format!("{}:{app}", self.protocol.label()),
            None => self.protocol.label(),
        }
    }
}

/// One row's accumulators while the messages are counted.
struct RowAcc<'a> {
    key: RowKey,
    score: ProtocolScore,
    /// The row's conversations: unordered pairs of subscribers.
    convs: BTreeSet<(usize, usize)>,
    /// Unread messages by reason.
    why: BTreeMap<&'a str, usize>,
}

/// The rows met so far, and the row of each (protocol, app) met so far: a scan of a few
/// entries comparing an enum and a short string, instead of a label built per message.
#[derive(Default)]
struct Rows<'a> {
    seen: Vec<(&'a capture::ProtocolId, &'a str, usize)>,
    rows: Vec<RowAcc<'a>>,
}

impl<'a> Rows<'a> {
    /// The accumulators of `m`'s row, made when the row is met for the first time.
    fn row(&mut self, m: &'a carrier::TruthMessage) -> &mut RowAcc<'a> {
        let found = self
            .seen
            .iter()
            .find(|(p, a, _)| **p == m.protocol && *a == &*m.app)
            .map(|&(_, _, i)| i);
        let i = found.unwrap_or_else(|| {
            // A new (protocol, app): its row may be one met already (a protocol whose rows
            // are not per app), found by label.
            let key = RowKey::of(m);
            let label = key.label();
            let i = match self.rows.iter().position(|r| r.score.row == label) {
                Some(i) => i,
                None => {
                    self.rows.push(RowAcc {
                        score: ProtocolScore {
                            row: label,
                            protocol: m.protocol.label(),
                            app: key.app.clone(),
                            sessions: 0,
                            messages: 0,
                            messages_delivered: 0,
                            messages_read_by_adversary: 0,
                            messages_exposed_to_vantage: 0,
                            failures: BTreeMap::new(),
                            why_unreadable: Vec::new(),
                        },
                        key,
                        convs: BTreeSet::new(),
                        why: BTreeMap::new(),
                    });
                    self.rows.len() - 1
                }
            };
            self.seen.push((&m.protocol, &m.app, i));
            i
        });
        &mut self.rows[i]
    }
}

/// One row of the protocol table: one protocol, or one Signal-style app ([`RowKey`]).
#[derive(Clone, Debug, Serialize)]
pub struct ProtocolScore {
    /// The row's name, unique in the report: the protocol label, or `<label>:<app>` for a
    /// Signal-style app ([`RowKey::label`]).
    pub row: String,
    /// `sms`, `carrier-encrypted`, `noise:<pattern>`, `signal` or `signal+pq` (several rows may
    /// share it: one per Signal-style app).
    pub protocol: String,
    /// The app of a Signal-style row (`None` for every other protocol, whose row covers all
    /// its apps).
    pub app: Option<String>,
    /// Sessions: Noise handshakes started; for SMS-based protocols, conversations
    /// (unordered pairs that exchanged messages).
    pub sessions: usize,
    /// Messages sent.
    pub messages: usize,
    /// Messages the recipient received, exactly.
    pub messages_delivered: usize,
    /// Messages whose exact text the adversary produced.
    pub messages_read_by_adversary: usize,
    /// Messages that crossed at least one of the adversary's packet vantage points (their
    /// route passed a tapped core, or a content warrant covered an endpoint).
    pub messages_exposed_to_vantage: usize,
    /// Messages not delivered, with reasons (must be empty unless a session failed).
    pub failures: BTreeMap<String, usize>,
    /// Why the unread messages stayed unread.
    pub why_unreadable: Vec<UnreadableReason>,
}

/// A reason some messages stayed unreadable, with a count.
#[derive(Clone, Debug, Serialize)]
pub struct UnreadableReason {
    /// The explanation.
    pub reason: String,
    /// How many messages of the protocol it covers.
    pub messages: usize,
}

/// A recovered message shown as an example.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    /// The row of the message (from ground truth): its protocol label, `<label>:<app>` for a
    /// Signal-style app ([`RowKey::label`]).
    pub protocol: String,
    /// The text the adversary produced.
    pub text: String,
    /// Sender and recipient as the adversary saw them.
    pub from: Option<String>,
    /// Recipient as the adversary saw it.
    pub to: Option<String>,
    /// Where it was captured.
    pub seen_at: Vec<String>,
    /// How the adversary read it.
    pub method: String,
}

/// How well the adversary knows the warrant list.
#[derive(Clone, Debug, Serialize)]
pub struct WarrantScore {
    /// Warrants across all carriers.
    pub total: usize,
    /// Warrant targets the adversary learned, correctly.
    pub learned: usize,
    /// The learned entries: LIID, target, kind, agency.
    pub entries: Vec<adversary::LearnedWarrant>,
}

/// How well the adversary knows who talks to whom.
#[derive(Clone, Debug, Serialize)]
pub struct ContactScore {
    /// Pairs that really exchanged messages or calls.
    pub true_pairs: usize,
    /// Pairs the adversary reported.
    pub reported: usize,
    /// Reported pairs that are real.
    pub correct: usize,
    /// correct / reported (1 when nothing was reported).
    pub precision: f64,
    /// correct / true pairs.
    pub recall: f64,
}

/// The adversary's side of the report.
#[derive(Clone, Debug, Serialize)]
pub struct AdversarySummary {
    /// The adversary's name in the scenario.
    pub name: String,
    /// Its vantage points.
    pub vantage_points: Vec<String>,
    /// Number of warrant targets it learned (the list copied from the intercept systems).
    pub warrant_targets_learned: usize,
    /// Details of the warrant list it learned.
    pub warrants: WarrantScore,
    /// Contact graph recovered from what it saw.
    pub contacts: ContactScore,
    /// Messages the adversary read in total.
    pub messages_read: usize,
    /// Texts the adversary produced that match no sent message (must be 0).
    pub false_recoveries: usize,
    /// Up to three recovered messages per protocol, as examples.
    pub examples: Vec<Example>,
    /// What it captured but could not read, by channel and reason, with packet counts.
    pub unreadable: Vec<adversary::UnreadableSummary>,
    /// Static public keys it saw in the clear.
    pub static_keys_seen: usize,
    /// Intercept-related information records and content copies it parsed.
    pub iri_events: usize,
    /// Content-of-communication copies it parsed.
    pub cc_packets: usize,
    /// Packets it parsed, and those it could not.
    pub packets_parsed: usize,
    /// Packets it could not parse.
    pub parse_errors: usize,
}

/// Network and transport counters of the run.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkSummary {
    /// Subscribers over all carriers.
    pub subscribers: usize,
    /// The run's counters.
    #[serde(flatten)]
    pub stats: RunStats,
    /// Deliveries whose text matched nothing sent to that recipient (must be 0).
    pub integrity_errors: usize,
    /// Messages delivered twice (must be 0).
    pub duplicate_deliveries: usize,
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Which carriers' packets the adversary sees in full, and which subscribers' content it
/// receives through content warrants: used only to explain why a message stayed unread.
fn exposure(sc: &Scenario, run: &RunOutput) -> (BTreeSet<usize>, BTreeSet<String>) {
    let mut tapped = BTreeSet::new();
    let mut mediated = BTreeSet::new();
    for v in &sc.adversary.vantage {
        let Some(c) = sc.carriers.iter().position(|x| x.name == v.carrier) else {
            continue;
        };
        match v.kind {
            VantageKind::CoreTap => {
                tapped.insert(c);
            }
            VantageKind::Mediation => {
                mediated.insert(c);
            }
            VantageKind::CallRecords | VantageKind::EdgeRouter | VantageKind::OttServer => {}
        }
    }
    let mut content_targets = BTreeSet::new();
    for w in &run.warrants {
        let c = sc
            .carriers
            .iter()
            .position(|x| w.liid.starts_with(&format!("{}-", x.name.to_uppercase())));
        if c.is_some_and(|c| mediated.contains(&c)) && w.kind == capture::WarrantKind::IriAndContent
        {
            content_targets.insert(w.target_msisdn.clone());
        }
    }
    (tapped, content_targets)
}

/// The scorer's verdict on one message of the ground truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The message's id in the ground truth.
    pub message: usize,
    /// Whether the message crossed a vantage point of the adversary (a tapped core, a content
    /// warrant at a compromised mediation node, the messaging server).
    pub exposed: bool,
    /// `None` when the adversary produced the message's exact text; otherwise why it did not,
    /// in plain words.
    pub why_unread: Option<String>,
}

/// Per message of the ground truth, in id order: did the adversary read it, and if not, why.
/// [`score`] counts these; a parity check of two drivers compares them.
pub fn verdicts(sc: &Scenario, run: &RunOutput, findings: &Findings) -> Vec<Verdict> {
    let truth: &GroundTruth = &run.truth;
    let subs = &truth.subscribers;
    let mut read = vec![false; truth.messages.len()];
    for r in &findings.recovered {
        if let Some(m) = truth.message_by_text(&r.text) {
            read[m.id] = true;
        }
    }
    let (tapped, content_targets) = exposure(sc, run);
    // The messaging server relays every end-to-end message.
    let server_held = sc
        .adversary
        .vantage
        .iter()
        .any(|v| v.kind == VantageKind::OttServer);
    // What the adversary says is still missing for the sealed messages its capabilities bore
    // on, per (sender, recipient) in capture order: matched in send order to the unread
    // messages of the pair (the others keep the reason of a passive adversary).
    let mut sealed: BTreeMap<(&str, &str), VecDeque<&str>> = BTreeMap::new();
    for s in &findings.sealed_messages {
        sealed
            .entry((s.from.as_str(), s.to.as_str()))
            .or_default()
            .push_back(s.reason.as_str());
    }
    let mut out = Vec::with_capacity(truth.messages.len());
    for m in &truth.messages {
        let (f, t) = (&subs[m.from], &subs[m.to]);
        let exposed = (server_held && m.protocol.is_end_to_end())
            || tapped.contains(&f.carrier)
            || tapped.contains(&t.carrier)
            || content_targets.contains(&f.msisdn)
            || content_targets.contains(&t.msisdn);
        let why_unread = (!read[m.id]).then(|| {
            if !exposed {
                "never crossed a vantage point: both ends on carriers whose core is not tapped, \
                 and neither end under a content warrant at a compromised mediation node"
                    .to_string()
            } else {
                // The adversary's own reason, matched per sender -> recipient pair in send
                // order (only its capabilities give reasons; a pair uses one protocol).
                // Under sealed sender the adversary names only the recipient.
                let adversary = sealed
                    .get_mut(&(f.msisdn.as_str(), t.msisdn.as_str()))
                    .and_then(VecDeque::pop_front)
                    .or_else(|| {
                        sealed
                            .get_mut(&("", t.msisdn.as_str()))
                            .and_then(VecDeque::pop_front)
                    });
                crate::protocols::scorer(&m.protocol).why_unread(adversary)
            }
        });
        out.push(Verdict {
            message: m.id,
            exposed,
            why_unread,
        });
    }
    out
}

/// Scores `findings` against the run's ground truth.
pub fn score(sc: &Scenario, seed: u64, run: &RunOutput, findings: &Findings) -> Report {
    let truth: &GroundTruth = &run.truth;
    let subs = &truth.subscribers;
    let mut false_recoveries = 0;
    let mut mitm_read = BTreeSet::new();
    let mut examples: BTreeMap<String, Vec<Example>> = BTreeMap::new();
    for r in &findings.recovered {
        match truth.message_by_text(&r.text) {
            Some(m) => {
                if r.method.starts_with("mitm at ") {
                    mitm_read.insert(m.id);
                }
                let row = RowKey::of(m).label();
                let ex = examples.entry(row.clone()).or_default();
                if ex.len() < 3 {
                    ex.push(Example {
                        protocol: row,
                        text: r.text.clone(),
                        from: r.from.as_deref().map(str::to_owned),
                        to: r.to.as_deref().map(str::to_owned),
                        seen_at: r.seen_at.iter().map(|v| v.to_string()).collect(),
                        method: r.method.to_string(),
                    });
                }
            }
            None => false_recoveries += 1,
        }
    }

    // A man in the middle's own reads count for its on-path row even when another method (a
    // stolen state read passively) produced the same text first.
    for p in run.capabilities.active.iter().flat_map(|a| &a.plaintexts) {
        if let Some(m) = core::str::from_utf8(p)
            .ok()
            .and_then(|t| truth.message_by_text(t))
        {
            mitm_read.insert(m.id);
        }
    }

    let verdicts = verdicts(sc, run, findings);
    let mut rows = Rows::default();
    for m in &truth.messages {
        let r = rows.row(m);
        let p = &mut r.score;
        p.messages += 1;
        if m.delivered_at.is_some() {
            p.messages_delivered += 1;
        } else if let Some(f) = &m.failure {
            *p.failures.entry(f.clone()).or_default() += 1;
        }
        r.convs.insert((m.from.min(m.to), m.from.max(m.to)));
        let v = &verdicts[m.id];
        if v.exposed {
            p.messages_exposed_to_vantage += 1;
        }
        match &v.why_unread {
            None => p.messages_read_by_adversary += 1,
            Some(reason) => *r.why.entry(reason.as_str()).or_default() += 1,
        }
    }
    // The report lists the rows by label (labels are unique).
    let mut rows = rows.rows;
    rows.sort_by(|a, b| a.score.row.cmp(&b.score.row));
    let mut by_proto = Vec::with_capacity(rows.len());
    for r in rows {
        let mut p = r.score;
        p.sessions = if crate::protocols::scorer(&r.key.protocol).sessions_are_handshakes() {
            truth
                .sessions
                .get(&r.key.protocol.label())
                .copied()
                .unwrap_or(0)
        } else {
            r.convs.len()
        };
        let mut v: Vec<UnreadableReason> = r
            .why
            .into_iter()
            .map(|(reason, messages)| UnreadableReason {
                reason: reason.to_owned(),
                messages,
            })
            .collect();
        v.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.reason.cmp(&b.reason)));
        p.why_unreadable = v;
        by_proto.push(p);
    }

    // Contacts: who exchanged messages or calls (the same true graph as the metadata
    // section's), so a pair that only phoned is a real contact when the adversary reports it.
    let true_pairs: BTreeSet<(String, String)> = truth
        .messages
        .iter()
        .map(|m| (m.from, m.to))
        .chain(truth.calls.iter().map(|c| (c.caller, c.callee)))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect::<BTreeSet<(usize, usize)>>()
        .into_iter()
        .map(|(a, b)| pair(&subs[a].msisdn, &subs[b].msisdn))
        .collect();
    let reported: BTreeSet<(String, String)> = findings
        .contact_pairs
        .iter()
        .map(|(a, b)| pair(a, b))
        .collect();
    let correct = reported.intersection(&true_pairs).count();
    let contacts = ContactScore {
        true_pairs: true_pairs.len(),
        reported: reported.len(),
        correct,
        precision: if reported.is_empty() {
            1.0
        } else {
            correct as f64 / reported.len() as f64
        },
        recall: if true_pairs.is_empty() {
            0.0
        } else {
            correct as f64 / true_pairs.len() as f64
        },
    };

    // Warrants.
    let real: BTreeSet<(&str, &str)> = run
        .warrants
        .iter()
        .map(|w| (w.liid.as_str(), w.target_msisdn.as_str()))
        .collect();
    let learned = findings
        .warrant_targets_learned
        .iter()
        .filter(|w| real.contains(&(w.liid.as_str(), w.target_msisdn.as_str())))
        .count();

    let messages_read = verdicts.iter().filter(|v| v.why_unread.is_none()).count();
    let metadata = crate::metadata::score(sc, run, findings);
    Report {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        seed,
        duration: scenario::format_duration(sc.duration),
        protocols: by_proto,
        adversary: AdversarySummary {
            name: sc.adversary.name.clone(),
            vantage_points: findings.vantage_points.clone(),
            warrant_targets_learned: learned,
            warrants: WarrantScore {
                total: run.warrants.len(),
                learned,
                entries: findings.warrant_targets_learned.clone(),
            },
            contacts,
            messages_read,
            false_recoveries,
            examples: examples.into_values().flatten().collect(),
            unreadable: findings.unreadable.clone(),
            static_keys_seen: findings.static_keys_seen.len(),
            iri_events: findings.iri_events,
            cc_packets: findings.cc_packets,
            packets_parsed: findings.packets_parsed,
            parse_errors: findings.parse_errors,
        },
        network: NetworkSummary {
            subscribers: subs.len(),
            stats: run.stats.clone(),
            integrity_errors: truth.integrity_errors,
            duplicate_deliveries: truth.duplicate_deliveries,
        },
        on_path: crate::attacks::score(run, &mitm_read),
        key_theft: crate::theft::score(run, findings),
        costs: crate::costs::with_scenario(crate::costs::score(run, &metadata), sc),
        metadata,
    }
}
