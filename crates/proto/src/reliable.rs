//! [`ReliableLink`]: hop-by-hop reliable, in-order, exactly-once delivery of PDUs over
//! datagrams that may be lost, duplicated or reordered, using [`Frame`]s on
//! [`FRAME_PORT`](crate::wire::FRAME_PORT).
//!
//! One `ReliableLink` is one end of one hop. Calling order, for the driver:
//!
//! 1. [`send`](ReliableLink::send) queues a PDU; [`handle_datagram`](ReliableLink::handle_datagram)
//!    feeds a UDP payload received from the peer.
//! 2. Drain [`poll_transmit`](ReliableLink::poll_transmit) (UDP payloads to send to the peer)
//!    and [`poll_delivered`](ReliableLink::poll_delivered) (PDUs, in order, once each).
//! 3. Arm a timer for [`poll_timeout`](ReliableLink::poll_timeout); when it fires call
//!    [`handle_timeout`](ReliableLink::handle_timeout) and go to 2. A timeout that fires early
//!    or late is harmless: only frames whose deadline has passed are retransmitted.
//!
//! The sender numbers DATA frames from 0 and retransmits each until it is acknowledged, with a
//! per-frame exponential back-off (initial RTO doubling up to a cap); it never gives up. The
//! receiver acknowledges every DATA frame (duplicates included) with a cumulative
//! `next_expected` plus the selective `seq`, buffers frames that arrive early, and delivers each
//! sequence number exactly once, in order. There is no congestion control: this models the
//! carrier's link-layer ARQ, not TCP.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use simcore::{Duration, Timestamp};

use crate::error::ProtoError;
use crate::wire::{Frame, WireError, MAX_BYTES16};

/// How far ahead of `next_expected` the receiver buffers frames; later frames are dropped
/// unacknowledged (the sender retransmits them), which bounds the memory a peer can claim.
pub const RECEIVE_WINDOW: u32 = 1 << 16;

/// Retransmission timing of a [`ReliableLink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReliableConfig {
    /// Time from a frame's first transmission to its first retransmission (default 1 s).
    pub initial_rto: Duration,
    /// Cap of the doubling back-off (default 60 s).
    pub max_rto: Duration,
}

impl Default for ReliableConfig {
    fn default() -> Self {
        ReliableConfig {
            initial_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
        }
    }
}

/// Counters of a [`ReliableLink`], for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReliableStats {
    /// DATA frames transmitted for the first time (one per PDU sent).
    pub data_sent: u64,
    /// DATA frames transmitted again after their RTO expired.
    pub retransmissions: u64,
    /// ACK frames transmitted.
    pub acks_sent: u64,
    /// DATA frames received that had already been received (and were not delivered again).
    pub duplicates_received: u64,
    /// DATA frames received ahead of a gap and buffered until the gap filled.
    pub out_of_order_buffered: u64,
}

/// A DATA frame awaiting acknowledgement.
#[derive(Debug)]
struct Unacked {
    /// The encoded DATA frame, ready to be sent again.
    frame: Vec<u8>,
    /// The RTO to arm at the next transmission.
    rto: Duration,
    /// When the retransmission timer fires; `None` while queued for (re)transmission.
    deadline: Option<Timestamp>,
    /// Whether it has been transmitted at least once.
    sent: bool,
}

/// One end of a reliable hop. See the [module documentation](self) for the calling order.
///
/// An idle link (nothing unacknowledged, queued, buffered or waiting to be acknowledged)
/// holds no heap memory: its buffers live in one box that is dropped when the last of them
/// empties and made again by the next send or datagram. Only the sequence numbers, the
/// configuration and the counters stay, so behaviour does not depend on when that happens.
#[derive(Debug)]
pub struct ReliableLink {
    config: ReliableConfig,
    /// The sequence number of the next PDU sent.
    next_seq: u32,
    /// The sequence number the receiver delivers next.
    next_expected: u32,
    stats: ReliableStats,
    /// Everything in flight or waiting; `None` while idle.
    busy: Option<Box<Buffers>>,
}

/// The buffers of a link that is not idle.
#[derive(Debug, Default)]
struct Buffers {
    // Sender side.
    unacked: BTreeMap<u32, Unacked>,
    /// Sequence numbers queued for (re)transmission, sent lowest first.
    to_send: BTreeSet<u32>,
    /// Armed retransmission timers.
    timers: BTreeSet<(Timestamp, u32)>,
    // Receiver side.
    early: BTreeMap<u32, Vec<u8>>,
    delivered: VecDeque<Vec<u8>>,
    /// ACKs to transmit, as `(next_expected, seq)`.
    acks: VecDeque<(u32, u32)>,
}

impl Buffers {
    fn is_empty(&self) -> bool {
        self.unacked.is_empty()
            && self.to_send.is_empty()
            && self.timers.is_empty()
            && self.early.is_empty()
            && self.delivered.is_empty()
            && self.acks.is_empty()
    }
}

impl ReliableLink {
    /// A link end with nothing sent or received.
    pub fn new(config: ReliableConfig) -> Self {
        ReliableLink {
            config,
            next_seq: 0,
            next_expected: 0,
            stats: ReliableStats::default(),
            busy: None,
        }
    }

    /// The buffers, made if the link was idle.
    fn buffers(&mut self) -> &mut Buffers {
        self.busy.get_or_insert_with(Box::default)
    }

    /// Drops the buffers once nothing is left in them.
    fn release_if_empty(&mut self) {
        if self.busy.as_ref().is_some_and(|b| b.is_empty()) {
            self.busy = None;
        }
    }

    /// Whether the link holds any heap memory (it does exactly while it is not idle or holds
    /// PDUs not yet polled).
    pub fn holds_buffers(&self) -> bool {
        self.busy.is_some()
    }

    /// Queues `pdu` for reliable delivery; it goes out at the next
    /// [`poll_transmit`](Self::poll_transmit).
    ///
    /// # Errors
    /// [`ProtoError::Wire`] if `pdu` is longer than a DATA frame carries (65 535 bytes), and
    /// [`ProtoError::ApiMisuse`] once 2³² PDUs have been sent on this link. Nothing is queued.
    pub fn send(&mut self, _now: Timestamp, pdu: Vec<u8>) -> Result<(), ProtoError> {
        if pdu.len() > MAX_BYTES16 {
            return Err(WireError::TooLong {
                field: "payload",
                len: pdu.len(),
                max: MAX_BYTES16,
            }
            .into());
        }
        let seq = self.next_seq;
        let next = seq.checked_add(1).ok_or(ProtoError::ApiMisuse(
            "a reliable link carries at most 2^32 PDUs",
        ))?;
        let frame = Frame::Data { seq, payload: pdu }.to_bytes()?;
        self.next_seq = next;
        let rto = self.config.initial_rto;
        let b = self.buffers();
        b.unacked.insert(
            seq,
            Unacked {
                frame,
                rto,
                deadline: None,
                sent: false,
            },
        );
        b.to_send.insert(seq);
        Ok(())
    }

    /// Feeds one UDP payload received from the peer.
    ///
    /// A DATA frame is delivered (or buffered, or counted as a duplicate) and answered with an
    /// ACK; an ACK releases the frames it covers. Acknowledgements of frames never sent are
    /// ignored.
    ///
    /// # Errors
    /// [`ProtoError::Wire`] if the bytes are not a [`Frame`] (the peer or the path is at fault);
    /// the link's state is unchanged.
    pub fn handle_datagram(&mut self, _now: Timestamp, datagram: &[u8]) -> Result<(), ProtoError> {
        match Frame::decode(datagram)? {
            Frame::Data { seq, payload } => self.on_data(seq, payload),
            Frame::Ack { next_expected, seq } => self.on_ack(next_expected, seq),
        }
        self.release_if_empty();
        Ok(())
    }

    fn on_data(&mut self, seq: u32, payload: Vec<u8>) {
        // `u32::MAX` is never a valid sequence number (the sender stops before it).
        if seq == u32::MAX
            || (seq >= self.next_expected && seq - self.next_expected >= RECEIVE_WINDOW)
        {
            tracing::debug!(
                seq,
                next_expected = self.next_expected,
                "DATA beyond the receive window dropped"
            );
            return;
        }
        let next_expected = self.next_expected;
        let b = self.buffers();
        let mut next = next_expected;
        let mut duplicate = false;
        let mut buffered = false;
        if seq < next || b.early.contains_key(&seq) {
            duplicate = true;
        } else if seq == next {
            b.delivered.push_back(payload);
            next += 1;
            while let Some(p) = b.early.remove(&next) {
                b.delivered.push_back(p);
                next += 1;
            }
        } else {
            buffered = true;
            b.early.insert(seq, payload);
        }
        b.acks.push_back((next, seq));
        self.next_expected = next;
        self.stats.duplicates_received += u64::from(duplicate);
        self.stats.out_of_order_buffered += u64::from(buffered);
    }

    fn on_ack(&mut self, next_expected: u32, seq: u32) {
        let Some(b) = self.busy.as_deref_mut() else {
            // Nothing is unacknowledged: a late or duplicated ACK.
            return;
        };
        let cumulative: Vec<u32> = b.unacked.range(..next_expected).map(|(s, _)| *s).collect();
        for s in cumulative.into_iter().chain(core::iter::once(seq)) {
            if let Some(u) = b.unacked.remove(&s) {
                if let Some(d) = u.deadline {
                    b.timers.remove(&(d, s));
                }
                b.to_send.remove(&s);
            }
        }
    }

    /// The next UDP payload to send to the peer: pending ACKs first, then DATA frames queued for
    /// (re)transmission, lowest sequence number first. Arms each DATA frame's timer at
    /// `now + rto`.
    pub fn poll_transmit(&mut self, now: Timestamp) -> Option<Vec<u8>> {
        let out = self.next_transmit(now);
        if out.is_none() {
            self.release_if_empty();
        }
        out
    }

    fn next_transmit(&mut self, now: Timestamp) -> Option<Vec<u8>> {
        let b = self.busy.as_deref_mut()?;
        if let Some((next_expected, seq)) = b.acks.pop_front() {
            self.stats.acks_sent += 1;
            // An ACK has no variable-length field: encoding cannot fail.
            return Frame::Ack { next_expected, seq }.to_bytes().ok();
        }
        let seq = b.to_send.pop_first()?;
        let u = b.unacked.get_mut(&seq)?;
        if u.sent {
            self.stats.retransmissions += 1;
        } else {
            self.stats.data_sent += 1;
            u.sent = true;
        }
        let deadline = now + u.rto;
        u.deadline = Some(deadline);
        let frame = u.frame.clone();
        b.timers.insert((deadline, seq));
        Some(frame)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if any frame is
    /// awaiting acknowledgement.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.busy.as_ref()?.timers.first().map(|(t, _)| *t)
    }

    /// Queues for retransmission every frame whose RTO expired at or before `now`, doubling its
    /// RTO (up to the cap). A spurious call changes nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let max_rto = self.config.max_rto;
        let Some(b) = self.busy.as_deref_mut() else {
            return;
        };
        while let Some(&(deadline, seq)) = b.timers.first() {
            if deadline > now {
                break;
            }
            b.timers.pop_first();
            if let Some(u) = b.unacked.get_mut(&seq) {
                u.deadline = None;
                u.rto = (u.rto * 2).min(max_rto);
                b.to_send.insert(seq);
            }
        }
    }

    /// The next PDU received from the peer, in order, each exactly once.
    pub fn poll_delivered(&mut self) -> Option<Vec<u8>> {
        let out = self.busy.as_deref_mut()?.delivered.pop_front();
        if out.is_none() {
            self.release_if_empty();
        }
        out
    }

    /// Counters since creation.
    pub fn stats(&self) -> &ReliableStats {
        &self.stats
    }

    /// True when every PDU sent has been acknowledged and no ACK is waiting to be transmitted.
    pub fn is_idle(&self) -> bool {
        self.busy
            .as_ref()
            .is_none_or(|b| b.unacked.is_empty() && b.acks.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    /// Fault rules of the in-memory harness, in percent.
    #[derive(Clone, Copy, Debug)]
    struct Faults {
        loss: u32,
        duplicate: u32,
        /// Probability that a datagram is held back and delivered later (reordering).
        delay: u32,
    }

    /// Two link ends over a lossy, duplicating, reordering in-memory network that jumps virtual
    /// time to the next timer when nothing is in flight.
    struct Harness {
        now: Timestamp,
        ends: [ReliableLink; 2],
        /// In-flight datagrams: (arrival time, tie-break, destination end, bytes).
        flight: BTreeSet<(Timestamp, u64, usize, Vec<u8>)>,
        counter: u64,
        rng: ChaCha20Rng,
        faults: Faults,
        received: [Vec<Vec<u8>>; 2],
    }

    const LATENCY: Duration = Duration::from_millis(20);

    impl Harness {
        fn new(seed: u64, faults: Faults) -> Self {
            Harness {
                now: Timestamp::ZERO,
                ends: [
                    ReliableLink::new(ReliableConfig::default()),
                    ReliableLink::new(ReliableConfig::default()),
                ],
                flight: BTreeSet::new(),
                counter: 0,
                rng: ChaCha20Rng::seed_from_u64(seed),
                faults,
                received: [Vec::new(), Vec::new()],
            }
        }

        fn roll(&mut self, percent: u32) -> bool {
            self.rng.next_u32() % 100 < percent
        }

        fn transmit(&mut self, to: usize, bytes: Vec<u8>) {
            if self.roll(self.faults.loss) {
                return;
            }
            let copies = if self.roll(self.faults.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut at = self.now + LATENCY;
                if self.roll(self.faults.delay) {
                    at += Duration::from_millis(u64::from(self.rng.next_u32() % 500));
                }
                self.counter += 1;
                self.flight.insert((at, self.counter, to, bytes.clone()));
            }
        }

        fn pump(&mut self) {
            for i in 0..2 {
                while let Some(b) = self.ends[i].poll_transmit(self.now) {
                    self.transmit(1 - i, b);
                }
                while let Some(p) = self.ends[i].poll_delivered() {
                    self.received[i].push(p);
                }
            }
        }

        /// Runs until both ends are idle and nothing is in flight (or `limit` is reached).
        fn run(&mut self, limit: Timestamp) {
            loop {
                self.pump();
                let next_timer = self.ends.iter().filter_map(|e| e.poll_timeout()).min();
                let next_arrival = self.flight.first().map(|f| f.0);
                let next = match (next_timer, next_arrival) {
                    (None, None) => return,
                    (a, b) => a.into_iter().chain(b).min().unwrap(),
                };
                assert!(next <= limit, "did not converge by {limit}");
                self.now = self.now.max(next);
                while let Some(f) = self.flight.first() {
                    if f.0 > self.now {
                        break;
                    }
                    let (_, _, to, bytes) = self.flight.pop_first().unwrap();
                    self.ends[to].handle_datagram(self.now, &bytes).unwrap();
                }
                for e in &mut self.ends {
                    e.handle_timeout(self.now);
                }
            }
        }
    }

    fn pdus(n: usize, tag: u8) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| vec![tag, (i >> 8) as u8, i as u8, 0x5A])
            .collect()
    }

    fn exchange(seed: u64, faults: Faults, n: usize) -> Harness {
        let mut h = Harness::new(seed, faults);
        let (a, b) = (pdus(n, 0xA), pdus(n, 0xB));
        for (pa, pb) in a.iter().zip(&b) {
            h.ends[0].send(h.now, pa.clone()).unwrap();
            h.ends[1].send(h.now, pb.clone()).unwrap();
        }
        h.run(Timestamp::from_secs(100_000));
        assert_eq!(h.received[1], a, "A→B delivered exactly once, in order");
        assert_eq!(h.received[0], b, "B→A delivered exactly once, in order");
        assert!(h.ends.iter().all(ReliableLink::is_idle));
        assert!(
            !h.ends.iter().any(ReliableLink::holds_buffers),
            "an idle link holds no buffers"
        );
        h
    }

    #[test]
    fn an_idle_link_is_small_and_holds_no_heap_memory() {
        // The buffers live behind one pointer: the link itself is its counters, config and
        // sequence numbers.
        assert!(
            core::mem::size_of::<ReliableLink>() <= 96,
            "{} bytes",
            core::mem::size_of::<ReliableLink>()
        );
        let (mut a, mut b) = (
            ReliableLink::new(ReliableConfig::default()),
            ReliableLink::new(ReliableConfig::default()),
        );
        assert!(!a.holds_buffers());
        for round in 0..3u8 {
            let now = Timestamp::from_secs(u64::from(round));
            a.send(now, vec![round; 100]).unwrap();
            assert!(a.holds_buffers());
            let data = a.poll_transmit(now).unwrap();
            assert_eq!(a.poll_transmit(now), None);
            assert!(a.holds_buffers(), "unacknowledged: kept");
            b.handle_datagram(now, &data).unwrap();
            assert_eq!(b.poll_delivered(), Some(vec![round; 100]));
            assert!(b.holds_buffers(), "the ACK is still to go");
            let ack = b.poll_transmit(now).unwrap();
            assert_eq!(b.poll_transmit(now), None);
            assert!(!b.holds_buffers(), "receiver idle: released");
            a.handle_datagram(now, &ack).unwrap();
            assert!(!a.holds_buffers(), "sender acknowledged: released");
            assert_eq!(a.poll_timeout(), None);
        }
        // The sequence numbers survived the releases: three PDUs, delivered once each.
        assert_eq!(a.stats().data_sent, 3);
        assert_eq!(b.stats().duplicates_received, 0);
        assert_eq!(b.stats().acks_sent, 3);
    }

    #[test]
    fn clean_link_delivers_in_order_without_retransmitting() {
        let h = exchange(
            1,
            Faults {
                loss: 0,
                duplicate: 0,
                delay: 0,
            },
            50,
        );
        let s = h.ends[0].stats();
        assert_eq!((s.data_sent, s.retransmissions, s.acks_sent), (50, 0, 50));
    }

    #[test]
    fn survives_30_percent_loss_duplication_and_reordering() {
        for seed in 0..5 {
            let h = exchange(
                seed,
                Faults {
                    loss: 30,
                    duplicate: 20,
                    delay: 30,
                },
                200,
            );
            let s = *h.ends[0].stats();
            assert_eq!(s.data_sent, 200);
            assert!(s.retransmissions > 0, "{s:?}");
            let r = h.ends[1].stats();
            assert!(
                r.duplicates_received > 0 && r.out_of_order_buffered > 0,
                "{r:?}"
            );
        }
    }

    #[test]
    fn retransmission_backoff_doubles_and_caps() {
        let mut link = ReliableLink::new(ReliableConfig::default());
        link.send(Timestamp::ZERO, b"pdu".to_vec()).unwrap();
        let first = link.poll_transmit(Timestamp::ZERO).unwrap();
        assert_eq!(link.poll_transmit(Timestamp::ZERO), None);
        // Never acknowledged: each retransmission is the same frame, at 1, 2, 4, ... 60, 60 s gaps.
        let mut now = Timestamp::ZERO;
        let mut gaps = Vec::new();
        for _ in 0..9 {
            let t = link.poll_timeout().unwrap();
            gaps.push((t - now).as_secs());
            now = t;
            link.handle_timeout(now);
            assert_eq!(link.poll_transmit(now).unwrap(), first);
            assert_eq!(link.poll_transmit(now), None);
        }
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(link.stats().retransmissions, 9);
        // The ACK stops it.
        let ack = Frame::Ack {
            next_expected: 1,
            seq: 0,
        };
        link.handle_datagram(now, &ack.to_bytes().unwrap()).unwrap();
        assert_eq!(link.poll_timeout(), None);
        assert!(link.is_idle());
    }

    #[test]
    fn spurious_timeout_is_a_no_op() {
        let mut link = ReliableLink::new(ReliableConfig::default());
        link.handle_timeout(Timestamp::from_secs(5));
        assert_eq!(link.poll_transmit(Timestamp::from_secs(5)), None);
        link.send(Timestamp::ZERO, vec![1]).unwrap();
        link.poll_transmit(Timestamp::ZERO).unwrap();
        let deadline = link.poll_timeout().unwrap();
        link.handle_timeout(Timestamp::from_millis(999));
        assert_eq!(link.poll_transmit(Timestamp::from_millis(999)), None);
        assert_eq!(link.poll_timeout(), Some(deadline));
        assert_eq!(link.stats().retransmissions, 0);
    }

    #[test]
    fn selective_ack_releases_only_its_frame_and_garbage_is_rejected() {
        let mut link = ReliableLink::new(ReliableConfig::default());
        for i in 0..3u8 {
            link.send(Timestamp::ZERO, vec![i]).unwrap();
            link.poll_transmit(Timestamp::ZERO).unwrap();
        }
        let ack = Frame::Ack {
            next_expected: 0,
            seq: 2,
        };
        link.handle_datagram(Timestamp::ZERO, &ack.to_bytes().unwrap())
            .unwrap();
        link.handle_timeout(Timestamp::from_secs(1));
        let resent: Vec<_> = core::iter::from_fn(|| link.poll_transmit(Timestamp::from_secs(1)))
            .map(|b| Frame::decode(&b).unwrap())
            .collect();
        assert_eq!(
            resent,
            [
                Frame::Data {
                    seq: 0,
                    payload: vec![0]
                },
                Frame::Data {
                    seq: 1,
                    payload: vec![1]
                }
            ]
        );
        assert!(matches!(
            link.handle_datagram(Timestamp::ZERO, b"WT\x01\x09"),
            Err(ProtoError::Wire(_))
        ));
        assert!(matches!(
            link.send(Timestamp::ZERO, vec![0; 65_536]),
            Err(ProtoError::Wire(WireError::TooLong { .. }))
        ));
    }

    #[test]
    fn frames_beyond_the_receive_window_are_dropped_unacknowledged() {
        let mut link = ReliableLink::new(ReliableConfig::default());
        let far = Frame::Data {
            seq: RECEIVE_WINDOW,
            payload: vec![1],
        };
        link.handle_datagram(Timestamp::ZERO, &far.to_bytes().unwrap())
            .unwrap();
        assert_eq!(link.poll_transmit(Timestamp::ZERO), None);
        assert_eq!(link.poll_delivered(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_fault_schedule_delivers_everything_once_in_order(
            seed in any::<u64>(),
            loss in 0u32..=30,
            duplicate in 0u32..=50,
            delay in 0u32..=50,
            n in 1usize..60,
        ) {
            exchange(seed, Faults { loss, duplicate, delay }, n);
        }
    }
}
