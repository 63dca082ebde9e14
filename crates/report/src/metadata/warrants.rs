//! Warrant exposure's score ([`WarrantExposureScore`]): precision and recall of the warrant
//! targets the adversary learned, of (target, agency) and of (target, agency, since). With its
//! line of the terminal section.

use std::collections::BTreeSet;

use adversary::metadata::MetadataFindings;
use serde::Serialize;
use simcore::Timestamp;

use super::{precision_text, Prf, Truth};

/// Warrant exposure's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WarrantExposureScore {
    /// Targets.
    pub targets: Prf,
    /// (target, agency).
    pub target_agency: Prf,
    /// (target, agency, since).
    pub target_agency_since: Prf,
}

pub(super) fn warrants(t: &Truth, m: &MetadataFindings) -> WarrantExposureScore {
    let truth1: BTreeSet<&str> = t.warrants.iter().map(|w| w.0.as_str()).collect();
    let truth2: BTreeSet<(&str, &str)> = t
        .warrants
        .iter()
        .map(|w| (w.0.as_str(), w.1.as_str()))
        .collect();
    let truth3: BTreeSet<(&str, &str, Timestamp)> = t
        .warrants
        .iter()
        .map(|w| (w.0.as_str(), w.1.as_str(), w.2))
        .collect();
    let rep1: BTreeSet<&str> = m.warrants.iter().map(|w| w.target.as_str()).collect();
    let rep2: BTreeSet<(&str, &str)> = m
        .warrants
        .iter()
        .filter_map(|w| Some((w.target.as_str(), w.agency.as_deref()?)))
        .collect();
    let rep3: BTreeSet<(&str, &str, Timestamp)> = m
        .warrants
        .iter()
        .filter_map(|w| Some((w.target.as_str(), w.agency.as_deref()?, w.since)))
        .collect();
    WarrantExposureScore {
        targets: Prf::of(&rep1, &truth1),
        target_agency: Prf::of(&rep2, &truth2),
        target_agency_since: Prf::of(&rep3, &truth3),
    }
}

/// The warrant list's line of the terminal section.
pub(super) fn render(o: &mut String, w: &WarrantExposureScore) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  warrant list: {} of {} targets (precision {}); with agency {}, with agency and \
         start date {}",
        w.targets.correct,
        w.targets.truth,
        precision_text(w.targets.reported, w.targets.precision),
        w.target_agency.correct,
        w.target_agency_since.correct
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::score_truth;
    use crate::metadata::tests::{truth, ts};
    use adversary::metadata::ExposedWarrant;

    #[test]
    fn warrants_by_hand() {
        let m = MetadataFindings {
            warrants: vec![
                ExposedWarrant {
                    target: "+10000000002".into(),
                    liid: "X-1".into(),
                    agency: Some("FBI-NY".into()),
                    since: ts(5),
                    source: "warrant-list".into(),
                },
                ExposedWarrant {
                    target: "+10000000003".into(),
                    liid: "X-2".into(),
                    agency: None,
                    since: ts(0),
                    source: "iri".into(),
                },
            ],
            ..MetadataFindings::default()
        };
        let s = score_truth(&truth(), &m);
        let w = &s.warrants;
        assert_eq!(
            (w.targets.correct, w.targets.precision, w.targets.recall),
            (1, 0.5, 1.0)
        );
        assert_eq!((w.target_agency.reported, w.target_agency.correct), (1, 1));
        assert_eq!(w.target_agency_since.correct, 0, "since is 5 s, truth 0 s");
    }
}
