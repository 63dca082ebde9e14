//! Exposure of the warrant list: who is under investigation, by whom, since when.
//!
//! A mediation function's warrant list names each target, the agency and the provisioning
//! time outright. Without the list (or for a LIID the list lacks), IRI records still carry the
//! LIID and the target's MSISDN: the adversary learns the target, not the agency, and dates the
//! intercept no later than the first record it saw.
//!
//! Cost: O((w + i) log w) for w warrant entries and i IRI records.

use std::collections::BTreeMap;

use serde::Serialize;
use simcore::Timestamp;

use capture::Captures;

use super::packets::Traffic;

/// One intercept the adversary knows about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExposedWarrant {
    /// The target's MSISDN.
    pub target: String,
    /// The warrant's LIID.
    pub liid: String,
    /// The requesting agency, when the warrant list named it.
    pub agency: Option<String>,
    /// The provisioning time from the list, else the first IRI record seen (an upper bound).
    pub since: Timestamp,
    /// `"warrant-list"` or `"iri"`.
    pub source: String,
}

/// Every exposed warrant, sorted by (target, LIID).
pub fn exposed(captures: &Captures, traffic: &Traffic) -> Vec<ExposedWarrant> {
    let mut m: BTreeMap<(String, String), ExposedWarrant> = BTreeMap::new();
    for v in &captures.vantages {
        for w in &v.warrants {
            m.insert(
                (w.target_msisdn.clone(), w.liid.clone()),
                ExposedWarrant {
                    target: w.target_msisdn.clone(),
                    liid: w.liid.clone(),
                    agency: Some(w.agency.clone()),
                    since: w.since,
                    source: "warrant-list".to_owned(),
                },
            );
        }
    }
    for i in &traffic.iri {
        let e = m
            .entry((i.target.clone(), i.liid.clone()))
            .or_insert_with(|| ExposedWarrant {
                target: i.target.clone(),
                liid: i.liid.clone(),
                agency: None,
                since: i.time,
                source: "iri".to_owned(),
            });
        if e.agency.is_none() {
            e.since = e.since.min(i.time);
        }
    }
    m.into_values().collect()
}
