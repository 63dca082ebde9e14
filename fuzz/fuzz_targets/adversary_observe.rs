//! The adversary on arbitrary captures: the input becomes one or two vantage points (a
//! mediation node with a warrant, and a core tap) whose packets are pieces of the input
//! (`wiretap_fuzz::captures`; a control bit fills in a packet's checksums, and those of the
//! packets inside its CC records, so that the fuzzer's bytes get past the checksum check and
//! reach the wire decoders). Then `adversary::Adversary::new("f").analyze(&captures)`: the
//! observation table, the passive analysis, the key engine, Signal reading and the metadata
//! analyses. None of it may panic; the table counts every packet it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let captures = wiretap_fuzz::captures(data, 64);
    let obs = adversary::observe::Observations::decode(&captures);
    let captured = obs.packets().iter().filter(|o| o.depth() == 0).count();
    assert_eq!(captured, captures.packet_count(), "the table lost packets");
    drop(obs);
    let findings = adversary::Adversary::new("f").analyze(&captures);
    let _ = findings.parse_errors;
});
