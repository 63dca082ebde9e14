//! What stayed sealed, and why, after every reader has run.
//!
//! The passive reading files each ciphertext it cannot open under a (channel, reason) pair, the
//! reason being what a passive adversary lacks ("no private key held", "no device state
//! held"). The readers with capabilities ([`crate::keys`], [`crate::signal_read`]) run after
//! it: a ciphertext they open leaves the table ([`Sealed::opened`]), and one they tried and
//! could not open is filed again under what is still missing with everything they held
//! ([`Sealed::refile`]), e.g. the session's ephemeral keys when both static keys of an `XX`
//! session were stolen. [`Findings::unreadable`](crate::Findings::unreadable) is written from
//! this table last ([`Sealed::summaries`]), so its reasons are those of the messages left
//! unread, not those of the passive reading.

use std::collections::BTreeMap;

use simcore::{FixedMap, Timestamp};

use crate::findings::{Channel, UnreadableSummary};

/// A (channel, reason) group of sealed ciphertexts.
type Group = (Channel, String);

/// Every sealed ciphertext by group, with its first sighting; ciphertexts are borrowed from
/// the observation table. Each group is stored once and named by its number (in the order
/// groups were first filed), so a ciphertext's entry holds numbers, not copies of its groups.
/// Ciphertexts are found by hash (one probe, where a B-tree of a million byte strings compares
/// about twenty of them, each a cache miss); nothing iterates those maps in an order that
/// reaches an output: a group's count and earliest sighting do not depend on it.
#[derive(Default)]
pub(crate) struct Sealed<'t> {
    /// Group number by group: iterated for the summaries, in (channel, reason) order.
    ids: BTreeMap<Group, usize>,
    /// The groups by number.
    names: Vec<Group>,
    /// The members of each group by number, with their first sightings.
    members: Vec<FixedMap<&'t [u8], Timestamp>>,
    /// The groups (numbers, each once) each ciphertext is filed under.
    of: FixedMap<&'t [u8], Vec<u32>>,
}

impl<'t> Sealed<'t> {
    /// Files `ciphertext`, seen at `time`, under (`channel`, `reason`).
    pub(crate) fn add(
        &mut self,
        channel: Channel,
        reason: String,
        ciphertext: &'t [u8],
        time: Timestamp,
    ) {
        let group = (channel, reason);
        let id = match self.ids.get(&group) {
            Some(&id) => id,
            None => {
                let id = self.names.len();
                self.ids.insert(group.clone(), id);
                self.names.push(group);
                self.members.push(FixedMap::default());
                id
            }
        };
        let first = self.members[id].entry(ciphertext).or_insert(time);
        *first = (*first).min(time);
        let n = u32::try_from(id).unwrap_or(u32::MAX);
        let of = self.of.entry(ciphertext).or_default();
        if !of.contains(&n) {
            of.push(n);
        }
    }

    /// Takes `ciphertext` out of every group; returns its channel and first sighting if it
    /// was filed.
    fn take(&mut self, ciphertext: &[u8]) -> Option<(Channel, Timestamp)> {
        let mut groups = self.of.remove(ciphertext)?;
        // In (channel, reason) order: the channel returned is the first group's.
        groups.sort_by(|a, b| self.group(*a).cmp(&self.group(*b)));
        let mut out: Option<(Channel, Timestamp)> = None;
        for g in groups {
            let Some(members) = self.members.get_mut(g as usize) else {
                continue;
            };
            if let Some(t) = members.remove(ciphertext) {
                out = Some(match out {
                    Some((c, first)) => (c, first.min(t)),
                    None => (self.names[g as usize].0.clone(), t),
                });
            }
        }
        out
    }

    /// Group number `g` (`None` for a number never given out).
    fn group(&self, g: u32) -> Option<&Group> {
        self.names.get(g as usize)
    }

    /// A reader with capabilities opened `ciphertext`: it is no longer sealed.
    pub(crate) fn opened(&mut self, ciphertext: &[u8]) {
        self.take(ciphertext);
    }

    /// A reader with capabilities tried `ciphertext` and could not open it: `reason` says what
    /// is still missing. Its channel stays; a ciphertext the passive reading never filed is
    /// left alone.
    pub(crate) fn refile(&mut self, ciphertext: &'t [u8], reason: String) {
        if let Some((channel, time)) = self.take(ciphertext) {
            self.add(channel, reason, ciphertext, time);
        }
    }

    /// The table as [`UnreadableSummary`]s, in (channel, reason) order.
    pub(crate) fn summaries(&self) -> Vec<UnreadableSummary> {
        self.ids
            .iter()
            .filter_map(|((channel, reason), &id)| {
                let members = self.members.get(id)?;
                Some(UnreadableSummary {
                    channel: channel.clone(),
                    reason: reason.clone(),
                    count: members.len(),
                    first_seen: *members.values().min()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch() -> Channel {
        Channel::Ott {
            protocol: "Noise_XX_25519_ChaChaPoly_BLAKE2s".into(),
        }
    }

    #[test]
    fn opened_and_refiled_ciphertexts_leave_their_passive_group() {
        let (a, b, c) = (&b"a"[..], &b"b"[..], &b"c"[..]);
        let mut s = Sealed::default();
        for (x, t) in [(a, 3), (b, 1), (c, 2), (a, 0)] {
            s.add(ch(), "no key".into(), x, Timestamp::from_nanos(t));
        }
        s.opened(b);
        s.refile(c, "needs ee".into());
        s.refile(&b"never filed"[..], "x".into());
        let v = s.summaries();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!((v[0].reason.as_str(), v[0].count), ("needs ee", 1));
        assert_eq!(v[0].first_seen, Timestamp::from_nanos(2));
        assert_eq!((v[1].reason.as_str(), v[1].count), ("no key", 1));
        assert_eq!(v[1].first_seen, Timestamp::from_nanos(0));
        s.opened(a);
        s.opened(c);
        assert!(s.summaries().is_empty());
    }

    #[test]
    fn a_refiled_ciphertext_keeps_the_channel_of_its_first_group_in_order() {
        // Filed under the later group first: the group order, not the filing order, decides.
        let x = &b"x"[..];
        let mut s = Sealed::default();
        s.add(Channel::OttTunnel, "r".into(), x, Timestamp::from_nanos(5));
        s.add(Channel::Sms, "r".into(), x, Timestamp::from_nanos(7));
        s.add(
            Channel::Sms,
            "r".into(),
            &b"y"[..],
            Timestamp::from_nanos(1),
        );
        s.refile(x, "later".into());
        let v = s.summaries();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            (&v[0].channel, v[0].reason.as_str()),
            (&Channel::Sms, "later")
        );
        assert_eq!((v[0].count, v[0].first_seen), (1, Timestamp::from_nanos(5)));
        assert_eq!((&v[1].channel, v[1].reason.as_str()), (&Channel::Sms, "r"));
        assert_eq!(v[1].count, 1);
    }
}
