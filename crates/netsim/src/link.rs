//! Links: their parameters, per-direction state, and the fate of each packet put on them.
//!
//! Each direction of a link is independent: its own FIFO transmit queue (`next_free`) and its
//! own random stream. The random draws for one packet happen in this fixed order, and a draw is
//! skipped entirely when its parameter is zero (so ideal links cost no randomness):
//!
//! 1. loss (`f64`),
//! 2. corruption the frame check catches (`f64`),
//! 3. corruption it misses (`f64`, then a `u64` bit index if it hits),
//! 4. duplication (`f64`), then for each copy (original first):
//! 5. jitter (`u64`),
//! 6. reordering (`f64`).
//!
//! **Frame check.** Every link's receiver checks a frame check sequence, as Ethernet's CRC-32
//! and the radio link layer do: a frame damaged in transit ([`LinkParams::corrupt`]) is dropped
//! at the far end of the link, so corruption costs time like loss and never reaches the next
//! node. Only [`LinkParams::undetected_corrupt`] lets a damaged frame through (a CRC miss), and
//! then the end-to-end checks (UDP checksum, AEAD tags) must catch it.

use rand_core::RngCore;
use simcore::{Duration, SimRng};

use crate::error::NetError;
use crate::network::LinkId;

/// How a link behaves; the same in both directions (each direction has its own queue and
/// random stream). [`Default`] is an ideal link: no latency, infinite bandwidth, no faults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkParams {
    /// Propagation delay added to every packet.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` (nanosecond resolution) per packet.
    pub jitter: Duration,
    /// Bits per second. With `Some`, each packet takes `len * 8 / bps` (rounded up to a whole
    /// nanosecond) to serialise, and packets wait in a FIFO queue per direction. `None` is
    /// infinitely fast. `Some(0)` is rejected by [`NetworkBuilder::build`](crate::NetworkBuilder::build).
    pub bandwidth_bps: Option<u64>,
    /// Drop-tail limit on the bytes waiting in a direction's queue (including the unsent rest
    /// of the packet being serialised): a packet that would push the backlog past this limit is
    /// dropped. Ignored without `bandwidth_bps`.
    pub queue_limit_bytes: Option<usize>,
    /// Probability that a packet is lost in transit (after it has used the link's bandwidth).
    pub loss: f64,
    /// Probability that a packet arrives twice (the copy gets its own jitter and reordering).
    pub duplicate: f64,
    /// Probability that a packet is held back by an extra `reorder_delay`.
    pub reorder: f64,
    /// The extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a frame is damaged in transit. The link's frame check catches it and
    /// the far end drops it (counted in
    /// [`NetStats::dropped_fcs`](crate::NetStats::dropped_fcs)).
    pub corrupt: f64,
    /// Probability that one uniformly chosen bit of the datagram is flipped in a way the
    /// frame check misses: the damaged datagram travels on. The receiving host's checksum
    /// verification catches every single flip; two flips picked up on different hops of one
    /// path can (rarely) cancel out in the 16-bit sum, which the AEAD of encrypted traffic
    /// still catches. Zero unless a scenario asks for it.
    pub undetected_corrupt: f64,
}

/// Saturating conversion of a duration to nanoseconds.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// [`LinkParams`] validated and converted to integer nanoseconds.
#[derive(Debug, Clone)]
pub(crate) struct LinkModel {
    latency: u64,
    jitter: u64,
    bps: Option<u64>,
    queue_limit: Option<usize>,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    reorder_delay: u64,
    corrupt: f64,
    undetected_corrupt: f64,
}

impl LinkModel {
    pub(crate) fn new(id: LinkId, p: &LinkParams) -> Result<LinkModel, NetError> {
        let prob = |x: f64, reason| {
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(NetError::InvalidLinkParams { link: id, reason })
            }
        };
        if p.bandwidth_bps == Some(0) {
            return Err(NetError::InvalidLinkParams {
                link: id,
                reason: "bandwidth_bps must be positive (use None for unlimited)",
            });
        }
        Ok(LinkModel {
            latency: nanos(p.latency),
            jitter: nanos(p.jitter),
            bps: p.bandwidth_bps,
            queue_limit: p.queue_limit_bytes,
            loss: prob(p.loss, "loss must be a probability in [0, 1]")?,
            duplicate: prob(p.duplicate, "duplicate must be a probability in [0, 1]")?,
            reorder: prob(p.reorder, "reorder must be a probability in [0, 1]")?,
            reorder_delay: nanos(p.reorder_delay),
            corrupt: prob(p.corrupt, "corrupt must be a probability in [0, 1]")?,
            undetected_corrupt: prob(
                p.undetected_corrupt,
                "undetected_corrupt must be a probability in [0, 1]",
            )?,
        })
    }
}

impl LinkModel {
    /// The latency, if this is an ideal link: no bandwidth limit (so no queue state), no jitter
    /// and no fault, so [`Direction::carry`] makes no random draw and every packet arrives
    /// exactly `latency` later. The network's forwarding takes a short way over such links.
    pub(crate) fn fixed_latency(&self) -> Option<u64> {
        let faultless = [
            self.loss,
            self.corrupt,
            self.undetected_corrupt,
            self.duplicate,
            self.reorder,
        ]
        .iter()
        .all(|&p| p == 0.0);
        (self.bps.is_none() && self.jitter == 0 && faultless).then_some(self.latency)
    }
}

/// One direction of a link: its transmit queue and its random stream.
#[derive(Debug)]
pub(crate) struct Direction {
    /// When the transmitter finishes the last queued packet (ns).
    next_free: u64,
    rng: SimRng,
}

/// What happens to one packet put on a link direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Dropped at the tail of a full queue; never transmitted.
    QueueFull,
    /// Transmitted, then lost on the way.
    Lost,
    /// Transmitted, damaged on the way, and dropped by the far end's frame check.
    Damaged,
    /// Arrives at the far end.
    Arrives {
        /// Flip this bit before it arrives.
        corrupt_bit: Option<u64>,
        /// Arrival time of the packet (ns).
        at: u64,
        /// Arrival time of a duplicate, if one is made.
        dup_at: Option<u64>,
        /// How many of the (one or two) copies were held back for reordering.
        reordered: u8,
    },
}

/// Uniform draw in `[0, 1)` with 53 bits of precision.
fn unit(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn hit(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

impl Direction {
    pub(crate) fn new(rng: SimRng) -> Direction {
        Direction { next_free: 0, rng }
    }

    /// Decides the fate of a `len`-byte packet entering this direction at `now`, updating the
    /// queue state and consuming random draws in the documented order.
    pub(crate) fn carry(&mut self, m: &LinkModel, now: u64, len: usize) -> Fate {
        let departure = match m.bps {
            None => now,
            Some(bps) => {
                let start = self.next_free.max(now);
                if let Some(limit) = m.queue_limit {
                    let backlog_ns = u128::from(start - now);
                    let backlog_bytes = backlog_ns * u128::from(bps) / 8_000_000_000;
                    if backlog_bytes + len as u128 > limit as u128 {
                        return Fate::QueueFull;
                    }
                }
                let bits = len as u128 * 8 * 1_000_000_000;
                let ser = bits.div_ceil(u128::from(bps));
                let departure = u64::try_from(u128::from(start) + ser).unwrap_or(u64::MAX);
                self.next_free = departure;
                departure
            }
        };
        let rng = &mut self.rng;
        if hit(rng, m.loss) {
            return Fate::Lost;
        }
        if hit(rng, m.corrupt) {
            return Fate::Damaged;
        }
        let corrupt_bit = hit(rng, m.undetected_corrupt).then(|| rng.next_u64());
        let duplicated = hit(rng, m.duplicate);
        let mut reordered = 0;
        let base = departure.saturating_add(m.latency);
        let mut arrival = |rng: &mut SimRng| {
            let mut at = base;
            if m.jitter > 0 {
                let span = u128::from(m.jitter) + 1;
                at = at.saturating_add(((u128::from(rng.next_u64()) * span) >> 64) as u64);
            }
            if hit(rng, m.reorder) {
                reordered += 1;
                at = at.saturating_add(m.reorder_delay);
            }
            at
        };
        let at = arrival(rng);
        let dup_at = duplicated.then(|| arrival(rng));
        Fate::Arrives {
            corrupt_bit,
            at,
            dup_at,
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simcore::SeedTree;

    fn model(p: LinkParams) -> LinkModel {
        LinkModel::new(LinkId(0), &p).expect("valid params")
    }

    #[test]
    fn serialisation_queues_fifo() {
        let m = model(LinkParams {
            latency: Duration::from_millis(10),
            bandwidth_bps: Some(1_000_000),
            ..LinkParams::default()
        });
        let mut d = Direction::new(SeedTree::new(0).rng());
        let arrives = |f: Fate| match f {
            Fate::Arrives { at, .. } => at,
            other => panic!("unexpected {other:?}"),
        };
        // 125 bytes at 1 Mbit/s = 1 ms on the wire.
        assert_eq!(arrives(d.carry(&m, 0, 125)), 11_000_000);
        assert_eq!(arrives(d.carry(&m, 0, 125)), 12_000_000);
        // Idle link: starts at now.
        assert_eq!(arrives(d.carry(&m, 50_000_000, 125)), 61_000_000);
    }

    #[test]
    fn drop_tail_when_backlog_exceeds_limit() {
        let m = model(LinkParams {
            bandwidth_bps: Some(8_000), // 1 byte per ms
            queue_limit_bytes: Some(250),
            ..LinkParams::default()
        });
        let mut d = Direction::new(SeedTree::new(0).rng());
        assert!(matches!(d.carry(&m, 0, 100), Fate::Arrives { .. }));
        assert!(matches!(d.carry(&m, 0, 100), Fate::Arrives { .. }));
        assert_eq!(d.carry(&m, 0, 100), Fate::QueueFull);
        // 100 ms later 100 bytes have drained.
        assert!(matches!(
            d.carry(&m, 100_000_000, 100),
            Fate::Arrives { .. }
        ));
    }

    /// An ideal link's fixed latency is what `carry` gives, with no draw; any parameter that
    /// makes `carry` draw or queue makes the latency not fixed.
    #[test]
    fn only_ideal_links_have_a_fixed_latency() {
        let ideal = LinkParams {
            latency: Duration::from_micros(2_500),
            ..LinkParams::default()
        };
        let m = model(ideal.clone());
        assert_eq!(m.fixed_latency(), Some(2_500_000));
        let mut d = Direction::new(SeedTree::new(0).rng());
        let mut untouched = Direction::new(SeedTree::new(0).rng());
        for now in [0, 7, 1_000_000] {
            let f = d.carry(&m, now, 228);
            assert!(
                matches!(f, Fate::Arrives { at, corrupt_bit: None, dup_at: None, reordered: 0 } if at == now + 2_500_000)
            );
        }
        assert_eq!(
            d.rng.next_u64(),
            untouched.rng.next_u64(),
            "no draw was made"
        );
        let variants = [
            LinkParams {
                jitter: Duration::from_nanos(1),
                ..ideal.clone()
            },
            LinkParams {
                bandwidth_bps: Some(1_000_000),
                ..ideal.clone()
            },
            LinkParams {
                loss: 0.1,
                ..ideal.clone()
            },
            LinkParams {
                corrupt: 0.1,
                ..ideal.clone()
            },
            LinkParams {
                undetected_corrupt: 0.1,
                ..ideal.clone()
            },
            LinkParams {
                duplicate: 0.1,
                ..ideal.clone()
            },
            LinkParams {
                reorder: 0.1,
                ..ideal.clone()
            },
        ];
        for v in variants {
            assert_eq!(model(v.clone()).fixed_latency(), None, "{v:?}");
        }
        // A reorder delay without a reorder probability changes nothing.
        let delay_only = LinkParams {
            reorder_delay: Duration::from_millis(1),
            ..ideal
        };
        assert_eq!(model(delay_only).fixed_latency(), Some(2_500_000));
    }

    #[test]
    fn probabilities_out_of_range_are_refused() {
        for p in [-0.1, 1.5, f64::NAN] {
            let err = LinkModel::new(
                LinkId(3),
                &LinkParams {
                    loss: p,
                    ..LinkParams::default()
                },
            )
            .unwrap_err();
            assert!(matches!(
                err,
                NetError::InvalidLinkParams {
                    link: LinkId(3),
                    ..
                }
            ));
        }
    }
}
