//! Every timer a node of the carrier model sets, as one typed enum.
//!
//! The network stores a timer as a `u64` token; [`Timer::token`] and [`Timer::from_token`] are
//! the only translation. The kind is a tag in the top byte and the payload is in the 56 bits
//! below it, so no two kinds can share a token and no match arm depends on the order of others.

/// A timer of the carrier model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The retransmission timer of an endpoint's reliable link, by the link's index.
    Link(usize),
    /// A planned application message is due at its sender, by message id.
    Send(usize),
    /// The next step of a voice call.
    Call {
        /// The call's index in the plan.
        call: usize,
        /// What happens.
        act: CallAct,
    },
    /// A cover message is due at a handset, by subscriber index.
    Cover(usize),
    /// A delayed receipt (or held Signal envelopes) is due at a handset, by hold id.
    Release(u64),
    /// A mixed envelope leaves the OTT server, by hold id.
    Mix(u64),
    /// The OTT server tries to deliver a subscriber's Signal mailbox, by subscriber index.
    Mailbox(usize),
}

/// The steps of a voice call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CallAct {
    /// The caller dials.
    Start,
    /// The callee answers.
    Answer,
    /// The caller gives up ringing.
    Cancel,
    /// A party hangs up.
    Hangup,
    /// The caller's next media frame.
    MediaCaller,
    /// The callee's next media frame.
    MediaCallee,
}

const ACTS: [CallAct; 6] = [
    CallAct::Start,
    CallAct::Answer,
    CallAct::Cancel,
    CallAct::Hangup,
    CallAct::MediaCaller,
    CallAct::MediaCallee,
];

const TAG_SHIFT: u32 = 56;
const PAYLOAD: u64 = (1 << TAG_SHIFT) - 1;

/// The `n`-th hold id of a node that holds things until a timer ([`Timer::Release`],
/// [`Timer::Mix`]): hold ids are timer payloads, so they wrap at 56 bits (a run never holds
/// 2^56 things at once).
pub(crate) fn hold_id(n: u64) -> u64 {
    n & PAYLOAD
}

impl Timer {
    /// The network's token for this timer.
    pub(crate) fn token(self) -> u64 {
        let (tag, payload) = match self {
            Timer::Link(i) => (1, i as u64),
            Timer::Send(id) => (2, id as u64),
            Timer::Call { call, act } => (3, ((call as u64) << 4) | act as u64),
            Timer::Cover(i) => (4, i as u64),
            Timer::Release(id) => (5, id),
            Timer::Mix(id) => (6, id),
            Timer::Mailbox(i) => (7, i as u64),
        };
        debug_assert!(payload <= PAYLOAD, "timer payload out of range: {self:?}");
        (tag << TAG_SHIFT) | (payload & PAYLOAD)
    }

    /// The timer a token stands for, or `None` for a token no node set.
    pub(crate) fn from_token(token: u64) -> Option<Timer> {
        let payload = token & PAYLOAD;
        let index = usize::try_from(payload).ok();
        Some(match token >> TAG_SHIFT {
            1 => Timer::Link(index?),
            2 => Timer::Send(index?),
            3 => Timer::Call {
                call: usize::try_from(payload >> 4).ok()?,
                act: *ACTS.get((payload & 0xF) as usize)?,
            },
            4 => Timer::Cover(index?),
            5 => Timer::Release(payload),
            6 => Timer::Mix(payload),
            7 => Timer::Mailbox(index?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_timer() -> impl Strategy<Value = Timer> {
        let idx = 0usize..(1 << 40);
        let id = 0u64..(1 << 56);
        prop_oneof![
            idx.clone().prop_map(Timer::Link),
            idx.clone().prop_map(Timer::Send),
            (0usize..(1 << 40), 0usize..6).prop_map(|(call, a)| Timer::Call { call, act: ACTS[a] }),
            idx.clone().prop_map(Timer::Cover),
            id.clone().prop_map(Timer::Release),
            id.prop_map(Timer::Mix),
            idx.prop_map(Timer::Mailbox),
        ]
    }

    proptest! {
        #[test]
        fn every_timer_round_trips_through_its_token(t in any_timer()) {
            prop_assert_eq!(Timer::from_token(t.token()), Some(t));
        }

        #[test]
        fn distinct_timers_have_distinct_tokens(a in any_timer(), b in any_timer()) {
            prop_assume!(a != b);
            prop_assert_ne!(a.token(), b.token());
        }
    }

    #[test]
    fn tokens_no_node_set_are_refused() {
        assert_eq!(Timer::from_token(0), None);
        assert_eq!(Timer::from_token(u64::MAX), None);
        // A call with an action that does not exist.
        assert_eq!(Timer::from_token((3 << 56) | 0xF), None);
    }
}
