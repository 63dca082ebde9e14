//! Subscriber identities: IMSI, MSISDN, IMEI, drawn deterministically from the seed.

use rand_core::RngCore;
use serde::Serialize;
use simcore::SimRng;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// One subscriber as the carrier knows it (the ground truth's view of who is who).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Subscriber {
    /// Index over all carriers.
    pub index: usize,
    /// Index of the carrier in the scenario.
    pub carrier: usize,
    /// International mobile subscriber identity (15 digits).
    pub imsi: String,
    /// The phone number, `+` and digits.
    pub msisdn: String,
    /// The handset's IMEI (15 digits, Luhn check digit).
    pub imei: String,
    /// The serving cell.
    pub cell: u32,
    /// Index of the subscriber's messaging app in the scenario's app list.
    pub app: usize,
    /// The address the carrier gave the handset.
    pub ip: Ipv4Addr,
}

/// A subscriber's identities as its carrier's call records name it: made once per subscriber
/// (by [`Identity::of`]) and shared by every record, which holds only pointers to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The IMSI.
    pub imsi: Arc<str>,
    /// The handset's IMEI.
    pub imei: Arc<str>,
    /// The MSISDN (also the other party of the records of whoever texts or calls it).
    pub msisdn: Arc<str>,
}

impl Identity {
    /// The shared identities of `s`.
    pub(crate) fn of(s: &Subscriber) -> Self {
        Identity {
            imsi: s.imsi.as_str().into(),
            imei: s.imei.as_str().into(),
            msisdn: s.msisdn.as_str().into(),
        }
    }
}

/// Appends `n` random decimal digits.
pub(crate) fn digits(rng: &mut SimRng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(b'0' + (rng.next_u32() % 10) as u8));
    }
}

/// Whether a digit string passes the Luhn check (the IMEI check digit).
pub(crate) fn luhn_valid(s: &str) -> bool {
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A 15-digit IMEI: 8-digit type allocation code, 6-digit serial, Luhn check digit.
pub(crate) fn imei(rng: &mut SimRng) -> String {
    let mut s = String::from("35");
    digits(rng, 12, &mut s);
    let check = (b'0'..=b'9')
        .map(char::from)
        .find(|&c| luhn_valid(&format!("{s}{c}")))
        .unwrap_or('0');
    s.push(check);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use simcore::SeedTree;

    #[test]
    fn luhn_accepts_a_published_imei_and_rejects_a_changed_digit() {
        // The IMEI example of the GSMA / Wikipedia "Luhn algorithm" article.
        assert!(luhn_valid("490154203237518"));
        assert!(!luhn_valid("490154203237519"));
        assert!(!luhn_valid("490154203237528"));
    }

    #[test]
    fn imeis_have_valid_check_digits() {
        let mut rng = SeedTree::new(3).stream("imei");
        for _ in 0..100 {
            let i = imei(&mut rng);
            assert_eq!(i.len(), 15);
            assert!(luhn_valid(&i), "{i}");
        }
    }
}
