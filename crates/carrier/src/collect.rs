//! The end of a run: the counters, the captures of every vantage point, the ground truth of
//! on-path attacks (from the components' facts and the endpoints' reports), and the records.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use capture::{Captures, PacketCapture, PacketLog, VantagePoint};
use scenario::{AppKind, VantageKind};

use crate::countermeasures::{AppCosts, Costs};
use crate::endpoint::LinkTotals;
use crate::li::close_all;
use crate::nodes::Logic;
use crate::topology::OTT_ADDR;
use crate::truth::AttackTruth;
use crate::world::{RunOutput, World};

/// The packets of `logs` (each in non-decreasing time) in one log, in time order; ties go to
/// the earlier log, then to capture order. A k-way merge: it holds one head per log beside the
/// merged copy, not an index of every packet.
fn merge_in_time_order(logs: &[PacketLog]) -> PacketLog {
    let mut merged = PacketLog::with_capacity(
        logs.iter().map(PacketLog::len).sum(),
        logs.iter().map(PacketLog::total_bytes).sum(),
    );
    let mut heads: BinaryHeap<Reverse<(capture::Timestamp, usize, usize)>> = logs
        .iter()
        .enumerate()
        .filter_map(|(r, log)| log.get(0).map(|p| Reverse((p.time, r, 0))))
        .collect();
    while let Some(Reverse((_, r, k))) = heads.pop() {
        let Some(p) = logs[r].get(k) else { continue };
        merged.push(p.time, p.bytes);
        if let Some(next) = logs[r].get(k + 1) {
            heads.push(Reverse((next.time, r, k + 1)));
        }
    }
    merged
}

impl World<'_> {
    /// The compromised OTT server's log as a packet vantage point (`ott.server`).
    fn server_vantage(&mut self) -> VantagePoint {
        let packets = self
            .logic
            .iter_mut()
            .find_map(|l| match l {
                Logic::Ott(o) => o.log.take(),
                _ => None,
            })
            .map(|log| log.packets)
            .unwrap_or_default();
        VantagePoint {
            name: "ott.server".to_owned(),
            carrier: String::new(),
            kind: capture::VantageKind::OttServer,
            packets: Some(PacketCapture {
                name: "ott.server".to_owned(),
                packets,
            }),
            warrants: Vec::new(),
            call_records: Default::default(),
        }
    }
}

impl World<'_> {
    pub(crate) fn finish(mut self) -> RunOutput {
        let ns = self.net.stats().clone();
        self.stats.events = ns.events;
        self.stats.end = self.net.now();
        self.stats.packets_sent = ns.packets_sent;
        self.stats.packets_delivered = ns.packets_delivered;
        self.stats.packets_lost = ns.dropped_loss + ns.dropped_queue;
        self.stats.packets_damaged_dropped = ns.dropped_fcs;
        self.stats.packets_partitioned = ns.dropped_partition;
        self.stats.packets_corrupt_dropped = ns.dropped_corrupt;
        self.stats.packets_duplicated = ns.duplicated;
        self.stats.packets_unroutable = ns.unroutable;
        let mut totals = LinkTotals::default();
        for l in &self.logic {
            match l {
                Logic::Sub(s) => s.ep.add_stats(&mut totals),
                Logic::Pgw(p) => p.ep.add_stats(&mut totals),
                Logic::Smsc(s) => s.ep.add_stats(&mut totals),
                Logic::Ott(o) => {
                    o.ep.add_stats(&mut totals);
                    self.stats.ott_relayed = o.relayed;
                }
                Logic::Lea(l) => self.stats.li_delivered_to_lea += l.received,
                _ => {}
            }
        }
        self.stats.links = totals;
        self.stats.li_records = self
            .li_counts
            .iter()
            .map(|c| c.lock().map(|n| *n).unwrap_or(0))
            .sum();
        for (store, charged) in self.stores.iter().zip(&self.charged) {
            close_all(store, charged);
        }
        self.signal_finish();
        let costs = self.cm_costs();
        let active = self.attack_truth();
        // Whatever is still open: the retry budget ran out while it was still being
        // retransmitted, or nothing was left in flight for it (a bug to look into: stated, not
        // hidden).
        let budget_end = self.sc.duration + crate::world::MAX_DRAIN;
        let cut: Vec<String> = self
            .sc
            .faults
            .down_at(budget_end)
            .map(|p| {
                let what = match p.target {
                    scenario::PartitionTarget::Link(l) => format!("link {}", l.as_str()),
                    scenario::PartitionTarget::Node(n) => format!("node {}", n.as_str()),
                };
                match &p.carrier {
                    Some(c) => format!("{what} of {c}"),
                    None => what,
                }
            })
            .collect();
        let why = if !cut.is_empty() {
            format!(
                "partition outlasted the retry budget: {} still down {} days after the traffic \
                 stopped",
                cut.join(", "),
                crate::world::MAX_DRAIN.as_secs() / 86_400
            )
        } else if self.net.next_event_time().is_some() {
            format!(
                "retry budget spent: still undelivered {} days after the traffic stopped (loss, \
                 damage or an outage on its path)",
                crate::world::MAX_DRAIN.as_secs() / 86_400
            )
        } else {
            "never delivered: nothing was left in flight for it when the network went idle"
                .to_owned()
        };
        self.truth.fail_open(&why);

        // The stores are not read after this: their record logs move out, once, each shared by
        // the output (`records.csv`) and a call-records vantage point.
        let shared_records: Vec<std::sync::Arc<capture::RecordLog>> = self
            .stores
            .iter()
            .map(|st| {
                let records = st.lock().map(|mut s| s.take_records()).unwrap_or_default();
                std::sync::Arc::new(records)
            })
            .collect();
        let mut vantages = Vec::new();
        let mut edge_taps = std::mem::take(&mut self.edge_taps).into_iter();
        let mut server = Some(self.server_vantage());
        for (v, tap) in self.sc.adversary.vantage.iter().zip(&self.taps) {
            if v.kind == VantageKind::OttServer {
                edge_taps.next();
                vantages.extend(server.take());
                continue;
            }
            let Some(c) = self.sc.carriers.iter().position(|x| x.name == v.carrier) else {
                continue;
            };
            let name = match v.kind {
                VantageKind::CoreTap => format!("{}.core", v.carrier),
                VantageKind::Mediation => format!("{}.mediation", v.carrier),
                VantageKind::CallRecords => format!("{}.call-records", v.carrier),
                VantageKind::EdgeRouter => format!("{}.edge-routers", v.carrier),
                VantageKind::OttServer => continue,
            };
            let mut packets = tap.map(|t| PacketCapture {
                name: name.clone(),
                packets: self.net.take_tap(t),
            });
            if v.kind == VantageKind::EdgeRouter {
                // All compromised routers' captures, merged in time order (ties: router
                // order, then capture order).
                let logs: Vec<PacketLog> = edge_taps
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| self.net.take_tap(t))
                    .collect();
                packets = Some(PacketCapture {
                    name: name.clone(),
                    packets: merge_in_time_order(&logs),
                });
            } else {
                edge_taps.next();
            }
            let kind = match v.kind {
                VantageKind::CoreTap => capture::VantageKind::CoreTap,
                VantageKind::Mediation => capture::VantageKind::Mediation,
                VantageKind::CallRecords => capture::VantageKind::CallRecords,
                VantageKind::EdgeRouter => capture::VantageKind::EdgeRouter,
                VantageKind::OttServer => capture::VantageKind::OttServer,
            };
            let prefix = format!("{}-", v.carrier.to_uppercase());
            let warrants = if v.kind == VantageKind::Mediation {
                self.warrants
                    .iter()
                    .filter(|w| w.liid.starts_with(&prefix))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            let call_records = if v.kind == VantageKind::CallRecords {
                shared_records[c].clone()
            } else {
                Default::default()
            };
            vantages.push(VantagePoint {
                name,
                carrier: v.carrier.clone(),
                kind,
                packets,
                warrants,
                call_records,
            });
        }
        self.truth.subscribers = std::mem::take(&mut self.dir.subs);
        self.truth.locations = self.mobility.traces.clone();
        let records = self
            .sc
            .carriers
            .iter()
            .map(|car| car.name.clone())
            .zip(shared_records)
            .collect();
        // Moved out of each carrier's log, not copied, into one vector of exactly their number.
        let mut logs: Vec<_> = self
            .pois
            .iter()
            .filter_map(|p| p.lock().ok().map(|mut p| std::mem::take(&mut p.log)))
            .collect();
        let mut intercepts = Vec::with_capacity(logs.iter().map(|l| l.len()).sum());
        for log in &mut logs {
            log.drain_into(&mut intercepts);
        }
        RunOutput {
            records,
            intercepts,
            captures: Captures { vantages },
            truth: self.truth,
            warrants: self.warrants,
            stats: self.stats,
            capabilities: capture::Capabilities {
                active,
                ..self.caps.into_capabilities()
            },
            costs,
        }
    }
}

impl World<'_> {
    /// Ground truth of every on-path attack, and the adversary's own log of them. Undelivered
    /// messages of an attacked or failed session get their failure recorded here: the session
    /// failure an endpoint reported, or a timeout (no delivery receipt) when frames were
    /// dropped.
    fn attack_truth(&mut self) -> Vec<capture::ActiveRecord> {
        // Texts per session id, as the senders reported them.
        let texts = std::mem::take(&mut self.session_texts);
        // Every failed session: its undelivered texts failed with it (both directions).
        let failures: Vec<(u64, String)> = self
            .truth
            .session_failures
            .iter()
            .map(|(sid, f)| (*sid, format!("session failed ({}): {}", f.kind, f.reason)))
            .collect();
        for (sid, why) in failures {
            for t in texts.get(&sid).into_iter().flatten() {
                self.truth.failed(t, &why);
            }
        }
        let mut active = Vec::new();
        let mut attacks = Vec::new();
        for attacker in &self.attackers {
            let Ok(component) = attacker.component.lock() else {
                continue;
            };
            active.extend(component.records());
            for a in &component.facts() {
                let signal = self.signal_attack_facts(a);
                let ids: Vec<usize> = a
                    .session
                    .and_then(|sid| texts.get(&sid))
                    .into_iter()
                    .flatten()
                    .filter_map(|t| self.truth.message_by_text(t).map(|m| m.id))
                    .chain(signal.iter().flat_map(|s| s.0.iter().copied()))
                    .collect();
                let mut detected = a
                    .session
                    .and_then(|sid| self.truth.session_failures.get(&sid))
                    .map(|f| f.kind.clone())
                    .or_else(|| signal.and_then(|s| s.1));
                let undelivered: Vec<usize> = ids
                    .iter()
                    .copied()
                    .filter(|&i| self.truth.messages[i].delivered_at.is_none())
                    .collect();
                // A drop an endpoint noticed by its timeout: no delivery receipt came back (and
                // the reliable layer got no ACK for a frame held back). A drop session that lost
                // nothing itself but whose frames waited behind another session's dropped frame
                // on the same hop counts too; its messages fail with the end-of-run reason.
                let drop_mode = a.mode == capture::OnPathMode::Drop;
                if detected.is_none() && (a.dropped > 0 || drop_mode) && !undelivered.is_empty() {
                    detected = Some(proto::noise::FailureKind::Timeout.as_str().to_string());
                    let always = self
                        .sc
                        .adversary
                        .onpath
                        .get(a.entry)
                        .is_some_and(|o| o.drop_how == scenario::DropHow::Always);
                    let why = if always {
                        "timeout: no delivery receipt (every transmission of a frame dropped on \
                         path: the sender's reliable layer retried until the run's retry budget \
                         was spent)"
                    } else {
                        "timeout: no delivery receipt (frames dropped on path)"
                    };
                    if a.dropped > 0 {
                        for &i in &undelivered {
                            let t = self.truth.messages[i].text.clone();
                            self.truth.failed(&t, why);
                        }
                    }
                }
                // A 0-RTT replay accepted: the fresh session delivered a message again. That
                // is the replay's doing, not a duplicate the simulator made.
                let mut replayed_deliveries = 0;
                if let Some(fresh) = a.replayed_session {
                    let redelivered = std::mem::take(&mut self.truth.redelivered);
                    let (ours, rest): (Vec<usize>, Vec<usize>) =
                        redelivered.into_iter().partition(|i| ids.contains(i));
                    replayed_deliveries = ours.len();
                    self.truth.redelivered = rest;
                    self.truth.duplicate_deliveries -= replayed_deliveries;
                    if detected.is_none() {
                        detected = self
                            .truth
                            .session_failures
                            .get(&fresh)
                            .map(|f| f.kind.clone());
                    }
                }
                let protocol = self
                    .dir
                    .apps
                    .iter()
                    .find(|x| x.name == a.app)
                    .map(|x| x.label.clone())
                    .unwrap_or_default();
                attacks.push(AttackTruth {
                    entry: a.entry,
                    node: attacker.node.clone(),
                    mode: a.mode.as_str().to_string(),
                    app: a.app.clone(),
                    protocol,
                    session: a.session,
                    modified: a.acted,
                    detected,
                    delivered: ids.len() - undelivered.len(),
                    messages: ids,
                    envelopes_dropped: a.dropped,
                    envelopes_retransmitted: a.passed_after_drop,
                    replayed_deliveries,
                });
            }
        }
        self.truth.attacks = attacks;
        active
    }
}

impl World<'_> {
    /// Per end-to-end app: the bytes its handsets exchanged with the OTT server and what the
    /// countermeasures sent.
    fn cm_costs(&self) -> Costs {
        let mut apps: Vec<AppCosts> = Vec::new();
        let mut settings = Vec::new();
        for (a, app) in self.sc.apps.iter().enumerate() {
            if !matches!(app.kind, AppKind::Noise { .. } | AppKind::Signal(_)) {
                continue;
            }
            let mixed = match self.logic.get(self.ott_node.0 as usize) {
                Some(Logic::Ott(o)) => o.mixed.get(&a).copied().unwrap_or(0),
                _ => 0,
            };
            let mut c = AppCosts {
                app: app.name.clone(),
                protocol: app.kind.label(),
                mixed,
                ..AppCosts::default()
            };
            for s in self.dir.subs.iter().filter(|s| s.app == a) {
                if let Some(h) = self.handset(s.index) {
                    let (up, down) = h.ep.bytes_with(OTT_ADDR);
                    c.wire_bytes_up += up;
                    c.wire_bytes_down += down;
                    c.cover_messages += h.cm.cover_sent;
                    c.receipts += h.cm.receipts_sent;
                }
            }
            for m in self.truth.messages.iter().filter(|m| *m.app == *app.name) {
                if m.protocol.label() == c.protocol {
                    c.payload_bytes += m.text.len() as u64;
                    c.messages += 1;
                }
            }
            apps.push(c);
            settings.push((app.name.clone(), app.countermeasures.clone()));
        }
        Costs {
            apps,
            settings,
            baseline: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture::Timestamp;

    fn log(packets: &[(u64, u8)]) -> PacketLog {
        let mut l = PacketLog::new();
        for &(t, b) in packets {
            l.push(Timestamp::from_nanos(t), &[b; 3]);
        }
        l
    }

    #[test]
    fn edge_logs_merge_by_time_then_router_then_capture_order() {
        let logs = [
            log(&[(1, 10), (5, 11), (5, 12)]),
            log(&[]),
            log(&[(0, 20), (5, 21), (9, 22)]),
        ];
        let merged = merge_in_time_order(&logs);
        let got: Vec<(u64, u8)> = merged
            .iter()
            .map(|p| (p.time.as_nanos(), p.bytes[0]))
            .collect();
        assert_eq!(
            got,
            vec![(0, 20), (1, 10), (5, 11), (5, 12), (5, 21), (9, 22)]
        );
        // Sized once: the merged log is exactly the packets' bytes and index entries (and its
        // two one-block lists).
        assert_eq!(merged.heap_bytes(), 6 * (3 + 16) + 2 * 24);
    }
}
