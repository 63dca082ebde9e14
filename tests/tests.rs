//! wiretap's integration tests: one binary, one module per concern.
//!
//! - `support`         — helpers: scenario templates, running a scenario through the whole
//!   pipeline, the CLI binary.
//! - `determinism`     — a seed twice gives byte-identical reports and pcaps; another seed differs.
//! - `confidentiality` — with early data off, no 16-byte run of any end-to-end plaintext appears
//!   in any capture, over seeds and fault settings (proptest).
//! - `intercept`       — every SMS to or from a content-warrant target is read at the mediation
//!   node; IRI-only targets yield records but no content.
//! - `delivery`        — loss, duplication, reordering and corruption delay messages but never
//!   lose or alter them (proptest).
//! - `early_data`      — `early_data = "last"`: XX's message 3 carries the first text and opens
//!   only with a stolen static and a predictable ephemeral (`sim/early-data-xx3.toml`).
//! - `faults`          — issue 14's invariants under faults up to 0.5 on every link and scheduled
//!   partitions (proptest; `examples/fault_campaign.rs` is the long campaign).
//! - `onpath`          — on-path attacks at the core: what a man in the middle reads per Noise
//!   pattern, and that endpoints detect tampering, replay, injection and drops.
//! - `cli`             — `wiretap run` / `validate` as a user meets them, and the pcaps in tshark.
//! - `signal`          — Signal-style apps: mailbox delivery, healing after a device-state
//!   theft, one-time prekeys, quantum X3DH vs PQXDH, sealed sender, determinism; the
//!   Signal rows' "why the rest stayed unreadable" names what the adversary lacks.
//! - `countermeasures` — padding on the wire, cover traffic out of ground truth, correlation
//!   recall and latency against the mixing delay over seeds, determinism.
//! - `signal_active` — a man in the middle with stolen Signal device state: takes the sessions
//!   over, reads past healing until the end, silently; refused without the theft.
//! - `progress`        — progress on stderr only: one summary line off a terminal, nothing with
//!   `--quiet`, stdout and sweep files unchanged.
//! - `golden`          — every `sim/*.toml` at seed 1: terminal report, report.json and a digest
//!   of every `--out` file, byte for byte against `tests/golden/` (`WIRETAP_BLESS=1` rewrites).
//! - `live`            — `wiretap live`: the simulator and the live driver give every message the
//!   same verdict; live pcaps open in tshark; the JSON is the run's plus `live`; Ctrl-C stops.
//! - `labs`            — every observation `docs/labs/` asks a student to make, on the lab's
//!   scenario through the CLI.
//! - `metadata`        — contact graph from records, warrant exposure, correlation against a
//!   mixing delay on hand-built captures, determinism of the metadata section.
//! - `records`         — call records and IRI shaped like real ones, voice in content copies,
//!   edge-router vantage points, documented and deterministic exports.
//! - `ratchet`         — what clear Double Ratchet headers reveal (turns, chain lengths,
//!   conversations) scored against the true chains, removed by header encryption and sealed
//!   sender.
//! - `theft`           — stolen keys, weak RNGs and the quantum oracle: what becomes readable
//!   matches each Noise pattern's physics.
//! - `explain`         — `wiretap explain`: sentences follow the derived matrix; profiles quote
//!   measured runs; unknown names exit 2 with the valid ones.
//! - `html`            — the HTML report: deterministic, escaped, script-free; loaded in headless
//!   Chromium (key elements in the DOM, no console errors, a screenshot).
//! - `sweep`           — `wiretap sweep` / `merge`: bytes independent of threads and shards,
//!   merge refusals, bad sweep files located with hints.
//! - `pcap`            — every pcap of every shipped scenario opens in tshark with no expert
//!   error and no malformed packet.
//! - `ott_server`      — the messaging provider's server as a vantage: its log holds only its own
//!   traffic with the tunnel removed; contacts read without sealed sender, disclosure with it
//!   above chance and growing with duration; nothing end-to-end read; a bad vantage located.
//! - `estimate`        — `validate`'s message estimate against every shipped run at seed 1,
//!   within three standard deviations of the planner's randomness.
//! - `dataframes`      — every CSV of `--out` loads in pandas and polars the documented way with
//!   identifiers intact, and joins across files match (`tests/dataframes.py`).
//! - `addressing`      — a carrier past 65,535 subscribers: the rest numbered in 100.64.0.0/10,
//!   routed, tapped at the core, intercepted under warrant and delivered.

mod support;

mod addressing;
mod cli;
mod confidentiality;
mod countermeasures;
mod dataframes;
mod delivery;
mod determinism;
mod early_data;
mod estimate;
mod explain;
mod faults;
mod golden;
mod html;
mod intercept;
mod labs;
mod live;
mod metadata;
mod onpath;
mod ott_server;
mod pcap;
mod progress;
mod ratchet;
mod records;
mod signal;
mod signal_active;
mod sweep;
mod theft;
