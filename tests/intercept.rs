//! The lawful-intercept chain: what a compromised mediation node hands the adversary.

use crate::support::{parse, run};

fn sms_world(content_share: f64) -> String {
    format!(
        r#"
[scenario]
name = "intercept"
description = "sms only, one mediation vantage"
seed = 1
duration = "3h"
[[app]]
name = "sms"
kind = "sms"
[[app]]
name = "rcs"
kind = "carrier-encrypted"
[[carrier]]
name = "tel"
subscribers = 40
cells = 4
mcc = "001"
mnc = "01"
msisdn_prefix = "+1555"
[carrier.population]
sms = 0.5
rcs = 0.5
[carrier.warrants]
count = 6
content_share = {content_share}
[[carrier]]
name = "other"
subscribers = 20
cells = 2
mcc = "001"
mnc = "02"
msisdn_prefix = "+1666"
[carrier.population]
sms = 1.0
[carrier.warrants]
count = 0
content_share = 0.0
[traffic]
mean_degree = 5.0
cross_carrier = 0.3
messages_per_contact_per_day = 40.0
[adversary]
name = "mediation-only"
[[adversary.vantage]]
kind = "mediation"
carrier = "tel"
"#
    )
}

#[test]
fn every_sms_of_a_content_warrant_target_is_read_at_the_mediation_node() {
    let r = run(parse(&sms_world(1.0)), 21);
    let truth = &r.output.truth;
    let targets: Vec<&str> = r
        .output
        .warrants
        .iter()
        .map(|w| w.target_msisdn.as_str())
        .collect();
    assert_eq!(targets.len(), 6);
    let recovered: std::collections::BTreeSet<&str> = r
        .findings
        .recovered
        .iter()
        .map(|x| x.text.as_str())
        .collect();
    let mut target_msgs = 0;
    for m in &truth.messages {
        let (f, t) = (
            &truth.subscribers[m.from].msisdn,
            &truth.subscribers[m.to].msisdn,
        );
        let involves_target = targets.contains(&f.as_str()) || targets.contains(&t.as_str());
        if involves_target {
            target_msgs += 1;
            assert!(
                recovered.contains(&*m.text),
                "target message not read: {m:?}"
            );
        } else {
            // Only targets' traffic reaches the mediation node.
            assert!(
                !recovered.contains(&*m.text),
                "non-target message read: {m:?}"
            );
        }
    }
    assert!(target_msgs > 10, "{target_msgs} target messages");
    assert_eq!(r.report.adversary.warrant_targets_learned, 6);
    assert!(r.findings.cc_packets > 0 && r.findings.iri_events > 0);
}

#[test]
fn iri_only_warrants_give_metadata_but_no_content() {
    let r = run(parse(&sms_world(0.0)), 22);
    assert!(
        r.findings.recovered.is_empty(),
        "{:?}",
        r.findings.recovered.first()
    );
    assert_eq!(r.findings.cc_packets, 0);
    assert!(r.findings.iri_events > 0);
    // IRI names both parties of each SMS: the contacts of the targets are exposed.
    assert!(r.report.adversary.contacts.correct > 0);
    assert_eq!(r.report.adversary.contacts.precision, 1.0);
}
