//! Statistical disclosure (Danezis 2003; Mallesh and Wright 2010) against OTT relays.
//!
//! One message says little when many others cross the relay at the same time; many messages
//! from the same target say a lot. For a target T the adversary accumulates **epochs**:
//!
//! - a *send epoch* for each uplink of T at t: the set of recipients of downlinks in
//!   `[t + min, t + max]` (T's message reached one of them);
//! - a *receive epoch* for each downlink to T at t: the set of senders of uplinks in
//!   `[t − max, t − min]`. This is how response-like traffic helps: a delivery receipt or a
//!   quick reply from T's contact reaches T shortly after the contact sent it, so every
//!   response gives an epoch that contains the contact (Martiny et al., NDSS 2021, exploit
//!   exactly this against sealed sender).
//!
//! Each epoch spreads one unit of weight evenly over its members; the expected share of a party
//! in a random epoch (its share of all downlinks, resp. uplinks) is subtracted, as in SDA's
//! background estimate. Parties ranked by the difference; a snapshot of the top is kept after
//! 1, 2, …, 16, 24, 32, 48, 64, 96, … of T's sent messages (each snapshot includes the
//! responses that arrived before T's next message), and at the end.
//!
//! Targets: the warrant targets the adversary can name in the traffic, then the busiest
//! senders, up to a limit.
//!
//! Cost: O(n log n) to sort and index; per target O(e·(log n + K log K) + s·C log C) for e
//! epochs, K members per epoch (capped), s snapshots and C candidates: O(n log n) overall for a
//! bounded number of targets.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use simcore::Timestamp;

use super::correlation::CorrelationConfig;
use super::packets::{Sighting, Traffic};
use super::warrants::ExposedWarrant;

/// The ranking after some number of the target's messages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisclosureSnapshot {
    /// When it was taken: just before the target's next uplink, or after its last epoch.
    pub time: Timestamp,
    /// The target's uplinks (send epochs) so far: messages, and receipts if the app sends any.
    pub messages: u32,
    /// Receive epochs so far.
    pub responses: u32,
    /// Best-ranked candidate contacts with their scores, best first.
    pub top: Vec<(String, f64)>,
}

/// Statistical disclosure against one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisclosureTarget {
    /// The target (MSISDN or address).
    pub target: String,
    /// Why it was chosen: `"warrant"` or `"busy"`.
    pub chosen: String,
    /// Its uplink messages.
    pub messages: u32,
    /// Its downlink messages.
    pub received: u32,
    /// Rankings over time.
    pub snapshots: Vec<DisclosureSnapshot>,
}

/// Whether a snapshot is due after `n` messages.
fn checkpoint(n: u32) -> bool {
    if n <= 16 {
        return n >= 1;
    }
    // 24, 32, 48, 64, 96, 128, ...: 2^k and 1.5 * 2^k.
    let p = n.is_power_of_two();
    let q = n.is_multiple_of(3) && (n / 3).is_power_of_two();
    p || q
}

/// Members of the window `[from, to]` of `xs` (sorted by time), excluding `me`, distinct, capped.
fn members(xs: &[Sighting], from: u64, to: u64, me: u32, cap: usize, out: &mut Vec<u32>) {
    out.clear();
    let lo = xs.partition_point(|s| s.time < from);
    for s in xs[lo..].iter().take_while(|s| s.time <= to) {
        if s.party != me {
            out.push(s.party);
            if out.len() >= cap {
                break;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

fn shares(xs: &[Sighting]) -> BTreeMap<u32, f64> {
    let mut m: BTreeMap<u32, f64> = BTreeMap::new();
    for s in xs {
        *m.entry(s.party).or_default() += 1.0;
    }
    let n = xs.len().max(1) as f64;
    for v in m.values_mut() {
        *v /= n;
    }
    m
}

/// A snapshot over ids: (time ns, messages, responses, ranked `(party, score)`).
pub type Snapshot = (u64, u32, u32, Vec<(u32, f64)>);

/// Statistical disclosure over party ids for `target`; returns snapshots `(messages,
/// responses, top)`.
pub fn disclose_ids(
    t: &Traffic,
    target: u32,
    cfg: &CorrelationConfig,
    top_k: usize,
    down_share: &BTreeMap<u32, f64>,
    up_share: &BTreeMap<u32, f64>,
) -> Vec<Snapshot> {
    let mut events: Vec<(u64, bool)> = t
        .ups
        .iter()
        .filter(|s| s.party == target)
        .map(|s| (s.time, true))
        .chain(
            t.downs
                .iter()
                .filter(|s| s.party == target)
                .map(|s| (s.time, false)),
        )
        .collect();
    events.sort_unstable();
    let mut acc: BTreeMap<u32, f64> = BTreeMap::new();
    let (mut sent, mut recv) = (0u32, 0u32);
    let mut snaps = Vec::new();
    let mut buf = Vec::new();
    let rank = |acc: &BTreeMap<u32, f64>, sent: u32, recv: u32| -> Vec<(u32, f64)> {
        let mut v: Vec<(u32, f64)> = acc
            .iter()
            .map(|(&c, &a)| {
                let bg = f64::from(sent) * down_share.get(&c).copied().unwrap_or(0.0)
                    + f64::from(recv) * up_share.get(&c).copied().unwrap_or(0.0);
                (c, a - bg)
            })
            .filter(|x| x.1 > 0.0)
            .collect();
        v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(top_k);
        v
    };
    for (time, is_send) in events {
        if is_send {
            if sent > 0 && checkpoint(sent) {
                snaps.push((time, sent, recv, rank(&acc, sent, recv)));
            }
            sent += 1;
            let from = time.saturating_add(cfg.window_min_ns);
            let to = time.saturating_add(cfg.window_ns);
            members(&t.downs, from, to, target, cfg.max_candidates, &mut buf);
        } else {
            recv += 1;
            let from = time.saturating_sub(cfg.window_ns);
            let to = time.saturating_sub(cfg.window_min_ns);
            members(&t.ups, from, to, target, cfg.max_candidates, &mut buf);
        }
        if !buf.is_empty() {
            let w = 1.0 / buf.len() as f64;
            for &c in &buf {
                *acc.entry(c).or_default() += w;
            }
        }
    }
    if sent > 0 {
        snaps.push((u64::MAX, sent, recv, rank(&acc, sent, recv)));
    }
    snaps
}

/// Runs statistical disclosure against the chosen targets.
pub fn analyze(
    t: &Traffic,
    cfg: &CorrelationConfig,
    warrants: &[ExposedWarrant],
    max_targets: usize,
    top_k: usize,
) -> Vec<DisclosureTarget> {
    let mut sent: BTreeMap<u32, u32> = BTreeMap::new();
    for s in &t.ups {
        *sent.entry(s.party).or_default() += 1;
    }
    let mut recv: BTreeMap<u32, u32> = BTreeMap::new();
    for s in &t.downs {
        *recv.entry(s.party).or_default() += 1;
    }
    let wanted: BTreeSet<&str> = warrants.iter().map(|w| w.target.as_str()).collect();
    let mut chosen: Vec<(u32, &str)> = sent
        .keys()
        .filter(|&&p| wanted.contains(t.name(p)))
        .map(|&p| (p, "warrant"))
        .collect();
    let mut busy: Vec<(u32, u32)> = sent.iter().map(|(&p, &n)| (p, n)).collect();
    busy.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (p, _) in busy {
        if chosen.len() >= max_targets {
            break;
        }
        if !chosen.iter().any(|c| c.0 == p) {
            chosen.push((p, "busy"));
        }
    }
    chosen.truncate(max_targets);
    let down_share = shares(&t.downs);
    let up_share = shares(&t.ups);
    let mut out: Vec<DisclosureTarget> = chosen
        .into_iter()
        .map(|(p, why)| DisclosureTarget {
            target: t.name(p).to_owned(),
            chosen: why.to_owned(),
            messages: sent.get(&p).copied().unwrap_or(0),
            received: recv.get(&p).copied().unwrap_or(0),
            snapshots: disclose_ids(t, p, cfg, top_k, &down_share, &up_share)
                .into_iter()
                .map(|(time, messages, responses, top)| DisclosureSnapshot {
                    time: Timestamp::from_nanos(time),
                    messages,
                    responses,
                    top: top
                        .into_iter()
                        .map(|(c, s)| (t.name(c).to_owned(), s))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_with_twelve_contacts_has_all_of_them_ranked() {
        // Target 0 writes to contacts 1..=12 in turn, each receiving 70 ms later; parties
        // 13..40 receive unrelated traffic. A fixed top 10 could never hold all 12.
        let ms = 1_000_000u64;
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for k in 0..240u64 {
            let t = k * 20_000 * ms;
            ups.push(Sighting {
                time: t,
                party: 0,
                size: 100,
            });
            downs.push(Sighting {
                time: t + 70 * ms,
                party: 1 + (k % 12) as u32,
                size: 100,
            });
            for j in 13..40u64 {
                let off = (k * 7_919 + j * 104_729) % 20_000;
                downs.push(Sighting {
                    time: t + off * ms,
                    party: j as u32,
                    size: 100,
                });
            }
        }
        let tr = Traffic::synthetic(40, ups, downs);
        let cfg = super::super::MetadataConfig::default();
        let out = analyze(&tr, &cfg.correlation, &[], 1, cfg.disclosure_top);
        let last = out[0].snapshots.last().expect("snapshots");
        let top12: BTreeSet<&str> = last.top.iter().take(12).map(|c| c.0.as_str()).collect();
        let want: BTreeSet<String> = (1..=12).map(|i| format!("p{i}")).collect();
        assert_eq!(
            top12,
            want.iter().map(String::as_str).collect::<BTreeSet<&str>>(),
            "{:?}",
            last.top
        );
    }

    #[test]
    fn checkpoints() {
        let v: Vec<u32> = (1..=200).filter(|&n| checkpoint(n)).collect();
        assert_eq!(&v[14..], &[15, 16, 24, 32, 48, 64, 96, 128, 192], "{v:?}");
    }

    #[test]
    fn a_regular_contact_rises_to_the_top_among_noise() {
        // Target 0 sends every 30 s; its contact 1 receives 70 ms later; parties 2..12 receive
        // at fixed pseudo-random times throughout.
        let mut ups = Vec::new();
        let mut downs = Vec::new();
        let ms = 1_000_000u64;
        for k in 0..64u64 {
            let t = k * 30_000 * ms;
            ups.push(Sighting {
                time: t,
                party: 0,
                size: 100,
            });
            downs.push(Sighting {
                time: t + 70 * ms,
                party: 1,
                size: 100,
            });
            for j in 2..12u64 {
                let off = (k * 7_919 + j * 104_729) % 30_000;
                downs.push(Sighting {
                    time: t + off * ms,
                    party: j as u32,
                    size: 100,
                });
            }
        }
        let tr = Traffic::synthetic(12, ups, downs);
        let cfg = CorrelationConfig::default();
        let snaps = disclose_ids(&tr, 0, &cfg, 3, &shares(&tr.downs), &shares(&tr.ups));
        let last = snaps.last().expect("snapshots");
        assert_eq!(last.1, 64);
        assert_eq!(last.3[0].0, 1, "{last:?}");
    }
}
